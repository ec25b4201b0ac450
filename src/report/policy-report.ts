/**
 * PolicyReport and ClusterPolicyReport (wgpolicyk8s.io/v1alpha2), the reports Kyverno and Policy Reporter
 * read: one PolicyReport per namespace with findings, one ClusterPolicyReport for cluster-scoped
 * resources, as a multi-document YAML stream ready for `kubectl apply -f`.
 * Only findings are listed (result fail or error); passes are not counted per namespace. The shapes and
 * the result builder are shared with the reports `plimsoll watch --policy-reports` keeps in a cluster
 * (src/cluster/policy-reports.ts).
 */
import { dump } from 'js-yaml'
import type { Severity } from '../policy/check.js'
import type { Finding, ScanReport } from '../scan/scan.js'
import { groupBy } from './group.js'

export const POLICY_REPORT_API_VERSION = 'wgpolicyk8s.io/v1alpha2'
/** Plimsoll's report in a namespace, and its ClusterPolicyReport: one of each, whatever wrote it. */
export const POLICY_REPORT_NAME = 'plimsoll'
export const POLICY_REPORT_LABELS = { 'app.kubernetes.io/managed-by': 'plimsoll' } as const

/** The severities of a v1alpha2 result (the CRD's enum since 2022; older ones list only high, medium, low). */
export type ReportSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info'
export type ReportStatus = 'pass' | 'fail' | 'warn' | 'error' | 'skip'

/**
 * Plimsoll's severities onto the report's. The same five words today; a table rather than a cast so
 * that a severity added to Plimsoll has to be placed here.
 */
export const REPORT_SEVERITY: Readonly<Record<Severity, ReportSeverity>> = {
  critical: 'critical',
  high: 'high',
  medium: 'medium',
  low: 'low',
  info: 'info',
}

export interface ReportSummary {
  pass: number
  fail: number
  warn: number
  error: number
  skip: number
}

/** A result as v1alpha2 has it (`PolicyReportResult`): `properties` values are strings only. */
export interface ReportResult {
  source: string
  policy: string
  rule: string
  result: ReportStatus
  severity: ReportSeverity
  category: string
  message: string
  scored: boolean
  timestamp: { seconds: number; nanos: number }
  resources: { apiVersion: string; kind: string; name: string; namespace?: string }[]
  properties: Record<string, string>
}

/** What a result is made of, whether the finding came from a file or from a live cluster. */
export interface ReportedFinding {
  checkId: string
  severity: Severity
  category: string
  result: ReportStatus
  message: string
  resource: { apiVersion: string; kind: string; name: string; namespace?: string }
  /** string properties: the field path, the source location, the container... */
  properties: Record<string, string>
}

export function reportResult(
  f: ReportedFinding,
  seconds: number,
  severity: (s: Severity) => ReportSeverity = (s) => REPORT_SEVERITY[s],
): ReportResult {
  const r = f.resource
  return {
    source: 'plimsoll',
    policy: f.checkId,
    rule: f.checkId,
    result: f.result,
    severity: severity(f.severity),
    category: f.category,
    message: f.message,
    scored: true,
    timestamp: { seconds, nanos: 0 },
    resources: [
      {
        apiVersion: r.apiVersion,
        kind: r.kind,
        name: r.name,
        ...(r.namespace ? { namespace: r.namespace } : {}),
      },
    ],
    properties: f.properties,
  }
}

function result(f: Finding, seconds: number): ReportResult {
  return reportResult(
    {
      checkId: f.checkId,
      severity: f.severity,
      category: f.category,
      result: f.status,
      message: f.message,
      resource: f.resource,
      properties: {
        path: f.path,
        location: `${f.location.file}:${f.location.line}:${f.location.column}`,
        ...(f.container ? { container: f.container.name } : {}),
      },
    },
    seconds,
  )
}

function summary(findings: readonly Finding[]): ReportSummary {
  return {
    pass: 0,
    fail: findings.filter((f) => f.status === 'fail').length,
    warn: 0,
    error: findings.filter((f) => f.status === 'error').length,
    skip: 0,
  }
}

export function renderPolicyReports(report: ScanReport): string {
  const seconds = Math.floor(Date.parse(report.startedAt) / 1000)
  // Cluster-scoped resources have no namespace: they go under the '' key, into the ClusterPolicyReport.
  const groups = groupBy(
    report.findings.filter((f) => !f.excepted),
    (f) => f.resource.namespace ?? '',
  )
  const cluster = groups.get('') ?? []
  groups.delete('')
  const byNamespace = groups
  const docs: object[] = []
  for (const [namespace, findings] of [...byNamespace].sort(([a], [b]) => a.localeCompare(b))) {
    docs.push({
      apiVersion: POLICY_REPORT_API_VERSION,
      kind: 'PolicyReport',
      metadata: { name: POLICY_REPORT_NAME, namespace, labels: { ...POLICY_REPORT_LABELS } },
      summary: summary(findings),
      results: findings.map((f) => result(f, seconds)),
    })
  }
  if (cluster.length > 0) {
    docs.push({
      apiVersion: POLICY_REPORT_API_VERSION,
      kind: 'ClusterPolicyReport',
      metadata: { name: POLICY_REPORT_NAME, labels: { ...POLICY_REPORT_LABELS } },
      summary: summary(cluster),
      results: cluster.map((f) => result(f, seconds)),
    })
  }
  return docs.map((d) => dump(d, { lineWidth: 120, noRefs: true })).join('---\n')
}
