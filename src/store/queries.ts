/**
 * The store's read side: what the API and the dashboard ask of it. Every query is the same SQL on
 * SQLite and PostgreSQL; what depends on the check library (categories, frameworks) is joined in memory.
 */
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely'
import {
  FINDING_STATES,
  type FindingRow,
  type FindingSort,
  type FindingState,
  type Resource,
  type Severity,
  type TrendPoint,
} from '../api-types.js'
import type { Dialect, Store } from './connect.js'
import { decodeCursor, encodeCursor, type KeyPart } from './cursor.js'
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

/** `%word%` for LIKE, the word's own `%`, `_` and `\` taken literally. */
export function containing(word: string) {
  return sql<string>`${`%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`
}

/** The words of a search, as every list's search takes them. */
export const searchWords = (q: string | undefined) => (q ?? '').toLowerCase().split(/\s+/).filter(Boolean)

/** The words of a search that SQLite's trigram index finds (migration 0004): three characters or more. */
function indexedWords(q: string | undefined, dialect: Dialect): string[] {
  return dialect === 'sqlite' ? searchWords(q).filter((w) => [...w].length >= 3) : []
}

/** The trigram index's query for words: each a quoted phrase of trigrams, which matches as LIKE would. */
function phraseOf(indexed: readonly string[]): string {
  return indexed.map((w) => `"${w.replaceAll('"', '""')}"`).join(' ')
}

/** Up to this many matches of the trigram index are read by id; more, and the list's order is walked. */
const FEW_MATCHES = 2000

/**
 * What the trigram index found for a search: the ids when they are few, or `many`. Few are read by id
 * and sorted; many are looked up while walking the list's order, where a page ends after about `limit /
 * share` rows. Without stored statistics SQLite would guess, and often walk every finding in the state to
 * find three; each plan is forced by keeping the other one's column out of the index (`+column`).
 */
type Matches = { ids: readonly number[] } | 'many'

function where(f: FindingFilter, dialect: Dialect, matches?: Matches) {
  return (eb: FindingsQuery) => {
    const all: Expression<SqlBool>[] = []
    const byIds = matches !== undefined && matches !== 'many'
    if (f.target) all.push(eb('findings.target', '=', f.target))
    if (f.state?.length)
      all.push(eb(byIds ? sql<string>`+findings.state` : eb.ref('findings.state'), 'in', f.state))
    // By rank: the column every worst-first index holds.
    if (f.severity?.length)
      all.push(
        eb(
          'findings.severity_rank',
          'in',
          f.severity.map((s) => SEVERITY_ORDER.indexOf(s as Severity)),
        ),
      )
    if (f.check?.length) all.push(eb('findings.check_id', 'in', f.check))
    if (f.namespace?.length) all.push(eb('findings.namespace', 'in', f.namespace))
    if (f.kind?.length) all.push(eb('findings.kind', 'in', f.kind))
    if (f.resourceId !== undefined) all.push(eb('findings.resource_id', '=', f.resourceId))
    // Every word somewhere in the finding's text: the trigram index's matches, and the other words (all of
    // them on PostgreSQL) looked for in each row.
    const indexed = indexedWords(f.q, dialect)
    for (const w of searchWords(f.q))
      if (!indexed.includes(w)) all.push(eb('findings.search_text', 'like', containing(w)))
    if (indexed.length > 0 && matches === 'many') {
      const ids = sql<number>`(select rowid from findings_search where findings_search match ${phraseOf(indexed)})`
      all.push(eb(sql<number>`+findings.id`, 'in', ids))
    } else if (indexed.length > 0 && byIds) {
      const ids = sql<number>`(select value from json_each(${JSON.stringify(matches.ids)}))`
      all.push(eb('findings.id', 'in', ids))
    }
    return eb.and(all)
  }
}

export { FINDING_SORTS } from '../api-types.js'

/** A page of findings; the route adds its limit and offset. */
export interface FindingPage {
  total: number
  items: FindingRow[]
  /** the cursor of the page after this one; null when this is the last */
  next: string | null
}

export interface PageOptions {
  sort: FindingSort
  /** worst, newest, Z first */
  descending: boolean
  limit: number
  /** rows to skip (after the cursor's row, if there is one) */
  offset: number
  /** a previous page's `next`: this page starts after its last row */
  cursor?: string
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

/**
 * What each sort orders by after the state, as the list's columns are named (COLUMNS, and the rank), then
 * the id: the columns of the sort's index (migrations 0002 and 0004), and the key a cursor holds.
 */
const SORT_KEYS: Record<FindingSort, readonly { column: keyof StoredFinding; as: string; part: KeyPart }[]> =
  {
    severity: [{ column: 'severity_rank', as: 'severity_rank', part: 'number' }],
    check: [{ column: 'check_id', as: 'check_id', part: 'string' }],
    resource: [
      { column: 'namespace', as: 'namespace', part: 'string' },
      { column: 'resource_name', as: 'name', part: 'string' },
    ],
    first_seen: [{ column: 'first_seen', as: 'first_seen', part: 'string' }],
    last_seen: [{ column: 'last_seen', as: 'last_seen', part: 'string' }],
  }
const ID_KEY = { column: 'id', as: 'id', part: 'number' } as const

/** Where rows start in a list: after the row with this key (sort key and id) comes the row at `position`. */
interface Anchor {
  position: number
  key: (string | number)[]
}

/**
 * What the lists know of the findings until the next run is recorded: findings change only when one is
 * (record-run.ts writes a run row in the same transaction). Totals by filter, so that a total is counted
 * once per filter and run rather than per page; the trigram index's matches by search; and anchors by
 * list and order: where earlier pages by offset ended, so that a deep offset is walked from the nearest
 * one before it instead of from the first row.
 */
interface Known {
  version: string
  totals: Map<string, number>
  matches: Map<string, Matches>
  anchors: Map<string, Anchor[]>
}
const known = new WeakMap<Store, Known>()
/** Entries of each map of Known: a bound on memory, not a tuning. */
const MAX_KNOWN = 1000

function remember<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= MAX_KNOWN) map.delete(map.keys().next().value!)
  map.set(key, value)
  return value
}

/** Changes whenever a run is recorded, whichever process records it. */
export async function recordedRuns(store: Store): Promise<string> {
  const r = await store.db
    .selectFrom('runs')
    .select((eb) => [eb.fn.countAll<number>().as('runs'), eb.fn.max('id').as('last')])
    .executeTakeFirstOrThrow()
  return `${r.runs}:${r.last}`
}

async function knownNow(store: Store): Promise<Known> {
  // The version is read before anything is counted: a run recorded meanwhile can only leave what is
  // kept newer than its version, never older.
  const version = await recordedRuns(store)
  let k = known.get(store)
  if (k?.version !== version) {
    k = { version, totals: new Map(), matches: new Map(), anchors: new Map() }
    known.set(store, k)
  }
  return k
}

async function matchesOf(store: Store, k: Known, q: string | undefined): Promise<Matches | undefined> {
  const indexed = indexedWords(q, store.dialect)
  if (indexed.length === 0) return undefined
  const phrase = phraseOf(indexed)
  const kept = k.matches.get(phrase)
  if (kept) return kept
  // In rowid order, so the index stops reading after one more than few.
  const rows = await sql<{ id: number }>`select rowid as id from findings_search
    where findings_search match ${phrase} limit ${FEW_MATCHES + 1}`.execute(store.db)
  return remember(
    k.matches,
    phrase,
    rows.rows.length > FEW_MATCHES ? 'many' : { ids: rows.rows.map((r) => r.id) },
  )
}

async function countFindings(
  store: Store,
  k: Known,
  filter: FindingFilter,
  matches?: Matches,
): Promise<number> {
  const key = JSON.stringify(filter)
  const kept = k.totals.get(key)
  if (kept !== undefined) return kept
  const { n } = await base(store)
    .where(where(filter, store.dialect, matches))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  return remember(k.totals, key, Number(n))
}

/** Anchors kept of one list: enough that a deep offset walks a few hundred keys, not tens of thousands. */
const MAX_ANCHORS = 200

/** A list's anchors: the nearest at or before a position, and one more. */
function anchorsOf(k: Known, list: string) {
  const anchors = k.anchors.get(list) ?? []
  return {
    before: (position: number) => anchors.findLast((a) => a.position <= position),
    add(position: number, key: (string | number)[]) {
      if (anchors.some((a) => a.position === position)) return
      // Full, every other one goes: they stay spread over the list, half as dense.
      if (anchors.length >= MAX_ANCHORS) anchors.splice(0, anchors.length, ...anchors.filter((_, i) => i % 2))
      anchors.push({ position, key })
      anchors.sort((x, y) => x.position - y.position)
      if (!k.anchors.has(list)) remember(k.anchors, list, anchors)
    },
  }
}

type SortKey = (typeof SORT_KEYS)[FindingSort][number] | typeof ID_KEY
type Key = (string | number)[]

/** The rows after a key, as two ranges: its ties after its id, and the sort keys after its own. */
function afterKey(
  keys: readonly SortKey[],
  after: Readonly<Key>,
  dir: 'asc' | 'desc',
): Expression<SqlBool>[] {
  const beyond = sql.raw(dir === 'asc' ? '>' : '<')
  const sorted = sql.join(keys.slice(0, -1).map((k) => sql.ref(`findings.${k.column}`)))
  const values = sql.join(after.slice(0, -1))
  return [
    sql<SqlBool>`(${sorted}) = (${values}) and findings.id ${beyond} ${after.at(-1)!}`,
    sql<SqlBool>`(${sorted}) ${beyond} (${values})`,
  ]
}

/**
 * The filter of the range of sort keys after a key. It walks the sort's first column from the key's
 * value; a list filter on that column keeps only its values in the range, for SQLite would seek each
 * value of the list and read every row of those before the key. Text is compared as SQLite does (the
 * bytes of UTF-8); on PostgreSQL, whose order is the database's collation, a list of text stays whole.
 * Undefined when no value is left: the range holds no row.
 */
function afterKeyFilter(
  filter: FindingFilter,
  sort: FindingSort,
  dir: 'asc' | 'desc',
  first: string | number,
  dialect: Dialect,
): FindingFilter | undefined {
  // A key of two columns goes on after its first one's value too (with a second one after the key's).
  const inclusive = SORT_KEYS[sort].length > 1
  const inRange = (v: string | number) => {
    const c =
      typeof v === 'number' ? v - Number(first) : Buffer.compare(Buffer.from(v), Buffer.from(String(first)))
    return (inclusive && c === 0) || (dir === 'asc' ? c > 0 : c < 0)
  }
  const narrow = <F extends 'severity' | 'check' | 'namespace'>(
    field: F,
    value: (v: string) => string | number,
  ): FindingFilter | undefined => {
    const left = filter[field]?.filter((v) => inRange(value(v)))
    return left?.length ? { ...filter, [field]: left } : undefined
  }
  if (sort === 'severity' && filter.severity?.length)
    return narrow('severity', (s) => SEVERITY_ORDER.indexOf(s as Severity))
  if (dialect !== 'sqlite') return filter
  if (sort === 'check' && filter.check?.length) return narrow('check', (v) => v)
  if (sort === 'resource' && filter.namespace?.length) return narrow('namespace', (v) => v)
  return filter
}

/**
 * A page of the list: the total, `limit` findings from the cursor's row (or the start) and `offset` on,
 * and the next page's cursor. A cursor of another sort or direction throws CursorError.
 */
export async function listFindings(
  store: Store,
  filter: FindingFilter,
  page: PageOptions,
): Promise<FindingPage> {
  const { sort, descending, limit, offset } = page
  const keys: SortKey[] = [...SORT_KEYS[sort], ID_KEY]
  const scope = `findings:${sort}:${descending ? 'desc' : 'asc'}`
  const cursor =
    page.cursor === undefined
      ? undefined
      : decodeCursor(
          page.cursor,
          scope,
          keys.map((k) => k.part),
        )
  const k = await knownNow(store)
  const matches = await matchesOf(store, k, filter.q)
  const total = await countFindings(store, k, filter, matches)
  if (total === 0 || (cursor === undefined && offset >= total)) return { total, items: [], next: null }
  // "Descending" severity is worst first, which is rank ascending; ties go the sort's own way.
  const dir = (sort === 'severity' ? !descending : descending) ? 'desc' : 'asc'
  const states = [...new Set(filter.state?.length ? filter.state : FINDING_STATES)]
  // The list from a key, in arms that are each an index walk in the sort's order, which the database
  // merges (SQLite and PostgreSQL both): one per state, where `state in (...)` over one index would sort
  // every matching row; and after a key, one for the rest of its ties and one for the keys after it,
  // where a row-value comparison over (key, id) finds its start in SQLite's index by the key alone, then
  // reads every tie before it (a sort by severity has five keys for all the findings).
  const from = (after: Readonly<Key> | undefined, columns: readonly string[]) => {
    const ranges: { range?: Expression<SqlBool>; filter: FindingFilter | undefined }[] =
      after === undefined
        ? [{ filter }]
        : afterKey(keys, after, dir).map((range, i) => ({
            range,
            filter: i === 0 ? filter : afterKeyFilter(filter, sort, dir, after[0]!, store.dialect),
          }))
    const arms = states.flatMap((state) =>
      ranges.flatMap(({ range, filter: f }) =>
        f === undefined
          ? []
          : [
              base(store)
                .where(where({ ...f, state: [state] }, store.dialect, matches))
                .$if(range !== undefined, (q) => q.where(range!))
                .select(columns as typeof COLUMNS),
            ],
      ),
    )
    let q = arms.reduce((all, arm) => all.unionAll(arm))
    for (const key of keys) q = q.orderBy(sql.ref(key.as), dir)
    return q
  }
  const keyOf = (row: object): Key =>
    keys.map((key) => {
      const v = (row as Record<string, string | number>)[key.as]!
      return key.part === 'number' ? Number(v) : v
    })
  // Skipped rows are walked by their keys alone (an index, where the filters allow), after the cursor
  // or from the nearest anchor an earlier page by offset left; the page is read after the last of them.
  const anchors = anchorsOf(k, `${scope}:${JSON.stringify(filter)}`)
  const start = cursor ? { key: cursor, position: 0 } : anchors.before(offset)
  let after = start?.key
  const skip = offset - (start?.position ?? 0)
  if (skip > 0) {
    const columns = keys.map((key) => `findings.${key.column} as ${key.as}`)
    const before = await from(after, columns)
      .limit(1)
      .offset(skip - 1)
      .executeTakeFirst()
    if (!before) return { total, items: [], next: null }
    after = keyOf(before)
    if (!cursor) anchors.add(offset, after)
  }
  // One row more than the page says whether there is a next one.
  const rows = await from(after, [...COLUMNS, 'findings.severity_rank'])
    .limit(limit + 1)
    .execute()
  const items = rows.slice(0, limit) as Row[]
  const last = items.at(-1)
  const lastKey = last && keyOf(last)
  if (!cursor && lastKey) anchors.add(offset + items.length, lastKey)
  return {
    total,
    items: items.map(toRow),
    next: rows.length > limit && lastKey ? encodeCursor(scope, lastKey) : null,
  }
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
    .where(where({ ...filter, state: ['open'] }, store.dialect))
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
    const day = dayAfter(start, d)
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

/** The date (YYYY-MM-DD) `days` after `day`. */
export function dayAfter(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)
}

export async function listTargets(store: Store): Promise<string[]> {
  const rows = await store.db.selectFrom('runs').select('target').distinct().orderBy('target').execute()
  return rows.map((r) => r.target)
}
