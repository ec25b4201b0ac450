/**
 * The demo's month of usage and cost (src/demo/usage.ts) in a real SQLite store: a snapshot a day per
 * cluster, the OOM-killed ledger's memory recommendation above its OOM memory x 1.2, kafka-connect's
 * savings falling once its team rightsized it, the stored costs equal to costReport's on the same
 * reports, the same store from the same seed and `now`, and the usage API answering over it.
 */
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UsageCost, UsageRightsizing } from '../../src/api-types.js'
import { CLUSTER_TARGET, type DemoEstate, demoEstate, type TargetInput } from '../../src/demo/estate.js'
import { lastScanDay } from '../../src/demo/seed.js'
import {
  clusterWorkloads,
  type DemoUsageDay,
  demoUsageDays,
  demoUsageLine,
  seedUsage,
  USAGE_WINDOW_DAYS,
  type UsageSeedSummary,
} from '../../src/demo/usage.js'
import { USAGE_PROFILES } from '../../src/demo/usage-profiles.js'
import { buildServer } from '../../src/server/app.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { costReport } from '../../src/usage/cost/allocate.js'
import { defaultPriceSheet } from '../../src/usage/cost/prices.js'
import { analyse } from '../../src/usage/output/analysis.js'
import { request } from '../helpers/http.js'
import { tempFiles } from '../helpers/temp-files.js'

const { dir } = tempFiles('plimsoll-demo-usage-')
const now = new Date('2026-03-31T12:00:00Z')
const DAY = 86_400_000
const CLUSTERS = ['edge-cluster', 'prod-cluster']

async function tables(store: Store) {
  const snapshots = await store.db.selectFrom('usage_snapshots').selectAll().orderBy('id').execute()
  const containers = await store.db
    .selectFrom('usage_containers')
    .selectAll()
    .orderBy('snapshot_id')
    .orderBy('namespace')
    .orderBy('workload')
    .orderBy('container')
    .execute()
  const nodes = await store.db
    .selectFrom('usage_nodes')
    .selectAll()
    .orderBy('snapshot_id')
    .orderBy('name')
    .execute()
  return { snapshots, containers, nodes }
}

describe('the demo estate’s usage and cost', () => {
  let estate: DemoEstate
  let last: number
  let inputs: Map<number, TargetInput[]>
  let store: Store
  let summary: UsageSeedSummary
  let days: DemoUsageDay[]

  beforeAll(async () => {
    last = lastScanDay(now)
    estate = demoEstate(30, { lastDay: new Date(last).toISOString().slice(0, 10) })
    // The inputs as seedDemo holds them, scanned already: the seeding is timed without building them.
    inputs = new Map(Array.from({ length: estate.days }, (_, d) => [d, estate.inputs(d)]))
    store = await openStore(join(dir, 'usage.db'))
    summary = await seedUsage(store, { estate, last, inputs: (d) => inputs.get(d)! })
    days = demoUsageDays({ estate, last, inputs: (d) => inputs.get(d)! })
  }, 30_000)

  afterAll(() => store?.close())

  it('records a snapshot a day for 30 days per cluster, each over the 14 days before', async () => {
    const { snapshots } = await tables(store)
    expect(summary.snapshots).toBe(60)
    expect([...summary.clusters].sort()).toEqual(CLUSTERS)
    for (const cluster of CLUSTERS) {
      const mine = snapshots.filter((s) => s.cluster === cluster)
      expect(mine).toHaveLength(30)
      const taken = mine.map((s) => Date.parse(s.taken_at))
      for (let i = 1; i < taken.length; i++) expect(taken[i]! - taken[i - 1]!).toBe(DAY)
      expect(taken.at(-1)!).toBeLessThanOrEqual(now.getTime())
      expect(new Date(taken.at(-1)!).toISOString().slice(0, 10)).toBe('2026-03-31')
      for (const s of mine) {
        expect(s.window_hours).toBe(USAGE_WINDOW_DAYS * 24)
        expect(s.strategy).toBe('simple')
        expect(JSON.parse(s.gaps)).toEqual([])
        expect(s.node_cost).toBeGreaterThan(0)
        expect(s.idle_cost).toBeGreaterThan(0)
        expect(s.cpu_requested).toBeLessThan(s.cpu_allocatable!)
        expect(s.memory_requested).toBeLessThan(s.memory_allocatable!)
      }
    }
    // Tens of containers, every workload of the day's prod-cluster manifests, of the five teams.
    const lastProd = days.at(-1)!.reports.find((r) => r.cluster === 'prod-cluster')!
    const cluster = inputs.get(29)!.find((i) => i.target === CLUSTER_TARGET)!
    expect(lastProd.containers).toHaveLength(clusterWorkloads(cluster).length)
    expect(lastProd.containers.length).toBeGreaterThanOrEqual(20)
    expect(new Set(lastProd.containers.map((c) => c.team))).toEqual(
      new Set(['payments', 'shop', 'search', 'data', 'platform']),
    )
    expect(summary.latest.containers).toBe(days.at(-1)!.reports.reduce((a, r) => a + r.containers.length, 0))
    expect(demoUsageLine(summary)).toMatch(
      /^60 snapshots of prod-cluster and edge-cluster, a day apart over 30 days: \d+ containers on \d+ nodes, \$[\d,]+\.\d\d\/month/,
    )
  })

  it('has nodes of two instance types, some spot, requested as the sum of their pods’ requests', () => {
    for (const { reports } of days) {
      for (const r of reports) {
        expect(new Set(r.nodes.map((n) => n.instanceType))).toEqual(
          r.cluster === 'prod-cluster' ? new Set(['m5.xlarge', 'm5.2xlarge']) : new Set(['m5.xlarge']),
        )
        expect(r.nodes.some((n) => n.capacityType === 'spot')).toBe(true)
        // Each running pod's requests once (a DaemonSet's on every node), CronJobs done by the collection.
        const pods = r.containers
          .filter((c) => c.workload.kind !== 'CronJob')
          .reduce((a, c) => a + (c.cpu.request ?? 0) * c.maxReplicas, 0)
        const requested = r.nodes.reduce((a, n) => a + n.requested.cpu, 0)
        expect(requested).toBeCloseTo(pods, 9)
        for (const n of r.nodes) expect(n.requested.cpu).toBeLessThanOrEqual(n.allocatable.cpu)
      }
    }
  })

  it('is mostly over-provisioned, with the frontend scaled by its HPA and the CronJobs run daily', () => {
    const prod = days.at(-1)!.reports.find((r) => r.cluster === 'prod-cluster')!
    const withRequests = prod.containers.filter((c) => c.cpu.request !== undefined && c.cpu.usage)
    const over = withRequests.filter((c) => c.cpu.usage!.p50 / c.cpu.request! <= 0.3)
    expect(over.length / withRequests.length).toBeGreaterThan(0.6)
    const frontend = prod.containers.find((c) => c.workload.name === 'frontend')!
    expect(frontend.hpa?.resources).toEqual(['cpu'])
    expect(frontend.maxReplicas).toBeGreaterThan(frontend.hpa!.minReplicas)
    expect(frontend.runningSeconds / (USAGE_WINDOW_DAYS * 86_400)).toBeGreaterThan(frontend.hpa!.minReplicas)
    const cron = prod.containers.filter((c) => c.workload.kind === 'CronJob')
    expect(cron.length).toBeGreaterThanOrEqual(3)
    for (const c of cron) expect(c.runningSeconds).toBeLessThan(USAGE_WINDOW_DAYS * 86_400)
  })

  it('recommends the OOM-killed ledger at least its OOM memory x 1.2, and its team raised it', async () => {
    const killed = days.filter(({ reports }) =>
      reports.some((r) => r.containers.some((c) => c.workload.name === 'ledger' && c.oomKills.length > 0)),
    )
    expect(killed.length).toBe(USAGE_WINDOW_DAYS)
    const { snapshots, containers } = await tables(store)
    for (const d of killed) {
      const report = d.reports.find((r) => r.cluster === 'prod-cluster')!
      const ledger = report.containers.find((c) => c.workload.name === 'ledger')!
      const oom = ledger.oomKills[0]!.memory
      const rec = analyse(report, { strategy: 'simple', prices: defaultPriceSheet() }).recommendations[
        report.containers.indexOf(ledger)
      ]!
      expect(rec.memory.request!).toBeGreaterThanOrEqual(oom * 1.2)
      // ... and so is what the store holds.
      const snapshot = snapshots.find((s) => s.cluster === 'prod-cluster' && s.taken_at === d.takenAt)!
      const row = containers.find((c) => c.snapshot_id === snapshot.id && c.workload === 'ledger')!
      expect(row.rec_memory_request!).toBeGreaterThanOrEqual(oom * 1.2)
      expect(row.restarts).toBe(1)
    }
    const requests = days.map(
      (d) =>
        d.reports
          .find((r) => r.cluster === 'prod-cluster')!
          .containers.find((c) => c.workload.name === 'ledger')!.memory.request!,
    )
    const raisedOn = USAGE_PROFILES['payments/ledger']!.changes![0]!.day
    expect(requests[raisedOn]!).toBeGreaterThan(requests[raisedOn - 1]!)
    expect(requests.at(-1)!).toBe(requests[raisedOn]!)
  })

  it('shows kafka-connect’s savings shrink once its team rightsized it', async () => {
    const { snapshots, containers } = await tables(store)
    const rows = snapshots
      .filter((s) => s.cluster === 'prod-cluster')
      .map((s) => containers.find((c) => c.snapshot_id === s.id && c.workload === 'kafka-connect')!)
    const on = USAGE_PROFILES['data-pipeline/kafka-connect']!.changes![0]!.day
    const before = rows.slice(0, on)
    const after = rows.slice(on)
    expect(Math.min(...before.map((r) => r.savings!))).toBeGreaterThan(
      5 * Math.max(...after.map((r) => r.savings!)),
    )
    expect(Math.max(...after.map((r) => r.cpu_request!))).toBeLessThan(
      Math.min(...before.map((r) => r.cpu_request!)),
    )
    // The whole cluster's savings fall with it: the trend shows the progress.
    const prod = snapshots.filter((s) => s.cluster === 'prod-cluster')
    expect(prod[on]!.savings).toBeLessThan(prod[on - 1]!.savings)
    expect(summary.latest.savings).toBeLessThan(summary.first.savings)
  })

  it('stores the costs costReport gives on the same reports', async () => {
    const { snapshots } = await tables(store)
    const sheet = defaultPriceSheet()
    for (const d of days) {
      for (const report of d.reports) {
        const costs = costReport(sheet, report.containers, report.nodes)
        const s = snapshots.find((x) => x.cluster === report.cluster && x.taken_at === d.takenAt)!
        const cluster = costs.clusters.find((c) => c.cluster === report.cluster)!
        expect(s.node_cost!).toBeCloseTo(cluster.nodeCost.total, 9)
        expect(s.workload_cost).toBeCloseTo(cluster.cost.total, 9)
        expect(s.idle_cost!).toBeCloseTo(cluster.idle!.total, 9)
        expect(s.containers).toBe(report.containers.length)
      }
    }
  })

  it('is deterministic: the same seed and now give the same store', async () => {
    const other = await openStore(join(dir, 'again.db'))
    try {
      await seedUsage(other, { estate, last, inputs: (d) => inputs.get(d)! })
      expect(await tables(other)).toEqual(await tables(store))
    } finally {
      await other.close()
    }
  })

  it('refuses a store that already holds usage snapshots', async () => {
    await expect(seedUsage(store, { estate, last, inputs: (d) => inputs.get(d)! })).rejects.toThrow(
      /already holds 60 usage snapshot\(s\)/,
    )
    expect((await tables(store)).snapshots).toHaveLength(60)
  })

  describe('the usage API over it', () => {
    let app: FastifyInstance
    let base: string

    beforeAll(async () => {
      app = await buildServer({ store, checks: [], frameworks: [], anonymousRead: true })
      base = await app.listen({ host: '127.0.0.1', port: 0 })
    })
    afterAll(() => app?.close())

    it('answers /api/usage/cost with the teams’ costs, idle and the month’s trend', async () => {
      const r = await request(base, '/api/usage/cost?by=team')
      expect(r.status).toBe(200)
      const cost = r.body as unknown as UsageCost
      expect(cost.totals.nodes).toBeCloseTo(summary.latest.cost, 6)
      expect(cost.totals.idle).toBeCloseTo(summary.latest.idle, 6)
      expect(cost.totals.savings).toBeCloseTo(summary.latest.savings, 6)
      expect(cost.groups.map((g) => g.key).sort()).toEqual(['data', 'payments', 'platform', 'search', 'shop'])
      expect(cost.trend).toHaveLength(60)
      const byNs = (await request(base, '/api/usage/cost?cluster=prod-cluster')).body as unknown as UsageCost
      expect(byNs.groups.map((g) => g.key)).toContain('data-pipeline')
    })

    it('answers /api/usage/rightsizing with each container’s evidence and recommendation', async () => {
      const r = await request(base, '/api/usage/rightsizing?cluster=prod-cluster&limit=100')
      expect(r.status).toBe(200)
      const body = r.body as unknown as UsageRightsizing
      expect(body.total).toBe(
        days.at(-1)!.reports.find((x) => x.cluster === 'prod-cluster')!.containers.length,
      )
      const kafka = body.items.find((i) => i.workload === 'kafka-connect')!
      expect(kafka.confidence).toBe('high')
      expect(kafka.team).toBe('data')
      const ledger = (await request(base, '/api/usage/rightsizing?workload=ledger'))
        .body as unknown as UsageRightsizing
      expect(ledger.items).toHaveLength(1)
    })
  })
})
