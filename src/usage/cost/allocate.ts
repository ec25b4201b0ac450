/**
 * What each container cost over the window, what each node cost, the sums per namespace, team and
 * cluster, and each cluster's idle cost: OpenCost's allocation model, as pure functions of the usage
 * model (ContainerUsage, NodeUsage) and the price sheet.
 *
 * Facts taken from OpenCost (github.com/opencost/opencost at commit
 * 5f6533303e3850c8635796a74bb22802d16e9090, 2024-10-24; facts carried over, no code):
 *
 * - A workload is charged max(request, usage) per resource: spec/opencost-specv01.md ("Workload Costs
 *   should be understood as max(request, usage) ... calculated at the lowest level possible, i.e.
 *   container level"). In the code, pkg/costmodel/allocation_helpers.go: CPUCoreHours = average
 *   allocation x hours running, then `if CPUCores() < request average { CPUCoreHours = request average x
 *   Minutes()/60 }`, and the same for RAMByteHours; the averages are avg_over_time over the window
 *   (allocation.go queryFmtCPURequests, queryFmtRAMRequests; usage: queryFmtCPUUsageAvg is
 *   avg(rate(container_cpu_usage_seconds_total[window])), queryFmtRAMUsageAvg is
 *   avg_over_time(container_memory_working_set_bytes)). With no request series the usage alone counts,
 *   with no usage the request alone (costmodel.go getContainerAllocation).
 * - Cost = resource-hours x the node's price: applyNodesToPod, `alloc.CPUCost = alloc.CPUCoreHours *
 *   node.CostPerCPUHr; alloc.RAMCost = (alloc.RAMByteHours / 1024 / 1024 / 1024) * node.CostPerRAMGiBHr`.
 * - A node's cost is its capacity (not allocatable) x its price x the hours it ran: cluster.go
 *   ClusterNodes, kube_node_status_capacity_cpu_cores x node_cpu_hourly_cost, and
 *   kube_node_status_capacity_memory_bytes / 1024^3 x node_ram_hourly_cost, times minutes/60
 *   (cluster_helpers costTimesMinuteAndCount).
 * - Idle per cluster and per resource = asset (node) cost - allocated cost: costmodel.go
 *   computeIdleAllocations, `CPUCost: assetTotal.TotalCPUCost() - allocTotal.TotalCPUCost()` (the same
 *   for RAM), not clamped at zero, shown as its own allocation named `<cluster>/__idle__`
 *   (core/pkg/opencost/allocation.go IdleSuffix). With shareIdle, idle is spread per resource in
 *   proportion to each allocation's cost of that resource (allocation.go computeIdleCoeffs).
 * - Allocations without the label aggregated by are grouped as `__unallocated__` (UnallocatedSuffix).
 *
 * Where Plimsoll cannot do what OpenCost does (say so in docs/usage-cost.md):
 * - OpenCost averages max(request, usage) per scrape (container_cpu_allocation is max(request, usage)
 *   at each emission); the usage model holds per-window statistics, so this charges max(request,
 *   average usage) over the window, which is never more than OpenCost's figure and equal to it when the
 *   request is above the usage throughout or below it throughout.
 * - OpenCost prices a container at the node it ran on. ContainerUsage does not name its nodes, so a
 *   container is priced at its cluster's capacity-weighted average rate (nodes' CPU cost / nodes'
 *   core-hours, the same for RAM): identical when the cluster's nodes share a price, and the cluster's
 *   workload + idle still adds up to its nodes' cost. A cluster with no nodes in the input is priced at
 *   its per-resource prices from the sheet, and has no idle figure.
 */
import type { ContainerUsage, NodeUsage, ResourceUsage, WorkloadRef } from '../types.js'
import { GIB, SECONDS_PER_HOUR } from './money.js'
import { clusterPrices, type NodeRate, nodeRate, type PriceSheet, type ResourcePrices } from './prices.js'

/** OpenCost's name for allocations without the label aggregated by. */
export const UNALLOCATED = '__unallocated__'
/** OpenCost's name for idle cost. */
export const IDLE = '__idle__'

/** Dollars per resource over the window. */
export interface Money {
  readonly cpu: number
  readonly ram: number
  readonly total: number
}

export function money(cpu: number, ram: number): Money {
  return { cpu, ram, total: cpu + ram }
}

const ZERO = money(0, 0)

function add(a: Money, b: Money): Money {
  return money(a.cpu + b.cpu, a.ram + b.ram)
}

export interface NodeCost {
  readonly cluster: string
  readonly name: string
  readonly instanceType?: string
  readonly rate: NodeRate
  readonly hours: number
  /** capacity x hours */
  readonly cpuCoreHours: number
  readonly ramGiBHours: number
  readonly cost: Money
}

/** What one resource of a container is charged for, and why. */
export interface ChargedResource {
  /** per pod: cores, or bytes */
  readonly request: number | undefined
  /** per pod: the window's average usage (cores, or bytes); undefined: no usage series */
  readonly usage: number | undefined
  /** `mean`: UsageStats.mean; `p50`: no mean was collected and the median stood in for it */
  readonly usageFrom: 'mean' | 'p50' | undefined
  /** the larger of the two (a tie: the request) */
  readonly charged: 'request' | 'usage' | 'nothing'
  /** max(request, usage) x hours: core-hours, or GiB-hours */
  readonly quantityHours: number
  readonly cost: number
}

export interface ContainerCost {
  readonly workload: WorkloadRef
  readonly container: string
  /** the team label, or `__unallocated__` */
  readonly team: string
  /** the pods' running time summed */
  readonly hours: number
  readonly cpu: ChargedResource
  readonly ram: ChargedResource
  /** the cluster's rate it was priced at */
  readonly rate: ResourcePrices & { readonly source: string }
  readonly cost: Money
}

export interface GroupCost {
  /** `cluster`, `cluster/namespace`, or the team */
  readonly key: string
  readonly containers: number
  readonly cpuCoreHours: number
  readonly ramGiBHours: number
  readonly cost: Money
  /** with `shareIdle`: this group's share of its clusters' idle cost (also in `withIdle`) */
  readonly sharedIdle?: Money
  /** cost plus the shared idle (= cost when idle is not shared) */
  readonly withIdle: Money
}

export interface ClusterCost extends GroupCost {
  readonly cluster: string
  readonly nodes: number
  /** what the nodes cost: the cluster's cost */
  readonly nodeCost: Money
  /** the per-resource rate its containers were priced at */
  readonly rate: ResourcePrices & { readonly source: string }
  /** node cost - workload cost per resource (negative: workloads charged above the nodes' capacity);
   * undefined when no node of the cluster was in the input */
  readonly idle: Money | undefined
}

export interface NamespaceCost extends GroupCost {
  readonly cluster: string
  readonly namespace: string
}

export interface TeamCost extends GroupCost {
  readonly team: string
}

export interface CostReport {
  readonly currency: string
  readonly containers: readonly ContainerCost[]
  readonly nodes: readonly NodeCost[]
  readonly clusters: readonly ClusterCost[]
  readonly namespaces: readonly NamespaceCost[]
  readonly teams: readonly TeamCost[]
  readonly total: {
    readonly nodeCost: Money
    readonly workloadCost: Money
    /** the idle of the clusters whose nodes are known */
    readonly idle: Money
  }
}

export interface CostOptions {
  /** spread each cluster's idle cost over its workloads per resource, as OpenCost's shareIdle */
  readonly shareIdle?: boolean
}

/** One node's cost over the time it ran. */
export function costNode(sheet: PriceSheet, node: NodeUsage): NodeCost {
  const rate = nodeRate(sheet, node)
  const hours = node.runningSeconds / SECONDS_PER_HOUR
  const cpuCoreHours = node.capacity.cpu * hours
  const ramGiBHours = (node.capacity.memory / GIB) * hours
  return {
    cluster: node.cluster,
    name: node.name,
    ...(node.instanceType !== undefined ? { instanceType: node.instanceType } : {}),
    rate,
    hours,
    cpuCoreHours,
    ramGiBHours,
    cost: money(cpuCoreHours * rate.cpu, ramGiBHours * rate.ram),
  }
}

/** The rate a cluster's containers are priced at: its nodes' cost per capacity-hour, per resource. */
export function clusterRate(
  sheet: PriceSheet,
  cluster: string,
  nodes: readonly NodeCost[],
): ResourcePrices & { readonly source: string } {
  let cpuCost = 0
  let ramCost = 0
  let coreHours = 0
  let gibHours = 0
  for (const n of nodes) {
    if (n.cluster !== cluster) continue
    cpuCost += n.cost.cpu
    ramCost += n.cost.ram
    coreHours += n.cpuCoreHours
    gibHours += n.ramGiBHours
  }
  const fallback = clusterPrices(sheet, cluster, false)
  if (coreHours > 0 && gibHours > 0) {
    const names = new Set(nodes.filter((n) => n.cluster === cluster).map((n) => n.name))
    return {
      cpu: cpuCost / coreHours,
      ram: ramCost / gibHours,
      source: `the average of the cluster's ${names.size} node${names.size === 1 ? '' : 's'} by capacity-hour`,
    }
  }
  return { cpu: fallback.cpu, ram: fallback.ram, source: `${fallback.source} (no nodes of the cluster seen)` }
}

/** max(request, average usage) of one resource per pod, in the resource's unit. */
function charge(r: ResourceUsage, unit: number, hours: number, price: number): ChargedResource {
  const usageFrom = r.usage === undefined ? undefined : r.usage.mean !== undefined ? 'mean' : 'p50'
  const usage = r.usage === undefined ? undefined : (r.usage.mean ?? r.usage.p50)
  const request = r.request
  const charged: ChargedResource['charged'] =
    request === undefined && usage === undefined
      ? 'nothing'
      : usage === undefined || (request !== undefined && request >= usage)
        ? 'request'
        : 'usage'
  const perPod = Math.max(request ?? 0, usage ?? 0)
  const quantityHours = (perPod / unit) * hours
  return { request, usage, usageFrom, charged, quantityHours, cost: quantityHours * price }
}

/** One container's cost at a rate (its cluster's). */
export function costContainer(
  c: ContainerUsage,
  rate: ResourcePrices & { readonly source: string },
): ContainerCost {
  const hours = c.runningSeconds / SECONDS_PER_HOUR
  const cpu = charge(c.cpu, 1, hours, rate.cpu)
  const ram = charge(c.memory, GIB, hours, rate.ram)
  return {
    workload: c.workload,
    container: c.container,
    team: c.team ?? UNALLOCATED,
    hours,
    cpu,
    ram,
    rate,
    cost: money(cpu.cost, ram.cost),
  }
}

interface Acc {
  containers: number
  cpuCoreHours: number
  ramGiBHours: number
  cost: Money
  sharedIdle: Money
}

function accumulate<K>(
  map: Map<string, { extra: K; acc: Acc }>,
  key: string,
  extra: K,
  c: ContainerCost,
  shared: Money,
): void {
  let e = map.get(key)
  if (!e) {
    e = { extra, acc: { containers: 0, cpuCoreHours: 0, ramGiBHours: 0, cost: ZERO, sharedIdle: ZERO } }
    map.set(key, e)
  }
  e.acc.containers++
  e.acc.cpuCoreHours += c.cpu.quantityHours
  e.acc.ramGiBHours += c.ram.quantityHours
  e.acc.cost = add(e.acc.cost, c.cost)
  e.acc.sharedIdle = add(e.acc.sharedIdle, shared)
}

function group(key: string, a: Acc, shareIdle: boolean): GroupCost {
  return {
    key,
    containers: a.containers,
    cpuCoreHours: a.cpuCoreHours,
    ramGiBHours: a.ramGiBHours,
    cost: a.cost,
    ...(shareIdle ? { sharedIdle: a.sharedIdle } : {}),
    withIdle: shareIdle ? add(a.cost, a.sharedIdle) : a.cost,
  }
}

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)

/**
 * The whole report: nodes, containers, and their sums per cluster (with idle), namespace and team.
 * Amounts are unrounded dollars (see money.ts).
 */
export function costReport(
  sheet: PriceSheet,
  containers: readonly ContainerUsage[],
  nodes: readonly NodeUsage[],
  options: CostOptions = {},
): CostReport {
  const shareIdle = options.shareIdle === true
  const nodeCosts = nodes.map((n) => costNode(sheet, n))
  const clusterNames = [
    ...new Set([...nodes.map((n) => n.cluster), ...containers.map((c) => c.workload.cluster)]),
  ]
  const rates = new Map(clusterNames.map((name) => [name, clusterRate(sheet, name, nodeCosts)]))
  const containerCosts = containers.map((c) => costContainer(c, rates.get(c.workload.cluster)!))

  // Per cluster: the nodes' cost, the workloads' cost, and the difference.
  const nodeTotals = new Map<string, { count: number; cost: Money }>()
  for (const n of nodeCosts) {
    const t = nodeTotals.get(n.cluster) ?? { count: 0, cost: ZERO }
    nodeTotals.set(n.cluster, { count: t.count + 1, cost: add(t.cost, n.cost) })
  }
  const workloadTotals = new Map<string, Money>()
  for (const c of containerCosts)
    workloadTotals.set(c.workload.cluster, add(workloadTotals.get(c.workload.cluster) ?? ZERO, c.cost))
  const idle = new Map<string, Money>()
  for (const [cluster, n] of nodeTotals) {
    const w = workloadTotals.get(cluster) ?? ZERO
    idle.set(cluster, money(n.cost.cpu - w.cpu, n.cost.ram - w.ram))
  }

  // A container's share of its cluster's idle, per resource, in proportion to its cost of it.
  const share = (c: ContainerCost): Money => {
    const i = idle.get(c.workload.cluster)
    const w = workloadTotals.get(c.workload.cluster)
    if (!shareIdle || !i || !w) return ZERO
    return money(w.cpu > 0 ? (i.cpu * c.cost.cpu) / w.cpu : 0, w.ram > 0 ? (i.ram * c.cost.ram) / w.ram : 0)
  }

  const clusters = new Map<string, { extra: string; acc: Acc }>()
  const namespaces = new Map<string, { extra: { cluster: string; namespace: string }; acc: Acc }>()
  const teams = new Map<string, { extra: string; acc: Acc }>()
  for (const c of containerCosts) {
    const s = share(c)
    const { cluster, namespace } = c.workload
    accumulate(clusters, cluster, cluster, c, s)
    accumulate(namespaces, `${cluster}/${namespace}`, { cluster, namespace }, c, s)
    accumulate(teams, c.team, c.team, c, s)
  }
  for (const name of clusterNames)
    if (!clusters.has(name))
      clusters.set(name, {
        extra: name,
        acc: { containers: 0, cpuCoreHours: 0, ramGiBHours: 0, cost: ZERO, sharedIdle: ZERO },
      })

  const clusterCosts: ClusterCost[] = [...clusters].map(([key, { acc }]) => ({
    ...group(key, acc, shareIdle),
    cluster: key,
    nodes: nodeTotals.get(key)?.count ?? 0,
    nodeCost: nodeTotals.get(key)?.cost ?? ZERO,
    rate: rates.get(key)!,
    idle: idle.get(key),
  }))
  const total = {
    nodeCost: [...nodeTotals.values()].reduce((a, n) => add(a, n.cost), ZERO),
    workloadCost: containerCosts.reduce((a, c) => add(a, c.cost), ZERO),
    idle: [...idle.values()].reduce(add, ZERO),
  }
  return {
    currency: sheet.currency,
    containers: containerCosts,
    nodes: nodeCosts,
    clusters: clusterCosts.sort(byKey),
    namespaces: [...namespaces]
      .map(([key, { extra, acc }]) => ({ ...group(key, acc, shareIdle), ...extra }))
      .sort(byKey),
    teams: [...teams].map(([key, { acc }]) => ({ ...group(key, acc, shareIdle), team: key })).sort(byKey),
    total,
  }
}
