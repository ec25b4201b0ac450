/**
 * The demo's week of admission decisions (`serve --demo`'s admissions and enforcement plan pages):
 * made by the webhook's own decideValidation under DEMO_ENFORCEMENT, seeded into a real SQLite store.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { demoAdmissions, seedAdmissions } from '../../src/demo/admissions.js'
import { DEMO_ENFORCEMENT, DEMO_ENFORCEMENT_YAML } from '../../src/demo/enforcement.js'
import { CLUSTER_TARGET } from '../../src/demo/estate.js'
import { seedDemo } from '../../src/demo/seed.js'
import { loadLibrary } from '../../src/policy/library.js'
import { ADMISSION_OUTCOMES, admissionSummary, listAdmissions } from '../../src/store/admissions.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { loadEnforcement, modeFor } from '../../src/webhook/enforcement.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-demo-admissions-'))
const library = loadLibrary()
const now = new Date('2026-03-31T12:00:00Z')
const WEEK_MS = 7 * 24 * 60 * 60 * 1000

type Row = Awaited<ReturnType<typeof listAdmissions>>[number]

async function rowsOf(store: Store): Promise<Row[]> {
  return (await listAdmissions(store, { limit: 100_000 })).reverse()
}

describe('seedAdmissions', () => {
  let store: Store
  let rows: Row[]
  let summary: Awaited<ReturnType<typeof seedAdmissions>>

  beforeAll(async () => {
    store = await openStore(join(tmp, 'admissions.db'))
    summary = await seedAdmissions(store, { library, now })
    rows = await rowsOf(store)
  }, 60_000)

  afterAll(() => store.close())

  it('records a week of decisions on prod-cluster, in time order, none in the future', () => {
    expect(rows.length).toBe(summary.decisions)
    expect(rows.length).toBeGreaterThan(300)
    expect(rows.length).toBeLessThan(5000)
    expect(rows.every((r) => r.cluster === CLUSTER_TARGET)).toBe(true)
    const times = rows.map((r) => Date.parse(r.at))
    expect(times.every((t) => t <= now.getTime() && t > now.getTime() - WEEK_MS)).toBe(true)
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(new Set(rows.map((r) => r.at.slice(0, 10))).size).toBe(7)
    expect(summary).toMatchObject({ from: rows[0]!.at, to: rows.at(-1)!.at })
  })

  it('has every outcome, each as the webhook decides it', () => {
    for (const outcome of ADMISSION_OUTCOMES) {
      expect(
        rows.some((r) => r.outcome === outcome),
        outcome,
      ).toBe(true)
      expect(summary.outcomes[outcome]).toBe(rows.filter((r) => r.outcome === outcome).length)
    }
    for (const r of rows) {
      const modes = new Set(r.checks.map((c) => c.mode))
      if (r.outcome === 'denied') expect(modes.has('enforce')).toBe(true)
      if (r.outcome === 'warned') expect(modes.has('warn') && !modes.has('enforce')).toBe(true)
      if (r.outcome === 'audited') expect(modes.has('audit') && !modes.has('warn')).toBe(true)
      if (r.outcome === 'allowed') expect([...modes].every((m) => m === 'off' || m === 'excepted')).toBe(true)
      if (r.outcome === 'exempt') {
        expect(r.checks).toEqual([])
        // A wildcard exemption: the webhook is sent these, and says they are exempt.
        expect(r.namespace).toMatch(/^kube-/)
      }
      expect(r.weight).toBe(1)
    }
    // Exempt users and namespaces exempt by name are left in the API server by the configuration.
    expect(rows.some((r) => DEMO_ENFORCEMENT.exemptions.usernames.includes(r.username))).toBe(false)
    expect(rows.some((r) => r.namespace === 'plimsoll')).toBe(false)
  })

  it('denies only what DEMO_ENFORCEMENT enforces, where it enforces it: people and pipelines', () => {
    const denied = rows.filter((r) => r.outcome === 'denied')
    expect(denied.length).toBeGreaterThan(10)
    for (const r of denied)
      for (const c of r.checks.filter((c) => c.mode === 'enforce'))
        expect(modeFor(DEMO_ENFORCEMENT, c.id, { username: r.username, namespace: r.namespace }), c.id).toBe(
          'enforce',
        )
    // The debug shell in payments, refused once privileged is enforced there.
    const shell = denied.find((r) => r.namespace === 'payments' && r.name === 'debug-shell')
    expect(shell).toMatchObject({ kind: 'Pod', operation: 'CREATE', username: 'alice@example.com' })
    expect(shell!.checks.find((c) => c.id === 'pss-privileged')).toMatchObject({ mode: 'enforce' })
    // ... which the same check only warned of before: the week the rule was switched on.
    expect(
      rows.some(
        (r) =>
          r.namespace === 'payments' &&
          r.name === 'debug-shell' &&
          r.outcome === 'warned' &&
          r.checks.some((c) => c.id === 'pss-privileged' && c.mode === 'warn'),
      ),
    ).toBe(true)
    expect(denied.some((r) => r.username.startsWith('system:serviceaccount:'))).toBe(true)
    expect(new Set(denied.map((r) => r.namespace)).size).toBeGreaterThanOrEqual(3)
  })

  it('is traffic of pipelines, controllers and people, mostly in working hours', () => {
    const users = new Set(rows.map((r) => r.username))
    for (const user of [
      'system:serviceaccount:kube-system:replicaset-controller',
      'system:serviceaccount:payments:deployer',
      'system:serviceaccount:argocd:argocd-application-controller',
      'alice@example.com',
    ])
      expect(users.has(user), user).toBe(true)
    const rollouts = rows.filter((r) => r.kind === 'Deployment' && r.operation === 'UPDATE')
    expect(rollouts.length).toBeGreaterThan(10)
    const kinds = new Set(rows.map((r) => r.kind))
    for (const kind of ['Pod', 'ReplicaSet', 'Deployment', 'StatefulSet', 'Job'])
      expect(kinds.has(kind)).toBe(true)
    const human = rows.filter((r) => !r.username.startsWith('system:'))
    const hour = (r: Row) => new Date(r.at).getUTCHours()
    expect(human.filter((r) => hour(r) >= 7 && hour(r) < 20).length / human.length).toBeGreaterThan(0.9)
  })

  it('gives the admissions page its charts: denials over time, top checks and namespaces', async () => {
    const s = await admissionSummary(store, { cluster: CLUSTER_TARGET })
    expect(s.deniedByHour.length).toBeGreaterThan(5)
    expect(new Set(s.deniedByHour.map((h) => h.hour.slice(0, 10))).size).toBeGreaterThanOrEqual(3)
    expect(s.topDeniedChecks.map((c) => c.check)).toEqual(
      expect.arrayContaining(['pss-privileged', 'image-tag-not-pinned', 'sensitive-host-path']),
    )
    expect(s.topDeniedNamespaces.map((n) => n.namespace)).toEqual(
      expect.arrayContaining(['payments', 'shop', 'data-pipeline']),
    )
    // The enforcement plan's evidence: checks that warned or audited in the teams' namespaces.
    const wouldDeny = rows.flatMap((r) => r.checks.filter((c) => c.mode === 'warn' || c.mode === 'audit'))
    expect(new Set(wouldDeny.map((c) => c.id)).size).toBeGreaterThan(5)
  })

  it('is deterministic: the same seed gives the same rows; reused decisions are the same as made ones', async () => {
    const other = await openStore(join(tmp, 'again.db'))
    try {
      await seedAdmissions(other, { library, now })
      expect(await rowsOf(other)).toEqual(rows)
    } finally {
      await other.close()
    }
    const made = await demoAdmissions({ library, now, reuseDecisions: false })
    expect(made.map((r) => [r.at, r.kind, r.namespace, r.name, r.username, r.outcome, r.checks])).toEqual(
      rows.map((r) => [r.at, r.kind, r.namespace, r.name, r.username, r.outcome, r.checks]),
    )
  }, 60_000)
})

describe('DEMO_ENFORCEMENT', () => {
  it('is what its YAML form reads back to', () => {
    const loaded = loadEnforcement('enforcement.yaml', DEMO_ENFORCEMENT_YAML)
    expect(loaded).toEqual({ ok: true, config: DEMO_ENFORCEMENT })
  })

  it('warns by default, enforces privileged containers in payments, exempts the control plane', () => {
    expect(DEMO_ENFORCEMENT.defaultMode).toBe('warn')
    const alice = { username: 'alice@example.com' }
    expect(modeFor(DEMO_ENFORCEMENT, 'pss-privileged', { ...alice, namespace: 'payments' })).toBe('enforce')
    expect(modeFor(DEMO_ENFORCEMENT, 'pss-privileged', { ...alice, namespace: 'search' })).toBe('warn')
    expect(modeFor(DEMO_ENFORCEMENT, 'pss-seccomp-restricted', { ...alice, namespace: 'shop' })).toBe('audit')
    expect(DEMO_ENFORCEMENT.exemptions.namespaces).toEqual(expect.arrayContaining(['kube-*', 'plimsoll']))
  })
})

describe('seedDemo', () => {
  it('seeds the week of decisions with the month of scans, and says how many', async () => {
    const store = await openStore(join(tmp, 'demo.db'))
    try {
      const seeded = await seedDemo(store, { now, library })
      const rows = await rowsOf(store)
      expect(seeded.admissions).toBe(rows.length)
      expect(rows.length).toBeGreaterThan(300)
      expect(rows.every((r) => Date.parse(r.at) <= now.getTime())).toBe(true)
    } finally {
      await store.close()
    }
  }, 60_000)
})
