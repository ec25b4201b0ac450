/**
 * Usage, rightsizing and cost over HTTP (docs/usage.md, docs/api.md#routes): the snapshots that
 * `plimsoll usage --store` records (src/store/usage.ts), the utilisation over time (requested vs used vs
 * allocatable), the latest snapshots' recommendations with their evidence, and the cost per namespace
 * or team with idle, waste, savings and the trend. Viewers read it all; nothing here changes anything.
 */
import {
  USAGE_CONFIDENCES,
  USAGE_COST_GROUPS,
  type UsageConfidence,
  type UsageCost,
  type UsageCostGroup,
  type UsageCostGroupView,
  type UsageRightsizing,
  type UsageSnapshotView,
  type UsageUtilisation,
} from '../../api-types.js'
import {
  latestContainers,
  latestUsageSnapshots,
  listUsageSnapshots,
  snapshotCostGroups,
  snapshotNamespaces,
  snapshotNodes,
  utilisationTrend,
} from '../../store/usage.js'
import { monthly } from '../../usage/cost/money.js'
import { type JsonSchema, query, type Route } from '../route.js'

const CLUSTER = { type: 'string', maxLength: 253, description: 'only this cluster (its snapshots)' }
const NAMESPACE = { type: 'string', maxLength: 253, description: 'only this namespace' }
const SINCE = {
  type: 'string',
  format: 'date-time',
  description: 'only snapshots taken at or after this time',
}

const NUM = { type: 'number' }
const NUM_OR_NULL = { type: ['number', 'null'] }
const INT = { type: 'integer' }
const STR = { type: 'string' }
const STR_OR_NULL = { type: ['string', 'null'] }
const strings = { type: 'array', items: STR }

const object = (properties: Record<string, unknown>, nullable = false): JsonSchema => ({
  type: nullable ? ['object', 'null'] : 'object',
  properties,
})

const MONEY = object({ window: NUM, monthly: NUM })
const MONEY_OR_NULL = object({ window: NUM, monthly: NUM }, true)
const AMOUNTS = object({ requested: NUM, used: NUM, allocatable: NUM_OR_NULL })
const AMOUNTS_WITH_CAPACITY = object({
  requested: NUM,
  used: NUM,
  allocatable: NUM_OR_NULL,
  capacity: NUM_OR_NULL,
})
const PAIR = object({ cpu: NUM, memory: NUM })

const SNAPSHOT: JsonSchema = object({
  id: INT,
  cluster: STR,
  takenAt: STR,
  from: STR,
  to: STR,
  windowHours: NUM,
  strategy: STR,
  currency: STR,
  partial: { type: 'boolean' },
  gaps: { type: 'array', items: object({ what: STR, message: STR }) },
  containers: INT,
  nodes: INT,
  cpu: AMOUNTS_WITH_CAPACITY,
  memory: AMOUNTS_WITH_CAPACITY,
  cost: object({
    nodes: MONEY_OR_NULL,
    workloads: MONEY,
    idle: MONEY_OR_NULL,
    waste: MONEY,
    savings: MONEY,
  }),
})

const EVIDENCE: JsonSchema = object({
  request: NUM_OR_NULL,
  limit: NUM_OR_NULL,
  usage: object({ p50: NUM, p95: NUM, p99: NUM, max: NUM, mean: NUM_OR_NULL }, true),
  recommended: object({ request: NUM_OR_NULL, limit: NUM_OR_NULL, lower: NUM_OR_NULL, upper: NUM_OR_NULL }),
  reasons: strings,
})

const RIGHTSIZING_ROW: JsonSchema = object({
  snapshotId: INT,
  cluster: STR,
  namespace: STR,
  kind: STR,
  workload: STR,
  container: STR,
  team: STR_OR_NULL,
  pods: INT,
  maxReplicas: INT,
  restarts: INT,
  oomKills: { type: 'array', items: object({ at: STR, memory: NUM }) },
  cpuThrottled: NUM_OR_NULL,
  history: object({ from: STR, to: STR, samples: INT }),
  hpa: { type: ['array', 'null'], items: STR },
  cpu: EVIDENCE,
  memory: EVIDENCE,
  strategy: STR,
  confidence: { type: ['string', 'null'], enum: [...USAGE_CONFIDENCES, null] },
  skipped: STR_OR_NULL,
  cost: MONEY,
  waste: MONEY_OR_NULL,
  savings: MONEY_OR_NULL,
})

const COST_GROUP: JsonSchema = object({
  key: STR,
  cluster: STR_OR_NULL,
  containers: INT,
  cost: MONEY,
  waste: MONEY,
  savings: MONEY,
})

function sumOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null)
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0)
}

const byMonthlyCost = (a: UsageCostGroupView, b: UsageCostGroupView) =>
  b.cost.monthly - a.cost.monthly ||
  a.key.localeCompare(b.key) ||
  (a.cluster ?? '').localeCompare(b.cluster ?? '')

export const usageRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/usage/snapshots',
    summary: 'The usage snapshots (`plimsoll usage --store`), newest first: window, totals, cost, gaps',
    tag: 'usage',
    access: 'viewer',
    schema: {
      querystring: query({
        cluster: CLUSTER,
        since: SINCE,
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      }),
      response: { 200: { type: 'array', items: SNAPSHOT } },
    },
    handler: async (ctx, req) => {
      const q = req.query as { cluster?: string; since?: string; limit: number }
      return listUsageSnapshots(ctx.store, {
        ...(q.cluster !== undefined ? { cluster: q.cluster } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
        limit: q.limit,
      }) satisfies Promise<UsageSnapshotView[]>
    },
  },
  {
    method: 'GET',
    url: '/api/usage/utilisation',
    summary:
      'Requested vs used vs allocatable CPU and memory per snapshot (per cluster, or per namespace), the latest nodes and namespaces',
    tag: 'usage',
    access: 'viewer',
    schema: {
      querystring: query({ cluster: CLUSTER, namespace: NAMESPACE, since: SINCE }),
      response: {
        200: object({
          series: {
            type: 'array',
            items: object({
              cluster: STR,
              namespace: STR_OR_NULL,
              points: {
                type: 'array',
                items: object({
                  snapshotId: INT,
                  takenAt: STR,
                  partial: { type: 'boolean' },
                  cpu: AMOUNTS,
                  memory: AMOUNTS,
                }),
              },
            }),
          },
          latest: { type: 'array', items: SNAPSHOT },
          nodes: {
            type: 'array',
            items: object({
              cluster: STR,
              name: STR,
              instanceType: STR_OR_NULL,
              capacityType: STR_OR_NULL,
              capacity: PAIR,
              allocatable: PAIR,
              requested: PAIR,
              used: PAIR,
              cost: MONEY,
            }),
          },
          namespaces: {
            type: 'array',
            items: object({ cluster: STR, namespace: STR, containers: INT, cpu: AMOUNTS, memory: AMOUNTS }),
          },
        }),
      },
    },
    handler: async (ctx, req) => {
      const q = req.query as { cluster?: string; namespace?: string; since?: string }
      const series = await utilisationTrend(ctx.store, {
        ...(q.cluster !== undefined ? { cluster: q.cluster } : {}),
        ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
      })
      const latest = await latestUsageSnapshots(
        ctx.store,
        q.cluster !== undefined ? { cluster: q.cluster } : {},
      )
      const namespaces = (await snapshotNamespaces(ctx.store, latest)).filter(
        (n) => q.namespace === undefined || n.namespace === q.namespace,
      )
      const nodes = await snapshotNodes(ctx.store, latest)
      return { series, latest, nodes, namespaces } satisfies UsageUtilisation
    },
  },
  {
    method: 'GET',
    url: '/api/usage/rightsizing',
    summary:
      "The latest snapshots' containers with their recommendations and the evidence (requests, limits, usage percentiles), most monthly savings first",
    tag: 'usage',
    access: 'viewer',
    schema: {
      querystring: query({
        cluster: CLUSTER,
        namespace: NAMESPACE,
        team: {
          type: 'string',
          maxLength: 253,
          description: 'only this team (`__unallocated__`: containers without the team label)',
        },
        workload: { type: 'string', maxLength: 253, description: 'only this workload (its name)' },
        confidence: { type: 'string', enum: [...USAGE_CONFIDENCES] },
        limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
        offset: { type: 'integer', minimum: 0, maximum: 100_000, default: 0 },
      }),
      response: {
        200: object({
          snapshots: { type: 'array', items: SNAPSHOT },
          total: INT,
          limit: INT,
          offset: INT,
          items: { type: 'array', items: RIGHTSIZING_ROW },
        }),
      },
    },
    handler: async (ctx, req) => {
      const q = req.query as {
        cluster?: string
        namespace?: string
        team?: string
        workload?: string
        confidence?: UsageConfidence
        limit: number
        offset: number
      }
      const page = await latestContainers(ctx.store, {
        ...(q.cluster !== undefined ? { cluster: q.cluster } : {}),
        ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
        ...(q.team !== undefined ? { team: q.team } : {}),
        ...(q.workload !== undefined ? { workload: q.workload } : {}),
        ...(q.confidence !== undefined ? { confidence: q.confidence } : {}),
        limit: q.limit,
        offset: q.offset,
      })
      return { ...page, limit: q.limit, offset: q.offset } satisfies UsageRightsizing
    },
  },
  {
    method: 'GET',
    url: '/api/usage/cost',
    summary:
      'The cost per namespace or team in the latest snapshots, with the nodes, idle, waste and savings, and the trend per snapshot',
    tag: 'usage',
    access: 'viewer',
    schema: {
      querystring: query({
        cluster: CLUSTER,
        by: { type: 'string', enum: [...USAGE_COST_GROUPS], default: 'namespace' },
        since: { ...SINCE, description: 'the trend: only snapshots taken at or after this time' },
      }),
      response: {
        200: object({
          by: { type: 'string', enum: [...USAGE_COST_GROUPS] },
          currency: STR,
          snapshots: { type: 'array', items: SNAPSHOT },
          totals: object({
            nodes: NUM_OR_NULL,
            workloads: NUM,
            idle: NUM_OR_NULL,
            waste: NUM,
            savings: NUM,
          }),
          groups: { type: 'array', items: COST_GROUP },
          trend: {
            type: 'array',
            items: object({
              snapshotId: INT,
              cluster: STR,
              takenAt: STR,
              partial: { type: 'boolean' },
              nodes: NUM_OR_NULL,
              workloads: NUM,
              idle: NUM_OR_NULL,
              waste: NUM,
              savings: NUM,
              groups: { type: 'array', items: object({ key: STR, cost: NUM }) },
            }),
          },
        }),
      },
    },
    handler: async (ctx, req) => {
      const q = req.query as { cluster?: string; by: UsageCostGroup; since?: string }
      const cluster = q.cluster !== undefined ? { cluster: q.cluster } : {}
      const snapshots = await latestUsageSnapshots(ctx.store, cluster)
      const byId = new Map(snapshots.map((s) => [s.id, s]))
      const groups = new Map<string, UsageCostGroupView>()
      for (const g of await snapshotCostGroups(ctx.store, [...byId.keys()], q.by)) {
        const s = byId.get(g.snapshotId)!
        const groupCluster = q.by === 'namespace' ? s.cluster : null
        const key = JSON.stringify([groupCluster, g.key])
        const m = (window: number) => ({ window, monthly: monthly(window, s.windowHours) })
        const add = (a: { window: number; monthly: number }, b: { window: number; monthly: number }) => ({
          window: a.window + b.window,
          monthly: a.monthly + b.monthly,
        })
        const before = groups.get(key)
        groups.set(
          key,
          before
            ? {
                ...before,
                containers: before.containers + g.containers,
                cost: add(before.cost, m(g.cost)),
                waste: add(before.waste, m(g.waste)),
                savings: add(before.savings, m(g.savings)),
              }
            : {
                key: g.key,
                cluster: groupCluster,
                containers: g.containers,
                cost: m(g.cost),
                waste: m(g.waste),
                savings: m(g.savings),
              },
        )
      }
      const history = (
        await listUsageSnapshots(ctx.store, {
          ...cluster,
          ...(q.since !== undefined ? { since: q.since } : {}),
          limit: 1000,
        })
      ).reverse()
      const trendGroups = await snapshotCostGroups(
        ctx.store,
        history.map((s) => s.id),
        q.by,
      )
      const perSnapshot = new Map<number, { key: string; cost: number }[]>()
      const hoursOf = new Map(history.map((s) => [s.id, s.windowHours]))
      for (const g of trendGroups) {
        const list = perSnapshot.get(g.snapshotId) ?? []
        list.push({ key: g.key, cost: monthly(g.cost, hoursOf.get(g.snapshotId)!) })
        perSnapshot.set(g.snapshotId, list)
      }
      return {
        by: q.by,
        currency: snapshots[0]?.currency ?? 'USD',
        snapshots,
        totals: {
          nodes: sumOrNull(snapshots.map((s) => s.cost.nodes?.monthly ?? null)),
          workloads: snapshots.reduce((a, s) => a + s.cost.workloads.monthly, 0),
          idle: sumOrNull(snapshots.map((s) => s.cost.idle?.monthly ?? null)),
          waste: snapshots.reduce((a, s) => a + s.cost.waste.monthly, 0),
          savings: snapshots.reduce((a, s) => a + s.cost.savings.monthly, 0),
        },
        groups: [...groups.values()].sort(byMonthlyCost),
        trend: history.map((s) => ({
          snapshotId: s.id,
          cluster: s.cluster,
          takenAt: s.takenAt,
          partial: s.partial,
          nodes: s.cost.nodes?.monthly ?? null,
          workloads: s.cost.workloads.monthly,
          idle: s.cost.idle?.monthly ?? null,
          waste: s.cost.waste.monthly,
          savings: s.cost.savings.monthly,
          groups: (perSnapshot.get(s.id) ?? []).sort((a, b) => b.cost - a.cost || a.key.localeCompare(b.key)),
        })),
      } satisfies UsageCost
    },
  },
]
