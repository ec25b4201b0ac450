/**
 * Usage snapshots in the store (`plimsoll usage --store`, docs/usage.md): what one collection of one
 * cluster saw (UsageReport), what was recommended, and what it cost, recorded in one transaction so that
 * trends are kept: utilisation (requested vs used vs allocatable) per snapshot, each container's
 * evidence and recommendation, and the cost per namespace and team. Read by the API's usage routes
 * (src/server/api/usage.ts).
 *
 * What the figures mean:
 * - Requests and usage are per pod (src/usage/types.ts). A namespace's or a cluster's requested CPU is
 *   the sum over its containers of `request x average pods running` (running seconds / window
 *   seconds); its used CPU is the same with the window's average usage (the mean, else the median);
 *   the same for memory. These are what the cost model charges, divided by the window's hours.
 * - A cluster's allocatable and capacity are the sums over its nodes, each weighted by the share of
 *   the window it ran; null when no node was read (a gap).
 * - Money is stored unrounded over the window; the API gives it also as a monthly rate (OpenCost's
 *   730-hour month), so snapshots of different windows compare.
 */
import { type Insertable, SqliteAdapter, sql, type Transaction } from 'kysely'
import type {
  ResourceEvidence,
  RightsizingQuery,
  RightsizingRow,
  UsageConfidence,
  UsageGap,
  UsageMoney,
  UsageNodeView,
  UsageSnapshotView,
  UtilisationPoint,
} from '../api-types.js'
import { type CostReport, UNALLOCATED } from '../usage/cost/allocate.js'
import { monthly } from '../usage/cost/money.js'
import { containerKey, type WasteReport, wasteReport } from '../usage/cost/waste.js'
import type {
  ContainerUsage,
  Recommendation,
  ResourceRecommendation,
  ResourceUsage,
  Strategy,
  UsageReport,
} from '../usage/types.js'
import type { Store } from './connect.js'
import type { Database, UsageContainerTable, UsageSnapshotTable } from './schema.js'

export interface UsageSnapshotInput {
  readonly report: UsageReport
  /** the report's containers' recommendations, by `strategy` (recommendAll) */
  readonly recommendations: readonly Recommendation[]
  readonly strategy: Strategy
  /** costReport(sheet, report.containers, report.nodes) */
  readonly costs: CostReport
  /** wasteReport(costs, recommendations, window hours); computed when not given */
  readonly waste?: WasteReport
  /** ISO time it is recorded (default: now) */
  readonly takenAt?: string
}

export interface RecordedUsageSnapshot {
  id: number
  containers: number
  nodes: number
}

/** Rows per INSERT: 36 columns x 500 = 18,000 values, under SQLite's 32,766 and PostgreSQL's 65,535. */
const CHUNK = 500
/** Rows per INSERT on SQLite, where they go as one JSON parameter. */
const JSON_CHUNK = 2000

type UsageTable = 'usage_containers' | 'usage_nodes' | 'usage_namespaces' | 'usage_teams'

/**
 * Inserts rows a chunk at a time. On SQLite the chunk goes as one JSON parameter read with jsonb_each
 * (as record-run.ts does for findings): one short statement that SQLite prepares once, instead of a
 * VALUES list of thousands of values that Kysely builds and compiles each time (10,000 containers:
 * about half the time). PostgreSQL takes the VALUES list.
 */
async function insertRows<T extends UsageTable>(
  trx: Transaction<Database>,
  table: T,
  rows: readonly Insertable<Database[T]>[],
): Promise<void> {
  if (rows.length === 0) return
  const sqlite = trx.getExecutor().adapter instanceof SqliteAdapter
  const size = sqlite ? JSON_CHUNK : CHUNK
  const columns = Object.keys(rows[0]!) as (keyof Database[T] & string)[]
  for (let i = 0; i < rows.length; i += size) {
    const part = rows.slice(i, i + size)
    if (!sqlite) {
      // `never`: Kysely cannot follow a table chosen by a type parameter to its row type.
      await trx
        .insertInto(table)
        .values(part as never)
        .execute()
      continue
    }
    const values = part.map((row) => columns.map((c) => (row as Record<string, unknown>)[c] ?? null))
    const select = sql`select ${sql.join(
      columns.map((c, k) => sql`value ->> ${sql.lit(k)} as ${sql.ref(c)}`),
    )} from jsonb_each(jsonb(${values}))`
    await trx.insertInto(table).columns(columns).expression(select).execute()
  }
}

const avgOf = (u: ResourceUsage['usage']) => (u === undefined ? 0 : (u.mean ?? u.p50))

function windowHoursOf(report: UsageReport): number {
  const ms = Date.parse(report.to) - Date.parse(report.from)
  if (!(ms > 0))
    throw new RangeError(`the usage report's window must end after it starts: ${report.from} .. ${report.to}`)
  return ms / 3_600_000
}

function containerRow(
  snapshotId: number,
  c: ContainerUsage,
  rec: Recommendation | undefined,
  cost: number,
  waste: { waste: number; savings: number } | undefined,
): UsageContainerTable {
  const resource = (r: ResourceRecommendation | undefined) =>
    r === undefined ? null : { bounds: r.bounds ?? null, reasons: [...r.reasons] }
  return {
    snapshot_id: snapshotId,
    namespace: c.workload.namespace,
    kind: c.workload.kind,
    workload: c.workload.name,
    container: c.container,
    team: c.team ?? null,
    pods: c.pods,
    max_replicas: c.maxReplicas,
    running_seconds: c.runningSeconds,
    restarts: c.restarts,
    cpu_throttled: c.cpuThrottled ?? null,
    cpu_request: c.cpu.request ?? null,
    cpu_limit: c.cpu.limit ?? null,
    cpu_p50: c.cpu.usage?.p50 ?? null,
    cpu_p95: c.cpu.usage?.p95 ?? null,
    cpu_p99: c.cpu.usage?.p99 ?? null,
    cpu_max: c.cpu.usage?.max ?? null,
    cpu_mean: c.cpu.usage?.mean ?? null,
    memory_request: c.memory.request ?? null,
    memory_limit: c.memory.limit ?? null,
    memory_p50: c.memory.usage?.p50 ?? null,
    memory_p95: c.memory.usage?.p95 ?? null,
    memory_p99: c.memory.usage?.p99 ?? null,
    memory_max: c.memory.usage?.max ?? null,
    memory_mean: c.memory.usage?.mean ?? null,
    rec_cpu_request: rec && rec.skipped === undefined ? (rec.cpu.request ?? null) : null,
    rec_cpu_limit: rec && rec.skipped === undefined ? (rec.cpu.limit ?? null) : null,
    rec_memory_request: rec && rec.skipped === undefined ? (rec.memory.request ?? null) : null,
    rec_memory_limit: rec && rec.skipped === undefined ? (rec.memory.limit ?? null) : null,
    confidence: rec && rec.skipped === undefined ? rec.confidence : null,
    cost,
    waste: waste?.waste ?? null,
    savings: waste?.savings ?? null,
    details: JSON.stringify({
      history: c.history,
      oomKills: c.oomKills,
      hpa: c.hpa?.resources ?? null,
      startedAt: c.startedAt ?? null,
      strategy: rec?.strategy ?? null,
      skipped: rec?.skipped ?? (rec ? null : 'no recommendation was made for it'),
      cpu: resource(rec?.cpu),
      memory: resource(rec?.memory),
    }),
  }
}

interface Sums {
  containers: number
  cpuRequested: number
  cpuUsed: number
  memoryRequested: number
  memoryUsed: number
  cost: number
  waste: number
  savings: number
}

const emptySums = (): Sums => ({
  containers: 0,
  cpuRequested: 0,
  cpuUsed: 0,
  memoryRequested: 0,
  memoryUsed: 0,
  cost: 0,
  waste: 0,
  savings: 0,
})

/**
 * Records one collection: the snapshot with its totals, its containers, nodes, and the sums per
 * namespace and team, in one transaction (a failure leaves nothing). Returns the snapshot's id.
 */
export async function recordUsageSnapshot(
  store: Store,
  input: UsageSnapshotInput,
): Promise<RecordedUsageSnapshot> {
  const { report, costs } = input
  const windowHours = windowHoursOf(report)
  const windowSeconds = windowHours * 3600
  const foreign = report.containers.find((c) => c.workload.cluster !== report.cluster)
  if (foreign)
    throw new Error(
      `the usage report of cluster ${report.cluster} holds a container of cluster ${foreign.workload.cluster}`,
    )
  const waste = input.waste ?? wasteReport(costs, input.recommendations, windowHours)
  const recs = new Map(input.recommendations.map((r) => [containerKey(r.workload, r.container), r]))
  const costOf = new Map(costs.containers.map((c) => [containerKey(c.workload, c.container), c.cost.total]))
  const wasteOf = new Map(
    waste.containers.map((w) => [
      containerKey(w.workload, w.container),
      { waste: w.waste.total, savings: w.savings.total },
    ]),
  )

  const namespaces = new Map<string, Sums>()
  const teams = new Map<string, Sums>()
  const total = emptySums()
  const rows: ((id: number) => UsageContainerTable)[] = []
  for (const c of report.containers) {
    const key = containerKey(c.workload, c.container)
    const rec = recs.get(key)
    const cost = costOf.get(key) ?? 0
    const w = wasteOf.get(key)
    const pods = windowSeconds > 0 ? c.runningSeconds / windowSeconds : 0
    const add = (s: Sums) => {
      s.containers++
      s.cpuRequested += (c.cpu.request ?? 0) * pods
      s.cpuUsed += avgOf(c.cpu.usage) * pods
      s.memoryRequested += (c.memory.request ?? 0) * pods
      s.memoryUsed += avgOf(c.memory.usage) * pods
      s.cost += cost
      s.waste += w?.waste ?? 0
      s.savings += w?.savings ?? 0
    }
    const ns = namespaces.get(c.workload.namespace) ?? emptySums()
    namespaces.set(c.workload.namespace, ns)
    const team = teams.get(c.team ?? UNALLOCATED) ?? emptySums()
    teams.set(c.team ?? UNALLOCATED, team)
    add(ns)
    add(team)
    add(total)
    rows.push((id) => containerRow(id, c, rec, cost, w))
  }

  const nodeCost = new Map(costs.nodes.map((n) => [n.name, n.cost.total]))
  const nodes = report.nodes.filter((n) => n.cluster === report.cluster)
  const share = (seconds: number) => (windowSeconds > 0 ? Math.min(1, seconds / windowSeconds) : 0)
  const cluster = costs.clusters.find((k) => k.cluster === report.cluster)
  const hasNodes = nodes.length > 0
  const snapshot: Omit<UsageSnapshotTable, 'id'> = {
    cluster: report.cluster,
    taken_at: input.takenAt ?? new Date().toISOString(),
    window_from: report.from,
    window_to: report.to,
    window_hours: windowHours,
    strategy: input.strategy,
    currency: costs.currency,
    gaps: JSON.stringify(report.gaps.map((g) => ({ what: g.what, message: g.message }))),
    containers: report.containers.length,
    nodes: nodes.length,
    cpu_requested: total.cpuRequested,
    cpu_used: total.cpuUsed,
    cpu_allocatable: hasNodes
      ? nodes.reduce((a, n) => a + n.allocatable.cpu * share(n.runningSeconds), 0)
      : null,
    cpu_capacity: hasNodes ? nodes.reduce((a, n) => a + n.capacity.cpu * share(n.runningSeconds), 0) : null,
    memory_requested: total.memoryRequested,
    memory_used: total.memoryUsed,
    memory_allocatable: hasNodes
      ? nodes.reduce((a, n) => a + n.allocatable.memory * share(n.runningSeconds), 0)
      : null,
    memory_capacity: hasNodes
      ? nodes.reduce((a, n) => a + n.capacity.memory * share(n.runningSeconds), 0)
      : null,
    node_cost: hasNodes ? (cluster?.nodeCost.total ?? 0) : null,
    workload_cost: total.cost,
    idle_cost: hasNodes && cluster?.idle ? cluster.idle.total : null,
    waste: total.waste,
    savings: total.savings,
  }

  return store.db.transaction().execute(async (trx) => {
    const { id } = await trx
      .insertInto('usage_snapshots')
      .values(snapshot)
      .returning('id')
      .executeTakeFirstOrThrow()
    const snapshotId = Number(id)
    await insertRows(
      trx,
      'usage_containers',
      rows.map((row) => row(snapshotId)),
    )
    const nodeRows = nodes.map((n) => ({
      snapshot_id: snapshotId,
      name: n.name,
      instance_type: n.instanceType ?? null,
      capacity_type: n.capacityType ?? null,
      capacity_cpu: n.capacity.cpu,
      capacity_memory: n.capacity.memory,
      allocatable_cpu: n.allocatable.cpu,
      allocatable_memory: n.allocatable.memory,
      requested_cpu: n.requested.cpu,
      requested_memory: n.requested.memory,
      used_cpu: n.used.cpu,
      used_memory: n.used.memory,
      running_seconds: n.runningSeconds,
      cost: nodeCost.get(n.name) ?? 0,
    }))
    await insertRows(trx, 'usage_nodes', nodeRows)
    const nsRows = [...namespaces].map(([namespace, s]) => ({
      snapshot_id: snapshotId,
      namespace,
      containers: s.containers,
      cpu_requested: s.cpuRequested,
      cpu_used: s.cpuUsed,
      memory_requested: s.memoryRequested,
      memory_used: s.memoryUsed,
      cost: s.cost,
      waste: s.waste,
      savings: s.savings,
    }))
    await insertRows(trx, 'usage_namespaces', nsRows)
    const teamRows = [...teams].map(([team, s]) => ({
      snapshot_id: snapshotId,
      team,
      containers: s.containers,
      cost: s.cost,
      waste: s.waste,
      savings: s.savings,
    }))
    await insertRows(trx, 'usage_teams', teamRows)
    return { id: snapshotId, containers: rows.length, nodes: nodeRows.length }
  })
}

// --- reads ---------------------------------------------------------------------------------------

const money = (window: number, hours: number): UsageMoney => ({ window, monthly: monthly(window, hours) })
const num = (v: unknown): number => Number(v)
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

type SnapshotRow = UsageSnapshotTable & { id: number }

function snapshotView(r: SnapshotRow): UsageSnapshotView {
  const hours = num(r.window_hours)
  const gaps = JSON.parse(r.gaps) as UsageGap[]
  const nodeCost = numOrNull(r.node_cost)
  const idle = numOrNull(r.idle_cost)
  return {
    id: num(r.id),
    cluster: r.cluster,
    takenAt: r.taken_at,
    from: r.window_from,
    to: r.window_to,
    windowHours: hours,
    strategy: r.strategy,
    currency: r.currency,
    partial: gaps.length > 0,
    gaps,
    containers: num(r.containers),
    nodes: num(r.nodes),
    cpu: {
      requested: num(r.cpu_requested),
      used: num(r.cpu_used),
      allocatable: numOrNull(r.cpu_allocatable),
      capacity: numOrNull(r.cpu_capacity),
    },
    memory: {
      requested: num(r.memory_requested),
      used: num(r.memory_used),
      allocatable: numOrNull(r.memory_allocatable),
      capacity: numOrNull(r.memory_capacity),
    },
    cost: {
      nodes: nodeCost === null ? null : money(nodeCost, hours),
      workloads: money(num(r.workload_cost), hours),
      idle: idle === null ? null : money(idle, hours),
      waste: money(num(r.waste), hours),
      savings: money(num(r.savings), hours),
    },
  }
}

export interface SnapshotFilter {
  cluster?: string
  /** ISO time: snapshots taken at or after it */
  since?: string
  limit?: number
}

/** Snapshots, newest first. */
export async function listUsageSnapshots(
  store: Store,
  filter: SnapshotFilter = {},
): Promise<UsageSnapshotView[]> {
  let q = store.db.selectFrom('usage_snapshots').selectAll()
  if (filter.cluster !== undefined) q = q.where('cluster', '=', filter.cluster)
  if (filter.since !== undefined) q = q.where('taken_at', '>=', filter.since)
  const rows = await q
    .orderBy('taken_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .execute()
  return rows.map((r) => snapshotView(r as SnapshotRow))
}

/** Each cluster's latest snapshot (or `cluster`'s), by cluster name. */
export async function latestUsageSnapshots(
  store: Store,
  filter: { cluster?: string } = {},
): Promise<UsageSnapshotView[]> {
  let heads = store.db.selectFrom('usage_snapshots').select(['id', 'cluster', 'taken_at'])
  if (filter.cluster !== undefined) heads = heads.where('cluster', '=', filter.cluster)
  // One row per snapshot: a small table (a snapshot a day is 365 rows a year per cluster).
  const all = await heads.orderBy('taken_at', 'desc').orderBy('id', 'desc').execute()
  const latest = new Map<string, number>()
  for (const h of all) if (!latest.has(h.cluster)) latest.set(h.cluster, num(h.id))
  if (latest.size === 0) return []
  const rows = await store.db
    .selectFrom('usage_snapshots')
    .selectAll()
    .where('id', 'in', [...latest.values()])
    .orderBy('cluster')
    .execute()
  return rows.map((r) => snapshotView(r as SnapshotRow))
}

/** The usage clusters (with at least one snapshot), by name. */
export async function usageClusters(store: Store): Promise<string[]> {
  const rows = await store.db
    .selectFrom('usage_snapshots')
    .select('cluster')
    .distinct()
    .orderBy('cluster')
    .execute()
  return rows.map((r) => r.cluster)
}

export interface UtilisationFilter {
  cluster?: string
  /** the namespace's sums instead of the cluster's (no allocatable) */
  namespace?: string
  since?: string
}

/** Requested vs used vs allocatable per snapshot, per cluster (and namespace), oldest first. */
export async function utilisationTrend(
  store: Store,
  filter: UtilisationFilter = {},
): Promise<{ cluster: string; namespace: string | null; points: UtilisationPoint[] }[]> {
  const series = new Map<string, UtilisationPoint[]>()
  const push = (cluster: string, p: UtilisationPoint) => {
    const list = series.get(cluster) ?? []
    list.push(p)
    series.set(cluster, list)
  }
  if (filter.namespace === undefined) {
    let q = store.db
      .selectFrom('usage_snapshots')
      .select([
        'id',
        'cluster',
        'taken_at',
        'gaps',
        'cpu_requested',
        'cpu_used',
        'cpu_allocatable',
        'memory_requested',
        'memory_used',
        'memory_allocatable',
      ])
    if (filter.cluster !== undefined) q = q.where('cluster', '=', filter.cluster)
    if (filter.since !== undefined) q = q.where('taken_at', '>=', filter.since)
    for (const r of await q.orderBy('taken_at').orderBy('id').execute())
      push(r.cluster, {
        snapshotId: num(r.id),
        takenAt: r.taken_at,
        partial: r.gaps !== '[]',
        cpu: {
          requested: num(r.cpu_requested),
          used: num(r.cpu_used),
          allocatable: numOrNull(r.cpu_allocatable),
        },
        memory: {
          requested: num(r.memory_requested),
          used: num(r.memory_used),
          allocatable: numOrNull(r.memory_allocatable),
        },
      })
  } else {
    let q = store.db
      .selectFrom('usage_namespaces as n')
      .innerJoin('usage_snapshots as s', 's.id', 'n.snapshot_id')
      .select([
        's.id',
        's.cluster',
        's.taken_at',
        's.gaps',
        'n.cpu_requested',
        'n.cpu_used',
        'n.memory_requested',
        'n.memory_used',
      ])
      .where('n.namespace', '=', filter.namespace)
    if (filter.cluster !== undefined) q = q.where('s.cluster', '=', filter.cluster)
    if (filter.since !== undefined) q = q.where('s.taken_at', '>=', filter.since)
    for (const r of await q.orderBy('s.taken_at').orderBy('s.id').execute())
      push(r.cluster, {
        snapshotId: num(r.id),
        takenAt: r.taken_at,
        partial: r.gaps !== '[]',
        cpu: { requested: num(r.cpu_requested), used: num(r.cpu_used), allocatable: null },
        memory: { requested: num(r.memory_requested), used: num(r.memory_used), allocatable: null },
      })
  }
  return [...series]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([cluster, points]) => ({ cluster, namespace: filter.namespace ?? null, points }))
}

/** The namespaces of snapshots (e.g. the latest ones), most CPU requested first. */
export async function snapshotNamespaces(store: Store, snapshots: readonly UsageSnapshotView[]) {
  if (snapshots.length === 0) return []
  const clusterOf = new Map(snapshots.map((s) => [s.id, s.cluster]))
  const rows = await store.db
    .selectFrom('usage_namespaces')
    .selectAll()
    .where('snapshot_id', 'in', [...clusterOf.keys()])
    .orderBy('cpu_requested', 'desc')
    .orderBy('namespace')
    .execute()
  return rows.map((r) => ({
    cluster: clusterOf.get(num(r.snapshot_id))!,
    namespace: r.namespace,
    containers: num(r.containers),
    cpu: { requested: num(r.cpu_requested), used: num(r.cpu_used), allocatable: null },
    memory: { requested: num(r.memory_requested), used: num(r.memory_used), allocatable: null },
  }))
}

export type ContainerFilter = RightsizingQuery

interface Details {
  history: { from: string; to: string; samples: number }
  oomKills: { at: string; memory: number }[]
  hpa: string[] | null
  strategy: string | null
  skipped: string | null
  cpu: { bounds: { lower: number; upper: number } | null; reasons: string[] } | null
  memory: { bounds: { lower: number; upper: number } | null; reasons: string[] } | null
}

function evidence(
  r: Record<string, unknown>,
  prefix: 'cpu' | 'memory',
  rec: Details['cpu'],
): ResourceEvidence {
  const p50 = numOrNull(r[`${prefix}_p50`])
  return {
    request: numOrNull(r[`${prefix}_request`]),
    limit: numOrNull(r[`${prefix}_limit`]),
    usage:
      p50 === null
        ? null
        : {
            p50,
            p95: num(r[`${prefix}_p95`]),
            p99: num(r[`${prefix}_p99`]),
            max: num(r[`${prefix}_max`]),
            mean: numOrNull(r[`${prefix}_mean`]),
          },
    recommended: {
      request: numOrNull(r[`rec_${prefix}_request`]),
      limit: numOrNull(r[`rec_${prefix}_limit`]),
      lower: rec?.bounds?.lower ?? null,
      upper: rec?.bounds?.upper ?? null,
    },
    reasons: rec?.reasons ?? [],
  }
}

/**
 * The containers of the latest snapshots (each cluster's, or `cluster`'s), filtered, most monthly
 * savings first (those without a recommendation last), then most cost.
 */
export async function latestContainers(
  store: Store,
  filter: ContainerFilter = {},
): Promise<{ snapshots: UsageSnapshotView[]; total: number; items: RightsizingRow[] }> {
  const snapshots = await latestUsageSnapshots(
    store,
    filter.cluster !== undefined ? { cluster: filter.cluster } : {},
  )
  if (snapshots.length === 0) return { snapshots, total: 0, items: [] }
  const byId = new Map(snapshots.map((s) => [s.id, s]))
  let q = store.db.selectFrom('usage_containers').where('snapshot_id', 'in', [...byId.keys()])
  if (filter.namespace !== undefined) q = q.where('namespace', '=', filter.namespace)
  if (filter.team !== undefined)
    q = filter.team === UNALLOCATED ? q.where('team', 'is', null) : q.where('team', '=', filter.team)
  if (filter.workload !== undefined) q = q.where('workload', '=', filter.workload)
  if (filter.confidence !== undefined) q = q.where('confidence', '=', filter.confidence)
  const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  // Savings per month: each snapshot's window may differ, so order by savings / window hours.
  const rows = await q
    .innerJoin('usage_snapshots as s', 's.id', 'usage_containers.snapshot_id')
    .selectAll('usage_containers')
    .orderBy(sql`case when usage_containers.savings is null then 1 else 0 end`)
    .orderBy(sql`usage_containers.savings / s.window_hours`, 'desc')
    .orderBy(sql`usage_containers.cost / s.window_hours`, 'desc')
    .orderBy('usage_containers.namespace')
    .orderBy('usage_containers.workload')
    .orderBy('usage_containers.container')
    .limit(filter.limit ?? 100)
    .offset(filter.offset ?? 0)
    .execute()
  const items = rows.map((r): RightsizingRow => {
    const s = byId.get(num(r.snapshot_id))!
    const d = JSON.parse(r.details) as Details
    const waste = numOrNull(r.waste)
    const savings = numOrNull(r.savings)
    return {
      snapshotId: s.id,
      cluster: s.cluster,
      namespace: r.namespace,
      kind: r.kind,
      workload: r.workload,
      container: r.container,
      team: r.team,
      pods: num(r.pods),
      maxReplicas: num(r.max_replicas),
      restarts: num(r.restarts),
      oomKills: d.oomKills,
      cpuThrottled: numOrNull(r.cpu_throttled),
      history: d.history,
      hpa: d.hpa,
      cpu: evidence(r as unknown as Record<string, unknown>, 'cpu', d.cpu),
      memory: evidence(r as unknown as Record<string, unknown>, 'memory', d.memory),
      strategy: d.strategy ?? s.strategy,
      confidence: (r.confidence as UsageConfidence | null) ?? null,
      skipped: d.skipped,
      cost: money(num(r.cost), s.windowHours),
      waste: waste === null ? null : money(waste, s.windowHours),
      savings: savings === null ? null : money(savings, s.windowHours),
    }
  })
  return { snapshots, total: num(n), items }
}

export interface CostGroupRow {
  snapshotId: number
  key: string
  containers: number
  cost: number
  waste: number
  savings: number
}

/** The sums per namespace or team of snapshots (window money, unrounded). */
export async function snapshotCostGroups(
  store: Store,
  snapshotIds: readonly number[],
  by: 'namespace' | 'team',
): Promise<CostGroupRow[]> {
  if (snapshotIds.length === 0) return []
  const rows =
    by === 'namespace'
      ? await store.db
          .selectFrom('usage_namespaces')
          .select(['snapshot_id', 'namespace as key', 'containers', 'cost', 'waste', 'savings'])
          .where('snapshot_id', 'in', [...snapshotIds])
          .execute()
      : await store.db
          .selectFrom('usage_teams')
          .select(['snapshot_id', 'team as key', 'containers', 'cost', 'waste', 'savings'])
          .where('snapshot_id', 'in', [...snapshotIds])
          .execute()
  return rows.map((r) => ({
    snapshotId: num(r.snapshot_id),
    key: r.key,
    containers: num(r.containers),
    cost: num(r.cost),
    waste: num(r.waste),
    savings: num(r.savings),
  }))
}

/** The nodes of snapshots (e.g. the latest ones): the bin-packing view, by cluster and name. */
export async function snapshotNodes(
  store: Store,
  snapshots: readonly UsageSnapshotView[],
): Promise<UsageNodeView[]> {
  if (snapshots.length === 0) return []
  const byId = new Map(snapshots.map((s) => [s.id, s]))
  const rows = await store.db
    .selectFrom('usage_nodes')
    .selectAll()
    .where('snapshot_id', 'in', [...byId.keys()])
    .orderBy('name')
    .execute()
  return rows
    .map((r) => {
      const s = byId.get(num(r.snapshot_id))!
      return {
        cluster: s.cluster,
        name: r.name,
        instanceType: r.instance_type,
        capacityType: r.capacity_type,
        capacity: { cpu: num(r.capacity_cpu), memory: num(r.capacity_memory) },
        allocatable: { cpu: num(r.allocatable_cpu), memory: num(r.allocatable_memory) },
        requested: { cpu: num(r.requested_cpu), memory: num(r.requested_memory) },
        used: { cpu: num(r.used_cpu), memory: num(r.used_memory) },
        cost: money(num(r.cost), s.windowHours),
      }
    })
    .sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0))
}

/**
 * Deletes the snapshots taken before `before` (with their rows), except each cluster's latest, which
 * the dashboard's pages stand on. Returns how many snapshots went.
 */
export async function pruneUsageSnapshots(
  store: Store,
  options: { before: string; cluster?: string },
): Promise<number> {
  const latest = new Set((await latestUsageSnapshots(store)).map((s) => s.id))
  let q = store.db.selectFrom('usage_snapshots').select('id').where('taken_at', '<', options.before)
  if (options.cluster !== undefined) q = q.where('cluster', '=', options.cluster)
  const ids = (await q.execute()).map((r) => num(r.id)).filter((id) => !latest.has(id))
  if (ids.length === 0) return 0
  await store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK)
      await trx.deleteFrom('usage_containers').where('snapshot_id', 'in', part).execute()
      await trx.deleteFrom('usage_nodes').where('snapshot_id', 'in', part).execute()
      await trx.deleteFrom('usage_namespaces').where('snapshot_id', 'in', part).execute()
      await trx.deleteFrom('usage_teams').where('snapshot_id', 'in', part).execute()
      await trx.deleteFrom('usage_snapshots').where('id', 'in', part).execute()
    }
  })
  return ids.length
}
