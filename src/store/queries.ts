/**
 * The store's read side: what the API and the dashboard ask of it. Every query is the same SQL on
 * SQLite and PostgreSQL; what depends on the check library (categories, frameworks) is joined in memory.
 */
import { type ExpressionBuilder, sql } from 'kysely'
import type { FindingRow, FindingSort, FindingState, Resource, Severity, TrendPoint } from '../api-types.js'
import type { Store } from './connect.js'
import type { Database, StoredFinding } from './schema.js'

// What the API answers: one definition, in src/api-types.ts.
export type { FindingRow, FindingSort, Resource, TrendPoint } from '../api-types.js'

export const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'info'] as const

/** Newest run of each target: the estate as it is now. */
async function latestRunIds(store: Store, target?: string): Promise<number[]> {
  let q = store.db
    .selectFrom('runs')
    .select((eb) => eb.fn.max('id').as('id'))
    .groupBy('target')
  if (target) q = q.where('target', '=', target)
  return (await q.execute()).map((r) => Number(r.id))
}

export interface Stat {
  applied: number
  failed: number
}

/** Evaluations of the newest run of each target, by check and by namespace. */
export async function currentEvaluations(
  store: Store,
  target?: string,
): Promise<{ byCheck: Map<string, Stat>; byNamespace: Map<string, Stat> }> {
  const ids = await latestRunIds(store, target)
  const byCheck = new Map<string, Stat>()
  const byNamespace = new Map<string, Stat>()
  if (ids.length === 0) return { byCheck, byNamespace }
  const add = (map: Map<string, Stat>, key: string, applied: number, failed: number) => {
    const s = map.get(key) ?? { applied: 0, failed: 0 }
    s.applied += Number(applied)
    s.failed += Number(failed)
    map.set(key, s)
  }
  for (const r of await store.db.selectFrom('run_checks').selectAll().where('run_id', 'in', ids).execute())
    add(byCheck, r.check_id, r.applied, r.failed)
  for (const r of await store.db
    .selectFrom('run_namespaces')
    .selectAll()
    .where('run_id', 'in', ids)
    .execute())
    add(byNamespace, r.namespace, r.applied, r.failed)
  return { byCheck, byNamespace }
}

export interface FindingFilter {
  target?: string
  state?: FindingState[]
  severity?: string[]
  check?: string[]
  namespace?: string[]
  kind?: string[]
  resourceId?: number
  /** words to find in the message, check id, resource name or path */
  q?: string
}

type FindingsQuery = ExpressionBuilder<Database, 'findings'>

function where(f: FindingFilter) {
  return (eb: FindingsQuery) => {
    const all = []
    if (f.target) all.push(eb('findings.target', '=', f.target))
    if (f.state?.length) all.push(eb('findings.state', 'in', f.state))
    if (f.severity?.length) all.push(eb('findings.severity', 'in', f.severity))
    if (f.check?.length) all.push(eb('findings.check_id', 'in', f.check))
    if (f.namespace?.length) all.push(eb('findings.namespace', 'in', f.namespace))
    if (f.kind?.length) all.push(eb('findings.kind', 'in', f.kind))
    if (f.resourceId !== undefined) all.push(eb('findings.resource_id', '=', f.resourceId))
    for (const word of (f.q ?? '').toLowerCase().split(/\s+/).filter(Boolean)) {
      const like = `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
      all.push(eb('findings.search_text', 'like', sql<string>`${like} escape '\\'`))
    }
    return eb.and(all)
  }
}

export { FINDING_SORTS } from '../api-types.js'

/** A page of findings; the route adds its limit and offset. */
export interface FindingPage {
  total: number
  items: FindingRow[]
}

function base(store: Store) {
  return store.db.selectFrom('findings')
}

const COLUMNS = [
  'findings.id',
  'findings.target',
  'findings.check_id',
  'findings.severity',
  'findings.category',
  'findings.message',
  'findings.state',
  'findings.path',
  'findings.container',
  'findings.file',
  'findings.line',
  'findings.column',
  'findings.first_seen',
  'findings.last_seen',
  'findings.resolved_at',
  'findings.reopened',
  'findings.exception',
  'findings.resource_id',
  'findings.kind',
  'findings.namespace',
  'findings.resource_name as name',
  'findings.api_group',
] as const

/** A row as COLUMNS selects it: the finding's own columns, and the resource's name as `name`. */
type Row = Omit<
  StoredFinding,
  'fingerprint' | 'first_run_id' | 'last_run_id' | 'resource_name' | 'severity_rank' | 'search_text'
> & {
  name: string
}

function toRow(r: Row): FindingRow {
  return {
    id: Number(r.id),
    target: r.target,
    checkId: r.check_id,
    // written from a check's metadata, so one of the severities
    severity: r.severity as Severity,
    category: r.category,
    message: r.message,
    state: r.state,
    path: r.path,
    container: r.container,
    file: r.file,
    line: Number(r.line),
    column: Number(r.column),
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    resolvedAt: r.resolved_at,
    reopened: Number(r.reopened),
    exception: r.exception ? JSON.parse(r.exception) : null,
    resource: {
      id: Number(r.resource_id),
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      group: r.api_group,
    },
  }
}

export async function listFindings(
  store: Store,
  filter: FindingFilter,
  sort: FindingSort,
  descending: boolean,
  limit: number,
  offset: number,
): Promise<FindingPage> {
  // A text search reads every row anyway: count in the same pass (a window over the whole result)
  // instead of a second one. Without one, the count walks an index and the page stops after `limit`.
  const searching = (filter.q ?? '').trim() !== ''
  const total = searching
    ? undefined
    : await base(store)
        .where(where(filter))
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
  // "Descending" severity is worst first, which is rank ascending.
  const dir = (sort === 'severity' ? !descending : descending) ? 'desc' : 'asc'
  let q = base(store)
    .where(where(filter))
    .select(COLUMNS)
    .$if(searching, (qb) => qb.select(sql<number>`count(*) over ()`.as('total')))
  switch (sort) {
    case 'severity':
      q = q.orderBy('findings.severity_rank', dir)
      break
    case 'check':
      q = q.orderBy('findings.check_id', dir)
      break
    case 'resource':
      q = q.orderBy('findings.namespace', dir).orderBy('findings.resource_name', dir)
      break
    case 'first_seen':
      q = q.orderBy('findings.first_seen', dir)
      break
    case 'last_seen':
      q = q.orderBy('findings.last_seen', dir)
      break
  }
  // Ties in the sort's own direction: the index holds (…, id), so the page is an index walk, not a sort.
  const rows = await q.orderBy('findings.id', dir).limit(limit).offset(offset).execute()
  let count = Number(total?.n ?? (rows[0] as { total?: number } | undefined)?.total ?? 0)
  // A page past the end has no row to carry the window's count.
  if (searching && rows.length === 0 && offset > 0)
    count = (await listFindings(store, filter, sort, descending, 1, 0)).total
  return { total: count, items: (rows as Row[]).map(toRow) }
}

export async function getFinding(store: Store, id: number): Promise<FindingRow | undefined> {
  const row = await base(store).where('findings.id', '=', id).select(COLUMNS).executeTakeFirst()
  return row ? toRow(row as Row) : undefined
}

export async function getResource(store: Store, id: number): Promise<Resource | undefined> {
  const r = await store.db.selectFrom('resources').selectAll().where('id', '=', id).executeTakeFirst()
  if (!r) return undefined
  return {
    id: Number(r.id),
    target: r.target,
    group: r.api_group,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    file: r.file,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    manifest: r.manifest,
    manifestLine: r.manifest_line === null ? null : Number(r.manifest_line),
  }
}

/** Open findings counted by one column, most first. */
export async function countOpen(
  store: Store,
  by: 'severity' | 'check_id' | 'namespace',
  filter: FindingFilter,
  limit = 1000,
): Promise<{ key: string; count: number }[]> {
  const column = `findings.${by}` as const
  const rows = await base(store)
    .where(where({ ...filter, state: ['open'] }))
    .select([`${column} as key`, (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy(column)
    .orderBy('count', 'desc')
    .orderBy(column)
    .limit(limit)
    .execute()
  return rows.map((r) => ({ key: String(r.key), count: Number(r.count) }))
}

export async function listRuns(store: Store, target: string | undefined, limit: number, offset: number) {
  let q = store.db.selectFrom('runs').selectAll()
  let count = store.db.selectFrom('runs').select((eb) => eb.fn.countAll<number>().as('n'))
  if (target) {
    q = q.where('target', '=', target)
    count = count.where('target', '=', target)
  }
  const total = Number((await count.executeTakeFirstOrThrow()).n)
  const rows = await q.orderBy('id', 'desc').limit(limit).offset(offset).execute()
  return {
    total,
    items: rows.map((r) => ({
      id: Number(r.id),
      source: r.source,
      target: r.target,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      plimsollVersion: r.plimsoll_version,
      policyVersion: r.policy_version,
      complete: Number(r.complete) === 1,
      files: r.files,
      resources: r.resources,
      checks: r.checks,
      findings: r.findings,
      bySeverity: { critical: r.critical, high: r.high, medium: r.medium, low: r.low, info: r.info },
      excepted: r.excepted,
      errors: r.errors,
    })),
  }
}

/**
 * Open findings per day over the last `days` days: for each target its last run of the day (carried
 * forward over days without a run), summed over targets.
 */
export async function trends(
  store: Store,
  days: number,
  target?: string,
  now = new Date(),
): Promise<TrendPoint[]> {
  const start = new Date(now.getTime() - (days - 1) * 86_400_000).toISOString().slice(0, 10)
  let q = store.db
    .selectFrom('runs')
    .select(['id', 'target', 'finished_at', 'critical', 'high', 'medium', 'low', 'info', 'excepted'])
    .orderBy('finished_at')
    .orderBy('id')
  if (target) q = q.where('target', '=', target)
  const runs = await q.execute()
  const last = new Map<string, (typeof runs)[number]>()
  const points: TrendPoint[] = []
  let i = 0
  for (let d = 0; d < days; d++) {
    const day = new Date(Date.parse(`${start}T00:00:00Z`) + d * 86_400_000).toISOString().slice(0, 10)
    while (i < runs.length && runs[i]!.finished_at.slice(0, 10) <= day) {
      last.set(runs[i]!.target, runs[i]!)
      i++
    }
    const point: TrendPoint = {
      day,
      open: 0,
      bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
      excepted: 0,
    }
    for (const r of last.values()) {
      for (const s of SEVERITY_ORDER) point.bySeverity[s] += Number(r[s])
      point.excepted += Number(r.excepted)
    }
    point.open = SEVERITY_ORDER.reduce((n, s) => n + point.bySeverity[s], 0)
    points.push(point)
  }
  return points
}

export async function listTargets(store: Store): Promise<string[]> {
  const rows = await store.db.selectFrom('runs').select('target').distinct().orderBy('target').execute()
  return rows.map((r) => r.target)
}
