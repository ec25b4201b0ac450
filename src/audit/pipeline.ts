/**
 * The audit door's middle: the queue's events through every detector (Falco's rules, Plimsoll's own,
 * the anomaly baselines), their detections and the baselines' changes written in the transaction that
 * marks the events processed (so an event's detections exist exactly once, whatever crashes when), and
 * only then handed to the alerts. Knows nothing of HTTP or of the rules' languages: the doors hand it
 * detectors.
 */

import { IdleWait } from '../async/idle-wait.js'
import { completeBaselineResets, pendingBaselineResets, saveBaselines } from '../store/audit-baselines.js'
import { recordDetections } from '../store/audit-detections.js'
import { completeAuditEvents, readPendingAuditEvents } from '../store/audit-queue.js'
import type { Store } from '../store/connect.js'
import type { Baselines } from './anomaly/baselines.js'
import type { AuditEvent, Detection } from './types.js'

/** Anything that finds detections in an audit event. */
export interface Detector {
  readonly name: string
  evaluate(event: AuditEvent): Detection[]
}

export interface AuditConsumerOptions {
  store: Store
  /** the cluster the events come from: the detections' and baselines' key */
  cluster: string
  detectors: readonly Detector[]
  baselines?: Baselines
  /** where detections go once stored (the alert pipeline) */
  onDetections?: (detections: readonly Detection[]) => void
  /** how long to wait when the queue is empty, ms (default 200) */
  idleMs?: number
  /** events per page (default 500) */
  pageSize?: number
  log?: (line: string) => void
}

export interface ConsumerCounts {
  events: number
  detections: number
  /** a detector that threw on an event: counted, the event goes on to the others */
  detectorErrors: number
}

export class AuditConsumer {
  readonly counts: ConsumerCounts = { events: 0, detections: 0, detectorErrors: 0 }
  private running = false
  private loop: Promise<void> | undefined
  private readonly idle = new IdleWait()

  constructor(private readonly options: AuditConsumerOptions) {}

  /** Evaluates one page; resolves with the number of events it processed (0: the queue is empty). */
  async step(): Promise<number> {
    const { store, cluster, detectors, baselines } = this.options
    // Resets asked for meanwhile (API, CLI): forgotten before the page, so that it learns them afresh.
    const resets = baselines ? await pendingBaselineResets(store.db, cluster) : []
    for (const identity of resets) baselines?.reset(identity)
    const page = await readPendingAuditEvents(store, { limit: this.options.pageSize ?? 500 })
    if (page.length === 0) {
      if (resets.length > 0)
        await store.db.transaction().execute((trx) => completeBaselineResets(trx, cluster, resets))
      return 0
    }
    const detections: Detection[] = []
    let errors = 0
    baselines?.checkpoint()
    for (const queued of page) {
      for (const detector of detectors) {
        try {
          detections.push(...detector.evaluate(queued.event))
        } catch (err) {
          errors++
          this.options.log?.(
            `${detector.name} failed on event ${queued.auditID ?? queued.id}: ${(err as Error).message}`,
          )
        }
      }
      if (baselines) detections.push(...baselines.observe(queued.event, cluster))
    }
    const changed = baselines?.changes() ?? []
    let done: boolean
    try {
      done = await completeAuditEvents(store, page, async (trx) => {
        await recordDetections(trx, cluster, detections)
        await completeBaselineResets(trx, cluster, resets)
        await saveBaselines(trx, cluster, changed)
      })
    } catch (err) {
      // The page stays pending and is evaluated again: what was new in it must still be new then.
      baselines?.rollback()
      throw err
    }
    // Another consumer took the page meanwhile: its results are the ones kept.
    if (!done) {
      baselines?.rollback()
      return page.length
    }
    this.counts.events += page.length
    this.counts.detections += detections.length
    this.counts.detectorErrors += errors
    if (detections.length > 0) this.options.onDetections?.(detections)
    return page.length
  }

  /** Processes until the queue is empty. */
  async drain(): Promise<number> {
    let total = 0
    for (let n = await this.step(); n > 0; n = await this.step()) total += n
    return total
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.loop = (async () => {
      while (this.running) {
        let n = 0
        try {
          n = await this.step()
        } catch (err) {
          // The store away or busy: the page stays pending and is read again.
          this.options.log?.(`audit consumer: ${(err as Error).message}`)
        }
        if (n === 0 && this.running) await this.idle.sleep(this.options.idleMs ?? 200)
      }
    })()
  }

  /** Events were stored: look now rather than at the next idle tick. */
  notify(): void {
    this.idle.wake()
  }

  async stop(): Promise<void> {
    this.running = false
    this.idle.wake()
    await this.loop
  }
}
