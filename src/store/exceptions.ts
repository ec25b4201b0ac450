/**
 * The debt register: exceptions kept in the store, with owner, reason, expiry and who created them.
 * They have the shape of an exceptions file's entries, so a scan can apply them the same way.
 */
import { type SqlBool, sql } from 'kysely'
import {
  EXPIRING_WITHIN_DAYS,
  type ExceptionInput,
  type ExceptionState,
  type RegisterSummary,
  type StoredExceptionView,
} from '../api-types.js'
import type { ExceptionRule } from '../policy/exceptions.js'
import type { Store } from './connect.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { isStale, REGISTER_FILE_PREFIX, type RegisterUsage, registerUsage } from './exception-usage.js'
import { containing, dayAfter, recordedRuns, searchWords } from './queries.js'
import type { StoredException } from './schema.js'

// What the API takes and answers: one definition, in src/api-types.ts.
export type { ExceptionInput, StoredExceptionView } from '../api-types.js'

function view(r: StoredException, today: string, usage: RegisterUsage): StoredExceptionView {
  const id = Number(r.id)
  return {
    id,
    checks: JSON.parse(r.checks),
    kinds: JSON.parse(r.kinds),
    namespaces: JSON.parse(r.namespaces),
    names: JSON.parse(r.names),
    labels: JSON.parse(r.labels),
    owner: r.owner,
    reason: r.reason,
    expires: r.expires,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expired: r.expires < today,
    matches: usage.matches.get(id) ?? 0,
    stale: isStale(id, r.created_at, usage),
  }
}

const today = () => new Date().toISOString().slice(0, 10)

export async function listExceptions(store: Store): Promise<StoredExceptionView[]> {
  const rows = await store.db.selectFrom('exceptions').selectAll().orderBy('expires').orderBy('id').execute()
  const t = today()
  const usage = await registerUsage(store)
  return rows.map((r) => view(r, t, usage))
}

export interface ExceptionFilter {
  state?: ExceptionState
  /** exactly this owner */
  owner?: string
  /** exceptions that list this check id or glob among their checks, as written */
  check?: string
  /** words to find in the checks, kinds, namespaces, names, labels, owner or reason */
  q?: string
}

export interface ExceptionPage {
  total: number
  items: StoredExceptionView[]
  /** the cursor of the page after this one; null when this is the last */
  next: string | null
}

/** What each exception covers, kept until the next run is recorded: only a run changes it. */
const usages = new WeakMap<Store, { version: string; usage: Promise<RegisterUsage> }>()

async function currentUsage(store: Store): Promise<RegisterUsage> {
  const version = await recordedRuns(store)
  let known = usages.get(store)
  if (known?.version !== version) {
    known = { version, usage: registerUsage(store) }
    usages.set(store, known)
    known.usage.catch(() => usages.delete(store))
  }
  return known.usage
}

function filtered(store: Store, filter: ExceptionFilter, t: string) {
  let q = store.db.selectFrom('exceptions')
  if (filter.state === 'expired') q = q.where('expires', '<', t)
  if (filter.state === 'active' || filter.state === 'expiring') q = q.where('expires', '>=', t)
  if (filter.state === 'expiring') q = q.where('expires', '<=', dayAfter(t, EXPIRING_WITHIN_DAYS))
  if (filter.owner !== undefined) q = q.where('owner', '=', filter.owner)
  // The column holds the JSON array, so a check as written is its JSON string, quotes included.
  if (filter.check !== undefined) q = q.where('checks', 'like', containing(JSON.stringify(filter.check)))
  for (const word of searchWords(filter.q))
    q = q.where(
      sql<string>`lower(checks || ' ' || kinds || ' ' || namespaces || ' ' || names || ' ' || labels || ' ' || owner || ' ' || reason)`,
      'like',
      containing(word),
    )
  return q
}

const CURSOR_SCOPE = 'exceptions'

/**
 * A page of the register, soonest expiry first (ties by id): `limit` exceptions from the cursor's (or
 * the start) and `offset` on, the total, and the next page's cursor. A foreign cursor throws CursorError.
 */
export async function pageExceptions(
  store: Store,
  filter: ExceptionFilter,
  page: { limit: number; offset: number; cursor?: string },
): Promise<ExceptionPage> {
  const after =
    page.cursor === undefined ? undefined : decodeCursor(page.cursor, CURSOR_SCOPE, ['string', 'number'])
  const t = today()
  const usage = await currentUsage(store)
  let q = filtered(store, filter, t)
  if (filter.state === 'stale') {
    // Staleness is known from the findings, not the row: those that may be stale, less those in use.
    q = q.where('created_at', '<', usage.scannedSince)
    // The ids as one parameter: a register in use can outnumber a statement's limit of parameters.
    const inUse = [...usage.matches.keys()]
    q = q.where(
      store.dialect === 'sqlite'
        ? sql<SqlBool>`id not in (select value from json_each(${JSON.stringify(inUse)}))`
        : sql<SqlBool>`id <> all(${inUse}::int[])`,
    )
  }
  const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  const total = Number(n)
  if (total === 0 || (after === undefined && page.offset >= total)) return { total, items: [], next: null }
  const rows = await q
    .selectAll()
    .$if(after !== undefined, (qb) => qb.where(sql`(expires, id)`, '>', sql`(${after![0]}, ${after![1]})`))
    .orderBy('expires')
    .orderBy('id')
    .limit(page.limit + 1)
    .offset(page.offset)
    .execute()
  const items = rows.slice(0, page.limit)
  const last = items.at(-1)
  const next =
    rows.length > page.limit && last ? encodeCursor(CURSOR_SCOPE, [last.expires, Number(last.id)]) : null
  return { total, items: items.map((r) => view(r, t, usage)), next }
}

/** The whole register in figures: by state, what stays in force until when, and who owns most. */
export async function registerSummary(store: Store): Promise<RegisterSummary> {
  const t = today()
  const soon = dayAfter(t, EXPIRING_WITHIN_DAYS)
  const usage = await currentUsage(store)
  const counts = await store.db
    .selectFrom('exceptions')
    .select((eb) => [
      eb.fn.countAll<number>().as('total'),
      eb.fn.sum<number>(eb.case().when('expires', '<', t).then(1).else(0).end()).as('expired'),
      eb.fn
        .sum<number>(
          eb
            .case()
            .when(eb.between('expires', t, soon))
            .then(1)
            .else(0)
            .end(),
        )
        .as('expiring'),
    ])
    .executeTakeFirstOrThrow()
  const inForce = await store.db
    .selectFrom('exceptions')
    .select((eb) => ['expires', eb.fn.countAll<number>().as('count')])
    .where('expires', '>=', t)
    .groupBy('expires')
    .orderBy('expires')
    .execute()
  const owners = await store.db
    .selectFrom('exceptions')
    .select((eb) => ['owner', eb.fn.countAll<number>().as('count')])
    .groupBy('owner')
    .orderBy('count', 'desc')
    .orderBy('owner')
    .limit(200)
    .execute()
  const maybeStale = await store.db
    .selectFrom('exceptions')
    .select('id')
    .where('created_at', '<', usage.scannedSince)
    .execute()
  const total = Number(counts.total)
  const expired = Number(counts.expired ?? 0)
  return {
    total,
    active: total - expired,
    expiring: Number(counts.expiring ?? 0),
    expired,
    stale: maybeStale.filter((r) => !usage.matches.has(Number(r.id))).length,
    expiringWithinDays: EXPIRING_WITHIN_DAYS,
    inForce: inForce.map((r) => ({ expires: r.expires, count: Number(r.count) })),
    owners: owners.map((r) => ({ owner: r.owner, count: Number(r.count) })),
  }
}

export async function getException(store: Store, id: number): Promise<StoredExceptionView | undefined> {
  const r = await store.db.selectFrom('exceptions').selectAll().where('id', '=', id).executeTakeFirst()
  return r ? view(r, today(), await registerUsage(store)) : undefined
}

function columns(input: ExceptionInput) {
  return {
    checks: JSON.stringify(input.checks),
    kinds: JSON.stringify(input.kinds ?? []),
    namespaces: JSON.stringify(input.namespaces ?? []),
    names: JSON.stringify(input.names ?? []),
    labels: JSON.stringify(input.labels ?? {}),
    owner: input.owner,
    reason: input.reason,
    expires: input.expires,
  }
}

export async function createException(
  store: Store,
  input: ExceptionInput,
  createdBy: string,
): Promise<StoredExceptionView> {
  const { id } = await store.db
    .insertInto('exceptions')
    .values({ ...columns(input), created_by: createdBy, created_at: new Date().toISOString() })
    .returning('id')
    .executeTakeFirstOrThrow()
  return (await getException(store, Number(id)))!
}

export async function updateException(
  store: Store,
  id: number,
  input: ExceptionInput,
): Promise<StoredExceptionView | undefined> {
  const r = await store.db
    .updateTable('exceptions')
    .set(columns(input))
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(r.numUpdatedRows) === 0 ? undefined : getException(store, id)
}

export async function deleteException(store: Store, id: number): Promise<boolean> {
  const r = await store.db.deleteFrom('exceptions').where('id', '=', id).executeTakeFirst()
  return Number(r.numDeletedRows) > 0
}

/** The register as exception rules, for a scan to apply (`plimsoll scan --store`). */
export async function exceptionRules(store: Store): Promise<ExceptionRule[]> {
  return (await listExceptions(store)).map((e) => ({
    file: `${REGISTER_FILE_PREFIX}${e.id}`,
    index: e.id,
    checks: e.checks,
    kinds: e.kinds,
    namespaces: e.namespaces,
    names: e.names,
    labels: e.labels,
    owner: e.owner,
    reason: e.reason,
    expires: e.expires,
  }))
}
