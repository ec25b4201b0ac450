/**
 * `plimsoll usage`'s outputs over a synthetic cluster run through the real recommender and cost model:
 * the table (per container, per namespace and team, the nodes' bin-packing view, the gaps), the JSON
 * (the whole report, stable), the CSV (RFC 4180, the table's columns), and the patches, applied for
 * real: kubectl's strategic merge patches with `kubectl patch --local` over real manifests, the
 * Kustomize Component with `kubectl kustomize` over a base, the Helm values read back.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { load, loadAll } from 'js-yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { HOURS_PER_MONTH } from '../../src/usage/cost/money.js'
import { defaultPriceSheet, OPENCOST_DEFAULTS } from '../../src/usage/cost/prices.js'
import { analyse, containerRows, type UsageAnalysis } from '../../src/usage/output/analysis.js'
import { CSV_COLUMNS, csvField, renderCsv } from '../../src/usage/output/csv.js'
import { renderJson, type UsageJson } from '../../src/usage/output/json.js'
import { type PatchFormat, planPatches, writePatches } from '../../src/usage/output/patch.js'
import { renderTable } from '../../src/usage/output/table.js'
import { humanCpu, humanMemory, kubeCpu, kubeMemory } from '../../src/usage/output/units.js'
import { recommendAll } from '../../src/usage/recommend/index.js'
import {
  type ContainerUsage,
  type NodeUsage,
  sampleSeries,
  type UsageReport,
  type WorkloadKind,
} from '../../src/usage/types.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const HOUR = 3600
const DAY = 24 * HOUR
const FROM = '2026-11-20T00:00:00.000Z'
const TO = '2026-12-04T00:00:00.000Z'
const TO_S = Date.parse(TO) / 1000
const WINDOW_S = 14 * DAY
const iso = (s: number) => new Date(s * 1000).toISOString()

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'plimsoll-usage-output-'))
  dirs.push(d)
  return d
}

function c(
  namespace: string,
  kind: WorkloadKind,
  name: string,
  container: string,
  o: Partial<ContainerUsage> & {
    cpu: ContainerUsage['cpu']
    memory: ContainerUsage['memory']
  },
): ContainerUsage {
  return {
    workload: { cluster: 'prod', namespace, kind, name },
    container,
    pods: 1,
    maxReplicas: 1,
    restarts: 0,
    oomKills: [],
    runningSeconds: WINDOW_S,
    history: { from: FROM, to: TO, samples: 4032 },
    ...o,
  }
}

const stats = (p50: number, p95: number, max: number, mean = p50) => ({ p50, p95, p99: max, max, mean })

/** web: 1 core and 1Gi asked, 250m and 300Mi used at most (p95 / max): the table's first truths. */
const WEB_APP = c('shop', 'Deployment', 'web', 'app', {
  team: 'storefront',
  cpu: { usage: stats(0.15, 0.25, 0.5), request: 1, limit: 2 },
  memory: { usage: stats(250 * MiB, 290 * MiB, 300 * MiB), request: 1 * GiB, limit: 1 * GiB },
})
/** web's sidecar is already at the minimums: nothing to change. */
const WEB_SIDE = c('shop', 'Deployment', 'web', 'proxy', {
  team: 'storefront',
  cpu: { usage: stats(0.002, 0.005, 0.01), request: 0.01, limit: undefined },
  memory: { usage: stats(15 * MiB, 18 * MiB, 20 * MiB), request: 100 * MiB, limit: 100 * MiB },
})
/** db was OOM-killed at its 512Mi limit: memory goes up (512Mi x 1.25 = 640Mi). */
const DB = c('shop', 'StatefulSet', 'db', 'postgres', {
  team: 'storefront',
  cpu: { usage: stats(0.05, 0.1, 0.3), request: 0.1, limit: undefined },
  memory: { usage: stats(400 * MiB, 500 * MiB, 512 * MiB), request: 512 * MiB, limit: 512 * MiB },
  restarts: 1,
  oomKills: [{ at: iso(TO_S - 3 * DAY), memory: 512 * MiB }],
})
/** report, a CronJob with 3 days of history: medium confidence. */
const REPORT = c('shop', 'CronJob', 'report', 'report', {
  team: 'storefront, analytics',
  cpu: { usage: stats(0.2, 0.3, 0.4), request: 0.5, limit: undefined },
  memory: { usage: stats(80 * MiB, 95 * MiB, 100 * MiB), request: 256 * MiB, limit: undefined },
  runningSeconds: 3 * DAY,
  history: { from: iso(TO_S - 3 * DAY), to: TO, samples: 864 },
})
/** api is scaled by an HPA on CPU: its CPU request is held. */
const API = c('payments', 'Deployment', 'api', 'api', {
  team: 'payments',
  pods: 6,
  maxReplicas: 4,
  cpu: { usage: stats(0.2, 0.3, 0.6), request: 0.5, limit: undefined },
  memory: { usage: stats(150 * MiB, 180 * MiB, 200 * MiB), request: 512 * MiB, limit: 512 * MiB },
  runningSeconds: 3 * WINDOW_S,
  hpa: { resources: ['cpu'], minReplicas: 2, maxReplicas: 4 },
})
/** a bare Job: its pod template cannot be patched. */
const MIGRATE = c('payments', 'Job', 'migrate-42', 'migrate', {
  team: 'payments',
  cpu: { usage: stats(0.05, 0.1, 0.2), request: 1, limit: undefined },
  memory: { usage: stats(50 * MiB, 60 * MiB, 64 * MiB), request: 1 * GiB, limit: undefined },
  runningSeconds: 2 * HOUR,
})
/** fresh: 2 hours of history, 120 samples: low confidence, no patch at the default medium. */
const FRESH = c('new', 'Deployment', 'fresh', 'app', {
  cpu: { usage: stats(0.05, 0.08, 0.1), request: 0.5, limit: undefined },
  memory: { usage: stats(50 * MiB, 60 * MiB, 70 * MiB), request: 256 * MiB, limit: 256 * MiB },
  runningSeconds: 2 * HOUR,
  history: { from: iso(TO_S - 2 * HOUR), to: TO, samples: 120 },
})
/** ghost has no usage series at all: skipped. */
const GHOST = c('new', 'Deployment', 'ghost', 'app', {
  cpu: { usage: undefined, request: 0.2, limit: undefined },
  memory: { usage: undefined, request: 128 * MiB, limit: undefined },
})

function node(name: string, o: Partial<NodeUsage> = {}): NodeUsage {
  return {
    cluster: 'prod',
    name,
    instanceType: 'm5.xlarge',
    capacity: { cpu: 4, memory: 16 * GiB },
    allocatable: { cpu: 3.92, memory: 15 * GiB },
    requested: { cpu: 2.5, memory: 6 * GiB },
    used: { cpu: 1, memory: 4 * GiB },
    runningSeconds: WINDOW_S,
    ...o,
  }
}

const CONTAINERS = [FRESH, WEB_APP, API, DB, WEB_SIDE, REPORT, MIGRATE, GHOST]

function report(over: Partial<UsageReport> = {}): UsageReport {
  return {
    cluster: 'prod',
    from: FROM,
    to: TO,
    containers: CONTAINERS,
    nodes: [node('node-b', { requested: { cpu: 1, memory: 2 * GiB } }), node('node-a')],
    gaps: [],
    queries: { count: 42, bytes: 123_456 },
    ...over,
  }
}

const simple = (over: Partial<UsageReport> = {}) =>
  analyse(report(over), { strategy: 'simple', prices: defaultPriceSheet() })

// ANSI colour codes, to show that there are none
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape is what is looked for
const ANSI = /\x1b\[/

describe('units', () => {
  it('human and Kubernetes quantities', () => {
    expect([humanCpu(0.25), humanCpu(1.6), humanCpu(3.92), humanCpu(12.5), humanCpu(undefined)]).toEqual([
      '250m',
      '1600m',
      '3920m',
      '12.5',
      '-',
    ])
    expect([humanMemory(345 * MiB), humanMemory(1.5 * GiB), humanMemory(15 * GiB)]).toEqual([
      '345Mi',
      '1.5Gi',
      '15Gi',
    ])
    expect([kubeCpu(0.25), kubeCpu(2), kubeCpu(0.0105)]).toEqual(['250m', '2', '0.0105'])
    expect([kubeMemory(345 * MiB), kubeMemory(2 * GiB), kubeMemory(1536 * 1024), kubeMemory(1000)]).toEqual([
      '345Mi',
      '2Gi',
      '1536Ki',
      '1000',
    ])
  })
})

describe('the table', () => {
  const a = simple({
    gaps: [{ what: 'node instance types', message: 'kube_node_labels has no instance type' }],
  })
  const text = renderTable(a, { color: false })
  const lines = text.split('\n')
  const row = (workload: string, container: string) =>
    lines.find((l) => l.includes(` ${workload} `) && l.includes(` ${container} `)) ?? ''

  it('shows each container: requests and limits now -> recommended, usage, confidence, cost and savings', () => {
    expect(lines[0]).toBe(
      'Cluster prod: 8 containers, 2 nodes, 14 days from 2026-11-20T00:00:00.000Z to 2026-12-04T00:00:00.000Z; strategy simple',
    )
    const header = lines.find((l) => l.startsWith('NAMESPACE  WORKLOAD'))
    expect(header).toMatch(
      /NAMESPACE +WORKLOAD +CONTAINER +CPU REQUEST +CPU LIMIT +MEMORY REQUEST +MEMORY LIMIT +CPU P95\/MAX +MEMORY P95\/MAX +OOM +CONFIDENCE +COST\/MONTH +SAVINGS\/MONTH/,
    )
    // web/app: CPU at p95 (250m), no CPU limit (KRR), memory = 300Mi x 1.15 = 345Mi.
    const web = row('Deployment/web', 'app')
    expect(web).toMatch(
      /^shop +Deployment\/web +app +1000m -> 250m +2000m -> none +1Gi -> 345Mi +1Gi -> 345Mi +250m\/500m +290Mi\/300Mi +0 +high /,
    )
    // Cost: max(request, mean) per resource: 1 core and 1 GiB, at OpenCost's default prices, 730 hours.
    const cost = (1 * OPENCOST_DEFAULTS.cpu + 1 * OPENCOST_DEFAULTS.ram) * HOURS_PER_MONTH
    expect(cost).toBeCloseTo(26.16904, 5)
    // Savings: CPU 1 -> max(0.25, 0.15 mean) = 0.75 core; memory 1024Mi -> 345Mi = 679/1024 GiB.
    const savings = (0.75 * OPENCOST_DEFAULTS.cpu + (679 / 1024) * OPENCOST_DEFAULTS.ram) * HOURS_PER_MONTH
    expect(savings).toBeCloseTo(19.3579, 3)
    expect(web).toMatch(/ \$26\.17 +\$19\.36$/)

    // The sidecar is at the minimums already: shown as it is, no arrows.
    expect(row('Deployment/web', 'proxy')).toMatch(/ 10m +- +100Mi +100Mi +5m\/10m /)
    // The OOM-killed database: memory raised to 512Mi x 1.25 = 640Mi, the OOM counted.
    expect(row('StatefulSet/db', 'postgres')).toMatch(
      /512Mi -> 640Mi +512Mi -> 640Mi +100m\/300m +500Mi\/512Mi +1 +high/,
    )
    // The HPA's CPU request is held; memory comes down.
    expect(row('Deployment/api', 'api')).toMatch(/^payments +Deployment\/api +api +500m +- +512Mi -> 230Mi/)
    // No limit now: `none -> 115Mi` (the simple strategy sets memory limit = request).
    expect(row('CronJob/report', 'report')).toMatch(
      /500m -> 300m +- +256Mi -> 115Mi +none -> 115Mi .* medium /,
    )
    expect(row('Deployment/fresh', 'app')).toMatch(/ low /)
    expect(row('Deployment/ghost', 'app')).toMatch(/ skipped +\$[\d.]+ +-$/)
  })

  it('sums per namespace and team, with their share of the idle cost, waste and savings', () => {
    const namespaces = lines.slice(lines.findIndex((l) => l.startsWith('NAMESPACE  CONTAINERS')))
    expect(namespaces[0]).toMatch(
      /^NAMESPACE +CONTAINERS +COST\/MONTH +IDLE SHARE +WASTE\/MONTH +SAVINGS\/MONTH$/,
    )
    expect(namespaces.slice(1, 4).map((l) => l.split(/ +/)[0])).toEqual(['new', 'payments', 'shop'])
    expect(namespaces[3]).toMatch(/^shop +4 /)
    const teams = lines.slice(lines.findIndex((l) => l.startsWith('TEAM ')))
    expect(teams.slice(1, 5).map((l) => l.split(/ {2,}/)[0])).toEqual([
      '__unallocated__ (no team label)',
      'payments',
      'storefront',
      'storefront, analytics',
    ])
    // The groups' cost plus their idle share add up to the nodes' cost: OpenCost's shareIdle.
    const money = (s: string) => Number(s.replace(/[$,]/g, ''))
    const nodeCost = (4 * OPENCOST_DEFAULTS.cpu + 16 * OPENCOST_DEFAULTS.ram) * HOURS_PER_MONTH * 2
    const teamRows = teams.slice(1, 5).map((l) => l.split(/ {2,}/))
    const sum = teamRows.reduce((n, r) => n + money(r[2]!) + money(r[3]!), 0)
    expect(Math.abs(sum - nodeCost)).toBeLessThan(0.05)
  })

  it('shows the bin-packing view: allocatable, requested and used per node and in total, and idle capacity', () => {
    const nodes = lines.slice(lines.findIndex((l) => l.startsWith('NODE ')))
    expect(nodes[0]).toMatch(
      /^NODE +TYPE +CPU ALLOCATABLE +CPU REQUESTED +CPU USED +MEMORY ALLOCATABLE +MEMORY REQUESTED +MEMORY USED$/,
    )
    expect(nodes[1]).toMatch(
      /^node-a +m5\.xlarge +3920m +2500m \(64%\) +1000m \(26%\) +15Gi +6Gi \(40%\) +4Gi \(27%\)$/,
    )
    expect(nodes[2]).toMatch(/^node-b +m5\.xlarge +3920m +1000m \(26%\) /)
    expect(nodes[3]).toMatch(
      /^TOTAL +2 nodes +7840m +3500m \(45%\) +2000m \(26%\) +30Gi +8Gi \(27%\) +8Gi \(27%\)$/,
    )
    expect(nodes[4]).toBe(
      'Idle capacity: CPU 4340m not requested (55%) and 1500m requested but not used (19%); memory 22Gi not requested (73%) and 0Mi requested but not used (0%).',
    )
    expect(text).toMatch(
      /^Cost per month \(USD, OpenCost's model, 730 hours\): nodes \$[\d,.]+, workloads \$[\d,.]+, idle \$[\d,.]+ \(\d+%\), waste \$[\d,.]+, savings if applied \$[\d,.]+\.$/m,
    )
    expect(text).toMatch(/^1 container skipped: no CPU or memory usage series in the window\.$/m)
  })

  it('lists the gaps of a partial report', () => {
    expect(text).toMatch(
      /PARTIAL: 1 gap in what was read:\n {2}node instance types: kube_node_labels has no instance type\n$/,
    )
    expect(renderTable(simple(), { color: false })).not.toMatch(/PARTIAL/)
  })

  it('is coloured only when asked', () => {
    expect(text).not.toMatch(ANSI)
    const coloured = renderTable(a, { color: true })
    expect(coloured).toMatch(ANSI)
    // the same text under the colour, aligned the same
    // biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes removed
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, '')).toBe(text)
  })

  it('says so when nothing was read of the nodes', () => {
    expect(renderTable(simple({ nodes: [] }), { color: false })).toMatch(
      /^No nodes were read: no bin-packing view and no idle cost\.$/m,
    )
  })
})

describe('JSON', () => {
  const a = simple({ gaps: [{ what: 'cAdvisor', message: 'gone' }] })
  const json = JSON.parse(renderJson(a)) as UsageJson

  it('has the whole report: window, strategy, gaps, recommendations, costs and waste per container', () => {
    expect(json).toMatchObject({
      version: 1,
      cluster: 'prod',
      from: FROM,
      to: TO,
      windowHours: 336,
      strategy: 'simple',
      recommendedAt: TO,
      currency: 'USD',
      partial: true,
      gaps: [{ what: 'cAdvisor', message: 'gone' }],
      queries: { count: 42, bytes: 123_456 },
    })
    expect(json.containers).toHaveLength(CONTAINERS.length)
    // the containers in a stable order: namespace, kind, name, container
    expect(json.containers.map((x) => `${x.workload.namespace}/${x.workload.name}/${x.container}`)).toEqual([
      'new/fresh/app',
      'new/ghost/app',
      'payments/api/api',
      'payments/migrate-42/migrate',
      'shop/report/report',
      'shop/web/app',
      'shop/web/proxy',
      'shop/db/postgres',
    ])
    const recs = recommendAll(CONTAINERS, 'simple', { now: new Date(TO) })
    const web = json.containers.find((x) => x.workload.name === 'web' && x.container === 'app')!
    expect(web.recommendation).toEqual(
      JSON.parse(JSON.stringify(recs.find((r) => r.workload.name === 'web' && r.container === 'app'))),
    )
    expect(web.recommendation.cpu.request).toBe(0.25)
    expect(web.recommendation.memory).toMatchObject({ request: 345 * MiB, limit: 345 * MiB })
    expect(web.usage).toMatchObject({ team: 'storefront', cpu: { request: 1, limit: 2 } })
    expect(web.cost.cpu).toMatchObject({ request: 1, charged: 'request', quantityHours: 336 })
    expect(web.monthly.cost).toBeCloseTo(26.16904, 5)
    expect(web.waste?.savingsMonthly.total).toBeCloseTo(19.3579, 3)
    const ghost = json.containers.find((x) => x.workload.name === 'ghost')!
    expect(ghost.recommendation.skipped).toMatch(/no CPU or memory usage/)
    expect(ghost.waste).toBeNull()
    expect(json.waste.withoutRecommendation).toEqual(['prod/new/Deployment/ghost/app'])
    expect(json.nodes.map((n) => [n.name, n.cost.cpuCoreHours])).toEqual([
      ['node-b', 4 * 336],
      ['node-a', 4 * 336],
    ])
    expect(json.totals.namespaces.map((n) => n.key)).toEqual(['prod/new', 'prod/payments', 'prod/shop'])
    expect(json.totals.teams.every((t) => t.sharedIdle !== undefined)).toBe(true)
    expect(json.totals.monthly.nodeCost).toBeCloseTo(
      (4 * OPENCOST_DEFAULTS.cpu + 16 * OPENCOST_DEFAULTS.ram) * HOURS_PER_MONTH * 2,
      6,
    )
  })

  it('leaves out the per-step samples and writes what is unbounded as null', () => {
    const samples = Array.from({ length: 24 }, (_, i) => ({ t: TO_S - (23 - i) * HOUR, v: 0.1 }))
    const sampled = c('shop', 'Deployment', 'hourly', 'app', {
      cpu: { usage: stats(0.1, 0.1, 0.1), request: 0.2, limit: undefined, samples: sampleSeries(samples) },
      memory: {
        usage: stats(100 * MiB, 100 * MiB, 100 * MiB),
        request: 200 * MiB,
        limit: undefined,
        samples: sampleSeries(samples.map((s) => ({ ...s, v: 100 * MiB }))),
      },
      history: { from: iso(TO_S - 23 * HOUR), to: TO, samples: 24 },
    })
    const vpa = analyse(report({ containers: [sampled], nodes: [] }), {
      strategy: 'vpa',
      prices: defaultPriceSheet(),
    })
    // The vpa strategy's upper bound with no history is unbounded: make one.
    const rec = vpa.recommendations[0]!
    const unbounded: UsageAnalysis = {
      ...vpa,
      recommendations: [
        { ...rec, cpu: { ...rec.cpu, bounds: { lower: 0, upper: Number.POSITIVE_INFINITY } } },
      ],
    }
    const text = renderJson(unbounded)
    expect(text).not.toMatch(/samples"\s*:\s*\[/)
    const parsed = JSON.parse(text) as UsageJson
    expect(parsed.containers[0]!.recommendation.cpu.bounds).toEqual({ lower: 0, upper: null })
    expect(parsed.containers[0]!.usage.cpu).toEqual({ usage: stats(0.1, 0.1, 0.1), request: 0.2 })
    expect(parsed.strategy).toBe('vpa')
    expect(parsed.partial).toBe(false)
  })
})

describe('CSV', () => {
  const a = simple()
  const text = renderCsv(a)
  /** RFC 4180 fields, quoted ones with commas and doubled quotes. */
  const parse = (line: string) =>
    [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].map((m) =>
      m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!,
    )

  it('has a row per container with the columns of the table, CRLF line ends, quoting where needed', () => {
    expect(text.endsWith('\r\n')).toBe(true)
    const lines = text.slice(0, -2).split('\r\n')
    expect(lines[0]).toBe(CSV_COLUMNS.join(','))
    expect(lines).toHaveLength(1 + CONTAINERS.length)
    const rows = lines.slice(1).map(parse)
    for (const r of rows) expect(r).toHaveLength(CSV_COLUMNS.length)
    const get = (r: string[], col: (typeof CSV_COLUMNS)[number]) => r[CSV_COLUMNS.indexOf(col)]
    const web = rows.find((r) => get(r, 'workload') === 'web' && get(r, 'container') === 'app')!
    expect(Object.fromEntries(CSV_COLUMNS.map((k, i) => [k, web[i]]))).toEqual({
      cluster: 'prod',
      namespace: 'shop',
      kind: 'Deployment',
      workload: 'web',
      container: 'app',
      team: 'storefront',
      pods: '1',
      cpu_request_cores: '1',
      cpu_request_recommended_cores: '0.25',
      cpu_limit_cores: '2',
      cpu_limit_recommended_cores: '',
      memory_request_bytes: String(GiB),
      memory_request_recommended_bytes: String(345 * MiB),
      memory_limit_bytes: String(GiB),
      memory_limit_recommended_bytes: String(345 * MiB),
      cpu_p50_cores: '0.15',
      cpu_p95_cores: '0.25',
      cpu_p99_cores: '0.5',
      cpu_max_cores: '0.5',
      memory_p50_bytes: String(250 * MiB),
      memory_p95_bytes: String(290 * MiB),
      memory_p99_bytes: String(300 * MiB),
      memory_max_bytes: String(300 * MiB),
      restarts: '0',
      oom_kills: '0',
      strategy: 'simple',
      confidence: 'high',
      skipped: '',
      cost_monthly: '26.17',
      waste_monthly: expect.stringMatching(/^\d+\.\d{1,2}$/),
      savings_monthly: '19.36',
      currency: 'USD',
    })
    // A team with a comma is quoted, and reads back whole.
    expect(text).toContain(',"storefront, analytics",')
    expect(rows.find((r) => get(r, 'workload') === 'report')![CSV_COLUMNS.indexOf('team')]).toBe(
      'storefront, analytics',
    )
    // A skipped container has no recommendation, and no waste.
    const ghost = rows.find((r) => get(r, 'workload') === 'ghost')!
    expect(get(ghost, 'cpu_request_recommended_cores')).toBe('')
    expect(get(ghost, 'skipped')).toMatch(/^no CPU or memory usage series/)
    expect(get(ghost, 'savings_monthly')).toBe('')
    expect(csvField('say "hi"\nthere')).toBe('"say ""hi""\nthere"')
  })
})

describe('patches', () => {
  const a = simple()
  const recommended = (workload: string, container: string) =>
    containerRows(a).find((r) => r.usage.workload.name === workload && r.usage.container === container)!
      .recommendation

  /** The manifests the cluster runs, as their owners wrote them. */
  const MANIFESTS: Record<string, unknown> = {
    'shop/deployment-web.yaml': {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'shop/web:1.0',
                resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } },
              },
              {
                name: 'proxy',
                image: 'envoy:1.30',
                resources: { requests: { cpu: '10m', memory: '100Mi' }, limits: { memory: '100Mi' } },
              },
            ],
          },
        },
      },
    },
    'shop/statefulset-db.yaml': {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'shop' },
      spec: {
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            containers: [
              {
                name: 'postgres',
                image: 'postgres:16',
                resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { memory: '512Mi' } },
              },
            ],
          },
        },
      },
    },
    'shop/cronjob-report.yaml': {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', namespace: 'shop' },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'OnFailure',
                containers: [
                  {
                    name: 'report',
                    image: 'shop/report:2',
                    resources: { requests: { cpu: '500m', memory: '256Mi' } },
                  },
                ],
              },
            },
          },
        },
      },
    },
    'payments/deployment-api.yaml': {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: 'payments' },
      spec: {
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: {
            containers: [
              {
                name: 'api',
                image: 'payments/api:3',
                resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '512Mi' } },
              },
            ],
          },
        },
      },
    },
  }

  // biome-ignore lint/suspicious/noExplicitAny: the tests read deep into manifests by known paths
  type Obj = Record<string, any>
  const podSpec = (o: Obj): Obj =>
    o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec
  const resourcesOf = (o: Obj, container: string) =>
    (podSpec(o).containers as Obj[]).find((x) => x.name === container)!.resources as Obj

  function kubectl(args: string[], cwd?: string): string {
    const r = spawnSync('kubectl', args, { encoding: 'utf8', ...(cwd ? { cwd } : {}) })
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
    return r.stdout
  }

  function writeManifests(dir: string): void {
    for (const [path, manifest] of Object.entries(MANIFESTS)) {
      const file = join(dir, path.replace('/', '-'))
      writeFileSync(file, JSON.stringify(manifest))
    }
  }

  /** What every patched manifest must hold, whichever format applied it. */
  function expectRecommended(objects: Obj[]): void {
    const byName = new Map(objects.map((o) => [o.metadata.name as string, o]))
    // web/app: 250m, no CPU limit, 345Mi = limit; the proxy untouched.
    expect(resourcesOf(byName.get('web')!, 'app')).toEqual({
      requests: { cpu: '250m', memory: '345Mi' },
      limits: { memory: '345Mi' },
    })
    expect(recommended('web', 'app').cpu).toMatchObject({ request: 0.25, limit: undefined })
    expect(resourcesOf(byName.get('web')!, 'proxy')).toEqual({
      requests: { cpu: '10m', memory: '100Mi' },
      limits: { memory: '100Mi' },
    })
    // The image and the rest of the template are as they were.
    expect((podSpec(byName.get('web')!).containers as Obj[]).map((x) => x.image)).toEqual([
      'shop/web:1.0',
      'envoy:1.30',
    ])
    // db: the OOM floor, 640Mi, CPU unchanged.
    expect(resourcesOf(byName.get('db')!, 'postgres')).toEqual({
      requests: { cpu: '100m', memory: '640Mi' },
      limits: { memory: '640Mi' },
    })
    // report (CronJob, medium confidence): CPU at p95 300m, memory 100Mi x 1.15 = 115Mi, with a limit now.
    expect(resourcesOf(byName.get('report')!, 'report')).toEqual({
      requests: { cpu: '300m', memory: '115Mi' },
      limits: { memory: '115Mi' },
    })
    // api: the HPA holds the CPU request; memory 200Mi x 1.15 = 230Mi.
    expect(resourcesOf(byName.get('api')!, 'api')).toEqual({
      requests: { cpu: '500m', memory: '230Mi' },
      limits: { memory: '230Mi' },
    })
  }

  it('plans only what is sure enough and changes something; Jobs and skipped containers are left out with why', () => {
    const plan = planPatches(a, { format: 'kubectl', minConfidence: 'medium' })
    expect(
      plan.workloads.map(
        (w) => `${w.workload.namespace}/${w.workload.kind}/${w.workload.name}: ${w.containers.join(', ')}`,
      ),
    ).toEqual([
      'payments/Deployment/api: api',
      'shop/CronJob/report: report',
      'shop/Deployment/web: app',
      'shop/StatefulSet/db: postgres',
    ])
    expect(plan.left).toEqual([
      { container: 'new/Deployment/fresh/app', reason: 'confidence low, below medium' },
      { container: 'new/Deployment/ghost/app', reason: 'skipped: no usage to recommend from' },
      {
        container: 'payments/Job/migrate-42/migrate',
        reason: "a Job's pod template cannot be changed: change what creates it",
      },
    ])
    const low = planPatches(a, { format: 'kubectl', minConfidence: 'low' })
    expect(low.workloads.map((w) => w.workload.name)).toContain('fresh')
    const high = planPatches(a, { format: 'kubectl', minConfidence: 'high' })
    expect(high.workloads.map((w) => w.workload.name)).toEqual(['api', 'web', 'db'])
    expect(high.left).toContainEqual({
      container: 'shop/CronJob/report/report',
      reason: 'confidence medium, below high',
    })
  })

  it('kubectl: strategic merge patches that `kubectl patch` applies to the real manifests', () => {
    const dir = tempDir()
    const out = join(dir, 'patches')
    const plan = planPatches(a, { format: 'kubectl', minConfidence: 'medium' })
    writePatches(out, plan)
    expect(plan.files.map((f) => f.path).sort()).toEqual([
      'apply.sh',
      'payments/deployment-api.yaml',
      'shop/cronjob-report.yaml',
      'shop/deployment-web.yaml',
      'shop/statefulset-db.yaml',
    ])
    const web = readFileSync(join(out, 'shop/deployment-web.yaml'), 'utf8')
    // what changes and why, for the reviewer, then the patch
    expect(web).toMatch(
      /^# Plimsoll usage: strategy simple, 2026-11-20T00:00:00.000Z to 2026-12-04T00:00:00.000Z, cluster prod\n/,
    )
    expect(web).toContain(
      '# app: CPU request 1000m -> 250m, limit 2000m -> none; memory request 1Gi -> 345Mi, limit 1Gi -> 345Mi (confidence high;',
    )
    expect(load(web)).toEqual({
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                resources: {
                  requests: { cpu: '250m', memory: '345Mi' },
                  limits: { cpu: null, memory: '345Mi' },
                },
              },
            ],
          },
        },
      },
    })
    // The HPA's CPU is not in the patch at all.
    expect(load(readFileSync(join(out, 'payments/deployment-api.yaml'), 'utf8'))).toEqual({
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'api', resources: { requests: { memory: '230Mi' }, limits: { memory: '230Mi' } } },
            ],
          },
        },
      },
    })
    const script = readFileSync(join(out, 'apply.sh'), 'utf8')
    expect(script).toContain('kubectl patch deployment web -n shop --patch-file shop/deployment-web.yaml\n')
    expect(script).toContain('kubectl patch cronjob report -n shop --patch-file shop/cronjob-report.yaml\n')
    expect(statSync(join(out, 'apply.sh')).mode & 0o111).not.toBe(0)

    // Each patch applied by kubectl to the manifest it targets, as `kubectl patch` would on the cluster.
    writeManifests(dir)
    const patched: Obj[] = []
    for (const path of Object.keys(MANIFESTS)) {
      const file = join(dir, path.replace('/', '-'))
      const output = kubectl(['patch', '--local', '-f', file, '--patch-file', join(out, path), '-o', 'json'])
      patched.push(JSON.parse(output) as Obj)
    }
    expectRecommended(patched)
  })

  it('kustomize: a Component whose patches `kubectl kustomize` renders over a base', () => {
    const dir = tempDir()
    const base = join(dir, 'base')
    mkdirSync(base)
    writeManifests(base)
    writeFileSync(
      join(base, 'kustomization.yaml'),
      `resources:\n${Object.keys(MANIFESTS)
        .map((p) => `  - ${p.replace('/', '-')}`)
        .join('\n')}\n`,
    )
    const plan = planPatches(a, { format: 'kustomize', minConfidence: 'medium' })
    writePatches(join(dir, 'rightsizing'), plan)
    const kustomization = load(readFileSync(join(dir, 'rightsizing', 'kustomization.yaml'), 'utf8')) as Obj
    expect(kustomization).toEqual({
      apiVersion: 'kustomize.config.k8s.io/v1alpha1',
      kind: 'Component',
      patches: [
        {
          path: 'patches/payments-deployment-api.yaml',
          target: { kind: 'Deployment', name: 'api', namespace: 'payments' },
        },
        {
          path: 'patches/shop-cronjob-report.yaml',
          target: { kind: 'CronJob', name: 'report', namespace: 'shop' },
        },
        {
          path: 'patches/shop-deployment-web.yaml',
          target: { kind: 'Deployment', name: 'web', namespace: 'shop' },
        },
        {
          path: 'patches/shop-statefulset-db.yaml',
          target: { kind: 'StatefulSet', name: 'db', namespace: 'shop' },
        },
      ],
    })
    writeFileSync(join(dir, 'kustomization.yaml'), 'resources:\n  - base\ncomponents:\n  - rightsizing\n')
    const rendered = loadAll(kubectl(['kustomize', dir])) as Obj[]
    expect(rendered).toHaveLength(4)
    expectRecommended(rendered)
  })

  it('helm: values with `resources:` at the top for one container, per container name for several', () => {
    const dir = tempDir()
    const plan = planPatches(a, { format: 'helm', minConfidence: 'medium' })
    writePatches(dir, plan)
    expect(plan.files.map((f) => f.path).sort()).toEqual([
      'payments/deployment-api.values.yaml',
      'shop/cronjob-report.values.yaml',
      'shop/deployment-web.values.yaml',
      'shop/statefulset-db.values.yaml',
    ])
    const web = readFileSync(join(dir, 'shop/deployment-web.values.yaml'), 'utf8')
    expect(web).toMatch(/# Helm values for Deployment shop\/web: `resources:` at the top/)
    expect(load(web)).toEqual({
      resources: { requests: { cpu: '250m', memory: '345Mi' }, limits: { cpu: null, memory: '345Mi' } },
    })
    // Two containers of one workload that both change: one key each.
    const two = analyse(
      report({
        containers: [
          WEB_APP,
          { ...WEB_SIDE, memory: { ...WEB_SIDE.memory, request: 300 * MiB, limit: 300 * MiB } },
        ],
      }),
      { strategy: 'simple', prices: defaultPriceSheet() },
    )
    const values = planPatches(two, { format: 'helm', minConfidence: 'medium' }).files[0]!
    expect(values.text).toMatch(/one key per container; move each `resources:` where the chart reads it/)
    expect(load(values.text)).toEqual({
      app: {
        resources: { requests: { cpu: '250m', memory: '345Mi' }, limits: { cpu: null, memory: '345Mi' } },
      },
      proxy: { resources: { requests: { memory: '100Mi' }, limits: { memory: '100Mi' } } },
    })
  })

  it('writes nothing for a workload the recommendation leaves as it is', () => {
    for (const format of ['kubectl', 'kustomize', 'helm'] as PatchFormat[]) {
      const plan = planPatches(simple({ containers: [WEB_SIDE] }), { format, minConfidence: 'low' })
      expect(plan.workloads).toEqual([])
      expect(plan.files.map((f) => f.path)).toEqual(format === 'kustomize' ? ['kustomization.yaml'] : [])
    }
  })
})
