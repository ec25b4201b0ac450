/**
 * The collector: one cluster's Prometheus over a window -> a UsageReport (src/usage/types.ts).
 *
 * How (docs/usage.md, "What is measured and how"):
 * 1. One cheap inventory query counts the containers per namespace that cAdvisor and kube-state-metrics
 *    each have in the window. Neither: said in gaps. Prometheus unreachable: the client's error, thrown.
 * 2. Namespaces are packed into batches of at most `batchSize` containers (a namespace larger than that
 *    is split by its pods, listed by one more query). Each batch is a fixed number of queries
 *    (queriesPerBatch). Memory percentiles, maxima and means are computed inside Prometheus over the raw
 *    samples (quantile_over_time) and aggregated `by (namespace, pod, container)` there; the CPU usage
 *    rate is one range query at the step, streamed, whose points Plimsoll summarises itself
 *    (collect/series.ts: the same percentiles quantile_over_time over a subquery would give, for one
 *    evaluation of the rates instead of one per statistic). So a cluster costs O(batches x metrics)
 *    queries, never one per container or workload.
 * 3. A few cluster-wide queries: namespaces' team labels, HorizontalPodAutoscalers, nodes.
 * 4. Pods are joined to their owners here (pod -> ReplicaSet -> Deployment, Job -> CronJob, StatefulSet,
 *    DaemonSet, else the bare pod) and each workload's pods aggregated per container name.
 * A batch whose query fails (an error, a timeout) is left out with a gap naming its namespaces; the others
 * go on.
 */
import type { PrometheusClient, Sample as PromSample } from '../prometheus/client.js'
import {
  type ContainerUsage,
  type Gap,
  mergeSampleSeries,
  type NodeUsage,
  type OomKill,
  type ResourceName,
  type SampleSeries,
  type UsageReport,
  type UsageStats,
  type WorkloadKind,
  type WorkloadRef,
} from '../types.js'
import { type Batch, DEFAULT_BATCH_SIZE, describeBatch, packNamespaces, packPods } from './batches.js'
import {
  cpuRateQuery,
  hpaQuery,
  inventoryQuery,
  memoryPeaksQuery,
  memoryStatsQuery,
  namespacesQuery,
  nodeRootQuery,
  nodesQuery,
  ownersQuery,
  podsOfNamespaceQuery,
  podsQuery,
  resourcesQuery,
  statusQuery,
  throttlingQuery,
  type Window,
} from './promql.js'
import { periodAverages, SeriesByKey, statsOf } from './series.js'

export { DEFAULT_BATCH_SIZE, describeBatch, packNamespaces, packPods } from './batches.js'

export interface CollectOptions {
  /** the cluster's name in the report */
  cluster: string
  /** the window */
  from: Date
  to: Date
  /** the Kubernetes label naming a team, on pods or their namespaces (default `team`) */
  teamLabel?: string
  /** the subquery step for percentiles, seconds (default 300) */
  stepSeconds?: number
  /** fill ResourceUsage.samples for the `vpa` strategy: CPU each hour's average rate, memory each hour's peak */
  withSamples?: boolean
  /** only these namespaces */
  namespaces?: string[]
  /** containers per batch of queries at most (default 1,000) */
  batchSize?: number
  /** after each batch: batches done, batches in all, what was done */
  onProgress?: (done: number, total: number, what: string) => void
}

export const DEFAULT_STEP_SECONDS = 300
export const DEFAULT_TEAM_LABEL = 'team'
/** batches queried at once (each sends its queries at once; the client bounds them in flight) */
const BATCHES_AT_ONCE = 2

/**
 * Queries per batch (for a window of up to 10,000 steps): CPU rates (a range query), memory and
 * throttling from cAdvisor; requests and limits, restarts and OOM kills, pods (owner, node, start,
 * labels) and ReplicaSet/Job owners from kube-state-metrics; a range query of hourly memory peaks for
 * the samples.
 */
export function queriesPerBatch(has: {
  cadvisor: boolean
  kubeStateMetrics: boolean
  samples: boolean
}): number {
  return (has.cadvisor ? 3 + (has.samples ? 1 : 0) : 0) + (has.kubeStateMetrics ? 4 : 0)
}

/** A Kubernetes label name as kube-state-metrics writes it: `label_` and the name, other characters `_`. */
export function ksmLabel(name: string): string {
  return `label_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`
}

/** kube-state-metrics' other spelling of a camelCase label (it snake-cases them: capacityType -> capacity_type). */
function ksmLabelSnake(name: string): string {
  return ksmLabel(name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase())
}

const SEP = '\u0000'
const keyOf = (...parts: string[]) => parts.join(SEP)
const iso = (seconds: number) => new Date(seconds * 1000).toISOString()

interface Extent {
  count?: number
  first?: number
  last?: number
}

interface Stats extends Extent {
  p50?: number
  p95?: number
  p99?: number
  max?: number
  mean?: number
}

/** What a batch learnt about one container of one pod. */
interface PodContainer {
  readonly namespace: string
  readonly pod: string
  readonly container: string
  cpu: Stats
  memory: Stats
  throttled?: number
  periods?: number
  request: { cpu?: number; memory?: number }
  limit: { cpu?: number; memory?: number }
  restarts: number
  oom: boolean
  oomAt?: number
  cpuSamples?: SampleSeries
  memorySamples?: SampleSeries
}

interface PodInfo {
  ownerKind?: string
  ownerName?: string
  node?: string
  start?: number
  team?: string
  /** steps of the window it was seen at (kube_pod_info) */
  steps?: number
  /** the first and last time it ran in the window, seconds: from its start and steps */
  first?: number
  last?: number
}

interface BatchResult {
  readonly containers: PodContainer[]
  readonly pods: Map<string, PodInfo>
  readonly replicaSets: Map<string, { kind: string; name: string }>
  readonly jobs: Map<string, { kind: string; name: string }>
}

const HOUR_MS = 3_600_000

export async function collectUsage(client: PrometheusClient, options: CollectOptions): Promise<UsageReport> {
  const to = options.to
  const seconds = Math.round((options.to.getTime() - options.from.getTime()) / 1000)
  if (!(seconds > 0)) throw new Error(`the usage window ends (${to.toISOString()}) before it starts`)
  const step = options.stepSeconds ?? DEFAULT_STEP_SECONDS
  if (!(step > 0 && Number.isInteger(step)))
    throw new Error(`the step is ${step} s: expected whole seconds > 0`)
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
  if (!(batchSize >= 1)) throw new Error(`the batch size is ${batchSize}: expected >= 1`)
  const w: Window = { seconds, step }
  const teamName = options.teamLabel ?? DEFAULT_TEAM_LABEL
  const teamLabel = ksmLabel(teamName)
  const before = client.stats
  const gaps: Gap[] = []
  const vector = async (expr: string) => (await client.queryVector(expr, to)).data

  // 1. The inventory (thrown if Prometheus cannot answer: nothing can be reported).
  const inventory = await vector(inventoryQuery(w, options.namespaces))
  const cadvisorCounts = new Map<string, number>()
  const ksmCounts = new Map<string, number>()
  for (const s of inventory) {
    const ns = s.labels.namespace
    if (ns === undefined) continue
    ;(s.labels.source === 'cadvisor' ? cadvisorCounts : ksmCounts).set(ns, s.value)
  }
  const has = {
    cadvisor: cadvisorCounts.size > 0,
    kubeStateMetrics: ksmCounts.size > 0,
    samples: options.withSamples === true,
  }
  const where = options.namespaces?.length ? ` in namespaces ${options.namespaces.join(', ')}` : ''
  if (!has.cadvisor)
    gaps.push({
      what: 'cAdvisor',
      message: `no container_memory_working_set_bytes series (the kubelet's cAdvisor, /metrics/cadvisor)${where} between ${options.from.toISOString()} and ${to.toISOString()}: no CPU or memory usage, throttling or history; containers are listed from kube-state-metrics with their requests and limits only`,
    })
  if (!has.kubeStateMetrics)
    gaps.push({
      what: 'kube-state-metrics',
      message: `no kube_pod_container_resource_requests series (kube-state-metrics)${where} in the window: requests and limits, owners (every container is reported under its pod, kind Pod), teams, restarts, OOM kills, HorizontalPodAutoscalers and nodes are left out`,
    })

  // 2. The batches.
  const counts = new Map<string, number>()
  for (const [ns, n] of [...cadvisorCounts, ...ksmCounts]) counts.set(ns, Math.max(counts.get(ns) ?? 0, n))
  const small = new Map([...counts].filter(([, n]) => n <= batchSize))
  const batches: Batch[] = packNamespaces(small, batchSize)
  for (const [ns, n] of counts) {
    if (n <= batchSize) continue
    const pods = new Map<string, number>()
    try {
      for (const s of await vector(podsOfNamespaceQuery(ns, w)))
        if (s.labels.pod !== undefined) pods.set(s.labels.pod, s.value)
    } catch (err) {
      gaps.push({
        what: `batch: ${describeBatch({ namespaces: [ns] })}`,
        message: `${(err as Error).message}: its pods could not be listed to split its ${n} containers into batches; they are left out of this report`,
      })
      continue
    }
    batches.push(...packPods(ns, pods, batchSize))
  }

  // 3. Cluster-wide: namespaces' teams, HPAs, nodes (run while the batches run).
  const clusterWide = Promise.all([
    has.kubeStateMetrics ? settle(vector(namespacesQuery(w, teamLabel))) : undefined,
    has.kubeStateMetrics ? settle(vector(hpaQuery(w))) : undefined,
    has.kubeStateMetrics ? settle(vector(nodesQuery(w))) : undefined,
    has.cadvisor && has.kubeStateMetrics ? settle(vector(nodeRootQuery(w))) : undefined,
  ])

  const results: BatchResult[] = []
  let done = 0
  let next = 0
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!
      try {
        results.push(await collectBatch(client, batch, w, options, has, teamLabel))
      } catch (err) {
        gaps.push({
          what: `batch: ${describeBatch(batch)}`,
          message: `${(err as Error).message}: ${batch.containers === 1 ? 'the 1 container' : `the ${batch.containers} containers`} of ${describeBatch(batch)} ${batch.containers === 1 ? 'is' : 'are'} left out of this report`,
        })
      }
      done++
      options.onProgress?.(done, batches.length, describeBatch(batch))
    }
  }
  await Promise.all(Array.from({ length: Math.min(BATCHES_AT_ONCE, batches.length) }, worker))
  const [nsAnswer, hpaAnswer, nodesAnswer, rootAnswer] = await clusterWide

  // 4. Join and aggregate.
  const namespaceTeams = new Map<string, string>()
  if (nsAnswer && 'error' in nsAnswer)
    gaps.push(clusterGap('namespace labels', nsAnswer.error, 'teams from namespaces'))
  for (const s of (nsAnswer && 'data' in nsAnswer ? nsAnswer.data : []) ?? []) {
    const team = s.labels[teamLabel]
    if (s.labels.namespace && team) namespaceTeams.set(s.labels.namespace, team)
  }
  if (hpaAnswer && 'error' in hpaAnswer)
    gaps.push(clusterGap('HorizontalPodAutoscalers', hpaAnswer.error, 'HPAs (no resource is held for one)'))
  const hpas = hpaTargets(hpaAnswer && 'data' in hpaAnswer ? hpaAnswer.data : [])

  const pods = new Map<string, PodInfo>()
  const replicaSets = new Map<string, { kind: string; name: string }>()
  const jobs = new Map<string, { kind: string; name: string }>()
  const podContainers: PodContainer[] = []
  for (const r of results) {
    for (const [k, v] of r.pods) pods.set(k, v)
    for (const [k, v] of r.replicaSets) replicaSets.set(k, v)
    for (const [k, v] of r.jobs) jobs.set(k, v)
    podContainers.push(...r.containers)
  }
  // batches finish in any order: sorted, the sums (node use) are the same from run to run
  podContainers.sort((a, b) => {
    const x = keyOf(a.namespace, a.pod, a.container)
    const y = keyOf(b.namespace, b.pod, b.container)
    return x < y ? -1 : x > y ? 1 : 0
  })
  const containers = aggregate(podContainers, {
    cluster: options.cluster,
    windowEnd: to.toISOString(),
    pods,
    replicaSets,
    jobs,
    namespaceTeams,
    hpas,
  })
  if (
    has.kubeStateMetrics &&
    results.length > 0 &&
    namespaceTeams.size === 0 &&
    ![...pods.values()].some((p) => p.team)
  )
    gaps.push({
      what: `team label ${teamName}`,
      message: `no namespace or pod has a ${teamLabel} label in kube_namespace_labels or kube_pod_labels: kube-state-metrics exposes Kubernetes labels only when allowed (--metric-labels-allowlist=namespaces=[${teamName}],pods=[${teamName}]); no container has a team`,
    })

  const nodes: NodeUsage[] = []
  if (nodesAnswer && 'error' in nodesAnswer) gaps.push(clusterGap('nodes', nodesAnswer.error, 'nodes'))
  else if (nodesAnswer) {
    const root = rootAnswer && 'data' in rootAnswer ? rootAnswer.data : []
    nodes.push(...assembleNodes(options.cluster, nodesAnswer.data, root, podContainers, pods, w))
    if (nodes.length > 0 && nodes.every((n) => n.instanceType === undefined))
      gaps.push({
        what: 'node instance types',
        message:
          'kube_node_labels has no node.kubernetes.io/instance-type: kube-state-metrics exposes node labels only when allowed (--metric-labels-allowlist=nodes=[node.kubernetes.io/instance-type,karpenter.sh/capacity-type,eks.amazonaws.com/capacityType,cloud.google.com/gke-spot]); nodes are priced at the default rates',
      })
  }

  const after = client.stats
  return {
    cluster: options.cluster,
    from: options.from.toISOString(),
    to: to.toISOString(),
    containers,
    nodes,
    gaps,
    queries: { count: after.queries - before.queries, bytes: after.bytesReceived - before.bytesReceived },
  }
}

type Settled<T> = { data: T } | { error: Error }
async function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  try {
    return { data: await p }
  } catch (err) {
    return { error: err as Error }
  }
}

function clusterGap(what: string, err: Error, leftOut: string): Gap {
  return { what, message: `${err.message}: ${leftOut} left out of this report` }
}

/** Prometheus answers range queries of at most 11,000 points a series: longer ones go in pieces. */
const MAX_RANGE_POINTS = 10_000

/** [start, end] pieces (ms) of the steps start, start + step, ... <= end, each within MAX_RANGE_POINTS. */
export function rangePieces(startMs: number, endMs: number, stepMs: number): Array<[number, number]> {
  const pieces: Array<[number, number]> = []
  for (let s = startMs; s <= endMs; s += MAX_RANGE_POINTS * stepMs)
    pieces.push([s, Math.min(endMs, s + (MAX_RANGE_POINTS - 1) * stepMs)])
  return pieces
}

/** The queries of one batch, at once; any failing fails the batch. */
async function collectBatch(
  client: PrometheusClient,
  batch: Batch,
  w: Window,
  options: CollectOptions,
  has: { cadvisor: boolean; kubeStateMetrics: boolean; samples: boolean },
  teamLabel: string,
): Promise<BatchResult> {
  const to = options.to
  const v = async (expr: string) => (await client.queryVector(expr, to)).data
  const none = Promise.resolve([] as readonly PromSample[])
  const containerKey = (labels: Readonly<Record<string, string>>) => {
    const { namespace, pod, container } = labels
    return namespace && pod && container ? keyOf(namespace, pod, container) : undefined
  }
  /** a range query's series, joined per container, in pieces where it is long */
  const ranged = async (expr: string, startMs: number, stepMs: number): Promise<SeriesByKey> => {
    const into = new SeriesByKey()
    for (const [start, end] of rangePieces(startMs, to.getTime(), stepMs))
      await client.queryRangeEach(expr, { start, end, stepMs }, (series) => {
        const k = containerKey(series.labels)
        if (k !== undefined) into.add(k, series)
      })
    return into
  }
  // the CPU rate at the steps of the window (those a subquery [W:step] at the window's end would take)
  const stepMs = w.step * 1000
  const gridStart = Math.ceil((to.getTime() - w.seconds * 1000) / stepMs) * stepMs
  const [cpuRates, memory, throttling, resources, status, podRows, owners, memoryPeaks] = await Promise.all([
    has.cadvisor ? ranged(cpuRateQuery(batch, w), gridStart, stepMs) : undefined,
    has.cadvisor ? v(memoryStatsQuery(batch, w)) : none,
    has.cadvisor ? v(throttlingQuery(batch, w)) : none,
    has.kubeStateMetrics ? v(resourcesQuery(batch, w)) : none,
    has.kubeStateMetrics ? v(statusQuery(batch, w)) : none,
    has.kubeStateMetrics ? v(podsQuery(batch, w, teamLabel)) : none,
    has.kubeStateMetrics ? v(ownersQuery(batch, w)) : none,
    has.cadvisor && has.samples
      ? ranged(memoryPeaksQuery(batch), options.from.getTime(), HOUR_MS)
      : undefined,
  ])

  const byKey = new Map<string, PodContainer>()
  const row = (labels: Readonly<Record<string, string>>): PodContainer | undefined => {
    const { namespace, pod, container } = labels
    if (!namespace || !pod || !container) return undefined
    const k = keyOf(namespace, pod, container)
    let r = byKey.get(k)
    if (!r) {
      r = { namespace, pod, container, cpu: {}, memory: {}, request: {}, limit: {}, restarts: 0, oom: false }
      byKey.set(k, r)
    }
    return r
  }
  const rowOf = (key: string) => {
    const [namespace, pod, container] = key.split(SEP) as [string, string, string]
    return row({ namespace, pod, container })!
  }
  const finite = (x: number) => Number.isFinite(x)
  for (const [key, points] of cpuRates?.joined() ?? []) {
    const r = rowOf(key)
    r.cpu = statsOf(points)
    if (has.samples) r.cpuSamples = periodAverages(points, options.from.getTime() / 1000, HOUR_MS / 1000)
  }
  for (const [key, points] of memoryPeaks?.joined() ?? []) rowOf(key).memorySamples = points
  const memorySums = new Map<PodContainer, { sum?: number; count?: number }>()
  for (const s of memory) {
    const stat = s.labels.stat
    const r = row(s.labels)
    if (!r || !finite(s.value)) continue
    if (stat === 'p50' || stat === 'p95' || stat === 'p99' || stat === 'max') r.memory[stat] = s.value
    else if (stat === 'sum' || stat === 'count') {
      const m = memorySums.get(r) ?? {}
      m[stat] = s.value
      memorySums.set(r, m)
    }
  }
  for (const [r, m] of memorySums)
    if (m.sum !== undefined && m.count !== undefined && m.count > 0) {
      r.memory.mean = m.sum / m.count
      r.memory.count = m.count
    }
  for (const s of throttling) {
    const r = row(s.labels)
    if (!r || !finite(s.value)) continue
    if (s.labels.stat === 'throttled') r.throttled = s.value
    if (s.labels.stat === 'periods') r.periods = s.value
  }
  for (const s of resources) {
    const r = row(s.labels)
    const resource = s.labels.resource
    if (!r || (resource !== 'cpu' && resource !== 'memory') || !finite(s.value)) continue
    if (s.labels.stat === 'request') r.request[resource] = s.value
    if (s.labels.stat === 'limit') r.limit[resource] = s.value
  }
  for (const s of status) {
    const r = row(s.labels)
    if (!r || !finite(s.value)) continue
    if (s.labels.stat === 'restarts') r.restarts = Math.round(s.value)
    if (s.labels.stat === 'oom' && s.value >= 1) r.oom = true
    if (s.labels.stat === 'oomAt') r.oomAt = s.value
  }

  const pods = new Map<string, PodInfo>()
  const pod = (labels: Readonly<Record<string, string>>): PodInfo | undefined => {
    if (!labels.namespace || !labels.pod) return undefined
    const k = keyOf(labels.namespace, labels.pod)
    let p = pods.get(k)
    if (!p) {
      p = {}
      pods.set(k, p)
    }
    return p
  }
  for (const s of podRows) {
    const p = pod(s.labels)
    if (!p) continue
    switch (s.labels.stat) {
      case 'owner':
        // a pod has one controller; `<none>` (kube-state-metrics' word for none) is a bare pod
        if (s.labels.owner_kind && s.labels.owner_kind !== '<none>') {
          p.ownerKind = s.labels.owner_kind
          p.ownerName = s.labels.owner_name
        }
        break
      case 'node':
        if (s.labels.node) p.node = s.labels.node
        break
      case 'start':
        p.start = s.value
        break
      case 'team':
        if (s.labels[teamLabel]) p.team = s.labels[teamLabel]
        break
      case 'steps':
        p.steps = s.value
        break
    }
  }
  // a pod's extent from its start and the steps it was seen at (contiguous: a pod does not come back)
  const fromS = (to.getTime() - w.seconds * 1000) / 1000
  for (const p of pods.values()) {
    if (p.steps === undefined) continue
    const seen = Math.min(w.seconds, p.steps * w.step)
    const first = p.start !== undefined ? Math.max(p.start, fromS) : to.getTime() / 1000 - seen
    p.first = first
    p.last = Math.min(to.getTime() / 1000, first + seen)
  }
  const replicaSets = new Map<string, { kind: string; name: string }>()
  const jobs = new Map<string, { kind: string; name: string }>()
  for (const s of owners) {
    const { namespace, owner_kind: kind, owner_name: name } = s.labels
    if (!namespace || !kind || !name || kind === '<none>') continue
    if (s.labels.stat === 'replicaset' && s.labels.replicaset)
      replicaSets.set(keyOf(namespace, s.labels.replicaset), { kind, name })
    if (s.labels.stat === 'job' && s.labels.job_name)
      jobs.set(keyOf(namespace, s.labels.job_name), { kind, name })
  }
  return { containers: [...byKey.values()], pods, replicaSets, jobs }
}

interface HpaTarget {
  resources: ResourceName[]
  minReplicas: number
  maxReplicas: number
}

/** HPAs by their target: namespace, kind, name. */
function hpaTargets(samples: readonly PromSample[]): Map<string, HpaTarget> {
  const byHpa = new Map<
    string,
    { target?: [string, string, string]; min?: number; max?: number; resources: Set<ResourceName> }
  >()
  for (const s of samples) {
    const { namespace, horizontalpodautoscaler: name } = s.labels
    if (!namespace || !name) continue
    const k = keyOf(namespace, name)
    const h = byHpa.get(k) ?? { resources: new Set<ResourceName>() }
    byHpa.set(k, h)
    switch (s.labels.stat) {
      case 'info':
        if (s.labels.scaletargetref_kind && s.labels.scaletargetref_name)
          h.target = [namespace, s.labels.scaletargetref_kind, s.labels.scaletargetref_name]
        break
      case 'min':
        h.min = s.value
        break
      case 'max':
        h.max = s.value
        break
      case 'metric':
        if (s.labels.metric_name === 'cpu' || s.labels.metric_name === 'memory')
          h.resources.add(s.labels.metric_name)
        break
    }
  }
  const out = new Map<string, HpaTarget>()
  for (const h of byHpa.values()) {
    if (!h.target) continue
    const k = keyOf(...h.target)
    const prev = out.get(k)
    const resources = new Set([...(prev?.resources ?? []), ...h.resources])
    out.set(k, {
      resources: (['cpu', 'memory'] as const).filter((r) => resources.has(r)),
      minReplicas: h.min ?? prev?.minReplicas ?? 1,
      maxReplicas: h.max ?? prev?.maxReplicas ?? h.min ?? 1,
    })
  }
  return out
}

/** A pod's workload: its controller followed up through ReplicaSets and Jobs; a bare pod is its own. */
function workloadOf(
  namespace: string,
  pod: string,
  info: PodInfo | undefined,
  replicaSets: Map<string, { kind: string; name: string }>,
  jobs: Map<string, { kind: string; name: string }>,
): { kind: WorkloadKind; name: string } {
  const kind = info?.ownerKind
  const name = info?.ownerName
  if (!kind || !name) return { kind: 'Pod', name: pod }
  switch (kind) {
    case 'ReplicaSet': {
      const up = replicaSets.get(keyOf(namespace, name))
      return up?.kind === 'Deployment' ? { kind: 'Deployment', name: up.name } : { kind: 'ReplicaSet', name }
    }
    case 'Job': {
      const up = jobs.get(keyOf(namespace, name))
      return up?.kind === 'CronJob' ? { kind: 'CronJob', name: up.name } : { kind: 'Job', name }
    }
    case 'StatefulSet':
    case 'DaemonSet':
      return { kind, name }
    default:
      // a static pod (owner Node) or a controller Plimsoll does not know: the pod on its own
      return { kind: 'Pod', name: pod }
  }
}

/** The first and last step a pod-container was seen at: its CPU usage, else its pod. */
function extentOf(c: PodContainer, info: PodInfo | undefined): Extent {
  if (c.cpu.first !== undefined) return c.cpu
  return {
    count: 0,
    ...(info?.first !== undefined ? { first: info.first } : {}),
    ...(info?.last !== undefined ? { last: info.last } : {}),
  }
}

/** The seconds a pod-container ran in the window. */
function runningOf(c: PodContainer, info: PodInfo | undefined): number {
  const e = extentOf(c, info)
  return e.first !== undefined && e.last !== undefined ? Math.max(0, e.last - e.first) : 0
}

/** Pods' containers -> workloads' containers. */
function aggregate(
  podContainers: readonly PodContainer[],
  ctx: {
    cluster: string
    windowEnd: string
    pods: Map<string, PodInfo>
    replicaSets: Map<string, { kind: string; name: string }>
    jobs: Map<string, { kind: string; name: string }>
    namespaceTeams: Map<string, string>
    hpas: Map<string, HpaTarget>
  },
): ContainerUsage[] {
  const groups = new Map<string, { ref: WorkloadRef; container: string; members: PodContainer[] }>()
  for (const c of podContainers) {
    const info = ctx.pods.get(keyOf(c.namespace, c.pod))
    const w = workloadOf(c.namespace, c.pod, info, ctx.replicaSets, ctx.jobs)
    const k = keyOf(c.namespace, w.kind, w.name, c.container)
    const g = groups.get(k) ?? {
      ref: { cluster: ctx.cluster, namespace: c.namespace, kind: w.kind, name: w.name },
      container: c.container,
      members: [],
    }
    g.members.push(c)
    groups.set(k, g)
  }
  const out: ContainerUsage[] = []
  for (const { ref, container, members } of groups.values()) {
    const info = (c: PodContainer) => ctx.pods.get(keyOf(c.namespace, c.pod))
    const extent = (c: PodContainer): Extent => extentOf(c, info(c))
    // the latest pod first: its requests, limits and labels are the workload's now
    const latest = [...members].sort(
      (a, b) => (extent(b).last ?? info(b)?.start ?? 0) - (extent(a).last ?? info(a)?.start ?? 0),
    )
    const newest = latest[0]!
    const running = members.map((c) => runningOf(c, info(c)))
    const runningSeconds = running.reduce((a, b) => a + b, 0)
    const firsts = members.map((c) => extent(c).first).filter((x): x is number => x !== undefined)
    const lasts = members.map((c) => extent(c).last).filter((x): x is number => x !== undefined)
    const starts = members.map((c) => info(c)?.start).filter((x): x is number => x !== undefined && x > 0)
    const oomKills: OomKill[] = members
      .filter((c) => c.oom)
      .map((c) => ({
        at: iso(c.oomAt ?? extent(c).first ?? 0),
        memory: c.limit.memory ?? c.memory.max ?? 0,
      }))
      .sort((a, b) => a.at.localeCompare(b.at))
    const periods = members.reduce((n, c) => n + (c.periods ?? 0), 0)
    const throttled = members.reduce((n, c) => n + (c.throttled ?? 0), 0)
    const team =
      latest.map((c) => info(c)?.team).find((t) => t !== undefined) ?? ctx.namespaceTeams.get(ref.namespace)
    const hpa = ctx.hpas.get(keyOf(ref.namespace, ref.kind, ref.name))
    const samples = (field: 'cpuSamples' | 'memorySamples') => {
      const list = members.flatMap((c) => c[field] ?? [])
      return list.length > 0 ? mergeSampleSeries(list) : undefined
    }
    const cpuSamples = samples('cpuSamples')
    const memorySamples = samples('memorySamples')
    const count = (c: PodContainer) => extent(c).count ?? 0
    out.push({
      workload: ref,
      container,
      ...(team !== undefined ? { team } : {}),
      pods: new Set(members.map((c) => c.pod)).size,
      maxReplicas: maxOverlap(
        members.map((c) => [
          extent(c).first ?? info(c)?.start ?? 0,
          extent(c).last ?? Number.POSITIVE_INFINITY,
        ]),
      ),
      cpu: {
        usage: statsOver(members.map((c) => c.cpu)),
        request: newest.request.cpu,
        limit: newest.limit.cpu,
        ...(cpuSamples ? { samples: cpuSamples } : {}),
      },
      memory: {
        usage: statsOver(members.map((c) => c.memory)),
        request: newest.request.memory,
        limit: newest.limit.memory,
        ...(memorySamples ? { samples: memorySamples } : {}),
      },
      ...(periods > 0 ? { cpuThrottled: throttled / periods } : {}),
      restarts: members.reduce((n, c) => n + c.restarts, 0),
      oomKills,
      runningSeconds,
      ...(starts.length > 0 ? { startedAt: iso(Math.min(...starts)) } : {}),
      history: {
        // no usage and no pod series: nothing seen, an empty extent at the window's end
        from: firsts.length > 0 ? iso(Math.min(...firsts)) : ctx.windowEnd,
        to: lasts.length > 0 ? iso(Math.max(...lasts)) : ctx.windowEnd,
        samples: members.reduce((n, c) => n + count(c), 0),
      },
      ...(hpa ? { hpa } : {}),
    })
  }
  const order = (c: ContainerUsage) => [c.workload.namespace, c.workload.kind, c.workload.name, c.container]
  return out.sort((a, b) => {
    const x = order(a)
    const y = order(b)
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1
    return 0
  })
}

/**
 * A workload's statistics over its pods: each percentile and the max the largest of its pods' (the
 * busiest pod is what a request must fit: requests are per pod); the mean weighted by points (the
 * average pod while running, what the cost model charges per pod-hour).
 */
function statsOver(stats: readonly Stats[]): UsageStats | undefined {
  const full = stats.filter(
    (s) => s.p50 !== undefined && s.p95 !== undefined && s.p99 !== undefined && s.max !== undefined,
  )
  if (full.length === 0) return undefined
  const top = (f: 'p50' | 'p95' | 'p99' | 'max') => Math.max(...full.map((s) => s[f]!))
  const weighted = full.filter((s) => s.mean !== undefined)
  const weight = weighted.reduce((n, s) => n + (s.count ?? 1), 0)
  const mean = weight > 0 ? weighted.reduce((n, s) => n + s.mean! * (s.count ?? 1), 0) / weight : undefined
  return {
    p50: top('p50'),
    p95: top('p95'),
    p99: top('p99'),
    max: top('max'),
    ...(mean !== undefined ? { mean } : {}),
  }
}

/** The most intervals [from, to] that overlap at one time. */
function maxOverlap(intervals: ReadonlyArray<readonly [number, number]>): number {
  const events: Array<[number, number]> = []
  for (const [a, b] of intervals) events.push([a, 1], [b, -1])
  // at the same time, a start before an end: pods that hand over at one step count as overlapping
  events.sort((x, y) => x[0] - y[0] || y[1] - x[1])
  let now = 0
  let most = 0
  for (const [, d] of events) {
    now += d
    most = Math.max(most, now)
  }
  return Math.max(1, most)
}

/** Capacity type labels and how their values say spot. */
const CAPACITY_TYPE_LABELS = [
  'karpenter.sh/capacity-type',
  'eks.amazonaws.com/capacityType',
  'cloud.google.com/gke-spot',
  'cloud.google.com/gke-preemptible',
  'kubernetes.azure.com/scalesetpriority',
]

/** 'spot' or 'on-demand' from a node's labels (as kube_node_labels has them), or undefined. */
export function capacityTypeOf(labels: Readonly<Record<string, string>>): 'spot' | 'on-demand' | undefined {
  for (const name of CAPACITY_TYPE_LABELS) {
    const value = labels[ksmLabel(name)] ?? labels[ksmLabelSnake(name)]
    if (value === undefined || value === '') continue
    const v = value.toLowerCase()
    if (name.startsWith('cloud.google.com/')) return v === 'true' ? 'spot' : 'on-demand'
    if (v === 'spot' || v === 'preemptible') return 'spot'
    if (/^(on[-_]?demand|regular|reserved)$/.test(v)) return 'on-demand'
  }
  return undefined
}

function assembleNodes(
  cluster: string,
  samples: readonly PromSample[],
  root: readonly PromSample[],
  podContainers: readonly PodContainer[],
  pods: Map<string, PodInfo>,
  w: Window,
): NodeUsage[] {
  type Acc = {
    capacity: { cpu: number; memory: number }
    allocatable: { cpu: number; memory: number }
    requested: { cpu: number; memory: number }
    labels?: Readonly<Record<string, string>>
    /** steps of the window it was seen at */
    steps?: number
  }
  const nodes = new Map<string, Acc>()
  const node = (name: string): Acc => {
    let n = nodes.get(name)
    if (!n) {
      n = {
        capacity: { cpu: 0, memory: 0 },
        allocatable: { cpu: 0, memory: 0 },
        requested: { cpu: 0, memory: 0 },
      }
      nodes.set(name, n)
    }
    return n
  }
  for (const s of samples) {
    const name = s.labels.node
    if (!name || !Number.isFinite(s.value)) continue
    const stat = s.labels.stat
    const resource = s.labels.resource
    if (
      (stat === 'capacity' || stat === 'allocatable' || stat === 'requested') &&
      (resource === 'cpu' || resource === 'memory')
    )
      node(name)[stat][resource] = s.value
    else if (stat === 'labels') node(name).labels = s.labels
    else if (stat === 'steps') node(name).steps = s.value
  }
  // used: cAdvisor's root cgroup where labelled with its node, else the sum of its containers' averages
  const used = new Map<string, { cpu: number; memory: number }>()
  for (const s of root) {
    const name = s.labels.node
    const r = s.labels.stat
    if (!name || (r !== 'cpu' && r !== 'memory') || !Number.isFinite(s.value)) continue
    const u = used.get(name) ?? { cpu: 0, memory: 0 }
    u[r] = s.value
    used.set(name, u)
  }
  const fromContainers = new Map<string, { cpu: number; memory: number }>()
  for (const c of podContainers) {
    const name = pods.get(keyOf(c.namespace, c.pod))?.node
    if (!name) continue
    const u = fromContainers.get(name) ?? { cpu: 0, memory: 0 }
    // its average while running x the share of the window it ran
    const e = extentOf(c, pods.get(keyOf(c.namespace, c.pod)))
    for (const r of ['cpu', 'memory'] as const) {
      const mean = c[r].mean
      if (mean === undefined || e.first === undefined || e.last === undefined) continue
      u[r] += (mean * (e.last - e.first)) / w.seconds
    }
    fromContainers.set(name, u)
  }
  return [...nodes]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, n]): NodeUsage => {
      const labels = n.labels ?? {}
      const instanceType =
        labels.label_node_kubernetes_io_instance_type ||
        labels.label_beta_kubernetes_io_instance_type ||
        undefined
      const capacityType = capacityTypeOf(labels)
      return {
        cluster,
        name,
        ...(instanceType ? { instanceType } : {}),
        ...(capacityType ? { capacityType } : {}),
        capacity: n.capacity,
        allocatable: n.allocatable,
        requested: n.requested,
        used: used.get(name) ?? fromContainers.get(name) ?? { cpu: 0, memory: 0 },
        runningSeconds: n.steps !== undefined ? Math.min(w.seconds, n.steps * w.step) : 0,
      }
    })
}
