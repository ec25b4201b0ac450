/**
 * The alert pipelines' saved states (src/store/alert-state.ts) as the API shows them: the open
 * aggregation groups with their alerts (firing or resolved by now, and the silences muting each), and
 * the noise per rule summed over pipelines. Pure: the caller reads the store and gives the time.
 */
import type {
  AlertGroupView,
  AlertPipelineState,
  RuleNoiseView,
  SilenceState,
  SilenceView,
} from '../../api-types.js'
import type { AlertState } from '../../store/alert-state.js'
import type { StoredSilence } from '../../store/alerts.js'
import { type CompiledMatcher, compileMatcher, matchesAll } from './matchers.js'

const iso = (ms: number) => new Date(ms).toISOString()

export function pipelinesOf(states: readonly AlertState[]): AlertPipelineState[] {
  return states.map((s) => ({ cluster: s.name, updatedAt: s.updatedAt }))
}

/** A silence's state at `now`: Alertmanager's active (started, not ended), pending, expired. */
export function silenceState(s: Pick<StoredSilence, 'startsAt' | 'endsAt'>, now: number): SilenceState {
  if (Date.parse(s.endsAt) <= now) return 'expired'
  return Date.parse(s.startsAt) > now ? 'pending' : 'active'
}

export function silenceView(s: StoredSilence, now: number): SilenceView {
  return { ...s, matchers: s.matchers.map((m) => ({ ...m })), state: silenceState(s, now) }
}

/**
 * Every open group of the states, its alerts with their status at `now` and the active silences
 * (of `silences`) that match their labels; the groups whose latest alert activity is most recent
 * first (an alert's end moves with each detection: it is the last detection plus resolve_timeout).
 */
export function alertGroups(
  states: readonly AlertState[],
  silences: readonly StoredSilence[],
  now: number,
): AlertGroupView[] {
  const active = silences
    .filter((s) => silenceState(s, now) === 'active')
    .flatMap((s) => {
      try {
        return [{ id: s.id, matchers: s.matchers.map(compileMatcher) }]
      } catch {
        return [] // validated when made: a matcher that no longer compiles mutes nothing here either
      }
    }) satisfies { id: string; matchers: CompiledMatcher[] }[]
  const out: { view: AlertGroupView; activity: number }[] = []
  for (const state of states) {
    const alerts = new Map(state.snapshot.alerts.map((a) => [a.fingerprint, a]))
    const notified = new Map(state.snapshot.log.map((e) => [e.key, e.at]))
    for (const g of state.snapshot.groups) {
      const members = g.alerts.flatMap((fp) => {
        const a = alerts.get(fp)
        return a ? [a] : []
      })
      if (members.length === 0) continue
      const lastNotified = notified.get(g.key)
      out.push({
        activity: Math.max(...members.map((a) => a.endsAt)),
        view: {
          cluster: state.name,
          key: g.key,
          receiver: g.receiver,
          groupLabels: { ...g.groupLabels },
          nextFlushAt: iso(g.nextFlushAt),
          hasFlushed: g.hasFlushed,
          lastNotifiedAt: lastNotified !== undefined ? iso(lastNotified) : null,
          alerts: members
            .sort((a, b) => b.startsAt - a.startsAt || (a.fingerprint < b.fingerprint ? -1 : 1))
            .map((a) => ({
              fingerprint: a.fingerprint,
              labels: { ...a.labels },
              annotations: { ...a.annotations },
              startsAt: iso(a.startsAt),
              endsAt: iso(a.endsAt),
              status: a.endsAt > now ? 'firing' : 'resolved',
              silencedBy: active.filter((s) => matchesAll(s.matchers, a.labels)).map((s) => s.id),
            })),
        },
      })
    }
  }
  return out
    .sort(
      (a, b) =>
        b.activity - a.activity ||
        a.view.cluster.localeCompare(b.view.cluster) ||
        (a.view.key < b.view.key ? -1 : 1),
    )
    .map((g) => g.view)
}

/** The noise per rule, summed over the states, most detections first; the totals over rules. */
export function noiseOf(states: readonly AlertState[]): {
  noise: RuleNoiseView[]
  totals: { detections: number; notifications: number; ratio: number }
} {
  const sums = new Map<string, Omit<RuleNoiseView, 'ratio'>>()
  for (const state of states)
    for (const n of state.snapshot.noise) {
      const s = sums.get(n.rule)
      sums.set(
        n.rule,
        s
          ? {
              rule: n.rule,
              detections: s.detections + n.detections,
              allowlisted: s.allowlisted + n.allowlisted,
              rateLimited: s.rateLimited + n.rateLimited,
              deduped: s.deduped + n.deduped,
              silenced: s.silenced + n.silenced,
              alerts: s.alerts + n.alerts,
              notifications: s.notifications + n.notifications,
            }
          : { ...n },
      )
    }
  const noise = [...sums.values()]
    .map((n) => ({ ...n, ratio: ratio(n.detections, n.notifications) }))
    .sort((a, b) => b.detections - a.detections || a.rule.localeCompare(b.rule))
  const detections = noise.reduce((t, n) => t + n.detections, 0)
  const notifications = noise.reduce((t, n) => t + n.notifications, 0)
  return { noise, totals: { detections, notifications, ratio: ratio(detections, notifications) } }
}

/** Detections per notification, as the aggregator's noiseReport has it: detections when none went out. */
const ratio = (detections: number, notifications: number) =>
  notifications > 0 ? detections / notifications : detections
