/**
 * The audit door's queue: the API server's audit events, stored as received (webhook batches, followed
 * log files) before they are acknowledged, and read by the rules in order, in pages.
 *
 * - Durable before acknowledged: `enqueueAuditEvents` writes a batch in one transaction; the receiver
 *   answers 200 only once it has committed.
 * - Exactly once: `consumeAuditEvents` hands a page of unprocessed events and a transaction to the
 *   caller, which writes what it found (detections) in that transaction; the page is marked processed
 *   in it too, so both commit or neither does. A consumer that throws or dies leaves the page pending.
 *   On PostgreSQL the page's rows are locked (`for update skip locked`): consumers in several replicas
 *   take different pages. On SQLite a transaction holds the store's write lock, so they take turns.
 * - Duplicates: an event is its auditID and stage; the same one sent again (the API server resends a
 *   batch whose answer timed out) while its row is kept is not stored again. Events without an auditID
 *   or a stage are always stored.
 * - Bounded: processed events are deleted once older than a retention (`pruneAuditEvents`); the
 *   retention is also the window within which duplicates are recognised.
 */
import { type Kysely, sql, type Transaction } from 'kysely'
import type { AuditEvent } from '../audit/types.js'
import type { Store } from './connect.js'
import type { Database } from './schema.js'

/** A transaction of the store, or the store itself: where a write goes. */
export type StoreWriter = Kysely<Database> | Transaction<Database>

export interface QueuedAuditEvent {
  /** the queue's order: ids count up in the order events were stored */
  readonly id: number
  readonly receivedAt: string
  /** 'webhook', or 'log:<name>' */
  readonly source: string
  readonly auditID: string | undefined
  readonly stage: string | undefined
  /** the event's JSON text, as stored */
  readonly json: string
  /** the event, parsed */
  readonly event: AuditEvent
}

export interface EnqueueResult {
  /** events stored */
  readonly stored: number
  /** events not stored: the same auditID and stage is already in the queue */
  readonly duplicates: number
}

/** Rows per INSERT: 7 values a row, well under both dialects' limits on bound values. */
const CHUNK = 200

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

/**
 * Stores events with `db`, which may be the caller's transaction (the log follower moves its position
 * in the same one). Use `enqueueAuditEvents` to store a batch in a transaction of its own.
 */
export interface EnqueueOptions {
  /** ISO time stored as `receivedAt` (default: now) */
  readonly receivedAt?: string
  /**
   * Each event's JSON text as it came (the receiver cuts them out of the batch, the follower has its
   * lines), stored instead of JSON.stringify of the event: the same length as `events`.
   */
  readonly texts?: readonly string[]
}

export async function insertAuditEvents(
  db: StoreWriter,
  source: string,
  events: readonly AuditEvent[],
  options: EnqueueOptions = {},
): Promise<EnqueueResult> {
  const receivedAt = options.receivedAt ?? new Date().toISOString()
  const texts = options.texts?.length === events.length ? options.texts : undefined
  let stored = 0
  // The same auditID and stage twice in one batch: the later one is a duplicate too.
  const seen = new Set<string>()
  const rows: {
    received_at: string
    source: string
    audit_id: string | null
    stage: string | null
    event: string
  }[] = []
  for (const [i, event] of events.entries()) {
    const auditId = text(event.auditID)
    const stage = text(event.stage)
    if (auditId !== null && stage !== null) {
      const key = `${auditId}\u0000${stage}`
      if (seen.has(key)) continue
      seen.add(key)
    }
    rows.push({
      received_at: receivedAt,
      source,
      audit_id: auditId,
      stage,
      event: texts?.[i] ?? JSON.stringify(event),
    })
  }
  for (let i = 0; i < rows.length; i += CHUNK) {
    const inserted = await db
      .insertInto('audit_events')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .execute()
    stored += inserted.length
  }
  return { stored, duplicates: events.length - stored }
}

/** Stores a batch of events in one transaction: once it resolves, they are durable. */
export async function enqueueAuditEvents(
  store: Store,
  source: string,
  events: readonly AuditEvent[],
  options: EnqueueOptions = {},
): Promise<EnqueueResult> {
  if (events.length === 0) return { stored: 0, duplicates: 0 }
  return store.db.transaction().execute((trx) => insertAuditEvents(trx, source, events, options))
}

export interface ConsumeOptions {
  /** events per page (default 500, at most 5,000) */
  readonly limit?: number
  /** only events from this source */
  readonly source?: string
}

/**
 * What the consumer does with a page: `events` in queue order, `trx` the transaction to write its own
 * results in. It must not commit or roll back the transaction itself; throwing rolls everything back and
 * leaves the page pending.
 */
export type ConsumePage = (events: readonly QueuedAuditEvent[], trx: Transaction<Database>) => Promise<void>

/**
 * Reads the next page of unprocessed events, oldest first, hands it to `handle`, and marks it processed
 * in the same transaction. Resolves with the number of events handled: 0 when the queue is empty (then
 * `handle` is not called).
 */
export async function consumeAuditEvents(
  store: Store,
  handle: ConsumePage,
  options: ConsumeOptions = {},
): Promise<number> {
  const limit = Math.max(1, Math.min(options.limit ?? 500, 5000))
  return store.db.transaction().execute(async (trx) => {
    let q = trx
      .selectFrom('audit_events')
      .select(['id', 'received_at', 'source', 'audit_id', 'stage', 'event'])
      .where('processed', '=', 0)
    if (options.source !== undefined) q = q.where('source', '=', options.source)
    q = q.orderBy('id').limit(limit)
    if (store.dialect === 'postgres') q = q.forUpdate().skipLocked()
    const rows = await q.execute()
    if (rows.length === 0) return 0
    const events = rows.map(toQueued)
    await handle(events, trx)
    const now = new Date().toISOString()
    const ids = events.map((e) => e.id)
    for (let i = 0; i < ids.length; i += 1000)
      await trx
        .updateTable('audit_events')
        .set({ processed: 1, processed_at: now })
        .where('id', 'in', ids.slice(i, i + 1000))
        .execute()
    return events.length
  })
}

/**
 * The next page of unprocessed events, oldest first, read without holding anything: for a consumer that
 * evaluates a page at length and would hold the store's write lock meanwhile with `consumeAuditEvents`
 * (on SQLite the receiver's batches wait for it). Then `completeAuditEvents` with what it found.
 */
export async function readPendingAuditEvents(
  store: Store,
  options: ConsumeOptions & { afterId?: number } = {},
): Promise<QueuedAuditEvent[]> {
  const limit = Math.max(1, Math.min(options.limit ?? 500, 5000))
  let q = store.db
    .selectFrom('audit_events')
    .select(['id', 'received_at', 'source', 'audit_id', 'stage', 'event'])
    .where('processed', '=', 0)
  if (options.source !== undefined) q = q.where('source', '=', options.source)
  if (options.afterId !== undefined) q = q.where('id', '>', options.afterId)
  const rows = await q.orderBy('id').limit(limit).execute()
  return rows.map(toQueued)
}

/**
 * Marks `events` (read with `readPendingAuditEvents`) processed and runs `write` (the consumer's own
 * writes) in one short transaction. Resolves false, having written nothing, when any of them was
 * processed meanwhile (another consumer took it): read again and evaluate what is still pending.
 */
export async function completeAuditEvents(
  store: Store,
  events: readonly Pick<QueuedAuditEvent, 'id'>[],
  write: (trx: Transaction<Database>) => Promise<void> = async () => {},
): Promise<boolean> {
  if (events.length === 0) return true
  try {
    await store.db.transaction().execute(async (trx) => {
      const now = new Date().toISOString()
      const ids = events.map((e) => e.id)
      let marked = 0
      for (let i = 0; i < ids.length; i += 1000) {
        const r = await trx
          .updateTable('audit_events')
          .set({ processed: 1, processed_at: now })
          .where('id', 'in', ids.slice(i, i + 1000))
          .where('processed', '=', 0)
          .executeTakeFirst()
        marked += Number(r.numUpdatedRows)
      }
      if (marked !== ids.length) throw new TakenMeanwhile()
      await write(trx)
    })
    return true
  } catch (err) {
    if (err instanceof TakenMeanwhile) return false
    throw err
  }
}

class TakenMeanwhile extends Error {}

function toQueued(r: {
  id: number
  received_at: string
  source: string
  audit_id: string | null
  stage: string | null
  event: string
}): QueuedAuditEvent {
  return {
    id: Number(r.id),
    receivedAt: r.received_at,
    source: r.source,
    auditID: r.audit_id ?? undefined,
    stage: r.stage ?? undefined,
    json: r.event,
    event: JSON.parse(r.event) as AuditEvent,
  }
}

export interface PruneOptions {
  /** how long processed events are kept, ms (default 1 h): also the window for recognising duplicates */
  readonly retentionMs?: number
  /** the time to count from (tests) */
  readonly now?: Date
}

/** Deletes processed events older than the retention; resolves with how many. Pending ones are kept. */
export async function pruneAuditEvents(store: Store, options: PruneOptions = {}): Promise<number> {
  const before = new Date((options.now ?? new Date()).getTime() - (options.retentionMs ?? 3_600_000))
  const result = await store.db
    .deleteFrom('audit_events')
    .where('processed', '=', 1)
    .where('processed_at', '<', before.toISOString())
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

export interface AuditQueueStats {
  readonly pending: number
  readonly processed: number
  /** when the oldest pending event was stored (ISO), if any: how far behind the consumer is */
  readonly oldestPending: string | undefined
}

export async function auditQueueStats(store: Store): Promise<AuditQueueStats> {
  const counts = await store.db
    .selectFrom('audit_events')
    .select(['processed', sql<number>`count(*)`.as('n')])
    .groupBy('processed')
    .execute()
  const oldest = await store.db
    .selectFrom('audit_events')
    .select('received_at')
    .where('processed', '=', 0)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst()
  let pending = 0
  let processed = 0
  for (const c of counts)
    if (Number(c.processed) === 0) pending = Number(c.n)
    else processed += Number(c.n)
  return { pending, processed, oldestPending: oldest?.received_at }
}

/** How far a followed audit log file has been read (log-follower.ts). */
export interface AuditLogPosition {
  readonly path: string
  readonly dev: string
  readonly ino: string
  readonly offset: number
  readonly line: number
  readonly head: string
  readonly headBytes: number
}

export async function readAuditLogPosition(
  db: StoreWriter,
  source: string,
): Promise<AuditLogPosition | undefined> {
  const row = await db
    .selectFrom('audit_log_positions')
    .selectAll()
    .where('source', '=', source)
    .executeTakeFirst()
  if (!row) return undefined
  return {
    path: row.path,
    dev: row.dev,
    ino: row.ino,
    offset: Number(row.byte_offset),
    line: Number(row.line_number),
    head: row.head,
    headBytes: Number(row.head_bytes),
  }
}

export async function writeAuditLogPosition(
  db: StoreWriter,
  source: string,
  position: AuditLogPosition,
): Promise<void> {
  const values = {
    path: position.path,
    dev: position.dev,
    ino: position.ino,
    byte_offset: position.offset,
    line_number: position.line,
    head: position.head,
    head_bytes: position.headBytes,
    updated_at: new Date().toISOString(),
  }
  await db
    .insertInto('audit_log_positions')
    .values({ source, ...values })
    .onConflict((oc) => oc.column('source').doUpdateSet(values))
    .execute()
}

/**
 * The stored events of one auditID (each stage the API server sent: RequestReceived, ResponseComplete,
 * ...), in the order they were stored; none once pruned. What a detection's detail shows.
 */
export async function findAuditEvents(store: Store, auditID: string): Promise<QueuedAuditEvent[]> {
  const rows = await store.db
    .selectFrom('audit_events')
    .select(['id', 'received_at', 'source', 'audit_id', 'stage', 'event'])
    .where('audit_id', '=', auditID)
    .orderBy('id')
    .limit(20)
    .execute()
  return rows.map(toQueued)
}
