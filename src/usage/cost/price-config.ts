/**
 * The prices config (YAML): overrides of OpenCost's default prices for every cluster, per cluster and per
 * instance type, on-demand and spot. Every mistake is reported as `file:line: where: what was expected`.
 *
 *   currency: USD                # a label for output
 *   defaults:                    # replaces OpenCost's defaults (any left out stay)
 *     cpu: 0.031611              # $ per core-hour
 *     ram: 0.004237              # $ per GiB-hour
 *     spot_cpu: 0.006655
 *     spot_ram: 0.000892
 *   instance_types:              # the same in every cluster
 *     m5.xlarge:
 *       hourly: 0.192            # the node's total price, split into CPU and RAM by the CPU:RAM ratio
 *       spot_hourly: 0.0766
 *   clusters:
 *     prod:
 *       cpu: 0.04                # this cluster's per-resource prices (and the ratio its splits use)
 *       ram: 0.005
 *       instance_types:
 *         c6i.large: { cpu: 0.0425, ram: 0.0057 }
 *
 * Prices are numbers, or strings holding one (OpenCost's own files write "0.031611").
 */
import { readFileSync } from 'node:fs'
import { ConfigReader, loadYamlConfig, YamlConfigError } from '../../policy/yaml-fields.js'
import type { PathSegment } from '../../resources/types.js'
import {
  type ClusterPrices,
  defaultPriceSheet,
  type InstanceTypePrices,
  type PriceSheet,
  type ResourcePrices,
} from './prices.js'

export class PriceConfigError extends YamlConfigError {}

type Obj = Record<string, unknown>

const ROOT_KEYS = ['currency', 'defaults', 'instance_types', 'clusters']
const DEFAULT_KEYS = ['cpu', 'ram', 'spot_cpu', 'spot_ram']
const CLUSTER_KEYS = ['cpu', 'ram', 'spot_cpu', 'spot_ram', 'instance_types']
const TYPE_KEYS = ['cpu', 'ram', 'spot_cpu', 'spot_ram', 'hourly', 'spot_hourly']

class Reader extends ConfigReader {
  origin(path: readonly PathSegment[]): string {
    return `${this.file}:${this.line(path)}`
  }

  /** A mapping whose keys are names (clusters, instance types). */
  names(v: unknown, path: readonly PathSegment[]): Obj {
    if (v === undefined || v === null) return {}
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'expected a mapping of names to prices')
    return v as Obj
  }

  string(v: unknown, path: readonly PathSegment[]): string | undefined {
    if (v === undefined || v === null) return undefined
    if (typeof v !== 'string' || v.trim() === '')
      this.fail(path, `expected a non-empty string, got ${JSON.stringify(v)}`)
    return v
  }

  /** A price: a number >= 0, or a string holding one. */
  price(v: unknown, path: readonly PathSegment[]): number | undefined {
    if (v === undefined || v === null) return undefined
    const n =
      typeof v === 'number'
        ? v
        : typeof v === 'string' && /^\s*\+?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)
          ? Number(v)
          : Number.NaN
    if (!Number.isFinite(n) || n < 0)
      this.fail(path, `expected a price (a number >= 0, $ per hour), got ${JSON.stringify(v)}`)
    return n
  }
}

/** Both of a pair, or neither: a per-resource price needs its CPU and its RAM price. */
function pair(
  r: Reader,
  obj: Obj,
  path: readonly PathSegment[],
  cpuKey: string,
  ramKey: string,
): ResourcePrices | undefined {
  const cpu = r.price(obj[cpuKey], [...path, cpuKey])
  const ram = r.price(obj[ramKey], [...path, ramKey])
  if (cpu === undefined && ram === undefined) return undefined
  if (cpu === undefined) r.fail([...path, ramKey], `'${ramKey}' needs '${cpuKey}' beside it`)
  if (ram === undefined) r.fail([...path, cpuKey], `'${cpuKey}' needs '${ramKey}' beside it`)
  return { cpu, ram }
}

function instanceType(r: Reader, v: unknown, path: readonly PathSegment[]): InstanceTypePrices {
  const o = r.object(v, path, TYPE_KEYS)
  const perResource = pair(r, o, path, 'cpu', 'ram')
  const spotPerResource = pair(r, o, path, 'spot_cpu', 'spot_ram')
  const hourly = r.price(o.hourly, [...path, 'hourly'])
  const spotHourly = r.price(o.spot_hourly, [...path, 'spot_hourly'])
  if (hourly !== undefined && perResource)
    r.fail([...path, 'hourly'], "expected either 'hourly' (the node's price) or 'cpu' and 'ram', not both")
  if (spotHourly !== undefined && spotPerResource)
    r.fail(
      [...path, 'spot_hourly'],
      "expected either 'spot_hourly' (the node's price) or 'spot_cpu' and 'spot_ram', not both",
    )
  const onDemand = hourly !== undefined ? { hourly } : perResource
  const spot = spotHourly !== undefined ? { hourly: spotHourly } : spotPerResource
  if (!onDemand && !spot)
    r.fail(path, "expected a price: 'hourly', 'cpu' and 'ram', 'spot_hourly', or 'spot_cpu' and 'spot_ram'")
  return { onDemand, spot, origin: r.origin(path) }
}

function instanceTypes(r: Reader, v: unknown, path: readonly PathSegment[]): Map<string, InstanceTypePrices> {
  const out = new Map<string, InstanceTypePrices>()
  for (const [name, entry] of Object.entries(r.names(v, path)))
    out.set(name, instanceType(r, entry, [...path, name]))
  return out
}

/** Reads a prices config; an empty file is OpenCost's defaults. */
export function parsePriceConfig(file: string, text: string): PriceSheet {
  // Nothing but blanks and comments: nothing overridden.
  if (text.split('\n').every((l) => /^\s*(#.*)?$/.test(l))) return defaultPriceSheet()
  const { doc, at } = loadYamlConfig(file, text, PriceConfigError)
  const base = defaultPriceSheet()
  if (doc === null || doc === undefined) return base
  const r = new Reader(file, at, PriceConfigError)
  const root = r.object(doc, [], ROOT_KEYS)

  let defaults = base.defaults
  if (root.defaults !== undefined && root.defaults !== null) {
    const d = r.object(root.defaults, ['defaults'], DEFAULT_KEYS)
    defaults = {
      cpu: r.price(d.cpu, ['defaults', 'cpu']) ?? base.defaults.cpu,
      ram: r.price(d.ram, ['defaults', 'ram']) ?? base.defaults.ram,
      spotCpu: r.price(d.spot_cpu, ['defaults', 'spot_cpu']) ?? base.defaults.spotCpu,
      spotRam: r.price(d.spot_ram, ['defaults', 'spot_ram']) ?? base.defaults.spotRam,
      origin: `${r.origin(['defaults'])} (defaults)`,
    }
  }

  const clusters = new Map<string, ClusterPrices>()
  for (const [name, entry] of Object.entries(r.names(root.clusters, ['clusters']))) {
    const path = ['clusters', name]
    const c = r.object(entry ?? {}, path, CLUSTER_KEYS)
    clusters.set(name, {
      cpu: r.price(c.cpu, [...path, 'cpu']),
      ram: r.price(c.ram, [...path, 'ram']),
      spotCpu: r.price(c.spot_cpu, [...path, 'spot_cpu']),
      spotRam: r.price(c.spot_ram, [...path, 'spot_ram']),
      instanceTypes: instanceTypes(r, c.instance_types, [...path, 'instance_types']),
      origin: r.origin(path),
    })
  }

  return {
    currency: r.string(root.currency, ['currency']) ?? base.currency,
    defaults,
    instanceTypes: instanceTypes(r, root.instance_types, ['instance_types']),
    clusters,
  }
}

export function loadPriceConfig(file: string): PriceSheet {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new PriceConfigError(file, 0, '', `cannot read: ${(err as Error).message}`)
  }
  return parsePriceConfig(file, text)
}
