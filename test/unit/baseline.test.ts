/** Baselines: today's debt is recorded; after edits, the gate fails only on what is new. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { run } from '../helpers/cli.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-baseline-'))
const manifest = join(tmp, 'app.yaml')
const baseline = join(tmp, 'baseline.json')

const before = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.27
        securityContext:
          privileged: true
      - name: sidecar
        image: envoy:latest
`
// Five comment lines move everything down; the sidecar's image gets pinned; host networking is new.
const after = `# owned by the shop team
# reviewed 2026-11
#
#
#
${before.replace('envoy:latest', 'envoy:1.31').replace('    spec:\n      containers:', '    spec:\n      hostNetwork: true\n      containers:')}`

describe('baselines', () => {
  it('records findings, then fails only on the new one after edits that move lines and fix one', () => {
    writeFileSync(manifest, before)
    const write = run(['scan', manifest, '--baseline-write', baseline, '--fail-on', 'none'])
    expect(write.code).toBe(0)
    const recorded = JSON.parse(readFileSync(baseline, 'utf8'))
    expect(recorded.baselineVersion).toBe(1)
    expect(recorded.findings.map((e: { checkId: string }) => e.checkId)).toContain('image-tag-not-pinned')
    expect(JSON.stringify(recorded)).not.toMatch(/"line"/)

    // Unchanged input: nothing new, the gate passes although the findings are high and critical.
    const same = run(['scan', manifest, '--baseline', baseline])
    expect(same.code).toBe(0)
    expect(same.stdout).toMatch(
      new RegExp(`baseline: 0 new, ${recorded.findings.length} known, 0 fixed; none at or above high`),
    )

    writeFileSync(manifest, after)
    const edited = run(['scan', manifest, '--baseline', baseline, '--format', 'json'])
    expect(edited.code).toBe(1)
    const report = JSON.parse(edited.stdout)
    const fresh = report.findings.filter((f: { inBaseline?: boolean }) => !f.inBaseline)
    expect(fresh.map((f: { checkId: string; path: string }) => `${f.checkId} ${f.path}`)).toEqual([
      'pss-host-namespaces spec.template.spec.hostNetwork',
    ])
    expect(report.baseline).toEqual({ new: 1, existing: recorded.findings.length - 1, fixed: 1 })
    // The old findings moved five lines down and are still recognised.
    const moved = report.findings.find((f: { checkId: string }) => f.checkId === 'pss-run-as-non-root')
    expect(moved.inBaseline).toBe(true)
    expect(moved.location.line).toBeGreaterThan(5)
  })

  it('rejects a file that is not a baseline, naming it', () => {
    const bogus = join(tmp, 'bogus.json')
    writeFileSync(bogus, '{"findings": 3}')
    const r = run(['scan', manifest, '--baseline', bogus])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--baseline: .*bogus.json: not a Plimsoll baseline/)
  })
})
