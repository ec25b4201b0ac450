/**
 * One collection turned into what `plimsoll usage` shows: the recommendations (one strategy), the costs
 * (OpenCost's model, idle shared so that the groups add up to the nodes' cost) and the waste and
 * savings against the recommendations, joined per container. Pure: the time is a parameter.
 */
import { type ContainerCost, type CostReport, costReport } from '../cost/allocate.js'
import { monthly } from '../cost/money.js'
import type { PriceSheet } from '../cost/prices.js'
import { type ContainerWaste, containerKey, type WasteReport, wasteReport } from '../cost/waste.js'
import { recommendAll } from '../recommend/index.js'
import type {
  Confidence,
  ContainerUsage,
  Recommendation,
  ResourceName,
  Strategy,
  UsageReport,
} from '../types.js'

export interface UsageAnalysis {
  readonly report: UsageReport
  readonly strategy: Strategy
  /** when the recommendations were made (the window's end) */
  readonly now: string
  /** the window's length, for monthly rates (cost / windowHours x 730) */
  readonly windowHours: number
  /** one per container, in the report's order */
  readonly recommendations: readonly Recommendation[]
  readonly cost: CostReport
  readonly waste: WasteReport
}

/** One container with everything said about it: what the table, the CSV and the patches read. */
export interface ContainerRow {
  readonly usage: ContainerUsage
  readonly recommendation: Recommendation
  readonly cost: ContainerCost
  /** undefined: no recommendation to weigh against (skipped) */
  readonly waste: ContainerWaste | undefined
  /** per month (OpenCost's 730 hours): cost now, waste and savings */
  readonly monthly: { readonly cost: number; readonly waste: number; readonly savings: number }
}

export interface AnalyseOptions {
  readonly strategy: Strategy
  readonly prices: PriceSheet
  /** default: the report's `to` */
  readonly now?: Date
}

const HOUR_MS = 3_600_000

export function windowHoursOf(report: Pick<UsageReport, 'from' | 'to'>): number {
  const hours = (Date.parse(report.to) - Date.parse(report.from)) / HOUR_MS
  if (!(hours > 0)) throw new RangeError(`the report's window ${report.from} .. ${report.to} is empty`)
  return hours
}

export function analyse(report: UsageReport, options: AnalyseOptions): UsageAnalysis {
  const now = options.now ?? new Date(report.to)
  const windowHours = windowHoursOf(report)
  const recommendations = recommendAll(report.containers, options.strategy, { now })
  const cost = costReport(options.prices, report.containers, report.nodes, { shareIdle: true })
  const waste = wasteReport(cost, recommendations, windowHours)
  return {
    report,
    strategy: options.strategy,
    now: now.toISOString(),
    windowHours,
    recommendations,
    cost,
    waste,
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The containers, sorted by namespace, workload kind and name, and container. */
export function containerRows(a: UsageAnalysis): ContainerRow[] {
  const wastes = new Map(a.waste.containers.map((w) => [containerKey(w.workload, w.container), w]))
  const rows = a.report.containers.map((usage, i): ContainerRow => {
    const cost = a.cost.containers[i]!
    const waste = wastes.get(containerKey(usage.workload, usage.container))
    return {
      usage,
      recommendation: a.recommendations[i]!,
      cost,
      waste,
      monthly: {
        cost: monthly(cost.cost.total, a.windowHours),
        waste: waste?.wasteMonthly.total ?? 0,
        savings: waste?.savingsMonthly.total ?? 0,
      },
    }
  })
  return rows.sort(
    (x, y) =>
      compare(x.usage.workload.cluster, y.usage.workload.cluster) ||
      compare(x.usage.workload.namespace, y.usage.workload.namespace) ||
      compare(x.usage.workload.kind, y.usage.workload.kind) ||
      compare(x.usage.workload.name, y.usage.workload.name) ||
      compare(x.usage.container, y.usage.container),
  )
}

const CONFIDENCE_RANK: Record<Confidence, number> = { low: 0, medium: 1, high: 2 }

export function atLeast(c: Confidence, min: Confidence): boolean {
  return CONFIDENCE_RANK[c] >= CONFIDENCE_RANK[min]
}

export const CONFIDENCES: readonly Confidence[] = ['low', 'medium', 'high']

/** Two quantities equal to floating-point noise (a millionth of a millicore, of a byte). */
export function same(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
}

/** What a recommendation changes in one resource: request, limit, and whether the limit goes. */
export interface ResourceChange {
  /** the new request, when it differs from now */
  readonly request?: number
  /** the new limit, when it differs from now */
  readonly limit?: number
  /** a limit set now that the recommendation leaves unset: remove it */
  readonly removeLimit?: boolean
}

export function changeOf(row: ContainerRow, resource: ResourceName): ResourceChange {
  const now = row.usage[resource]
  const rec = row.recommendation[resource]
  const out: { request?: number; limit?: number; removeLimit?: boolean } = {}
  if (rec.request !== undefined && !same(rec.request, now.request)) out.request = rec.request
  if (rec.limit !== undefined && !same(rec.limit, now.limit)) out.limit = rec.limit
  if (rec.limit === undefined && now.limit !== undefined) out.removeLimit = true
  return out
}

export function changes(c: ResourceChange): boolean {
  return c.request !== undefined || c.limit !== undefined || c.removeLimit === true
}
