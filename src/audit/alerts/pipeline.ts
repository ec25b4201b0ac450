/**
 * The alert pipeline as a process runs it: detections into the aggregator, its flushes at the times it
 * asks for, their notifications into the outbox (durably) and from there to the receivers; silences
 * re-read from the store so that one made on any replica applies here within `silenceRefreshMs`.
 */
import type { Store } from '../../store/connect.js'
import type { Detection } from '../types.js'
import { Aggregator, type Clock, type IngestOutcome, type Notification, systemClock } from './aggregator.js'
import type { AlertsConfig } from './config.js'
import { Outbox, type OutboxOptions } from './outbox.js'
import { currentSilences } from './silences.js'

export interface PipelineOptions {
  readonly clock?: Clock
  readonly outbox?: OutboxOptions
  /** default 10 s */
  readonly silenceRefreshMs?: number
  readonly onError?: (error: Error) => void
}

export class AlertPipeline {
  readonly aggregator: Aggregator
  readonly outbox: Outbox
  private readonly clock: Clock
  private flushTimer: NodeJS.Timeout | undefined
  private silenceTimer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()
  private unsaved: Notification[] = []
  private running = false

  constructor(
    private readonly store: Store,
    config: AlertsConfig,
    private readonly options: PipelineOptions = {},
  ) {
    this.clock = options.clock ?? systemClock
    this.aggregator = new Aggregator(config, this.clock)
    this.outbox = new Outbox(store, config, { clock: this.clock, ...options.outbox })
  }

  async start(): Promise<void> {
    this.running = true
    await this.refreshSilences()
    const every = this.options.silenceRefreshMs ?? 10_000
    this.silenceTimer = setInterval(() => {
      this.refreshSilences().catch((err) => this.options.onError?.(err as Error))
      if (this.unsaved.length > 0) this.flushDue().catch((err) => this.options.onError?.(err as Error))
    }, every)
    this.silenceTimer.unref()
    this.outbox.start()
    this.schedule()
  }

  async refreshSilences(): Promise<void> {
    this.aggregator.setSilences(await currentSilences(this.store, this.clock.now()))
  }

  push(detection: Detection): IngestOutcome {
    const outcome = this.aggregator.ingest(detection)
    if (outcome === 'new') this.schedule()
    return outcome
  }

  /**
   * Runs the flushes due now and writes their notifications to the outbox. Should the store refuse
   * them, they are kept and written first at the next flush (retried every `silenceRefreshMs` at most).
   */
  flushDue(): Promise<void> {
    const run = this.flushing.then(async () => {
      const batch = [...this.unsaved, ...this.aggregator.tick()]
      this.unsaved = []
      if (batch.length === 0) return
      try {
        await this.outbox.enqueue(batch)
      } catch (err) {
        this.unsaved = batch
        throw err
      }
    })
    this.flushing = run.catch(() => undefined)
    return run
  }

  /** Notifications made but not yet in the store (it failed); written at the next flush. */
  get unsavedCount(): number {
    return this.unsaved.length
  }

  private schedule(): void {
    if (!this.running) return
    const next = this.aggregator.nextWakeup()
    if (next === undefined) return
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = setTimeout(
      () => {
        this.flushTimer = undefined
        this.flushDue()
          .catch((err) => this.options.onError?.(err as Error))
          .finally(() => this.schedule())
      },
      Math.max(0, next - this.clock.now()),
    )
  }

  async stop(): Promise<void> {
    this.running = false
    if (this.flushTimer) clearTimeout(this.flushTimer)
    if (this.silenceTimer) clearInterval(this.silenceTimer)
    await this.flushing
    await this.outbox.stop()
  }
}
