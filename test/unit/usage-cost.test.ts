/**
 * The cost and waste model, pure: OpenCost's formulas (max(request, usage) x hours x price per
 * resource, node price split into CPU and RAM by the CPU:RAM price ratio, idle = node cost - workload
 * cost), the price sheet and its YAML config (errors with file:line), waste and savings against
 * recommendations, and a fixed example checked to the cent against the arithmetic written out below.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { costContainer, costReport, IDLE, UNALLOCATED } from '../../src/usage/cost/allocate.js'
import { cents, formatMoney, HOURS_PER_MONTH, monthly, roundMoney } from '../../src/usage/cost/money.js'
import { loadPriceConfig, PriceConfigError, parsePriceConfig } from '../../src/usage/cost/price-config.js'
import {
  cpuToRamRatio,
  defaultPriceSheet,
  isSpot,
  nodeRate,
  OPENCOST_DEFAULTS,
  splitNodePrice,
} from '../../src/usage/cost/prices.js'
import { wasteReport } from '../../src/usage/cost/waste.js'
import type {
  ContainerUsage,
  NodeUsage,
  Recommendation,
  UsageStats,
  WorkloadKind,
} from '../../src/usage/types.js'

const GiB = 1024 ** 3
const MiB = 1024 ** 2
const H = 3600

function stats(mean: number | undefined, p50 = mean ?? 0): UsageStats {
  return { p50, p95: p50, p99: p50, max: p50, ...(mean !== undefined ? { mean } : {}) }
}

/** A container of a workload: the cluster, namespace and name; a Deployment's `app` unless said. */
type Ref = { cluster: string; namespace: string; kind?: WorkloadKind; name: string; container?: string }

const workloadOf = (ref: Ref) => ({
  workload: {
    cluster: ref.cluster,
    namespace: ref.namespace,
    kind: ref.kind ?? 'Deployment',
    name: ref.name,
  },
  container: ref.container ?? 'app',
})

function container(
  ref: Ref,
  o: {
    team?: string
    hours: number
    cpu: { request?: number; usage?: UsageStats }
    memory: { request?: number; usage?: UsageStats }
  },
): ContainerUsage {
  return {
    ...workloadOf(ref),
    ...(o.team !== undefined ? { team: o.team } : {}),
    pods: 1,
    maxReplicas: 1,
    cpu: { usage: o.cpu.usage, request: o.cpu.request, limit: undefined },
    memory: { usage: o.memory.usage, request: o.memory.request, limit: undefined },
    restarts: 0,
    oomKills: [],
    runningSeconds: o.hours * H,
    history: { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', samples: 288 },
  }
}

function node(
  cluster: string,
  name: string,
  o: { cores: number; memory: number; hours: number; instanceType?: string; capacityType?: string },
): NodeUsage {
  const r = { cpu: o.cores, memory: o.memory }
  return {
    cluster,
    name,
    ...(o.instanceType !== undefined ? { instanceType: o.instanceType } : {}),
    ...(o.capacityType !== undefined ? { capacityType: o.capacityType } : {}),
    capacity: r,
    allocatable: r,
    requested: r,
    used: r,
    runningSeconds: o.hours * H,
  }
}

function rec(
  ref: Ref,
  cpu: number | undefined,
  memory: number | undefined,
  skipped?: string,
): Recommendation {
  return {
    ...workloadOf(ref),
    strategy: 'simple',
    cpu: { request: cpu, limit: undefined, reasons: [] },
    memory: { request: memory, limit: memory, reasons: [] },
    confidence: 'high',
    ...(skipped !== undefined ? { skipped } : {}),
  }
}

describe('the fixed example, to the cent', () => {
  // PRICES: OpenCost's defaults (configs/default.json): CPU $0.031611/core-h, RAM $0.004237/GiB-h,
  // spot CPU $0.006655/core-h, spot RAM $0.000892/GiB-h; plus one override: m5.xlarge costs $0.192/h.
  const sheet = parsePriceConfig('prices.yaml', 'instance_types:\n  m5.xlarge:\n    hourly: 0.192\n')

  // NODES, each running the whole 24-hour window:
  //   prod/node-a: m5.xlarge, on-demand, 4 cores, 16 GiB
  //   dev/node-b:  e2-standard-2 (no entry: defaults), spot, 2 cores, 8 GiB
  const nodes = [
    node('prod', 'node-a', { cores: 4, memory: 16 * GiB, hours: 24, instanceType: 'm5.xlarge' }),
    node('dev', 'node-b', {
      cores: 2,
      memory: 8 * GiB,
      hours: 24,
      instanceType: 'e2-standard-2',
      capacityType: 'spot',
    }),
  ]

  // node-a's $0.192/h split by OpenCost's ratio (costmodel.go GetNodeCost):
  //   cpuToRAMRatio = 0.031611 / 0.004237                 = 7.460703327826292
  //   ramMultiple   = 4 cores x 7.460703327826292 + 16 GiB = 45.842813311305164
  //   ramPrice      = 0.192 / 45.842813311305164          = 0.0041882246... -> $0.004188 /GiB-h
  //   cpuPrice      = 0.0041882246... x 7.460703327826292  = 0.0312471014... -> $0.031247 /core-h
  //   (6 decimals: OpenCost stores them with fmt.Sprintf("%f"))
  // node-a over 24 h: CPU 4 x 0.031247 x 24 = 2.999712;  RAM 16 x 0.004188 x 24 = 1.608192
  //                   total 4.607904 -> $4.61
  // node-b (spot, defaults) over 24 h: CPU 2 x 0.006655 x 24 = 0.319440; RAM 8 x 0.000892 x 24 = 0.171264
  //                   total 0.490704 -> $0.49
  //
  // CONTAINERS (requests and average usage per pod; hours = the pods' running time summed):
  //   prod/shop web/app (team shop), 2 pods x 24 h = 48 h:
  //     CPU request 0.5 > usage 0.2     -> request: 0.5 x 48 = 24 core-h x 0.031247 = 0.749928
  //     RAM request 1 GiB < usage 1.5   -> usage:   1.5 x 48 = 72 GiB-h  x 0.004188 = 0.301536
  //     total 1.051464 -> $1.05
  //   prod/shop api/app (team shop), 24 h:
  //     CPU request 1 < usage 1.25      -> usage:   1.25 x 24 = 30 core-h x 0.031247 = 0.937410
  //     RAM no request, usage 512 MiB   -> usage:   0.5 x 24  = 12 GiB-h  x 0.004188 = 0.050256
  //     total 0.987666 -> $0.99
  //   dev/batch report/job (CronJob, team data), 6 h, priced at node-b's spot rates:
  //     CPU request 0.25 > usage 0.1    -> request: 0.25 x 6 = 1.5 core-h x 0.006655 = 0.0099825
  //     RAM request 1 GiB > usage 384 MiB -> request: 1 x 6 = 6 GiB-h x 0.000892     = 0.005352
  //     total 0.0153345 -> $0.02
  //
  // IDLE = node cost - workload cost, per resource:
  //   prod: CPU 2.999712 - (0.749928 + 0.937410) = 1.312374; RAM 1.608192 - (0.301536 + 0.050256) = 1.256400
  //         total 2.568774 -> $2.57
  //   dev:  CPU 0.319440 - 0.0099825 = 0.3094575;   RAM 0.171264 - 0.005352 = 0.165912
  //         total 0.4753695 -> $0.48
  // SUMS: namespace prod/shop = team shop = 1.051464 + 0.987666 = 2.039130 -> $2.04;
  //       dev/batch = team data = $0.02. All nodes 5.098608 -> $5.10; all workloads 2.0544645 -> $2.05;
  //       all idle 3.0441435 -> $3.04 (2.05 + 3.04 = 5.09: each total is rounded once, from unrounded parts)
  const webRef = { cluster: 'prod', namespace: 'shop', name: 'web' }
  const apiRef = { cluster: 'prod', namespace: 'shop', name: 'api' }
  const reportRef = {
    cluster: 'dev',
    namespace: 'batch',
    kind: 'CronJob' as const,
    name: 'report',
    container: 'job',
  }
  const containers = [
    container(webRef, {
      team: 'shop',
      hours: 48,
      cpu: { request: 0.5, usage: stats(0.2) },
      memory: { request: 1 * GiB, usage: stats(1.5 * GiB) },
    }),
    container(apiRef, {
      team: 'shop',
      hours: 24,
      cpu: { request: 1, usage: stats(1.25) },
      memory: { usage: stats(512 * MiB) },
    }),
    container(reportRef, {
      team: 'data',
      hours: 6,
      cpu: { request: 0.25, usage: stats(0.1) },
      memory: { request: 1 * GiB, usage: stats(384 * MiB) },
    }),
  ]
  const report = costReport(sheet, containers, nodes)

  it('splits node-a price by the ratio and prices node-b at the spot defaults', () => {
    const [a, b] = report.nodes
    expect(cpuToRamRatio({ cpu: 0.031611, ram: 0.004237 })).toBeCloseTo(7.460703327826292, 12)
    expect(a!.rate).toMatchObject({ cpu: 0.031247, ram: 0.004188, spot: false })
    expect(a!.rate.source).toContain('prices.yaml:2 (instance_types.m5.xlarge)')
    expect(b!.rate).toMatchObject({ cpu: 0.006655, ram: 0.000892, spot: true })
    expect(a!.cost.cpu).toBeCloseTo(2.999712, 9)
    expect(a!.cost.ram).toBeCloseTo(1.608192, 9)
    expect(cents(a!.cost.total)).toBe(461)
    expect(b!.cost.cpu).toBeCloseTo(0.31944, 9)
    expect(b!.cost.ram).toBeCloseTo(0.171264, 9)
    expect(cents(b!.cost.total)).toBe(49)
  })

  it('charges each container max(request, usage) per resource-hour', () => {
    const [web, api, job] = report.containers
    expect(web!.cpu).toMatchObject({ charged: 'request', quantityHours: 24, usageFrom: 'mean' })
    expect(web!.ram).toMatchObject({ charged: 'usage', quantityHours: 72 })
    expect(web!.cost.cpu).toBeCloseTo(0.749928, 9)
    expect(web!.cost.ram).toBeCloseTo(0.301536, 9)
    expect(cents(web!.cost.total)).toBe(105)
    expect(api!.cpu).toMatchObject({ charged: 'usage', quantityHours: 30 })
    expect(api!.ram).toMatchObject({ charged: 'usage', quantityHours: 12, request: undefined })
    expect(api!.cost.cpu).toBeCloseTo(0.93741, 9)
    expect(api!.cost.ram).toBeCloseTo(0.050256, 9)
    expect(cents(api!.cost.total)).toBe(99)
    expect(job!.cpu).toMatchObject({ charged: 'request', quantityHours: 1.5 })
    expect(job!.ram).toMatchObject({ charged: 'request', quantityHours: 6 })
    expect(job!.cost.cpu).toBeCloseTo(0.0099825, 9)
    expect(job!.cost.ram).toBeCloseTo(0.005352, 9)
    expect(cents(job!.cost.total)).toBe(2)
  })

  it('shows idle per cluster and resource, and the sums per namespace, team and cluster', () => {
    const prod = report.clusters.find((c) => c.cluster === 'prod')!
    const dev = report.clusters.find((c) => c.cluster === 'dev')!
    expect(prod.idle!.cpu).toBeCloseTo(1.312374, 9)
    expect(prod.idle!.ram).toBeCloseTo(1.2564, 9)
    expect(cents(prod.idle!.total)).toBe(257)
    expect(dev.idle!.cpu).toBeCloseTo(0.3094575, 9)
    expect(dev.idle!.ram).toBeCloseTo(0.165912, 9)
    expect(cents(dev.idle!.total)).toBe(48)
    expect(cents(prod.cost.total)).toBe(204)
    expect(cents(prod.nodeCost.total)).toBe(461)
    expect(prod.nodeCost.total).toBeCloseTo(prod.cost.total + prod.idle!.total, 12)

    expect(report.namespaces.map((n) => [n.key, cents(n.cost.total)])).toEqual([
      ['dev/batch', 2],
      ['prod/shop', 204],
    ])
    expect(report.teams.map((t) => [t.team, cents(t.cost.total)])).toEqual([
      ['data', 2],
      ['shop', 204],
    ])
    expect(cents(report.total.nodeCost.total)).toBe(510)
    expect(cents(report.total.workloadCost.total)).toBe(205)
    expect(cents(report.total.idle.total)).toBe(304)
    expect(formatMoney(report.total.nodeCost.total)).toBe('$5.10')
  })

  // WASTE AND SAVINGS over the 24-hour window, with these recommendations:
  //   web/app:    CPU 0.3, RAM 1.75 GiB
  //     CPU waste = (0.5 - 0.3) x 48 h = 9.6 core-h x 0.031247 = 0.2999712; savings the same
  //                 (now max(0.5, 0.2) = 0.5, after max(0.3, 0.2) = 0.3)
  //     RAM waste = 0 (request 1 GiB is below 1.75); savings = (max(1, 1.5) - max(1.75, 1.5)) x 48
  //                 = -12 GiB-h x 0.004188 = -0.050256 (applying it costs more)
  //   api/app:    CPU 1 (held under an HPA), RAM 640 MiB
  //     CPU waste 0, savings 0; RAM waste 0 (no request); savings = (0.5 - 0.625) x 24 = -3 GiB-h
  //                 x 0.004188 = -0.012564
  //   report/job: CPU 0.1, RAM 512 MiB
  //     CPU waste = (0.25 - 0.1) x 6 = 0.9 core-h x 0.006655 = 0.0059895; savings the same
  //     RAM waste = (1 - 0.5) x 6 = 3 GiB-h x 0.000892 = 0.002676; savings the same
  //   total waste   = 0.2999712 + 0.0059895 + 0.002676 = 0.3086367 -> $0.31;
  //                   a month: 0.3086367 / 24 x 730 = 9.3876996... -> $9.39
  //   total savings = 0.3059607 - 0.060144 = 0.2458167 -> $0.25; a month: 7.4769246... -> $7.48
  //   team shop: waste 0.2999712 -> $0.30, $9.12 a month; savings 0.2371512 -> $0.24, $7.21 a month
  //   team data: waste = savings = 0.0086655 -> $0.01, a month 0.2635756... -> $0.26
  const waste = wasteReport(
    report,
    [rec(webRef, 0.3, 1.75 * GiB), rec(apiRef, 1, 640 * MiB), rec(reportRef, 0.1, 512 * MiB)],
    24,
  )

  it('costs the requests above the recommendation, and the savings if applied, per month too', () => {
    const [web, api, job] = waste.containers
    expect(web!.cpu.excessHours).toBeCloseTo(9.6, 12)
    expect(web!.waste.cpu).toBeCloseTo(0.2999712, 9)
    expect(web!.savings.cpu).toBeCloseTo(0.2999712, 9)
    expect(web!.waste.ram).toBe(0)
    expect(web!.savings.ram).toBeCloseTo(-0.050256, 9)
    expect(api!.waste.total).toBe(0)
    expect(api!.savings.ram).toBeCloseTo(-0.012564, 9)
    expect(job!.waste.cpu).toBeCloseTo(0.0059895, 9)
    expect(job!.waste.ram).toBeCloseTo(0.002676, 9)
    expect(job!.savings.total).toBeCloseTo(job!.waste.total, 12)

    expect(waste.total.waste.total).toBeCloseTo(0.3086367, 9)
    expect(cents(waste.total.waste.total)).toBe(31)
    expect(cents(waste.total.wasteMonthly.total)).toBe(939)
    expect(waste.total.savings.total).toBeCloseTo(0.2458167, 9)
    expect(cents(waste.total.savings.total)).toBe(25)
    expect(cents(waste.total.savingsMonthly.total)).toBe(748)
    expect(
      waste.teams.map((t) => [
        t.team,
        cents(t.waste.total),
        cents(t.wasteMonthly.total),
        cents(t.savings.total),
        cents(t.savingsMonthly.total),
      ]),
    ).toEqual([
      ['data', 1, 26, 1, 26],
      ['shop', 30, 912, 24, 721],
    ])
    expect(waste.namespaces.map((n) => n.key)).toEqual(['dev/batch', 'prod/shop'])
    expect(waste.clusters.map((c) => [c.cluster, cents(c.waste.total)])).toEqual([
      ['dev', 1],
      ['prod', 30],
    ])
    expect(waste.withoutRecommendation).toEqual([])
  })
})

describe('max(request, usage)', () => {
  const rate = { cpu: 0.03, ram: 0.004, source: 'test' }
  const ref = { cluster: 'c', namespace: 'n', name: 'w' }

  it('takes the request when it is above the usage, the usage when it is above the request', () => {
    const above = costContainer(
      container(ref, { hours: 10, cpu: { request: 2, usage: stats(0.5) }, memory: { request: 2 * GiB } }),
      rate,
    )
    expect(above.cpu).toMatchObject({ charged: 'request', quantityHours: 20 })
    expect(above.cost.cpu).toBeCloseTo(0.6, 12)
    const below = costContainer(
      container(ref, {
        hours: 10,
        cpu: { request: 0.1, usage: stats(0.5) },
        memory: { request: 1 * GiB, usage: stats(3 * GiB) },
      }),
      rate,
    )
    expect(below.cpu).toMatchObject({ charged: 'usage', quantityHours: 5 })
    expect(below.ram).toMatchObject({ charged: 'usage', quantityHours: 30 })
    expect(below.cost.ram).toBeCloseTo(0.12, 12)
  })

  it('charges the usage alone with no request, the request alone with no usage, nothing with neither', () => {
    const c = costContainer(
      container(ref, { hours: 1, cpu: { usage: stats(0.25) }, memory: { request: 0.5 * GiB } }),
      rate,
    )
    expect(c.cpu).toMatchObject({ charged: 'usage', request: undefined, quantityHours: 0.25 })
    expect(c.ram).toMatchObject({ charged: 'request', usage: undefined, usageFrom: undefined })
    const none = costContainer(container(ref, { hours: 5, cpu: {}, memory: {} }), rate)
    expect(none.cpu.charged).toBe('nothing')
    expect(none.cost.total).toBe(0)
    expect(none.team).toBe(UNALLOCATED)
  })

  it('uses the median when no mean was collected, and says so', () => {
    const c = costContainer(
      container(ref, { hours: 2, cpu: { request: 0.1, usage: stats(undefined, 0.4) }, memory: {} }),
      rate,
    )
    expect(c.cpu).toMatchObject({ usageFrom: 'p50', usage: 0.4, charged: 'usage', quantityHours: 0.8 })
  })
})

describe('splitting a node price into CPU and RAM', () => {
  it('follows OpenCost: ramPrice = price / (cores x ratio + GiB), cpuPrice = ramPrice x ratio', () => {
    // 8 cores, 32 GiB, $0.384/h, default ratio 7.460703327826292:
    // ramMultiple = 8 x 7.4607... + 32 = 91.685626622610; ram = 0.384 / 91.6856... = 0.0041882246 -> 0.004188
    const p = splitNodePrice(0.384, { cpu: 8, memory: 32 * GiB }, OPENCOST_DEFAULTS)
    expect(p).toEqual({ cpu: 0.031247, ram: 0.004188 })
    // a custom ratio of 10:1: 2 x 10 + 4 = 24 RAM units; ram = 0.12 / 24 = 0.005, cpu = 0.05
    expect(splitNodePrice(0.12, { cpu: 2, memory: 4 * GiB }, { cpu: 0.1, ram: 0.01 })).toEqual({
      cpu: 0.05,
      ram: 0.005,
    })
  })

  it('counts whole cores as Quantity.Value() does, gives everything to CPU when RAM is free', () => {
    // 1.5 cores count as 2: 2 x 10 + 4 = 24
    expect(splitNodePrice(0.12, { cpu: 1.5, memory: 4 * GiB }, { cpu: 0.1, ram: 0.01 })).toEqual({
      cpu: 0.05,
      ram: 0.005,
    })
    expect(splitNodePrice(0.2, { cpu: 4, memory: 16 * GiB }, { cpu: 0.03, ram: 0 })).toEqual({
      cpu: 0.05,
      ram: 0,
    })
    // both free: Go's NaN ratio falls back to 10
    expect(cpuToRamRatio({ cpu: 0, ram: 0 })).toBe(10)
  })

  it('the split parts add back up to the node price, to OpenCost 6-decimal rounding', () => {
    const capacity = { cpu: 16, memory: 64 * GiB }
    const p = splitNodePrice(0.768, capacity, OPENCOST_DEFAULTS)
    expect(16 * p.cpu + 64 * p.ram).toBeCloseTo(0.768, 4)
  })
})

describe('price overrides per cluster and per instance type', () => {
  const yaml = `currency: EUR
defaults:
  cpu: 0.03
  ram: "0.003"
instance_types:
  m5.xlarge:
    hourly: 0.192
    spot_cpu: 0.01
    spot_ram: 0.001
  c6i.large:
    cpu: 0.04
    ram: 0.005
clusters:
  prod:
    cpu: 0.05
    ram: 0.005
    spot_cpu: 0.02
    spot_ram: 0.002
    instance_types:
      m5.xlarge:
        hourly: 0.25
  empty:
`
  const sheet = parsePriceConfig('prices.yaml', yaml)
  const n = (cluster: string, instanceType?: string, capacityType?: string) =>
    nodeRate(sheet, {
      cluster,
      capacity: { cpu: 4, memory: 16 * GiB },
      ...(instanceType ? { instanceType } : {}),
      ...(capacityType ? { capacityType } : {}),
    })

  it('reads currency, defaults (strings too) and the levels', () => {
    expect(sheet.currency).toBe('EUR')
    expect(sheet.defaults).toMatchObject({ cpu: 0.03, ram: 0.003, spotCpu: 0.006655, spotRam: 0.000892 })
    expect(sheet.defaults.origin).toBe('prices.yaml:2 (defaults)')
    expect([...sheet.clusters.keys()]).toEqual(['prod', 'empty'])
  })

  it("takes the cluster's own instance type first, split by the cluster's ratio", () => {
    // prod's ratio 0.05 / 0.005 = 10: 4 x 10 + 16 = 56; ram = 0.25 / 56 = 0.004464285 -> 0.004464,
    // cpu = 0.0446428... -> 0.044643
    expect(n('prod', 'm5.xlarge')).toMatchObject({ cpu: 0.044643, ram: 0.004464, spot: false })
    expect(n('prod', 'm5.xlarge').source).toContain('clusters.prod.instance_types.m5.xlarge')
  })

  it('then the sheet-wide instance type, then the cluster, then the defaults', () => {
    // other cluster, defaults' ratio 0.03 / 0.003 = 10: 0.192 / 56 = 0.0034285 -> 0.003429; cpu 0.034286
    expect(n('other', 'm5.xlarge')).toMatchObject({ cpu: 0.034286, ram: 0.003429 })
    expect(n('prod', 'c6i.large')).toMatchObject({ cpu: 0.04, ram: 0.005 })
    expect(n('prod', 'unknown')).toMatchObject({ cpu: 0.05, ram: 0.005 })
    expect(n('prod').source).toBe('prices.yaml:14 (clusters.prod)')
    expect(n('other')).toMatchObject({ cpu: 0.03, ram: 0.003, source: 'prices.yaml:2 (defaults)' })
    expect(n('empty')).toMatchObject({ cpu: 0.03, ram: 0.003 })
  })

  it('prices a spot node at the most specific level that has a spot price', () => {
    expect(n('other', 'm5.xlarge', 'spot')).toMatchObject({ cpu: 0.01, ram: 0.001, spot: true })
    // prod's own m5.xlarge has no spot price; the shared entry has: it is more specific than prod's
    // per-resource spot prices
    expect(n('prod', 'm5.xlarge', 'SPOT')).toMatchObject({ cpu: 0.01, ram: 0.001 })
    expect(n('prod', 'c6i.large', 'spot')).toMatchObject({ cpu: 0.02, ram: 0.002 })
    expect(n('other', undefined, 'preemptible')).toMatchObject({ cpu: 0.006655, ram: 0.000892 })
    expect(isSpot('on-demand')).toBe(false)
    expect(isSpot(undefined)).toBe(false)
  })

  it('an empty config is OpenCost defaults; a file is read from disk', () => {
    expect(parsePriceConfig('p.yaml', '')).toEqual(defaultPriceSheet())
    expect(parsePriceConfig('p.yaml', '# nothing yet\n\n')).toEqual(defaultPriceSheet())
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-cost-'))
    const file = join(dir, 'prices.yaml')
    writeFileSync(file, 'defaults:\n  cpu: 0.05\n')
    expect(loadPriceConfig(file).defaults.cpu).toBe(0.05)
    expect(() => loadPriceConfig(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml:0: cannot read/)
  })
})

describe('idle', () => {
  it('is node cost - workload cost per resource, and can be negative', () => {
    const sheet = defaultPriceSheet()
    const nodes = [node('c', 'n1', { cores: 1, memory: 1 * GiB, hours: 10 })]
    const containers = [
      container(
        { cluster: 'c', namespace: 'a', name: 'w' },
        { hours: 10, cpu: { request: 2 }, memory: { request: 0.25 * GiB } },
      ),
    ]
    const r = costReport(sheet, containers, nodes)
    const c = r.clusters[0]!
    // CPU: node 1 x 0.031611 x 10 = 0.31611; workload 2 x 10 x 0.031611 = 0.63222; idle -0.31611
    expect(c.idle!.cpu).toBeCloseTo(-0.31611, 12)
    // RAM: node 1 x 0.004237 x 10 = 0.04237; workload 0.25 x 10 x 0.004237 = 0.0105925; idle 0.0317775
    expect(c.idle!.ram).toBeCloseTo(0.0317775, 12)
    expect(IDLE).toBe('__idle__')
  })

  it('is unknown for a cluster with no nodes in the input, whose containers take its sheet prices', () => {
    const r = costReport(
      defaultPriceSheet(),
      [container({ cluster: 'x', namespace: 'a', name: 'w' }, { hours: 1, cpu: { request: 1 }, memory: {} })],
      [],
    )
    expect(r.clusters[0]!.idle).toBeUndefined()
    expect(r.clusters[0]!.rate.source).toContain('no nodes of the cluster seen')
    expect(r.containers[0]!.cost.cpu).toBeCloseTo(0.031611, 12)
  })

  it('prices containers at the capacity-weighted rate of differently priced nodes', () => {
    // n1: 2 cores on-demand 0.031611 x 10 h = 0.63222; n2: 2 cores spot 0.006655 x 10 h = 0.1331
    // CPU rate = (0.63222 + 0.1331) / 40 core-h = 0.019133
    const nodes = [
      node('c', 'n1', { cores: 2, memory: 4 * GiB, hours: 10 }),
      node('c', 'n2', { cores: 2, memory: 4 * GiB, hours: 10, capacityType: 'spot' }),
    ]
    const r = costReport(defaultPriceSheet(), [], nodes)
    expect(r.clusters[0]!.rate.cpu).toBeCloseTo(0.019133, 12)
    expect(r.clusters[0]!.idle!.total).toBeCloseTo(r.clusters[0]!.nodeCost.total, 12)
  })

  it('shared, spreads per resource by cost so that the groups add up to the nodes', () => {
    const nodes = [node('c', 'n1', { cores: 4, memory: 8 * GiB, hours: 1 })]
    const containers = [
      container(
        { cluster: 'c', namespace: 'a', name: 'w1' },
        { team: 't1', hours: 1, cpu: { request: 1 }, memory: { request: 1 * GiB } },
      ),
      container(
        { cluster: 'c', namespace: 'b', name: 'w2' },
        { hours: 1, cpu: { request: 3 }, memory: { request: 3 * GiB } },
      ),
    ]
    const r = costReport(defaultPriceSheet(), containers, nodes, { shareIdle: true })
    const [a, b] = r.namespaces
    // CPU is fully allocated (idle 0); RAM idle 4 GiB-h x 0.004237 = 0.016948, shared 1:3
    expect(a!.sharedIdle!.cpu).toBeCloseTo(0, 12)
    expect(a!.sharedIdle!.ram).toBeCloseTo(0.004237, 12)
    expect(b!.sharedIdle!.ram).toBeCloseTo(0.012711, 12)
    expect(a!.withIdle.total + b!.withIdle.total).toBeCloseTo(r.clusters[0]!.nodeCost.total, 12)
    expect(r.teams.map((t) => t.team)).toEqual(['__unallocated__', 't1'])
    expect(costReport(defaultPriceSheet(), containers, nodes).namespaces[0]!.sharedIdle).toBeUndefined()
  })
})

describe('waste edge cases', () => {
  const ref = { cluster: 'c', namespace: 'n', name: 'w' }
  const report = costReport(
    defaultPriceSheet(),
    [
      container(ref, { hours: 10, cpu: { request: 1, usage: stats(0.2) }, memory: { request: 1 * GiB } }),
      container({ ...ref, name: 'other' }, { hours: 10, cpu: { request: 1 }, memory: {} }),
    ],
    [],
  )

  it('leaves a resource without a recommended request unchanged, skips skipped and missing ones', () => {
    const w = wasteReport(
      report,
      [rec(ref, 0.5, undefined), rec({ ...ref, name: 'other' }, 0.1, 1, 'no usage')],
      10,
    )
    expect(w.containers).toHaveLength(1)
    expect(w.containers[0]!.ram).toMatchObject({ waste: 0, savings: 0, recommended: undefined })
    // 0.5 x 10 core-h x 0.031611 = 0.158055; a month: / 10 x 730 = 11.538015
    expect(w.containers[0]!.waste.cpu).toBeCloseTo(0.158055, 12)
    expect(w.containers[0]!.savingsMonthly.cpu).toBeCloseTo(11.538015, 9)
    expect(w.withoutRecommendation).toEqual(['c/n/Deployment/other/app'])
    expect(() => wasteReport(report, [], 0)).toThrow(/longer than 0 hours/)
  })
})

describe('money', () => {
  it('rounds to cents once, half away from zero, without binary noise deciding', () => {
    expect(cents(1.005)).toBe(101)
    expect(cents(-0.125)).toBe(-13)
    expect(cents(0.004999)).toBe(0)
    expect(roundMoney(2.0544645)).toBe(2.05)
    expect(formatMoney(1234567.891)).toBe('$1,234,567.89')
    expect(formatMoney(-0.05, '€')).toBe('-€0.05')
    expect(monthly(1, 24)).toBeCloseTo(HOURS_PER_MONTH / 24, 12)
    expect(() => cents(Number.NaN)).toThrow(RangeError)
  })
})

describe('config errors name file:line and what was expected', () => {
  const bad = (text: string) => {
    try {
      parsePriceConfig('prices.yaml', text)
    } catch (err) {
      expect(err).toBeInstanceOf(PriceConfigError)
      return (err as Error).message
    }
    throw new Error('expected an error')
  }

  it('reports each mistake at its line', () => {
    expect(bad('defaults:\n  cpu: 0.03\n  memory: 1\n')).toBe(
      "prices.yaml:3: defaults.memory: unknown field 'memory' (expected one of: cpu, ram, spot_cpu, spot_ram)",
    )
    expect(bad('defaults:\n  cpu: cheap\n')).toBe(
      'prices.yaml:2: defaults.cpu: expected a price (a number >= 0, $ per hour), got "cheap"',
    )
    expect(bad('clusters:\n  prod:\n    ram: -1\n')).toMatch(
      /^prices\.yaml:3: clusters\.prod\.ram: expected a price/,
    )
    expect(bad('instance_types:\n  m5.xlarge:\n    hourly: 0.2\n    cpu: 0.03\n    ram: 0.004\n')).toBe(
      "prices.yaml:3: instance_types.m5.xlarge.hourly: expected either 'hourly' (the node's price) or 'cpu' and 'ram', not both",
    )
    expect(bad('instance_types:\n  m5.xlarge:\n    cpu: 0.03\n')).toBe(
      "prices.yaml:3: instance_types.m5.xlarge.cpu: 'cpu' needs 'ram' beside it",
    )
    expect(bad('clusters:\n  prod:\n    instance_types:\n      big: {}\n')).toMatch(
      /^prices\.yaml:4: clusters\.prod\.instance_types\.big: expected a price: 'hourly'/,
    )
    expect(bad('clusters: [a, b]\n')).toBe('prices.yaml:1: clusters: expected a mapping of names to prices')
    expect(bad('- 1\n')).toBe('prices.yaml:1: expected a mapping')
    expect(bad('currency: 5\n')).toBe('prices.yaml:1: currency: expected a non-empty string, got 5')
    expect(bad('defaults:\n  cpu: [1\n')).toMatch(/^prices\.yaml:\d+: invalid YAML: /)
  })
})
