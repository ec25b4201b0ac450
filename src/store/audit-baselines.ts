/** The anomaly detector's baselines in the store, per cluster and identity (src/audit/anomaly). */
import type { Kysely, Transaction } from 'kysely'
import type { Baseline, Dimension } from '../audit/anomaly/baselines.js'
import type { Store } from './connect.js'
import type { Database } from './schema.js'

type Db = Kysely<Database> | Transaction<Database>

export async function loadBaselines(store: Store, cluster: string): Promise<Baseline[]> {
  const rows = await store.db
    .selectFrom('audit_baselines')
    .selectAll()
    .where('cluster', '=', cluster)
    .execute()
  return rows.map((r) => ({
    identity: r.identity,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    seen: JSON.parse(r.seen) as Record<Dimension, string[]>,
  }))
}

/** Writes changed baselines (one statement each: a batch changes a few dozen identities at most). */
export async function saveBaselines(db: Db, cluster: string, baselines: readonly Baseline[]): Promise<void> {
  for (const b of baselines) {
    const row = { first_seen: b.firstSeen, last_seen: b.lastSeen, seen: JSON.stringify(b.seen) }
    await db
      .insertInto('audit_baselines')
      .values({ cluster, identity: b.identity, ...row })
      .onConflict((oc) => oc.columns(['cluster', 'identity']).doUpdateSet(row))
      .execute()
  }
}

/**
 * Forgets an identity's baseline: it is learned again from its next event. The row goes at once, and a
 * request is left for an `audit serve` that holds the baseline in memory (its consumer takes it up
 * before its next page). Whether there was a baseline.
 */
export async function resetBaseline(
  store: Store,
  cluster: string,
  identity: string,
  requestedBy: string,
  now = Date.now(),
): Promise<boolean> {
  return store.db.transaction().execute(async (trx) => {
    const r = await trx
      .deleteFrom('audit_baselines')
      .where('cluster', '=', cluster)
      .where('identity', '=', identity)
      .executeTakeFirst()
    const request = { requested_at: new Date(now).toISOString(), requested_by: requestedBy }
    await trx
      .insertInto('audit_baseline_resets')
      .values({ cluster, identity, ...request })
      .onConflict((oc) => oc.columns(['cluster', 'identity']).doUpdateSet(request))
      .execute()
    return Number(r.numDeletedRows) > 0
  })
}

/** The identities whose reset the cluster's consumer has not taken up yet. */
export async function pendingBaselineResets(db: Db, cluster: string): Promise<string[]> {
  const rows = await db
    .selectFrom('audit_baseline_resets')
    .select('identity')
    .where('cluster', '=', cluster)
    .orderBy('identity')
    .execute()
  return rows.map((r) => r.identity)
}

/**
 * Takes resets up, in the consumer's transaction: their requests go, and so do their rows (written
 * again, before this, by a page committed between the request and now); the caller then saves what its
 * page learned afresh.
 */
export async function completeBaselineResets(
  db: Db,
  cluster: string,
  identities: readonly string[],
): Promise<void> {
  if (identities.length === 0) return
  for (const table of ['audit_baseline_resets', 'audit_baselines'] as const)
    await db
      .deleteFrom(table)
      .where('cluster', '=', cluster)
      .where('identity', 'in', [...identities])
      .execute()
}
