/**
 * The outbox between the aggregator and the receivers. A notification is written to the store (one row
 * per integration of its receiver) before anything is sent; a sender then takes, per integration and
 * group, the oldest undelivered row, sends it, and marks it delivered when the receiver answered 2xx, or
 * schedules the next attempt with exponential backoff when it did not. Nothing is dropped: a receiver
 * that is down gets everything, in order per group, once it is back; a new process over the same store
 * picks up where the last one stopped. A crash between a receiver's 2xx and the mark sends that one
 * notification again, with the same X-Plimsoll-Notification-Id (at-least-once, so the receiver can
 * make it exactly-once).
 */

import { IdleWait } from '../../async/idle-wait.js'
import {
  claimOutbox,
  enqueueOutbox,
  markDelivered,
  markFailed,
  type NewOutboxEntry,
  nextOutboxAttempt,
  type OutboxEntry,
} from '../../store/alerts.js'
import type { Store } from '../../store/connect.js'
import { type Clock, type Notification, systemClock } from './aggregator.js'
import type { AlertsConfig, Integration } from './config.js'
import { httpSender, render, type Send } from './notifiers.js'

export interface Backoff {
  /** first retry after this long (default 1 s) */
  readonly initialMs: number
  /** each further one this many times longer (default 2) */
  readonly factor: number
  /** never longer than this (default 5 min) */
  readonly maxMs: number
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, factor: 2, maxMs: 300_000 }

/** The delay before the next attempt, after `failures` failed ones (1 for the first failure). */
export function backoffDelay(b: Backoff, failures: number): number {
  return Math.min(b.maxMs, b.initialMs * b.factor ** Math.max(0, failures - 1))
}

export interface OutboxOptions {
  readonly clock?: Clock
  readonly backoff?: Backoff
  /** how long a claimed row is left alone by other senders (default 60 s; longer than a send can take) */
  readonly leaseMs?: number
  /** how the HTTP request goes out (default: fetch, 10 s timeout) */
  readonly send?: Send
  /** with start(): the longest wait between looks at the store (default 1 s) */
  readonly pollMs?: number
  /** told of every failed attempt */
  readonly onError?: (entry: OutboxEntry, error: Error) => void
}

/** `webhook[0]`, `slack[1]`: an integration's name within its receiver. */
export function integrationKeys(integrations: readonly Integration[]): string[] {
  const seen: Record<string, number> = {}
  return integrations.map((i) => {
    const n = seen[i.type] ?? 0
    seen[i.type] = n + 1
    return `${i.type}[${n}]`
  })
}

export interface DeliveryPass {
  delivered: number
  failed: number
}

export class Outbox {
  private readonly clock: Clock
  private readonly backoff: Backoff
  private readonly leaseMs: number
  private readonly send: Send
  private running: Promise<void> | undefined
  private stopped = true
  private readonly idle = new IdleWait()

  constructor(
    private readonly store: Store,
    private config: AlertsConfig,
    private readonly options: OutboxOptions = {},
  ) {
    this.clock = options.clock ?? systemClock
    this.backoff = options.backoff ?? DEFAULT_BACKOFF
    this.leaseMs = options.leaseMs ?? 60_000
    this.send = options.send ?? httpSender()
  }

  /** A new config (a reload): rows already written are sent with the integration's new settings. */
  setConfig(config: AlertsConfig): void {
    this.config = config
  }

  /** Writes the notifications, durably, one row per integration of each one's receiver. */
  async enqueue(notifications: readonly Notification[]): Promise<void> {
    await enqueueOutbox(this.store, this.entries(notifications), this.clock.now())
    this.notify()
  }

  /** The rows for these notifications, for a caller that writes them in a transaction of its own. */
  entries(notifications: readonly Notification[]): NewOutboxEntry[] {
    const entries: NewOutboxEntry[] = []
    for (const n of notifications) {
      const receiver = this.config.receivers.get(n.receiver)
      if (!receiver) throw new Error(`receiver '${n.receiver}' is not in the config`)
      const payload = JSON.stringify(n)
      for (const key of integrationKeys(receiver.integrations))
        entries.push({ receiver: n.receiver, integration: key, groupKey: n.groupKey, payload })
    }
    return entries
  }

  /** Rows were written: send now rather than at the next poll. */
  notify(): void {
    this.idle.wake()
  }

  /**
   * One pass: sends every row that is due (the head of each integration and group), each group's in
   * turn, different groups at the same time; repeats while that delivered something (the next rows of
   * the same groups become due).
   */
  async deliverDue(): Promise<DeliveryPass> {
    const pass: DeliveryPass = { delivered: 0, failed: 0 }
    for (;;) {
      const entries = await claimOutbox(this.store, this.clock.now(), this.leaseMs)
      if (entries.length === 0) return pass
      const results = await Promise.all(entries.map((e) => this.deliver(e)))
      const delivered = results.filter(Boolean).length
      pass.delivered += delivered
      pass.failed += results.length - delivered
      if (delivered === 0) return pass
    }
  }

  private async deliver(entry: OutboxEntry): Promise<boolean> {
    try {
      const integration = this.integration(entry)
      const req = render(integration, JSON.parse(entry.payload) as Notification, entry.id)
      if (req) await this.send(req)
      await markDelivered(this.store, entry.id, this.clock.now())
      return true
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      const cause = (error as { cause?: { code?: string; message?: string } }).cause
      const message =
        cause?.code || cause?.message ? `${error.message} (${cause.code ?? cause.message})` : error.message
      const next = this.clock.now() + backoffDelay(this.backoff, entry.attempts + 1)
      await markFailed(this.store, entry.id, next, message)
      this.options.onError?.(entry, error)
      return false
    }
  }

  private integration(entry: OutboxEntry): Integration {
    const receiver = this.config.receivers.get(entry.receiver)
    if (!receiver) throw new Error(`receiver '${entry.receiver}' is no longer in the config`)
    const i = integrationKeys(receiver.integrations).indexOf(entry.integration)
    if (i < 0) throw new Error(`receiver '${entry.receiver}' no longer has ${entry.integration}`)
    return receiver.integrations[i]!
  }

  /** Sends in the background until stop(): after each enqueue, and when the next retry is due. */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    const pollMs = this.options.pollMs ?? 1000
    const loop = async () => {
      while (!this.stopped) {
        try {
          await this.deliverDue()
        } catch (err) {
          // the store itself failed (a restart of PostgreSQL): try again after the poll interval
          this.options.onError?.({ id: 0 } as OutboxEntry, err as Error)
        }
        if (this.stopped) break
        const next = await nextOutboxAttempt(this.store).catch(() => undefined)
        const wait =
          next === undefined ? pollMs : Math.max(0, Math.min(pollMs, Date.parse(next) - this.clock.now()))
        await this.idle.sleep(wait)
      }
    }
    this.running = loop()
  }

  /** Stops the background sender, after the send in progress. */
  async stop(): Promise<void> {
    this.stopped = true
    this.idle.wake()
    await this.running
    this.running = undefined
  }
}
