/**
 * Usage snapshots in the store (src/store/usage.ts), on SQLite and PostgreSQL, over snapshots made by
 * the real recommenders and cost model (test/helpers/usage-snapshots.ts): the totals (checked by hand
 * arithmetic and against the cost module's own figures), the latest containers with their evidence and
 * filters, the trends per cluster and namespace, the cost per team and namespace, a partial report's
 * gaps, one transaction (a failure leaves nothing), pruning, and a snapshot of 10,000 containers.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../../src/store/connect.js'
import {
  latestContainers,
  latestUsageSnapshots,
  listUsageSnapshots,
  pruneUsageSnapshots,
  recordUsageSnapshot,
  snapshotCostGroups,
  snapshotNamespaces,
  snapshotNodes,
  usageClusters,
  utilisationTrend,
} from '../../src/store/usage.js'
import { costReport } from '../../src/usage/cost/allocate.js'
import { defaultPriceSheet } from '../../src/usage/cost/prices.js'
import { recommendAll } from '../../src/usage/recommend/index.js'
import type { ContainerUsage, UsageReport } from '../../src/usage/types.js'
import { freshDatabase } from '../helpers/postgres.js'
import { tempFiles } from '../helpers/temp-files.js'
import {
  type FilledUsage,
  fillUsageStore,
  GIB,
  MIB,
  prodReport,
  STAGING_GAPS,
  WEEK,
} from '../helpers/usage-snapshots.js'

const { dir } = tempFiles('plimsoll-store-usage-')

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => join(dir, `usage-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', () => freshDatabase('store_usage')],
]

const HOURS = 168
const month = (window: number) => (window / HOURS) * 730

describe.each(backends)('usage snapshots in the store (%s)', (_name, location) => {
  let store: Store
  let filled: FilledUsage

  beforeAll(async () => {
    store = await openStore(await location())
    expect(await listUsageSnapshots(store)).toEqual([])
    expect(await latestContainers(store)).toEqual({ snapshots: [], total: 0, items: [] })
    expect(await utilisationTrend(store)).toEqual([])
    filled = await fillUsageStore(store)
  })
  afterAll(async () => {
    await store?.close()
  })

  it('lists the snapshots newest first, per cluster, with their totals', async () => {
    const all = await listUsageSnapshots(store)
    expect(all.map((s) => [s.cluster, s.id])).toEqual([
      ['prod', filled.prodNew.id],
      ['staging', filled.staging.id],
      ['prod', filled.prodOld.id],
    ])
    expect((await listUsageSnapshots(store, { cluster: 'prod' })).map((s) => s.id)).toEqual([
      filled.prodNew.id,
      filled.prodOld.id,
    ])
    expect(await usageClusters(store)).toEqual(['prod', 'staging'])

    const prod = all[0]!
    expect(prod).toMatchObject({
      takenAt: filled.prodNew.takenAt,
      from: filled.prodNew.report.from,
      to: filled.prodNew.report.to,
      windowHours: HOURS,
      strategy: 'simple',
      currency: 'USD',
      partial: false,
      gaps: [],
      containers: 5,
      nodes: 3,
    })
    // Requested: checkout 4 pods x 1 core, cart-redis 0.25, ledger 2 x 0.5, node-exporter 3 x 0.1, and
    // the CronJob's 2 cores for 2 of the window's 168 hours.
    expect(prod.cpu.requested).toBeCloseTo(4 + 0.25 + 1 + 0.3 + 2 * (2 / HOURS), 9)
    // Used: the means x the pods (checkout's load 1.2 x 0.22).
    expect(prod.cpu.used).toBeCloseTo(4 * 0.264 + 0.06 + 2 * 0.32 + 3 * 0.012 + 1.2 * (2 / HOURS), 9)
    expect(prod.cpu.allocatable).toBeCloseTo(3 * 3.92, 9)
    expect(prod.cpu.capacity).toBe(12)
    expect(prod.memory.allocatable).toBe(45 * GIB)
    expect(prod.memory.requested).toBeCloseTo(
      4 * 2 * GIB + GIB + 2 * 512 * MIB + 3 * 64 * MIB + 4 * GIB * (2 / HOURS),
      0,
    )
    // Nodes: OpenCost's default on-demand prices, capacity x hours: 3 x (4 x 0.031611 + 16 x 0.004237) x 168.
    const nodeCost = 3 * (4 * 0.031611 + 16 * 0.004237) * HOURS
    expect(prod.cost.nodes!.window).toBeCloseTo(nodeCost, 9)
    expect(prod.cost.nodes!.monthly).toBeCloseTo(month(nodeCost), 9)
    const costs = filled.prodNew.costs
    expect(prod.cost.workloads.window).toBeCloseTo(costs.total.workloadCost.total, 9)
    expect(prod.cost.idle!.window).toBeCloseTo(nodeCost - costs.total.workloadCost.total, 9)
    expect(prod.cost.waste.window).toBeCloseTo(filled.prodNew.waste.total.waste.total, 9)
    expect(prod.cost.savings.monthly).toBeCloseTo(filled.prodNew.waste.total.savingsMonthly.total, 9)
    expect(prod.cost.savings.window).toBeGreaterThan(0)

    // The bin-packing view: the nodes as the report had them, each with its cost.
    const nodes = await snapshotNodes(store, [prod])
    expect(nodes.map((n) => n.name)).toEqual(['ip-10-0-1-11', 'ip-10-0-2-12', 'ip-10-0-3-13'])
    expect(nodes[0]).toMatchObject({
      instanceType: 'm5.xlarge',
      allocatable: { cpu: 3.92, memory: 15 * GIB },
      requested: { cpu: 2.2, memory: 4 * GIB },
    })
    expect(nodes[0]!.cost.window).toBeCloseTo(nodeCost / 3, 9)
  })

  it("keeps a partial report's gaps, with no node figures where none were read", async () => {
    const [staging] = await latestUsageSnapshots(store, { cluster: 'staging' })
    expect(staging).toMatchObject({ partial: true, gaps: STAGING_GAPS, nodes: 0, containers: 2 })
    expect(staging!.cpu.allocatable).toBeNull()
    expect(staging!.cost.nodes).toBeNull()
    expect(staging!.cost.idle).toBeNull()
    // No requests were read: the used figures stand alone.
    expect(staging!.cpu.requested).toBe(0)
    expect(staging!.cpu.used).toBeGreaterThan(0)
  })

  it("reads the latest snapshots' containers with their evidence, filtered, most savings first", async () => {
    const all = await latestContainers(store, { cluster: 'prod' })
    expect(all.snapshots.map((s) => s.id)).toEqual([filled.prodNew.id])
    expect(all.total).toBe(5)
    // Most monthly savings first; the held CronJob saves nothing it is sure of, so near the end.
    const savings = all.items.map((r) => r.savings?.monthly ?? Number.NEGATIVE_INFINITY)
    expect(savings).toEqual([...savings].sort((a, b) => b - a))
    const checkout = all.items[0]!
    expect(checkout).toMatchObject({
      cluster: 'prod',
      namespace: 'shop',
      kind: 'Deployment',
      workload: 'checkout',
      container: 'app',
      team: 'storefront',
      pods: 4,
      strategy: 'simple',
      confidence: 'high',
      skipped: null,
    })
    const rec = filled.prodNew.recommendations.find((r) => r.workload.name === 'checkout')!
    expect(checkout.cpu).toMatchObject({
      request: 1,
      limit: 2,
      usage: { p50: 0.2 * 1.2, p95: 0.35 * 1.2, p99: 0.42 * 1.2, max: 0.6 * 1.2, mean: 0.22 * 1.2 },
      recommended: { request: rec.cpu.request, limit: null },
      reasons: [...rec.cpu.reasons],
    })
    expect(checkout.cpu.recommended.request).toBeCloseTo(0.42, 9) // p95 0.35 x 1.2
    expect(checkout.memory.recommended.request).toBe(Math.ceil((800 * 1.15 * MIB) / MIB) * MIB) // peak + 15%
    const w = filled.prodNew.waste.containers.find((c) => c.workload.name === 'checkout')!
    expect(checkout.savings!.monthly).toBeCloseTo(w.savingsMonthly.total, 9)
    expect(checkout.waste!.window).toBeCloseTo(w.waste.total, 9)

    // The OOM-killed ledger: its kill, its HPA, memory raised above the limit it was killed at.
    const [ledger] = (await latestContainers(store, { workload: 'ledger' })).items
    expect(ledger).toMatchObject({ hpa: ['cpu'], restarts: 1, oomKills: [{ memory: 512 * MIB }] })
    expect(ledger!.memory.recommended.request!).toBeGreaterThanOrEqual(512 * MIB * 1.2)
    expect(ledger!.savings!.window).toBeLessThan(0)

    // Filters: namespace, team (none: `__unallocated__`), workload, confidence, and both clusters.
    expect(
      (await latestContainers(store, { namespace: 'shop' })).items.map((r) => r.workload).sort(),
    ).toEqual(['cart-redis', 'cart-redis', 'checkout', 'checkout'])
    expect((await latestContainers(store, { cluster: 'prod', team: 'storefront' })).total).toBe(2)
    expect((await latestContainers(store, { team: '__unallocated__' })).items.map((r) => r.workload)).toEqual(
      ['node-exporter'],
    )
    const low = await latestContainers(store, { confidence: 'low' })
    expect(low.items.map((r) => r.workload)).toEqual(['nightly-report'])
    expect(low.items[0]!.cpu.reasons.join(' ')).toMatch(/fewer than 100/)
    expect((await latestContainers(store)).total).toBe(7)
    const page = await latestContainers(store, { limit: 2, offset: 2 })
    expect(page.items.map((r) => `${r.cluster}/${r.workload}/${r.container}`)).toEqual(
      (await latestContainers(store)).items
        .slice(2, 4)
        .map((r) => `${r.cluster}/${r.workload}/${r.container}`),
    )
  })

  it('gives requested vs used vs allocatable per snapshot, per cluster and per namespace, oldest first', async () => {
    const [prod, staging] = await utilisationTrend(store)
    expect(prod!.cluster).toBe('prod')
    expect(prod!.points.map((p) => p.snapshotId)).toEqual([filled.prodOld.id, filled.prodNew.id])
    expect(prod!.points[0]!.cpu.requested).toBeCloseTo(3 + 0.25 + 1 + 0.3 + 2 * (2 / HOURS), 9)
    expect(prod!.points[1]!.cpu.allocatable).toBeCloseTo(11.76, 9)
    expect(staging!.points.map((p) => p.partial)).toEqual([true])

    const shop = await utilisationTrend(store, { cluster: 'prod', namespace: 'shop' })
    expect(shop).toHaveLength(1)
    expect(shop[0]!.namespace).toBe('shop')
    expect(shop[0]!.points.map((p) => p.cpu.requested)).toEqual([3.25, 4.25])
    expect(shop[0]!.points[1]!.cpu.allocatable).toBeNull()
    expect(shop[0]!.points[1]!.memory.requested).toBeCloseTo(4 * 2 * GIB + GIB, 0)

    const recent = await utilisationTrend(store, { cluster: 'prod', since: filled.prodNew.takenAt })
    expect(recent[0]!.points.map((p) => p.snapshotId)).toEqual([filled.prodNew.id])

    const namespaces = await snapshotNamespaces(store, await latestUsageSnapshots(store, { cluster: 'prod' }))
    expect(namespaces.map((n) => n.namespace)).toEqual(['shop', 'payments', 'monitoring', 'batch'])
  })

  it('sums the cost per team and namespace as the cost module does', async () => {
    const teams = await snapshotCostGroups(store, [filled.prodNew.id], 'team')
    const costs = filled.prodNew.costs
    expect(teams.map((t) => t.key).sort()).toEqual(costs.teams.map((t) => t.team).sort())
    for (const t of costs.teams)
      expect(teams.find((r) => r.key === t.team)!.cost).toBeCloseTo(t.cost.total, 9)
    for (const t of filled.prodNew.waste.teams)
      expect(teams.find((r) => r.key === t.team)!.savings).toBeCloseTo(t.savings.total, 9)
    const namespaces = await snapshotCostGroups(store, [filled.prodNew.id], 'namespace')
    for (const n of costs.namespaces)
      expect(namespaces.find((r) => r.key === n.namespace)!.cost).toBeCloseTo(n.cost.total, 9)
  })

  it('records a snapshot in one transaction: a failure part-way leaves nothing', async () => {
    const before = await listUsageSnapshots(store, { limit: 1000 })
    const report = prodReport(filled.now, 1, 1)
    // Two nodes of one name: the nodes' insert fails after the snapshot and its containers went in.
    const broken: UsageReport = {
      ...report,
      cluster: 'broken',
      containers: [],
      nodes: [report.nodes[0]!, report.nodes[0]!].map((n) => ({ ...n, cluster: 'broken' })),
    }
    const costs = costReport(defaultPriceSheet(), broken.containers, broken.nodes)
    await expect(
      recordUsageSnapshot(store, { report: broken, recommendations: [], strategy: 'simple', costs }),
    ).rejects.toThrow()
    expect(await listUsageSnapshots(store, { limit: 1000 })).toEqual(before)
    await expect(
      recordUsageSnapshot(store, {
        report: { ...report, to: report.from },
        recommendations: [],
        strategy: 'simple',
        costs,
      }),
    ).rejects.toThrow(/window must end after it starts/)
  })

  it("prunes old snapshots with their rows, never a cluster's latest", async () => {
    const pruned = await pruneUsageSnapshots(store, { before: new Date(filled.now + WEEK).toISOString() })
    expect(pruned).toBe(1)
    expect((await listUsageSnapshots(store)).map((s) => s.id)).toEqual([filled.prodNew.id, filled.staging.id])
    expect(
      await snapshotNodes(store, [
        { ...(await latestUsageSnapshots(store, { cluster: 'prod' }))[0]!, id: filled.prodOld.id },
      ]),
    ).toEqual([])
    expect(await snapshotCostGroups(store, [filled.prodOld.id], 'team')).toEqual([])
    expect(await pruneUsageSnapshots(store, { before: new Date(filled.now + WEEK).toISOString() })).toBe(0)
  })

  // How long it takes is bench/usage-store.mjs's to say, not a test's.
  it('records 10,000 containers and 500 nodes in one snapshot, and reads them back by namespace', async () => {
    const base = prodReport(filled.now, 3, 1)
    const template = base.containers[0]!
    const containers: ContainerUsage[] = Array.from({ length: 10_000 }, (_, i) => ({
      ...template,
      workload: { ...template.workload, cluster: 'big', namespace: `ns-${i % 200}`, name: `app-${i}` },
      team: `team-${i % 25}`,
    }))
    const report: UsageReport = {
      ...base,
      cluster: 'big',
      containers,
      nodes: Array.from({ length: 500 }, (_, i) => ({
        ...base.nodes[0]!,
        cluster: 'big',
        name: `node-${i}`,
      })),
    }
    const recommendations = recommendAll(containers, 'simple', { now: new Date(report.to) })
    const costs = costReport(defaultPriceSheet(), containers, report.nodes)
    const { id } = await recordUsageSnapshot(store, { report, recommendations, strategy: 'simple', costs })
    const read = await latestContainers(store, { cluster: 'big', namespace: 'ns-7', limit: 500 })
    expect(read.total).toBe(50)
    expect((await latestUsageSnapshots(store, { cluster: 'big' }))[0]).toMatchObject({
      id,
      containers: 10_000,
      nodes: 500,
    })
  })
})
