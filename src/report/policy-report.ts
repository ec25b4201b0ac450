/**
 * PolicyReport and ClusterPolicyReport (wgpolicyk8s.io/v1alpha2), the reports Kyverno and Policy Reporter
 * read: one PolicyReport per namespace with findings, one ClusterPolicyReport for cluster-scoped
 * resources, as a multi-document YAML stream ready for `kubectl apply -f`.
 * Only findings are listed (result fail or error); passes are not counted per namespace.
 */
import { dump } from 'js-yaml'
import type { Finding, ScanReport } from '../scan/scan.js'
import { groupBy } from './group.js'

function result(f: Finding, seconds: number) {
  const r = f.resource
  return {
    source: 'plimsoll',
    policy: f.checkId,
    rule: f.checkId,
    result: f.status,
    severity: f.severity,
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
    properties: {
      path: f.path,
      location: `${f.location.file}:${f.location.line}:${f.location.column}`,
      ...(f.container ? { container: f.container.name } : {}),
    },
  }
}

function summary(findings: readonly Finding[]) {
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
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      kind: 'PolicyReport',
      metadata: { name: 'plimsoll', namespace, labels: { 'app.kubernetes.io/managed-by': 'plimsoll' } },
      summary: summary(findings),
      results: findings.map((f) => result(f, seconds)),
    })
  }
  if (cluster.length > 0) {
    docs.push({
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      kind: 'ClusterPolicyReport',
      metadata: { name: 'plimsoll', labels: { 'app.kubernetes.io/managed-by': 'plimsoll' } },
      summary: summary(cluster),
      results: cluster.map((f) => result(f, seconds)),
    })
  }
  return docs.map((d) => dump(d, { lineWidth: 120, noRefs: true })).join('---\n')
}
