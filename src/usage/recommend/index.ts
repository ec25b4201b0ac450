/**
 * Recommendations: what requests and limits to set for a container, from what it used, by one of two
 * documented strategies (docs/usage-recommendations.md): `simple` (KRR's) and `vpa` (the VPA
 * recommender's). Pure functions: the time is a parameter, nothing is read or written.
 */
import type { ContainerUsage, Recommendation, Strategy } from '../types.js'
import { recommendSimple, type SimpleOptions } from './simple.js'
import { recommendVpa, type VpaOptions } from './vpa.js'

export { confidenceOf, noUsageReason, roundCpuUp, roundMemoryUp, usedFloor } from './guards.js'
export { DecayingHistogram } from './histogram.js'
export { recommendSimple, SIMPLE_DEFAULTS, type SimpleOptions } from './simple.js'
export {
  estimateVpa,
  recommendVpa,
  VPA_DEFAULTS,
  type VpaEstimate,
  type VpaEstimates,
  type VpaOptions,
} from './vpa.js'

export interface RecommendOptions {
  /** when the recommendation is made (the `vpa` strategy's samples are aged from it) */
  readonly now: Date
  /** the containers in the workload's pods (the `vpa` per-pod minimums are split among them) */
  readonly containersPerPod?: number
  readonly simple?: Partial<SimpleOptions>
  readonly vpa?: Partial<Omit<VpaOptions, 'now' | 'containersPerPod'>>
}

export const STRATEGIES: readonly Strategy[] = ['simple', 'vpa']

/** One container's recommendation by a strategy. */
export function recommend(c: ContainerUsage, strategy: Strategy, options: RecommendOptions): Recommendation {
  switch (strategy) {
    case 'simple':
      return recommendSimple(c, options.simple)
    case 'vpa':
      return recommendVpa(c, {
        ...options.vpa,
        now: options.now,
        ...(options.containersPerPod === undefined ? {} : { containersPerPod: options.containersPerPod }),
      })
    default:
      throw new Error(
        `unknown recommendation strategy ${JSON.stringify(strategy)}: one of ${STRATEGIES.join(', ')}`,
      )
  }
}

const workloadKey = (c: ContainerUsage) =>
  JSON.stringify([c.workload.cluster, c.workload.namespace, c.workload.kind, c.workload.name])

/**
 * Every container's recommendation, each workload's containers counted so that the per-pod minimums
 * are shared among them (unless options.containersPerPod says otherwise).
 */
export function recommendAll(
  containers: readonly ContainerUsage[],
  strategy: Strategy,
  options: RecommendOptions,
): Recommendation[] {
  const names = new Map<string, Set<string>>()
  for (const c of containers) {
    const key = workloadKey(c)
    const set = names.get(key) ?? new Set<string>()
    set.add(c.container)
    names.set(key, set)
  }
  return containers.map((c) =>
    recommend(c, strategy, {
      ...options,
      containersPerPod: options.containersPerPod ?? names.get(workloadKey(c))?.size ?? 1,
    }),
  )
}
