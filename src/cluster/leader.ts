/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does it,
 * so that of several watchers of one cluster exactly one works and the others stand by.
 *
 * - A candidate reads the Lease. Absent: it creates it holding it (a 409 AlreadyExists means another
 *   candidate created it first). Held by another whose renewTime + leaseDurationSeconds is still ahead:
 *   it stands by. Free (no holder, released) or expired: it writes itself in as holder with a PUT that
 *   carries the resourceVersion it read, so that of two candidates racing on the same Lease the API
 *   server lets one write and answers the other 409 Conflict: two cannot both win.
 * - The leader renews (renewTime) every retry period. When it has not managed to renew for the renew
 *   deadline (shorter than the lease duration, so it stops before anyone may take over), or when it finds
 *   another holder in the Lease, it has lost the leadership.
 * - On a graceful stop the leader releases the Lease: holderIdentity cleared and a 1 s duration (what
 *   client-go's ReleaseOnCancel writes), so a standby takes over at its next try instead of waiting for
 *   the lease to expire.
 * - acquireTime is when the holder took the Lease, leaseTransitions counts changes of holder.
 *
 * Unlike client-go, expiry is judged from the Lease's renewTime, not from when this candidate last saw
 * the Lease change: candidates' clocks are assumed to agree within a fraction of the lease duration.
 */
import { ApiError } from './client.js'

/** What the election needs of the API client (ApiClient has it; tests may race two on one server). */
export interface LeaseApi {
  get<T = Record<string, unknown>>(path: string): Promise<T>
  create<T = Record<string, unknown>>(path: string, object: Record<string, unknown>): Promise<T>
  update<T = Record<string, unknown>>(path: string, object: Record<string, unknown>): Promise<T>
}

export interface LeaderElectionOptions {
  client: LeaseApi
  namespace: string
  name: string
  /** who this candidate is (a pod's name; unique among candidates) */
  identity: string
  /** how long a Lease not renewed keeps standbys away, ms (client-go: 15 s) */
  leaseDurationMs?: number
  /** how long the leader keeps trying to renew before it gives up leading, ms (client-go: 10 s) */
  renewDeadlineMs?: number
  /** how often candidates try to acquire and the leader renews, ms (client-go: 2 s) */
  retryPeriodMs?: number
  /** the clock (tests) */
  now?: () => number
  log?: (line: string) => void
}

export const LEASE_DURATION_MS = 15_000
export const RENEW_DEADLINE_MS = 10_000
export const RETRY_PERIOD_MS = 2_000

export interface LeaseSpec {
  holderIdentity?: string
  leaseDurationSeconds?: number
  acquireTime?: string
  renewTime?: string
  leaseTransitions?: number
}

interface Lease {
  [field: string]: unknown
  apiVersion: string
  kind: string
  metadata: { name: string; namespace: string; resourceVersion?: string } & Record<string, unknown>
  spec?: LeaseSpec
}

/** A MicroTime as the API server writes it: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export class LeaderElector {
  readonly identity: string
  readonly leaseDurationMs: number
  readonly renewDeadlineMs: number
  readonly retryPeriodMs: number
  private readonly now: () => number
  private readonly path: string
  private readonly collection: string
  /** the Lease as last read or written */
  private observed: Lease | undefined

  constructor(readonly options: LeaderElectionOptions) {
    this.identity = options.identity
    this.leaseDurationMs = options.leaseDurationMs ?? LEASE_DURATION_MS
    this.renewDeadlineMs = options.renewDeadlineMs ?? RENEW_DEADLINE_MS
    this.retryPeriodMs = options.retryPeriodMs ?? RETRY_PERIOD_MS
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs))
      throw new Error('leader election: lease duration > renew deadline > retry period is required')
    this.now = options.now ?? Date.now
    this.collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases`
    this.path = `${this.collection}/${encodeURIComponent(options.name)}`
  }

  /** Who holds the Lease as last seen ('' for nobody). */
  get holder(): string {
    return this.observed?.spec?.holderIdentity ?? ''
  }

  private spec(prev: LeaseSpec | undefined, now: number): LeaseSpec {
    const ours = prev?.holderIdentity === this.identity
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseDurationMs / 1000)),
      acquireTime: ours && prev?.acquireTime ? prev.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: prev === undefined ? 0 : (prev.leaseTransitions ?? 0) + (ours ? 0 : 1),
    }
  }

  /**
   * One try, as client-go's tryAcquireOrRenew: true when this candidate holds the Lease afterwards
   * (acquired or renewed), false when another does or another write came first (409). Other errors
   * (the server unreachable, forbidden) are thrown.
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now()
    let lease: Lease
    try {
      lease = await this.options.client.get<Lease>(this.path)
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err
      const created: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.options.name, namespace: this.options.namespace },
        spec: this.spec(undefined, now),
      }
      try {
        this.observed = await this.options.client.create<Lease>(this.collection, created)
        return true
      } catch (err) {
        if (err instanceof ApiError && err.code === 409) return false
        throw err
      }
    }
    this.observed = lease
    const spec = lease.spec ?? {}
    const held = (spec.holderIdentity ?? '') !== ''
    if (held && spec.holderIdentity !== this.identity && !this.expired(spec, now)) return false
    const updated: Lease = { ...lease, spec: this.spec(spec, now) }
    try {
      // metadata carries the resourceVersion read: a write in between makes this a 409.
      this.observed = await this.options.client.update<Lease>(this.path, updated)
      return true
    } catch (err) {
      if (err instanceof ApiError && err.code === 409) return false
      throw err
    }
  }

  /** renewTime + leaseDurationSeconds is past (a Lease never renewed counts from acquireTime). */
  expired(spec: LeaseSpec, now = this.now()): boolean {
    const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? '')
    if (Number.isNaN(renewed)) return true
    return renewed + (spec.leaseDurationSeconds ?? 0) * 1000 < now
  }

  /**
   * Gives the Lease up if this candidate holds it: holder cleared, duration 1 s, transitions kept, as
   * client-go's release. False when it did not hold it (or another write came first).
   */
  async release(): Promise<boolean> {
    let lease: Lease
    try {
      lease = await this.options.client.get<Lease>(this.path)
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return false
      throw err
    }
    if (lease.spec?.holderIdentity !== this.identity) return false
    const now = microTime(this.now())
    try {
      this.observed = await this.options.client.update<Lease>(this.path, {
        ...lease,
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: lease.spec?.leaseTransitions ?? 0,
        },
      })
      return true
    } catch (err) {
      if (err instanceof ApiError && err.code === 409) return false
      throw err
    }
  }

  /**
   * Campaigns until stopped: stands by until it acquires the Lease, then calls `lead` and renews every
   * retry period; when it can no longer renew (renew deadline passed, or another holder found) it calls
   * the function `lead` returned (stop leading) and stands by again. `stop()` ends the campaign: the
   * leader stops leading first, then releases the Lease.
   */
  campaign(lead: () => () => Promise<void>): Campaign {
    let stopping = false
    let wake: (() => void) | undefined
    let timer: NodeJS.Timeout | undefined
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        wake = resolve
        timer = setTimeout(resolve, ms)
      })
    const log = this.options.log ?? (() => {})
    const tryOnce = async (): Promise<boolean> => {
      try {
        return await this.tryAcquireOrRenew()
      } catch (err) {
        log(`leader election: ${(err as Error).message}`)
        return false
      }
    }
    let leading: (() => Promise<void>) | undefined
    const loop = (async () => {
      let announced = ''
      while (!stopping) {
        // Standing by.
        if (!(await tryOnce())) {
          if (this.holder && this.holder !== announced && this.holder !== this.identity) {
            announced = this.holder
            log(`standing by: '${this.holder}' holds lease ${this.options.namespace}/${this.options.name}`)
          }
          if (!stopping) await sleep(this.retryPeriodMs)
          continue
        }
        if (stopping) break
        log(`leading: ${this.identity} holds lease ${this.options.namespace}/${this.options.name}`)
        announced = ''
        leading = lead()
        let renewed = this.now()
        let lost = ''
        while (!stopping) {
          await sleep(this.retryPeriodMs)
          if (stopping) break
          if (await tryOnce()) renewed = this.now()
          else if (this.holder && this.holder !== this.identity) {
            lost = `'${this.holder}' holds the lease now`
            break
          } else if (this.now() - renewed >= this.renewDeadlineMs) {
            lost = `not renewed for ${Math.round((this.now() - renewed) / 1000)} s`
            break
          }
        }
        const stopLeading = leading
        leading = undefined
        if (lost) log(`lost leadership (${lost}): stopping the watcher`)
        await stopLeading()
      }
    })()
    return {
      stop: async () => {
        stopping = true
        clearTimeout(timer)
        wake?.()
        await loop
        try {
          if (await this.release()) log(`released lease ${this.options.namespace}/${this.options.name}`)
        } catch (err) {
          log(`leader election: cannot release the lease: ${(err as Error).message}`)
        }
      },
      done: loop,
    }
  }
}

export interface Campaign {
  /** stop leading (if leading), release the Lease, end the campaign */
  stop(): Promise<void>
  /** settles when the campaign ends */
  done: Promise<void>
}
