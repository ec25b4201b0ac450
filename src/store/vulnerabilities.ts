/**
 * Imported vulnerabilities as data: the facts Trivy and Grype give (advisory, package, versions, fix
 * state, image) kept beside the findings `plimsoll import` records, and the questions the dashboard asks
 * of them: what is open by image and by advisory, how much of it has a fix, and how old it is.
 *
 * A row belongs to the finding of the same target and fingerprint and holds no state: open, excepted or
 * resolved, severity and resource are the finding's, read by a join. Resolving a finding (a newer report
 * no longer has it) then needs no write here, a reopened one finds its row where it was, and the two
 * cannot disagree; a resolved vulnerability stays listed, as `state=resolved` asks.
 */
import { type SelectQueryBuilder, sql, type Transaction } from 'kysely'
import {
  FIX_STATES,
  type FindingState,
  type FixState,
  type Page,
  type Severity,
  type VulnerabilityGrouping,
  type VulnerabilityGroupView,
  type VulnerabilityPosture,
  type VulnerabilitySummaryView,
  type VulnerabilityView,
} from '../api-types.js'
import type { Vulnerability } from '../import/types.js'
import type { Store } from './connect.js'
import { SEVERITY_ORDER } from './queries.js'
import type { Database } from './schema.js'

/** A vulnerability as an import run records it, by its finding's fingerprint. */
export interface VulnerabilityFacts {
  tool: string
  vulnerability: Vulnerability
}

/** Rows per INSERT: 13 columns, well under SQLite's and PostgreSQL's limits on bound parameters. */
const CHUNK = 400

/**
 * Writes the facts of run `runId`'s vulnerabilities, after its findings (same transaction): a new row,
 * or the row of the same fingerprint refreshed (a package upgraded without the fix changes its
 * installed version, not its fingerprint). First seen is the finding's, also for findings recorded
 * before the store kept vulnerabilities.
 */
export async function upsertVulnerabilities(
  trx: Transaction<Database>,
  target: string,
  run: { runId: number; at: string },
  byFingerprint: ReadonlyMap<string, VulnerabilityFacts>,
): Promise<void> {
  if (byFingerprint.size === 0) return
  const firstSeen = new Map(
    (
      await trx
        .selectFrom('findings')
        .select(['fingerprint', 'first_seen'])
        .where('target', '=', target)
        .execute()
    ).map((r) => [r.fingerprint, r.first_seen]),
  )
  const rows = [...byFingerprint].map(([fp, { tool, vulnerability: v }]) => ({
    target,
    fingerprint: fp,
    tool,
    advisory: v.id,
    aliases: JSON.stringify(v.aliases),
    package: v.package,
    package_type: v.packageType ?? '',
    installed_version: v.installedVersion,
    fixed_version: v.fixedVersion ?? null,
    fix_state: v.fixState,
    artifact: v.artifact,
    first_seen: firstSeen.get(fp) ?? run.at,
    last_run_id: run.runId,
  }))
  for (let i = 0; i < rows.length; i += CHUNK)
    await trx
      .insertInto('vulnerabilities')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc.columns(['target', 'fingerprint']).doUpdateSet((eb) => ({
          tool: eb.ref('excluded.tool'),
          advisory: eb.ref('excluded.advisory'),
          aliases: eb.ref('excluded.aliases'),
          package: eb.ref('excluded.package'),
          package_type: eb.ref('excluded.package_type'),
          installed_version: eb.ref('excluded.installed_version'),
          fixed_version: eb.ref('excluded.fixed_version'),
          fix_state: eb.ref('excluded.fix_state'),
          artifact: eb.ref('excluded.artifact'),
          first_seen: eb.ref('excluded.first_seen'),
          last_run_id: eb.ref('excluded.last_run_id'),
        })),
      )
      .execute()
}

export interface VulnerabilityFilter {
  target?: string
  /** the image or artifact */
  image?: string
  /** the advisory's id, or one of its aliases */
  advisory?: string
  /** true: a fixed version is known; false: none is (not-fixed, wont-fix, unknown) */
  fixable?: boolean
  severity?: readonly Severity[]
  /** the findings' states; default open */
  state?: readonly FindingState[]
}

type Joined = SelectQueryBuilder<
  Database & { v: Database['vulnerabilities']; f: Database['findings'] },
  'v' | 'f',
  // biome-ignore lint/complexity/noBannedTypes: Kysely's own type of a query that selects nothing yet
  {}
>

function filtered(store: Store, filter: VulnerabilityFilter): Joined {
  let q = store.db
    .selectFrom('vulnerabilities as v')
    .innerJoin('findings as f', (j) =>
      j.onRef('f.target', '=', 'v.target').onRef('f.fingerprint', '=', 'v.fingerprint'),
    )
    .where('f.state', 'in', filter.state?.length ? [...filter.state] : ['open'])
  if (filter.target !== undefined) q = q.where('v.target', '=', filter.target)
  if (filter.image !== undefined) q = q.where('v.artifact', '=', filter.image)
  if (filter.advisory !== undefined) {
    const id = filter.advisory
    // aliases is a JSON array of strings: the quoted id matches a whole element. The API's pattern for
    // an advisory admits no LIKE wildcard.
    q = q.where((eb) =>
      eb.or([eb('v.advisory', '=', id), eb('v.aliases', 'like', `%${JSON.stringify(id)}%`)]),
    )
  }
  if (filter.fixable !== undefined) q = q.where('v.fix_state', filter.fixable ? '=' : '<>', 'fixed')
  if (filter.severity?.length) q = q.where('f.severity', 'in', [...filter.severity])
  return q as unknown as Joined
}

const DAY_MS = 86_400_000

function ageDays(firstSeen: string, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - Date.parse(firstSeen)) / DAY_MS))
}

/** Worst first, then oldest first: what to fix before what. */
export async function listVulnerabilities(
  store: Store,
  filter: VulnerabilityFilter,
  page: { limit: number; offset: number },
  now = new Date(),
): Promise<Page<VulnerabilityView>> {
  const q = filtered(store, filter)
  const [count, rows] = await Promise.all([
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    q
      .select([
        'f.id',
        'v.target',
        'v.advisory',
        'v.aliases',
        'v.tool',
        'v.package',
        'v.package_type',
        'v.installed_version',
        'v.fixed_version',
        'v.fix_state',
        'v.artifact',
        'v.first_seen',
        'f.severity',
        'f.state',
        'f.kind',
        'f.namespace',
        'f.resource_name',
        'f.container',
        'f.last_seen',
      ])
      .orderBy('f.severity_rank')
      .orderBy('v.first_seen')
      .orderBy('v.target')
      .orderBy('v.fingerprint')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
  ])
  return {
    total: Number(count.n),
    limit: page.limit,
    offset: page.offset,
    items: rows.map((r) => ({
      findingId: Number(r.id),
      target: r.target,
      advisory: r.advisory,
      aliases: JSON.parse(r.aliases) as string[],
      tool: r.tool,
      package: r.package,
      packageType: r.package_type,
      installedVersion: r.installed_version,
      fixedVersion: r.fixed_version,
      fixState: r.fix_state as FixState,
      fixable: r.fix_state === 'fixed',
      image: r.artifact,
      severity: r.severity as Severity,
      state: r.state,
      resource: { kind: r.kind, namespace: r.namespace, name: r.resource_name },
      container: r.container,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      ageDays: ageDays(r.first_seen, now),
    })),
  }
}

const countIf = (condition: ReturnType<typeof sql>) =>
  sql<number>`sum(case when ${condition} then 1 else 0 end)`

/** Images or advisories, the worst first, then those with the most vulnerabilities. */
export async function groupVulnerabilities(
  store: Store,
  filter: VulnerabilityFilter,
  by: VulnerabilityGrouping,
  page: { limit: number; offset: number },
  now = new Date(),
): Promise<Page<VulnerabilityGroupView>> {
  const column = by === 'image' ? 'v.artifact' : 'v.advisory'
  const q = filtered(store, filter)
  const [count, rows] = await Promise.all([
    q.select(sql<number>`count(distinct ${sql.ref(column)})`.as('n')).executeTakeFirstOrThrow(),
    q
      .select((eb) => [
        eb.ref(column).as('key'),
        eb.fn.countAll<number>().as('count'),
        countIf(sql`v.fix_state = 'fixed'`).as('fixable'),
        ...SEVERITY_ORDER.map((s) => countIf(sql`f.severity = ${s}`).as(s)),
        eb.fn.min('f.severity_rank').as('worst'),
        eb.fn.min('v.first_seen').as('oldest'),
        sql<number>`count(distinct v.artifact)`.as('images'),
        sql<number>`count(distinct v.package)`.as('packages'),
        sql<number>`count(distinct v.target)`.as('targets'),
      ])
      .groupBy(column)
      .orderBy('worst')
      .orderBy('count', 'desc')
      .orderBy('key')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
  ])
  return {
    total: Number(count.n),
    limit: page.limit,
    offset: page.offset,
    items: rows.map((r) => {
      const row = r as unknown as Record<string, string | number>
      const bySeverity = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, Number(row[s] ?? 0)])) as Record<
        Severity,
        number
      >
      return {
        key: String(r.key),
        count: Number(r.count),
        fixable: Number(r.fixable),
        severity: SEVERITY_ORDER[Number(r.worst)] ?? 'info',
        bySeverity,
        images: Number(r.images),
        packages: Number(r.packages),
        targets: Number(r.targets),
        oldestDays: ageDays(String(r.oldest), now),
      }
    }),
  }
}

/** The age bands of the summary, in days since first seen: [from, to). */
export const AGE_BANDS = [
  { label: 'under 7 days', from: 0, to: 7 },
  { label: '7 to 30 days', from: 7, to: 30 },
  { label: '30 to 90 days', from: 30, to: 90 },
  { label: '90 days to a year', from: 90, to: 365 },
  { label: 'over a year', from: 365, to: null },
] as const

/** What the dashboard's page opens with: counts by fix state, severity and age, the worst groups. */
export async function vulnerabilitySummary(
  store: Store,
  filter: VulnerabilityFilter,
  top = 10,
  now = new Date(),
): Promise<VulnerabilitySummaryView> {
  const q = filtered(store, filter)
  // first_seen is ISO 8601 UTC text, which compares as the times do: one pass counts every band.
  const cutoffs = AGE_BANDS.filter((b) => b.to !== null).map((b) =>
    new Date(now.getTime() - (b.to as number) * DAY_MS).toISOString(),
  )
  const page = { limit: top, offset: 0 }
  const [states, ages, images, advisories] = await Promise.all([
    q
      .select((eb) => ['v.fix_state', 'f.severity', eb.fn.countAll<number>().as('n')])
      .groupBy(['v.fix_state', 'f.severity'])
      .execute(),
    q
      .select(
        cutoffs.flatMap((c, i) => [
          countIf(sql`v.first_seen > ${c}`).as(`newer${i}`),
          countIf(sql`v.first_seen > ${c} and v.fix_state = 'fixed'`).as(`fixable${i}`),
        ]),
      )
      .executeTakeFirstOrThrow(),
    groupVulnerabilities(store, filter, 'image', page, now),
    groupVulnerabilities(store, filter, 'advisory', page, now),
  ])
  const byFixState = Object.fromEntries(FIX_STATES.map((s) => [s, 0])) as Record<FixState, number>
  const bySeverity = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, 0])) as Record<Severity, number>
  let count = 0
  for (const r of states) {
    const n = Number(r.n)
    count += n
    if (r.fix_state in byFixState) byFixState[r.fix_state as FixState] += n
    bySeverity[r.severity as Severity] += n
  }
  // Cumulative counts (newer than each cutoff) to bands; the oldest band is what is left.
  const newer = ages as unknown as Record<string, string | number | null>
  const cumulative = (prefix: string, i: number, all: number) =>
    i < cutoffs.length ? Number(newer[`${prefix}${i}`] ?? 0) : all
  const age = AGE_BANDS.map((b, i) => ({
    label: b.label,
    from: b.from,
    to: b.to,
    count: cumulative('newer', i, count) - (i === 0 ? 0 : cumulative('newer', i - 1, count)),
    fixable:
      cumulative('fixable', i, byFixState.fixed) -
      (i === 0 ? 0 : cumulative('fixable', i - 1, byFixState.fixed)),
  }))
  return {
    count,
    fixable: byFixState.fixed,
    notFixable: count - byFixState.fixed,
    byFixState,
    bySeverity,
    age,
    images,
    advisories,
  }
}

/** A fixable critical or high vulnerability open longer than this is overdue (a common patch SLA). */
export const OVERDUE_DAYS = 30

/**
 * The posture's view of vulnerabilities: each image is one evaluation ("no open critical or high
 * vulnerability has a fix waiting"), so an image that needs patching weighs like one failing check on
 * one resource, however many advisories it carries; the counts say the rest. An image whose every
 * report came back clean never got a row, so it is not counted: Trivy and Grype list vulnerabilities,
 * not the images that had none.
 */
export async function vulnerabilityPosture(
  store: Store,
  target: string | undefined,
  now = new Date(),
): Promise<VulnerabilityPosture> {
  const states: FindingState[] = ['open', 'excepted', 'resolved']
  const all = filtered(store, { target, state: states })
  const open = filtered(store, { target })
  const urgent = sql`f.severity in ('critical', 'high') and v.fix_state = 'fixed'`
  const cutoff = new Date(now.getTime() - OVERDUE_DAYS * DAY_MS).toISOString()
  const [images, counts] = await Promise.all([
    all.select(sql<number>`count(distinct v.artifact)`.as('n')).executeTakeFirstOrThrow(),
    open
      .select((eb) => [
        eb.fn.countAll<number>().as('open'),
        countIf(sql`v.fix_state = 'fixed'`).as('fixable'),
        countIf(sql`${urgent} and v.first_seen < ${cutoff}`).as('overdue'),
        sql<number>`count(distinct case when ${urgent} then v.artifact end)`.as('failing'),
      ])
      .executeTakeFirstOrThrow(),
  ])
  return {
    images: Number(images.n),
    failingImages: Number(counts.failing ?? 0),
    open: Number(counts.open ?? 0),
    fixable: Number(counts.fixable ?? 0),
    overdue: Number(counts.overdue ?? 0),
    overdueDays: OVERDUE_DAYS,
  }
}
