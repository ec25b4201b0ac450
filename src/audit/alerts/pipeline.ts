/**
 * The alert pipeline as a process runs it: the cluster's stored detections into the aggregator, its
 * flushes at the times it asks for, their notifications into the outbox and from there to the receivers;
 * silences re-read from the store so that one made through the API applies within `silenceRefreshMs`.
 *
 * Crash-safe without a second log: the detections are read from the store (where the audit consumer and
 * the Falco receiver wrote them), and each pass commits, in one transaction, the notifications it made,
 * the marks on the detections it took in, and the aggregator's snapshot. A process killed at any point
 * restarts from the last snapshot and takes in the unmarked detections again: nothing is counted twice,
 * no notification is written twice, and open groups flush on time after the restart. A pass whose
 * commit fails is rolled back in memory too (the aggregator is rebuilt from the last committed snapshot),
 * so memory never runs ahead of the store.
 *
 * One pipeline per cluster name: replicas of `audit serve` over one store must give alerts to one of
 * them (the others run without --alerts), or their snapshots would overwrite each other.
 */

import { IdleWait } from '../../async/idle-wait.js'
import {
  loadAlertState,
  markAlerted,
  markAllAlerted,
  readUnalertedDetections,
  saveAlertState,
} from '../../store/alert-state.js'
import { insertOutbox } from '../../store/alerts.js'
import type { Store } from '../../store/connect.js'
import {
  Aggregator,
  type AggregatorSnapshot,
  type Clock,
  type IngestOutcome,
  type RuleNoise,
  type Silence,
  systemClock,
} from './aggregator.js'
import type { AlertsConfig } from './config.js'
import { Outbox, type OutboxOptions } from './outbox.js'
import { currentSilences } from './silences.js'

export interface PipelineOptions {
  /** the cluster whose detections it alerts on; also the name its state is saved under */
  readonly cluster: string
  readonly clock?: Clock
  readonly outbox?: OutboxOptions
  /** default 10 s */
  readonly silenceRefreshMs?: number
  /** the longest wait between looks at the store for new detections (default 1 s); notify() wakes it */
  readonly pollMs?: number
  /** detections taken in per pass (default 500) */
  readonly pageSize?: number
  readonly onError?: (error: Error) => void
}

/** What one pass did. */
export interface PassResult {
  /** detections taken in, by what became of them */
  readonly outcomes: Readonly<Partial<Record<IngestOutcome, number>>>
  readonly taken: number
  /** notifications written to the outbox */
  readonly notifications: number
}

export interface PipelineCounts {
  detections: number
  notifications: number
  passes: number
  failedPasses: number
}

export class AlertPipeline {
  readonly outbox: Outbox
  readonly counts: PipelineCounts = { detections: 0, notifications: 0, passes: 0, failedPasses: 0 }
  private current: Aggregator
  private committed: AggregatorSnapshot | undefined
  private silences: readonly Silence[] = []
  private readonly clock: Clock
  private working: Promise<unknown> = Promise.resolve()
  private loop: Promise<void> | undefined
  private silenceTimer: NodeJS.Timeout | undefined
  private readonly idle = new IdleWait()
  private running = false

  constructor(
    private readonly store: Store,
    private readonly config: AlertsConfig,
    private readonly options: PipelineOptions,
  ) {
    this.clock = options.clock ?? systemClock
    this.current = new Aggregator(config, this.clock)
    this.outbox = new Outbox(store, config, { clock: this.clock, ...options.outbox })
  }

  /** The aggregator as of the last pass (rebuilt when a pass could not be committed). */
  get aggregator(): Aggregator {
    return this.current
  }

  noiseReport(): RuleNoise[] {
    return this.current.noiseReport()
  }

  /**
   * Takes up the saved state, or, the first time, marks the cluster's earlier detections taken in: what
   * was recorded before alerts were configured is history, not news. Then reads the silences.
   */
  async load(): Promise<void> {
    const saved = await loadAlertState(this.store, this.options.cluster)
    if (saved) {
      this.current.restore(saved.snapshot)
      this.committed = saved.snapshot
    } else {
      const empty = this.current.snapshot()
      await this.store.db.transaction().execute(async (trx) => {
        await markAllAlerted(trx, this.options.cluster)
        await saveAlertState(trx, this.options.cluster, empty, this.clock.now())
      })
      this.committed = empty
    }
    await this.refreshSilences()
  }

  /** load(), then passes in the background (on notify(), at flush times, every pollMs) until stop(). */
  async start(): Promise<void> {
    await this.load()
    this.running = true
    const every = this.options.silenceRefreshMs ?? 10_000
    this.silenceTimer = setInterval(() => {
      this.refreshSilences().catch((err) => this.options.onError?.(err as Error))
    }, every)
    this.silenceTimer.unref()
    this.outbox.start()
    this.loop = this.run()
  }

  async refreshSilences(): Promise<void> {
    this.silences = await currentSilences(this.store, this.clock.now())
    this.current.setSilences(this.silences)
  }

  /** New detections are in the store: look now rather than at the next poll. */
  notify(): void {
    this.idle.wake()
  }

  /**
   * One pass: takes in a page of the cluster's new detections, runs the flushes due, and commits the
   * notifications, the marks and the snapshot together. Passes never overlap.
   */
  pass(): Promise<PassResult> {
    const run = this.working.then(() => this.passNow())
    this.working = run.catch(() => undefined)
    return run
  }

  /** Passes until no new detection is left (what a test or a stop wants). */
  async drain(): Promise<number> {
    let taken = 0
    for (;;) {
      const r = await this.pass()
      taken += r.taken
      if (r.taken < (this.options.pageSize ?? 500)) return taken
    }
  }

  private async passNow(): Promise<PassResult> {
    const { cluster } = this.options
    const detections = await readUnalertedDetections(this.store, cluster, this.options.pageSize ?? 500)
    const now = this.clock.now()
    const wasDue = (this.current.nextWakeup() ?? Number.POSITIVE_INFINITY) <= now
    if (detections.length === 0 && !wasDue) return { outcomes: {}, taken: 0, notifications: 0 }
    const outcomes: Partial<Record<IngestOutcome, number>> = {}
    for (const d of detections) {
      const outcome = this.current.ingest(d, now)
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
    }
    const notifications = this.current.tick(now)
    const snapshot = this.current.snapshot()
    try {
      const entries = this.outbox.entries(notifications)
      await this.store.db.transaction().execute(async (trx) => {
        await insertOutbox(trx, entries, now)
        await markAlerted(
          trx,
          detections.map((d) => d.id),
        )
        await saveAlertState(trx, cluster, snapshot, now)
      })
    } catch (err) {
      // Back to what the store holds: the same detections are taken in again at the next pass.
      this.counts.failedPasses++
      this.current = new Aggregator(this.config, this.clock)
      if (this.committed) this.current.restore(this.committed)
      this.current.setSilences(this.silences)
      throw err
    }
    this.committed = snapshot
    this.counts.passes++
    this.counts.detections += detections.length
    this.counts.notifications += notifications.length
    if (notifications.length > 0) this.outbox.notify()
    return { outcomes, taken: detections.length, notifications: notifications.length }
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollMs ?? 1000
    while (this.running) {
      let more = false
      try {
        const r = await this.pass()
        more = r.taken === (this.options.pageSize ?? 500)
      } catch (err) {
        // the store away or busy: the detections stay unmarked and are read again
        this.options.onError?.(err as Error)
      }
      if (!this.running) break
      if (more) continue
      const next = this.current.nextWakeup()
      const wait = Math.max(0, Math.min(pollMs, next === undefined ? pollMs : next - this.clock.now()))
      await this.idle.sleep(wait)
    }
  }

  async stop(): Promise<void> {
    this.running = false
    if (this.silenceTimer) clearInterval(this.silenceTimer)
    this.idle.wake()
    await this.loop
    await this.working
    await this.outbox.stop()
  }
}
