/**
 * The price sheet: what a core-hour and a GiB-hour cost on each node, from OpenCost's default prices,
 * overridden per cluster and per instance type, on-demand or spot, and how a node's total hourly price
 * is split into CPU and RAM the way OpenCost splits it. Reading the YAML is price-config.ts's job.
 *
 * Facts taken from OpenCost (github.com/opencost/opencost at commit
 * 5f6533303e3850c8635796a74bb22802d16e9090, 2024-10-24; facts carried over, no code):
 *
 * - Default prices, configs/default.json ("Default prices based on GCP us-central1"), which the image
 *   installs as /models/default.json (Dockerfile) and the custom provider reads (provider.go:
 *   NewProviderConfig(config, "default.json")): CPU "0.031611", spotCPU "0.006655", RAM "0.004237",
 *   spotRAM "0.000892", GPU "0.95", storage "0.00005479452". The units are in pkg/cloud/models/models.go
 *   (CustomPricing): CPU "cost per core-hour", RAM "cost per GiB-hour". spotGPU is not in default.json;
 *   providerconfig.go fills it from DefaultPricing(): "0.308". (DefaultPricing() in
 *   pkg/cloud/provider/providerconfig.go has other, E2 figures, CPU 0.021811 / RAM 0.002923, used only
 *   when neither a config file nor /models/default.json exists: not the defaults a deployed OpenCost
 *   shows.)
 * - A spot node takes spotCPU and spotRAM instead (pkg/costmodel/allocation_helpers.go
 *   getCustomNodePricing, cluster_helpers.go buildCPUCostMap: `if spot { customCPUStr = SpotCPU }`).
 * - Splitting a node's total hourly price (pkg/costmodel/costmodel.go GetNodeCost, the branch "No RAM
 *   cost found ... distribute the total node cost among CPU and RAM costs", the branch a price list
 *   that gives only a node price, such as the CSV provider's MarketPriceHourly, goes through):
 *     cpuToRAMRatio = defaultCPU / defaultRAM        (the configured on-demand CPU and RAM prices,
 *                                                     even for a spot node; NaN, i.e. 0/0, -> 10)
 *     cpu           = the node's CPU capacity in whole cores (Quantity.Value(), which rounds up)
 *     ramGB         = capacity bytes / 1024 / 1024 / 1024
 *     ramMultiple   = cpu * cpuToRAMRatio + ramGB
 *     ramPrice      = nodePrice / ramMultiple          (per GiB-hour)
 *     cpuPrice      = ramPrice * cpuToRAMRatio         (per core-hour)
 *     each stored with fmt.Sprintf("%f"): rounded to 6 decimals;
 *     if defaultRAM == 0 the whole price goes to CPU: cpuPrice = nodePrice / cpu.
 *   (A GPU price, when known, is taken off nodePrice first; Plimsoll's NodeUsage has no GPUs.)
 */
import { GIB } from './money.js'

/** $ per core-hour and $ per GiB-hour. */
export interface ResourcePrices {
  readonly cpu: number
  readonly ram: number
}

/** OpenCost's defaults (configs/default.json; see the comment above), $ per core-hour / GiB-hour / GPU-hour. */
export const OPENCOST_DEFAULTS = {
  cpu: 0.031611,
  spotCpu: 0.006655,
  ram: 0.004237,
  spotRam: 0.000892,
  gpu: 0.95,
  spotGpu: 0.308,
  /** per GiB-month / 730: $0.04 a month */
  storage: 0.00005479452,
} as const

/** Where a price came from, to show next to it: `prices.yaml:12` or `OpenCost default`. */
export type Origin = string

/** The prices of one instance type: per resource, or the node's total hourly price to split. */
export interface InstanceTypePrices {
  readonly onDemand?: ResourcePrices | { readonly hourly: number }
  readonly spot?: ResourcePrices | { readonly hourly: number }
  readonly origin: Origin
}

/** A cluster's per-resource prices; any left out are the sheet's defaults. */
export interface ClusterPrices {
  readonly cpu?: number
  readonly ram?: number
  readonly spotCpu?: number
  readonly spotRam?: number
  readonly instanceTypes: ReadonlyMap<string, InstanceTypePrices>
  readonly origin: Origin
}

export interface PriceSheet {
  /** a label for output only; no conversion is done */
  readonly currency: string
  readonly defaults: {
    readonly cpu: number
    readonly ram: number
    readonly spotCpu: number
    readonly spotRam: number
    readonly origin: Origin
  }
  /** instance types priced the same in every cluster (a cluster's own entry wins) */
  readonly instanceTypes: ReadonlyMap<string, InstanceTypePrices>
  readonly clusters: ReadonlyMap<string, ClusterPrices>
}

export const DEFAULT_ORIGIN = 'OpenCost default (configs/default.json)'

/** The sheet with nothing configured: OpenCost's defaults everywhere. */
export function defaultPriceSheet(): PriceSheet {
  return {
    currency: 'USD',
    defaults: {
      cpu: OPENCOST_DEFAULTS.cpu,
      ram: OPENCOST_DEFAULTS.ram,
      spotCpu: OPENCOST_DEFAULTS.spotCpu,
      spotRam: OPENCOST_DEFAULTS.spotRam,
      origin: DEFAULT_ORIGIN,
    },
    instanceTypes: new Map(),
    clusters: new Map(),
  }
}

/** What a core-hour and a GiB-hour cost on one node, and why. */
export interface NodeRate extends ResourcePrices {
  readonly spot: boolean
  /** e.g. `prices.yaml:14 (clusters.prod.instance_types.m5.xlarge): hourly 0.192 split by CPU:RAM 7.4607:1` */
  readonly source: string
}

/** Node capacity types that mean spot/preemptible (Karpenter, EKS, GKE and AKS spell them so). */
export function isSpot(capacityType: string | undefined): boolean {
  return capacityType !== undefined && /^(spot|preemptible|true)$/i.test(capacityType.trim())
}

/** 6 decimals, as OpenCost's fmt.Sprintf("%f") keeps a split price. */
function sixDecimals(x: number): number {
  return Number(x.toFixed(6))
}

/**
 * OpenCost's cpuToRAMRatio from the on-demand per-resource prices: CPU price / RAM price, 10 when both
 * are 0 (Go's NaN fallback).
 */
export function cpuToRamRatio(prices: ResourcePrices): number {
  const r = prices.cpu / prices.ram
  return Number.isNaN(r) ? 10 : r
}

/**
 * Splits a node's total hourly price into a price per core-hour and per GiB-hour, in proportion to
 * `ratioPrices` (the cluster's on-demand per-resource prices), exactly as OpenCost's GetNodeCost does.
 */
export function splitNodePrice(
  hourly: number,
  capacity: { readonly cpu: number; readonly memory: number },
  ratioPrices: ResourcePrices,
): ResourcePrices {
  const cores = Math.ceil(capacity.cpu)
  if (ratioPrices.ram === 0) return { cpu: sixDecimals(cores !== 0 ? hourly / cores : hourly), ram: 0 }
  const ratio = cpuToRamRatio(ratioPrices)
  const ramGiB = capacity.memory / GIB
  const ramMultiple = cores * ratio + ramGiB
  const ram = ramMultiple > 0 ? hourly / ramMultiple : 0
  return { cpu: sixDecimals(ram * ratio), ram: sixDecimals(ram) }
}

/** A cluster's on-demand (or spot) per-resource prices: its own, else the sheet's defaults. */
export function clusterPrices(
  sheet: PriceSheet,
  cluster: string,
  spot = false,
): ResourcePrices & { source: string } {
  const c = sheet.clusters.get(cluster)
  const d = sheet.defaults
  const cpu = spot ? c?.spotCpu : c?.cpu
  const ram = spot ? c?.spotRam : c?.ram
  const source =
    c && (cpu !== undefined || ram !== undefined) ? `${c.origin} (clusters.${cluster})` : d.origin
  return {
    cpu: cpu ?? (spot ? d.spotCpu : d.cpu),
    ram: ram ?? (spot ? d.spotRam : d.ram),
    source,
  }
}

function priced(
  entry: InstanceTypePrices,
  spot: boolean,
  capacity: { readonly cpu: number; readonly memory: number },
  ratioPrices: ResourcePrices,
  where: string,
): NodeRate | undefined {
  const p = spot ? entry.spot : entry.onDemand
  if (p === undefined) return undefined
  const at = `${entry.origin} (${where}${spot ? ' spot' : ''})`
  if ('hourly' in p) {
    const split = splitNodePrice(p.hourly, capacity, ratioPrices)
    const ratio = cpuToRamRatio(ratioPrices)
    return {
      ...split,
      spot,
      source: `${at}: hourly ${p.hourly} split by CPU:RAM ${Number(ratio.toFixed(4))}:1`,
    }
  }
  return { cpu: p.cpu, ram: p.ram, spot, source: at }
}

/**
 * The prices of one node. The most specific level that prices the node's kind (on-demand or spot)
 * wins: the cluster's entry for the instance type, then the sheet-wide entry for it, then the
 * cluster's per-resource prices, then the sheet's defaults. A total hourly price is split by the
 * cluster's on-demand CPU:RAM price ratio, as OpenCost splits by its configured CPU and RAM prices.
 */
export function nodeRate(
  sheet: PriceSheet,
  node: {
    readonly cluster: string
    readonly instanceType?: string
    readonly capacityType?: string
    readonly capacity: { readonly cpu: number; readonly memory: number }
  },
): NodeRate {
  const spot = isSpot(node.capacityType)
  const ratioPrices = clusterPrices(sheet, node.cluster, false)
  const type = node.instanceType
  if (type !== undefined) {
    const own = sheet.clusters.get(node.cluster)?.instanceTypes.get(type)
    if (own) {
      const r = priced(
        own,
        spot,
        node.capacity,
        ratioPrices,
        `clusters.${node.cluster}.instance_types.${type}`,
      )
      if (r) return r
    }
    const shared = sheet.instanceTypes.get(type)
    if (shared) {
      const r = priced(shared, spot, node.capacity, ratioPrices, `instance_types.${type}`)
      if (r) return r
    }
  }
  const p = clusterPrices(sheet, node.cluster, spot)
  return { cpu: p.cpu, ram: p.ram, spot, source: spot ? `${p.source} spot` : p.source }
}
