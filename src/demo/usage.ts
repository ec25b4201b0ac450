/**
 * The demo estate's month of usage and cost: one UsageReport a day for prod-cluster and edge-cluster,
 * each over the 14 days before 06:30 UTC, as a nightly `plimsoll usage --store` would record them,
 * built from the workloads in that day's prod-cluster manifests (their kind, team label, replicas,
 * HorizontalPodAutoscaler, and whether their containers have requests and limits) and the usage
 * profiles of usage-profiles.ts, on nodes with instance types (m5.xlarge and m5.2xlarge, some spot)
 * that the pods are packed onto. Each report goes through the real analysis (`simple` strategy,
 * OpenCost's default prices) and is recorded with recordUsageSnapshot, taken on its day.
 * Deterministic: the same seed and days give the same reports.
 */
import { load } from 'js-yaml'
import type { Store } from '../store/connect.js'
import { recordUsageSnapshot } from '../store/usage.js'
import { formatMoney, monthly } from '../usage/cost/money.js'
import { defaultPriceSheet, type PriceSheet } from '../usage/cost/prices.js'
import { analyse, type UsageAnalysis } from '../usage/output/analysis.js'
import type {
  ContainerUsage,
  NodeUsage,
  OomKill,
  UsageReport,
  UsageStats,
  WorkloadKind,
} from '../usage/types.js'
import { CLUSTER_TARGET, type DemoEstate, type TargetInput } from './estate.js'
import { DEMO_SEED } from './timeline.js'
import {
  type ClusterPlan,
  INSTANCE_TYPES,
  lastChange,
  type NodePlan,
  sizingOn,
  USAGE_CLUSTERS,
  USAGE_PROFILES,
  type UsageProfile,
} from './usage-profiles.js'

const DAY_MS = 86_400_000
const MINUTE_MS = 60_000
/** the window every report covers */
export const USAGE_WINDOW_DAYS = 14
/** minutes past the day's scans (06:00 UTC) that the collection ends */
const COLLECTED_AT = 30
const MI = 1024 * 1024
/** what the kubelet, the runtime and the OS use on every node */
const SYSTEM = { cpu: 0.12, memory: 700 * MI }

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'])

/** A workload of a day's manifests, as the usage model needs it. */
export interface DemoWorkload {
  namespace: string
  kind: WorkloadKind
  name: string
  team: string | undefined
  container: string
  /** spec.replicas (Deployments, StatefulSets) */
  replicas: number
  requests: { cpu?: number; memory?: number }
  limits: { cpu?: number; memory?: number }
  hpa?: { minReplicas: number; maxReplicas: number }
}

type Quantities = Record<string, string | number>
interface PodSpec {
  containers: { name: string; resources?: { requests?: Quantities; limits?: Quantities } }[]
}
/** What is read of the manifests' objects (the demo's own, so well-formed). */
interface Obj {
  kind?: string
  metadata: { name: string; namespace: string; labels?: Record<string, string> }
  spec: {
    replicas?: number
    minReplicas?: number
    maxReplicas: number
    scaleTargetRef: { name: string }
    template: { spec: PodSpec }
    jobTemplate: { spec: { template: { spec: PodSpec } } }
  }
}

/** A Kubernetes quantity (`100m`, `256Mi`, `2`, `1.5Gi`, `500M`) as a number of cores or bytes. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim())
  if (!m) throw new Error(`demo estate: not a quantity: ${q}`)
  const units: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    Ki: 1024,
    Mi: MI,
    Gi: 1024 * MI,
    Ti: 1024 * 1024 * MI,
  }
  const unit = units[m[2]!]
  if (unit === undefined) throw new Error(`demo estate: unknown unit in ${q}`)
  return Number(m[1]) * unit
}

/** The kinds read: a document of another kind is never parsed. */
const READ = /^kind: (Deployment|StatefulSet|DaemonSet|CronJob|HorizontalPodAutoscaler)$/m

/**
 * Parses the manifests' files, each file and each document once: most are the same text from one day
 * to the next. Kept for one seeding, not for the server's life.
 */
export interface ManifestReader {
  objectsOf(text: string): Obj[]
}

export function manifestReader(): ManifestReader {
  const files = new Map<string, Obj[]>()
  const documents = new Map<string, Obj | undefined>()
  return {
    objectsOf(text) {
      const known = files.get(text)
      if (known) return known
      const out: Obj[] = []
      for (const doc of text.split(/^---\n/m)) {
        if (!documents.has(doc)) documents.set(doc, READ.test(doc) ? (load(doc) as Obj) : undefined)
        const o = documents.get(doc)
        if (o) out.push(o)
      }
      files.set(text, out)
      return out
    },
  }
}

function resourcesOf(r: Quantities | undefined): { cpu?: number; memory?: number } {
  const out: { cpu?: number; memory?: number } = {}
  if (r?.cpu !== undefined) out.cpu = parseQuantity(r.cpu)
  if (r?.memory !== undefined) out.memory = parseQuantity(r.memory)
  return out
}

/** The workloads of the cluster's manifests on a day (one container each in the demo estate). */
export function clusterWorkloads(input: TargetInput, reader = manifestReader()): DemoWorkload[] {
  const objects = input.sources.flatMap((s) => reader.objectsOf(s.text))
  const hpas = new Map<string, Obj>()
  for (const o of objects) {
    if (o.kind !== 'HorizontalPodAutoscaler') continue
    hpas.set(`${o.metadata.namespace}/${o.spec.scaleTargetRef.name}`, o)
  }
  const out: DemoWorkload[] = []
  for (const o of objects) {
    if (!WORKLOAD_KINDS.has(o.kind ?? '')) continue
    const pod = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec
    const hpa = hpas.get(`${o.metadata.namespace}/${o.metadata.name}`)
    for (const c of pod.containers) {
      out.push({
        namespace: o.metadata.namespace,
        kind: o.kind as WorkloadKind,
        name: o.metadata.name,
        team: o.metadata.labels?.team,
        container: c.name,
        replicas: o.spec.replicas ?? 1,
        requests: resourcesOf(c.resources?.requests),
        limits: resourcesOf(c.resources?.limits),
        ...(hpa
          ? { hpa: { minReplicas: hpa.spec.minReplicas ?? 1, maxReplicas: hpa.spec.maxReplicas } }
          : {}),
      })
    }
  }
  const key = (w: DemoWorkload) => `${w.namespace}/${w.kind}/${w.name}/${w.container}`
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

/** FNV-1a: a number from a string, to seed a generator per workload and day. */
function hash(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** A uniform number in [0, 1) from a 32-bit key and two small numbers (a day, a channel): one mulberry32 step. */
function noise(key: number, day: number, channel: number): number {
  let t = (key + Math.imul(day + 1000, 0x9e3779b1) + Math.imul(channel, 0x85ebca6b) + 0x6d2b79f5) >>> 0
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export interface UsageDayOptions {
  /** the day's index (0: the oldest) and its story day (estate.modelDay) */
  day: number
  modelDay: number
  /** the day's 06:00 UTC, ms */
  base: number
  /** the story day each workload first ran on the cluster ("namespace/name"); absent: before the month */
  firstSeen: ReadonlyMap<string, number>
  seed?: number
}

interface DailyStats {
  cpu: UsageStats & { mean: number }
  memory: UsageStats & { mean: number }
}

/** The window's statistics from daily ones: medians and p95s averaged, p99 and max the highest. */
function windowStats(days: readonly (UsageStats & { mean: number })[]): UsageStats {
  const avg = (f: (s: UsageStats & { mean: number }) => number) =>
    days.reduce((a, s) => a + f(s), 0) / days.length
  const p50 = avg((s) => s.p50)
  const p95 = Math.max(
    p50,
    avg((s) => s.p95),
  )
  const p99 = Math.max(p95, ...days.map((s) => s.p99))
  const max = Math.max(p99, ...days.map((s) => s.max))
  return { p50, p95, p99, max, mean: avg((s) => s.mean) }
}

/** Pods a workload runs on a story day, and how many at most. */
function podsOn(
  w: DemoWorkload,
  profile: UsageProfile | undefined,
  plan: ClusterPlan,
  weekend: boolean,
  nodes: number,
): { avg: number; max: number } {
  if (w.kind === 'DaemonSet') return { avg: nodes, max: nodes }
  if (w.hpa && profile?.scaled) {
    const low = Math.max(w.hpa.minReplicas, profile.scaled.low)
    const high = Math.max(
      low + 1,
      Math.min(w.hpa.maxReplicas, Math.round(profile.scaled.high * plan.load) + 1),
    )
    const peak = weekend ? low + Math.round((high - low) / 2) : high
    return { avg: low + (peak - low) * 0.4, max: peak }
  }
  const n = w.hpa ? w.hpa.minReplicas : w.replicas
  return { avg: n, max: n }
}

/** One container's usage over the window ending at the day's collection. */
function containerUsage(
  w: DemoWorkload,
  plan: ClusterPlan,
  o: UsageDayOptions,
  nodesAtEnd: number,
): ContainerUsage {
  const seed = o.seed ?? DEMO_SEED
  const key = `${w.namespace}/${w.name}`
  const profile: UsageProfile | undefined = USAGE_PROFILES[key]
  const h = hash(`${seed}|${plan.cluster}|${key}`)
  const to = o.base + COLLECTED_AT * MINUTE_MS
  const from = to - USAGE_WINDOW_DAYS * DAY_MS
  const t = o.modelDay
  const first = o.firstSeen.get(key)
  // Requests and limits: the profile's sizes, where the day's manifest sets them at all.
  const size = sizingOn(profile, t)
  const cpuRequest = w.requests.cpu === undefined ? undefined : (size?.cpu ?? w.requests.cpu)
  const memoryRequest = w.requests.memory === undefined ? undefined : (size?.memory ?? w.requests.memory)
  const memoryLimit =
    w.limits.memory === undefined ? undefined : (size?.memoryLimit ?? size?.memory ?? w.limits.memory)
  const cpuLimit = w.limits.cpu === undefined ? undefined : (size?.cpuLimit ?? w.limits.cpu)
  // What a pod typically uses: the profile's, else a drawn 10-30% of the CPU it asks for.
  const base = profile?.use ?? {
    cpu: (w.requests.cpu ?? 0.1) * (0.1 + 0.2 * noise(h, 0, 1)),
    memory: (w.requests.memory ?? 256 * MI) * (0.3 + 0.3 * noise(h, 0, 2)),
  }
  const peak = profile?.peak ?? 1.8
  const cron = w.kind === 'CronJob' ? (profile?.run ?? { minutes: 10, perDay: 1 }) : undefined

  const daily: DailyStats[] = []
  const oomKills: OomKill[] = []
  let podSeconds = 0
  let maxPods = 0
  let pods = 0
  let existing = 0
  for (let j = USAGE_WINDOW_DAYS - 1; j >= 0; j--) {
    const s = t - j
    if (first !== undefined && s < first) continue
    existing++
    const dayStart = o.base - j * DAY_MS
    const weekday = new Date(dayStart).getUTCDay()
    const weekend = weekday === 0 || weekday === 6
    const r1 = noise(h, s, 3)
    const r2 = noise(h, s, 4)
    const traffic = (cron || w.kind === 'DaemonSet' ? 1 : weekend ? 0.7 : 1) * (0.88 + 0.24 * r1)
    const load = cron ? 1 : plan.load
    const cpu50 = base.cpu * traffic * load
    const cpu = {
      p50: cpu50,
      p95: cpu50 * peak,
      p99: cpu50 * peak * 1.2,
      max: cpu50 * peak * 1.5,
      mean: cpu50 * 1.08,
    }
    // Memory follows the data more than the traffic.
    let m = base.memory * (0.97 + 0.06 * r2) * (0.6 + 0.4 * load)
    const limitThen = sizingOn(profile, s)?.memoryLimit ?? memoryLimit
    const oomDay = profile?.oomOn
    if (oomDay !== undefined && s > oomDay - 5 && s <= oomDay) m *= 1 + 0.05 * (s - (oomDay - 5))
    // Raised, it keeps growing with the ledger's data: the team was right to give it room.
    if (oomDay !== undefined && s > oomDay && lastChange(profile, s) !== undefined) m *= 1.3
    let memMax = m * 1.15
    if (limitThen !== undefined) memMax = Math.min(memMax, limitThen * 0.97)
    m = Math.min(m, memMax / 1.12)
    const memory = { p50: m, p95: m * 1.05, p99: Math.min(memMax, m * 1.09), max: memMax, mean: m * 1.01 }
    if (oomDay === s && limitThen !== undefined) {
      memory.max = limitThen
      oomKills.push({
        // In the night's batch, before the day's collection at 06:30.
        at: new Date(dayStart - 4 * 3_600_000 - 7 * MINUTE_MS).toISOString(),
        memory: limitThen,
      })
    }
    daily.push({ cpu, memory })
    const n = podsOn(w, profile, plan, weekend, nodesAtEnd)
    if (cron) {
      podSeconds += cron.perDay * cron.minutes * 60
      pods += cron.perDay
      maxPods = 1
    } else {
      podSeconds += n.avg * 86_400
      maxPods = Math.max(maxPods, n.max)
    }
  }
  if (!cron) {
    // Distinct pods: the replicas, new ones at every rollout in the window, and the HPA's churn.
    const rollouts = (profile?.changes ?? []).filter(
      (c) => c.day > t - USAGE_WINDOW_DAYS && c.day <= t,
    ).length
    pods = maxPods * (1 + rollouts) + (profile?.scaled ? maxPods * 3 : 0) + oomKills.length
  }
  // A new workload was deployed the afternoon before the day its manifest first shows on the cluster.
  const historyFrom =
    first !== undefined && first > t - USAGE_WINDOW_DAYS
      ? o.base - (t - first) * DAY_MS - 14 * 3_600_000
      : from
  const historySeconds = (to - historyFrom) / 1000
  const changed = lastChange(profile, t)
  const startedAt = cron
    ? historyFrom
    : changed !== undefined
      ? o.base - (t - changed) * DAY_MS - 17 * 3_600_000 // rolled out the afternoon before
      : first !== undefined
        ? historyFrom
        : from - (9 + Math.floor(noise(h, 0, 5) * 30)) * DAY_MS
  return {
    workload: { cluster: plan.cluster, namespace: w.namespace, kind: w.kind, name: w.name },
    container: w.container,
    ...(w.team !== undefined ? { team: w.team } : {}),
    pods,
    maxReplicas: maxPods,
    cpu: {
      usage: windowStats(daily.map((d) => d.cpu)),
      request: cpuRequest,
      limit: cpuLimit,
    },
    memory: {
      usage: windowStats(daily.map((d) => d.memory)),
      request: memoryRequest,
      limit: memoryLimit,
    },
    restarts: oomKills.length,
    oomKills,
    runningSeconds: Math.round(cron ? podSeconds : (podSeconds * historySeconds) / (existing * 86_400)),
    startedAt: new Date(startedAt).toISOString(),
    history: {
      from: new Date(historyFrom).toISOString(),
      to: new Date(to).toISOString(),
      samples: cron ? Math.round((pods * cron.minutes) / 5) : Math.round(historySeconds / 300),
    },
    ...(w.hpa
      ? {
          hpa: {
            resources: ['cpu'] as const,
            minReplicas: w.hpa.minReplicas,
            maxReplicas: w.hpa.maxReplicas,
          },
        }
      : {}),
  }
}

/** A node's story days as ms, for overlap with a window. */
function nodeSpan(n: NodePlan, o: UsageDayOptions): [number, number] {
  const at = (d: number) => o.base - (o.modelDay - d) * DAY_MS
  return [
    n.from === undefined ? Number.NEGATIVE_INFINITY : at(n.from),
    n.to === undefined ? Number.POSITIVE_INFINITY : at(n.to),
  ]
}

/**
 * The nodes over the window: capacity and allocatable by instance type; the pods running at the end
 * packed onto the nodes then (DaemonSets on all, the rest largest first, first fit); their requests and
 * average use summed, with the system's share. A node gone by the end held what its replacement holds.
 */
function nodesOf(plan: ClusterPlan, containers: readonly ContainerUsage[], o: UsageDayOptions): NodeUsage[] {
  const to = o.base + COLLECTED_AT * MINUTE_MS
  const from = to - USAGE_WINDOW_DAYS * DAY_MS
  const inWindow = plan.nodes
    .map((n) => ({ n, span: nodeSpan(n, o) }))
    .filter(({ span }) => span[0] < to && span[1] > from)
  const atEnd = inWindow.filter(({ span }) => span[1] >= to)
  const load = atEnd.map(({ n }) => ({
    n,
    requested: { cpu: 0, memory: 0 },
    used: { cpu: SYSTEM.cpu, memory: SYSTEM.memory },
  }))
  const pods: { cpu: number; memory: number; usedCpu: number; usedMemory: number; name: string }[] = []
  for (const c of containers) {
    if (c.workload.kind === 'CronJob') continue
    const one = {
      cpu: c.cpu.request ?? 0,
      memory: c.memory.request ?? 0,
      usedCpu: c.cpu.usage?.mean ?? 0,
      usedMemory: c.memory.usage?.mean ?? 0,
    }
    if (c.workload.kind === 'DaemonSet') {
      for (const l of load) place(l, one)
      continue
    }
    for (let i = 0; i < c.maxReplicas; i++) pods.push({ ...one, name: `${c.workload.name}-${i}` })
  }
  function place(
    l: (typeof load)[number],
    p: { cpu: number; memory: number; usedCpu: number; usedMemory: number },
  ) {
    l.requested.cpu += p.cpu
    l.requested.memory += p.memory
    l.used.cpu += p.usedCpu
    l.used.memory += p.usedMemory
  }
  pods.sort((a, b) => b.cpu - a.cpu || b.memory - a.memory || (a.name < b.name ? -1 : 1))
  for (const p of pods) {
    const alloc = (l: (typeof load)[number]) => INSTANCE_TYPES[l.n.instanceType].allocatable
    // The scheduler's LeastAllocated score: the node with the most of its allocatable free, if it fits.
    const free = (l: (typeof load)[number]) =>
      (1 - l.requested.cpu / alloc(l).cpu + (1 - l.requested.memory / alloc(l).memory)) / 2
    const fits = load.filter(
      (l) => l.requested.cpu + p.cpu <= alloc(l).cpu && l.requested.memory + p.memory <= alloc(l).memory,
    )
    const target = (fits.length > 0 ? fits : load).reduce((a, b) => (free(b) > free(a) ? b : a))
    place(target, p)
  }
  return inWindow.map(({ n, span }) => {
    const type = INSTANCE_TYPES[n.instanceType]
    const running = Math.min(to, span[1]) - Math.max(from, span[0])
    const gone = span[1] < to
    // A node gone by the end: what its replacement (the same type, in the same subnet) holds now.
    const l = gone
      ? load.find((x) => x.n.instanceType === n.instanceType && x.n.from !== undefined)
      : load.find((x) => x.n === n)
    return {
      cluster: plan.cluster,
      name: n.name,
      instanceType: n.instanceType,
      capacityType: n.capacityType,
      capacity: { ...type.capacity },
      allocatable: { ...type.allocatable },
      requested: gone ? { cpu: 0, memory: 0 } : { ...l!.requested },
      used: { ...(l?.used ?? SYSTEM) },
      runningSeconds: Math.round(running / 1000),
    }
  })
}

/** One cluster's report of one day, from the workloads of that day's manifests. */
export function usageReportOf(
  plan: ClusterPlan,
  workloads: readonly DemoWorkload[],
  o: UsageDayOptions,
): UsageReport {
  const to = o.base + COLLECTED_AT * MINUTE_MS
  const from = to - USAGE_WINDOW_DAYS * DAY_MS
  const mine = workloads.filter((w) => plan.namespaces === undefined || plan.namespaces.includes(w.namespace))
  const nodesAtEnd = plan.nodes.filter((n) => {
    const [a, b] = nodeSpan(n, o)
    return a <= to && b >= to
  }).length
  const containers = mine.map((w) => containerUsage(w, plan, o, nodesAtEnd))
  const nodes = nodesOf(plan, containers, o)
  return {
    cluster: plan.cluster,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    containers,
    nodes,
    gaps: [],
    // What the batched queries would have cost Prometheus: a fixed set, and their answers' size.
    queries: { count: 31, bytes: 2_400 * containers.length + 1_100 * nodes.length },
  }
}

export interface DemoUsageDay {
  day: number
  takenAt: string
  reports: UsageReport[]
}

export interface DemoUsageOptions {
  estate: DemoEstate
  /** the last day's 06:00 UTC, ms (seed.ts's lastScanDay) */
  last: number
  /** the day's inputs, as the seeding scanned them */
  inputs?: (day: number) => TargetInput[]
  clusters?: readonly ClusterPlan[]
  seed?: number
}

/** Every day's reports, oldest first: pure, deterministic from the estate, the seed and the last day. */
export function demoUsageDays(options: DemoUsageOptions): DemoUsageDay[] {
  const { estate, last } = options
  const inputs = options.inputs ?? ((day: number) => estate.inputs(day))
  const firstSeen = new Map<string, number>()
  const reader = manifestReader()
  const out: DemoUsageDay[] = []
  for (let day = 0; day < estate.days; day++) {
    const base = last - (estate.days - 1 - day) * DAY_MS
    const modelDay = estate.modelDay(day)
    const cluster = inputs(day).find((i) => i.target === CLUSTER_TARGET)
    if (!cluster) throw new Error(`demo estate: no ${CLUSTER_TARGET} input on day ${day}`)
    const workloads = clusterWorkloads(cluster, reader)
    for (const w of workloads) {
      const key = `${w.namespace}/${w.name}`
      // On the first day, everything has run for longer than the window.
      if (!firstSeen.has(key)) firstSeen.set(key, day === 0 ? Number.NEGATIVE_INFINITY : modelDay)
    }
    const seen = new Map([...firstSeen].filter(([, d]) => Number.isFinite(d)))
    const o: UsageDayOptions = { day, modelDay, base, firstSeen: seen, seed: options.seed ?? DEMO_SEED }
    out.push({
      day,
      takenAt: new Date(base + (COLLECTED_AT + 2) * MINUTE_MS).toISOString(),
      reports: (options.clusters ?? USAGE_CLUSTERS).map((plan) => usageReportOf(plan, workloads, o)),
    })
  }
  return out
}

/** The figures of one set of snapshots (a day's, every cluster's), monthly rates. */
export interface UsageFigures {
  containers: number
  nodes: number
  /** what the nodes cost */
  cost: number
  workloads: number
  idle: number
  waste: number
  savings: number
}

export interface UsageSeedSummary {
  /** snapshots recorded: one a day per cluster */
  snapshots: number
  clusters: string[]
  /** the last day's snapshots together */
  latest: UsageFigures
  /** the first day's, a month before */
  first: UsageFigures
  ms: number
}

function figuresOf(analyses: readonly UsageAnalysis[]): UsageFigures {
  const sum = (f: (a: UsageAnalysis) => number) => analyses.reduce((x, a) => x + f(a), 0)
  const perMonth = (f: (a: UsageAnalysis) => number) => sum((a) => monthly(f(a), a.windowHours))
  return {
    containers: sum((a) => a.report.containers.length),
    nodes: sum((a) => a.report.nodes.filter((n) => n.requested.cpu > 0).length),
    cost: perMonth((a) => a.cost.total.nodeCost.total),
    workloads: perMonth((a) => a.cost.total.workloadCost.total),
    idle: perMonth((a) => a.cost.total.idle.total),
    waste: sum((a) => a.waste.total.wasteMonthly.total),
    savings: sum((a) => a.waste.total.savingsMonthly.total),
  }
}

/** Records the month of snapshots: every day's reports through analyse() and recordUsageSnapshot. */
export async function seedUsage(
  store: Store,
  options: DemoUsageOptions & { prices?: PriceSheet },
): Promise<UsageSeedSummary> {
  const started = performance.now()
  const { n } = await store.db
    .selectFrom('usage_snapshots')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  if (Number(n) > 0) {
    throw new Error(
      `the store at ${store.location} already holds ${n} usage snapshot(s); the demo's usage is only seeded into an empty store, so that demo data never mixes with real data`,
    )
  }
  const prices = options.prices ?? defaultPriceSheet()
  const days = demoUsageDays(options)
  let snapshots = 0
  let first: UsageAnalysis[] = []
  let latest: UsageAnalysis[] = []
  for (const [i, d] of days.entries()) {
    const analyses = d.reports.map((report) => analyse(report, { strategy: 'simple', prices }))
    for (const a of analyses) {
      await recordUsageSnapshot(store, {
        report: a.report,
        recommendations: a.recommendations,
        strategy: a.strategy,
        costs: a.cost,
        waste: a.waste,
        takenAt: d.takenAt,
      })
      snapshots++
    }
    if (i === 0) first = analyses
    latest = analyses
  }
  return {
    snapshots,
    clusters: (options.clusters ?? USAGE_CLUSTERS).map((c) => c.cluster),
    latest: figuresOf(latest),
    first: figuresOf(first),
    ms: Math.round(performance.now() - started),
  }
}

/**
 * What `serve --demo` prints of it: `60 snapshots of prod-cluster and edge-cluster, a day apart over 30
 * days: 30 containers on 9 nodes, $1,395.51/month ($409.12 idle), savings $299.34/month if the
 * recommendations were applied ($344.55 a month ago) (0.4 s of the seeding)`.
 */
export function demoUsageLine(u: UsageSeedSummary): string {
  const days = u.clusters.length > 0 ? u.snapshots / u.clusters.length : 0
  return (
    `${u.snapshots} snapshots of ${u.clusters.join(' and ')}, a day apart over ${days} days: ` +
    `${u.latest.containers} containers on ${u.latest.nodes} nodes, ${formatMoney(u.latest.cost)}/month ` +
    `(${formatMoney(u.latest.idle)} idle), savings ${formatMoney(u.latest.savings)}/month if the recommendations ` +
    `were applied (${formatMoney(u.first.savings)} a month ago) (${(u.ms / 1000).toFixed(1)} s of the seeding)`
  )
}
