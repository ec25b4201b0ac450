/**
 * `scan`: read manifests one file at a time, evaluate every resource, keep the findings. Resources are
 * dropped as soon as their file is done, so memory grows with findings, not with input size.
 */

import type { CheckMetadata, Severity } from '../policy/check.js'
import { SEVERITIES } from '../policy/check.js'
import { Engine } from '../policy/engine.js'
import type { Library } from '../policy/library.js'
import type { CheckResult } from '../policy/result.js'
import { expandInputs, readSource } from '../resources/inputs.js'
import { DEFAULT_LIMITS, type ParseLimits, parseSource } from '../resources/parse.js'
import type { LoadError } from '../resources/types.js'

/** A finding as reports and stores see it: plain data, no reference to the parsed resource. */
export interface Finding {
  checkId: string
  title: string
  severity: Severity
  category: string
  status: 'fail' | 'error'
  message: string
  resource: { apiVersion: string; kind: string; name: string; namespace?: string }
  container?: { name: string; type: string }
  /** Field path within the resource, e.g. `spec.template.spec.containers[0].securityContext.privileged`. */
  path: string
  location: { file: string; line: number; column: number; documentIndex: number }
}

export interface ScanSummary {
  files: number
  resources: number
  checks: number
  /** check × resource evaluations that passed */
  passed: number
  findings: number
  bySeverity: Record<Severity, number>
  errors: number
}

export interface ScanReport {
  /** `latest` or `v1.N`: the policy version the versioned checks (Pod Security) ran at. */
  policyVersion: string
  startedAt: string
  durationMs: number
  summary: ScanSummary
  findings: Finding[]
  errors: LoadError[]
  /** Metadata of every check that ran, for reports that describe rules (SARIF, docs). */
  checks: CheckMetadata[]
}

export interface ScanOptions {
  inputs: readonly string[]
  library: Library
  /** Minor version (v1.N -> N); omit for latest. */
  version?: number
  limits?: ParseLimits
  onProgress?: (done: number, total: number, file: string) => void
}

export const LATEST = Number.MAX_SAFE_INTEGER

function toFinding(r: CheckResult): Finding {
  const { resource } = r
  const f: Finding = {
    checkId: r.check.id,
    title: r.check.title,
    severity: r.check.severity,
    category: r.check.category,
    status: r.status as 'fail' | 'error',
    message: r.message ?? r.check.title,
    resource: { apiVersion: resource.apiVersion, kind: resource.kind, name: resource.name },
    path: r.path ?? '',
    location: {
      file: resource.source.file,
      line: r.position?.line ?? resource.source.position.line,
      column: r.position?.column ?? 1,
      documentIndex: resource.source.documentIndex,
    },
  }
  if (resource.namespace !== undefined) f.resource.namespace = resource.namespace
  if (r.container) f.container = { name: r.container.name, type: r.container.type }
  return f
}

export async function scan(options: ScanOptions): Promise<ScanReport> {
  const started = performance.now()
  const startedAt = new Date().toISOString()
  const version = options.version ?? LATEST
  const engine = new Engine(options.library.checks, options.library.podTemplates, { version })
  const { files, errors } = await expandInputs(options.inputs)
  const findings: Finding[] = []
  const summary: ScanSummary = {
    files: files.length,
    resources: 0,
    checks: engine.checks.length,
    passed: 0,
    findings: 0,
    bySeverity: Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>,
    errors: 0,
  }
  for (const [i, file] of files.entries()) {
    options.onProgress?.(i, files.length, file)
    let text: string
    try {
      text = await readSource(file)
    } catch (err) {
      errors.push({
        file,
        message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      })
      continue
    }
    const loaded = parseSource(file === '-' ? '<stdin>' : file, text, options.limits ?? DEFAULT_LIMITS)
    errors.push(...loaded.errors)
    for (const resource of loaded.resources) {
      summary.resources++
      for (const result of engine.evaluate(resource)) {
        if (result.status === 'pass') summary.passed++
        else findings.push(toFinding(result))
      }
    }
  }
  options.onProgress?.(files.length, files.length, '')
  for (const f of findings) summary.bySeverity[f.severity]++
  summary.findings = findings.length
  summary.errors = errors.length
  return {
    policyVersion: version === LATEST ? 'latest' : `v1.${version}`,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    summary,
    findings,
    errors,
    checks: engine.checks.map((c) => c.metadata),
  }
}
