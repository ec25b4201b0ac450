/**
 * The store's read side: what the API and the dashboard ask of it. Every query is the same SQL on
 * SQLite and PostgreSQL; what depends on the check library (categories, frameworks) is joined in memory.
 */
import {
  type Compilable,
  type CompiledQuery,
  type Expression,
  type ExpressionBuilder,
  type SqlBool,
  sql,
} from 'kysely'
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

/** Severities by `severity_rank`: worst first. */
export const SEVERITY_ORDER = [
  'critical',
  'high',
  'medium',
  'low',
  'info',
] as const satisfies readonly Severity[]

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
function likePattern(word: string): string {
  return `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/** LIKE `%word%`, with the escape that takes the word's own `%`, `_` and `\` literally. */
export function containing(word: string) {
  return sql<string>`${likePattern(word)} escape '\\'`
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
 * What the trigram index found for a search: the ids when they are few (as a JSON array), or `many`. Few
 * are read by id and sorted; many are looked up while walking the list's order, where a page ends after
 * about `limit / share` rows. Without stored statistics SQLite would guess, and often walk every finding
 * in the state to find three; each plan is forced by keeping the other one's column out of the index
 * (`+column`).
 */
type Matches = { ids: string } | 'many'

/**
 * The values a filter binds, as the SQL takes them (ranks for severities, LIKE patterns for words): what a
 * query's where clause is built from. Which of them are present, and how many, is the clause's shape.
 */
interface WhereValues {
  target?: string
  state?: string[]
  ranks?: number[]
  check?: string[]
  namespace?: string[]
  kind?: string[]
  resourceId?: number
  /** LIKE patterns of the words the trigram index does not find (every word, on PostgreSQL) */
  like?: string[]
  /** the trigram index's query, when it matches many */
  phrase?: string
  /** the ids it matches, when few: a JSON array */
  ids?: string
}

function whereValues(f: FindingFilter, dialect: Dialect, matches?: Matches): WhereValues {
  const indexed = indexedWords(f.q, dialect)
  const like = searchWords(f.q)
    .filter((w) => !indexed.includes(w))
    .map(likePattern)
  const found = indexed.length > 0 ? matches : undefined
  return {
    ...(f.target ? { target: f.target } : {}),
    ...(f.state?.length ? { state: f.state } : {}),
    // By rank: the column every worst-first index holds.
    ...(f.severity?.length ? { ranks: f.severity.map((s) => SEVERITY_ORDER.indexOf(s as Severity)) } : {}),
    ...(f.check?.length ? { check: f.check } : {}),
    ...(f.namespace?.length ? { namespace: f.namespace } : {}),
    ...(f.kind?.length ? { kind: f.kind } : {}),
    ...(f.resourceId !== undefined ? { resourceId: f.resourceId } : {}),
    ...(like.length ? { like } : {}),
    ...(found === 'many' ? { phrase: phraseOf(indexed) } : found ? { ids: found.ids } : {}),
  }
}

/** The where clause of these values; it depends only on which are present and how many. */
function where(w: WhereValues) {
  return (eb: FindingsQuery) => {
    const all: Expression<SqlBool>[] = []
    if (w.target !== undefined) all.push(eb('findings.target', '=', w.target))
    if (w.state !== undefined)
      all.push(
        eb(w.ids !== undefined ? sql<string>`+findings.state` : eb.ref('findings.state'), 'in', w.state),
      )
    if (w.ranks !== undefined) all.push(eb('findings.severity_rank', 'in', w.ranks))
    if (w.check !== undefined) all.push(eb('findings.check_id', 'in', w.check))
    if (w.namespace !== undefined) all.push(eb('findings.namespace', 'in', w.namespace))
    if (w.kind !== undefined) all.push(eb('findings.kind', 'in', w.kind))
    if (w.resourceId !== undefined) all.push(eb('findings.resource_id', '=', w.resourceId))
    // Every word somewhere in the finding's text: the trigram index's matches, and the other words (all of
    // them on PostgreSQL) looked for in each row.
    for (const pattern of w.like ?? [])
      all.push(eb('findings.search_text', 'like', sql<string>`${pattern} escape '\\'`))
    if (w.phrase !== undefined) {
      const ids = sql<number>`(select rowid from findings_search where findings_search match ${w.phrase})`
      all.push(eb(sql<number>`+findings.id`, 'in', ids))
    } else if (w.ids !== undefined) {
      const ids = sql<number>`(select value from json_each(${w.ids}))`
      all.push(eb('findings.id', 'in', ids))
    }
    return eb.and(all)
  }
}

/** Where a template binds its query's value number `index`. */
class Slot {
  constructor(readonly index: number) {}
}

/**
 * A tree of values (objects, arrays, strings, numbers), flattened: its shape (which keys, how many items),
 * its values in order, and the same tree with each value replaced by its Slot.
 */
function slotted<T>(values: T): { shape: string; flat: unknown[]; slots: T } {
  const flat: unknown[] = []
  let shape = ''
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      shape += '['
      const items = v.map(walk)
      shape += ']'
      return items
    }
    if (typeof v === 'object' && v !== null) {
      shape += '{'
      const fields: Record<string, unknown> = {}
      for (const [name, value] of Object.entries(v)) {
        if (value === undefined) continue
        shape += `${name}:`
        fields[name] = walk(value)
        shape += ','
      }
      shape += '}'
      return fields
    }
    shape += '?'
    flat.push(v)
    return new Slot(flat.length - 1)
  }
  return { slots: walk(values) as T, shape, flat }
}

/** Compiled queries by shape, per store (`remember` bounds them). */
const templates = new WeakMap<Store, Map<string, CompiledQuery>>()

/**
 * The rows of the query that `build` makes of `form` (what is written into its SQL) and `values` (what
 * it binds), with Kysely building and compiling it once per form and shape of the values: building and
 * compiling cost as much as SQLite's reading a page. `build` must make the same SQL of the same form for
 * any values of the same shape, placing each value where it would a real one; it is given Slots, and
 * each run binds its own values to them. SQLite keeps the statement of that SQL prepared (sqlite.ts).
 */
async function runTemplate<F, V, R>(
  store: Store,
  name: string,
  form: F,
  values: V,
  build: (store: Store, form: F, values: V) => Compilable<R>,
): Promise<R[]> {
  const { shape, flat, slots } = slotted(values)
  let kept = templates.get(store)
  if (!kept) {
    kept = new Map()
    templates.set(store, kept)
  }
  const key = `${name}:${JSON.stringify(form)}:${shape}`
  const template = kept.get(key) ?? remember(kept, key, build(store, form, slots).compile())
  const parameters = template.parameters.map((p) => (p instanceof Slot ? flat[p.index] : p))
  return (await store.db.executeQuery<R>({ ...template, parameters } as CompiledQuery<R>)).rows
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
 * SQLite: toRow's finding as JSON text, written by SQLite. Reading a page converts one string a row
 * instead of 22 values (most of a page's time was that), and nothing is serialized after. The same bytes
 * as JSON.stringify(toRow(row)): the keys in its order (the response schema's), integers, and strings
 * escaped as JSON.stringify escapes them, which SQLite does for every character; `exception` is stored
 * as JSON.stringify wrote it, and json() writes it again as it was (test/unit/api-findings-json.test.ts
 * pins the answers).
 */
const FINDING_JSON = sql<string>`json_object('id', findings.id, 'target', findings.target,
  'checkId', findings.check_id, 'severity', findings.severity, 'category', findings.category,
  'message', findings.message, 'state', findings.state, 'path', findings.path,
  'container', findings.container, 'file', findings.file, 'line', findings.line,
  'column', findings."column", 'firstSeen', findings.first_seen, 'lastSeen', findings.last_seen,
  'resolvedAt', findings.resolved_at, 'reopened', findings.reopened,
  'exception', json(nullif(findings.exception, '')),
  'resource', json_object('id', findings.resource_id, 'kind', findings.kind,
    'namespace', findings.namespace, 'name', findings.resource_name, 'group', findings.api_group))`

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

/**
 * Changes whenever a run is recorded, whichever process records it, and whenever a live run (a cluster
 * watcher's, which stays open) writes a batch: each batch moves its run's finished_at.
 */
export async function recordedRuns(store: Store): Promise<string> {
  const [r] = await runTemplate(store, 'runs', null, {}, (store) =>
    store.db
      .selectFrom('runs')
      .select((eb) => [
        eb.fn.countAll<number>().as('runs'),
        eb.fn.max('id').as('last'),
        eb.fn.max('finished_at').as('finished'),
      ]),
  )
  return `${r!.runs}:${r!.last}:${r!.finished}`
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
    rows.rows.length > FEW_MATCHES ? 'many' : { ids: JSON.stringify(rows.rows.map((r) => r.id)) },
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
    .where(where(whereValues(filter, store.dialect, matches)))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  return remember(k.totals, key, Number(n))
}

/** Anchors kept of one list: enough that a deep offset walks a few hundred keys, not tens of thousands. */
const MAX_ANCHORS = 200
/** Keys walked between the anchors a walk leaves (about a tenth of a millisecond of SQLite's time). */
const ANCHOR_STRIDE = 1000

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

/** What a list's SQL is made of: its sort, direction and columns (the values it binds aside). */
interface ListForm {
  sort: FindingSort
  dir: 'asc' | 'desc'
  /** the finding's columns (toRow's), the finding as JSON (SQLite), or only the sort key */
  columns: 'row' | 'json' | 'key'
}

/**
 * What a list binds: per arm, its filter's values and where it starts (after a key, its ties after its
 * id or the sort keys after its own); how many rows, and how many skipped.
 */
interface ListValues {
  arms: { where: WhereValues; tiesAfter?: Key; keysAfter?: Key }[]
  limit: number
  offset?: number
}

/**
 * The list's query: arms that are each an index walk in the sort's order, which the database merges
 * (SQLite and PostgreSQL both). One per state, where `state in (...)` over one index would sort every
 * matching row; and after a key, one for the rest of its ties and one for the keys after it, where a
 * row-value comparison over (key, id) finds its start in SQLite's index by the key alone, then reads
 * every tie before it (a sort by severity has five keys for all the findings).
 */
function listQuery(store: Store, form: ListForm, values: ListValues) {
  const keys: SortKey[] = [...SORT_KEYS[form.sort], ID_KEY]
  const sortKey = keys.map((key) => `findings.${key.column} as ${key.as}`)
  const columns =
    form.columns === 'row'
      ? [...COLUMNS, 'findings.severity_rank']
      : form.columns === 'json'
        ? [...sortKey, FINDING_JSON.as('json')]
        : sortKey
  const beyond = sql.raw(form.dir === 'asc' ? '>' : '<')
  const sorted = sql.join(keys.slice(0, -1).map((k) => sql.ref(`findings.${k.column}`)))
  const arms = values.arms.map((arm) => {
    let q = base(store).where(where(arm.where))
    const ties = arm.tiesAfter
    if (ties)
      q = q.where(
        sql<SqlBool>`(${sorted}) = (${sql.join(ties.slice(0, -1))}) and findings.id ${beyond} ${ties.at(-1)!}`,
      )
    if (arm.keysAfter) q = q.where(sql<SqlBool>`(${sorted}) ${beyond} (${sql.join(arm.keysAfter)})`)
    return q.select(columns as unknown as typeof COLUMNS)
  })
  let q = arms.reduce((all, arm) => all.unionAll(arm))
  for (const key of keys) q = q.orderBy(sql.ref(key.as), form.dir)
  q = q.limit(values.limit)
  return values.offset === undefined ? q : q.offset(values.offset)
}

/** A list's rows as listQuery selects them. */
type ListRow = Record<string, string | number | null>

/**
 * A page of the list as rows of `columns`: the total, `limit` rows from the cursor's row (or the start)
 * and `offset` on, and the next page's cursor. A cursor of another sort or direction throws CursorError.
 */
async function listPage(
  store: Store,
  filter: FindingFilter,
  page: PageOptions,
  columns: 'row' | 'json',
): Promise<{ total: number; rows: ListRow[]; next: string | null }> {
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
  if (total === 0 || (cursor === undefined && offset >= total)) return { total, rows: [], next: null }
  // "Descending" severity is worst first, which is rank ascending; ties go the sort's own way.
  const dir = (sort === 'severity' ? !descending : descending) ? 'desc' : 'asc'
  const states = [...new Set(filter.state?.length ? filter.state : FINDING_STATES)]
  const inState = (f: FindingFilter, state: FindingState) =>
    whereValues({ ...f, state: [state] }, store.dialect, matches)
  /** The arms of the list from a key (see listQuery). */
  const armsFrom = (after: Readonly<Key> | undefined): ListValues['arms'] => {
    if (after === undefined) return states.map((state) => ({ where: inState(filter, state) }))
    const rest = afterKeyFilter(filter, sort, dir, after[0]!, store.dialect)
    return states.flatMap((state) => [
      { where: inState(filter, state), tiesAfter: [...after] },
      ...(rest ? [{ where: inState(rest, state), keysAfter: after.slice(0, -1) }] : []),
    ])
  }
  const keyOf = (row: ListRow): Key =>
    keys.map((key) => {
      const v = row[key.as]!
      return key.part === 'number' ? Number(v) : v
    })
  // Skipped rows are walked by their keys alone (an index, where the filters allow), after the cursor
  // or from the nearest anchor an earlier page by offset left; the page is read after the last of them.
  // Without a cursor the walk goes in strides, each leaving an anchor: a later offset anywhere near it
  // walks a stride at most, where a walk of tens of thousands of keys cost a millisecond or more.
  const anchors = anchorsOf(k, `${scope}:${JSON.stringify(filter)}`)
  const start = cursor ? { key: cursor, position: 0 } : anchors.before(offset)
  let after = start?.key
  for (let position = start?.position ?? 0; position < offset; ) {
    const stride = cursor ? offset - position : Math.min(ANCHOR_STRIDE, offset - position)
    const [before] = await runTemplate(
      store,
      'findings',
      { sort, dir, columns: 'key' },
      { arms: armsFrom(after), limit: 1, offset: stride - 1 },
      listQuery,
    )
    if (!before) return { total, rows: [], next: null }
    after = keyOf(before)
    position += stride
    if (!cursor) anchors.add(position, after)
  }
  // One row more than the page says whether there is a next one.
  const rows = await runTemplate(
    store,
    'findings',
    { sort, dir, columns },
    { arms: armsFrom(after), limit: limit + 1 },
    listQuery,
  )
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  const lastKey = last && keyOf(last)
  if (!cursor && lastKey) anchors.add(offset + items.length, lastKey)
  return {
    total,
    rows: items,
    next: rows.length > limit && lastKey ? encodeCursor(scope, lastKey) : null,
  }
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
  const { total, rows, next } = await listPage(store, filter, page, 'row')
  return { total, items: rows.map((r) => toRow(r as unknown as Row)), next }
}

/** A page of findings with its items as JSON text: `[...]`, each item as JSON.stringify(FindingRow). */
export interface FindingPageJson {
  total: number
  items: string
  next: string | null
}

/**
 * SQLite: listFindings' page, its items as JSON written by SQLite (FINDING_JSON), for the API to answer
 * without making an object of each.
 */
export async function listFindingsJson(
  store: Store,
  filter: FindingFilter,
  page: PageOptions,
): Promise<FindingPageJson> {
  if (store.dialect !== 'sqlite') throw new Error('findings as JSON are written by SQLite only')
  const { total, rows, next } = await listPage(store, filter, page, 'json')
  return { total, items: `[${rows.map((r) => r.json).join(',')}]`, next }
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

/** Open findings counted by one column, most first, with the worst severity among them. */
export async function countOpen(
  store: Store,
  by: 'severity' | 'check_id' | 'namespace',
  filter: FindingFilter,
  limit = 1000,
): Promise<{ key: string; count: number; worst: Severity }[]> {
  const column = `findings.${by}` as const
  const rows = await base(store)
    .where(where(whereValues({ ...filter, state: ['open'] }, store.dialect)))
    .select([
      `${column} as key`,
      (eb) => eb.fn.countAll<number>().as('count'),
      (eb) => eb.fn.min('findings.severity_rank').as('worst'),
    ])
    .groupBy(column)
    .orderBy('count', 'desc')
    .orderBy(column)
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    key: String(r.key),
    count: Number(r.count),
    worst: SEVERITY_ORDER[Number(r.worst)] ?? 'info',
  }))
}

/**
 * What the findings say of a check the library does not hold (an imported tool's, a custom policy's):
 * its worst severity and its category, from every finding that carries its id, in any state.
 */
export async function checkOfFindings(
  store: Store,
  checkId: string,
): Promise<{ severity: Severity; category: string; findings: number; open: number } | undefined> {
  const row = await store.db
    .selectFrom('findings')
    .where('check_id', '=', checkId)
    .select((eb) => [
      eb.fn.min('severity_rank').as('worst'),
      eb.fn.min('category').as('category'),
      eb.fn.countAll<number>().as('n'),
      sql<number>`sum(case when state = 'open' then 1 else 0 end)`.as('open'),
    ])
    .executeTakeFirstOrThrow()
  if (Number(row.n) === 0) return undefined
  return {
    severity: SEVERITY_ORDER[Number(row.worst)] ?? 'info',
    category: String(row.category),
    findings: Number(row.n),
    open: Number(row.open ?? 0),
  }
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
