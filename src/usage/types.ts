/**
 * The usage door's shared vocabulary: what a container, a workload and a node were observed to use
 * (from the Prometheus every Level 3 cluster runs), what they asked for, and what Plimsoll recommends
 * and costs from that. The collector fills these; the recommenders, the cost model, the outputs, the
 * store and the API read them and know nothing of PromQL.
 *
 * Units everywhere: CPU in cores (0.25 = 250m), memory in bytes, times in ISO strings or seconds as named.
 */

export type ResourceName = 'cpu' | 'memory'

/** What a workload's pods are owned by once ReplicaSets and Jobs are followed up to their owner. */
export type WorkloadKind =
  | 'Deployment'
  | 'StatefulSet'
  | 'DaemonSet'
  | 'Job'
  | 'CronJob'
  | 'ReplicaSet'
  | 'Pod'

export interface WorkloadRef {
  readonly cluster: string
  readonly namespace: string
  readonly kind: WorkloadKind
  readonly name: string
}

/** A distribution of a usage over the window, as Prometheus computed it (quantile_over_time, max). */
export interface UsageStats {
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
  /**
   * The average over the window (avg_over_time; for CPU the rate's average), when queried: the cost
   * model charges max(request, average usage), as OpenCost does.
   */
  readonly mean?: number
}

/** A sample of a time series: seconds since the epoch and the value. */
export interface Sample {
  readonly t: number
  readonly v: number
}

/**
 * Samples in time order, as two arrays: times (seconds since the epoch) and values. Compact on
 * purpose: 14 days of hourly CPU and memory for 10,000 containers is ~100 MB so, ~4 times that as
 * Sample objects.
 */
export interface SampleSeries {
  readonly t: Float64Array
  readonly v: Float64Array
}

/** Samples (in any order) as a SampleSeries, in time order. */
export function sampleSeries(samples: readonly Sample[]): SampleSeries {
  const sorted = [...samples].sort((a, b) => a.t - b.t)
  return { t: Float64Array.from(sorted, (s) => s.t), v: Float64Array.from(sorted, (s) => s.v) }
}

/** Several series (a workload's pods') as one, in time order (equal times kept, in the given order). */
export function mergeSampleSeries(list: readonly SampleSeries[]): SampleSeries {
  if (list.length === 1) return list[0]!
  const n = list.reduce((k, s) => k + s.t.length, 0)
  const order = new Uint32Array(n)
  const t = new Float64Array(n)
  const v = new Float64Array(n)
  let i = 0
  for (const s of list) {
    t.set(s.t, i)
    v.set(s.v, i)
    i += s.t.length
  }
  for (let k = 0; k < n; k++) order[k] = k
  order.sort((a, b) => t[a]! - t[b]! || a - b)
  return { t: Float64Array.from(order, (k) => t[k]!), v: Float64Array.from(order, (k) => v[k]!) }
}

/** The series as Sample objects (for a few at a time: a recommendation's). */
export function samplesOf(series: SampleSeries | undefined): Sample[] {
  return series ? Array.from(series.t, (t, i) => ({ t, v: series.v[i]! })) : []
}

/** One resource of one container: what it used, asked for, and may not exceed. */
export interface ResourceUsage {
  /** undefined: no usage series for it in the window (the exporter missing, or the container too new) */
  readonly usage: UsageStats | undefined
  /** the request per pod (kube-state-metrics); undefined: none set */
  readonly request: number | undefined
  readonly limit: number | undefined
  /**
   * The usage over time for strategies that weigh history (the `vpa` one): for CPU the usage rate per
   * step (e.g. hourly averages), for memory the peak per step (the VPA takes daily peaks). Optional:
   * the `simple` strategy reads `usage` only.
   */
  readonly samples?: SampleSeries
}

/** When a container was OOM-killed in the window, and how much memory it had then. */
export interface OomKill {
  /** ISO time it was seen terminated with reason OOMKilled */
  readonly at: string
  /** the memory at the kill: its limit then if it had one, else the peak working set before it */
  readonly memory: number
}

/** One container of one workload (its pods together) over the window. */
export interface ContainerUsage {
  readonly workload: WorkloadRef
  readonly container: string
  /** the value of the configured team label on the workload or its namespace */
  readonly team?: string
  /** distinct pods seen in the window, and at most at once */
  readonly pods: number
  readonly maxReplicas: number
  readonly cpu: ResourceUsage
  readonly memory: ResourceUsage
  /** fraction of CFS periods throttled (0-1), where the metric exists */
  readonly cpuThrottled?: number
  readonly restarts: number
  readonly oomKills: readonly OomKill[]
  /** seconds its pods ran in the window, summed (for cost: resource-hours) */
  readonly runningSeconds: number
  /** the oldest pod start time seen (ISO): uptime */
  readonly startedAt?: string
  /** what history the figures stand on */
  readonly history: HistoryExtent
  /** a HorizontalPodAutoscaler scales the workload on these resources */
  readonly hpa?: {
    readonly resources: readonly ResourceName[]
    readonly minReplicas: number
    readonly maxReplicas: number
  }
}

export interface HistoryExtent {
  /** ISO times of the first and last usage sample */
  readonly from: string
  readonly to: string
  /** usage samples behind the statistics (e.g. 5-minute points) */
  readonly samples: number
}

export interface NodeUsage {
  readonly cluster: string
  readonly name: string
  /** the instance type (node.kubernetes.io/instance-type), when labelled */
  readonly instanceType?: string
  /** on-demand or spot, when labelled */
  readonly capacityType?: string
  readonly capacity: { readonly cpu: number; readonly memory: number }
  readonly allocatable: { readonly cpu: number; readonly memory: number }
  /** the sums over the pods on it, now */
  readonly requested: { readonly cpu: number; readonly memory: number }
  /** average use over the window */
  readonly used: { readonly cpu: number; readonly memory: number }
  /** seconds it existed in the window */
  readonly runningSeconds: number
}

/** How sure a recommendation is, from the length and density of its history. */
export type Confidence = 'low' | 'medium' | 'high'

export type Strategy = 'simple' | 'vpa'

/** What to set for one resource of one container; undefined: leave unset (e.g. no CPU limit). */
export interface ResourceRecommendation {
  readonly request: number | undefined
  readonly limit: number | undefined
  /** the `vpa` strategy's lower and upper bounds around the request, where it has them */
  readonly bounds?: { readonly lower: number; readonly upper: number }
  /** why, in a sentence a reviewer reads: the percentile used, the OOM bump, the HPA hold */
  readonly reasons: readonly string[]
}

export interface Recommendation {
  readonly workload: WorkloadRef
  readonly container: string
  readonly strategy: Strategy
  readonly cpu: ResourceRecommendation
  readonly memory: ResourceRecommendation
  readonly confidence: Confidence
  /** a container with no usage at all gets no recommendation, with this said instead */
  readonly skipped?: string
}

/** What a collection could not read: the figures that depend on it are missing, and said to be. */
export interface Gap {
  /** what is missing: `kube-state-metrics`, `cAdvisor`, `node metrics`, a query that failed */
  readonly what: string
  /** why, and what it leaves out, for a reader */
  readonly message: string
}

/** One collection from one cluster's Prometheus over a window: what `plimsoll usage` reports and stores. */
export interface UsageReport {
  readonly cluster: string
  /** ISO times of the window's ends */
  readonly from: string
  readonly to: string
  readonly containers: readonly ContainerUsage[]
  readonly nodes: readonly NodeUsage[]
  /** empty when everything was read; otherwise the report is partial and says where */
  readonly gaps: readonly Gap[]
  /** what it cost Prometheus: queries sent, bytes received */
  readonly queries: { readonly count: number; readonly bytes: number }
}
