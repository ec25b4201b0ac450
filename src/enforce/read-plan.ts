/** The enforcement plan of one cluster, from what the store holds: the door-side half of plan.ts. */
import type { CheckMetadata, EnforcementPlan, PlannableCluster } from '../api-types.js'
import type { Store } from '../store/connect.js'
import {
  type AdmittedFailure,
  admittedFailures,
  failingObjects,
  latestScan,
  namespaceLabels,
} from '../store/enforcement-evidence.js'
import type { EnforcementConfig } from '../webhook/enforcement.js'
import { buildPlan, windowStart } from './plan.js'

export interface PlanOptions {
  cluster: string
  /** admissions of the last `days` days are read (default 7) */
  days?: number
  /** the label naming a namespace's or an object's team (default `team`) */
  teamLabel?: string
  config: EnforcementConfig
  checks: ReadonlyMap<string, CheckMetadata>
  now?: Date
}

export const DEFAULT_PLAN_DAYS = 7
export const DEFAULT_TEAM_LABEL = 'team'

export async function readPlan(store: Store, options: PlanOptions): Promise<EnforcementPlan> {
  const now = options.now ?? new Date()
  const days = options.days ?? DEFAULT_PLAN_DAYS
  const teamLabel = options.teamLabel ?? DEFAULT_TEAM_LABEL
  const [scan, failing, labels] = await Promise.all([
    latestScan(store, options.cluster),
    failingObjects(store, options.cluster, teamLabel),
    namespaceLabels(store, options.cluster),
  ])
  // Summed per check, namespace and mode as they are read: a week of decisions never sits in memory.
  const sums = new Map<string, AdmittedFailure>()
  const { admissions, namespaces } = await admittedFailures(
    store,
    options.cluster,
    windowStart(now, days),
    (f) => {
      const key = `${f.check}\0${f.namespace}\0${f.mode}`
      const sum = sums.get(key)
      if (sum) sum.weight += f.weight
      else sums.set(key, { ...f })
    },
  )
  return buildPlan(
    {
      cluster: options.cluster,
      now,
      days,
      teamLabel,
      ...(scan ? { scan } : {}),
      failing,
      admitted: [...sums.values()],
      admissions,
      admittedNamespaces: namespaces,
      namespaceLabels: labels,
    },
    options.config,
    options.checks,
  )
}

/** The clusters a plan can be made for: targets the cluster scan recorded, and the webhook's clusters. */
export async function plannableClusters(store: Store): Promise<PlannableCluster[]> {
  const scanned = await store.db
    .selectFrom('runs')
    .select('target')
    .where('source', '=', 'cluster')
    .distinct()
    .execute()
  const admitted = await store.db
    .selectFrom('admissions')
    .select(['cluster', (eb) => eb.fn.sum<number>('weight').as('n')])
    .groupBy('cluster')
    .execute()
  const byName = new Map<string, PlannableCluster>()
  for (const r of scanned) byName.set(r.target, { name: r.target, scanned: true, admissions: 0 })
  for (const r of admitted) {
    const known = byName.get(r.cluster)
    if (known) known.admissions = Number(r.n)
    else byName.set(r.cluster, { name: r.cluster, scanned: false, admissions: Number(r.n) })
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))
}
