/**
 * The `vpa` strategy: the Vertical Pod Autoscaler recommender's, from the usage over time
 * (ResourceUsage.samples), written afresh from its documented behaviour.
 *
 * Facts used (kubernetes/autoscaler, vertical-pod-autoscaler/pkg/recommender, at commit 55c37cd5eb55):
 * - config/config.go defaults: SafetyMarginFraction 0.15; TargetCPUPercentile = TargetMemoryPercentile
 *   0.9; LowerBound*Percentile 0.5; UpperBound*Percentile 0.95; ConfidenceIntervalCPU = Memory 24 h;
 *   PodMinCPUMillicores 25; PodMinMemoryMb 250 (multiplied by 1024 * 1024 in logic/recommender.go, so
 *   250 MiB); HistoryLength "8d" (how far back Prometheus is read), HistoryResolution "1h".
 * - logic/recommender.go, CreatePodResourceRecommender: every estimate is percentile x (1 + 0.15); the
 *   upper bound is then x (1 + 1.0 / confidence)^1, the lower bound x (1 + 0.001 / confidence)^-2
 *   (comments: 12 h of history: upper x 3, 24 h: x 2, a week: x 1.14; no history: upper infinite, lower 0);
 *   GetRecommendedPodResources: target, lower and upper are each at least the per-pod minimum divided by
 *   the number of containers (fraction = 1 / containers).
 * - logic/estimator.go, getConfidence: min(lifespan of the CPU samples in days, CPU sample count /
 *   1440), "for a workload producing a steady stream of samples over N days at the rate of 1 sample per
 *   minute, this metric is equal to N". Our samples may be coarser (e.g. hourly), so the count is
 *   weighed by the sampling step: count x step / 1 day (the same figure for 1-minute samples).
 * - model/aggregate_container_state.go: CPU samples go into the CPU histogram with weight
 *   minSampleWeight 0.1 (weighted by the container's request until commit ca812b36a3, Feb 2025; one
 *   request over the window scales every weight alike, so percentiles are the same either way); memory
 *   goes in as one peak per aggregation interval, weight 1.0, timestamped at the interval's end.
 * - model/aggregations_config.go: MemoryAggregationInterval 24 h (8 of them make the window);
 *   half-lives 24 h; OOMBumpUpRatio 1.2; OOMMinBumpUp 100 * 1024 * 1024 bytes.
 * - model/container.go, addMemorySample: the first sample opens an interval ending 24 h later; a
 *   sample before the interval's end replaces the interval's peak if larger, a later one opens the
 *   interval it falls in; RecordOOM adds an artificial memory sample of max(used + 100 MiB, used x 1.2),
 *   used = max(the memory at the kill, the interval's peak so far).
 * - utils/vpa/limit_and_request_scaling.go, getProportionalResourceLimit: no limit now: none; no
 *   request or limit = request now: limit = the new request; otherwise limit x new request / request.
 * Plimsoll's choices: request = target; limits proportional (so no CPU limit where there is none now);
 * the guards (guards.ts: OOM floor with the VPA's 1.2 and 100 MiB, HPA hold, never below used,
 * rounding) apply after the estimate.
 */
import {
  type ContainerUsage,
  type Recommendation,
  type ResourceName,
  type Sample,
  samplesOf,
} from '../types.js'
import {
  confidenceOf,
  DAY_SECONDS,
  finish,
  format,
  formatDuration,
  HOUR_SECONDS,
  MIB,
  noUsageReason,
  type OomRule,
  type Proposal,
  proportionalLimit,
  skipped,
} from './guards.js'
import {
  CPU_BUCKETS,
  DecayingHistogram,
  MEMORY_BUCKETS,
  VPA_HALF_LIFE_SECONDS,
  VPA_MIN_SAMPLE_WEIGHT,
} from './histogram.js'

export interface VpaOptions {
  /** the time the recommendation is made at: samples after it, or older than historySeconds, are left out */
  readonly now: Date
  /** the histograms' half-life (24 h) */
  readonly halfLifeSeconds: number
  /** how far back samples count (the recommender's --history-length, 8 days) */
  readonly historySeconds: number
  /** one memory peak per interval of this length (MemoryAggregationInterval, 24 h) */
  readonly memoryIntervalSeconds: number
  /** the target's percentile (0.9) and the bounds' (0.5, 0.95) */
  readonly targetPercentile: number
  readonly lowerBoundPercentile: number
  readonly upperBoundPercentile: number
  /** added to every estimate (SafetyMarginFraction, 0.15) */
  readonly safetyMarginFraction: number
  /** the history length that makes a confidence of 1 (--confidence-interval-cpu/-memory, 24 h) */
  readonly confidenceIntervalSeconds: number
  /** per pod, shared among its containers (PodMinCPUMillicores 25, PodMinMemoryMb 250 MiB) */
  readonly podMinCpuCores: number
  readonly podMinMemoryBytes: number
  /** the containers of the workload's pods (the per-pod minimums are split among them) */
  readonly containersPerPod: number
  /** OOMBumpUpRatio (1.2) and OOMMinBumpUp (100 MiB) */
  readonly oomBumpRatio: number
  readonly oomMinBumpBytes: number
  /** the step between CPU samples, for the confidence; the median gap between them when not given */
  readonly sampleIntervalSeconds?: number
}

export const VPA_DEFAULTS: Omit<VpaOptions, 'now'> = {
  halfLifeSeconds: VPA_HALF_LIFE_SECONDS,
  historySeconds: 8 * DAY_SECONDS,
  memoryIntervalSeconds: 24 * HOUR_SECONDS,
  targetPercentile: 0.9,
  lowerBoundPercentile: 0.5,
  upperBoundPercentile: 0.95,
  safetyMarginFraction: 0.15,
  confidenceIntervalSeconds: DAY_SECONDS,
  podMinCpuCores: 0.025,
  podMinMemoryBytes: 250 * MIB,
  containersPerPod: 1,
  oomBumpRatio: 1.2,
  oomMinBumpBytes: 100 * MIB,
}

/** The upper bound's confidence multiplier and exponent: x (1 + 1/confidence)^1. */
export const UPPER_BOUND_CONFIDENCE = { multiplier: 1.0, exponent: 1.0 } as const
/** The lower bound's: x (1 + 0.001/confidence)^-2. */
export const LOWER_BOUND_CONFIDENCE = { multiplier: 0.001, exponent: -2.0 } as const

/** One resource's VPA estimate, before Plimsoll's guards and rounding. */
export interface VpaEstimate {
  readonly target: number
  readonly lowerBound: number
  readonly upperBound: number
  /** the histogram's percentiles, before the margin and the confidence multipliers */
  readonly percentiles: { readonly target: number; readonly lowerBound: number; readonly upperBound: number }
  /** the per-container share of the per-pod minimum */
  readonly minimum: number
  /** samples (CPU) or interval peaks (memory) in the histogram */
  readonly points: number
}

export interface VpaEstimates {
  readonly cpu: VpaEstimate | undefined
  readonly memory: VpaEstimate | undefined
  /** the VPA's confidence: history in days, min(span, sample count x step) */
  readonly confidenceDays: number
  /** OOM kills in the history, added to the memory peaks */
  readonly oomKills: number
}

type Options = Partial<Omit<VpaOptions, 'now'>> & { readonly now: Date }

const withDefaults = (options: Options): VpaOptions => ({ ...VPA_DEFAULTS, ...options })

/** The VPA recommender's target and bounds for one container, from its samples. */
export function estimateVpa(c: ContainerUsage, options: Options): VpaEstimates {
  const o = withDefaults(options)
  const now = o.now.getTime() / 1000
  const from = now - o.historySeconds
  const inWindow = (s: Sample) =>
    Number.isFinite(s.t) && Number.isFinite(s.v) && s.v >= 0 && s.t >= from && s.t <= now
  const byTime = (a: Sample, b: Sample) => a.t - b.t
  const cpuSamples = samplesOf(c.cpu.samples).filter(inWindow).sort(byTime)
  const memorySamples = samplesOf(c.memory.samples).filter(inWindow).sort(byTime)
  const ooms = c.oomKills
    .map((k) => ({ t: Date.parse(k.at) / 1000, v: k.memory }))
    .filter((k) => inWindow(k) && k.v > 0)
    .sort(byTime)

  const confidenceDays = vpaConfidence(cpuSamples.length > 0 ? cpuSamples : memorySamples, o)
  const cpuHistogram = new DecayingHistogram(CPU_BUCKETS, o.halfLifeSeconds)
  for (const s of cpuSamples) cpuHistogram.add(s.v, VPA_MIN_SAMPLE_WEIGHT, s.t)
  const peaks = memoryPeaks(memorySamples, ooms, o)
  const memoryHistogram = new DecayingHistogram(MEMORY_BUCKETS, o.halfLifeSeconds)
  for (const p of peaks) memoryHistogram.add(p.v, 1.0, p.t)

  const share = 1 / Math.max(1, o.containersPerPod)
  return {
    cpu: estimate(cpuHistogram, cpuSamples.length, o.podMinCpuCores * share, confidenceDays, o),
    memory: estimate(memoryHistogram, peaks.length, o.podMinMemoryBytes * share, confidenceDays, o),
    confidenceDays,
    oomKills: ooms.length,
  }
}

function estimate(
  h: DecayingHistogram,
  points: number,
  minimum: number,
  confidence: number,
  o: VpaOptions,
): VpaEstimate | undefined {
  if (points === 0 || h.isEmpty()) return undefined
  const margin = 1 + o.safetyMarginFraction
  const percentiles = {
    target: h.percentile(o.targetPercentile),
    lowerBound: h.percentile(o.lowerBoundPercentile),
    upperBound: h.percentile(o.upperBoundPercentile),
  }
  const widen = (m: { multiplier: number; exponent: number }) => (1 + m.multiplier / confidence) ** m.exponent
  return {
    target: Math.max(percentiles.target * margin, minimum),
    lowerBound: Math.max(percentiles.lowerBound * margin * widen(LOWER_BOUND_CONFIDENCE), minimum),
    upperBound: Math.max(percentiles.upperBound * margin * widen(UPPER_BOUND_CONFIDENCE), minimum),
    percentiles,
    minimum,
    points,
  }
}

/** min(span of the samples, their count x the sampling step), in confidence intervals (days). */
function vpaConfidence(samples: readonly Sample[], o: VpaOptions): number {
  const first = samples[0]
  const last = samples[samples.length - 1]
  if (first === undefined || last === undefined) return 0
  const lifespan = (last.t - first.t) / o.confidenceIntervalSeconds
  const step = o.sampleIntervalSeconds ?? medianGap(samples) ?? 60
  const amount = (samples.length * step) / o.confidenceIntervalSeconds
  return Math.max(0, Math.min(lifespan, amount))
}

function medianGap(samples: readonly Sample[]): number | undefined {
  const gaps: number[] = []
  for (let i = 1; i < samples.length; i++) {
    const gap = (samples[i]?.t ?? 0) - (samples[i - 1]?.t ?? 0)
    if (gap > 0) gaps.push(gap)
  }
  gaps.sort((a, b) => a - b)
  return gaps[Math.floor((gaps.length - 1) / 2)]
}

/**
 * One memory peak per aggregation interval, as the VPA's ContainerState keeps them, OOM kills added
 * as artificial samples of max(used + min bump, used x ratio). Each peak is timed at its interval's end.
 */
function memoryPeaks(samples: readonly Sample[], ooms: readonly Sample[], o: VpaOptions): Sample[] {
  const events = [
    ...samples.map((s) => ({ t: s.t, v: s.v, oom: false })),
    ...ooms.map((s) => ({ t: s.t, v: s.v, oom: true })),
  ].sort((a, b) => a.t - b.t || Number(a.oom) - Number(b.oom))
  const peaks = new Map<number, number>()
  let windowEnd: number | undefined
  let memoryPeak = 0
  let oomPeak = 0
  for (const e of events) {
    let v = e.v
    if (e.oom) {
      const used = Math.max(e.v, memoryPeak)
      v = Math.max(used + o.oomMinBumpBytes, used * o.oomBumpRatio)
    }
    windowEnd ??= e.t
    let addNewPeak = false
    if (e.t < windowEnd) {
      const old = Math.max(memoryPeak, oomPeak)
      addNewPeak = old !== 0 && v > old
    } else {
      const interval = o.memoryIntervalSeconds
      windowEnd += Math.floor((e.t - windowEnd) / interval) * interval + interval
      memoryPeak = 0
      oomPeak = 0
      addNewPeak = true
    }
    if (addNewPeak) {
      peaks.set(windowEnd, v)
      if (e.oom) oomPeak = v
      else memoryPeak = v
    }
  }
  return [...peaks].map(([t, v]) => ({ t, v }))
}

/** The VPA recommender's recommendation for one container: request = target, limits proportional. */
export function recommendVpa(c: ContainerUsage, options: Options): Recommendation {
  const o = withDefaults(options)
  const none = noUsageReason(c)
  if (none !== undefined) return skipped(c, 'vpa', none)
  const e = estimateVpa(c, o)
  const oom: OomRule = {
    ratio: o.oomBumpRatio,
    minBumpBytes: o.oomMinBumpBytes,
    source: `the VPA's OOMBumpUpRatio ${o.oomBumpRatio} and OOMMinBumpUp ${format('memory', o.oomMinBumpBytes)}`,
  }
  return {
    workload: c.workload,
    container: c.container,
    strategy: 'vpa',
    cpu: finish(c, 'cpu', proposal('cpu', e.cpu, e, o), proportionalLimit('cpu'), oom),
    memory: finish(c, 'memory', proposal('memory', e.memory, e, o), proportionalLimit('memory'), oom),
    confidence: confidenceOf(c.history),
  }
}

function proposal(
  resource: ResourceName,
  e: VpaEstimate | undefined,
  all: VpaEstimates,
  o: VpaOptions,
): Proposal {
  const window = formatDuration(o.historySeconds)
  if (e === undefined) {
    return {
      hold: `no ${resource === 'cpu' ? 'CPU' : 'memory'} samples in the last ${window} for the vpa strategy`,
    }
  }
  const f = (x: number) => format(resource, x)
  const pct = (p: number) => `p${Number((p * 100).toFixed(1))}`
  const margin = `${Number((o.safetyMarginFraction * 100).toFixed(1))}%`
  const what =
    resource === 'cpu'
      ? `${e.points} CPU samples`
      : `${e.points} memory peaks (one per ${formatDuration(o.memoryIntervalSeconds)})`
  const reasons = [
    `target: the ${pct(o.targetPercentile)} of ${what} in the last ${window}, each weighing half as much per ${formatDuration(o.halfLifeSeconds)} of age, ${f(e.percentiles.target)}, + ${margin} = ${f(e.percentiles.target * (1 + o.safetyMarginFraction))} (the VPA recommender)`,
    `bounds: ${f(e.lowerBound)} (${pct(o.lowerBoundPercentile)} + ${margin}) to ${f(e.upperBound)} (${pct(o.upperBoundPercentile)} + ${margin}), widened for ${all.confidenceDays.toFixed(2)} days of history`,
  ]
  if (resource === 'memory' && all.oomKills > 0) {
    reasons.push(
      `the peaks include ${all.oomKills === 1 ? 'an OOM kill' : `${all.oomKills} OOM kills`} as max(memory x ${o.oomBumpRatio}, memory + ${format('memory', o.oomMinBumpBytes)}) (the VPA's RecordOOM)`,
    )
  }
  if (e.percentiles.target * (1 + o.safetyMarginFraction) < e.minimum) {
    const containers = Math.max(1, o.containersPerPod)
    const podMin = resource === 'cpu' ? o.podMinCpuCores : o.podMinMemoryBytes
    reasons.push(
      `raised to the VPA's per-pod minimum, ${f(podMin)}${containers > 1 ? ` shared by ${containers} containers: ${f(e.minimum)}` : ''}`,
    )
  }
  return { request: e.target, reasons }
}
