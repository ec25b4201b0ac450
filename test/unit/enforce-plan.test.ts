/**
 * The enforcement plan from a real store: a cluster scan recorded by the real engine and admissions
 * recorded as the webhook records them; the ladder it suggests, what `--apply-to` writes (read back as
 * the webhook reads it), the CLI and the API.
 */
import { existsSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EnforcementPlan, PlanCheck } from '../../src/api-types.js'
import { applyPlan, PLAN_RULE_PREFIX } from '../../src/enforce/apply.js'
import { readPlan } from '../../src/enforce/read-plan.js'
import { loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'
import { buildServer } from '../../src/server/app.js'
import { type AdmissionRecord, recordAdmissions } from '../../src/store/admissions.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { manifestsOf } from '../../src/store/manifests.js'
import { recordRun, resourceKeyOf } from '../../src/store/record-run.js'
import { createToken } from '../../src/store/tokens.js'
import {
  defaultEnforcement,
  type EnforcementConfig,
  loadEnforcement,
  modeFor,
} from '../../src/webhook/enforcement.js'
import { run } from '../helpers/cli.js'
import { request } from '../helpers/http.js'
import { tempFiles } from '../helpers/temp-files.js'

const library = loadLibrary({})
const checks = new Map(library.checks.map((c) => [c.metadata.id, c.metadata]))
const { dir, file } = tempFiles('plimsoll-enforce-plan-')
const db = `${dir}/plan.db`
const NOW = new Date()
const DAY = 24 * 60 * 60 * 1000

function pod(namespace: string, name: string, privileged: boolean, team?: string) {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
${team ? `  labels:\n    team: ${team}\n` : ''}spec:
  containers:
    - name: app
      image: nginx:1.27
      securityContext:
        privileged: ${privileged}
`
}

// shop: two privileged pods of team web; prod: one (enforced already); clean: nothing privileged;
// kube-system: a privileged pod, exempt.
const CLUSTER = [
  pod('shop', 'web-1', true, 'web'),
  pod('shop', 'web-2', true, 'web'),
  pod('prod', 'api', true),
  pod('clean', 'fine', false),
  pod('kube-system', 'proxy', true),
].join('---\n')

function admission(
  namespace: string,
  mode: 'enforce' | 'warn' | 'audit' | 'excepted',
  daysAgo: number,
  weight = 1,
): AdmissionRecord {
  return {
    at: new Date(NOW.getTime() - daysAgo * DAY).toISOString(),
    cluster: 'lab',
    operation: 'CREATE',
    group: '',
    kind: 'Pod',
    namespace,
    name: 'x',
    username: 'alice',
    outcome: mode === 'enforce' ? 'denied' : mode === 'warn' ? 'warned' : 'audited',
    checks: [{ id: 'pss-privileged', mode, severity: 'critical', message: 'privileged', path: '' }],
    weight,
  }
}

const config: EnforcementConfig = {
  ...defaultEnforcement(),
  rules: [
    { name: 'prod', checks: ['pss-privileged'], namespaces: ['prod'], mode: 'enforce' },
    { name: 'lab-off', checks: ['pss-privileged'], namespaces: ['lab'], mode: 'off' },
  ],
}

const own = `apiVersion: plimsoll.dev/v1alpha1
kind: EnforcementConfig
metadata:
  name: mine
spec:
  defaultMode: warn
  exemptions:
    usernames: [system:serviceaccount:plimsoll:plimsoll]
  rules:
    - name: staging-quiet
      checks: [pss-privileged]
      namespaces: [staging]
      mode: audit
    - name: plan/enforce-9
      checks: [stale]
      mode: enforce
`

let store: Store
let plan: EnforcementPlan
const privileged = () => plan.checks.find((c) => c.id === 'pss-privileged') as PlanCheck
const row = (ns: string) => privileged().namespaces.find((n) => n.namespace === ns)

beforeAll(async () => {
  store = await openStore(db)
  const report = await scan({
    inputs: [],
    rendered: [{ name: 'cluster.yaml', text: CLUSTER }],
    library,
    jobs: 1,
    showExcepted: true,
  })
  expect(report.errors).toEqual([])
  await recordRun(store, report, {
    source: 'cluster',
    target: 'lab',
    plimsollVersion: 'test',
    manifests: manifestsOf(report.findings, resourceKeyOf, () => CLUSTER),
  })
  await recordRun(store, report, { source: 'cluster', target: 'other', plimsollVersion: 'test' })
  await recordAdmissions(store, [
    // staging: no object there now, but 5 admissions in the window it would have denied
    admission('staging', 'warn', 1, 3),
    admission('staging', 'audit', 2, 2),
    // clean: one long ago (outside the window), and one an exception held
    admission('clean', 'warn', 10),
    admission('clean', 'excepted', 1),
    // prod: enforced, denied twice
    admission('prod', 'enforce', 1),
    admission('prod', 'enforce', 3),
    admission('kube-system', 'warn', 1),
    admission('lab', 'warn', 1),
  ])
  plan = await readPlan(store, { cluster: 'lab', config, checks, now: NOW })
})

afterAll(async () => {
  await store.close()
})

describe('the enforcement plan', () => {
  it('reads the latest scan and the window of admissions', () => {
    expect(plan.cluster).toBe('lab')
    expect(plan.scan?.resources).toBe(5)
    // The 10-day-old admission is outside the 7-day window: 3 + 2 + 1 + 1 + 1 + 1 + 1
    expect(plan.admissions).toBe(10)
    expect(plan.window.days).toBe(7)
    expect(plan.exempt).toEqual(['kube-system'])
    expect(plan.namespaces).toEqual(expect.arrayContaining(['shop', 'prod', 'clean', 'staging', 'lab']))
    expect(plan.namespaces).not.toContain('kube-system')
  })

  it('finds a namespace where nothing fails and nothing would have been denied ready to enforce now', () => {
    expect(privileged().ladder.enforce).toContain('clean')
    expect(row('clean')).toBeUndefined() // no evidence against it: it is only in the ladder
  })

  it('suggests warn where objects fail now, naming them and their team', () => {
    const shop = row('shop')!
    expect(shop).toMatchObject({
      failing: 2,
      wouldDeny: 0,
      current: 'warn',
      suggested: 'warn',
      teams: ['web'],
    })
    expect(shop.examples).toEqual(['Pod/web-1', 'Pod/web-2'])
    expect(shop.reason).toMatch(/2 objects fail it now/)
    expect(privileged().ladder.warn).toContain('shop')
  })

  it("counts the window's admissions that would have been denied, by their weight", () => {
    expect(row('staging')).toMatchObject({ failing: 0, wouldDeny: 5, suggested: 'warn' })
    expect(row('staging')!.reason).toMatch(/5 admissions in the last 7 days would have been denied/)
  })

  it('keeps an enforced check enforced, with what it denied', () => {
    expect(row('prod')).toMatchObject({ current: 'enforce', suggested: 'enforce', failing: 1, denied: 2 })
    expect(privileged().denied).toBe(2)
  })

  it('leaves a namespace a rule turns off out of the ladder, and exempt namespaces out of everything', () => {
    expect(privileged().off).toEqual(['lab'])
    for (const step of ['audit', 'warn', 'enforce'] as const) {
      expect(privileged().ladder[step]).not.toContain('lab')
      expect(privileged().ladder[step]).not.toContain('kube-system')
    }
  })

  it('climbs one step at a time from off: audit first', async () => {
    const offPlan = await readPlan(store, {
      cluster: 'lab',
      config: { ...defaultEnforcement(), defaultMode: 'off' },
      checks,
      now: NOW,
    })
    const shop = offPlan.checks
      .find((c) => c.id === 'pss-privileged')!
      .namespaces.find((n) => n.namespace === 'shop')
    expect(shop).toMatchObject({ current: 'off', suggested: 'audit' })
  })

  it('lists checks with the most would-be denials first, and checks with no evidence as ready everywhere', () => {
    expect(plan.checks[0]!.id).toBe('pss-privileged')
    const quiet = plan.checks.find((c) => c.id === 'hpa-target-missing')!
    expect(quiet.ladder.warn).toEqual([])
    expect(quiet.ladder.enforce).toEqual(plan.namespaces)
    expect(plan.totals.readyEverywhere).toBeGreaterThan(0)
  })
})

describe('applying the plan', () => {
  it('writes rules the webhook reads back to the suggested modes, after the team rules, which win', () => {
    const applied = applyPlan(plan, { file: 'enforcement.yaml', text: own })
    if (!applied.ok) throw new Error(applied.problems.join('\n'))
    const reread = loadEnforcement('enforcement.yaml', applied.text)
    if (!reread.ok) throw new Error(reread.problems.join('\n'))
    const { config: written } = reread
    expect(written.rules[0]!.name).toBe('staging-quiet')
    expect(written.rules.some((r) => r.checks.includes('stale'))).toBe(false) // an old plan rule is replaced
    expect(written.rules.filter((r) => r.name.startsWith(PLAN_RULE_PREFIX)).length).toBe(applied.rules)
    expect(written.exemptions.usernames).toEqual(['system:serviceaccount:plimsoll:plimsoll'])
    const mode = (check: string, namespace: string) => modeFor(written, check, { username: '', namespace })
    expect(mode('pss-privileged', 'clean')).toBe('enforce')
    expect(mode('pss-privileged', 'shop')).toBe('warn')
    expect(mode('pss-privileged', 'prod')).toBe('enforce')
    // ready everywhere: enforced with no namespace list, so a new namespace starts enforced
    expect(mode('hpa-target-missing', 'brand-new')).toBe('enforce')
    // the team's rule decides staging first: said, not hidden
    expect(mode('pss-privileged', 'staging')).toBe('audit')
    expect(applied.overridden).toEqual([
      { check: 'pss-privileged', namespace: 'staging', suggested: 'warn', mode: 'audit' },
    ])
  })

  it('refuses a broken file, naming its line', () => {
    const applied = applyPlan(plan, { file: 'bad.yaml', text: own.replace('mode: audit', 'mode: loud') })
    expect(applied.ok).toBe(false)
    if (!applied.ok) expect(applied.problems.join('\n')).toMatch(/bad\.yaml:\d+: .*mode/)
  })
})

describe('plimsoll enforce plan', () => {
  it('prints the plan: what is ready, then the work left with its owners', () => {
    const r = run(['enforce', 'plan', '--store', db, '--cluster-name', 'lab'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Enforcement plan for lab/)
    expect(r.stdout).toMatch(/Ready to enforce everywhere \(\d+ checks\)/)
    expect(r.stdout).toMatch(/warn shop \(web\): 2 objects fail it now/)
  })

  it('asks which cluster when the store holds several, and says which it holds', () => {
    const r = run(['enforce', 'plan', '--store', db])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/holds 2 clusters \(lab, other\): say which with --cluster-name/)
    const missing = run(['enforce', 'plan', '--store', db, '--cluster-name', 'nope'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/no cluster scan and no admission of 'nope'.*it holds: lab, other/)
  })

  it('--apply-to writes the file, and a second apply keeps the team rules and rewrites its own', () => {
    const target = file('enforcement.yaml', own)
    const r = run(['enforce', 'plan', '--store', db, '--cluster-name', 'lab', '--apply-to', target])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/wrote \d+ plan rules to .*enforcement\.yaml, after your own 1/)
    expect(r.stderr).toMatch(
      /1 suggestion\(s\) are decided by your own rules instead: pss-privileged in staging: audit, not warn/,
    )
    const first = readFileSync(target, 'utf8')
    expect(first).toMatch(/name: staging-quiet/)
    expect(existsSync(`${target}.tmp`)).toBe(false)
    const again = run([
      'enforce',
      'plan',
      '--store',
      db,
      '--cluster-name',
      'lab',
      '--apply-to',
      target,
      '--format',
      'json',
    ])
    expect(again.code).toBe(0)
    expect((JSON.parse(again.stdout) as EnforcementPlan).cluster).toBe('lab')
    // the same evidence writes the same rules (the date line aside)
    const body = (text: string) => text.split('\n').slice(3).join('\n')
    expect(body(readFileSync(target, 'utf8'))).toBe(body(first))
  })

  it('--format config prints what it would write, and writes nothing', () => {
    const target = `${dir}/untouched.yaml`
    const r = run(['enforce', 'plan', '--store', db, '--cluster-name', 'lab', '--format', 'config'])
    expect(r.code).toBe(0)
    expect(loadEnforcement('out.yaml', r.stdout).ok).toBe(true)
    expect(existsSync(target)).toBe(false)
  })

  it('refuses an --enforcement file that does not load', () => {
    const bad = file(
      'bad.yaml',
      'apiVersion: plimsoll.dev/v1alpha1\nkind: EnforcementConfig\nspec:\n  defaultMode: loud\n',
    )
    const r = run(['enforce', 'plan', '--store', db, '--cluster-name', 'lab', '--enforcement', bad])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/bad\.yaml:4: .*defaultMode/)
  })
})

describe('GET /api/enforcement/plan', () => {
  it("answers the plan with the server's enforcement configuration, and asks for a cluster when there are several", async () => {
    const app = await buildServer({
      store,
      checks: [...checks.values()],
      frameworks: [],
      enforcement: config,
    })
    const viewer = (await createToken(store, 'plan-viewer', { role: 'viewer' })).token
    try {
      const base = await app.listen({ host: '127.0.0.1', port: 0 })
      expect((await request(base, '/api/enforcement/plan?cluster=lab')).status).toBe(401)
      const answer = await request(base, '/api/enforcement/plan?cluster=lab&days=30', { token: viewer })
      expect(answer.status).toBe(200)
      const body = answer.body as unknown as EnforcementPlan
      expect(body.window.days).toBe(30)
      const check = body.checks.find((c) => c.id === 'pss-privileged')!
      // with 30 days, the old admission in clean counts: clean is no longer ready
      expect(check.namespaces.find((n) => n.namespace === 'clean')).toMatchObject({
        wouldDeny: 1,
        suggested: 'warn',
      })
      expect(check.off).toEqual(['lab'])
      const clusters = await request(base, '/api/enforcement/clusters', { token: viewer })
      expect(clusters.body).toEqual([
        { name: 'lab', scanned: true, admissions: 11 },
        { name: 'other', scanned: true, admissions: 0 },
      ])
      const ambiguous = await request(base, '/api/enforcement/plan', { token: viewer })
      expect(ambiguous.status).toBe(400)
      expect(JSON.stringify(ambiguous.body)).toMatch(/2 clusters \(lab, other\)/)
      expect(
        (await request(base, '/api/enforcement/plan?days=0&cluster=lab', { token: viewer })).status,
      ).toBe(400)
    } finally {
      await app.close()
    }
  })
})
