/**
 * Agents' sessions: an agent (`plimsoll agent`) watches one cluster and pushes its run to a central
 * server as numbered messages. Each message is applied in one transaction with the move of its
 * session's sequence number, so that whatever is lost on the way (the answer, the connection, the
 * central server itself) the agent can send the message again and it is applied exactly once.
 */
import type { Transaction } from 'kysely'
import type { Store } from './connect.js'
import { MAX_MANIFEST_BYTES, manifestWithheld } from './manifests.js'
import {
  type ChangeBatch,
  type ChangeOutcome,
  closeSyncIn,
  type LiveRunStart,
  openRun,
  type ResourceChange,
  recordChangesIn,
} from './record-changes.js'
import type { Database } from './schema.js'

export interface SessionStart {
  /** the agent's own id for the session (random): opening is retried with it */
  session: string
  /** the agent token's cluster */
  cluster: string
  tokenId: number
  agentVersion: string
  run: Omit<LiveRunStart, 'source' | 'target'>
}

export interface OpenedSession {
  runId: number
  /** the last message applied (0: none); an agent that reopens its session resends from the next */
  lastSeq: number
}

/** What an agent sends, numbered from 1 within its session. */
export type AgentMessage =
  | { seq: number; type: 'changes'; batch: Omit<ChangeBatch, 'target' | 'runId'> }
  | { seq: number; type: 'sync'; at: string; complete: boolean; errors: number }

export type MessageOutcome =
  | { applied: true; changes?: ChangeOutcome; resolved?: number }
  /** sent before, and applied then: nothing done now */
  | { applied: false; duplicate: true }

/** Why a message or a session is refused; the route turns each into its status. */
export class SessionRefused extends Error {
  constructor(
    readonly reason: 'unknown' | 'superseded' | 'gap' | 'conflict',
    message: string,
    /** for a gap: the message expected next */
    readonly expected?: number,
  ) {
    super(message)
  }
}

/**
 * Opens the session, or finds it opened by an earlier try (same id, same cluster). A new session of a
 * cluster supersedes the older ones: an agent restarted, and the old process, if still alive, stops.
 *
 * With several server replicas on one PostgreSQL store, two tries of one opening can run at once (the
 * agent gave up on one replica and asked another), and so can two agents' openings of one cluster:
 * both read "none yet" and the slower one's insert meets the other's row (the session's id, or the
 * cluster's generation). It is then read again, in a new transaction, which sees the row committed.
 */
export async function openSession(store: Store, start: SessionStart): Promise<OpenedSession> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openOnce(store, start)
    } catch (err) {
      if (attempt >= 5 || !isUniqueViolation(err)) throw err
    }
  }
}

/** A unique or primary key refused a row (PostgreSQL's SQLSTATE 23505, SQLite's constraint codes). */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

function openOnce(store: Store, start: SessionStart): Promise<OpenedSession> {
  return store.db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('agent_sessions')
      .select(['cluster', 'run_id', 'last_seq'])
      .where('id', '=', start.session)
      .executeTakeFirst()
    if (existing) {
      if (existing.cluster !== start.cluster)
        throw new SessionRefused('conflict', `session ${start.session} belongs to another cluster`)
      return { runId: Number(existing.run_id), lastSeq: Number(existing.last_seq) }
    }
    const latest = await trx
      .selectFrom('agent_sessions')
      .select((eb) => eb.fn.max('generation').as('g'))
      .where('cluster', '=', start.cluster)
      .executeTakeFirst()
    const runId = await openRun(trx, { ...start.run, source: 'cluster', target: start.cluster })
    await trx
      .insertInto('agent_sessions')
      .values({
        id: start.session,
        cluster: start.cluster,
        token_id: start.tokenId,
        run_id: runId,
        generation: Number(latest?.g ?? 0) + 1,
        last_seq: 0,
        started_at: start.run.startedAt,
        last_push_at: new Date().toISOString(),
        agent_version: start.agentVersion,
      })
      .execute()
    return { runId, lastSeq: 0 }
  })
}

async function sessionOf(trx: Transaction<Database>, session: string, cluster: string) {
  const row = await trx
    .selectFrom('agent_sessions')
    .select(['run_id', 'last_seq', 'generation'])
    .where('id', '=', session)
    .where('cluster', '=', cluster)
    .executeTakeFirst()
  if (!row) throw new SessionRefused('unknown', `no session ${session} for cluster ${cluster}`)
  const newer = await trx
    .selectFrom('agent_sessions')
    .select('id')
    .where('cluster', '=', cluster)
    .where('generation', '>', row.generation)
    .limit(1)
    .executeTakeFirst()
  if (newer)
    throw new SessionRefused(
      'superseded',
      `session ${session} of cluster ${cluster} was superseded by a newer agent session`,
    )
  return { runId: Number(row.run_id), lastSeq: Number(row.last_seq) }
}

/**
 * Applies the session's next message, once. A message already applied is answered as a duplicate; one
 * that skips ahead is refused with the number expected (the agent sends in order, so only a lost store
 * can cause it).
 */
export function applyMessage(
  store: Store,
  to: { session: string; cluster: string },
  message: AgentMessage,
): Promise<MessageOutcome> {
  return store.db.transaction().execute(async (trx): Promise<MessageOutcome> => {
    const { runId, lastSeq } = await sessionOf(trx, to.session, to.cluster)
    if (message.seq <= lastSeq) return { applied: false, duplicate: true }
    if (message.seq > lastSeq + 1)
      throw new SessionRefused(
        'gap',
        `message ${message.seq} skips ahead: the session's last applied message is ${lastSeq}`,
        lastSeq + 1,
      )
    // The move is conditional: of two copies of a message applied at once, the second waits for the
    // first's row lock (PostgreSQL) or write lock (SQLite), then moves nothing and is a duplicate.
    const moved = await trx
      .updateTable('agent_sessions')
      .set({ last_seq: message.seq, last_push_at: new Date().toISOString() })
      .where('id', '=', to.session)
      .where('last_seq', '=', message.seq - 1)
      .executeTakeFirst()
    if (Number(moved.numUpdatedRows) !== 1) return { applied: false, duplicate: true }
    if (message.type === 'changes') {
      const batch = { ...message.batch, changes: message.batch.changes.map(keptManifest) }
      return {
        applied: true,
        changes: await recordChangesIn(trx, { ...batch, target: to.cluster, runId }, true),
      }
    }
    const closed = await closeSyncIn(trx, {
      runId,
      target: to.cluster,
      at: message.at,
      complete: message.complete,
      errors: message.errors,
    })
    return { applied: true, resolved: closed.resolved }
  })
}

/**
 * The change with its manifest only if the store may keep it: an agent withholds a Secret's and a
 * credential-bearing one's already; the server does not take its word for it.
 */
function keptManifest(change: ResourceChange): ResourceChange {
  if (change.manifest === undefined) return change
  const withheld =
    change.manifest.length > MAX_MANIFEST_BYTES ||
    manifestWithheld(
      change.resource.kind,
      change.upserts.map((f) => f.checkId),
    )
  if (!withheld) return change
  const { manifest: _dropped, ...rest } = change
  return rest
}

export interface AgentSessionInfo {
  session: string
  cluster: string
  runId: number
  lastSeq: number
  startedAt: string
  lastPushAt: string
  agentVersion: string
}

/** The cluster's current agent session (its newest), if an agent ever pushed it. */
export async function currentSession(store: Store, cluster: string): Promise<AgentSessionInfo | undefined> {
  const row = await store.db
    .selectFrom('agent_sessions')
    .selectAll()
    .where('cluster', '=', cluster)
    .orderBy('generation', 'desc')
    .limit(1)
    .executeTakeFirst()
  if (!row) return undefined
  return {
    session: row.id,
    cluster: row.cluster,
    runId: Number(row.run_id),
    lastSeq: Number(row.last_seq),
    startedAt: row.started_at,
    lastPushAt: row.last_push_at,
    agentVersion: row.agent_version,
  }
}

/** The session's latest status report (what its agent said of its watch), kept for every replica. */
export async function saveStatus(store: Store, session: string, status: unknown, at: Date): Promise<void> {
  await store.db
    .updateTable('agent_sessions')
    .set({ status: JSON.stringify(status), reported_at: at.toISOString() })
    .where('id', '=', session)
    .execute()
}

export interface ReportedStatus {
  cluster: string
  status: unknown
  reportedAt: number
}

/** Status reports received since `since` (by any replica), one a session. */
export async function statusesSince(store: Store, since: Date): Promise<ReportedStatus[]> {
  const rows = await store.db
    .selectFrom('agent_sessions')
    .select(['cluster', 'status', 'reported_at'])
    .where('reported_at', '>=', since.toISOString())
    .where('status', 'is not', null)
    .execute()
  return rows.map((r) => ({
    cluster: r.cluster,
    status: JSON.parse(r.status!) as unknown,
    reportedAt: Date.parse(r.reported_at!),
  }))
}
