/**
 * The demo estate (`plimsoll serve --demo`): a month of scans of five teams' repositories and a cluster,
 * seeded into a real SQLite store through the real engine.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLUSTER_TARGET, DEMO_TARGETS, demoEstate } from '../../src/demo/estate.js'
import { lastScanDay, seedDemo } from '../../src/demo/seed.js'
import { demoImages, IMAGE_SCAN_TARGET } from '../../src/demo/vulnerabilities.js'
import type { Exception } from '../../src/policy/exceptions.js'
import { loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { listExceptions } from '../../src/store/exceptions.js'
import { listVulnerabilities, vulnerabilityPosture } from '../../src/store/vulnerabilities.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-demo-'))
const library = loadLibrary()
const now = new Date('2026-03-31T12:00:00Z')

/** The scans' runs: the image scans' imports are the last test's. */
async function runsOf(store: Store) {
  return store.db.selectFrom('runs').selectAll().where('source', '<>', 'import').orderBy('id').execute()
}

async function tables(store: Store) {
  return {
    runs: await store.db.selectFrom('runs').selectAll().orderBy('id').execute(),
    resources: await store.db.selectFrom('resources').selectAll().orderBy('id').execute(),
    findings: await store.db.selectFrom('findings').selectAll().orderBy('id').execute(),
    exceptions: await store.db.selectFrom('exceptions').selectAll().orderBy('id').execute(),
  }
}

describe('seedDemo', () => {
  let store: Store

  beforeAll(async () => {
    store = await openStore(join(tmp, 'demo.db'))
    const summary = await seedDemo(store, { now, library })
    expect(summary).toMatchObject({ days: 30, targets: DEMO_TARGETS.length, runs: 30 * DEMO_TARGETS.length })
    // Seeding scans about a hundred inputs: seconds, more on a busy machine than a hook's default 10 s.
  }, 60_000)

  afterAll(() => store.close())

  it('records every target on 30 distinct days, the last one today, and nothing in the future', async () => {
    const runs = await runsOf(store)
    const targets = [...new Set(runs.map((r) => r.target))]
    expect(targets).toEqual(DEMO_TARGETS.map((t) => t.target))
    for (const target of targets) {
      const days = new Set(runs.filter((r) => r.target === target).map((r) => r.started_at.slice(0, 10)))
      expect(days.size, target).toBe(30)
      expect([...days].sort().at(0)).toBe('2026-03-02')
      expect([...days].sort().at(-1)).toBe('2026-03-31')
    }
    expect(runs.every((r) => Date.parse(r.finished_at) <= now.getTime())).toBe(true)
    expect(runs.every((r) => r.complete === 1 && r.errors === 0)).toBe(true)
    expect(runs.filter((r) => r.target === CLUSTER_TARGET).every((r) => r.source === 'cluster')).toBe(true)
    expect(runs.filter((r) => r.target !== CLUSTER_TARGET).every((r) => r.source === 'ci')).toBe(true)
  })

  it('pays the debt down: far fewer open findings on the last day than on the first, in every target', async () => {
    const runs = await runsOf(store)
    const openOn = (day: string) =>
      runs.filter((r) => r.started_at.startsWith(day)).reduce((sum, r) => sum + r.findings, 0)
    const first = openOn('2026-03-02')
    const last = openOn('2026-03-31')
    expect(first).toBeGreaterThan(150)
    expect(last / first).toBeLessThan(0.5)
    for (const { target } of DEMO_TARGETS) {
      const own = runs.filter((r) => r.target === target)
      expect(own.at(-1)!.findings, target).toBeLessThan(own[0]!.findings)
    }
    // ... at different paces: some teams are nearly done, others have barely started.
    const remaining = DEMO_TARGETS.filter((t) => t.team).map(({ target }) => {
      const own = runs.filter((r) => r.target === target)
      return own.at(-1)!.findings / own[0]!.findings
    })
    expect(Math.min(...remaining)).toBeLessThan(0.2)
    expect(Math.max(...remaining)).toBeGreaterThan(0.6)
  })

  it('has regressions: findings that were resolved and came back, in a repository and in the cluster', async () => {
    const reopened = await store.db
      .selectFrom('findings')
      .select(['target', 'check_id'])
      .where('reopened', '>=', 1)
      .execute()
    expect(reopened.some((f) => f.target === CLUSTER_TARGET)).toBe(true)
    expect(reopened.some((f) => f.target === 'git.example.com/shop/deploy')).toBe(true)
    // A workload added mid-month: first seen well after the first day.
    const late = await store.db
      .selectFrom('findings')
      .innerJoin('resources', 'resources.id', 'findings.resource_id')
      .select(['findings.first_seen'])
      .where('resources.name', '=', 'ranker')
      .where('findings.target', '=', 'git.example.com/search/deploy')
      .execute()
    expect(late.length).toBeGreaterThan(0)
    expect(late.every((f) => f.first_seen >= '2026-03-16')).toBe(true)
  })

  it('has findings excepted by annotation, with their reason, owner and expiry; one without either', async () => {
    const excepted = (
      await store.db
        .selectFrom('findings')
        .select(['target', 'check_id', 'exception'])
        .where('state', '=', 'excepted')
        .execute()
    ).map((f) => ({ ...f, exception: JSON.parse(f.exception!) as Exception }))
    const byAnnotation = excepted.filter((f) => f.exception.source === 'annotation')
    expect(byAnnotation.length).toBeGreaterThanOrEqual(10)
    expect(new Set(byAnnotation.map((f) => f.target)).size).toBeGreaterThanOrEqual(4)
    for (const f of byAnnotation) expect(f.exception.reason).toEqual(expect.any(String))
    const owned = byAnnotation.filter((f) => 'owner' in f.exception && f.exception.owner)
    expect(owned.length).toBeGreaterThanOrEqual(10)
    for (const f of owned) expect(f.exception).toMatchObject({ expires: expect.stringMatching(/^2026-/) })
    // One is left in the old form, so that the dashboard shows what an unowned exception looks like.
    const unowned = byAnnotation.filter((f) => !('owner' in f.exception))
    expect(unowned.length).toBeGreaterThan(0)
    expect(new Set(unowned.map((f) => f.check_id))).toEqual(new Set(['rbac-cluster-admin-binding']))
    const runs = await runsOf(store)
    expect(runs.at(-1)!.excepted).toBeGreaterThan(runs.find((r) => r.target === CLUSTER_TARGET)!.excepted)
  })

  it('has a register of owned exceptions: expiring this week, expired with its finding back, and stale', async () => {
    const register = await listExceptions(store)
    expect(register.length).toBeGreaterThanOrEqual(5)
    for (const e of register) {
      expect(e.owner).toMatch(/@example\.com$/)
      expect(e.expires).toMatch(/^\d{4}-\d{2}-\d{2}$/)
      expect(e.createdAt < '2026-03-31').toBe(true)
    }
    const findings = await store.db
      .selectFrom('findings')
      .select(['state', 'exception', 'check_id', 'target'])
      .where('exception', 'is not', null)
      .execute()
    const covering = (id: number) =>
      findings.filter((f) => (JSON.parse(f.exception!) as { file?: string }).file === `store#${id}`)

    // Some expire this week: still in force, their findings excepted.
    const thisWeek = register.filter((e) => e.expires >= '2026-03-31' && e.expires <= '2026-04-06')
    expect(thisWeek.length).toBeGreaterThanOrEqual(2)
    for (const e of thisWeek) {
      expect(
        covering(e.id).some((f) => f.state === 'excepted'),
        `#${e.id}`,
      ).toBe(true)
      expect(e).toMatchObject({ stale: false })
    }

    // One expired: its findings are open again, and say which exception expired.
    const expired = register.filter((e) => e.expires < '2026-03-31')
    expect(expired).toHaveLength(1)
    const back = covering(expired[0]!.id)
    expect(back.length).toBeGreaterThan(0)
    for (const f of back) {
      expect(f.state).toBe('open')
      expect(JSON.parse(f.exception!)).toMatchObject({ expired: true, owner: expired[0]!.owner })
    }
    expect(new Set(back.map((f) => f.target)).size).toBeGreaterThanOrEqual(2)
    expect(expired[0]).toMatchObject({ stale: false })

    // One stale: it excepted findings once, but matches nothing any more.
    const stale = register.filter((e) => e.stale)
    expect(stale).toHaveLength(1)
    expect(stale[0]!.matches).toBe(0)
    expect(covering(stale[0]!.id).length).toBeGreaterThan(0)
    expect(covering(stale[0]!.id).every((f) => f.state === 'resolved')).toBe(true)
    for (const e of register.filter((x) => !x.stale)) expect(e.matches, `#${e.id}`).toBeGreaterThan(0)
  })

  it('spans several teams and namespaces, with file names of the repositories', async () => {
    expect(DEMO_TARGETS.filter((t) => t.team).length).toBeGreaterThanOrEqual(4)
    const resources = await store.db.selectFrom('resources').select(['target', 'namespace', 'file']).execute()
    const namespaces = new Set(resources.map((r) => r.namespace).filter((ns) => ns !== ''))
    expect(namespaces.size).toBeGreaterThanOrEqual(6)
    expect(resources.map((r) => r.file)).toContain('payments/deploy/api.yaml')
    expect(resources.map((r) => r.file)).toContain('prod-cluster/shop.yaml')
    for (const r of resources.filter((x) => x.target !== CLUSTER_TARGET && x.target !== IMAGE_SCAN_TARGET)) {
      expect(r.target).toBe(`git.example.com/${r.file.split('/')[0]}/deploy`)
    }
  })

  it('imports a weekly scan of the cluster images: some patched during the month, some not, all invented', async () => {
    const imports = await store.db
      .selectFrom('runs')
      .selectAll()
      .where('source', '=', 'import')
      .orderBy('started_at')
      .execute()
    expect(imports.map((r) => r.target)).toEqual(Array(5).fill(IMAGE_SCAN_TARGET))
    expect(imports.map((r) => r.started_at.slice(0, 10))).toEqual([
      '2026-03-04',
      '2026-03-11',
      '2026-03-18',
      '2026-03-25',
      '2026-03-31',
    ])
    const posture = await vulnerabilityPosture(store, undefined, now)
    expect(posture.images).toBe(demoImages().length)
    expect(posture.failingImages).toBeGreaterThan(0)
    expect(posture.fixable).toBeGreaterThan(0)
    expect(posture.open).toBeGreaterThan(posture.fixable)
    const resolved = await listVulnerabilities(store, { state: ['resolved'] }, { limit: 500, offset: 0 }, now)
    expect(resolved.total).toBeGreaterThan(0)
    const open = await listVulnerabilities(store, {}, { limit: 500, offset: 0 }, now)
    expect(open.items.every((v) => v.advisory.startsWith('DEMO-') && v.tool === 'demo')).toBe(true)
    expect(open.items.every((v) => v.image.startsWith('registry.example.com/'))).toBe(true)
    // some open since the first scan, some newer
    expect(new Set(open.items.map((v) => v.firstSeen.slice(0, 10)))).toContain('2026-03-04')
    expect(open.items.some((v) => v.firstSeen.slice(0, 10) > '2026-03-04')).toBe(true)
  })

  it('is deterministic: a second empty store gets the same tables', async () => {
    const other = await openStore(join(tmp, 'again.db'))
    try {
      await seedDemo(other, { now, library })
      expect(await tables(other)).toEqual(await tables(store))
    } finally {
      await other.close()
    }
  })

  it('refuses a store that already holds runs', async () => {
    const before = (await tables(store)).runs.length
    // 180 scans and 5 image scans
    await expect(seedDemo(store, { now, library })).rejects.toThrow(/already holds 185 row\(s\) of runs/)
    expect((await tables(store)).runs.length).toBe(before)
  })
})

describe('demoEstate', () => {
  it('gives YAML that every day, for every target, parses without input errors', async () => {
    const estate = demoEstate()
    const seen = new Set<string>()
    for (let day = 0; day < estate.days; day++) {
      for (const input of estate.inputs(day)) {
        const key = JSON.stringify(input.sources)
        if (seen.has(key)) continue
        seen.add(key)
        const report = await scan({ inputs: [], rendered: input.sources, library, jobs: 1 })
        expect(report.errors, `${input.target}, day ${day}`).toEqual([])
        expect(report.summary.resources).toBeGreaterThan(10)
      }
    }
  })

  it('is the same text every time it is generated', () => {
    expect(demoEstate().inputs(29)).toEqual(demoEstate().inputs(29))
    expect(demoEstate().inputs(0)).not.toEqual(demoEstate().inputs(29))
  })

  it('stretches or squeezes the month to other lengths', () => {
    const week = demoEstate(7)
    expect(week.inputs(0)).toEqual(demoEstate().inputs(0))
    expect(week.inputs(6)).toEqual(demoEstate().inputs(29))
    expect(() => week.inputs(7)).toThrow(/no day 7/)
  })
})

describe('lastScanDay', () => {
  it("is today's 06:00 UTC once it is an hour past, else yesterday's", () => {
    expect(new Date(lastScanDay(new Date('2026-03-31T12:00:00Z'))).toISOString()).toBe(
      '2026-03-31T06:00:00.000Z',
    )
    expect(new Date(lastScanDay(new Date('2026-03-31T07:00:00Z'))).toISOString()).toBe(
      '2026-03-31T06:00:00.000Z',
    )
    expect(new Date(lastScanDay(new Date('2026-03-31T06:30:00Z'))).toISOString()).toBe(
      '2026-03-30T06:00:00.000Z',
    )
    expect(new Date(lastScanDay(new Date('2026-03-31T00:10:00Z'))).toISOString()).toBe(
      '2026-03-30T06:00:00.000Z',
    )
  })
})
