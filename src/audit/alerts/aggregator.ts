/**
 * The noise filter: detections in, a few grouped notifications out, with Alertmanager's semantics and an
 * injected clock (nothing here sleeps or sets a timer; the caller calls `tick()` at `nextWakeup()`).
 *
 * - A detection becomes an alert: its labels plus `alertname` (the rule), identified by the labels'
 *   fingerprint. A detection with the labels of a firing alert refreshes it (dedupe): the alert stays
 *   firing until `resolve_timeout` after its last detection, then resolves (as Alertmanager resolves
 *   alerts sent without an end).
 * - Before that, the allowlist drops the detection, and a rate limit may refuse a *new* alert.
 * - The alert joins the aggregation group of every route it matches (the route tree's walk, `continue`
 *   included), keyed by the route and the values of its `group_by` labels.
 * - A group's first flush is `group_wait` after it was created, the next ones every `group_interval`.
 *   At a flush, silenced and inhibited alerts are left out, and a notification is sent only when
 *   Alertmanager's dedup stage would send one: a firing alert not in the last notification, a newly
 *   resolved one (receivers with send_resolved), everything resolved, or `repeat_interval` passed since
 *   the last one. Resolved alerts leave the group after the flush; an empty group is removed.
 *
 * tick() runs the flushes at the times they were due, in order, even when the clock jumped past several
 * of them, so that a test can move the clock by an hour and see what an hour would have sent.
 */
import type { Detection } from '../types.js'
import { type AlertsConfig, matchRoutes, type Route } from './config.js'
import { fingerprint } from './fingerprint.js'
import { type CompiledMatcher, compileMatcher, type Labels, type Matcher, matchesAll } from './matchers.js'

export interface Clock {
  /** milliseconds since the epoch */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export interface Silence {
  readonly id: string
  readonly matchers: readonly Matcher[]
  /** ISO times: active from startsAt (inclusive) to endsAt (exclusive) */
  readonly startsAt: string
  readonly endsAt: string
  readonly createdBy: string
  readonly comment: string
}

export type AlertStatus = 'firing' | 'resolved'

export interface NotificationAlert {
  readonly status: AlertStatus
  readonly labels: Labels
  readonly annotations: Labels
  readonly startsAt: string
  /** when it resolved, or (firing) when it will unless detected again */
  readonly endsAt: string
  readonly generatorURL: string
  readonly fingerprint: string
}

/** One message for a receiver: Alertmanager's webhook payload, less its template fields. */
export interface Notification {
  readonly receiver: string
  /** the route and the group's labels: `{}/{priority="critical"}/0:{rule="Pod exec"}` */
  readonly groupKey: string
  readonly status: AlertStatus
  readonly groupLabels: Labels
  readonly commonLabels: Labels
  readonly commonAnnotations: Labels
  readonly externalURL: string
  readonly alerts: readonly NotificationAlert[]
  /** ISO time of the flush that made it */
  readonly time: string
}

/** What became of one detection. */
export type IngestOutcome = 'new' | 'deduped' | 'allowlisted' | 'rate-limited'

export interface RuleNoise {
  readonly rule: string
  readonly detections: number
  readonly allowlisted: number
  readonly rateLimited: number
  /** detections folded into an alert that was already firing */
  readonly deduped: number
  /** detections that arrived while a silence covered them */
  readonly silenced: number
  readonly alerts: number
  /** notifications carrying at least one of its alerts */
  readonly notifications: number
  /** detections per notification (detections when none went out) */
  readonly ratio: number
}

interface AlertState {
  readonly fingerprint: string
  readonly labels: Labels
  annotations: Labels
  startsAt: number
  endsAt: number
  /** group keys holding it */
  readonly groups: Set<string>
}

interface NotifyLogEntry {
  firing: Set<string>
  resolved: Set<string>
  at: number
}

interface Group {
  readonly key: string
  readonly route: Route
  readonly groupLabels: Labels
  readonly alerts: Map<string, AlertState>
  nextFlushAt: number
  hasFlushed: boolean
}

interface MutableNoise {
  detections: number
  allowlisted: number
  rateLimited: number
  deduped: number
  silenced: number
  alerts: number
  notifications: number
}

interface CompiledSilence {
  readonly silence: Silence
  readonly matchers: readonly CompiledMatcher[]
  readonly startsAt: number
  readonly endsAt: number
}

/**
 * The aggregator's whole state as data (JSON-safe): what the store keeps so that a restart goes on with
 * the same alerts, groups, notification log, rate windows and noise counts, and what the API shows as
 * open alert groups. Times are milliseconds since the epoch.
 */
export interface AggregatorSnapshot {
  readonly version: 1
  readonly alerts: readonly {
    readonly fingerprint: string
    readonly labels: Labels
    readonly annotations: Labels
    readonly startsAt: number
    readonly endsAt: number
  }[]
  readonly groups: readonly {
    readonly key: string
    readonly routeId: string
    readonly receiver: string
    readonly groupLabels: Labels
    /** fingerprints of its alerts */
    readonly alerts: readonly string[]
    readonly nextFlushAt: number
    readonly hasFlushed: boolean
  }[]
  readonly log: readonly {
    readonly key: string
    readonly firing: readonly string[]
    readonly resolved: readonly string[]
    readonly at: number
  }[]
  readonly rateWindows: readonly (readonly [string, readonly number[]])[]
  readonly noise: readonly Omit<RuleNoise, 'ratio'>[]
}

/** How long a notification log entry is kept after its last notification (Alertmanager's default). */
const LOG_RETENTION_MS = 120 * 3_600_000

export class Aggregator {
  private readonly alerts = new Map<string, AlertState>()
  private readonly groups = new Map<string, Group>()
  private readonly log = new Map<string, NotifyLogEntry>()
  private readonly rateWindows = new Map<string, number[]>()
  private readonly noiseByRule = new Map<string, MutableNoise>()
  private silences: CompiledSilence[] = []
  private readonly sendResolved = new Map<string, boolean>()
  /** groups by next flush time: a group may have stale entries, skipped when they come up */
  private readonly due = new DueHeap()
  private lastLogGc = Number.NEGATIVE_INFINITY

  constructor(
    private readonly config: AlertsConfig,
    private readonly clock: Clock = systemClock,
  ) {
    for (const [name, r] of config.receivers)
      this.sendResolved.set(
        name,
        r.integrations.some((i) => i.sendResolved),
      )
  }

  /** Replaces the silences (the store's, re-read by the caller); expired ones may stay: they are ignored. */
  setSilences(silences: readonly Silence[]): void {
    this.silences = silences.map((s) => ({
      silence: s,
      matchers: s.matchers.map(compileMatcher),
      startsAt: Date.parse(s.startsAt),
      endsAt: Date.parse(s.endsAt),
    }))
  }

  /** The silences covering these labels at `at`. */
  silencedBy(labels: Labels, at: number = this.clock.now()): Silence[] {
    return this.silences
      .filter((s) => s.startsAt <= at && at < s.endsAt && matchesAll(s.matchers, labels))
      .map((s) => s.silence)
  }

  ingest(detection: Detection, now: number = this.clock.now()): IngestOutcome {
    const noise = this.noise(detection.rule)
    noise.detections++
    const labels = alertLabels(detection)
    for (const entry of this.config.allowlist)
      if (matchesAll(entry.matchers, labels)) {
        noise.allowlisted++
        return 'allowlisted'
      }
    if (this.silences.length > 0 && this.silencedBy(labels, now).length > 0) noise.silenced++
    const fp = fingerprint(labels)
    const annotations = alertAnnotations(detection)
    const existing = this.alerts.get(fp)
    if (existing && existing.endsAt > now) {
      existing.endsAt = Math.max(existing.endsAt, now + this.config.resolveTimeoutMs)
      existing.annotations = annotations
      noise.deduped++
      return 'deduped'
    }
    if (!this.admit(labels, now)) {
      noise.rateLimited++
      return 'rate-limited'
    }
    noise.alerts++
    const seen = Date.parse(detection.time)
    const startsAt = Number.isFinite(seen) && seen <= now ? seen : now
    let alert: AlertState
    if (existing) {
      // it had resolved (its groups may not have flushed that yet): it fires again, from now
      existing.startsAt = startsAt
      existing.endsAt = now + this.config.resolveTimeoutMs
      existing.annotations = annotations
      alert = existing
    } else {
      alert = {
        fingerprint: fp,
        labels,
        annotations,
        startsAt,
        endsAt: now + this.config.resolveTimeoutMs,
        groups: new Set(),
      }
      this.alerts.set(fp, alert)
    }
    for (const route of matchRoutes(this.config.route, labels)) {
      const groupLabels = groupLabelsOf(route, labels)
      const key = `${route.id}:${formatLabels(groupLabels)}`
      let group = this.groups.get(key)
      if (!group) {
        group = {
          key,
          route,
          groupLabels,
          alerts: new Map(),
          nextFlushAt: now + route.groupWaitMs,
          hasFlushed: false,
        }
        this.groups.set(key, group)
        this.due.push(group.nextFlushAt, key)
      }
      group.alerts.set(fp, alert)
      alert.groups.add(key)
      // Alertmanager: an alert that has already waited group_wait (it started long ago) is sent at once.
      if (!group.hasFlushed && startsAt + route.groupWaitMs <= now && group.nextFlushAt > now) {
        group.nextFlushAt = now
        this.due.push(now, key)
      }
    }
    return 'new'
  }

  /** The state, to be given to `restore()` by a later process (see AggregatorSnapshot). */
  snapshot(): AggregatorSnapshot {
    return {
      version: 1,
      alerts: [...this.alerts.values()].map((a) => ({
        fingerprint: a.fingerprint,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt,
        endsAt: a.endsAt,
      })),
      groups: [...this.groups.values()].map((g) => ({
        key: g.key,
        routeId: g.route.id,
        receiver: g.route.receiver,
        groupLabels: g.groupLabels,
        alerts: [...g.alerts.keys()],
        nextFlushAt: g.nextFlushAt,
        hasFlushed: g.hasFlushed,
      })),
      log: [...this.log].map(([key, e]) => ({
        key,
        firing: [...e.firing],
        resolved: [...e.resolved],
        at: e.at,
      })),
      rateWindows: [...this.rateWindows].filter(([, w]) => w.length > 0),
      noise: [...this.noiseByRule].map(([rule, n]) => ({ rule, ...n })),
    }
  }

  /**
   * Takes up a snapshot's state (on a fresh aggregator). A group whose route is no longer in the config
   * (the file changed between the two processes) is dropped, and its alerts with it unless another group
   * holds them: they were routed by rules that no longer exist.
   */
  restore(snapshot: AggregatorSnapshot): void {
    if (snapshot.version !== 1) throw new Error(`unknown alert state version ${String(snapshot.version)}`)
    const routes = new Map<string, Route>()
    const walk = (r: Route) => {
      routes.set(r.id, r)
      r.routes.forEach(walk)
    }
    walk(this.config.route)
    const alerts = new Map(snapshot.alerts.map((a) => [a.fingerprint, a]))
    for (const g of snapshot.groups) {
      const route = routes.get(g.routeId)
      if (!route) continue
      const group: Group = {
        key: g.key,
        route,
        groupLabels: g.groupLabels,
        alerts: new Map(),
        nextFlushAt: g.nextFlushAt,
        hasFlushed: g.hasFlushed,
      }
      for (const fp of g.alerts) {
        const saved = alerts.get(fp)
        if (!saved) continue
        let alert = this.alerts.get(fp)
        if (!alert) {
          alert = { ...saved, groups: new Set() }
          this.alerts.set(fp, alert)
        }
        alert.groups.add(g.key)
        group.alerts.set(fp, alert)
      }
      if (group.alerts.size === 0) continue
      this.groups.set(g.key, group)
      this.due.push(group.nextFlushAt, g.key)
    }
    for (const e of snapshot.log)
      this.log.set(e.key, { firing: new Set(e.firing), resolved: new Set(e.resolved), at: e.at })
    for (const [key, w] of snapshot.rateWindows) this.rateWindows.set(key, [...w])
    for (const { rule, ...n } of snapshot.noise) this.noiseByRule.set(rule, { ...n })
  }

  /** When tick() next has something to do (undefined: nothing pending). */
  nextWakeup(): number | undefined {
    return this.peekDue()?.nextFlushAt
  }

  /** Runs every flush due by `now`, in time order; returns the notifications they made. */
  tick(now: number = this.clock.now()): Notification[] {
    const out: Notification[] = []
    for (;;) {
      const due = this.peekDue()
      if (!due || due.nextFlushAt > now) break
      this.due.pop()
      const at = due.nextFlushAt
      due.nextFlushAt = at + due.route.groupIntervalMs
      const n = this.flush(due, at)
      if (n) out.push(n)
      if (this.groups.has(due.key)) this.due.push(due.nextFlushAt, due.key)
    }
    if (now - this.lastLogGc > 60_000) {
      this.lastLogGc = now
      for (const [key, entry] of this.log)
        if (entry.at + LOG_RETENTION_MS < now && !this.groups.has(key)) this.log.delete(key)
    }
    return out
  }

  /** The group that flushes next (dropping stale heap entries: groups gone or rescheduled). */
  private peekDue(): Group | undefined {
    for (;;) {
      const top = this.due.peek()
      if (!top) return undefined
      const g = this.groups.get(top.key)
      if (g && g.nextFlushAt === top.at) return g
      this.due.pop()
    }
  }

  /** Detections in and notifications out, per rule. */
  noiseReport(): RuleNoise[] {
    return [...this.noiseByRule]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([rule, n]) => ({
        rule,
        ...n,
        ratio: n.notifications > 0 ? n.detections / n.notifications : n.detections,
      }))
  }

  /** Alerts currently held (firing or waiting to be sent resolved). */
  get alertCount(): number {
    return this.alerts.size
  }

  private flush(group: Group, at: number): Notification | undefined {
    const firing: AlertState[] = []
    const resolved: AlertState[] = []
    const inhibited = this.inhibitor(at)
    for (const a of group.alerts.values()) {
      if (this.silences.length > 0 && this.silencedBy(a.labels, at).length > 0) continue
      if (inhibited(a)) continue
      ;(a.endsAt > at ? firing : resolved).push(a)
    }
    const entry = this.log.get(group.key)
    const firingSet = new Set(firing.map((a) => a.fingerprint))
    const resolvedSet = new Set(resolved.map((a) => a.fingerprint))
    const sendResolved = this.sendResolved.get(group.route.receiver) ?? false
    let notification: Notification | undefined
    const update = needsUpdate(entry, firingSet, resolvedSet, sendResolved, group.route.repeatIntervalMs, at)
    if (update && firing.length === 0 && !sendResolved) {
      // Everything resolved, and no integration of the receiver sends resolved alerts: Alertmanager
      // sends nothing and only notes it in its log; so does this (no outbox row, nothing counted).
      this.log.set(group.key, { firing: firingSet, resolved: resolvedSet, at })
    } else if (update) {
      const alerts = [...firing, ...resolved].sort(
        (a, b) => a.startsAt - b.startsAt || (a.fingerprint < b.fingerprint ? -1 : 1),
      )
      notification = this.notification(group, alerts, at)
      this.log.set(group.key, { firing: firingSet, resolved: resolvedSet, at })
      const rules = new Set(alerts.map((a) => a.labels.alertname ?? ''))
      for (const rule of rules) this.noise(rule).notifications++
    }
    group.hasFlushed = true
    // Resolved alerts leave the group once a flush has seen them (sent, or not needed).
    for (const a of [...group.alerts.values()])
      if (a.endsAt <= at) {
        group.alerts.delete(a.fingerprint)
        a.groups.delete(group.key)
        if (a.groups.size === 0) this.alerts.delete(a.fingerprint)
      }
    if (group.alerts.size === 0) this.groups.delete(group.key)
    return notification
  }

  private notification(group: Group, alerts: AlertState[], at: number): Notification {
    const iso = (ms: number) => new Date(ms).toISOString()
    const out: NotificationAlert[] = alerts.map((a) => ({
      status: a.endsAt > at ? 'firing' : 'resolved',
      labels: a.labels,
      annotations: a.annotations,
      startsAt: iso(a.startsAt),
      endsAt: iso(a.endsAt),
      generatorURL: this.generatorURL(a.labels.alertname ?? ''),
      fingerprint: a.fingerprint,
    }))
    return {
      receiver: group.route.receiver,
      groupKey: group.key,
      status: out.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      groupLabels: group.groupLabels,
      commonLabels: common(out.map((a) => a.labels)),
      commonAnnotations: common(out.map((a) => a.annotations)),
      externalURL: this.config.externalUrl ?? '',
      alerts: out,
      time: iso(at),
    }
  }

  private generatorURL(rule: string): string {
    const base = this.config.externalUrl
    if (!base) return ''
    return base.includes('{rule}') ? base.replaceAll('{rule}', encodeURIComponent(rule)) : base
  }

  /** A test of whether an alert is inhibited at `at`, built from the alerts firing then. */
  private inhibitor(at: number): (a: AlertState) => boolean {
    const rules = this.config.inhibitRules
    if (rules.length === 0) return () => false
    // per rule: the equal-label values of firing source alerts, and which alerts they are
    const sources = rules.map(() => new Map<string, Set<string>>())
    for (const a of this.alerts.values()) {
      if (a.endsAt <= at) continue
      rules.forEach((rule, i) => {
        if (!matchesAll(rule.sourceMatchers, a.labels)) return
        const key = equalKey(rule.equal, a.labels)
        let fps = sources[i]!.get(key)
        if (!fps) {
          fps = new Set()
          sources[i]!.set(key, fps)
        }
        fps.add(a.fingerprint)
      })
    }
    return (a) =>
      rules.some((rule, i) => {
        if (!matchesAll(rule.targetMatchers, a.labels)) return false
        const fps = sources[i]!.get(equalKey(rule.equal, a.labels))
        // an alert never inhibits itself
        return fps !== undefined && (fps.size > 1 || !fps.has(a.fingerprint))
      })
  }

  private admit(labels: Labels, now: number): boolean {
    const keys: [string, number, number][] = []
    this.config.rateLimits.forEach((limit, i) => {
      if (!matchesAll(limit.matchers, labels)) return
      keys.push([`${i}\u0000${equalKey(limit.by, labels)}`, limit.maxAlerts, limit.perMs])
    })
    const windows = keys.map(([key, max, per]) => {
      let w = this.rateWindows.get(key)
      if (!w) {
        w = []
        this.rateWindows.set(key, w)
      }
      while (w.length > 0 && w[0]! <= now - per) w.shift()
      return { w, full: w.length >= max }
    })
    if (windows.some((x) => x.full)) return false
    for (const x of windows) x.w.push(now)
    return true
  }

  private noise(rule: string): MutableNoise {
    let n = this.noiseByRule.get(rule)
    if (!n) {
      n = {
        detections: 0,
        allowlisted: 0,
        rateLimited: 0,
        deduped: 0,
        silenced: 0,
        alerts: 0,
        notifications: 0,
      }
      this.noiseByRule.set(rule, n)
    }
    return n
  }
}

/** Alertmanager's DedupStage.needsUpdate. */
function needsUpdate(
  entry: NotifyLogEntry | undefined,
  firing: Set<string>,
  resolved: Set<string>,
  sendResolved: boolean,
  repeatMs: number,
  at: number,
): boolean {
  if (!entry) return firing.size > 0
  for (const fp of firing) if (!entry.firing.has(fp)) return true
  if (firing.size === 0) return entry.firing.size > 0
  if (sendResolved) for (const fp of resolved) if (!entry.resolved.has(fp)) return true
  return entry.at + repeatMs <= at
}

/** A detection's labels as an alert's: `alertname` is the rule (Alertmanager's conventional name). */
export function alertLabels(d: Detection): Labels {
  const labels: Record<string, string> = { alertname: d.rule }
  for (const [k, v] of Object.entries(d.labels)) if (v !== '') labels[k] = v
  labels.rule ??= d.rule
  labels.priority ??= d.priority
  labels.source ??= d.source
  return labels
}

export function alertAnnotations(d: Detection): Labels {
  const a: Record<string, string> = { summary: d.output }
  if (d.tags.length > 0) a.tags = d.tags.join(',')
  if (d.auditID) a.auditID = d.auditID
  return a
}

function groupLabelsOf(route: Route, labels: Labels): Labels {
  if (route.groupBy === 'all') return labels
  const out: Record<string, string> = {}
  for (const name of route.groupBy) if (labels[name] !== undefined) out[name] = labels[name]
  return out
}

export function formatLabels(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`
}

function equalKey(names: readonly string[], labels: Labels): string {
  return names.map((n) => labels[n] ?? '').join('\u0000')
}

function common(sets: readonly Labels[]): Labels {
  if (sets.length === 0) return {}
  const out: Record<string, string> = { ...sets[0] }
  for (const s of sets.slice(1)) for (const k of Object.keys(out)) if (s[k] !== out[k]) delete out[k]
  return out
}

/** A binary min-heap of (time, group key), ties by key: the order flushes run in. */
class DueHeap {
  private readonly items: { at: number; key: string }[] = []

  private less(i: number, j: number): boolean {
    const a = this.items[i]!
    const b = this.items[j]!
    return a.at < b.at || (a.at === b.at && a.key < b.key)
  }

  private swap(i: number, j: number): void {
    const t = this.items[i]!
    this.items[i] = this.items[j]!
    this.items[j] = t
  }

  push(at: number, key: string): void {
    this.items.push({ at, key })
    let i = this.items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  peek(): { at: number; key: string } | undefined {
    return this.items[0]
  }

  pop(): void {
    const last = this.items.pop()
    if (this.items.length === 0 || !last) return
    this.items[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < this.items.length && this.less(l, m)) m = l
      if (r < this.items.length && this.less(r, m)) m = r
      if (m === i) return
      this.swap(i, m)
      i = m
    }
  }
}
