/**
 * What the register's exceptions cover now: findings of the targets' latest runs that they except (or
 * would, had they not expired). One that covers nothing although every target has been scanned since it
 * was created is stale: what it was for is gone, or its matchers are wrong.
 */
import { type Exception, REGISTER_FILE_PREFIX } from '../api-types.js'
import type { Store } from './connect.js'

export { REGISTER_FILE_PREFIX } from '../api-types.js'

export interface RegisterUsage {
  /** by exception id: findings not resolved that it covers */
  matches: ReadonlyMap<number, number>
  /** the oldest of the targets' latest runs' start ('' without runs): what every target was scanned since */
  scannedSince: string
}

export async function registerUsage(store: Store): Promise<RegisterUsage> {
  // Grouped by the recorded exception: one row per register entry in use, not per finding.
  const rows = await store.db
    .selectFrom('findings')
    .select((eb) => ['exception', eb.fn.countAll<number>().as('n')])
    .where('state', '<>', 'resolved')
    .where('exception', 'like', `%"file":"${REGISTER_FILE_PREFIX}%`)
    .groupBy('exception')
    .execute()
  const matches = new Map<number, number>()
  for (const r of rows) {
    const e = JSON.parse(r.exception!) as Exception
    if (e.source !== 'file' || !e.file.startsWith(REGISTER_FILE_PREFIX)) continue
    matches.set(e.index, (matches.get(e.index) ?? 0) + Number(r.n))
  }
  const latest = await store.db
    .selectFrom('runs')
    .select((eb) => eb.fn.max('started_at').as('last'))
    .groupBy('target')
    .execute()
  const scannedSince = latest.map((r) => String(r.last)).sort()[0] ?? ''
  return { matches, scannedSince }
}

export function isStale(id: number, createdAt: string, usage: RegisterUsage): boolean {
  return !usage.matches.has(id) && usage.scannedSince > createdAt
}
