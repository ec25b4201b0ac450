/**
 * Writes a watcher's changes to the store, one transaction at a time: changes that arrive while one is
 * written wait for the next, the newest per object winning. A write that fails (the database busy or
 * away) is tried again with the same changes and any newer ones: nothing accepted is dropped.
 */

import { fingerprint } from '../scan/baseline.js'
import type { Finding } from '../scan/scan-file.js'
import type { Store } from '../store/connect.js'
import { closeSync, openRun, type RunTotals, recordChanges } from '../store/record-changes.js'
import { Backoff } from './backoff.js'
import type { FindingMark, LiveTotals, ObjectChange } from './live-state.js'

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
  /** committed so far: opened, reopened, resolved */
  readonly counts = { opened: 0, reopened: 0, resolved: 0, batches: 0 }

  constructor(
    private readonly store: Store,
    /** onCommit may be set after construction, by whoever wires the recorder in */
    readonly options: RecorderOptions,
  ) {}

  get run(): number | undefined {
    return this.runId
  }

  /** Opens the run; `totals` is read at each write, so the run's sums follow the live state. */
  async begin(totals: () => LiveTotals): Promise<number> {
    this.totals = totals
    this.runId = await openRun(this.store, {
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
    while (this.queue.size > 0 || this.writing) {
      this.kick()
      await this.writing
    }
  }

  /** The first full sync is written: resolve what it did not see (when complete). */
  async syncDone(sync: { complete: boolean; errors: number }): Promise<{ resolved: number }> {
    await this.drain()
    const result = await closeSync(this.store, {
      runId: this.requireRun(),
      target: this.options.target,
      at: this.nextAt(),
      ...sync,
    })
    this.counts.resolved += result.resolved
    return result
  }

  async close(): Promise<void> {
    await this.drain()
    // The run's last word: its sums, and its open findings seen until now.
    if (this.runId !== undefined && this.totals) await this.writeBatch([], true)
    this.closed = true
  }

  private requireRun(): number {
    if (this.runId === undefined) throw new Error('LiveRecorder: begin() first')
    return this.runId
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
    while (this.queue.size > 0) {
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
    const outcome = await recordChanges(this.store, {
      target: this.options.target,
      runId: this.requireRun(),
      at: this.nextAt(),
      changes: changes.map((c) => ({
        resource: c.resource,
        upserts: [...c.opened, ...c.updated],
        resolved: c.resolved.map((m) => m.fingerprint),
        ...(c.manifest !== undefined ? { manifest: c.manifest } : {}),
      })),
      totals,
      refreshSeen,
    })
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
