/**
 * Fills an empty store with the demo estate's history: every day, every target scanned by the real
 * engine and recorded as a run at that day's 06:00 UTC (a few minutes apart per target), so the store
 * reads like a month of nightly scans. The exceptions register is filled as the teams filled it, and each
 * day's scans apply the exceptions added by then, as `scan --store` does. Refuses a store that already
 * holds runs: demo data must never mix with real data.
 */
import { type ExceptionRule, isExpired } from '../policy/exceptions.js'
import { type Library, loadLibrary } from '../policy/library.js'
import { type ScanReport, scan } from '../scan/scan.js'
import type { ExceptionContext } from '../scan/scan-file.js'
import type { Store } from '../store/connect.js'
import { createException, exceptionRules } from '../store/exceptions.js'
import { manifestsOf } from '../store/manifests.js'
import { recordRun, resourceKeyOf } from '../store/record-run.js'
import { toolInfo } from '../version.js'
import { seedAdmissions } from './admissions.js'
import { type AuditSeedSummary, seedAudit } from './audit.js'
import { type DemoEstate, demoEstate, type TargetInput } from './estate.js'
import { REGISTER } from './plan.js'
import { dateAfter } from './timeline.js'
import { seedUpgradeChecks, type UpgradeSeedSummary } from './upgrade.js'
import { seedUsage, type UsageSeedSummary } from './usage.js'
import { seedVulnerabilities, type VulnerabilitySeedSummary } from './vulnerabilities.js'

export interface SeedOptions {
  /** days of history, today included (default 30) */
  days?: number
  /** the last day's scans are the latest 06:00 UTC at least an hour before this (default: now) */
  now?: Date
  /** reuse a loaded library (default: the built-in checks) */
  library?: Library
}

export interface SeedSummary {
  days: number
  targets: number
  runs: number
  /** findings rows in the store afterwards */
  findings: number
  /** the admission webhook's decisions on prod-cluster, over the last week */
  admissions: number
  /**
   * the audit door's week on prod-cluster: events queued, detections, alerts made, open alert groups,
   * notifications (src/demo/audit.ts)
   */
  audit: AuditSeedSummary
  /**
   * the month of usage snapshots of prod-cluster and edge-cluster (one a day each, as a nightly
   * `plimsoll usage --store` records them): the last and first day's figures (src/demo/usage.ts)
   */
  usage: UsageSeedSummary
  /** the last morning's upgrade checks of every target, the demo cluster's v1.32 to v1.33 (src/demo/upgrade.ts) */
  upgrades: UpgradeSeedSummary
  /** the weekly image scans of the month, imported (src/demo/vulnerabilities.ts) */
  vulnerabilities: VulnerabilitySeedSummary
  /** first and last run's start */
  from: string
  to: string
  ms: number
}

const DAY_MS = 24 * 60 * 60 * 1000
const HOUR_MS = 60 * 60 * 1000
/** minutes between the targets' scans on one day */
const STAGGER_MS = 4 * 60 * 1000

/**
 * The last day's 06:00 UTC: today's if it is at least an hour past, else yesterday's, so that no run is
 * in the future and no day's runs straddle midnight.
 */
export function lastScanDay(now: Date): number {
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS + 6 * HOUR_MS
  return today <= now.getTime() - HOUR_MS ? today : today - DAY_MS
}

/** A plausible, deterministic duration: the time a run took is not part of the story. */
function durationOf(report: ScanReport): number {
  return 150 + report.summary.resources * 4 + report.summary.files * 3
}

async function assertEmpty(store: Store): Promise<void> {
  // Any of the demo's kinds of history already there means real (or earlier demo) data: refused
  // before anything is written.
  for (const table of ['runs', 'admissions', 'audit_events', 'usage_snapshots'] as const) {
    const { n } = await store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    if (Number(n) > 0)
      throw new Error(
        `the store at ${store.location} already holds ${n} row(s) of ${table}; the demo estate is only seeded into an empty store, so that demo data never mixes with real data`,
      )
  }
}

/** Scans one target's input of one day; an input error is a bug in the generator, not something to record. */
async function scanInput(
  library: Library,
  sources: { name: string; text: string }[],
  target: string,
  exceptions: ExceptionContext,
): Promise<ScanReport> {
  const report = await scan({
    inputs: [],
    rendered: sources,
    library,
    jobs: 1,
    showExcepted: true,
    exceptions,
  })
  if (report.errors.length > 0) {
    const e = report.errors[0]!
    throw new Error(`demo estate: ${target} does not parse: ${e.file}: ${e.message}`)
  }
  return report
}

/** A register exception and the first day (of `days`) whose scans apply it. */
interface Seeded {
  rule: ExceptionRule
  from: number
}

/** Adds the plan's register to the store, each exception created the afternoon before its first scan. */
async function seedRegister(store: Store, estate: DemoEstate, last: number): Promise<Seeded[]> {
  const lastDay = new Date(last).toISOString().slice(0, 10)
  const from = new Map<number, number>()
  for (const plan of REGISTER) {
    const { checks, kinds, namespaces, names, owner, reason } = plan
    const expires = dateAfter(lastDay, plan.expiresIn)
    const e = await createException(
      store,
      {
        checks: [...checks],
        kinds: [...kinds],
        namespaces: [...namespaces],
        names: [...names],
        owner,
        reason,
        expires,
      },
      plan.createdBy,
    )
    const day =
      Array.from({ length: estate.days }, (_, d) => d).find((d) => estate.modelDay(d) >= plan.on) ?? 0
    const createdAt = new Date(last - (estate.days - day) * DAY_MS + 9 * HOUR_MS).toISOString()
    await store.db.updateTable('exceptions').set({ created_at: createdAt }).where('id', '=', e.id).execute()
    from.set(e.id, day)
  }
  // In the order `scan --store` applies them: the first that matches a finding is the one recorded.
  return (await exceptionRules(store)).map((rule) => ({ rule, from: from.get(rule.index)! }))
}

export async function seedDemo(store: Store, options: SeedOptions = {}): Promise<SeedSummary> {
  const started = performance.now()
  await assertEmpty(store)
  const now = options.now ?? new Date()
  const last = lastScanDay(now)
  const estate: DemoEstate = demoEstate(options.days, { lastDay: new Date(last).toISOString().slice(0, 10) })
  const library = options.library ?? loadLibrary()
  const plimsollVersion = toolInfo().version
  const register = await seedRegister(store, estate, last)
  // Most targets are unchanged on most days: scan each distinct input once. The annotations' expiry
  // dates all fall after the last day, so only the register's exceptions (which are in force, which
  // have expired) make the same input scan differently.
  const scanned = new Map<string, ScanReport>()
  let runs = 0
  let first = ''
  let latest = ''
  const inputs = new Map<number, TargetInput[]>()
  for (let day = 0; day < estate.days; day++) {
    const base = last - (estate.days - 1 - day) * DAY_MS
    const today = new Date(base).toISOString().slice(0, 10)
    const exceptions = { rules: register.filter((e) => e.from <= day).map((e) => e.rule), today }
    const ruleState = exceptions.rules.map((r) => [r.index, isExpired(r, today)])
    inputs.set(day, estate.inputs(day))
    for (const [i, input] of inputs.get(day)!.entries()) {
      const key = JSON.stringify([input.target, input.sources, ruleState])
      let report = scanned.get(key)
      if (!report) {
        report = await scanInput(library, input.sources, input.target, exceptions)
        scanned.set(key, report)
      }
      const startedAt = new Date(base + i * STAGGER_MS).toISOString()
      const texts = new Map(input.sources.map((src) => [src.name, src.text]))
      await recordRun(
        store,
        { ...report, startedAt, durationMs: durationOf(report) },
        {
          source: input.source,
          target: input.target,
          plimsollVersion,
          manifests: manifestsOf(report.findings, resourceKeyOf, (file) => texts.get(file)),
        },
      )
      runs++
      if (first === '') first = startedAt
      latest = startedAt
    }
  }
  // A week of the admission webhook's decisions on the cluster, from the same estate.
  const admissions = await seedAdmissions(store, {
    library,
    now,
    estate,
    lastDay: new Date(last).toISOString().slice(0, 10),
    inputs: (day) => inputs.get(day) ?? estate.inputs(day),
  })
  // ... and the same week of its audit events, through the rules, the baselines and the alerts.
  const audit = await seedAudit(store, {
    now,
    estate,
    inputs: (day) => inputs.get(day) ?? estate.inputs(day),
  })
  // ... and the month's usage and cost of the cluster's workloads, a snapshot a day.
  const usage = await seedUsage(store, {
    estate,
    last,
    inputs: (day) => inputs.get(day) ?? estate.inputs(day),
  })
  // ... and that morning's upgrade checks of every target, from the cluster's release to the next.
  const upgrades = await seedUpgradeChecks(store, {
    estate,
    last,
    library,
    inputs: (day) => inputs.get(day) ?? estate.inputs(day),
  })
  // ... and a weekly scan of its images, imported.
  const vulnerabilities = await seedVulnerabilities(store, { last, plimsollVersion })
  const { n } = await store.db
    .selectFrom('findings')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  return {
    days: estate.days,
    targets: estate.targets.length,
    runs,
    findings: Number(n),
    admissions: admissions.decisions,
    audit,
    usage,
    upgrades,
    vulnerabilities,
    from: first,
    to: latest,
    ms: Math.round(performance.now() - started),
  }
}
