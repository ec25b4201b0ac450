/**
 * The admission webhook's decisions in the store: written in batches by the webhook's recorder (it
 * never waits on them), read by the API (recent decisions, denials over time, what denies most). Each
 * row says who asked for what and what each failing check did; never the object itself.
 */
import { sql } from 'kysely'
import {
  ADMISSION_OUTCOMES,
  type AdmissionCheck,
  type AdmissionDecision,
  type AdmissionOutcome,
  type AdmissionSummary,
} from '../api-types.js'
import type { Store } from './connect.js'

export { ADMISSION_OUTCOMES, type AdmissionCheck, type AdmissionOutcome, type AdmissionSummary }

export interface AdmissionRecord {
  readonly at: string
  readonly cluster: string
  readonly operation: string
  readonly group: string
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly username: string
  readonly outcome: AdmissionOutcome
  readonly checks: readonly AdmissionCheck[]
  /** the decisions it stands for (1; more for a sample) */
  readonly weight: number
}

/** Rows per statement: well under both dialects' limits on bound values. */
const CHUNK = 200

export async function recordAdmissions(store: Store, records: readonly AdmissionRecord[]): Promise<void> {
  if (records.length === 0) return
  await store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < records.length; i += CHUNK)
      await trx
        .insertInto('admissions')
        .values(
          records.slice(i, i + CHUNK).map((r) => ({
            at: r.at,
            cluster: r.cluster,
            operation: r.operation,
            api_group: r.group,
            kind: r.kind,
            namespace: r.namespace,
            name: r.name,
            username: r.username,
            outcome: r.outcome,
            checks: JSON.stringify(r.checks),
            weight: r.weight,
          })),
        )
        .execute()
  })
}

export interface AdmissionFilter {
  cluster?: string
  outcome?: AdmissionOutcome
  namespace?: string
  /** ISO time: decisions at or after it */
  since?: string
  /** decisions with a smaller id (the next page, newest first) */
  beforeId?: number
  limit?: number
}

export type StoredAdmission = AdmissionDecision

export async function listAdmissions(store: Store, filter: AdmissionFilter = {}): Promise<StoredAdmission[]> {
  let q = store.db.selectFrom('admissions').selectAll()
  if (filter.cluster !== undefined) q = q.where('cluster', '=', filter.cluster)
  if (filter.outcome !== undefined) q = q.where('outcome', '=', filter.outcome)
  if (filter.namespace !== undefined) q = q.where('namespace', '=', filter.namespace)
  if (filter.since !== undefined) q = q.where('at', '>=', filter.since)
  if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId)
  const rows = await q
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .execute()
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.at,
    cluster: r.cluster,
    operation: r.operation,
    group: r.api_group,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    username: r.username,
    outcome: r.outcome as AdmissionOutcome,
    checks: JSON.parse(r.checks) as AdmissionCheck[],
    weight: Number(r.weight),
  }))
}

/** Most denials read to name the top checks: past that, the newest are read (denials are few). */
const MAX_DENIALS_READ = 50_000

export async function admissionSummary(
  store: Store,
  filter: Pick<AdmissionFilter, 'cluster' | 'since'> = {},
): Promise<AdmissionSummary> {
  let base = store.db.selectFrom('admissions')
  if (filter.cluster !== undefined) base = base.where('cluster', '=', filter.cluster)
  if (filter.since !== undefined) base = base.where('at', '>=', filter.since)
  const byOutcome = await base
    .select(['outcome', (eb) => eb.fn.sum<number>('weight').as('n')])
    .groupBy('outcome')
    .execute()
  const outcomes = Object.fromEntries(ADMISSION_OUTCOMES.map((o) => [o, 0])) as Record<
    AdmissionOutcome,
    number
  >
  for (const r of byOutcome) if (r.outcome in outcomes) outcomes[r.outcome as AdmissionOutcome] = Number(r.n)
  const hour = sql<string>`substr(at, 1, 13)`
  const perHour = await base
    .where('outcome', '=', 'denied')
    .select([hour.as('hour'), (eb) => eb.fn.sum<number>('weight').as('n')])
    .groupBy(hour)
    .orderBy(hour)
    .execute()
  const topNamespaces = await base
    .where('outcome', '=', 'denied')
    .select(['namespace', (eb) => eb.fn.sum<number>('weight').as('n')])
    .groupBy('namespace')
    .orderBy('n', 'desc')
    .limit(10)
    .execute()
  const denials = await base
    .where('outcome', '=', 'denied')
    .select(['checks', 'weight'])
    .orderBy('id', 'desc')
    .limit(MAX_DENIALS_READ)
    .execute()
  const byCheck = new Map<string, number>()
  for (const d of denials)
    for (const c of JSON.parse(d.checks) as AdmissionCheck[])
      if (c.mode === 'enforce') byCheck.set(c.id, (byCheck.get(c.id) ?? 0) + Number(d.weight))
  return {
    outcomes,
    deniedByHour: perHour.map((r) => ({ hour: r.hour, denied: Number(r.n) })),
    topDeniedChecks: [...byCheck]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([check, denied]) => ({ check, denied })),
    topDeniedNamespaces: topNamespaces.map((r) => ({ namespace: r.namespace, denied: Number(r.n) })),
  }
}
