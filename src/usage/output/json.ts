/**
 * The whole usage report as JSON (documented in docs/cli.md, "plimsoll usage --format json"): the
 * collection (UsageReport, without the per-step samples the `vpa` strategy reads), the recommendation,
 * cost and waste of every container side by side, the nodes with their cost, the totals per cluster,
 * namespace and team, and the gaps. Amounts are unrounded dollars over the window, with `monthly`
 * figures beside the container and group amounts (OpenCost's month: window / 730 hours); CPU in cores,
 * memory in bytes; an unbounded figure (the `vpa` upper bound with no history) is null.
 */
import { monthly } from '../cost/money.js'
import type { ContainerUsage, ResourceUsage } from '../types.js'
import { containerRows, type UsageAnalysis } from './analysis.js'

export const USAGE_JSON_VERSION = 1

const withoutSamples = (r: ResourceUsage): ResourceUsage => {
  const { samples: _samples, ...rest } = r
  return rest
}

function usageOf(c: ContainerUsage): Omit<ContainerUsage, 'workload' | 'container'> {
  const { workload: _w, container: _c, ...rest } = c
  return { ...rest, cpu: withoutSamples(c.cpu), memory: withoutSamples(c.memory) }
}

/** Finite numbers as they are; Infinity and NaN (which JSON has not) as null. */
function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value
}

export function usageJson(a: UsageAnalysis) {
  const h = a.windowHours
  const perMonth = <T extends { cost: { total: number } }>(g: T) => ({
    ...g,
    monthly: { cost: monthly(g.cost.total, h) },
  })
  return {
    version: USAGE_JSON_VERSION,
    cluster: a.report.cluster,
    from: a.report.from,
    to: a.report.to,
    windowHours: h,
    strategy: a.strategy,
    recommendedAt: a.now,
    currency: a.cost.currency,
    partial: a.report.gaps.length > 0,
    gaps: a.report.gaps,
    queries: a.report.queries,
    containers: containerRows(a).map((row) => ({
      workload: row.usage.workload,
      container: row.usage.container,
      usage: usageOf(row.usage),
      recommendation: row.recommendation,
      cost: row.cost,
      waste: row.waste ?? null,
      monthly: row.monthly,
    })),
    nodes: a.report.nodes.map((n, i) => ({ ...n, cost: a.cost.nodes[i]! })),
    totals: {
      clusters: a.cost.clusters.map(perMonth),
      namespaces: a.cost.namespaces.map(perMonth),
      teams: a.cost.teams.map(perMonth),
      nodeCost: a.cost.total.nodeCost,
      workloadCost: a.cost.total.workloadCost,
      idle: a.cost.total.idle,
      monthly: {
        nodeCost: monthly(a.cost.total.nodeCost.total, h),
        workloadCost: monthly(a.cost.total.workloadCost.total, h),
        idle: monthly(a.cost.total.idle.total, h),
      },
    },
    waste: {
      clusters: a.waste.clusters,
      namespaces: a.waste.namespaces,
      teams: a.waste.teams,
      total: a.waste.total,
      withoutRecommendation: a.waste.withoutRecommendation,
    },
  }
}

export type UsageJson = ReturnType<typeof usageJson>

export function renderJson(a: UsageAnalysis): string {
  return `${JSON.stringify(usageJson(a), replacer, 2)}\n`
}
