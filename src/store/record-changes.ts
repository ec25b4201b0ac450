/**
 * A live target's changes, recorded as they happen: a cluster watcher's run stays open, and each
 * batch of objects evaluated again updates their findings (new, seen again, reopened) and resolves the
 * findings those objects no longer have, or all of theirs when they are gone. A batch is one
 * transaction; the run's sums are brought up to date with it.
 */
import type { Transaction } from 'kysely'
import type { Severity } from '../policy/check.js'
import type { CheckStats } from '../policy/frameworks.js'
import { fingerprint } from '../scan/baseline.js'
import type { Finding } from '../scan/scan.js'
import type { Store } from './connect.js'
import type { Manifest } from './manifests.js'
import { resourceKeyOf, upsertFindings, upsertResources } from './record-run.js'
import type { Database } from './schema.js'

export interface ResourceChange {
  resource: { group: string; kind: string; namespace: string; name: string }
  /** its findings now: [] when it has none, or is gone */
  findings: readonly Finding[]
  /** its manifest, when it is to be kept (see manifests.ts for what never is) */
  manifest?: string
}

/** The run's sums after the batch (see LiveState.totals). */
export interface RunTotals {
  resources: number
  passed: number
  findings: number
  excepted: number
  bySeverity: Record<Severity, number>
  /** per check and per namespace: written when given (they change less often than the rest) */
  checkStats?: CheckStats
  namespaceStats?: CheckStats
}

export interface ChangeBatch {
  target: string
  runId: number
  /** ISO time of the batch; strictly later than the previous batch's (resolution relies on it) */
  at: string
  changes: readonly ResourceChange[]
  totals: RunTotals
}

export interface ChangeOutcome {
  opened: number
  reopened: number
  resolved: number
}

const CHUNK = 400

function keyOf(r: ResourceChange['resource']): string {
  return [r.group, r.kind, r.namespace, r.name].join('\u0000')
}

/** Ids of the changed resources that have a row (had findings once), by key. */
async function resourceIds(
  trx: Transaction<Database>,
  target: string,
  changes: readonly ResourceChange[],
): Promise<number[]> {
  const wanted = new Set(changes.map((c) => keyOf(c.resource)))
  const names = [...new Set(changes.map((c) => c.resource.name))]
  const ids: number[] = []
  for (let i = 0; i < names.length; i += CHUNK) {
    const rows = await trx
      .selectFrom('resources')
      .select(['id', 'api_group', 'kind', 'namespace', 'name'])
      .where('target', '=', target)
      .where('name', 'in', names.slice(i, i + CHUNK))
      .execute()
    for (const r of rows)
      if (wanted.has(keyOf({ group: r.api_group, kind: r.kind, namespace: r.namespace, name: r.name })))
        ids.push(Number(r.id))
  }
  return ids
}

async function statesOf(
  trx: Transaction<Database>,
  target: string,
  fingerprints: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (let i = 0; i < fingerprints.length; i += CHUNK) {
    const rows = await trx
      .selectFrom('findings')
      .select(['fingerprint', 'state'])
      .where('target', '=', target)
      .where('fingerprint', 'in', fingerprints.slice(i, i + CHUNK))
      .execute()
    for (const r of rows) out.set(r.fingerprint, r.state)
  }
  return out
}

async function writeTotals(trx: Transaction<Database>, runId: number, at: string, t: RunTotals) {
  await trx
    .updateTable('runs')
    .set({
      finished_at: at,
      resources: t.resources,
      passed: t.passed,
      findings: t.findings,
      excepted: t.excepted,
      critical: t.bySeverity.critical,
      high: t.bySeverity.high,
      medium: t.bySeverity.medium,
      low: t.bySeverity.low,
      info: t.bySeverity.info,
    })
    .where('id', '=', runId)
    .execute()
  const tables = [
    ['run_checks', 'check_id', t.checkStats],
    ['run_namespaces', 'namespace', t.namespaceStats],
  ] as const
  for (const [table, column, stats] of tables) {
    if (!stats) continue
    await trx.deleteFrom(table).where('run_id', '=', runId).execute()
    const rows = Object.entries(stats).map(([k, st]) => ({ run_id: runId, [column]: k, ...st }))
    for (let i = 0; i < rows.length; i += CHUNK)
      await trx
        .insertInto(table)
        .values(rows.slice(i, i + CHUNK) as never)
        .execute()
  }
}

export async function recordChanges(store: Store, batch: ChangeBatch): Promise<ChangeOutcome> {
  const { target, runId, at } = batch
  const byFingerprint = new Map<string, Finding>()
  for (const c of batch.changes)
    for (const f of c.findings) {
      const fp = fingerprint(f)
      if (!byFingerprint.has(fp)) byFingerprint.set(fp, f)
    }
  const manifests = new Map<string, Manifest>()
  for (const c of batch.changes)
    if (c.manifest !== undefined && c.findings.length > 0)
      manifests.set(resourceKeyOf(c.findings[0]!), { text: c.manifest, line: 1 })
  return store.db.transaction().execute(async (trx) => {
    const before = await statesOf(trx, target, [...byFingerprint.keys()])
    let opened = 0
    let reopened = 0
    for (const fp of byFingerprint.keys()) {
      const was = before.get(fp)
      if (was === undefined) opened++
      else if (was === 'resolved') reopened++
    }
    const ids = await upsertResources(trx, target, [...byFingerprint.values()], at, manifests)
    await upsertFindings(trx, target, runId, at, byFingerprint, ids)
    // What these resources had and no longer have: every finding of theirs not seen in this batch.
    const changed = await resourceIds(trx, target, batch.changes)
    let resolved = 0
    for (let i = 0; i < changed.length; i += CHUNK) {
      const result = await trx
        .updateTable('findings')
        .set({ state: 'resolved', resolved_at: at })
        .where('target', '=', target)
        .where('resource_id', 'in', changed.slice(i, i + CHUNK))
        .where('state', '<>', 'resolved')
        .where('last_seen', '<>', at)
        .executeTakeFirst()
      resolved += Number(result.numUpdatedRows)
    }
    await writeTotals(trx, runId, at, batch.totals)
    return { opened, reopened, resolved }
  })
}

export interface LiveRunStart {
  source: 'cluster'
  target: string
  startedAt: string
  plimsollVersion: string
  policyVersion: string
  checks: number
}

/** Opens a live run: its findings come in batches (recordChanges), its sync ends with closeSync. */
export async function openRun(store: Store, run: LiveRunStart): Promise<number> {
  const row = await store.db
    .insertInto('runs')
    .values({
      source: run.source,
      target: run.target,
      started_at: run.startedAt,
      finished_at: run.startedAt,
      plimsoll_version: run.plimsollVersion,
      policy_version: run.policyVersion,
      complete: 0,
      files: 0,
      resources: 0,
      checks: run.checks,
      findings: 0,
      critical: 0,
      high: 0,
      medium: 0,
      low: 0,
      info: 0,
      excepted: 0,
      errors: 0,
      passed: 0,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return Number(row.id)
}

/**
 * The first full sync of a live run is recorded: when it saw every kind (`complete`), the target's
 * findings it did not see again are resolved (their objects went away while nobody watched), as a
 * complete scan does. `errors`: the kinds that could not be read.
 */
export async function closeSync(
  store: Store,
  sync: { runId: number; target: string; at: string; complete: boolean; errors: number },
): Promise<{ resolved: number }> {
  return store.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('runs')
      .set({ complete: sync.complete ? 1 : 0, errors: sync.errors, finished_at: sync.at })
      .where('id', '=', sync.runId)
      .execute()
    if (!sync.complete) return { resolved: 0 }
    const result = await trx
      .updateTable('findings')
      .set({ state: 'resolved', resolved_at: sync.at })
      .where('target', '=', sync.target)
      .where('state', '<>', 'resolved')
      .where('last_run_id', '<>', sync.runId)
      .executeTakeFirst()
    return { resolved: Number(result.numUpdatedRows) }
  })
}
