/**
 * Writes a watcher's changes to its run, one batch at a time: changes that arrive while one is written
 * wait for the next, the newest per object winning. A write that fails (the database busy or away) is
 * tried again with the same changes and any newer ones: nothing accepted is dropped. Where the run goes
 * is a RunWriter's business: the store itself (storeWriter), or a central server (src/agent).
 */

import { fingerprint } from '../scan/baseline.js'
import type { Finding } from '../scan/scan-file.js'
import type { Store } from '../store/connect.js'
import {
  type ChangeBatch,
  type ChangeOutcome,
  closeSync,
  type LiveRunStart,
  openRun,
  type RunTotals,
  recordChanges,
} from '../store/record-changes.js'
import { Backoff } from './backoff.js'
import type { FindingMark, LiveTotals, ObjectChange } from './live-state.js'

/** A batch of a run whose target and id the writer knows (it opened the run). */
export type RunBatch = Omit<ChangeBatch, 'target' | 'runId'>

/** Where a live run is recorded. Calls come one at a time, each after the previous one settled. */
export interface RunWriter {
  /** for messages: the store's location, or the central server's URL */
  readonly location: string
  /** opens the run, returns its id */
  open(run: LiveRunStart): Promise<number>
  record(batch: RunBatch): Promise<ChangeOutcome>
  /** the first full sync is written (see closeSync) */
  closeSync(sync: { at: string; complete: boolean; errors: number }): Promise<{ resolved: number }>
}

/**
 * Thrown by a writer that will write no more (a central server refused the agent for good): the
 * recorder stops trying, and whoever runs it stops too.
 */
export class RunStopped extends Error {}

/** The run written into a store, directly. */
export function storeWriter(store: Store): RunWriter {
  let run: { id: number; target: string } | undefined
  const opened = () => {
    if (!run) throw new Error('storeWriter: open() first')
    return run
  }
  return {
    location: store.location,
    async open(start) {
      run = { id: await openRun(store.db, start), target: start.target }
      return run.id
    },
    record: (batch) => recordChanges(store, { ...batch, target: opened().target, runId: opened().id }),
    closeSync: (sync) => closeSync(store, { ...sync, target: opened().target, runId: opened().id }),
  }
}

export interface RecorderOptions {
  target: string
  plimsollVersion: string
  policyVersion: string
  checks: number
  /** changes per transaction (the first sync writes tens of thousands) */
  batchSize?: number
  /** how often the per-check and per-namespace sums are rewritten, ms */
  statsEveryMs?: number
  /** how often the open findings' last_seen is brought up to now, ms (default 5 minutes) */
  seenEveryMs?: number
  onError?: (message: string) => void
  /** each committed batch: its changes, and each one's wait from submit to commit (ms) */
  onCommit?: (changes: readonly ObjectChange[], waitsMs: number[]) => void
}

export class LiveRecorder {
  private runId: number | undefined
  private readonly queue = new Map<string, { change: ObjectChange; since: number }>()
  private writing: Promise<void> | undefined
  private lastAt = 0
  private lastStats = 0
  private lastSeen = Date.now()
  private totals: (() => LiveTotals) | undefined
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 10_000 })
  private closed = false
  private turn: Promise<unknown> = Promise.resolve()
  /** committed so far: opened, reopened, resolved */
  readonly counts = { opened: 0, reopened: 0, resolved: 0, batches: 0 }

  constructor(
    private readonly writer: RunWriter,
    /** onCommit may be set after construction, by whoever wires the recorder in */
    readonly options: RecorderOptions,
  ) {}

  get run(): number | undefined {
    return this.runId
  }

  /** Opens the run; `totals` is read at each write, so the run's sums follow the live state. */
  async begin(totals: () => LiveTotals): Promise<number> {
    this.totals = totals
    this.runId = await this.writer.open({
      source: 'cluster',
      target: this.options.target,
      startedAt: this.nextAt(),
      plimsollVersion: this.options.plimsollVersion,
      policyVersion: this.options.policyVersion,
      checks: this.options.checks,
    })
    return this.runId
  }

  submit(changes: readonly ObjectChange[]): void {
    const now = performance.now()
    for (const change of changes) {
      const waiting = this.queue.get(change.key)
      this.queue.set(
        change.key,
        waiting ? { change: merge(waiting.change, change), since: waiting.since } : { change, since: now },
      )
    }
    this.kick()
  }

  get queued(): number {
    return this.queue.size
  }

  /**
   * When more than `high` changes wait, a promise that settles once fewer than `low` do (or the writes
   * fail and are being retried: waiting longer would not help); else undefined.
   */
  behind(high = 4000, low = 1000): Promise<void> | undefined {
    if (this.queue.size <= high || this.runId === undefined) return undefined
    return (async () => {
      while (this.queue.size >= low && this.writing && !this.closed) await this.writing
    })()
  }

  /** Resolves when everything submitted so far is committed. */
  async drain(): Promise<void> {
    this.requireRun()
    while ((this.queue.size > 0 || this.writing) && !this.closed) {
      this.kick()
      await this.writing
    }
  }

  /** The first full sync is written: resolve what it did not see (when complete). */
  async syncDone(sync: { complete: boolean; errors: number }): Promise<{ resolved: number }> {
    await this.drain()
    this.requireRun()
    const result = await this.exclusive(() => this.writer.closeSync({ at: this.nextAt(), ...sync }))
    this.counts.resolved += result.resolved
    return result
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.drain()
    // The run's last word: its sums, and its open findings seen until now.
    if (this.runId !== undefined && this.totals && !this.closed) await this.writeBatch([], true)
    this.closed = true
  }

  /** Stops writing now: what is queued stays unwritten (its writer has stopped for good). */
  abort(): void {
    this.closed = true
  }

  private requireRun(): number {
    if (this.runId === undefined) throw new Error('LiveRecorder: begin() first')
    return this.runId
  }

  /**
   * One writer call at a time, in the order asked: a change committed while the sync is being closed
   * waits for it (an agent numbers its messages as they are written; two at once could cross).
   */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.turn.then(work, work)
    this.turn = turn.catch(() => {})
    return turn
  }

  /** ISO times strictly increasing from batch to batch (a batch's findings are told apart by it). */
  private nextAt(): string {
    this.lastAt = Math.max(Date.now(), this.lastAt + 1)
    return new Date(this.lastAt).toISOString()
  }

  private kick(): void {
    if (this.writing || this.queue.size === 0 || this.runId === undefined || this.closed) return
    this.writing = this.writeLoop().finally(() => {
      this.writing = undefined
      if (this.queue.size > 0) this.kick()
    })
  }

  private async writeLoop(): Promise<void> {
    const size = this.options.batchSize ?? 2000
    while (this.queue.size > 0 && !this.closed) {
      const taken: { change: ObjectChange; since: number }[] = []
      for (const [key, entry] of this.queue) {
        taken.push(entry)
        this.queue.delete(key)
        if (taken.length >= size) break
      }
      try {
        await this.writeBatch(
          taken.map((t) => t.change),
          false,
        )
        this.backoff.reset()
        const now = performance.now()
        this.options.onCommit?.(
          taken.map((t) => t.change),
          taken.map((t) => now - t.since),
        )
      } catch (err) {
        if (err instanceof RunStopped) {
          this.closed = true
          this.options.onError?.(err.message)
          return
        }
        // Back in the queue, before any newer change of the same object that came meanwhile.
        for (const entry of taken) {
          const newer = this.queue.get(entry.change.key)
          this.queue.set(
            entry.change.key,
            newer ? { change: merge(entry.change, newer.change), since: entry.since } : entry,
          )
        }
        this.options.onError?.(`cannot record changes: ${(err as Error).message}; trying again`)
        await new Promise((r) => setTimeout(r, this.backoff.next()))
      }
    }
  }

  private async writeBatch(changes: readonly ObjectChange[], forceStats: boolean): Promise<void> {
    const live = this.totals!()
    const withStats = forceStats || Date.now() - this.lastStats >= (this.options.statsEveryMs ?? 10_000)
    const refreshSeen = forceStats || Date.now() - this.lastSeen >= (this.options.seenEveryMs ?? 300_000)
    const totals: RunTotals = {
      resources: live.resources,
      passed: live.passed,
      findings: live.findings,
      excepted: live.excepted,
      bySeverity: { ...live.bySeverity },
      ...(withStats ? { checkStats: live.checkStats, namespaceStats: live.namespaceStats } : {}),
    }
    this.requireRun()
    const outcome = await this.exclusive(() =>
      this.writer.record({
        at: this.nextAt(),
        changes: changes.map((c) => ({
          resource: {
            group: c.resource.group,
            kind: c.resource.kind,
            namespace: c.resource.namespace,
            name: c.resource.name,
          },
          upserts: [...c.opened, ...c.updated],
          resolved: c.resolved.map((m) => m.fingerprint),
          ...(c.manifest !== undefined ? { manifest: c.manifest } : {}),
        })),
        totals,
        refreshSeen,
      }),
    )
    if (withStats) this.lastStats = Date.now()
    if (refreshSeen) this.lastSeen = Date.now()
    this.counts.opened += outcome.opened
    this.counts.reopened += outcome.reopened
    this.counts.resolved += outcome.resolved
    this.counts.batches++
  }
}

/**
 * Two changes of one object, the second computed after the first, as one: what the store must do to
 * go from before the first to after the second. A finding resolved then opened again is simply
 * written; one opened then resolved is resolved (a no-op if it never reached the store).
 */
export function merge(first: ObjectChange, second: ObjectChange): ObjectChange {
  const fp = (f: Finding) => fingerprint(f)
  const gone = new Set(second.resolved.map((m) => m.fingerprint))
  const written = new Map<string, { finding: Finding; opened: boolean }>()
  for (const f of first.opened) if (!gone.has(fp(f))) written.set(fp(f), { finding: f, opened: true })
  for (const f of first.updated) if (!gone.has(fp(f))) written.set(fp(f), { finding: f, opened: false })
  for (const f of second.updated) {
    const was = written.get(fp(f))
    written.set(fp(f), { finding: f, opened: was?.opened ?? false })
  }
  for (const f of second.opened) written.set(fp(f), { finding: f, opened: true })
  const resolved = new Map<string, FindingMark>()
  for (const m of [...first.resolved, ...second.resolved])
    if (!written.has(m.fingerprint)) resolved.set(m.fingerprint, m)
  const entries = [...written.values()]
  const merged: ObjectChange = {
    key: second.key,
    resource: second.resource,
    opened: entries.filter((e) => e.opened).map((e) => e.finding),
    updated: entries.filter((e) => !e.opened).map((e) => e.finding),
    resolved: [...resolved.values()],
    gone: second.gone,
  }
  const manifest = second.manifest ?? (second.gone ? undefined : first.manifest)
  if (manifest !== undefined) merged.manifest = manifest
  return merged
}
