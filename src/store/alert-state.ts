/**
 * The alert pipelines' state in the store: per pipeline (one per `audit serve --cluster-name`), the
 * aggregator's snapshot, and on each detection whether the pipeline has taken it in. The pipeline saves
 * its snapshot, marks the detections it took in and writes its notifications to the outbox in one
 * transaction, so after a crash it restores the snapshot and takes in the unmarked detections: each
 * detection counts once, and each notification it led to is written once. The API reads the snapshots
 * for the open alert groups and the noise per rule.
 */
import type { AggregatorSnapshot } from '../audit/alerts/aggregator.js'
import { type StoredDetection, toDetection } from './audit-detections.js'
import type { StoreWriter } from './audit-queue.js'
import type { Store } from './connect.js'

export interface AlertState {
  readonly name: string
  readonly snapshot: AggregatorSnapshot
  /** ISO time it was written */
  readonly updatedAt: string
}

export async function loadAlertState(store: Store, name: string): Promise<AlertState | undefined> {
  const row = await store.db.selectFrom('alert_state').selectAll().where('name', '=', name).executeTakeFirst()
  return row ? toState(row) : undefined
}

export async function listAlertStates(store: Store): Promise<AlertState[]> {
  const rows = await store.db.selectFrom('alert_state').selectAll().orderBy('name').execute()
  return rows.map(toState)
}

/** Writes a pipeline's state with `db`, normally the transaction of its outbox rows and marks. */
export async function saveAlertState(
  db: StoreWriter,
  name: string,
  snapshot: AggregatorSnapshot,
  now = Date.now(),
): Promise<void> {
  const row = { name, state: JSON.stringify(snapshot), updated_at: new Date(now).toISOString() }
  await db
    .insertInto('alert_state')
    .values(row)
    .onConflict((oc) => oc.column('name').doUpdateSet({ state: row.state, updated_at: row.updated_at }))
    .execute()
}

/** A cluster's detections its alert pipeline has not taken in yet, oldest first. */
export async function readUnalertedDetections(
  store: Store,
  cluster: string,
  limit = 500,
): Promise<StoredDetection[]> {
  const rows = await store.db
    .selectFrom('audit_detections')
    .selectAll()
    .where('cluster', '=', cluster)
    .where('alerted', '=', 0)
    .orderBy('id')
    .limit(limit)
    .execute()
  return rows.map(toDetection)
}

/** Rows per statement: well under both dialects' limits on bound values. */
const CHUNK = 500

/** Marks detections taken in, with `db` (the transaction that saves the state they changed). */
export async function markAlerted(db: StoreWriter, ids: readonly number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += CHUNK)
    await db
      .updateTable('audit_detections')
      .set({ alerted: 1 })
      .where('id', 'in', ids.slice(i, i + CHUNK))
      .execute()
}

/**
 * Marks every detection of a cluster taken in: what a pipeline does when it first starts (it has no
 * state yet), so that the history recorded before alerts were configured is not sent as new alerts.
 */
export async function markAllAlerted(db: StoreWriter, cluster: string): Promise<number> {
  const r = await db
    .updateTable('audit_detections')
    .set({ alerted: 1 })
    .where('cluster', '=', cluster)
    .where('alerted', '=', 0)
    .executeTakeFirst()
  return Number(r.numUpdatedRows)
}

function toState(r: { name: string; state: string; updated_at: string }): AlertState {
  return { name: r.name, snapshot: JSON.parse(r.state) as AggregatorSnapshot, updatedAt: r.updated_at }
}
