/**
 * What each identity normally does, learned from its audit events, and what it does for the first time
 * once it has been learned. An identity (a user or a service account) is learned for a period from the
 * first time it is seen; after that, each thing it had not done before raises one low-priority
 * detection, and is learned from then on. What is compared, each on its own so that an alert says what
 * is new: the action (verb on resource, with the subresource), the namespace, the source address range
 * (/24 for IPv4, /64 for IPv6) and the client (the user agent's product, its version left out, so that
 * an upgrade of kubectl is not news).
 *
 * Pure and clock-free: times come from the events. Persisting is the caller's, through `changes()`.
 */
import { addObjectLabels } from '../labels.js'
import type { AuditEvent, Detection, Priority } from '../types.js'

export const DIMENSIONS = ['action', 'namespace', 'source', 'client'] as const
export type Dimension = (typeof DIMENSIONS)[number]

/** What one identity has been seen doing. */
export interface Baseline {
  identity: string
  /** ISO time it was first seen: it is learning until firstSeen + the learning period */
  firstSeen: string
  lastSeen: string
  seen: Record<Dimension, string[]>
}

export interface BaselineOptions {
  /** how long an identity is learned before its new behaviour is reported, ms (default 7 days) */
  learningMs?: number
  /** the priority of a first-seen detection (default notice) */
  priority?: Priority
  /** values each dimension keeps at most per identity; past it the identity's oldest are forgotten */
  maxValues?: number
  /** identities never learned nor reported (exact names, or prefixes ending in `*`) */
  ignore?: readonly string[]
}

const DAY_MS = 24 * 60 * 60 * 1000

const DIMENSION_WORDS: Record<Dimension, string> = {
  action: 'action',
  namespace: 'namespace',
  source: 'source address range',
  client: 'client',
}

/** The identity an event is attributed to: the impersonated user when there is one, as RBAC sees it. */
export function identityOf(event: AuditEvent): string | undefined {
  return event.impersonatedUser?.username ?? event.user?.username
}

/** 10.1.2.3 -> 10.1.2.0/24; an IPv6 address -> its /64; anything else as it is. */
export function sourceRange(ip: string): string {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.\d+$/.exec(ip)
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`
  if (ip.includes(':')) {
    const [head] = ip.split('::')
    const groups = (head ?? '').split(':').filter(Boolean)
    while (groups.length < 4) groups.push('0')
    return `${groups.slice(0, 4).join(':')}::/64`
  }
  return ip
}

/** `kubectl/v1.32.0 (linux/amd64) kubernetes/abc` -> `kubectl`. */
export function clientOf(userAgent: string): string {
  return userAgent.split(/[/ ]/)[0] || userAgent
}

/** The event's value in each dimension (absent when the event does not say). */
export function valuesOf(event: AuditEvent): Partial<Record<Dimension, string>> {
  const ref = event.objectRef
  const out: Partial<Record<Dimension, string>> = {}
  if (event.verb) {
    const resource = ref?.resource
      ? `${ref.apiGroup ? `${ref.resource}.${ref.apiGroup}` : ref.resource}${ref.subresource ? `/${ref.subresource}` : ''}`
      : event.requestURI?.split('?')[0]
    if (resource) out.action = `${event.verb} ${resource}`
  }
  if (ref?.namespace) out.namespace = ref.namespace
  const ip = event.sourceIPs?.[0]
  if (ip) out.source = sourceRange(ip)
  if (event.userAgent) out.client = clientOf(event.userAgent)
  return out
}

export class Baselines {
  private readonly byIdentity = new Map<
    string,
    { baseline: Baseline; sets: Record<Dimension, Set<string>> }
  >()
  private readonly changed = new Set<string>()
  /** since checkpoint(): each identity observed, as it was before (undefined: not known then) */
  private journal: Map<string, Baseline | undefined> | undefined
  private readonly learningMs: number
  private readonly maxValues: number

  constructor(
    private readonly options: BaselineOptions = {},
    loaded: Iterable<Baseline> = [],
  ) {
    this.learningMs = options.learningMs ?? 7 * DAY_MS
    this.maxValues = options.maxValues ?? 500
    for (const b of loaded) this.put(b)
  }

  private put(baseline: Baseline) {
    const sets = Object.fromEntries(DIMENSIONS.map((d) => [d, new Set(baseline.seen[d] ?? [])])) as Record<
      Dimension,
      Set<string>
    >
    this.byIdentity.set(baseline.identity, { baseline, sets })
  }

  private ignored(identity: string): boolean {
    return (this.options.ignore ?? []).some((p) =>
      p.endsWith('*') ? identity.startsWith(p.slice(0, -1)) : identity === p,
    )
  }

  /**
   * Learns the event; returns a detection for each dimension in which an identity past its learning
   * period does something for the first time. Events without a time or an identity teach nothing.
   */
  observe(event: AuditEvent, cluster?: string): Detection[] {
    const identity = identityOf(event)
    const time = event.stageTimestamp ?? event.requestReceivedTimestamp
    if (!identity || !time || this.ignored(identity)) return []
    if (this.journal && !this.journal.has(identity)) this.journal.set(identity, this.get(identity))
    let entry = this.byIdentity.get(identity)
    if (!entry) {
      this.put({
        identity,
        firstSeen: time,
        lastSeen: time,
        seen: { action: [], namespace: [], source: [], client: [] },
      })
      entry = this.byIdentity.get(identity)!
    }
    const { baseline, sets } = entry
    if (time > baseline.lastSeen) baseline.lastSeen = time
    // lastSeen moves with every event: persisted with the batch it came in
    this.changed.add(identity)
    const learning = Date.parse(time) < Date.parse(baseline.firstSeen) + this.learningMs
    const detections: Detection[] = []
    for (const [dimension, value] of Object.entries(valuesOf(event)) as [Dimension, string][]) {
      const set = sets[dimension]
      if (set.has(value)) continue
      set.add(value)
      if (set.size > this.maxValues) set.delete(set.values().next().value!)
      if (!learning) detections.push(this.detection(event, identity, dimension, value, time, cluster))
    }
    return detections
  }

  private detection(
    event: AuditEvent,
    identity: string,
    dimension: Dimension,
    value: string,
    time: string,
    cluster: string | undefined,
  ): Detection {
    const rule = `anomaly: first ${DIMENSION_WORDS[dimension]}`
    // the identity may be the impersonated user; the cluster is the one the pipeline serves
    const labels = addObjectLabels(
      {
        rule,
        priority: this.options.priority ?? 'notice',
        source: 'anomaly',
        user: identity,
        dimension,
        value,
      },
      event,
      cluster,
    )
    return {
      rule,
      source: 'anomaly',
      priority: this.options.priority ?? 'notice',
      output:
        `${identity} did something it had not done before: ${DIMENSION_WORDS[dimension]} ${value} (${event.verb ?? ''} ${event.requestURI ?? ''})`.trim(),
      time,
      labels,
      tags: ['anomaly'],
      ...(event.auditID ? { auditID: event.auditID } : {}),
    }
  }

  /**
   * Remembers the baselines as they are, so that rollback() can undo what the next observations learn:
   * the caller's write of a page may fail, and the page is then evaluated again, when what is new must
   * still be new.
   */
  checkpoint(): void {
    this.journal = new Map()
  }

  /** Undoes everything learned since checkpoint() (their changes are not to be persisted either). */
  rollback(): void {
    if (!this.journal) return
    for (const [identity, before] of this.journal) {
      this.changed.delete(identity)
      if (before) this.put(before)
      else this.byIdentity.delete(identity)
    }
    this.journal = undefined
  }

  /** The baselines that changed since the last call: what the caller persists. */
  changes(): Baseline[] {
    const out: Baseline[] = []
    for (const identity of this.changed) {
      const entry = this.byIdentity.get(identity)
      if (!entry) continue
      const seen = Object.fromEntries(DIMENSIONS.map((d) => [d, [...entry.sets[d]]])) as Record<
        Dimension,
        string[]
      >
      out.push({ ...entry.baseline, seen })
    }
    this.changed.clear()
    return out
  }

  /** Forgets an identity: it is learned again from its next event. Returns whether it was known. */
  reset(identity: string): boolean {
    this.changed.delete(identity)
    return this.byIdentity.delete(identity)
  }

  get(identity: string): Baseline | undefined {
    const entry = this.byIdentity.get(identity)
    if (!entry) return undefined
    return {
      ...entry.baseline,
      seen: Object.fromEntries(DIMENSIONS.map((d) => [d, [...entry.sets[d]]])) as Record<Dimension, string[]>,
    }
  }

  get size(): number {
    return this.byIdentity.size
  }
}
