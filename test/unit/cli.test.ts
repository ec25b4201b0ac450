/** The CLI as a user runs it: the built binary, real files, exit codes. `npm test` builds first. */
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, run } from '../helpers/cli.js'
import { corpusPath } from '../helpers/corpus.js'
import { pointsAtPath } from '../helpers/positions.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-cli-'))

function file(name: string, text: string): string {
  const p = join(tmp, name)
  writeFileSync(p, text)
  return p
}

const privileged = file(
  'privileged.yaml',
  `apiVersion: v1
kind: Pod
metadata: {name: priv, namespace: team-a}
spec:
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      privileged: true
`,
)
const hardened = file(
  'hardened.yaml',
  `apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`,
)
const broken = file('broken.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: [oops}\n')

describe('plimsoll scan', () => {
  it('exits 1 on findings at or above --fail-on, and reports them at file:line', () => {
    const r = run(['scan', privileged])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(privileged)
    expect(r.stdout).toMatch(/Pod team-a\/priv/)
    expect(r.stdout).toMatch(/CRITICAL +9:7 +container app is privileged +\[pss-privileged\]/)
    expect(r.stdout).toMatch(
      /Scanned 1 resource in 1 file against \d+ checks \(policy version latest\): \d+ findings? .*at or above high/,
    )
  })

  it('exits 0 when nothing reaches the threshold', () => {
    expect(run(['scan', hardened]).code).toBe(0)
    expect(run(['scan', privileged, '--fail-on', 'none']).code).toBe(0)
  })

  it('exits 2 on input errors, still reporting the other files', () => {
    const r = run(['scan', broken, privileged])
    expect(r.code).toBe(2)
    expect(r.stdout).toMatch(/broken.yaml\n +ERROR +3:\d+ +invalid YAML/)
    expect(r.stdout).toMatch(/privileged/)
  })

  it('creates the folder of a report file, and names a report it cannot write while writing the others', () => {
    const nested = join(tmp, 'reports', 'deep', 'r.json')
    expect(run(['scan', 'examples/', '--format', `json=${nested}`, '--fail-on', 'none']).code).toBe(0)
    expect(JSON.parse(readFileSync(nested, 'utf8')).summary.resources).toBeGreaterThan(0)
    const blocker = join(tmp, 'not-a-dir')
    writeFileSync(blocker, '')
    const ok = join(tmp, 'written.xml')
    const r = run([
      'scan',
      'examples/',
      '--format',
      `json=${blocker}/r.json,junit=${ok}`,
      '--fail-on',
      'none',
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^plimsoll: cannot write the json report to .*not-a-dir\/r\.json: /m)
    expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
    expect(readFileSync(ok, 'utf8')).toMatch(/^<\?xml/)
  })

  it('stops quietly when the reader of its output goes away (| head)', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; "${process.execPath}" "${BIN}" scan "${corpusPath('real-manifests')}" --format json --fail-on none | head -1`,
      ],
      {
        encoding: 'utf8',
      },
    )
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('does not walk into Helm charts, and says how to scan them', () => {
    const repo = join(tmp, 'repo-with-chart')
    const chart = join(repo, 'charts', 'shop')
    mkdirSync(join(chart, 'templates'), { recursive: true })
    mkdirSync(join(repo, 'k8s'))
    cpSync('examples/shop/cart.yaml', join(repo, 'k8s', 'cart.yaml'))
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: shop\nversion: 0.1.0\n')
    writeFileSync(
      join(chart, 'templates', 'cm.yaml'),
      'kind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n',
    )
    const json = run(['scan', repo, '--format', 'json', '--fail-on', 'none'])
    expect(json.code).toBe(0)
    const report = JSON.parse(json.stdout)
    expect(report.skippedCharts).toEqual([chart])
    expect(report.errors).toEqual([])
    expect(report.summary.files).toBe(1)
    expect(run(['scan', repo, '--fail-on', 'none']).stdout).toMatch(
      /skipped 1 Helm chart \[.*charts\/shop; scan with --helm\]/,
    )
  })

  it('exits 2 on usage errors, with a hint', () => {
    const bad = run(['scan', privileged, '--fail-on', 'severe'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/expected one of: critical, high, medium, low, info, none/)
    expect(run(['scan', privileged, '--pss-version', '1.25']).code).toBe(2)
    expect(run(['scan']).code).toBe(2)
    expect(run(['scan', join(tmp, 'missing.yaml')]).stdout).toMatch(/no such file or directory/)
  })

  it('exits 2 when a user check is broken, naming the file and line', () => {
    const check = file(
      'bad-check.yaml',
      'apiVersion: plimsoll.dev/v1\nkind: Check\nmetadata:\n  id: x\n  title: t\n  severity: high\n  category: c\nspec:\n  match: {kinds: [Pod]}\n  validations:\n  - {expression: "object.spec. ==", message: m}\n',
    )
    const r = run(['scan', '--policy', check, privileged])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/bad-check.yaml:11: check 'x': validations\[0\].expression: CEL syntax error/)
  })

  it('skips files without Kubernetes objects found in a directory, but not files named explicitly', () => {
    const app = join(tmp, 'app')
    mkdirSync(join(app, 'k8s'), { recursive: true })
    writeFileSync(join(app, 'settings.yaml'), 'name: shop\nversion: 1.0.0\n')
    writeFileSync(join(app, 'values.yaml'), 'replicaCount: 2\nimage: {tag: latest}\n')
    writeFileSync(join(app, 'k8s', 'pod.yaml'), readFileSync(hardened, 'utf8'))
    const dirScan = JSON.parse(run(['scan', app, '--format', 'json']).stdout)
    expect(dirScan.skipped).toEqual([join(app, 'settings.yaml'), join(app, 'values.yaml')])
    expect(dirScan.errors).toEqual([])
    expect(dirScan.summary).toMatchObject({ resources: 1, skipped: 2 })
    const text = run(['scan', app])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/\(skipped 2 files with no Kubernetes objects\)/)
    const named = run(['scan', join(app, 'values.yaml')])
    expect(named.code).toBe(2)
    expect(named.stdout).toMatch(/not a Kubernetes resource: missing or empty apiVersion and kind/)
  })

  it('hides findings excepted by annotation, counts them, and never fails the gate on them', () => {
    const excepted = file(
      'excepted.yaml',
      readFileSync(privileged, 'utf8').replace(
        'metadata: {name: priv, namespace: team-a}',
        'metadata:\n  name: priv\n  namespace: team-a\n  annotations:\n    plimsoll.dev/except.pss-privileged: "GPU driver installer, OPS-7"',
      ),
    )
    const hidden = run(['scan', excepted])
    expect(hidden.code).toBe(0)
    expect(hidden.stdout).not.toMatch(/\[pss-privileged\]/)
    expect(hidden.stdout).toMatch(/, 1 excepted; none at or above high/)
    // The old form, a reason alone, still works; the scan says it has neither owner nor expiry.
    expect(hidden.stderr).toMatch(/warning: 1 exception has no owner and no expiry/)
    const shown = run(['scan', excepted, '--show-excepted'])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(
      /EXCEPTED +13:7 +container app is privileged \(excepted: GPU driver installer, OPS-7; no owner, no expiry\) +\[pss-privileged\]/,
    )
    const json = JSON.parse(run(['scan', excepted, '--format', 'json', '--show-excepted']).stdout)
    expect(json.summary.excepted).toBe(1)
    expect(json.summary.bySeverity.critical).toBe(0)
    expect(json.findings.find((f: { checkId: string }) => f.checkId === 'pss-privileged').excepted).toEqual({
      source: 'annotation',
      reason: 'GPU driver installer, OPS-7',
    })
    expect(
      JSON.parse(run(['scan', excepted, '--format', 'json']).stdout).findings.map(
        (f: { checkId: string }) => f.checkId,
      ),
    ).not.toContain('pss-privileged')
  })

  it('reads stdin with -', () => {
    const r = run(['scan', '-', '--format', 'json'], readFileSync(privileged, 'utf8'))
    expect(r.code).toBe(1)
    const report = JSON.parse(r.stdout)
    expect(report.findings[0].location.file).toBe('<stdin>')
  })

  it('writes the documented JSON schema to --output', () => {
    const out = join(tmp, 'report.json')
    const r = run(['scan', privileged, broken, '--format', 'json', '--output', out])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    const report = JSON.parse(readFileSync(out, 'utf8'))
    expect(report).toMatchObject({ schemaVersion: 1, tool: { name: 'plimsoll' }, policyVersion: 'latest' })
    expect(report.summary).toMatchObject({ files: 2, resources: 1, errors: 1 })
    expect(report.summary.findings).toBe(report.findings.length)
    const priv = report.findings.find((f: { path: string }) => f.path.endsWith('securityContext.privileged'))
    expect(priv).toEqual({
      checkId: expect.any(String),
      title: expect.any(String),
      severity: expect.stringMatching(/critical|high/),
      category: 'security',
      status: 'fail',
      message: expect.any(String),
      resource: { apiVersion: 'v1', kind: 'Pod', name: 'priv', namespace: 'team-a' },
      container: { name: 'app', type: 'containers' },
      path: 'spec.containers[0].securityContext.privileged',
      location: { file: privileged, line: 9, column: 7, documentIndex: 0 },
    })
    expect(report.errors[0]).toMatchObject({ file: broken, documentIndex: 0, position: { line: 3 } })
  })

  it('checks against older Pod Security versions with --pss-version', () => {
    const json = (args: string[]) => JSON.parse(run(['scan', hardened, '--format', 'json', ...args]).stdout)
    expect(json(['--pss-version', 'v1.0']).policyVersion).toBe('v1.0')
    const pss = (r: { findings: { checkId: string }[] }) =>
      r.findings.filter((f) => f.checkId.startsWith('pss-'))
    expect(pss(json([]))).toEqual([])
    expect(pss(json(['--pss-version', 'v1.0']))).toEqual([])
  })

  it('scans every real-world manifest, pointing each finding at a key on its path', () => {
    const dir = corpusPath('real-manifests')
    const out = join(tmp, 'real.json')
    const r = run(['scan', dir, broken, '--format', 'json', '--output', out])
    expect(r.code).toBe(2)
    const report = JSON.parse(readFileSync(out, 'utf8'))
    expect(report.errors.map((e: { file: string }) => e.file)).toEqual([broken])
    expect(report.skipped).toEqual([join(dir, 'INDEX.json')])
    expect(report.summary.resources).toBeGreaterThan(200)
    const files = new Set<string>(report.findings.map((f: { location: { file: string } }) => f.location.file))
    expect(files.size).toBeGreaterThanOrEqual(15)
    const lines = new Map<string, string[]>()
    for (const f of report.findings) {
      const { file: path, line, column } = f.location
      if (!lines.has(path)) lines.set(path, readFileSync(path, 'utf8').split('\n'))
      const lineText = lines.get(path)![line - 1]!
      expect(
        pointsAtPath(lineText, column, String(f.path)),
        `${path}:${line}:${column} '${lineText}' for ${f.path}`,
      ).toBe(true)
    }
  })
})

describe('plimsoll scan --framework', () => {
  it("runs only the framework's checks and prints a per-control summary with a score", () => {
    const r = run(['scan', corpusPath('real-manifests'), '--framework', 'cis', '--fail-on', 'none'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      /^CIS Kubernetes Benchmark, section 5 \(Policies\): \d+ of \d+ applicable controls pass \(score [\d.]+%\)$/m,
    )
    expect(r.stdout).toMatch(
      /^ {2}FAIL {2}5\.2\.2 +Minimize the admission of privileged containers — \d+ failures? \[pss-privileged\]$/m,
    )
    expect(r.stdout).toMatch(
      /^ {2}PASS {2}5\.1\.8 +Limit use of the Bind, Impersonate and Escalate permissions \[rbac-escalation-verbs\]$/m,
    )
    expect(r.stdout).not.toMatch(/priority-class-missing/)
  })

  it('includes Baseline in Restricted and reports control statuses in JSON', () => {
    const report = JSON.parse(
      run(['scan', join(tmp, 'hardened.yaml'), '--framework', 'pss-restricted', '--format', 'json']).stdout,
    )
    const { compliance, summary } = report
    expect(compliance.framework).toBe('pss-restricted')
    expect(compliance.controls.map((c: { framework: string }) => c.framework)).toContain('pss-baseline')
    expect(
      compliance.controls.find(
        (c: { id: string; framework: string }) => c.id === 'privileged' && c.framework === 'pss-baseline',
      ).status,
    ).toBe('pass')
    expect(compliance.controls.find((c: { id: string }) => c.id === 'sysctls').status).toBe('pass')
    expect(compliance.score).toBe(100)
    expect(summary.findings).toBe(0)
    const nsa = JSON.parse(
      run(['scan', privileged, '--framework', 'nsa', '--format', 'json']).stdout,
    ).compliance
    expect(nsa.controls.find((c: { id: string }) => c.id === 'privileged-containers')).toMatchObject({
      status: 'fail',
      failed: 1,
    })
    expect(nsa.controls.find((c: { id: string }) => c.id === 'rbac-least-privilege').status).toBe(
      'not-applicable',
    )
    expect(nsa.score).toBeLessThan(100)
  })

  it('rejects an unknown framework, naming the known ones', () => {
    const r = run(['scan', privileged, '--framework', 'iso27001'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /unknown framework 'iso27001' \(available: cis, nsa, pss-baseline, pss-restricted\)/,
    )
  })
})

describe('plimsoll scan --jobs', () => {
  it('reports the same findings, in the same order, with worker threads as with one thread', () => {
    // Two copies of the corpus: over the 4 MB below which a scan stays on one thread.
    const dir = join(tmp, 'twice')
    for (const copy of ['a', 'b']) cpSync(corpusPath('real-manifests'), join(dir, copy), { recursive: true })
    const report = (jobs: string) => {
      const out = join(tmp, `jobs-${jobs}.json`)
      run(['scan', dir, '--format', 'json', '--output', out, '--jobs', jobs])
      const { findings, errors, summary, skipped } = JSON.parse(readFileSync(out, 'utf8'))
      return { findings, errors, summary, skipped }
    }
    const one = report('1')
    expect(one.summary.resources).toBeGreaterThan(400)
    // cross-resource checks too: their subjects and inventory come back from the workers
    const ids = new Set(one.findings.map((f: { checkId: string }) => f.checkId))
    expect(ids).toContain('pdb-missing')
    expect(ids).toContain('namespace-without-networkpolicy')
    expect(report('3')).toEqual(one)
  })

  it('uses worker threads only for large inputs', () => {
    const probe = (input: string) =>
      spawnSync(
        process.execPath,
        ['--trace-warnings', BIN, 'scan', input, '--jobs', '2', '--format', 'json'],
        {
          encoding: 'utf8',
          env: { ...process.env, NODE_DEBUG: 'worker' },
        },
      ).stderr.includes('WORKER')
    expect(probe(join(tmp, 'twice'))).toBe(true)
    expect(probe(corpusPath('real-manifests', 'kubernetes__examples'))).toBe(false)
  })
})

describe('plimsoll checks', () => {
  it('lists the library', () => {
    const r = run(['checks'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^pss-/m)
  })

  it('keeps docs/checks.md in step with the library', () => {
    const md = run(['checks', '--format', 'markdown']).stdout
    const doc = readFileSync(resolve(import.meta.dirname, '..', '..', 'docs', 'checks.md'), 'utf8')
    expect(doc, 'docs/checks.md is stale: run npm run docs:checks').toBe(md)
  })
})
