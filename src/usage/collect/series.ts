/**
 * Range-query points of many series, joined per container and summarised: what the collector computes
 * itself from one range query of CPU rates per batch (percentiles, max, mean, extent, hourly averages)
 * instead of asking Prometheus to evaluate the rates again for each statistic.
 *
 * A container may have several series (a restart is a new cgroup, so a new cAdvisor series): its points
 * are joined in time, and where two series have a point at the same step, the larger counts (what
 * `max by (namespace, pod, container)` did at each step inside Prometheus).
 */
import type { CompactSeries } from '../prometheus/client.js'
import type { SampleSeries } from '../types.js'

/** One series' finite points: times (seconds) and values, in time order. */
type Points = SampleSeries

/** The statistics of a container's points, as Prometheus's *_over_time functions would give them. */
export interface SeriesStats {
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
  readonly mean: number
  /** points (steps) with a value */
  readonly count: number
  /** the first and last step with a value, seconds */
  readonly first: number
  readonly last: number
}

export class SeriesByKey {
  private readonly byKey = new Map<string, Points[]>()

  /** Adds a series' points (times in ms) under the key (NaN and infinite values are left out). */
  add(key: string, series: CompactSeries): void {
    let n = 0
    for (const v of series.values) if (Number.isFinite(v)) n++
    if (n === 0) return
    const times = new Float64Array(n)
    const values = new Float64Array(n)
    let i = 0
    for (let k = 0; k < series.values.length; k++) {
      const v = series.values[k]!
      if (!Number.isFinite(v)) continue
      times[i] = series.times[k]! / 1000
      values[i++] = v
    }
    const list = this.byKey.get(key)
    if (list) list.push({ t: times, v: values })
    else this.byKey.set(key, [{ t: times, v: values }])
  }

  get size(): number {
    return this.byKey.size
  }

  /** Each key with its series joined: time order, one value per time (the largest). */
  *joined(): Iterable<[string, Points]> {
    for (const [key, list] of this.byKey) yield [key, list.length === 1 ? list[0]! : join(list)]
  }
}

function join(list: readonly Points[]): Points {
  const all: Array<[number, number]> = []
  for (const p of list) for (let i = 0; i < p.t.length; i++) all.push([p.t[i]!, p.v[i]!])
  all.sort((a, b) => a[0] - b[0])
  const times: number[] = []
  const values: number[] = []
  for (const [t, v] of all) {
    if (times.length > 0 && times[times.length - 1] === t) {
      if (v > values[values.length - 1]!) values[values.length - 1] = v
    } else {
      times.push(t)
      values.push(v)
    }
  }
  return { t: Float64Array.from(times), v: Float64Array.from(values) }
}

/**
 * The φ-quantile of sorted values as Prometheus's quantile_over_time computes it: linear interpolation
 * between the two values around rank φ x (n - 1).
 */
export function quantileOfSorted(sorted: Float64Array, phi: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const rank = phi * (n - 1)
  const lower = Math.max(0, Math.floor(rank))
  const upper = Math.min(n - 1, lower + 1)
  const weight = rank - Math.floor(rank)
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight
}

export function statsOf(points: Points): SeriesStats {
  const sorted = Float64Array.from(points.v).sort()
  let sum = 0
  for (const v of sorted) sum += v
  const n = sorted.length
  return {
    p50: quantileOfSorted(sorted, 0.5),
    p95: quantileOfSorted(sorted, 0.95),
    p99: quantileOfSorted(sorted, 0.99),
    max: sorted[n - 1]!,
    mean: sum / n,
    count: n,
    first: points.t[0]!,
    last: points.t[n - 1]!,
  }
}

/**
 * Averages over periods of `periodSeconds` counted from `from` (seconds): a point at t belongs to the
 * period that ends at or after it, (from + (k - 1) p, from + k p], and the sample is timestamped at its
 * end (what avg_over_time over the hour before each hour's end gives); a point at `from` itself counts
 * in the first period rather than making one of its own.
 */
export function periodAverages(points: Points, from: number, periodSeconds: number): SampleSeries {
  const t: number[] = []
  const v: number[] = []
  let period = Number.NaN
  let sum = 0
  let n = 0
  const flush = () => {
    if (n === 0) return
    t.push(from + period * periodSeconds)
    v.push(sum / n)
  }
  for (let i = 0; i < points.t.length; i++) {
    const k = Math.max(1, Math.ceil((points.t[i]! - from) / periodSeconds))
    if (k !== period) {
      flush()
      period = k
      sum = 0
      n = 0
    }
    sum += points.v[i]!
    n++
  }
  flush()
  return { t: Float64Array.from(t), v: Float64Array.from(v) }
}
