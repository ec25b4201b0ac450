/**
 * PolicyReports and ClusterPolicyReports (wgpolicyk8s.io/v1alpha2, v1beta1), as Kyverno and other
 * engines write them: one object, a multi-document stream, or a `kind: List`. A fail, warn or error
 * result is a finding, of the resource in the report's `scope` (per-resource reports) or in the
 * result's own `resources[]` (the legacy and the CLI's merged form).
 */
import type { Severity } from '../policy/check.js'
import {
  ImportError,
  type ImportedFinding,
  type ImportedReport,
  isObject,
  type Json,
  objects,
  severityWord,
  text,
} from './types.js'

const KINDS = new Set(['PolicyReport', 'ClusterPolicyReport'])
/** Without a severity: a fail is medium, a warn low, an error (not evaluated) medium. */
const DEFAULT_SEVERITY: Record<string, Severity> = { fail: 'medium', warn: 'low', error: 'medium' }

export function isPolicyReport(doc: unknown): doc is Json {
  return (
    isObject(doc) && KINDS.has(text(doc.kind) ?? '') && /^wgpolicyk8s\.io\//.test(text(doc.apiVersion) ?? '')
  )
}

/** The reports in the documents: each one, or the items of a List. */
export function policyReportsIn(docs: readonly unknown[]): Json[] {
  return docs
    .flatMap((d) => (isObject(d) && text(d.kind) === 'List' ? objects(d.items) : [d]))
    .filter(isPolicyReport)
}

/** `kyverno:disallow-host-namespaces/host-namespaces`: the engine, then the policy and its rule. */
function checkIdOf(source: string, policy: string, rule: string | undefined): string {
  const engine = source.toLowerCase().replace(/[^a-z0-9.-]+/g, '-')
  return `${engine}:${policy}${rule ? `/${rule}` : ''}`
}

type Resource = ImportedFinding['resource']

function resourceOf(ref: Json): Resource {
  const namespace = text(ref.namespace)
  return {
    apiVersion: text(ref.apiVersion) ?? '',
    kind: text(ref.kind) ?? 'Unknown',
    name: text(ref.name) ?? '(unnamed)',
    ...(namespace ? { namespace } : {}),
  }
}

export function parsePolicyReports(file: string, docs: readonly unknown[]): ImportedReport {
  const reports = policyReportsIn(docs)
  if (reports.length === 0)
    throw new ImportError(
      file,
      'not a PolicyReport: expected kind PolicyReport or ClusterPolicyReport of wgpolicyk8s.io (one, several documents, or a List)',
    )
  const findings: ImportedFinding[] = []
  const sources = new Set<string>()
  for (const report of reports) {
    const scope = isObject(report.scope) ? report.scope : undefined
    for (const result of objects(report.results)) {
      const outcome = text(result.result) ?? ''
      if (!(outcome in DEFAULT_SEVERITY)) continue
      const source = text(result.source) ?? 'policyreport'
      sources.add(source.toLowerCase())
      const policy = text(result.policy) ?? '(no policy)'
      const rule = text(result.rule)
      const refs = objects(result.resources)
      const targets = refs.length > 0 ? refs : scope ? [scope] : []
      for (const ref of targets)
        findings.push({
          tool: source.toLowerCase(),
          checkId: checkIdOf(source, policy, rule),
          title: rule ? `${policy}/${rule}` : policy,
          severity: severityWord(result.severity) ?? DEFAULT_SEVERITY[outcome]!,
          category: text(result.category) ?? 'policy',
          status: outcome === 'error' ? 'error' : 'fail',
          message: text(result.message) ?? `${policy} ${outcome}`,
          resource: resourceOf(ref),
          path: '',
        })
    }
  }
  return { format: 'policy-report', tools: [...sources].map((name) => ({ name })), findings }
}
