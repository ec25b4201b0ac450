import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadAll } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import { run } from '../helpers/cli.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-formats-'))
// A name with XML and workflow-command metacharacters, to prove the escaping.
const manifest = join(tmp, 'odd, "name".yaml')
writeFileSync(
  manifest,
  `apiVersion: v1
kind: Pod
metadata: {name: a-b, namespace: ns}
spec:
  containers:
  - name: app
    image: nginx:1.27
    securityContext: {privileged: true}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: ns}
data: {LOG_LEVEL: info}
`,
)

/** Every tag closed in order: enough to catch broken XML without an XML parser dependency. */
function wellFormed(xml: string): boolean {
  const stack: string[] = []
  for (const m of xml.replace(/<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([A-Za-z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) return false
    } else stack.push(m[2]!)
  }
  return stack.length === 0 && !/&(?!(lt|gt|amp|quot|apos);)/.test(xml)
}

describe('several reports from one run', () => {
  const out = (name: string) => join(tmp, name)
  const r = run([
    'scan',
    manifest,
    '--format',
    `text,json=${out('r.json')},junit=${out('r.xml')},github=${out('gh.txt')},markdown=${out('s.md')}`,
    '--fail-on',
    'none',
  ])
  const json = JSON.parse(readFileSync(out('r.json'), 'utf8'))

  it('writes the text report to stdout and every other report to its file', () => {
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Scanned 2 resources in 1 file/m)
    expect(json.summary.findings).toBeGreaterThan(0)
  })

  it('writes well-formed JUnit XML with a test per finding; with --fail-on none, none fails', () => {
    const xml = readFileSync(out('r.xml'), 'utf8')
    expect(wellFormed(xml)).toBe(true)
    expect(xml.match(/<skipped /g)).toHaveLength(json.summary.findings)
    expect(xml).not.toContain('<failure')
    expect(xml).toMatch(/<testsuites name="plimsoll" tests="\d+" failures="0" errors="0" skipped="\d+"/)
    expect(xml).toMatch(/<testsuite name="pss-privileged" tests="1" failures="0" errors="0" skipped="1"/)
    expect(xml).toContain('<skipped message="not gating: --fail-on none: container app is privileged"/>')
    expect(xml).toContain(`classname="${manifest.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`)
    expect(xml).toMatch(
      /<testsuite name="secret-in-configmap" tests="1" failures="0"[\s\S]*?name="1 resource passes"/,
    )
  })

  it('fails exactly the tests whose findings fail the gate, so the test report agrees with the exit code', () => {
    const junit = out('gate.xml')
    const r = run(['scan', manifest, '--format', `junit=${junit}`, '--fail-on', 'high'])
    expect(r.code).toBe(1)
    const xml = readFileSync(junit, 'utf8')
    expect(wellFormed(xml)).toBe(true)
    const high = json.findings.filter((f: { severity: string }) => ['high', 'critical'].includes(f.severity))
    expect(xml.match(/<failure /g)).toHaveLength(high.length)
    expect(xml.match(/<skipped /g)).toHaveLength(json.findings.length - high.length)
    expect(xml).toMatch(/<testsuite name="pss-privileged" tests="1" failures="1"/)
    expect(xml).toMatch(/<skipped message="medium, below --fail-on high: /)
    // With a baseline of today's findings, nothing fails, and nothing is annotated on the pull request.
    const baseline = out('baseline.json')
    run(['scan', manifest, '--baseline-write', baseline, '--fail-on', 'none'])
    const known = run(['scan', manifest, '--baseline', baseline, '--format', `junit=${junit},github`])
    expect(known.code).toBe(0)
    expect(readFileSync(junit, 'utf8')).not.toContain('<failure')
    expect(readFileSync(junit, 'utf8')).toContain('known finding, recorded in the baseline')
    expect(known.stdout).toBe('')
  })

  it('writes GitLab Code Quality issues: unique fingerprints, project-relative paths, the finding line', () => {
    const r = run([
      'scan',
      'examples/',
      '--format',
      `codequality,json=${out('cq.json')}`,
      '--fail-on',
      'none',
    ])
    expect(r.code).toBe(0)
    const issues = JSON.parse(r.stdout) as {
      type: string
      check_name: string
      description: string
      categories: string[]
      severity: string
      fingerprint: string
      location: { path: string; lines: { begin: number } }
    }[]
    const report = JSON.parse(readFileSync(out('cq.json'), 'utf8'))
    expect(issues).toHaveLength(report.findings.length)
    expect(new Set(issues.map((i) => i.fingerprint)).size).toBe(issues.length)
    issues.forEach((issue, i) => {
      const f = report.findings[i]
      expect(issue).toMatchObject({ type: 'issue', check_name: f.checkId })
      expect(issue.location).toEqual({ path: f.location.file, lines: { begin: f.location.line } })
      expect(issue.location.path).toMatch(/^examples\//)
      expect(['info', 'minor', 'major', 'critical', 'blocker']).toContain(issue.severity)
      expect(['Security', 'Bug Risk', 'Performance']).toContain(issue.categories[0])
      expect(issue.description).toContain(f.message)
    })
    const critical = issues.find((i) => i.check_name === 'pss-privileged')
    expect(critical?.severity).toBe('blocker')
  })

  it('writes GitHub annotations with escaped properties, at the finding line', () => {
    const lines = readFileSync(out('gh.txt'), 'utf8').trim().split('\n')
    expect(lines).toHaveLength(json.summary.findings)
    const priv = lines.find((l) => l.includes('pss-privileged'))
    expect(priv).toBe(
      `::error file=${manifest.replace(/,/g, '%2C')},line=8,col=23,title=pss-privileged (critical)::container app is privileged`,
    )
    expect(
      lines.every((l) => /^::(error|warning|notice) file=[^:,]+,line=\d+,col=\d+,title=[^:,]+::/.test(l)),
    ).toBe(true)
  })

  it('writes a Markdown summary with a row per finding', () => {
    const md = readFileSync(out('s.md'), 'utf8')
    expect(md).toMatch(/^## Plimsoll\n\n2 resources in 1 file, \d+ checks .*\*\*\d+ findings\*\*/)
    expect(md.match(/^\| (critical|high|medium|low|info) \|/gm)).toHaveLength(json.summary.findings)
  })

  it('writes a PolicyReport per namespace and a ClusterPolicyReport for cluster-scoped resources', () => {
    const role = join(tmp, 'role.yaml')
    writeFileSync(
      role,
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: everything}\nrules:\n- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}\n',
    )
    const r = run([
      'scan',
      manifest,
      role,
      '--format',
      `policyreport,json=${out('pr.json')}`,
      '--fail-on',
      'none',
    ])
    expect(r.code).toBe(0)
    const docs = loadAll(r.stdout) as {
      kind: string
      apiVersion: string
      metadata: { namespace?: string }
      summary: { fail: number }
      results: { policy: string; result: string; resources: { kind: string }[] }[]
    }[]
    expect(docs.map((d) => [d.apiVersion, d.kind, d.metadata.namespace])).toEqual([
      ['wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'ns'],
      ['wgpolicyk8s.io/v1alpha2', 'ClusterPolicyReport', undefined],
    ])
    const report = JSON.parse(readFileSync(out('pr.json'), 'utf8'))
    expect(docs.reduce((n, d) => n + d.results.length, 0)).toBe(report.summary.findings)
    for (const d of docs) expect(d.summary.fail).toBe(d.results.filter((x) => x.result === 'fail').length)
    expect(docs[1]!.results.map((x) => x.policy)).toContain('rbac-wildcard')
    expect(docs[1]!.results.every((x) => x.resources[0]!.kind === 'ClusterRole')).toBe(true)
  })

  it('refuses two reports on stdout', () => {
    const bad = run(['scan', manifest, '--format', 'text,json'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/only one format can go to stdout/)
    expect(run(['scan', manifest, '--format', 'csv']).stderr).toMatch(
      /unknown format 'csv' \(expected text, json, junit, github, markdown, policyreport, sarif/,
    )
  })
})
