/**
 * Waste and savings against the recommendations: waste is the cost of the requests above what is
 * recommended; savings are what the containers would cost less with the recommendation applied
 * (negative where a recommendation raises a request, e.g. after an OOM kill), over the window and per
 * month (OpenCost's month: 730 hours; a monthly rate is `cost / window hours * 730`, as
 * pkg/costmodel/cluster.go NewClusterCostsFromCumulative computes it).
 *
 * Both use the rate each container was priced at in the cost report and OpenCost's charge,
 * max(request, average usage) x hours, so "savings" is the allocation cost that goes away: it becomes
 * idle cost unless fewer nodes run (the cluster's bill falls only when the autoscaler removes nodes).
 */
import type { Recommendation, ResourceRecommendation, WorkloadRef } from '../types.js'
import { type ChargedResource, type ContainerCost, type CostReport, type Money, money } from './allocate.js'
import { GIB, monthly } from './money.js'

export interface ResourceWaste {
  /** per pod: cores, or bytes */
  readonly request: number | undefined
  readonly recommended: number | undefined
  /** (request - recommended) per pod where positive, x hours: core-hours, or GiB-hours */
  readonly excessHours: number
  /** the cost of the excess over the window */
  readonly waste: number
  /** cost now - cost with the recommendation, over the window */
  readonly savings: number
}

export interface ContainerWaste {
  readonly workload: WorkloadRef
  readonly container: string
  readonly team: string
  readonly cpu: ResourceWaste
  readonly ram: ResourceWaste
  readonly waste: Money
  readonly savings: Money
  readonly wasteMonthly: Money
  readonly savingsMonthly: Money
}

export interface GroupWaste {
  readonly key: string
  readonly containers: number
  readonly waste: Money
  readonly savings: Money
  readonly wasteMonthly: Money
  readonly savingsMonthly: Money
}

export interface WasteReport {
  readonly windowHours: number
  readonly containers: readonly ContainerWaste[]
  readonly clusters: readonly (GroupWaste & { readonly cluster: string })[]
  readonly namespaces: readonly (GroupWaste & { readonly cluster: string; readonly namespace: string })[]
  readonly teams: readonly (GroupWaste & { readonly team: string })[]
  readonly total: GroupWaste
  /** containers costed with no recommendation (or a skipped one): `cluster/namespace/Kind/name/container` */
  readonly withoutRecommendation: readonly string[]
}

export function containerKey(w: WorkloadRef, container: string): string {
  return `${w.cluster}/${w.namespace}/${w.kind}/${w.name}/${container}`
}

function resourceWaste(
  r: ChargedResource,
  rec: ResourceRecommendation,
  unit: number,
  hours: number,
  price: number,
): ResourceWaste {
  const recommended = rec.request
  if (recommended === undefined)
    return { request: r.request, recommended, excessHours: 0, waste: 0, savings: 0 }
  const excessHours = (Math.max(0, (r.request ?? 0) - recommended) / unit) * hours
  const now = Math.max(r.request ?? 0, r.usage ?? 0)
  const after = Math.max(recommended, r.usage ?? 0)
  return {
    request: r.request,
    recommended,
    excessHours,
    waste: excessHours * price,
    savings: ((now - after) / unit) * hours * price,
  }
}

/** One container's waste and savings; undefined when it has no recommendation to weigh against. */
export function containerWaste(
  c: ContainerCost,
  rec: Recommendation | undefined,
  windowHours: number,
): ContainerWaste | undefined {
  if (!rec || rec.skipped !== undefined) return undefined
  const cpu = resourceWaste(c.cpu, rec.cpu, 1, c.hours, c.rate.cpu)
  const ram = resourceWaste(c.ram, rec.memory, GIB, c.hours, c.rate.ram)
  const waste = money(cpu.waste, ram.waste)
  const savings = money(cpu.savings, ram.savings)
  return {
    workload: c.workload,
    container: c.container,
    team: c.team,
    cpu,
    ram,
    waste,
    savings,
    wasteMonthly: perMonth(waste, windowHours),
    savingsMonthly: perMonth(savings, windowHours),
  }
}

function perMonth(m: Money, hours: number): Money {
  return money(monthly(m.cpu, hours), monthly(m.ram, hours))
}

function sum(key: string, rows: readonly ContainerWaste[], windowHours: number): GroupWaste {
  let waste = money(0, 0)
  let savings = money(0, 0)
  for (const r of rows) {
    waste = money(waste.cpu + r.waste.cpu, waste.ram + r.waste.ram)
    savings = money(savings.cpu + r.savings.cpu, savings.ram + r.savings.ram)
  }
  return {
    key,
    containers: rows.length,
    waste,
    savings,
    wasteMonthly: perMonth(waste, windowHours),
    savingsMonthly: perMonth(savings, windowHours),
  }
}

function groupBy<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>()
  for (const r of rows) {
    const k = key(r)
    const list = m.get(k)
    if (list) list.push(r)
    else m.set(k, [r])
  }
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/**
 * Waste and savings of every costed container that has a recommendation, summed per cluster,
 * namespace and team. `windowHours` is the length of the window the cost report covers (for the
 * monthly figures).
 */
export function wasteReport(
  report: CostReport,
  recommendations: readonly Recommendation[],
  windowHours: number,
): WasteReport {
  if (!(windowHours > 0)) throw new RangeError(`the window must be longer than 0 hours, got ${windowHours}`)
  const recs = new Map(recommendations.map((r) => [containerKey(r.workload, r.container), r]))
  const rows: ContainerWaste[] = []
  const withoutRecommendation: string[] = []
  for (const c of report.containers) {
    const key = containerKey(c.workload, c.container)
    const w = containerWaste(c, recs.get(key), windowHours)
    if (w) rows.push(w)
    else withoutRecommendation.push(key)
  }
  return {
    windowHours,
    containers: rows,
    clusters: [...groupBy(rows, (r) => r.workload.cluster)].map(([k, g]) => ({
      ...sum(k, g, windowHours),
      cluster: k,
    })),
    namespaces: [...groupBy(rows, (r) => `${r.workload.cluster}/${r.workload.namespace}`)].map(([k, g]) => ({
      ...sum(k, g, windowHours),
      cluster: g[0]!.workload.cluster,
      namespace: g[0]!.workload.namespace,
    })),
    teams: [...groupBy(rows, (r) => r.team)].map(([k, g]) => ({ ...sum(k, g, windowHours), team: k })),
    total: sum('total', rows, windowHours),
    withoutRecommendation,
  }
}
