/**
 * The demo's upgrade checks (src/demo/upgrade.ts) in a real SQLite store: one per target on the last
 * morning, from the demo cluster's v1.32 to v1.33; what they find is what the estate holds (the data
 * team's Docker socket and policy/v1beta1 PodDisruptionBudget; the cluster serving that budget as
 * policy/v1 already), the same as `plimsoll upgrade-check --store` finds over the same files, and the
 * API lists them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { UpgradeCheckSummaryView, UpgradeCheckView, UpgradeFindingView } from '../../src/api-types.js'
import { runUpgradeCheck } from '../../src/cli/upgrade-check.js'
import { CLUSTER_TARGET, type DemoEstate, demoEstate } from '../../src/demo/estate.js'
import { lastScanDay } from '../../src/demo/seed.js'
import { demoUpgradeLine, seedUpgradeChecks, type UpgradeSeedSummary } from '../../src/demo/upgrade.js'
import { buildServer } from '../../src/server/app.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { getUpgradeCheck, listUpgradeChecks } from '../../src/store/upgrade-checks.js'
import { objectsOfSource } from '../../src/upgrade/judge.js'
import { tempFiles } from '../helpers/temp-files.js'

const { dir } = tempFiles('plimsoll-demo-upgrade-')
const now = new Date('2026-03-31T12:00:00Z')
const DATA = 'git.example.com/data/deploy'

const brief = (f: UpgradeFindingView) =>
  `${f.impact} ${f.id} ${f.object.kind} ${f.object.namespace}/${f.object.name} ${f.file ?? '-'}:${f.line ?? '-'} -> ${f.replacement}`

describe('the demo estate’s upgrade checks', () => {
  let estate: DemoEstate
  let last: number
  let store: Store
  let summary: UpgradeSeedSummary

  beforeAll(async () => {
    last = lastScanDay(now)
    estate = demoEstate(30, { lastDay: new Date(last).toISOString().slice(0, 10) })
    store = await openStore(join(dir, 'upgrade.db'))
    summary = await seedUpgradeChecks(store, { estate, last })
  }, 30_000)

  afterAll(() => store?.close())
  afterEach(() => vi.restoreAllMocks())

  it('checks every target from the cluster’s v1.32 to v1.33 on the last morning, after the scans', async () => {
    const checks = await listUpgradeChecks(store)
    expect(checks.map((c) => c.target).sort()).toEqual(estate.targets.map((t) => t.target).sort())
    for (const c of checks) {
      expect([c.from, c.to, c.checks]).toEqual(['v1.32', 'v1.33', 1])
      expect(c.checkedAt.slice(0, 16)).toMatch(/^2026-03-31T06:[3-5]\d$/)
    }
    expect(summary).toMatchObject({ checks: 6, from: 'v1.32', to: 'v1.33', changes: 0, deprecated: 0 })
    expect(summary.breaking.sort()).toEqual([DATA, CLUSTER_TARGET])
    expect(demoUpgradeLine(summary)).toMatch(
      /^6 upgrade checks from v1\.32 to v1\.33: 3 breaking \(in git\.example\.com\/data\/deploy, prod-cluster\)/,
    )
  })

  it('finds the data team’s Docker socket and old PodDisruptionBudget, with file, line and replacement', async () => {
    const [data] = await listUpgradeChecks(store, { target: DATA })
    const check = (await getUpgradeCheck(store, data!.id))!
    expect(check.fromSource).toBe('flag')
    expect(check.findings.items.map(brief)).toEqual([
      expect.stringMatching(
        /^breaks policy\/v1beta1 PodDisruptionBudget PodDisruptionBudget analytics\/metabase data\/deploy\/metabase\.yaml:\d+ -> policy\/v1 PodDisruptionBudget$/,
      ),
      expect.stringMatching(
        /^breaks dockershim StatefulSet data-pipeline\/airflow-worker data\/deploy\/airflow-worker\.yaml:\d+ -> .*CRI/,
      ),
    ])
    expect(check.findings.items[0]!.message).toContain('already not served at v1.32')
    // Each line is the field's in the repository's file.
    const sources = estate.inputs(estate.days - 1).find((i) => i.target === DATA)!.sources
    const lineOf = (f: UpgradeFindingView) =>
      sources.find((s) => s.name === f.file)!.text.split('\n')[f.line! - 1]
    expect(lineOf(check.findings.items[0]!)).toBe('apiVersion: policy/v1beta1')
    expect(lineOf(check.findings.items[1]!)).toMatch(/path: \/var\/run\/docker\.sock/)
  })

  it('reads prod-cluster as the live demo cluster serves it: the budget at policy/v1, the socket still there', async () => {
    const [cluster] = await listUpgradeChecks(store, { target: CLUSTER_TARGET })
    const check = (await getUpgradeCheck(store, cluster!.id))!
    expect(check).toMatchObject({ fromSource: 'cluster', clusterVersion: 'v1.32.13', files: 0 })
    expect(check.findings.items.map(brief)).toEqual([
      expect.stringMatching(/^breaks dockershim StatefulSet data-pipeline\/airflow-worker -:- -> /),
    ])
    // The pods the Deployments' ReplicaSets made are judged through their Deployments, as readCluster does.
    const manifests = estate.inputs(estate.days - 1).find((i) => i.target === CLUSTER_TARGET)!.sources
    expect(check.objects).toBe(
      manifests.reduce((n, s) => n + objectsOfSource(s.name, s.text).objects.length, 0),
    )
    // What its discovery serves that v1.33 deprecates: clients of Endpoints should move.
    expect(check.servedAtRisk).toContainEqual({
      apiVersion: 'v1',
      kind: 'Endpoints',
      deprecatedIn: 'v1.33',
      replacement: 'discovery.k8s.io/v1 EndpointSlice',
    })
  })

  it('is what `plimsoll upgrade-check --store` records over the same files', async () => {
    const input = estate.inputs(estate.days - 1).find((i) => i.target === DATA)!
    const root = join(dir, 'repo')
    for (const s of input.sources) {
      mkdirSync(dirname(join(root, s.name)), { recursive: true })
      writeFileSync(join(root, s.name), s.text)
    }
    const db = join(dir, 'cli.db')
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const output = join(dir, 'report.json')
    const code = await runUpgradeCheck(
      input.sources.map((s) => join(root, s.name)),
      {
        format: 'json',
        color: false,
        namespace: [],
        excludeNamespace: [],
        output,
        from: 'v1.32',
        to: 'v1.33',
        store: db,
        target: DATA,
      },
    )
    expect(code).toBe(1)
    const cli = await openStore(db)
    try {
      const [fromCli] = await listUpgradeChecks(cli)
      const [fromDemo] = await listUpgradeChecks(store, { target: DATA })
      const strip = (c: UpgradeCheckSummaryView) => ({ ...c, id: 0, checkedAt: '' })
      expect(strip(fromCli!)).toEqual(strip(fromDemo!))
      const findings = async (s: Store, id: number) =>
        ((await getUpgradeCheck(s, id)) as UpgradeCheckView).findings.items.map((f) => ({
          ...f,
          file: f.file?.replace(`${root}/`, ''),
        }))
      expect(await findings(cli, fromCli!.id)).toEqual(await findings(store, fromDemo!.id))
      expect(JSON.parse(readFileSync(output, 'utf8')).summary).toEqual(fromDemo!.counts)
    } finally {
      await cli.close()
    }
  })

  it('refuses a store that already holds upgrade checks', async () => {
    await expect(seedUpgradeChecks(store, { estate, last })).rejects.toThrow(
      /already holds 6 upgrade check\(s\); the demo's are only seeded into an empty store/,
    )
    expect(await listUpgradeChecks(store)).toHaveLength(6)
  })

  it('is served by the API to anyone who may read', async () => {
    const app = await buildServer({ store, checks: [], frameworks: [], anonymousRead: true })
    try {
      const res = await app.inject({ url: '/api/upgrade-checks' })
      expect(res.statusCode).toBe(200)
      expect((res.json() as UpgradeCheckSummaryView[]).map((c) => c.counts.breaks).sort()).toEqual([
        0, 0, 0, 0, 1, 2,
      ])
    } finally {
      await app.close()
    }
  })
})
