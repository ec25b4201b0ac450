/**
 * The store's evidence (facts `store.*`, src/maturity/facts.ts): what Plimsoll's own history says of
 * practice over time: scans in CI, clusters watched, the findings trend, exceptions with owners,
 * enforcement per namespace, audit events, alert noise, usage and waste.
 *
 * Zero or unknown:
 * - A count over a period is an honest zero once the store is open (and so migrated): no CI scan in 30
 *   days, no audit event in 7 days are evidence, that nothing of the kind reached Plimsoll.
 * - A share or a trend without a base is unknown (absent), never 0: no exception, no detection, no run
 *   before the window (no baseline to compare with), fewer than two usage snapshots of a cluster. Both
 *   ends at 0 is a trend of 0. enforcedNamespaces is the state of the webhook, not a count over a period:
 *   without an admission recorded in the window it is unknown.
 * - Each unknown fact's reason, and each fact whose query failed, is said in `problems`
 *   (`store.<name> unknown: ...`, `store.<name>: ...`); the other facts are still collected.
 *
 * Windows run up to `now` (inclusive): the last 30 days, ciScanDays the 30 UTC days ending with now's
 * day, auditEvents the last 7 days. Every query is the same SQL on SQLite and PostgreSQL: times are ISO
 * text, compared as text; days are `substr(t, 1, 10)`.
 */

import { sql } from 'kysely'
import { noiseOf } from '../../audit/alerts/state-view.js'
import { listAlertStates } from '../../store/alert-state.js'
import type { Store } from '../../store/connect.js'
import { admittedFailures } from '../../store/enforcement-evidence.js'
import { dayAfter } from '../../store/queries.js'
import { OVERDUE_DAYS, vulnerabilityPosture } from '../../store/vulnerabilities.js'
import { formatMoney, monthly } from '../../usage/cost/money.js'
import type { CollectedFacts, FactValue } from '../facts.js'

export interface StoreCollectOptions {
  readonly now: Date
}

const DAY_MS = 86_400_000
/** The window of the trends and of the counts over "the last 30 days". */
export const WINDOW_DAYS = 30
/** auditEvents' window. */
export const AUDIT_WINDOW_DAYS = 7
/** Names listed in a source, then "and N more". */
const LISTED = 10

/** A fact, or why it is unknown. */
type Outcome = FactValue | { readonly unknown: string }

interface Window {
  /** ISO: now */
  readonly now: string
  /** ISO: 30 days before now */
  readonly since: string
  /** YYYY-MM-DD: the first of the 30 UTC days ending with now's day */
  readonly firstDay: string
  /** ISO: 7 days before now */
  readonly auditSince: string
}

const iso = (ms: number) => new Date(ms).toISOString()
const day = (t: string) => t.slice(0, 10)
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** `a, b, c` or `a, b, ... and 3 more`. */
function listed(names: readonly string[]): string {
  if (names.length <= LISTED) return names.join(', ')
  return `${names.slice(0, LISTED).join(', ')} and ${names.length - LISTED} more`
}

const fact = (value: number, ...sources: string[]): FactValue => ({ value, sources })

export async function collectStoreFacts(store: Store, options: StoreCollectOptions): Promise<CollectedFacts> {
  const nowMs = options.now.getTime()
  const w: Window = {
    now: iso(nowMs),
    since: iso(nowMs - WINDOW_DAYS * DAY_MS),
    firstDay: dayAfter(day(iso(nowMs)), -(WINDOW_DAYS - 1)),
    auditSince: iso(nowMs - AUDIT_WINDOW_DAYS * DAY_MS),
  }
  const collectors: [string, (store: Store, w: Window) => Promise<Outcome>][] = [
    ['ciScanDays', ciScanDays],
    ['clusters', clusters],
    ['findingsTrend', findingsTrend],
    ['exceptionsOwnedShare', exceptionsOwnedShare],
    ['enforcedNamespaces', enforcedNamespaces],
    ['auditEvents', auditEvents],
    ['alertNoiseRatio', alertNoiseRatio],
    ['usageSnapshots', usageSnapshots],
    ['wasteTrend', wasteTrend],
    ['imageScans', imageScans],
    ['overdueVulnerabilities', overdueVulnerabilities],
  ]
  const facts = new Map<string, FactValue>()
  const problems: string[] = []
  // One after another: on SQLite the reads share a connection anyway, and a failing one says so alone.
  for (const [name, collect] of collectors) {
    try {
      const outcome = await collect(store, w)
      if ('unknown' in outcome) problems.push(`store.${name} unknown: ${outcome.unknown}`)
      else facts.set(`store.${name}`, outcome)
    } catch (err) {
      problems.push(`store.${name}: reading ${store.location} failed: ${(err as Error).message}`)
    }
  }
  return { facts, problems }
}

/** Distinct UTC days (of the 30 ending with now's) on which a run of source `ci` started. */
async function ciScanDays(store: Store, w: Window): Promise<Outcome> {
  const runDay = sql<string>`substr(started_at, 1, 10)`
  const base = store.db
    .selectFrom('runs')
    .where('source', '=', 'ci')
    // A day is a prefix of that day's times: it sorts before them.
    .where('started_at', '>=', w.firstDay)
    .where('started_at', '<=', w.now)
  const days = await base
    .select([runDay.as('day'), (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(runDay)
    .orderBy(runDay)
    .execute()
  if (days.length === 0)
    return fact(
      0,
      `store: runs (source ci), no scan on the ${WINDOW_DAYS} days from ${w.firstDay} to ${day(w.now)}`,
    )
  const { targets } = await base
    .select((eb) => eb.fn.count<number>('target').distinct().as('targets'))
    .executeTakeFirstOrThrow()
  const runs = days.reduce((n, d) => n + Number(d.n), 0)
  return fact(
    days.length,
    `store: runs (source ci), ${plural(days.length, 'day')} from ${days[0]!.day} to ${days.at(-1)!.day} (${plural(runs, 'run')} of ${plural(Number(targets), 'target')})`,
  )
}

/**
 * Cluster targets with a run of source `cluster` in the window: a one-off cluster scan, a watcher's
 * live run or an agent's session (whose run's finished_at moves with each write), so a run that started
 * before the window and still records counts.
 */
async function clusters(store: Store, w: Window): Promise<Outcome> {
  const rows = await store.db
    .selectFrom('runs')
    .select('target')
    .distinct()
    .where('source', '=', 'cluster')
    .where('finished_at', '>=', w.since)
    .where('started_at', '<=', w.now)
    .orderBy('target')
    .execute()
  if (rows.length === 0)
    return fact(0, `store: runs (source cluster), no cluster scanned since ${day(w.since)}`)
  return fact(
    rows.length,
    `store: runs (source cluster), ${plural(rows.length, 'cluster')} scanned since ${day(w.since)}: ${listed(rows.map((r) => r.target))}`,
  )
}

/**
 * (open now - open 30 days ago) / open 30 days ago, over every target's findings. A finding was open at
 * T when first_seen <= T and (resolved_at is null or resolved_at > T). Findings excepted now are left out
 * of both ends: the store keeps no history of a finding's exceptions, and an exception is not a fix. A
 * finding resolved and reopened keeps its first first_seen and loses its resolved_at: it counts as open
 * through the time it was resolved. Unknown without a run started before the window (no baseline), or
 * with no open finding then and some now.
 */
async function findingsTrend(store: Store, w: Window): Promise<Outcome> {
  const first = await store.db
    .selectFrom('runs')
    .select((eb) => eb.fn.min<string>('started_at').as('first'))
    .executeTakeFirst()
  const firstRun = first?.first ?? null
  if (firstRun === null || firstRun > w.since)
    return {
      unknown: `no run recorded before ${day(w.since)}${firstRun ? ` (the first: ${day(firstRun)})` : ''}: no baseline for the findings trend`,
    }
  const row = await store.db
    .selectFrom('findings')
    .select((eb) => {
      const openAt = (t: string) =>
        eb.fn.sum<number>(
          eb
            .case()
            .when(
              eb.and([
                eb('first_seen', '<=', t),
                eb.or([eb('resolved_at', 'is', null), eb('resolved_at', '>', t)]),
              ]),
            )
            .then(1)
            .else(0)
            .end(),
        )
      return [openAt(w.since).as('before'), openAt(w.now).as('after')]
    })
    .where('state', '<>', 'excepted')
    .executeTakeFirstOrThrow()
  const before = Number(row.before ?? 0)
  const after = Number(row.after ?? 0)
  const source = `store: findings (not excepted), ${before} open on ${day(w.since)}, ${after} open on ${day(w.now)} (by first_seen and resolved_at)`
  if (before === 0 && after > 0)
    return {
      unknown: `no open finding on ${day(w.since)} and ${after} on ${day(w.now)}: no base for a share`,
    }
  return fact(before === 0 ? 0 : (after - before) / before, source)
}

/** Exceptions of the register whose owner is not blank, of all of them (expired ones too). */
async function exceptionsOwnedShare(store: Store): Promise<Outcome> {
  const blank = sql<string>`trim(owner)`
  const counts = await store.db
    .selectFrom('exceptions')
    .select((eb) => [
      eb.fn.countAll<number>().as('total'),
      eb.fn.sum<number>(eb.case().when(blank, '=', '').then(1).else(0).end()).as('unowned'),
    ])
    .executeTakeFirstOrThrow()
  const all = Number(counts.total)
  if (all === 0) return { unknown: 'no exception in the register' }
  const without = await store.db
    .selectFrom('exceptions')
    .select('id')
    .where(blank, '=', '')
    .orderBy('id')
    .limit(LISTED)
    .execute()
  const unowned = Number(counts.unowned ?? 0)
  const ids = without.map((r) => `#${r.id}`)
  const which =
    unowned === 0
      ? ''
      : ` (without: ${ids.slice(0, LISTED).join(', ')}${unowned > LISTED ? ` and ${unowned - LISTED} more` : ''})`
  return fact((all - unowned) / all, `store: exceptions, ${all - unowned} of ${all} with an owner${which}`)
}

/**
 * Namespaces (per cluster) whose last recorded failing check, of any check, was enforced: from the
 * webhook's admissions of the window, each check's mode as the latest admission it failed in says
 * (what the enforcement plan reads, enforcement-evidence.ts; `excepted` says nothing of the mode). The
 * store keeps no enforcement configuration: a namespace where nothing failed in the window is not seen.
 * Unknown when no admission was recorded in the window. Cluster-scoped objects ('') are no namespace.
 */
async function enforcedNamespaces(store: Store, w: Window): Promise<Outcome> {
  const rows = await store.db
    .selectFrom('admissions')
    .select('cluster')
    .distinct()
    .where('at', '>=', w.since)
    .where('at', '<=', w.now)
    .orderBy('cluster')
    .execute()
  if (rows.length === 0) return { unknown: `no admission recorded since ${day(w.since)}` }
  const enforced: string[] = []
  let seen = 0
  let admissions = 0
  for (const { cluster } of rows) {
    const modes = new Map<string, Map<string, string>>()
    const r = await admittedFailures(store, cluster, w.since, (f) => {
      if (f.namespace === '' || f.mode === 'excepted') return
      const checks = modes.get(f.namespace) ?? new Map<string, string>()
      checks.set(f.check, f.mode)
      modes.set(f.namespace, checks)
    })
    admissions += r.admissions
    seen += modes.size
    for (const [namespace, checks] of [...modes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      if ([...checks.values()].includes('enforce')) enforced.push(`${cluster}/${namespace}`)
  }
  const clustersSaid = `${plural(rows.length, 'cluster')} (${listed(rows.map((r) => r.cluster))})`
  return fact(
    enforced.length,
    `store: admissions since ${day(w.since)}, ${plural(admissions, 'decision')} of ${clustersSaid}: ${enforced.length} of ${plural(seen, 'namespace')} with a failing check enforce one${enforced.length > 0 ? ` (${listed(enforced)})` : ''}`,
  )
}

/**
 * Audit events received in the last 7 days, as the queue still holds them: `audit serve` deletes
 * processed events after its retention (--retention-hours, 24 by default), so this is a lower bound.
 */
async function auditEvents(store: Store, w: Window): Promise<Outcome> {
  const row = await store.db
    .selectFrom('audit_events')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.min<string>('received_at').as('first'),
      eb.fn.max<string>('received_at').as('last'),
    ])
    .where('received_at', '>=', w.auditSince)
    .where('received_at', '<=', w.now)
    .executeTakeFirstOrThrow()
  const n = Number(row.n)
  if (n === 0) return fact(0, `store: audit_events, none received since ${w.auditSince}`)
  return fact(
    n,
    `store: audit_events, ${n} received from ${row.first} to ${row.last} (processed events are kept for audit serve's --retention-hours, then deleted: older ones are not counted)`,
  )
}

/**
 * Notifications per detection, as the alert pipelines count them (their saved state, alert-state.ts,
 * summed as the dashboard's noise view sums them: noiseOf). Not from the outbox or the detections of a
 * window: the outbox holds a row per receiver integration and drops delivered ones after a week. The
 * counts run since each pipeline started; pipelines whose state was not saved in the window are left
 * out. Unknown without a pipeline, or without a detection taken in.
 */
async function alertNoiseRatio(store: Store, w: Window): Promise<Outcome> {
  const states = await listAlertStates(store)
  const recent = states.filter((s) => s.updatedAt >= w.since && s.updatedAt <= w.now)
  const stale = states.filter((s) => !recent.includes(s)).map((s) => s.name)
  const leftOut = stale.length > 0 ? `; left out, not saved since ${day(w.since)}: ${listed(stale)}` : ''
  if (recent.length === 0)
    return { unknown: `no alert pipeline saved its state since ${day(w.since)}${leftOut}` }
  const { totals } = noiseOf(recent)
  const pipelines = `${plural(recent.length, 'alert pipeline')} (${listed(recent.map((s) => s.name))})`
  if (totals.detections === 0) return { unknown: `${pipelines} took in no detection${leftOut}` }
  return fact(
    totals.notifications / totals.detections,
    `store: alert_state, ${pipelines}: ${plural(totals.notifications, 'notification')} for ${plural(totals.detections, 'detection')}, counted since each started${leftOut}`,
  )
}

/** Usage snapshots taken in the window. */
async function usageSnapshots(store: Store, w: Window): Promise<Outcome> {
  const rows = await store.db
    .selectFrom('usage_snapshots')
    .select(['cluster', (eb) => eb.fn.countAll<number>().as('n')])
    .where('taken_at', '>=', w.since)
    .where('taken_at', '<=', w.now)
    .groupBy('cluster')
    .orderBy('cluster')
    .execute()
  const n = rows.reduce((t, r) => t + Number(r.n), 0)
  if (n === 0) return fact(0, `store: usage_snapshots, none taken since ${day(w.since)}`)
  return fact(
    n,
    `store: usage_snapshots, ${plural(n, 'snapshot')} since ${day(w.since)}: ${listed(rows.map((r) => `${r.cluster} ${r.n}`))}`,
  )
}

/**
 * The change in monthly waste over the window: per cluster with two snapshots in it or more, its oldest
 * and its newest (waste over each one's window, as a 730-hour month), summed over those clusters;
 * (newest - oldest) / oldest. Unknown without such a cluster, or with no waste at first and some now.
 */
async function wasteTrend(store: Store, w: Window): Promise<Outcome> {
  const rows = await store.db
    .selectFrom('usage_snapshots')
    .select(['cluster', 'taken_at', 'window_hours', 'waste', 'currency'])
    .where('taken_at', '>=', w.since)
    .where('taken_at', '<=', w.now)
    .orderBy('cluster')
    .orderBy('taken_at')
    .orderBy('id')
    .execute()
  const byCluster = new Map<string, typeof rows>()
  for (const r of rows) byCluster.set(r.cluster, [...(byCluster.get(r.cluster) ?? []), r])
  const ends: string[] = []
  const single: string[] = []
  let oldest = 0
  let newest = 0
  for (const [cluster, snapshots] of byCluster) {
    if (snapshots.length < 2) {
      single.push(cluster)
      continue
    }
    const a = snapshots[0]!
    const b = snapshots.at(-1)!
    const money = (r: (typeof rows)[number]) => monthly(Number(r.waste), Number(r.window_hours))
    const said = (r: (typeof rows)[number]) =>
      `${formatMoney(money(r), r.currency === 'USD' ? '$' : `${r.currency} `)} on ${day(r.taken_at)}`
    oldest += money(a)
    newest += money(b)
    ends.push(`${cluster} ${said(a)} to ${said(b)}`)
  }
  const alone = single.length > 0 ? `; one snapshot only: ${listed(single)}` : ''
  if (ends.length === 0)
    return { unknown: `no cluster with two usage snapshots since ${day(w.since)}${alone}` }
  if (oldest === 0 && newest > 0)
    return { unknown: `no waste at first, some now: no base for a share${alone}` }
  return fact(
    oldest === 0 ? 0 : (newest - oldest) / oldest,
    `store: usage_snapshots, monthly waste of ${plural(ends.length, 'cluster')}: ${ends.join('; ')}${alone}`,
  )
}

/**
 * Images whose vulnerabilities an import recorded in the window (`plimsoll import` of a Trivy or Grype
 * report): a row's last run is the newest report that listed it, so an image scanned again counts
 * again, and one last scanned before the window does not.
 */
async function imageScans(store: Store, w: Window): Promise<Outcome> {
  const rows = await store.db
    .selectFrom('vulnerabilities as v')
    .innerJoin('runs as r', 'r.id', 'v.last_run_id')
    .where('r.started_at', '>=', w.since)
    .where('r.started_at', '<=', w.now)
    .select(['v.artifact', 'v.tool'])
    .distinct()
    .execute()
  if (rows.length === 0)
    return fact(0, `store: vulnerabilities, no image scan imported since ${day(w.since)}`)
  const images = [...new Set(rows.map((r) => r.artifact))].sort()
  const tools = [...new Set(rows.map((r) => r.tool))].sort()
  return fact(
    images.length,
    `store: vulnerabilities, ${plural(images.length, 'image')} scanned by ${tools.join(', ')} since ${day(w.since)}: ${listed(images)}`,
  )
}

/**
 * Open critical and high vulnerabilities with a fix, first seen over OVERDUE_DAYS days ago: CVEs
 * identified but not addressed. A count, so 0 without any import; the criteria read it beside
 * imageScans, which says whether anything was scanned at all.
 */
async function overdueVulnerabilities(store: Store, w: Window): Promise<Outcome> {
  const p = await vulnerabilityPosture(store, undefined, new Date(w.now))
  return fact(
    p.overdue,
    `store: vulnerabilities, ${plural(p.overdue, 'fixable critical or high vulnerability', 'fixable critical or high vulnerabilities')} open over ${OVERDUE_DAYS} days (${plural(p.open, 'open vulnerability', 'open vulnerabilities')} in ${plural(p.images, 'image')})`,
  )
}
