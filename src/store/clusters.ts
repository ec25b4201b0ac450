/**
 * Clusters as the store knows them: targets whose runs come from a watcher (source `cluster`), their
 * open findings by severity, overall and per namespace, and their latest run.
 */
import type { ClusterSummary, Severity } from '../api-types.js'
import { SEVERITIES } from '../policy/check.js'
import type { Store } from './connect.js'

/** Every severity, counted 0. */
export function zeros(): Record<Severity, number> {
  return Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>
}

/** Names of the targets recorded by cluster watchers, sorted. */
export async function clusterNames(store: Store): Promise<string[]> {
  const rows = await store.db
    .selectFrom('runs')
    .select('target')
    .distinct()
    .where('source', '=', 'cluster')
    .orderBy('target')
    .execute()
  return rows.map((r) => r.target)
}

/** What the store says of one cluster: open findings by severity, excepted ones, its latest run. */
export async function clusterSummary(store: Store, name: string): Promise<Omit<ClusterSummary, 'live'>> {
  const db = store.db
  const counts = await db
    .selectFrom('findings')
    .select(['severity', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('target', '=', name)
    .where('state', '<>', 'resolved')
    .groupBy(['severity', 'state'])
    .execute()
  const open = zeros()
  let excepted = 0
  for (const r of counts) {
    if (r.state === 'excepted') excepted += Number(r.n)
    else if (r.severity in open) open[r.severity as Severity] += Number(r.n)
  }
  const run = await db
    .selectFrom('runs')
    .select(['id', 'started_at', 'finished_at', 'complete', 'resources'])
    .where('target', '=', name)
    .where('source', '=', 'cluster')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
  const out: Omit<ClusterSummary, 'live'> = { name, open, excepted }
  if (run)
    out.lastRun = {
      id: Number(run.id),
      startedAt: run.started_at,
      finishedAt: run.finished_at,
      complete: Number(run.complete) === 1,
      resources: Number(run.resources),
    }
  return out
}

/** Open findings of a cluster per namespace and severity ('' for cluster-scoped objects). */
export async function openByNamespace(
  store: Store,
  name: string,
): Promise<Map<string, Record<Severity, number>>> {
  const rows = await store.db
    .selectFrom('findings')
    .select(['namespace', 'severity', (eb) => eb.fn.countAll<number>().as('n')])
    .where('target', '=', name)
    .where('state', '=', 'open')
    .groupBy(['namespace', 'severity'])
    .execute()
  const out = new Map<string, Record<Severity, number>>()
  for (const r of rows) {
    const counts = out.get(r.namespace) ?? zeros()
    if (r.severity in counts) counts[r.severity as Severity] += Number(r.n)
    out.set(r.namespace, counts)
  }
  return out
}
