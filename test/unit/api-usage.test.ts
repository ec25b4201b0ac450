/**
 * The usage API (src/server/api/usage.ts) over HTTP, on SQLite and PostgreSQL, over snapshots recorded
 * from synthetic reports through the real recommenders and cost model (test/helpers/usage-snapshots.ts):
 * the snapshots, utilisation per cluster and namespace, the rightsizing list with its evidence and
 * filters, the cost per namespace and team with the trend; an empty store; 401 without a token; 400
 * for bad parameters; the routes in the OpenAPI document.
 */
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UsageCost, UsageRightsizing, UsageSnapshotView, UsageUtilisation } from '../../src/api-types.js'
import { buildServer } from '../../src/server/app.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import { request } from '../helpers/http.js'
import { freshDatabase } from '../helpers/postgres.js'
import { tempFiles } from '../helpers/temp-files.js'
import { type FilledUsage, fillUsageStore, GIB, STAGING_GAPS } from '../helpers/usage-snapshots.js'

const { dir } = tempFiles('plimsoll-api-usage-')

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => join(dir, `usage-api-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', () => freshDatabase('usage_api')],
]

const HOURS = 168
const month = (window: number) => (window / HOURS) * 730
const ROUTES = ['/api/usage/snapshots', '/api/usage/utilisation', '/api/usage/rightsizing', '/api/usage/cost']

describe.each(backends)('the usage API (%s)', (_name, location) => {
  let store: Store
  let emptyStore: Store
  let app: FastifyInstance
  let emptyApp: FastifyInstance
  let base: string
  let emptyBase: string
  let viewer: string
  let filled: FilledUsage
  const get = async <T>(path: string, at = base) => {
    // The empty store's server reads anonymously (its store has no tokens).
    const r = await request(at, path, at === base ? { token: viewer } : {})
    return { status: r.status, body: r.body as unknown as T }
  }

  beforeAll(async () => {
    store = await openStore(await location())
    filled = await fillUsageStore(store)
    viewer = (await createToken(store, 'val-viewer', { role: 'viewer' })).token
    app = await buildServer({ store, checks: [], frameworks: [] })
    base = await app.listen({ host: '127.0.0.1', port: 0 })
    emptyStore = await openStore(await location())
    emptyApp = await buildServer({ store: emptyStore, checks: [], frameworks: [], anonymousRead: true })
    emptyBase = await emptyApp.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => {
    await app?.close()
    await emptyApp?.close()
    await store?.close()
    await emptyStore?.close()
  })

  it('answers 401 without a token, and is in the OpenAPI document', async () => {
    for (const path of ROUTES) {
      const r = await request(base, path)
      expect(r.status, path).toBe(401)
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="plimsoll"')
    }
    const doc = await request(base, '/api/openapi.json')
    const paths = doc.body.paths as Record<string, { get?: { tags: string[] } }>
    for (const path of ROUTES) expect(paths[path]?.get?.tags, path).toEqual(['usage'])
  })

  it('answers an empty store with nothing, not an error', async () => {
    expect((await get('/api/usage/snapshots', emptyBase)).body).toEqual([])
    expect((await get('/api/usage/utilisation', emptyBase)).body).toEqual({
      series: [],
      latest: [],
      nodes: [],
      namespaces: [],
    })
    expect((await get('/api/usage/rightsizing', emptyBase)).body).toEqual({
      snapshots: [],
      total: 0,
      limit: 100,
      offset: 0,
      items: [],
    })
    const cost = await get<UsageCost>('/api/usage/cost?by=team', emptyBase)
    expect(cost.body).toEqual({
      by: 'team',
      currency: 'USD',
      snapshots: [],
      totals: { nodes: null, workloads: 0, idle: null, waste: 0, savings: 0 },
      groups: [],
      trend: [],
    })
  })

  it('lists the snapshots newest first, by cluster, with their gaps', async () => {
    const all = await get<UsageSnapshotView[]>('/api/usage/snapshots')
    expect(all.status).toBe(200)
    expect(all.body.map((s) => s.id)).toEqual([filled.prodNew.id, filled.staging.id, filled.prodOld.id])
    const prod = await get<UsageSnapshotView[]>('/api/usage/snapshots?cluster=prod')
    expect(prod.body.map((s) => s.takenAt)).toEqual([filled.prodNew.takenAt, filled.prodOld.takenAt])
    const nodeCost = 3 * (4 * 0.031611 + 16 * 0.004237) * HOURS
    expect(prod.body[0]).toMatchObject({
      cluster: 'prod',
      windowHours: HOURS,
      strategy: 'simple',
      partial: false,
      gaps: [],
      containers: 5,
      nodes: 3,
      cpu: { capacity: 12 },
    })
    expect(prod.body[0]!.cost.nodes!.monthly).toBeCloseTo(month(nodeCost), 6)
    const staging = await get<UsageSnapshotView[]>('/api/usage/snapshots?cluster=staging')
    expect(staging.body[0]).toMatchObject({ partial: true, gaps: STAGING_GAPS, nodes: 0 })
    expect(staging.body[0]!.cost.idle).toBeNull()
    expect((await get<UsageSnapshotView[]>('/api/usage/snapshots?limit=1')).body).toHaveLength(1)
    expect((await get<UsageSnapshotView[]>('/api/usage/snapshots?cluster=nowhere')).body).toEqual([])
  })

  it('gives requested vs used vs allocatable over time, per cluster and per namespace', async () => {
    const all = await get<UsageUtilisation>('/api/usage/utilisation')
    expect(all.body.series.map((s) => [s.cluster, s.points.length])).toEqual([
      ['prod', 2],
      ['staging', 1],
    ])
    const prod = all.body.series[0]!.points
    expect(prod.map((p) => p.takenAt)).toEqual([filled.prodOld.takenAt, filled.prodNew.takenAt])
    expect(prod[1]!.cpu.requested).toBeCloseTo(5.55 + 2 * (2 / HOURS), 9)
    expect(prod[1]!.cpu.allocatable).toBeCloseTo(11.76, 9)
    expect(prod[1]!.memory.allocatable).toBe(45 * GIB)
    expect(all.body.series[1]!.points[0]!.partial).toBe(true)
    expect(all.body.latest.map((s) => s.cluster)).toEqual(['prod', 'staging'])
    expect(all.body.nodes.map((n) => `${n.cluster}/${n.name}`)).toEqual([
      'prod/ip-10-0-1-11',
      'prod/ip-10-0-2-12',
      'prod/ip-10-0-3-13',
    ])

    const shop = await get<UsageUtilisation>('/api/usage/utilisation?cluster=prod&namespace=shop')
    expect(shop.body.series).toHaveLength(1)
    expect(shop.body.series[0]!.namespace).toBe('shop')
    expect(shop.body.series[0]!.points.map((p) => [p.cpu.requested, p.cpu.allocatable])).toEqual([
      [3.25, null],
      [4.25, null],
    ])
    expect(shop.body.namespaces.map((n) => n.namespace)).toEqual(['shop'])
    expect(shop.body.namespaces[0]!.containers).toBe(2)

    const recent = await get<UsageUtilisation>(
      `/api/usage/utilisation?cluster=prod&since=${encodeURIComponent(filled.prodNew.takenAt)}`,
    )
    expect(recent.body.series[0]!.points).toHaveLength(1)
  })

  it('lists the recommendations with their evidence, filtered, most savings first', async () => {
    const prod = await get<UsageRightsizing>('/api/usage/rightsizing?cluster=prod')
    expect(prod.status).toBe(200)
    expect(prod.body.total).toBe(5)
    expect(prod.body.snapshots.map((s) => s.id)).toEqual([filled.prodNew.id])
    const first = prod.body.items[0]!
    expect(first).toMatchObject({
      namespace: 'shop',
      workload: 'checkout',
      container: 'app',
      team: 'storefront',
      confidence: 'high',
      cpu: { request: 1, limit: 2, usage: { p95: 0.35 * 1.2, max: 0.6 * 1.2 } },
    })
    expect(first.cpu.recommended.request).toBeCloseTo(0.42, 9)
    expect(first.cpu.reasons.join(' ')).toMatch(/p95/)
    expect(first.memory.usage!.p99).toBe(750 * 1024 * 1024)
    const w = filled.prodNew.waste.containers.find((c) => c.workload.name === 'checkout')!
    expect(first.savings!.monthly).toBeCloseTo(w.savingsMonthly.total, 9)
    const savings = prod.body.items.map((r) => r.savings?.monthly ?? Number.NEGATIVE_INFINITY)
    expect(savings).toEqual([...savings].sort((a, b) => b - a))

    const ledger = await get<UsageRightsizing>('/api/usage/rightsizing?workload=ledger')
    expect(ledger.body.items[0]).toMatchObject({ hpa: ['cpu'], oomKills: [{ memory: 512 * 1024 * 1024 }] })

    const storefront = await get<UsageRightsizing>('/api/usage/rightsizing?team=storefront&cluster=prod')
    expect(storefront.body.items.map((r) => r.workload).sort()).toEqual(['cart-redis', 'checkout'])
    const unlabelled = await get<UsageRightsizing>('/api/usage/rightsizing?team=__unallocated__')
    expect(unlabelled.body.items.map((r) => r.workload)).toEqual(['node-exporter'])
    const low = await get<UsageRightsizing>('/api/usage/rightsizing?confidence=low')
    expect(low.body.items.map((r) => [r.workload, r.history.samples])).toEqual([['nightly-report', 24]])
    const shop = await get<UsageRightsizing>('/api/usage/rightsizing?namespace=shop')
    expect(shop.body.total).toBe(4)
    expect(new Set(shop.body.items.map((r) => r.cluster))).toEqual(new Set(['prod', 'staging']))
    const page = await get<UsageRightsizing>('/api/usage/rightsizing?limit=2&offset=1')
    expect(page.body).toMatchObject({ total: 7, limit: 2, offset: 1 })
    expect(page.body.items).toHaveLength(2)

    for (const bad of ['confidence=certain', 'limit=0', 'limit=501', 'offset=-1', 'colour=red'])
      expect((await get(`/api/usage/rightsizing?${bad}`)).status, bad).toBe(400)
  })

  it('gives the cost per namespace and team with idle, waste, savings and the trend', async () => {
    const byNs = await get<UsageCost>('/api/usage/cost?cluster=prod')
    expect(byNs.status).toBe(200)
    expect(byNs.body.by).toBe('namespace')
    const costs = filled.prodNew.costs
    expect(byNs.body.totals.workloads).toBeCloseTo(month(costs.total.workloadCost.total), 9)
    expect(byNs.body.totals.idle).toBeCloseTo(month(costs.total.idle.total), 9)
    expect(byNs.body.totals.savings).toBeCloseTo(filled.prodNew.waste.total.savingsMonthly.total, 9)
    // Most cost first; the groups add up to the workloads.
    const monthlies = byNs.body.groups.map((g) => g.cost.monthly)
    expect(monthlies).toEqual([...monthlies].sort((a, b) => b - a))
    expect(monthlies.reduce((a, b) => a + b, 0)).toBeCloseTo(byNs.body.totals.workloads, 9)
    expect(byNs.body.groups[0]).toMatchObject({ key: 'shop', cluster: 'prod', containers: 2 })
    // The trend: both prod snapshots, oldest first; checkout's fourth pod raised shop's cost.
    expect(byNs.body.trend.map((t) => t.snapshotId)).toEqual([filled.prodOld.id, filled.prodNew.id])
    const shopCost = byNs.body.trend.map((t) => t.groups.find((g) => g.key === 'shop')!.cost)
    expect(shopCost[1]!).toBeGreaterThan(shopCost[0]!)

    const byTeam = await get<UsageCost>('/api/usage/cost?by=team')
    expect(byTeam.body.snapshots.map((s) => s.cluster)).toEqual(['prod', 'staging'])
    const storefront = byTeam.body.groups.find((g) => g.key === 'storefront')!
    const prodTeam = costs.teams.find((t) => t.team === 'storefront')!
    const stagingTeam = filled.staging.costs.teams.find((t) => t.team === 'storefront')!
    expect(storefront.cluster).toBeNull()
    expect(storefront.cost.monthly).toBeCloseTo(month(prodTeam.cost.total) + month(stagingTeam.cost.total), 9)
    expect(byTeam.body.groups.map((g) => g.key)).toContain('__unallocated__')
    // Staging has no nodes: the nodes' and idle totals are prod's alone.
    expect(byTeam.body.totals.idle).toBeCloseTo(month(costs.total.idle.total), 9)
    expect(byTeam.body.trend.map((t) => t.cluster)).toEqual(['prod', 'staging', 'prod'])
    expect(byTeam.body.trend[1]).toMatchObject({ partial: true, nodes: null, idle: null })

    expect((await get('/api/usage/cost?by=workload')).status).toBe(400)
    expect((await get('/api/usage/cost?since=last-week')).status).toBe(400)
  })
})
