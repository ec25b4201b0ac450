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

/** Forgets an identity's baseline: it is learned again from its next event. Whether there was one. */
export async function resetBaseline(store: Store, cluster: string, identity: string): Promise<boolean> {
  const r = await store.db
    .deleteFrom('audit_baselines')
    .where('cluster', '=', cluster)
    .where('identity', '=', identity)
    .executeTakeFirst()
  return Number(r.numDeletedRows) > 0
}
