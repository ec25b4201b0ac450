/**
 * Upgrade checks in the store (`plimsoll upgrade-check --store`, docs/upgrade-check.md): each check of
 * a target recorded whole, in one transaction, and kept: its counts by impact and area beside it (what
 * the list reads), the rest of its report as JSON in the CLI's JSON report's words, and its findings a
 * row each, read back by impact and area in the order the text report groups them. Read by the API's
 * upgrade-check routes (src/server/api/upgrade-checks.ts).
 */
import type { Insertable, Selectable } from 'kysely'
import {
  type Page,
  UPGRADE_AREAS,
  UPGRADE_IMPACTS,
  type UpgradeArea,
  type UpgradeCheckSummaryView,
  type UpgradeCheckView,
  type UpgradeCounts,
  type UpgradeFindingView,
  type UpgradeImpact,
} from '../api-types.js'
import type { UpgradeFinding } from '../upgrade/evaluate.js'
import { counts, renderJson, type UpgradeReport } from '../upgrade/report.js'
import type { Store } from './connect.js'
import type { UpgradeCheckFindingTable, UpgradeCheckTable } from './schema.js'

export interface UpgradeCheckInput {
  readonly report: UpgradeReport
  /** what was checked: a repository, a cluster's name */
  readonly target: string
  readonly plimsollVersion: string
  /** ISO time of the check (default: now) */
  readonly checkedAt?: string
}

export interface UpgradeFindingFilter {
  impact?: readonly UpgradeImpact[]
  area?: readonly UpgradeArea[]
  limit?: number
  offset?: number
}

/** Rows per INSERT: 19 columns x 500 = 9,500 values, under SQLite's 32,766 and PostgreSQL's 65,535. */
const CHUNK = 500
/** The inputs' errors kept with a check: enough to say what went wrong, bounded for a broken tree. */
const ERRORS_KEPT = 50

const v = (minor: number) => `v1.${minor}`

/** The order the text report groups findings in: by impact, then by area. */
function rankOf(f: Pick<UpgradeFinding, 'impact' | 'area'>): number {
  return UPGRADE_IMPACTS.indexOf(f.impact) * UPGRADE_AREAS.length + UPGRADE_AREAS.indexOf(f.area)
}

const zero = (): UpgradeCounts => ({ breaks: 0, changes: 0, deprecated: 0 })

function byAreaOf(findings: readonly UpgradeFinding[]): Record<UpgradeArea, UpgradeCounts> {
  const out = Object.fromEntries(UPGRADE_AREAS.map((a) => [a, zero()])) as Record<UpgradeArea, UpgradeCounts>
  for (const f of findings) out[f.area][f.impact]++
  return out
}

/** What the details column holds: the report's JSON (as the CLI writes it) without its findings. */
type Details = Pick<
  UpgradeCheckView,
  'notes' | 'notVisibleInManifests' | 'podSecurityStandardChanges' | 'servedAtRisk' | 'notRead' | 'errorList'
>

function detailsOf(report: UpgradeReport): Details {
  // The CLI's JSON report is the one written form of a report (versions as v1.N): stored in its words.
  const json = JSON.parse(renderJson(report)) as Pick<
    UpgradeCheckView,
    'notVisibleInManifests' | 'podSecurityStandardChanges'
  > & {
    cluster?: { servedAtRisk: UpgradeCheckView['servedAtRisk']; notRead: UpgradeCheckView['notRead'] }
  }
  return {
    notes: report.notes,
    notVisibleInManifests: json.notVisibleInManifests,
    podSecurityStandardChanges: json.podSecurityStandardChanges,
    servedAtRisk: json.cluster?.servedAtRisk ?? [],
    notRead: json.cluster?.notRead ?? [],
    errorList: report.errors.slice(0, ERRORS_KEPT).map((e) => ({
      file: e.file,
      ...(e.position ? { line: e.position.line } : {}),
      message: e.message,
    })),
  }
}

function findingRow(checkId: number, seq: number, f: UpgradeFinding): UpgradeCheckFindingTable {
  return {
    check_id: checkId,
    seq,
    rank: rankOf(f),
    area: f.area,
    impact: f.impact,
    finding_id: f.id,
    title: f.title,
    api_version: f.object.apiVersion,
    kind: f.object.kind,
    namespace: f.object.namespace ?? null,
    name: f.object.name,
    file: f.file ?? null,
    line: f.line ?? null,
    column: f.column ?? null,
    path: f.path ?? null,
    version: f.version,
    message: f.message,
    replacement: f.replacement ?? null,
    notes: f.notes ?? null,
  }
}

/** Records a check and its findings in one transaction; its id. */
export async function recordUpgradeCheck(
  store: Store,
  input: UpgradeCheckInput,
): Promise<{ id: number; findings: number }> {
  const { report } = input
  const { findings } = report.assessment
  const n = counts(report)
  const row: Insertable<UpgradeCheckTable> = {
    target: input.target,
    checked_at: input.checkedAt ?? new Date().toISOString(),
    from_minor: report.from,
    to_minor: report.to,
    from_source: report.fromSource,
    newest_known: report.newestKnown,
    cluster_version: report.cluster?.gitVersion ?? null,
    objects: report.assessment.objects,
    files: report.files,
    errors: report.errors.length,
    breaks: n.breaks,
    deprecated: n.deprecated,
    changes: n.changes,
    by_area: JSON.stringify(byAreaOf(findings)),
    details: JSON.stringify(detailsOf(report)),
    plimsoll_version: input.plimsollVersion,
  }
  return store.db.transaction().execute(async (trx) => {
    const { id } = await trx
      .insertInto('upgrade_checks')
      .values(row)
      .returning('id')
      .executeTakeFirstOrThrow()
    const checkId = Number(id)
    for (let i = 0; i < findings.length; i += CHUNK)
      await trx
        .insertInto('upgrade_check_findings')
        .values(findings.slice(i, i + CHUNK).map((f, k) => findingRow(checkId, i + k, f)))
        .execute()
    return { id: checkId, findings: findings.length }
  })
}

type CheckRow = Selectable<UpgradeCheckTable> & { checks: number | string }

function summaryOf(r: CheckRow): UpgradeCheckSummaryView {
  return {
    id: Number(r.id),
    target: r.target,
    checkedAt: r.checked_at,
    from: v(r.from_minor),
    to: v(r.to_minor),
    fromSource: r.from_source as UpgradeCheckSummaryView['fromSource'],
    newestKnown: v(r.newest_known),
    clusterVersion: r.cluster_version,
    objects: r.objects,
    files: r.files,
    errors: r.errors,
    counts: { breaks: r.breaks, changes: r.changes, deprecated: r.deprecated },
    byArea: JSON.parse(r.by_area) as UpgradeCheckSummaryView['byArea'],
    checks: Number(r.checks),
    plimsollVersion: r.plimsoll_version,
  }
}

/** The checks with how many of their target and release are kept. */
function checksWithHistory(store: Store) {
  return store.db
    .selectFrom('upgrade_checks as c')
    .selectAll('c')
    .select((eb) =>
      eb
        .selectFrom('upgrade_checks as h')
        .whereRef('h.target', '=', 'c.target')
        .whereRef('h.to_minor', '=', 'c.to_minor')
        .select((e) => e.fn.countAll<number>().as('n'))
        .as('checks'),
    )
}

/** The latest check of each target to each release, by target then release; of one target if given. */
export async function listUpgradeChecks(
  store: Store,
  filter: { target?: string } = {},
): Promise<UpgradeCheckSummaryView[]> {
  let query = checksWithHistory(store).where(({ eb, selectFrom }) =>
    eb(
      'c.id',
      '=',
      selectFrom('upgrade_checks as l')
        .select('l.id')
        .whereRef('l.target', '=', 'c.target')
        .whereRef('l.to_minor', '=', 'c.to_minor')
        .orderBy('l.checked_at', 'desc')
        .orderBy('l.id', 'desc')
        .limit(1),
    ),
  )
  if (filter.target !== undefined) query = query.where('c.target', '=', filter.target)
  const rows = await query.orderBy('c.target').orderBy('c.to_minor').execute()
  return rows.map((r) => summaryOf(r as CheckRow))
}

function findingView(r: Selectable<UpgradeCheckFindingTable>): UpgradeFindingView {
  return {
    area: r.area as UpgradeArea,
    impact: r.impact as UpgradeImpact,
    id: r.finding_id,
    title: r.title,
    object: {
      apiVersion: r.api_version,
      kind: r.kind,
      name: r.name,
      ...(r.namespace !== null ? { namespace: r.namespace } : {}),
    },
    ...(r.file !== null ? { file: r.file } : {}),
    ...(r.line !== null ? { line: r.line } : {}),
    ...(r.column !== null ? { column: r.column } : {}),
    ...(r.path !== null ? { path: r.path } : {}),
    version: v(r.version),
    message: r.message,
    ...(r.replacement !== null ? { replacement: r.replacement } : {}),
    ...(r.notes !== null ? { notes: r.notes } : {}),
  }
}

/**
 * One check, with a page of its findings of the impacts and areas asked for (all by default), grouped
 * as the text report groups them: by impact, area, then id; undefined when there is no such check.
 */
export async function getUpgradeCheck(
  store: Store,
  id: number,
  filter: UpgradeFindingFilter = {},
): Promise<UpgradeCheckView | undefined> {
  const row = await checksWithHistory(store).where('c.id', '=', id).executeTakeFirst()
  if (!row) return undefined
  let findings = store.db.selectFrom('upgrade_check_findings').where('check_id', '=', id)
  if (filter.impact?.length) findings = findings.where('impact', 'in', [...filter.impact])
  if (filter.area?.length) findings = findings.where('area', 'in', [...filter.area])
  const limit = filter.limit ?? 1000
  const offset = filter.offset ?? 0
  const [{ total }, items] = await Promise.all([
    findings.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
    findings
      .selectAll()
      .orderBy('rank')
      .orderBy('finding_id')
      .orderBy('seq')
      .limit(limit)
      .offset(offset)
      .execute(),
  ])
  const page: Page<UpgradeFindingView> = {
    total: Number(total),
    limit,
    offset,
    items: items.map(findingView),
  }
  return { ...summaryOf(row as CheckRow), ...(JSON.parse(row.details) as Details), findings: page }
}
