/**
 * What both strategies do after they have proposed a request, so that neither has its own copy:
 * - OOM-aware: a container OOM-killed in the window gets at least max(memory x ratio, memory + min bump)
 *   of its largest OOM memory (the ratio and the bump are the strategy's: KRR's 25%, the VPA's 1.2 and
 *   100 MiB; both at least the x 1.2 of issue 15), even when its memory is otherwise held.
 * - HPA-aware: under a HorizontalPodAutoscaler on a resource, that resource's request and limit are
 *   kept as they are (the HPA's utilisation is usage / request: changing the request moves its
 *   target); the OOM floor still raises memory.
 * - Never below what was used: memory request >= the largest working set seen (memory is not
 *   compressible: less is an OOM kill); CPU request >= the p95 of the usage rate (CPU is compressible,
 *   a request is a share, not a cap: the p95 is what it used but for its rarest bursts).
 * - Rounding: CPU up to whole millicores, memory up to whole MiB (KRR's runner._round_value: CPU
 *   `ceil(value * 10^3) / 10^3`, memory `ceil(value / 1024^2) * 1024^2`); held values are left as they are.
 * - Confidence: from the history's length and sample count (see confidenceOf).
 * - A container with no usage at all is skipped, with the reason said.
 * Pure: no clock, no I/O.
 */
import type {
  Confidence,
  ContainerUsage,
  HistoryExtent,
  Recommendation,
  ResourceName,
  ResourceRecommendation,
  ResourceUsage,
  Strategy,
} from '../types.js'

export const MIB = 1024 * 1024
export const HOUR_SECONDS = 60 * 60
export const DAY_SECONDS = 24 * HOUR_SECONDS

/** Confidence thresholds (ours): low under a day or 100 samples, medium under 7 days, high after. */
export const CONFIDENCE_THRESHOLDS = {
  /** as KRR's points_required: fewer usage samples than this is too little to go on */
  minSamples: 100,
  /** less history than a day misses the daily cycle */
  mediumFromSeconds: DAY_SECONDS,
  /** a week covers the weekly cycle (weekends, batch runs) */
  highFromSeconds: 7 * DAY_SECONDS,
} as const

/** Tolerance for floating-point noise when rounding up (0.001 byte in MiB, 1e-9 millicore). */
const ROUNDING_SLACK = 1e-9

export function roundCpuUp(cores: number): number {
  return Math.ceil(cores * 1000 - ROUNDING_SLACK) / 1000
}

export function roundMemoryUp(bytes: number): number {
  return Math.ceil(bytes / MIB - ROUNDING_SLACK) * MIB
}

export function roundUp(resource: ResourceName, value: number): number {
  return resource === 'cpu' ? roundCpuUp(value) : roundMemoryUp(value)
}

const trim = (x: number) => String(Number(x.toFixed(1)))

/** 0.25 -> "250m" */
export function formatCpu(cores: number): string {
  return Number.isFinite(cores) ? `${trim(cores * 1000)}m` : 'unbounded'
}

/** 536870912 -> "512Mi" */
export function formatMemory(bytes: number): string {
  return Number.isFinite(bytes) ? `${trim(bytes / MIB)}Mi` : 'unbounded'
}

export function format(resource: ResourceName, value: number): string {
  return resource === 'cpu' ? formatCpu(value) : formatMemory(value)
}

/** "3 days", "2 hours", "45 minutes" */
export function formatDuration(seconds: number): string {
  if (seconds >= 2 * DAY_SECONDS) return `${trim(seconds / DAY_SECONDS)} days`
  if (seconds >= 2 * HOUR_SECONDS) return `${trim(seconds / HOUR_SECONDS)} hours`
  return `${trim(seconds / 60)} minutes`
}

/** Seconds between the first and the last usage sample; 0 when the times do not parse. */
export function historySeconds(history: HistoryExtent): number {
  const span = (Date.parse(history.to) - Date.parse(history.from)) / 1000
  return Number.isFinite(span) && span > 0 ? span : 0
}

/**
 * How sure a recommendation is: `low` with under a day of history or under 100 samples, `medium` under
 * 7 days, `high` from 7 days with at least 100 samples.
 */
export function confidenceOf(history: HistoryExtent): Confidence {
  const span = historySeconds(history)
  if (span < CONFIDENCE_THRESHOLDS.mediumFromSeconds || history.samples < CONFIDENCE_THRESHOLDS.minSamples) {
    return 'low'
  }
  return span < CONFIDENCE_THRESHOLDS.highFromSeconds ? 'medium' : 'high'
}

const hasUsage = (r: ResourceUsage) => r.usage !== undefined || (r.samples?.t.length ?? 0) > 0

/** Why a container gets no recommendation at all, or undefined when it has some usage. */
export function noUsageReason(c: ContainerUsage): string | undefined {
  if (hasUsage(c.cpu) || hasUsage(c.memory)) return undefined
  return 'no CPU or memory usage series in the window (the exporter missing, or the container too new): nothing to recommend from'
}

/** The p-quantile (0-1) of values by nearest rank: the smallest value with at least p of them at or below. */
export function nearestRank(values: readonly number[], p: number): number | undefined {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (finite.length === 0) return undefined
  const rank = Math.min(finite.length, Math.max(1, Math.ceil(p * finite.length)))
  return finite[rank - 1]
}

/**
 * What the container used, that no recommendation goes below: memory its largest working set (the
 * window's max, or its samples' max), CPU the p95 of its usage rate (the window's, or its samples').
 */
export function usedFloor(
  c: ContainerUsage,
  resource: ResourceName,
): { value: number; what: string } | undefined {
  const r = c[resource]
  const samples = r.samples ? Array.from(r.samples.v) : []
  if (resource === 'memory') {
    const candidates = [r.usage?.max, ...samples].filter(
      (x): x is number => x !== undefined && Number.isFinite(x),
    )
    if (candidates.length === 0) return undefined
    return { value: Math.max(...candidates), what: 'the largest working set seen in the window' }
  }
  const p95 = r.usage?.p95 ?? nearestRank(samples, 0.95)
  return p95 === undefined || !Number.isFinite(p95)
    ? undefined
    : { value: p95, what: 'the p95 CPU usage in the window' }
}

export interface OomRule {
  /** the OOM memory is multiplied by this (the VPA's OOMBumpUpRatio 1.2; KRR's 1 + 25%) */
  readonly ratio: number
  /** and raised by at least this many bytes (the VPA's OOMMinBumpUp 100 MiB; KRR: 0) */
  readonly minBumpBytes: number
  /** where the figures come from, for the reason */
  readonly source: string
}

/** The memory an OOM-killed container needs at least, and why; undefined when it was not OOM-killed. */
export function oomFloor(c: ContainerUsage, rule: OomRule): { value: number; reason: string } | undefined {
  const memories = c.oomKills.map((k) => k.memory).filter((m) => Number.isFinite(m) && m > 0)
  if (memories.length === 0) return undefined
  const worst = Math.max(...memories)
  const value = Math.max(worst * rule.ratio, worst + rule.minBumpBytes)
  const times = c.oomKills.length === 1 ? 'once' : `${c.oomKills.length} times`
  const bump =
    rule.minBumpBytes > 0
      ? `max(${formatMemory(worst)} x ${rule.ratio}, ${formatMemory(worst)} + ${formatMemory(rule.minBumpBytes)})`
      : `${formatMemory(worst)} x ${rule.ratio}`
  return {
    value,
    reason: `OOM-killed ${times} in the window, at up to ${formatMemory(worst)}: at least ${bump} = ${formatMemory(value)} (${rule.source})`,
  }
}

/** What a strategy proposes for one resource: a request with its reasons, or to hold it (and why). */
export type Proposal =
  | { readonly request: number; readonly reasons: readonly string[] }
  | { readonly hold: string }

/** How a strategy sets the limit from the final (rounded) request. */
export type LimitRule = (
  request: number,
  current: ResourceUsage,
) => { limit: number | undefined; reason: string }

function currentText(resource: ResourceName, r: ResourceUsage): string {
  const req = r.request === undefined ? 'no request' : `request ${format(resource, r.request)}`
  const lim = r.limit === undefined ? 'no limit' : `limit ${format(resource, r.limit)}`
  return `${req}, ${lim}`
}

const RESOURCE_TITLE: Record<ResourceName, string> = { cpu: 'CPU', memory: 'memory' }

/**
 * Applies the guards to a strategy's proposal for one resource: the HPA hold, the OOM floor (memory),
 * never below what was used, rounding up, then the strategy's limit.
 */
export function finish(
  c: ContainerUsage,
  resource: ResourceName,
  proposal: Proposal,
  limitRule: LimitRule,
  oom: OomRule,
): ResourceRecommendation {
  const current = c[resource]
  const title = RESOURCE_TITLE[resource]
  const hpa = c.hpa?.resources.includes(resource)
  const floor = resource === 'memory' ? oomFloor(c, oom) : undefined

  if (hpa || 'hold' in proposal) {
    const why = hpa
      ? `a HorizontalPodAutoscaler scales this workload on ${title}: its utilisation is usage / request, so the request is not changed (kept: ${currentText(resource, current)})`
      : `${'hold' in proposal ? proposal.hold : 'no proposal'}: kept as it is (${currentText(resource, current)})`
    if (floor && floor.value > (current.request ?? 0)) {
      const request = roundMemoryUp(floor.value)
      const limit = current.limit === undefined ? undefined : Math.max(current.limit, request)
      return { request, limit, reasons: [why, `raised all the same: ${floor.reason}`] }
    }
    return { request: current.request, limit: current.limit, reasons: [why] }
  }

  let value = proposal.request
  const reasons = [...proposal.reasons]
  if (floor && floor.value > value) {
    value = floor.value
    reasons.push(`raised: ${floor.reason}`)
  }
  const used = usedFloor(c, resource)
  if (used && used.value > value) {
    value = used.value
    reasons.push(`raised to ${used.what}, ${format(resource, used.value)}: never below what it used`)
  }
  const request = roundUp(resource, value)
  const { limit, reason } = limitRule(request, current)
  reasons.push(reason)
  return { request, limit, reasons }
}

/** The limit kept in the proportion the container has now (the VPA's GetProportionalLimit). */
export function proportionalLimit(resource: ResourceName): LimitRule {
  return (request, current) => {
    if (current.limit === undefined || current.limit === 0) {
      return {
        limit: undefined,
        reason: 'no limit now, so none recommended (limits kept proportional, as the VPA does)',
      }
    }
    if (current.request === undefined || current.request === 0 || current.request === current.limit) {
      return { limit: request, reason: 'limit = request, as now' }
    }
    const limit = roundUp(resource, (current.limit * request) / current.request)
    const ratio = Number((current.limit / current.request).toFixed(2))
    return { limit, reason: `limit kept at ${ratio} x the request, as now (as the VPA does)` }
  }
}

/** The recommendation for a container with no usage at all: nothing changed, `skipped` says why. */
export function skipped(c: ContainerUsage, strategy: Strategy, reason: string): Recommendation {
  const keep = (r: ResourceUsage): ResourceRecommendation => ({
    request: r.request,
    limit: r.limit,
    reasons: [reason],
  })
  return {
    workload: c.workload,
    container: c.container,
    strategy,
    cpu: keep(c.cpu),
    memory: keep(c.memory),
    confidence: 'low',
    skipped: reason,
  }
}
