/**
 * An agent's run, written to the central server: the RunWriter a LiveRecorder writes through. Each
 * batch goes as one or more numbered messages of the agent's session; a message is sent again, the
 * same, until the server answers for it (applied, or a duplicate of one applied before), so a lost
 * answer, a cut connection or a restarted server neither loses nor doubles anything. Meanwhile the
 * recorder's queue holds the newer changes, merged per object: the outbox is bounded by the cluster's
 * size, never by the outage's length.
 *
 * Some refusals cannot be mended by trying again (the token revoked, the session superseded by a newer
 * agent, the server's store replaced): the writer then stops for good, and says why in `stopped`.
 */
import { randomBytes } from 'node:crypto'
import { IdleWait } from '../async/idle-wait.js'
import { Backoff } from '../cluster/backoff.js'
import { type RunBatch, RunStopped, type RunWriter } from '../cluster/recorder.js'
import type { AgentMessage } from '../store/agent-sessions.js'
import type { ChangeOutcome, LiveRunStart } from '../store/record-changes.js'
import { type Answer, type Central, reasonOf, Unreachable } from './central.js'

export interface RemoteWriterOptions {
  agentVersion: string
  log: (line: string) => void
  /** bytes of JSON per message, at most (the server takes up to 16 MiB) */
  messageBytes?: number
  /** changes per message, at most (the server takes up to 5,000) */
  messageChanges?: number
  backoff?: Backoff
}

/** The writer has stopped for good: no message will be sent again. */
export class WriterStopped extends RunStopped {}

type ChangesMessage = Extract<AgentMessage, { type: 'changes' }>

export class RemoteWriter implements RunWriter {
  readonly location: string
  /** the agent's session id: random, so that opening it can be retried without opening two */
  readonly session = randomBytes(16).toString('base64url')
  private seq = 0
  private readonly backoff: Backoff
  private stopReason: WriterStopped | undefined
  private stopWaiters: ((err: WriterStopped) => void)[] = []
  private readonly idle = new IdleWait()
  /** what was said of the current outage (said once, and once when it ends) */
  private outage: string | undefined
  /** messages the server has answered for, and the last one's time (for the agent's status) */
  readonly sent = { messages: 0, duplicates: 0, lastAt: 0 }

  constructor(
    private readonly central: Central,
    private readonly options: RemoteWriterOptions,
  ) {
    this.location = central.url.origin
    this.backoff = options.backoff ?? new Backoff({ initialMs: 500, maxMs: 15_000 })
  }

  /** Settles when the writer stops for good, with why. */
  get stopped(): Promise<WriterStopped> {
    if (this.stopReason) return Promise.resolve(this.stopReason)
    return new Promise((resolve) => this.stopWaiters.push(resolve))
  }

  /** Stops it (the agent is shutting down without waiting for what is unsent). */
  stop(reason = 'stopped'): void {
    this.halt(new WriterStopped(reason))
  }

  async open(run: LiveRunStart): Promise<number> {
    const body = {
      session: this.session,
      agentVersion: this.options.agentVersion,
      run: {
        startedAt: run.startedAt,
        plimsollVersion: run.plimsollVersion,
        policyVersion: run.policyVersion,
        checks: run.checks,
      },
    }
    const answer = await this.deliver('POST', '/api/agent/sessions', body, 'open the session')
    const opened = answer.body as { runId: number; lastSeq: number; cluster: string }
    // An earlier try that opened it may have been followed by nothing: the session starts from its last.
    this.seq = opened.lastSeq
    this.options.log(`pushing cluster ${opened.cluster} to ${this.location} as run ${opened.runId}`)
    return opened.runId
  }

  async record(batch: RunBatch): Promise<ChangeOutcome> {
    const total: ChangeOutcome = { opened: 0, reopened: 0, resolved: 0 }
    const parts = this.pack(batch)
    for (const [i, message] of parts.entries()) {
      // refreshSeen once, with the last part: it marks the run's findings seen, the batch's included.
      if (batch.refreshSeen && i === parts.length - 1) message.batch.refreshSeen = true
      const answer = await this.deliver(
        'POST',
        `/api/agent/sessions/${this.session}/messages`,
        message,
        `push message ${message.seq}`,
      )
      const said = answer.body as { applied: boolean; opened?: number; reopened?: number; resolved?: number }
      total.opened += said.opened ?? 0
      total.reopened += said.reopened ?? 0
      total.resolved += said.resolved ?? 0
    }
    return total
  }

  async closeSync(sync: { at: string; complete: boolean; errors: number }): Promise<{ resolved: number }> {
    const message: AgentMessage = { seq: ++this.seq, type: 'sync', ...sync }
    const answer = await this.deliver(
      'POST',
      `/api/agent/sessions/${this.session}/messages`,
      message,
      `push message ${message.seq}`,
    )
    return { resolved: (answer.body as { resolved?: number }).resolved ?? 0 }
  }

  /**
   * The agent's watch health and Pod Security view: best effort, not retried (the next one follows).
   * True when the server took it (false before the session is open, or while it is unreachable).
   */
  async report(status: unknown): Promise<boolean> {
    if (this.stopReason) return false
    try {
      const answer = await this.central.request('PUT', `/api/agent/sessions/${this.session}/status`, status)
      if (answer.status >= 400 && answer.status !== 404)
        this.options.log(`the central server refused the agent's status: ${reasonOf(answer)}`)
      return answer.status === 204
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err
      // the outage is said by the pushes
      return false
    }
  }

  /**
   * The batch as messages, numbered now: each at most `messageBytes` of JSON and `messageChanges`
   * changes, every one carrying the batch's time and totals (the run's sums follow each).
   */
  private pack(batch: RunBatch): ChangesMessage[] {
    const maxBytes = this.options.messageBytes ?? 4 * 1024 * 1024
    const maxChanges = this.options.messageChanges ?? 1000
    const messages: ChangesMessage[] = []
    let changes: RunBatch['changes'][number][] = []
    let bytes = 0
    const flush = () => {
      messages.push({
        seq: ++this.seq,
        type: 'changes',
        batch: { at: batch.at, changes, totals: batch.totals },
      })
      changes = []
      bytes = 0
    }
    for (const change of batch.changes) {
      const size = JSON.stringify(change).length
      if (changes.length > 0 && (bytes + size > maxBytes || changes.length >= maxChanges)) flush()
      changes.push(change)
      bytes += size
    }
    if (changes.length > 0 || messages.length === 0) flush()
    return messages
  }

  /**
   * Sends until the server answers 2xx, waiting longer each time; throws WriterStopped when a refusal
   * cannot be mended by trying again.
   */
  private async deliver(
    method: 'POST',
    path: string,
    body: unknown,
    what: string,
  ): Promise<Answer & { status: 200 }> {
    for (;;) {
      if (this.stopReason) throw this.stopReason
      let answer: Answer | undefined
      let problem: string
      try {
        answer = await this.central.request(method, path, body)
        problem = reasonOf(answer)
      } catch (err) {
        if (!(err instanceof Unreachable)) throw err
        problem = err.message
      }
      if (answer && answer.status >= 200 && answer.status < 300) {
        if (this.outage) this.options.log(`the central server answers again; pushing what waited`)
        this.outage = undefined
        this.backoff.reset()
        this.sent.messages++
        if ((answer.body as { applied?: boolean }).applied === false) this.sent.duplicates++
        this.sent.lastAt = Date.now()
        return answer as Answer & { status: 200 }
      }
      if (answer && isFinal(answer.status)) {
        const stop = new WriterStopped(`the central server refused to ${what}: ${problem}`)
        this.halt(stop)
        throw stop
      }
      const wait = this.backoff.next()
      if (this.outage === undefined)
        this.options.log(`cannot ${what} (${problem}); keeping it and trying again (next in ${wait} ms)`)
      this.outage = problem
      await this.idle.sleep(wait)
    }
  }

  private halt(reason: WriterStopped): void {
    if (this.stopReason) return
    this.stopReason = reason
    for (const waiter of this.stopWaiters) waiter(reason)
    this.stopWaiters = []
    this.idle.wake()
  }
}

/**
 * Statuses that trying again will not change: the token (401, 403), the session gone or superseded
 * (404, 409), a message the server will never take (400, 413, 422). Everything else (5xx, 429, a
 * proxy's 502) passes.
 */
function isFinal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429
}
