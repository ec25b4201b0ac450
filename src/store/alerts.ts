/**
 * The audit alerts in the store: silences (Alertmanager's: matchers, a time range, who and why) and the
 * notifiers' outbox (a notification is written here before it is sent, and stays until the receiver
 * has accepted it). The pipeline in src/audit/alerts reads and writes through these; both dialects run
 * the same statements.
 */
import { randomUUID } from 'node:crypto'
import type { StoreWriter } from './audit-queue.js'
import type { Store } from './connect.js'

export interface StoredMatcher {
  readonly name: string
  readonly type: '=' | '!=' | '=~' | '!~'
  readonly value: string
}

export interface StoredSilence {
  readonly id: string
  readonly matchers: readonly StoredMatcher[]
  readonly startsAt: string
  readonly endsAt: string
  readonly createdBy: string
  readonly comment: string
  readonly createdAt: string
  readonly updatedAt: string
}

export interface NewSilence {
  readonly matchers: readonly StoredMatcher[]
  readonly startsAt: string
  readonly endsAt: string
  readonly createdBy: string
  readonly comment: string
}

const iso = (ms: number) => new Date(ms).toISOString()

/** Stores a silence (validated by the caller) and returns it with its new id. */
export async function createSilence(store: Store, s: NewSilence, now = Date.now()): Promise<StoredSilence> {
  const row = {
    id: randomUUID(),
    matchers: JSON.stringify(s.matchers),
    starts_at: s.startsAt,
    ends_at: s.endsAt,
    created_by: s.createdBy,
    comment: s.comment,
    created_at: iso(now),
    updated_at: iso(now),
  }
  await store.db.insertInto('alert_silences').values(row).execute()
  return toSilence(row)
}

export interface SilenceFilter {
  /** only those not yet ended at this ISO time (active or pending); default: all */
  notEndedAt?: string
}

export async function listSilences(store: Store, filter: SilenceFilter = {}): Promise<StoredSilence[]> {
  let q = store.db.selectFrom('alert_silences').selectAll()
  if (filter.notEndedAt !== undefined) q = q.where('ends_at', '>', filter.notEndedAt)
  const rows = await q.orderBy('starts_at').orderBy('id').execute()
  return rows.map(toSilence)
}

export async function getSilence(store: Store, id: string): Promise<StoredSilence | undefined> {
  const row = await store.db.selectFrom('alert_silences').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toSilence(row) : undefined
}

/** Ends a silence now (Alertmanager's expire): true when it was active or pending. */
export async function expireSilence(store: Store, id: string, now = Date.now()): Promise<boolean> {
  const at = iso(now)
  const r = await store.db
    .updateTable('alert_silences')
    .set({ ends_at: at, updated_at: at })
    .where('id', '=', id)
    .where('ends_at', '>', at)
    .executeTakeFirst()
  return Number(r.numUpdatedRows) > 0
}

/** Deletes silences that ended before `before` (ISO). */
export async function pruneSilences(store: Store, before: string): Promise<number> {
  const r = await store.db.deleteFrom('alert_silences').where('ends_at', '<', before).executeTakeFirst()
  return Number(r.numDeletedRows)
}

function toSilence(r: {
  id: string
  matchers: string
  starts_at: string
  ends_at: string
  created_by: string
  comment: string
  created_at: string
  updated_at: string
}): StoredSilence {
  return {
    id: r.id,
    matchers: JSON.parse(r.matchers) as StoredMatcher[],
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    createdBy: r.created_by,
    comment: r.comment,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

// ---- outbox ----

export interface NewOutboxEntry {
  readonly receiver: string
  readonly integration: string
  readonly groupKey: string
  /** JSON text of what is to be sent */
  readonly payload: string
}

export interface OutboxEntry extends NewOutboxEntry {
  readonly id: number
  readonly createdAt: string
  readonly attempts: number
  readonly nextAttemptAt: string
  readonly delivered: boolean
  readonly deliveredAt: string | null
  readonly lastError: string | null
}

/** Rows per statement: well under both dialects' limits on bound values. */
const CHUNK = 100

/** Writes entries, in order, in one transaction: when it returns they survive a crash. */
export async function enqueueOutbox(
  store: Store,
  entries: readonly NewOutboxEntry[],
  now = Date.now(),
): Promise<void> {
  if (entries.length === 0) return
  await store.db.transaction().execute((trx) => insertOutbox(trx, entries, now))
}

/** Writes entries, in order, with `db`: the caller's transaction, which may write more beside them. */
export async function insertOutbox(
  db: StoreWriter,
  entries: readonly NewOutboxEntry[],
  now = Date.now(),
): Promise<void> {
  const at = iso(now)
  for (let i = 0; i < entries.length; i += CHUNK)
    await db
      .insertInto('alert_outbox')
      .values(
        entries.slice(i, i + CHUNK).map((e) => ({
          receiver: e.receiver,
          integration: e.integration,
          group_key: e.groupKey,
          payload: e.payload,
          created_at: at,
          next_attempt_at: at,
        })),
      )
      .execute()
}

/**
 * Takes the entries that may be sent now: for each receiver integration and group, its oldest
 * undelivered entry (later ones wait behind it, so a group's notifications arrive in order), if its
 * next attempt is due and no other sender holds it. Each is leased for `leaseMs`: another outbox over the
 * same store leaves it alone until then.
 */
export async function claimOutbox(
  store: Store,
  now: number,
  leaseMs: number,
  limit = 100,
): Promise<OutboxEntry[]> {
  const at = iso(now)
  const heads = await store.db
    .selectFrom('alert_outbox')
    .select((eb) => eb.fn.min('id').as('id'))
    .where('delivered', '=', 0)
    .groupBy(['receiver', 'integration', 'group_key'])
    .execute()
  const ids = heads.map((h) => Number(h.id)).sort((a, b) => a - b)
  const out: OutboxEntry[] = []
  for (let i = 0; i < ids.length && out.length < limit; i += CHUNK) {
    const rows = await store.db
      .selectFrom('alert_outbox')
      .selectAll()
      .where('id', 'in', ids.slice(i, i + CHUNK))
      .where('next_attempt_at', '<=', at)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', at)]))
      .orderBy('id')
      .execute()
    for (const row of rows) {
      if (out.length >= limit) break
      const r = await store.db
        .updateTable('alert_outbox')
        .set({ lease_until: iso(now + leaseMs) })
        .where('id', '=', row.id)
        .where('delivered', '=', 0)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', at)]))
        .executeTakeFirst()
      if (Number(r.numUpdatedRows) === 1) out.push(toEntry(row))
    }
  }
  return out
}

export async function markDelivered(store: Store, id: number, now = Date.now()): Promise<void> {
  await store.db
    .updateTable('alert_outbox')
    .set((eb) => ({
      delivered: 1,
      delivered_at: iso(now),
      lease_until: null,
      last_error: null,
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', '=', id)
    .execute()
}

export async function markFailed(
  store: Store,
  id: number,
  nextAttemptAt: number,
  error: string,
): Promise<void> {
  await store.db
    .updateTable('alert_outbox')
    .set((eb) => ({
      next_attempt_at: iso(nextAttemptAt),
      lease_until: null,
      last_error: error.slice(0, 2000),
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', '=', id)
    .execute()
}

export interface OutboxFilter {
  delivered?: boolean
  limit?: number
}

export async function listOutbox(store: Store, filter: OutboxFilter = {}): Promise<OutboxEntry[]> {
  let q = store.db.selectFrom('alert_outbox').selectAll()
  if (filter.delivered !== undefined) q = q.where('delivered', '=', filter.delivered ? 1 : 0)
  const rows = await q
    .orderBy('id')
    .limit(filter.limit ?? 1000)
    .execute()
  return rows.map(toEntry)
}

export async function countPendingOutbox(store: Store): Promise<number> {
  const r = await store.db
    .selectFrom('alert_outbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('delivered', '=', 0)
    .executeTakeFirstOrThrow()
  return Number(r.n)
}

/**
 * When the next claim can find something (ISO): the earliest time a head of the queue (the oldest
 * undelivered entry of its integration and group) is due and not leased; undefined when none is pending.
 */
export async function nextOutboxAttempt(store: Store): Promise<string | undefined> {
  const rows = await store.db
    .selectFrom('alert_outbox')
    .select(['next_attempt_at', 'lease_until'])
    .where('id', 'in', (qb) =>
      qb
        .selectFrom('alert_outbox')
        .select((eb) => eb.fn.min<number>('id').as('id'))
        .where('delivered', '=', 0)
        .groupBy(['receiver', 'integration', 'group_key']),
    )
    .execute()
  let next: string | undefined
  for (const r of rows) {
    const at = r.lease_until && r.lease_until > r.next_attempt_at ? r.lease_until : r.next_attempt_at
    if (next === undefined || at < next) next = at
  }
  return next
}

/** Deletes delivered entries delivered before `before` (ISO). */
export async function pruneOutbox(store: Store, before: string): Promise<number> {
  const r = await store.db
    .deleteFrom('alert_outbox')
    .where('delivered', '=', 1)
    .where('delivered_at', '<', before)
    .executeTakeFirst()
  return Number(r.numDeletedRows)
}

function toEntry(r: {
  id: number
  receiver: string
  integration: string
  group_key: string
  payload: string
  created_at: string
  attempts: number
  next_attempt_at: string
  delivered: number
  delivered_at: string | null
  last_error: string | null
}): OutboxEntry {
  return {
    id: Number(r.id),
    receiver: r.receiver,
    integration: r.integration,
    groupKey: r.group_key,
    payload: r.payload,
    createdAt: r.created_at,
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at,
    delivered: Number(r.delivered) === 1,
    deliveredAt: r.delivered_at,
    lastError: r.last_error,
  }
}
