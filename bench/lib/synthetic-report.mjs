// A synthetic scan report of n findings, spread over checks, severities, namespaces and resources the
// way a large estate's are: for benchmarks and for the store's crash test, where real scans of that
// size would take longer than the thing being measured.
const CHECKS = [
  ['pss-privileged', 'critical', 'security'],
  ['pss-host-namespaces', 'high', 'security'],
  ['pss-run-as-non-root', 'medium', 'security'],
  ['pss-seccomp-restricted', 'medium', 'security'],
  ['memory-limit-missing', 'medium', 'efficiency'],
  ['resource-requests-missing', 'medium', 'efficiency'],
  ['liveness-probe-missing', 'low', 'reliability'],
  ['readiness-probe-missing', 'low', 'reliability'],
  ['read-only-root-filesystem', 'low', 'security'],
  ['priority-class-missing', 'info', 'reliability'],
]

export function syntheticReport(n, { namespaces = 20, perResource = 10 } = {}) {
  const findings = Array.from({ length: n }, (_, i) => {
    const [checkId, severity, category] = CHECKS[i % CHECKS.length]
    const r = Math.floor(i / perResource)
    return {
      checkId,
      title: checkId,
      severity,
      category,
      status: 'fail',
      message: `container app-${i % perResource} of workload-${r}: ${checkId}`,
      resource: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: `workload-${r}`,
        namespace: `team-${r % namespaces}`,
      },
      container: { name: `app-${i % perResource}`, type: 'containers' },
      path: `spec.template.spec.containers[${i % perResource}].x${Math.floor(i / CHECKS.length)}`,
      location: {
        file: `deploy/team-${r % namespaces}.yaml`,
        line: (i % 500) + 1,
        column: 7,
        documentIndex: r,
      },
    }
  })
  const bySeverity = { info: 0, low: 0, medium: 0, high: 0, critical: 0 }
  const checkStats = {}
  const namespaceStats = {}
  for (const f of findings) {
    bySeverity[f.severity]++
    checkStats[f.checkId] ??= { applied: 0, failed: 0 }
    checkStats[f.checkId].applied += 2
    checkStats[f.checkId].failed++
    namespaceStats[f.resource.namespace] ??= { applied: 0, failed: 0 }
    namespaceStats[f.resource.namespace].applied += 2
    namespaceStats[f.resource.namespace].failed++
  }
  return {
    policyVersion: 'latest',
    startedAt: new Date().toISOString(),
    durationMs: 1000,
    summary: {
      files: namespaces,
      resources: Math.ceil(n / perResource),
      checks: CHECKS.length,
      passed: n,
      findings: n,
      bySeverity,
      errors: 0,
      skipped: 0,
      excepted: 0,
    },
    findings,
    errors: [],
    checkStats,
    namespaceStats,
  }
}
