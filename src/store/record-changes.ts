/**
 * A live target's changes, recorded as they happen: a cluster watcher's run stays open, and each
 * batch writes what changed in its objects' findings: the new and the changed ones (a resolved one
 * coming back is reopened), and the fingerprints of those gone. An object evaluated again with the
 * same findings writes nothing. A batch is one transaction; the run's sums come up to date with it.
 */
import type { Kysely, Transaction } from 'kysely'
import type { LiveFinding } from '../api-types.js'
import type { Severity } from '../policy/check.js'
import type { CheckStats } from '../policy/frameworks.js'
import { fingerprint } from '../scan/baseline.js'
import type { Finding } from '../scan/scan.js'
import type { Store } from './connect.js'
import type { Manifest } from './manifests.js'
import { upsertFindings, upsertResources } from './record-run.js'
import type { Database } from './schema.js'

export interface ResourceChange {
  resource: { group: string; kind: string; namespace: string; name: string }
  /** findings new or changed: written whole (a resolved one comes back, reopened) */
  upserts: readonly Finding[]
  /** fingerprints of the findings it no longer has */
  resolved: readonly string[]
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
  /**
   * Mark every open finding of the run seen now: findings unchanged since the sync are not written
   * with each batch, so their last_seen says when they were last confirmed only if refreshed.
   */
  refreshSeen?: boolean
}

export interface ChangeOutcome {
  opened: number
  reopened: number
  resolved: number
  /** with `describe`: the findings opened (or reopened) and resolved, excepted ones aside, as events name them */
  described?: { opened: LiveFinding[]; resolved: LiveFinding[] }
}

const CHUNK = 400

/** The resource's key as record-run.ts's resourceKeyOf makes it for a finding. */
function keyOf(r: ResourceChange['resource']): string {
  return [r.group, r.kind, r.namespace, r.name].join('\u0000')
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

export function recordChanges(store: Store, batch: ChangeBatch): Promise<ChangeOutcome> {
  return store.db.transaction().execute((trx) => recordChangesIn(trx, batch))
}

/** A finding as events name it. */
function liveFinding(f: Finding): LiveFinding {
  const { kind, name, namespace = '' } = f.resource
  return { checkId: f.checkId, severity: f.severity, kind, namespace, name, message: f.message, path: f.path }
}

/** The open findings (not excepted, not resolved) among these, as events name them. */
async function openAmong(
  trx: Transaction<Database>,
  target: string,
  fingerprints: readonly string[],
): Promise<LiveFinding[]> {
  const out: LiveFinding[] = []
  for (let i = 0; i < fingerprints.length; i += CHUNK) {
    const rows = await trx
      .selectFrom('findings')
      .select(['check_id', 'severity', 'kind', 'namespace', 'resource_name', 'message', 'path'])
      .where('target', '=', target)
      .where('fingerprint', 'in', fingerprints.slice(i, i + CHUNK))
      .where('state', '=', 'open')
      .execute()
    for (const r of rows)
      out.push({
        checkId: r.check_id,
        severity: r.severity as Severity,
        kind: r.kind,
        namespace: r.namespace,
        name: r.resource_name,
        message: r.message,
        path: r.path,
      })
  }
  return out
}

/**
 * recordChanges within a transaction the caller holds (an agent's message moves its sequence in it).
 * `describe`: also say which findings it opened and resolved (a server relaying an agent's changes
 * to the dashboard has no watcher's view of them).
 */
export async function recordChangesIn(
  trx: Transaction<Database>,
  batch: ChangeBatch,
  describe = false,
): Promise<ChangeOutcome> {
  const { target, runId, at } = batch
  const byFingerprint = new Map<string, Finding>()
  const resolved: string[] = []
  const manifests = new Map<string, Manifest>()
  for (const c of batch.changes) {
    for (const f of c.upserts) byFingerprint.set(fingerprint(f), f)
    resolved.push(...c.resolved)
    if (c.manifest !== undefined) manifests.set(keyOf(c.resource), { text: c.manifest, line: 1 })
  }
  const before = await statesOf(trx, target, [...byFingerprint.keys()])
  let opened = 0
  let reopened = 0
  const described = describe ? { opened: [] as LiveFinding[], resolved: [] as LiveFinding[] } : undefined
  for (const [fp, f] of byFingerprint) {
    const was = before.get(fp)
    if (was === undefined) opened++
    else if (was === 'resolved') reopened++
    if (described && !f.excepted && (was === undefined || was === 'resolved'))
      described.opened.push(liveFinding(f))
  }
  if (described) described.resolved = await openAmong(trx, target, resolved)
  const ids = await upsertResources(trx, target, [...byFingerprint.values()], at, manifests)
  await upsertFindings(trx, target, runId, at, byFingerprint, ids)
  // A manifest that changed while the findings did not: the resource's row only.
  for (const c of batch.changes)
    if (c.manifest !== undefined && c.upserts.length === 0)
      await trx
        .updateTable('resources')
        .set({ manifest: c.manifest, manifest_line: 1, last_seen: at })
        .where('target', '=', target)
        .where('api_group', '=', c.resource.group)
        .where('kind', '=', c.resource.kind)
        .where('namespace', '=', c.resource.namespace)
        .where('name', '=', c.resource.name)
        .execute()
  let count = 0
  for (let i = 0; i < resolved.length; i += CHUNK) {
    const result = await trx
      .updateTable('findings')
      .set({ state: 'resolved', resolved_at: at })
      .where('target', '=', target)
      .where('fingerprint', 'in', resolved.slice(i, i + CHUNK))
      .where('state', '<>', 'resolved')
      .executeTakeFirst()
    count += Number(result.numUpdatedRows)
  }
  if (batch.refreshSeen)
    await trx
      .updateTable('findings')
      .set({ last_seen: at })
      .where('target', '=', target)
      .where('last_run_id', '=', runId)
      .where('state', '<>', 'resolved')
      .execute()
  await writeTotals(trx, runId, at, batch.totals)
  return { opened, reopened, resolved: count, ...(described ? { described } : {}) }
}

export interface LiveRunStart {
  source: 'cluster'
  target: string
  startedAt: string
  plimsollVersion: string
  policyVersion: string
  checks: number
}

/**
 * Opens a live run: its findings come in batches (recordChanges), its sync ends with closeSync. `db`:
 * the store's, or a transaction's.
 */
export async function openRun(db: Kysely<Database>, run: LiveRunStart): Promise<number> {
  const row = await db
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
export interface SyncEnd {
  runId: number
  target: string
  at: string
  complete: boolean
  errors: number
}

export function closeSync(store: Store, sync: SyncEnd): Promise<{ resolved: number }> {
  return store.db.transaction().execute((trx) => closeSyncIn(trx, sync))
}

export async function closeSyncIn(trx: Transaction<Database>, sync: SyncEnd): Promise<{ resolved: number }> {
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
}
