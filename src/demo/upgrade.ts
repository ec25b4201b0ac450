/**
 * The demo's upgrade readiness: prod-cluster runs v1.32 (the local control plane's /version) and the
 * teams plan the move to v1.33. On the month's last morning each team's CI runs `plimsoll upgrade-check
 * --from v1.32 --to v1.33 --store` over its repository, and the platform team runs it with --cluster
 * against prod-cluster as it runs today (the objects the live demo cluster serves). The real evaluation
 * (src/upgrade) judges each, and each is recorded as --store records it. Nothing is made up for it:
 * what it finds is what the estate holds (the data team's Docker socket and its old PodDisruptionBudget
 * apiVersion, which the cluster already serves as policy/v1).
 */
import { BUILT_IN_TYPES } from '../control-plane/catalog.js'
import { VERSION_INFO } from '../control-plane/discovery.js'
import type { Library } from '../policy/library.js'
import type { Store } from '../store/connect.js'
import { recordUpgradeCheck } from '../store/upgrade-checks.js'
import { controlled } from '../upgrade/cluster.js'
import type { UpgradeObject } from '../upgrade/evaluate.js'
import { judgeUpgrade, loadUpgradeTables, objectsOfSource, type UpgradeTables } from '../upgrade/judge.js'
import { counts, servedAtRisk, type UpgradeReport } from '../upgrade/report.js'
import { toolInfo } from '../version.js'
import { CLUSTER_TARGET, type DemoEstate, type TargetInput } from './estate.js'

/** The release the demo's teams check against: the one after the demo cluster's. */
export const DEMO_UPGRADE_FROM = Number(VERSION_INFO.minor)
export const DEMO_UPGRADE_TO = DEMO_UPGRADE_FROM + 1

const MINUTE_MS = 60 * 1000
/** After the nightly scans (06:00 and a few minutes apart per target): the checks run at 06:30. */
const CHECKS_AFTER_MS = 30 * MINUTE_MS

export interface DemoUpgradeOptions {
  estate: DemoEstate
  /** the last day's 06:00 UTC, ms (seed.ts: lastScanDay) */
  last: number
  /** the estate's inputs of a day, as the seeding already made them */
  inputs?: (day: number) => TargetInput[]
  /** the library the seeding loaded (its Pod Security checks judge the workloads) */
  library?: Library
}

export interface UpgradeSeedSummary {
  /** checks recorded, one per target */
  checks: number
  from: string
  to: string
  /** over every check */
  breaks: number
  changes: number
  deprecated: number
  /** targets with something that breaks at the target release */
  breaking: string[]
  ms: number
}

/** The prod-cluster check, as `upgrade-check --cluster` reads the live demo cluster. */
async function clusterCheck(
  estate: DemoEstate,
  last: number,
  tables: UpgradeTables,
): Promise<{ objects: UpgradeObject[]; cluster: NonNullable<UpgradeReport['cluster']> }> {
  // The live demo's module brings the control plane's server: loaded only when the demo has a cluster.
  const { todaysObjects } = await import('./live-cluster.js')
  const lastDay = new Date(last).toISOString().slice(0, 10)
  // As readCluster leaves them out: a pod its ReplicaSet made is judged through its Deployment.
  const objects = todaysObjects(estate.days, lastDay)
    .filter((object) => !controlled(object))
    .map((object) => ({ object }))
  // What the control plane's discovery serves: the API versions clients may still call.
  const served = [...new Set(BUILT_IN_TYPES.map((t) => t.apiVersion))]
  const servedKinds = BUILT_IN_TYPES.map((t) => `${t.apiVersion}/${t.kind}`)
  return {
    objects,
    cluster: {
      gitVersion: VERSION_INFO.gitVersion,
      servedAtRisk: servedAtRisk(served, servedKinds, tables.lifecycle, DEMO_UPGRADE_TO),
      notRead: [],
    },
  }
}

/** Records the last day's upgrade check of every target of the estate. */
export async function seedUpgradeChecks(
  store: Store,
  options: DemoUpgradeOptions,
): Promise<UpgradeSeedSummary> {
  const started = performance.now()
  const { n } = await store.db
    .selectFrom('upgrade_checks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  if (Number(n) > 0)
    throw new Error(
      `the store at ${store.location} already holds ${n} upgrade check(s); the demo's are only seeded into an empty store, so that demo data never mixes with real data`,
    )
  const { estate, last } = options
  const tables = loadUpgradeTables(options.library)
  const plimsollVersion = toolInfo().version
  const lastDay = estate.days - 1
  const inputs = options.inputs?.(lastDay) ?? estate.inputs(lastDay)
  const summary: UpgradeSeedSummary = {
    checks: 0,
    from: `v1.${DEMO_UPGRADE_FROM}`,
    to: `v1.${DEMO_UPGRADE_TO}`,
    breaks: 0,
    changes: 0,
    deprecated: 0,
    breaking: [],
    ms: 0,
  }
  for (const [i, input] of inputs.entries()) {
    const run = { from: DEMO_UPGRADE_FROM, to: DEMO_UPGRADE_TO, errors: [], notes: [] }
    let report: UpgradeReport
    if (input.target === CLUSTER_TARGET) {
      const { objects, cluster } = await clusterCheck(estate, last, tables)
      report = judgeUpgrade(tables, objects, { ...run, fromSource: 'cluster', files: 0, cluster })
    } else {
      const objects = input.sources.flatMap((s) => {
        const read = objectsOfSource(s.name, s.text)
        if (read.errors.length > 0)
          throw new Error(
            `demo estate: ${input.target} does not parse: ${s.name}: ${read.errors[0]!.message}`,
          )
        return read.objects
      })
      report = judgeUpgrade(tables, objects, { ...run, fromSource: 'flag', files: input.sources.length })
    }
    await recordUpgradeCheck(store, {
      report,
      target: input.target,
      plimsollVersion,
      checkedAt: new Date(last + CHECKS_AFTER_MS + i * MINUTE_MS).toISOString(),
    })
    const n = counts(report)
    summary.checks++
    summary.breaks += n.breaks
    summary.changes += n.changes
    summary.deprecated += n.deprecated
    if (n.breaks > 0) summary.breaking.push(input.target)
  }
  summary.ms = Math.round(performance.now() - started)
  return summary
}

/** The line `serve --demo` prints about it. */
export function demoUpgradeLine(u: UpgradeSeedSummary): string {
  return (
    `${u.checks} upgrade checks from ${u.from} to ${u.to}: ${u.breaks} breaking (in ${u.breaking.join(', ') || 'none'}), ` +
    `${u.changes} Pod Security changes, ${u.deprecated} deprecated (${(u.ms / 1000).toFixed(1)} s of the seeding)`
  )
}
