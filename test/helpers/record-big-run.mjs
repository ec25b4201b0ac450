// Records one large synthetic run into a store, for the crash test in store.test.ts: it prints a line
// when the write begins, and the test kills it at some point after that.
import { openStore } from '../../dist/store/connect.js'
import { recordRun } from '../../dist/store/record-run.js'

const [, , location, count] = process.argv
const n = Number(count)
const findings = Array.from({ length: n }, (_, i) => ({
  checkId: 'pss-privileged',
  title: 'Containers must not be privileged',
  severity: 'critical',
  category: 'pod-security',
  status: 'fail',
  message: `container app-${i} is privileged`,
  resource: { apiVersion: 'v1', kind: 'Pod', name: `pod-${Math.floor(i / 10)}`, namespace: 'crash' },
  container: { name: `app-${i}`, type: 'containers' },
  path: `spec.containers[${i % 10}].securityContext.privileged`,
  location: { file: 'big.yaml', line: i + 1, column: 7, documentIndex: Math.floor(i / 10) },
}))
const report = {
  policyVersion: 'latest',
  startedAt: new Date().toISOString(),
  durationMs: 1000,
  summary: {
    files: 1,
    resources: n / 10,
    checks: 1,
    passed: 0,
    findings: n,
    bySeverity: { info: 0, low: 0, medium: 0, high: 0, critical: n },
    errors: 0,
    skipped: 0,
    excepted: 0,
  },
  findings,
  errors: [],
}
const store = await openStore(location)
process.stdout.write('writing\n')
await recordRun(store, report, { source: 'ci', target: 'crash', plimsollVersion: 'test' })
await store.close()
process.stdout.write('done\n')
