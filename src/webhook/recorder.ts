/**
 * The webhook's decisions on their way to the store, off the path of the answer: a review is answered
 * first, its record queued (no I/O), and the queue written in batches every second. Under load the
 * queue is bounded: denials, warnings and audits always go in (they are what the admissions page and
 * the enforcement plan read); past the bound, allowed decisions are sampled, each recorded one carrying
 * the weight of those it stands for, so that counts stay right. A dryRun request is never recorded.
 */
import type { AdmissionCheck, AdmissionOutcome, AdmissionRecord } from '../store/admissions.js'
import type { Decision } from './decide.js'
import type { AdmissionRequest } from './review.js'

export interface RecorderOptions {
  readonly cluster: string
  /** writes a batch (recordAdmissions, bound to a store) */
  readonly write: (records: readonly AdmissionRecord[]) => Promise<void>
  /** decisions that may wait; past it, allowed ones are sampled (default 10,000) */
  readonly capacity?: number
  readonly flushEveryMs?: number
  readonly log?: (line: string) => void
}

export function outcomeOf(decision: Decision): AdmissionOutcome {
  if (decision.exempt) return 'exempt'
  if (!decision.verdict.allowed) return 'denied'
  if (decision.verdict.warnings && decision.verdict.warnings.length > 0) return 'warned'
  if (decision.decided.some((d) => d.mode === 'audit')) return 'audited'
  return 'allowed'
}

export class DecisionRecorder {
  private queue: AdmissionRecord[] = []
  /** allowed or exempt decisions left out of the queue, by outcome, for the next one that goes in */
  private skipped = { allowed: 0, exempt: 0 }
  private writing: Promise<void> | undefined
  private readonly timer: NodeJS.Timeout
  private failing = false
  readonly counts = { recorded: 0, sampledOut: 0, dropped: 0, written: 0 }

  constructor(private readonly options: RecorderOptions) {
    this.timer = setInterval(() => void this.flush(), options.flushEveryMs ?? 1000)
    this.timer.unref()
  }

  private get capacity(): number {
    return this.options.capacity ?? 10_000
  }

  record(request: AdmissionRequest, decision: Decision, at = new Date()): void {
    if (request.dryRun) return
    const outcome = outcomeOf(decision)
    const quiet = outcome === 'allowed' || outcome === 'exempt'
    if (quiet && this.queue.length >= this.capacity) {
      this.skipped[outcome]++
      this.counts.sampledOut++
      return
    }
    // What matters is never sampled, but memory stays bounded if the store is gone for long.
    if (this.queue.length >= this.capacity * 2) {
      this.counts.dropped++
      return
    }
    const checks: AdmissionCheck[] = decision.decided.map(({ finding, mode }) => ({
      id: finding.checkId,
      mode,
      severity: finding.severity,
      message: finding.message,
      path: finding.path,
    }))
    let weight = 1
    if (quiet) {
      weight += this.skipped[outcome]
      this.skipped[outcome] = 0
    }
    this.queue.push({
      at: at.toISOString(),
      cluster: this.options.cluster,
      operation: request.operation,
      group: request.kind.group,
      kind: request.kind.kind,
      namespace: request.namespace,
      name: request.name,
      username: request.userInfo.username,
      outcome,
      checks,
      weight,
    })
    this.counts.recorded++
  }

  get pending(): number {
    return this.queue.length
  }

  /** Writes what is queued; one write at a time. A failed write keeps its records for the next. */
  flush(): Promise<void> {
    if (this.writing) return this.writing
    if (this.queue.length === 0) return Promise.resolve()
    const batch = this.queue
    this.queue = []
    this.writing = this.options
      .write(batch)
      .then(
        () => {
          this.counts.written += batch.length
          if (this.failing) this.options.log?.('decisions are written to the store again')
          this.failing = false
        },
        (err: Error) => {
          this.queue = [...batch, ...this.queue]
          if (!this.failing)
            this.options.log?.(`cannot write decisions to the store (kept, retried): ${err.message}`)
          this.failing = true
        },
      )
      .finally(() => {
        this.writing = undefined
      })
    return this.writing
  }

  /** Writes everything still queued (after the last review), then stops. */
  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.writing
    await this.flush()
  }
}
