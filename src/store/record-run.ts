/**
 * Records a scan in the store, in one transaction: the run, the resources with findings, and each
 * finding's lifecycle, keyed by its fingerprint within the target. A finding seen again is updated
 * (and reopened if it had been resolved); a finding of the target that a complete run no longer finds
 * is resolved. A crash part-way leaves the store as it was before the run.
 */
import { type Insertable, type Kysely, SqliteAdapter, sql, type Transaction } from 'kysely'
import { fingerprint } from '../scan/baseline.js'
import type { Finding, ScanReport } from '../scan/scan.js'
import type { Store } from './connect.js'
import type { Manifest } from './manifests.js'
import type { Database, FindingState, RunSource } from './schema.js'

export interface RecordOptions {
  source: RunSource
  target: string
  plimsollVersion: string
  /** documents of resources with findings, by resourceKeyOf (see manifests.ts) */
  manifests?: ReadonlyMap<string, Manifest>
  /**
   * More of the run's writes, in its transaction, once its findings are upserted: an import's
   * vulnerability facts (vulnerabilities.ts), which a crash must not leave without their findings.
   */
  afterFindings?: (trx: Transaction<Database>, run: { runId: number; at: string }) => Promise<void>
}

export interface RecordOutcome {
  runId: number
  /** findings seen for the first time */
  opened: number
  /** findings seen before, and again now */
  seenAgain: number
  /** findings that had been resolved and are back */
  reopened: number
  /** findings of the target this run no longer finds (complete runs only) */
  resolved: number
  /** false when some input could not be read: nothing was resolved, as absence proves nothing then */
  complete: boolean
}

/** Rows per INSERT: well under SQLite's and PostgreSQL's limits on bound parameters. */
const CHUNK = 400

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? '' : apiVersion.slice(0, slash)
}

function resourceKey(group: string, kind: string, namespace: string, name: string): string {
  return [group, kind, namespace, name].join('\u0000')
}

/** A finding's resource, as the store identifies it within a target. */
export function resourceKeyOf(f: Finding): string {
  return resourceKey(
    groupOf(f.resource.apiVersion),
    f.resource.kind,
    f.resource.namespace ?? '',
    f.resource.name,
  )
}

/** The columns a findings list filters, sorts and searches on, copied onto the finding's row. */
function denormalized(f: Finding) {
  const r = f.resource
  const namespace = r.namespace ?? ''
  return {
    api_group: groupOf(r.apiVersion),
    kind: r.kind,
    namespace,
    resource_name: r.name,
    severity_rank: SEVERITY_RANK[f.severity],
    search_text: `${f.message} ${f.checkId} ${r.kind}/${namespace}/${r.name} ${f.path}`.toLowerCase(),
  }
}

const SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 } as const

/**
 * The exception that covers the finding; on an open one, the exception that would have covered it but
 * has expired, marked so, for the dashboard to flag it and for the register to know it is still in use.
 */
function exceptionColumn(f: Finding): string | null {
  if (f.excepted) return JSON.stringify(f.excepted)
  if (f.exceptionExpired) return JSON.stringify({ ...f.exceptionExpired, expired: true })
  return null
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * On SQLite, the rows of an upsert go as one JSON parameter that the statement reads with jsonb_each,
 * instead of a VALUES list of CHUNK rows, bound value by value:
 * - its SQL is the same whatever the rows, so SQLite prepares it once; each VALUES list of another
 *   length was a statement of its own, half a megabyte each in the connection's cache of prepared
 *   statements (a live run's batches come in every length);
 * - fewer statements, which Kysely had to build and compile each time (ten thousand values), and
 *   whose values crossed to the store's writer thread one by one (sqlite.ts).
 * SQLite's own work is the same (100,000 findings: 6.6 s against 6.7 s of the statements, trigram
 * index included), as long as the text is made JSONB once (json_each read it again for each column:
 * 9.1 s) and a statement takes enough rows (each statement flushes the search index's pending terms:
 * 8.5 s with 250 rows). The rows go JSON_CHUNK at a time, so that a scan's hundred thousand findings
 * are not one string of tens of megabytes. PostgreSQL takes the rows as before.
 */
function onSqlite(trx: Transaction<Database>): boolean {
  return trx.getExecutor().adapter instanceof SqliteAdapter
}

const JSON_CHUNK = 1000

/**
 * `select value ->> 0 as c0, ... from jsonb_each(rows)`: the rows' values, column by column. The rows
 * go as an array, which the SQLite driver binds as its JSON text (sqlite-connection.ts).
 */
function jsonRows<R extends object>(rows: readonly R[]) {
  const columns = Object.keys(rows[0]!) as (keyof R & string)[]
  const values = rows.map((row) => columns.map((c) => row[c]))
  const select = sql.join(
    [
      sql`select ${sql.join(columns.map((c, i) => sql`value ->> ${sql.lit(i)} as ${sql.ref(c)}`))}`,
      // The WHERE is SQLite's: without it, the ON CONFLICT that follows would be read as a join's.
      sql`from jsonb_each(jsonb(${values})) where true`,
    ],
    sql` `,
  )
  return { columns, select }
}

/**
 * The INSERTs of an upsert of these items, a chunk at a time, each made only when the one before has
 * run: a chunk's rows, and on SQLite its JSON, live no longer than its statement (made all at once,
 * they outlived every statement's wait for the writer thread, and left the heap full of holes).
 */
function* inserts<T, N extends 'resources' | 'findings', R extends Insertable<Database[N]>>(
  trx: Transaction<Database>,
  table: N,
  items: readonly T[],
  row: (item: T) => R,
) {
  const sqlite = onSqlite(trx)
  for (const part of chunks(items, sqlite ? JSON_CHUNK : CHUNK)) {
    if (!sqlite) yield trx.insertInto(table).values(part.map(row))
    else {
      const { columns, select } = jsonRows(part.map(row))
      // A row's keys are the table's columns (R is Insertable), which TypeScript does not carry over.
      yield trx
        .insertInto(table)
        .columns(columns as (keyof Database[N] & string)[])
        .expression(select)
    }
  }
}

/** Inserts or refreshes the resources of these findings; their ids by resourceKeyOf. */
export async function upsertResources(
  trx: Transaction<Database>,
  target: string,
  findings: readonly Finding[],
  now: string,
  manifests: ReadonlyMap<string, Manifest> | undefined,
): Promise<Map<string, number>> {
  const unique = new Map<string, Finding>()
  for (const f of findings) if (!unique.has(resourceKeyOf(f))) unique.set(resourceKeyOf(f), f)
  const ids = new Map<string, number>()
  const row = (f: Finding) => ({
    target,
    api_group: groupOf(f.resource.apiVersion),
    kind: f.resource.kind,
    namespace: f.resource.namespace ?? '',
    name: f.resource.name,
    file: f.location.template ?? f.location.file,
    first_seen: now,
    last_seen: now,
    manifest: manifests?.get(resourceKeyOf(f))?.text ?? null,
    manifest_line: manifests?.get(resourceKeyOf(f))?.line ?? null,
  })
  for (const insert of inserts(trx, 'resources', [...unique.values()], row)) {
    const returned = await insert
      .onConflict((oc) =>
        oc.columns(['target', 'api_group', 'kind', 'namespace', 'name']).doUpdateSet((eb) => ({
          last_seen: eb.ref('excluded.last_seen'),
          file: eb.ref('excluded.file'),
          manifest: eb.ref('excluded.manifest'),
          manifest_line: eb.ref('excluded.manifest_line'),
        })),
      )
      .returning(['id', 'api_group', 'kind', 'namespace', 'name'])
      .execute()
    for (const r of returned) ids.set(resourceKey(r.api_group, r.kind, r.namespace, r.name), Number(r.id))
  }
  return ids
}

async function existingStates(trx: Kysely<Database>, target: string): Promise<Map<string, FindingState>> {
  const rows = await trx
    .selectFrom('findings')
    .select(['fingerprint', 'state'])
    .where('target', '=', target)
    .execute()
  return new Map(rows.map((r) => [r.fingerprint, r.state]))
}

/**
 * Inserts each finding, or updates the one of the same fingerprint: seen again at `now` in run `runId`,
 * reopened if it had been resolved. `byFingerprint` holds one finding per fingerprint.
 */
export async function upsertFindings(
  trx: Transaction<Database>,
  target: string,
  runId: number,
  now: string,
  byFingerprint: ReadonlyMap<string, Finding>,
  resourceIds: ReadonlyMap<string, number>,
): Promise<void> {
  const row = ([fp, f]: [string, Finding]) => ({
    target,
    fingerprint: fp,
    check_id: f.checkId,
    severity: f.severity,
    category: f.category,
    message: f.message,
    resource_id: resourceIds.get(resourceKeyOf(f))!,
    container: f.container?.name ?? null,
    path: f.path,
    file: f.location.template ?? f.location.file,
    line: f.location.line,
    column: f.location.column,
    state: f.excepted ? ('excepted' as const) : ('open' as const),
    exception: exceptionColumn(f),
    first_seen: now,
    last_seen: now,
    resolved_at: null,
    first_run_id: runId,
    last_run_id: runId,
    reopened: 0,
    ...denormalized(f),
  })
  for (const insert of inserts(trx, 'findings', [...byFingerprint], row))
    await insert
      .onConflict((oc) =>
        oc.columns(['target', 'fingerprint']).doUpdateSet((eb) => ({
          check_id: eb.ref('excluded.check_id'),
          severity: eb.ref('excluded.severity'),
          category: eb.ref('excluded.category'),
          message: eb.ref('excluded.message'),
          resource_id: eb.ref('excluded.resource_id'),
          container: eb.ref('excluded.container'),
          path: eb.ref('excluded.path'),
          file: eb.ref('excluded.file'),
          line: eb.ref('excluded.line'),
          column: eb.ref('excluded.column'),
          state: eb.ref('excluded.state'),
          exception: eb.ref('excluded.exception'),
          last_seen: eb.ref('excluded.last_seen'),
          last_run_id: eb.ref('excluded.last_run_id'),
          severity_rank: eb.ref('excluded.severity_rank'),
          search_text: eb.ref('excluded.search_text'),
          resolved_at: null,
          reopened: sql<number>`findings.reopened + case when findings.state = 'resolved' then 1 else 0 end`,
        })),
      )
      .execute()
}

export async function recordRun(
  store: Store,
  report: ScanReport,
  options: RecordOptions,
): Promise<RecordOutcome> {
  const startedAt = report.startedAt
  const finishedAt = new Date(Date.parse(startedAt) + report.durationMs).toISOString()
  const complete = report.errors.length === 0
  const { target } = options
  // One row per fingerprint: a check that reports the same field twice is one finding to track.
  const byFingerprint = new Map<string, Finding>()
  for (const f of report.findings) {
    const fp = fingerprint(f)
    if (!byFingerprint.has(fp)) byFingerprint.set(fp, f)
  }
  return store.db.transaction().execute(async (trx) => {
    const s = report.summary
    const run = await trx
      .insertInto('runs')
      .values({
        source: options.source,
        target,
        started_at: startedAt,
        finished_at: finishedAt,
        plimsoll_version: options.plimsollVersion,
        policy_version: report.policyVersion,
        complete: complete ? 1 : 0,
        files: s.files,
        resources: s.resources,
        checks: s.checks,
        findings: s.findings,
        critical: s.bySeverity.critical,
        high: s.bySeverity.high,
        medium: s.bySeverity.medium,
        low: s.bySeverity.low,
        info: s.bySeverity.info,
        excepted: s.excepted,
        errors: s.errors,
        passed: s.passed,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    const runId = Number(run.id)
    for (const part of chunks(Object.entries(report.checkStats)))
      await trx
        .insertInto('run_checks')
        .values(part.map(([check_id, st]) => ({ run_id: runId, check_id, ...st })))
        .execute()
    for (const part of chunks(Object.entries(report.namespaceStats)))
      await trx
        .insertInto('run_namespaces')
        .values(part.map(([namespace, st]) => ({ run_id: runId, namespace, ...st })))
        .execute()
    const before = await existingStates(trx, target)
    const resourceIds = await upsertResources(
      trx,
      target,
      [...byFingerprint.values()],
      finishedAt,
      options.manifests,
    )
    let opened = 0
    let reopened = 0
    for (const [fp] of byFingerprint) {
      const was = before.get(fp)
      if (was === undefined) opened++
      else if (was === 'resolved') reopened++
    }
    await upsertFindings(trx, target, runId, finishedAt, byFingerprint, resourceIds)
    await options.afterFindings?.(trx, { runId, at: finishedAt })
    let resolved = 0
    if (complete) {
      const result = await trx
        .updateTable('findings')
        .set({ state: 'resolved', resolved_at: finishedAt })
        .where('target', '=', target)
        .where('state', '<>', 'resolved')
        .where('last_run_id', '<>', runId)
        .executeTakeFirst()
      resolved = Number(result.numUpdatedRows)
    }
    return {
      runId,
      opened,
      seenAgain: byFingerprint.size - opened - reopened,
      reopened,
      resolved,
      complete,
    }
  })
}
