/**
 * A made-up cluster's history as a real Prometheus would hold it, for the usage tests: the series that
 * the kubelet's cAdvisor and kube-state-metrics (v2) expose, with their exact names and labels, over
 * days, for test/helpers/prometheus-backfill.ts to backfill. Usage follows daily profiles whose
 * percentiles are known in advance (see DailyProfile), so that tests can assert what Plimsoll computes
 * against true values.
 *
 * The label sets, and where they come from:
 * - cAdvisor, via the kubelet's /metrics/cadvisor (as kubelets v1.30-1.33 print them with containerd and
 *   the systemd cgroup driver; google/cadvisor#2630, k3s-io/k3s#6210, rancher/rke2#7436 show real
 *   output): `container_cpu_usage_seconds_total{container, cpu="total", id, image, name, namespace,
 *   pod}` (a counter: CPU seconds since the container started), `container_memory_working_set_bytes
 *   {container, id, image, name, namespace, pod}`, `container_cpu_cfs_periods_total` and
 *   `container_cpu_cfs_throttled_periods_total` (same labels; only for containers with a CPU limit, a
 *   CFS quota). `id` is the cgroup path, `name` the container runtime's id (64 hex): a restarted
 *   container is a new series. Besides containers, cAdvisor has a series per pod cgroup (container="",
 *   image="", name="") and for the pause container (container="", image=the pause image): queries
 *   must keep `container!=""` (kube-prometheus's rules use `image!=""` too). Scraping adds job="kubelet",
 *   metrics_path="/metrics/cadvisor", instance="<node IP>:10250" (kube-prometheus's ServiceMonitor, with
 *   honorLabels, so cAdvisor's namespace/pod win).
 * - kube-state-metrics v2 (docs/metrics/workload/pod-metrics.md, replicaset-metrics.md, job-metrics.md,
 *   cluster/node-metrics.md of kubernetes/kube-state-metrics; the corpus's kube-prometheus install runs
 *   v2.19.1): `kube_pod_container_resource_requests` / `_limits{namespace, pod, uid, container, node,
 *   resource="cpu"|"memory", unit="core"|"byte"}`, `kube_pod_container_status_restarts_total{namespace,
 *   pod, uid, container}` (counter), `kube_pod_container_status_last_terminated_reason{namespace, pod, uid,
 *   container, reason}` (1 while the container's lastState is that termination),
 *   `kube_pod_container_status_last_terminated_exitcode`, `kube_pod_start_time{namespace, pod, uid}`
 *   (unix seconds), `kube_pod_owner{namespace, pod, uid, owner_kind, owner_name, owner_is_controller}`,
 *   `kube_pod_info{namespace, pod, uid, node, host_ip, pod_ip, created_by_kind, created_by_name,
 *   priority_class, host_network}`, `kube_replicaset_owner{namespace, replicaset, owner_kind,
 *   owner_name, owner_is_controller}`, `kube_job_owner{namespace, job_name, owner_kind, owner_name,
 *   owner_is_controller}` (`job_name`, since `job` is the scrape's), `kube_node_status_capacity` /
 *   `_allocatable{node, resource, unit}` (cpu/core, memory/byte, pods/integer), `kube_node_info{node,
 *   kernel_version, os_image, container_runtime_version, kubelet_version, kubeproxy_version, provider_id,
 *   pod_cidr, system_uuid, internal_ip}`, `kube_node_labels{node, label_<label>...}` (only the labels
 *   allowed by --metric-labels-allowlist: none by default; kube-prometheus allows none either, so the
 *   instance type comes from kube_node_labels only where the operator allowed it). Scraping adds job and
 *   instance. kube-prometheus's ServiceMonitor for kube-state-metrics (manifests/kubeStateMetrics-
 *   serviceMonitor.yaml) has honorLabels and drops its target's pod/service/endpoint/namespace, but
 *   not `container`: series that lack one (kube_pod_owner, kube_node_info...) get
 *   container="kube-rbac-proxy-main". `KUBE_PROMETHEUS_KSM_TARGET` reproduces that.
 */
import { createHash } from 'node:crypto'
import type { Labels, SeriesDef } from './prometheus-backfill.js'

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR
/** usage changes in steps of this: the step of the rate subqueries, and the rate window */
export const SLOT_MS = 5 * MINUTE
export const DAY_SLOTS = DAY / SLOT_MS

/**
 * A day of usage in 5-minute slots (UTC midnight to midnight): [value, slots] blocks in the order the day
 * runs, 288 slots in all. Slot k covers (midnight + 5k min, midnight + 5(k+1) min]: left-open, as a rate
 * window is, so that `rate(x[5m])` at a time on the 5-minute grid sees one slot only, and gives its value
 * exactly. The percentiles over whole days are then the values of the plateau each rank falls into.
 */
export interface DailyProfile {
  readonly blocks: ReadonlyArray<readonly [value: number, slots: number]>
}

/**
 * CPU (cores): a quiet night and morning (0.1 for 173 slots, 60%), business hours (0.25, 95 slots),
 * an evening peak (0.5 for 12 slots, 0.8 for 7) and one 5-minute spike (1.6). Over whole days: p50 0.1,
 * p90 0.25, p95 0.5, p99 0.8, max 1.6 (each rank lies inside its plateau, at least 26 points of a 14-day
 * 5-minute subquery from its edge).
 */
export const CPU_PROFILE: DailyProfile = {
  blocks: [
    [0.1, 173],
    [0.25, 95],
    [0.5, 12],
    [0.8, 7],
    [1.6, 1],
  ],
}
export const CPU_TRUTH = { p50: 0.1, p90: 0.25, p95: 0.5, p99: 0.8, max: 1.6 } as const

const MiB = 1024 * 1024
/** Memory working set (bytes), the same shape: p50 180 MiB, p90 220, p95 256, p99 300, max 340. */
export const MEMORY_PROFILE: DailyProfile = {
  blocks: [
    [180 * MiB, 173],
    [220 * MiB, 95],
    [256 * MiB, 12],
    [300 * MiB, 7],
    [340 * MiB, 1],
  ],
}
export const MEMORY_TRUTH = { p50: 180 * MiB, p90: 220 * MiB, p95: 256 * MiB, p99: 300 * MiB, max: 340 * MiB }

/** A flat profile: the same value all day. */
export const flat = (value: number): DailyProfile => ({ blocks: [[value, DAY_SLOTS]] })

/** Scales a profile's values (a second container at half the first's usage...). */
export const scaled = (profile: DailyProfile, factor: number): DailyProfile => ({
  blocks: profile.blocks.map(([v, n]) => [v * factor, n] as const),
})

function checkProfile(profile: DailyProfile): number[] {
  const slots: number[] = []
  for (const [value, n] of profile.blocks) for (let i = 0; i < n; i++) slots.push(value)
  if (slots.length !== DAY_SLOTS)
    throw new Error(`a daily profile has ${slots.length} slots, not ${DAY_SLOTS}`)
  return slots
}

const slotTables = new WeakMap<DailyProfile, number[]>()

/** The profile's value in the slot that holds t: (slot start, slot end]. */
export function profileAt(profile: DailyProfile, t: number): number {
  let table = slotTables.get(profile)
  if (!table) {
    table = checkProfile(profile)
    slotTables.set(profile, table)
  }
  const inDay = (((t - 1) % DAY) + DAY) % DAY
  return table[Math.floor(inDay / SLOT_MS)]!
}

/**
 * Prometheus's quantile (quantile_over_time): rank q(n-1) in the sorted values, interpolated linearly
 * between its neighbours. What a test computes over the exact points a query covers.
 */
export function promQuantile(q: number, values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = q * (sorted.length - 1)
  const lower = Math.max(0, Math.floor(rank))
  const upper = Math.min(sorted.length - 1, lower + 1)
  const weight = rank - Math.floor(rank)
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight
}

export interface ContainerSpec {
  readonly name: string
  readonly image: string
  /** cores */
  readonly cpu: DailyProfile
  /** working set bytes */
  readonly memory: DailyProfile
  readonly requests?: { readonly cpu?: number; readonly memory?: number }
  readonly limits?: { readonly cpu?: number; readonly memory?: number }
  /**
   * Restarts: at `at` (ms, on the scrape grid) the container ends (OOMKilled: exit code 137) and a new
   * one starts: new cAdvisor series (a new runtime id), its CPU counter from 0; restarts_total counts
   * it, and last_terminated_reason/exitcode say it from then on. Before an OOM kill the working set is
   * at the memory limit (if there is one) for the killed instance's last two scrapes.
   */
  readonly restarts?: ReadonlyArray<{
    readonly at: number
    readonly reason: 'OOMKilled' | 'Error' | 'Completed'
  }>
}

export interface PodSpec {
  readonly namespace: string
  readonly name: string
  readonly node: string
  /** the controller that owns it (kube_pod_owner); none for a bare pod */
  readonly owner?: {
    readonly kind: 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'Node'
    readonly name: string
  }
  /** ms; on the scrape grid */
  readonly start: number
  /** ms; the pod's series stop (a finished Job's pod, a replaced one); default: the history's end */
  readonly end?: number
  readonly containers: readonly ContainerSpec[]
  readonly uid?: string
  readonly podIp?: string
  /** Kubernetes labels of the pod, exposed as kube_pod_labels{label_<name>} (as if allowlisted) */
  readonly labels?: Readonly<Record<string, string>>
}

/**
 * The tests' worker: `worker-0` of the StatefulSet `worker` in `shop` on node-a, at half the CPU profile
 * and 3/4 of the memory one, requesting 200m and 256Mi with a 320Mi memory limit, OOM-killed once at
 * `oomAt`.
 */
export function workerPod(start: number, oomAt: number): PodSpec {
  return {
    namespace: 'shop',
    name: 'worker-0',
    node: 'node-a',
    owner: { kind: 'StatefulSet', name: 'worker' },
    start,
    containers: [
      {
        name: 'worker',
        image: 'registry.example.com/shop/worker:2.0.0',
        cpu: scaled(CPU_PROFILE, 0.5),
        memory: scaled(MEMORY_PROFILE, 0.75),
        requests: { cpu: 0.2, memory: 256 * MiB },
        limits: { memory: 320 * MiB },
        restarts: [{ at: oomAt, reason: 'OOMKilled' }],
      },
    ],
  }
}

export interface NodeSpec {
  readonly name: string
  /** cores and bytes */
  readonly capacity: { readonly cpu: number; readonly memory: number; readonly pods?: number }
  readonly allocatable: { readonly cpu: number; readonly memory: number; readonly pods?: number }
  /** node.kubernetes.io/instance-type, topology.kubernetes.io/zone and /region */
  readonly instanceType?: string
  readonly zone?: string
  readonly region?: string
  /** e.g. aws:///eu-west-1a/i-0123456789abcdef0 */
  readonly providerId?: string
  readonly internalIp: string
  /**
   * cAdvisor's root cgroup (id="/", container="", image=""): the node's whole use, its pods' plus this
   * (system daemons, the kernel); emitted only with ClusterSpec.kubeletNodeLabel
   */
  readonly rootCgroup?: { readonly cpu: number; readonly memory: number }
  /**
   * more Kubernetes labels for kube_node_labels (as label_<sanitised name>, when allowlisted), e.g.
   * karpenter.sh/capacity-type: spot
   */
  readonly labels?: Readonly<Record<string, string>>
}

/**
 * The tests' usual node: `node-a`, an m5.xlarge in eu-west-1a (4 cores and 16 GiB, 3.92 and 15 GiB
 * allocatable). Spread it to add a region, labels, a root cgroup...
 */
export const NODE_A: NodeSpec = {
  name: 'node-a',
  capacity: { cpu: 4, memory: 16 * 1024 * MiB },
  allocatable: { cpu: 3.92, memory: 15 * 1024 * MiB },
  instanceType: 'm5.xlarge',
  zone: 'eu-west-1a',
  internalIp: '10.0.1.17',
}

/** The ReplicaSet of the Deployment `api` in `shop`, which owns the pods of apiPod(). */
export const API_REPLICASET = { namespace: 'shop', name: 'api-7d9c8b7f5', deployment: 'api' } as const

/**
 * The tests' api pod: `api-7d9c8b7f5-<suffix>` of the ReplicaSet API_REPLICASET in `shop`, started at
 * `start`, its one container `api` at `factor` x the CPU and memory profiles (default 1), requesting
 * `requests` (default 500m and 512Mi) with `limits` (default 1 core and 1Gi).
 */
export function apiPod(options: {
  start: number
  suffix?: string
  node?: string
  factor?: number
  requests?: ContainerSpec['requests']
  limits?: ContainerSpec['limits']
}): PodSpec {
  const factor = options.factor ?? 1
  return {
    namespace: API_REPLICASET.namespace,
    name: `${API_REPLICASET.name}-${options.suffix ?? 'q2x7z'}`,
    node: options.node ?? NODE_A.name,
    owner: { kind: 'ReplicaSet', name: API_REPLICASET.name },
    start: options.start,
    containers: [
      {
        name: 'api',
        image: 'registry.example.com/shop/api:1.4.2',
        cpu: factor === 1 ? CPU_PROFILE : scaled(CPU_PROFILE, factor),
        memory: factor === 1 ? MEMORY_PROFILE : scaled(MEMORY_PROFILE, factor),
        requests: options.requests ?? { cpu: 0.5, memory: 512 * MiB },
        limits: options.limits ?? { cpu: 1, memory: 1024 * MiB },
      },
    ],
  }
}

export interface ClusterSpec {
  /** ms, on the scrape grid (and best on the 5-minute grid); end inclusive */
  readonly start: number
  readonly end: number
  /** the scrape interval (default 60 s) */
  readonly scrapeMs?: number
  readonly nodes: readonly NodeSpec[]
  readonly pods: readonly PodSpec[]
  readonly replicaSets?: ReadonlyArray<{
    readonly namespace: string
    readonly name: string
    readonly deployment: string
  }>
  readonly jobs?: ReadonlyArray<{
    readonly namespace: string
    readonly name: string
    readonly cronJob: string
  }>
  /** labels a kube-state-metrics scrape adds to series that lack them (default: job and instance) */
  readonly ksmTarget?: Labels
  /** the pod-level cgroup and pause container series cAdvisor also exposes (default true) */
  readonly podCgroups?: boolean
  /** kube_node_labels carries the instance type, zone and region (an allowlist set; default true) */
  readonly nodeLabelsAllowed?: boolean
  /** namespaces with their labels: kube_namespace_labels{namespace, label_<name>...} */
  readonly namespaces?: ReadonlyArray<{
    readonly name: string
    readonly labels?: Readonly<Record<string, string>>
  }>
  /**
   * HorizontalPodAutoscalers (kube-state-metrics v2: kube_horizontalpodautoscaler_info{scaletargetref_kind,
   * scaletargetref_name}, _spec_min_replicas, _spec_max_replicas, _spec_target_metric{metric_name,
   * metric_target_type})
   */
  readonly hpas?: ReadonlyArray<{
    readonly namespace: string
    readonly name: string
    readonly target: { readonly kind: string; readonly name: string }
    readonly metrics: ReadonlyArray<'cpu' | 'memory'>
    readonly minReplicas: number
    readonly maxReplicas: number
  }>
  /** the kube-state-metrics series are there (default true); false: cAdvisor's only */
  readonly kubeStateMetrics?: boolean
  /** the cAdvisor series are there (default true); false: kube-state-metrics' only */
  readonly cadvisor?: boolean
  /**
   * the kubelet's scrape labels cAdvisor's series with `node` (the Prometheus Operator's relabelling of an
   * endpoint whose target is a Node: kube-prometheus's kubelet ServiceMonitor); default false
   */
  readonly kubeletNodeLabel?: boolean
}

/** A Kubernetes label name as kube-state-metrics writes it after `label_`: other characters become _. */
export const ksmLabelName = (name: string): string => `label_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`

export const DEFAULT_KSM_TARGET: Labels = { job: 'kube-state-metrics', instance: '10.244.0.12:8080' }
/**
 * What kube-prometheus's ServiceMonitor for kube-state-metrics adds to series that lack the labels
 * (honorLabels: true; it drops the target's pod, service, endpoint and namespace, not its container).
 */
export const KUBE_PROMETHEUS_KSM_TARGET: Labels = {
  job: 'kube-state-metrics',
  instance: '10.244.0.12:8443',
  container: 'kube-rbac-proxy-main',
}

const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10'
/** CPU seconds of a container that ran before the history starts */
const PREVIOUS_CPU_SECONDS = 86_400

const hex = (...parts: string[]) => createHash('sha256').update(parts.join('/')).digest('hex')
export const podUid = (pod: Pick<PodSpec, 'namespace' | 'name' | 'uid'>): string => {
  if (pod.uid) return pod.uid
  const h = hex('uid', pod.namespace, pod.name)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

function qosClass(pod: PodSpec): 'guaranteed' | 'burstable' | 'besteffort' {
  const all = pod.containers
  if (all.every((c) => !c.requests?.cpu && !c.requests?.memory && !c.limits?.cpu && !c.limits?.memory))
    return 'besteffort'
  const guaranteed = all.every(
    (c) =>
      c.limits?.cpu !== undefined &&
      c.limits?.memory !== undefined &&
      (c.requests?.cpu ?? c.limits.cpu) === c.limits.cpu &&
      (c.requests?.memory ?? c.limits.memory) === c.limits.memory,
  )
  return guaranteed ? 'guaranteed' : 'burstable'
}

/** The pod's cgroup as the systemd driver names it. */
function podCgroup(pod: PodSpec): string {
  const uid = podUid(pod).replace(/-/g, '_')
  const qos = qosClass(pod)
  return qos === 'guaranteed'
    ? `/kubepods.slice/kubepods-pod${uid}.slice`
    : `/kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${uid}.slice`
}

type Points = Array<[number, number]>

/** The scrape times from a to b (inclusive), on the grid of `step` from `origin`. */
function* grid(origin: number, step: number, a: number, b: number): Iterable<number> {
  const first = origin + Math.ceil((a - origin) / step) * step
  for (let t = first; t <= b; t += step) yield t
}

/**
 * Every series of the cluster over [start, end]. Counters integrate the profile: between two scrapes at
 * t - s and t the CPU counter grows by s x the rate of the slot holding t.
 */
export function clusterSeries(spec: ClusterSpec): SeriesDef[] {
  const step = spec.scrapeMs ?? MINUTE
  const out: SeriesDef[] = []
  const ksm = spec.ksmTarget ?? DEFAULT_KSM_TARGET
  const ksmLabels = (labels: Labels): Labels => ({ ...ksm, ...labels })
  const nodes = new Map(spec.nodes.map((n) => [n.name, n]))
  const constant = (from: number, to: number, value: number): Points => {
    const points: Points = []
    for (const t of grid(spec.start, step, from, to)) points.push([t, value])
    return points
  }
  const gauge = (name: string, help: string, labels: Labels, samples: Points) =>
    out.push({ name, type: 'gauge', help, labels, samples })
  const counter = (name: string, help: string, labels: Labels, samples: Points) =>
    out.push({ name, type: 'counter', help, labels, samples })
  /** A cgroup's CPU seconds (cpu="total") and working set, as cAdvisor exposes them. */
  const cgroup = (labels: Labels, cpu: Points, memory: Points) => {
    counter(
      'container_cpu_usage_seconds_total',
      'Cumulative cpu time consumed in seconds.',
      { ...labels, cpu: 'total' },
      cpu,
    )
    gauge('container_memory_working_set_bytes', 'Current working set in bytes.', labels, memory)
  }

  for (const node of spec.nodes) {
    const all = constant(spec.start, spec.end, 1)
    const at = (v: number) => all.map(([t]) => [t, v] as [number, number])
    for (const [metric, help, r] of [
      ['kube_node_status_capacity', 'The total amount of resources available for a node.', node.capacity],
      [
        'kube_node_status_allocatable',
        'The amount of resources allocatable for pods (after reserving some for system daemons).',
        node.allocatable,
      ],
    ] as const) {
      gauge(metric, help, ksmLabels({ node: node.name, resource: 'cpu', unit: 'core' }), at(r.cpu))
      gauge(metric, help, ksmLabels({ node: node.name, resource: 'memory', unit: 'byte' }), at(r.memory))
      gauge(
        metric,
        help,
        ksmLabels({ node: node.name, resource: 'pods', unit: 'integer' }),
        at(r.pods ?? 110),
      )
    }
    gauge(
      'kube_node_info',
      'Information about a cluster node.',
      ksmLabels({
        node: node.name,
        kernel_version: '6.1.0-28-cloud-amd64',
        os_image: 'Debian GNU/Linux 12 (bookworm)',
        container_runtime_version: 'containerd://1.7.24',
        kubelet_version: 'v1.32.4',
        kubeproxy_version: 'v1.32.4',
        provider_id: node.providerId ?? '',
        pod_cidr: '',
        system_uuid: hex('system', node.name).slice(0, 32),
        internal_ip: node.internalIp,
      }),
      at(1),
    )
    const nodeLabels: Record<string, string> = { node: node.name }
    if (spec.nodeLabelsAllowed !== false) {
      nodeLabels.label_kubernetes_io_arch = 'amd64'
      nodeLabels.label_kubernetes_io_os = 'linux'
      if (node.instanceType) nodeLabels.label_node_kubernetes_io_instance_type = node.instanceType
      if (node.zone) nodeLabels.label_topology_kubernetes_io_zone = node.zone
      if (node.region) nodeLabels.label_topology_kubernetes_io_region = node.region
      for (const [k, v] of Object.entries(node.labels ?? {})) nodeLabels[ksmLabelName(k)] = v
    }
    gauge(
      'kube_node_labels',
      'Kubernetes labels converted to Prometheus labels.',
      ksmLabels(nodeLabels),
      at(1),
    )
  }

  for (const rs of spec.replicaSets ?? [])
    gauge(
      'kube_replicaset_owner',
      "Information about the ReplicaSet's owner.",
      ksmLabels({
        namespace: rs.namespace,
        replicaset: rs.name,
        owner_kind: 'Deployment',
        owner_name: rs.deployment,
        owner_is_controller: 'true',
      }),
      constant(spec.start, spec.end, 1),
    )
  for (const job of spec.jobs ?? [])
    gauge(
      'kube_job_owner',
      "Information about the Job's owner.",
      ksmLabels({
        namespace: job.namespace,
        job_name: job.name,
        owner_kind: 'CronJob',
        owner_name: job.cronJob,
        owner_is_controller: 'true',
      }),
      constant(spec.start, spec.end, 1),
    )

  for (const ns of spec.namespaces ?? []) {
    const labels: Record<string, string> = { namespace: ns.name }
    for (const [k, v] of Object.entries(ns.labels ?? {})) labels[ksmLabelName(k)] = v
    gauge(
      'kube_namespace_labels',
      'Kubernetes labels converted to Prometheus labels.',
      ksmLabels(labels),
      constant(spec.start, spec.end, 1),
    )
  }
  for (const hpa of spec.hpas ?? []) {
    const key = { namespace: hpa.namespace, horizontalpodautoscaler: hpa.name }
    const all = constant(spec.start, spec.end, 1)
    const at = (v: number) => all.map(([t]) => [t, v] as [number, number])
    gauge(
      'kube_horizontalpodautoscaler_info',
      'Information about this autoscaler.',
      ksmLabels({
        ...key,
        scaletargetref_api_version: 'apps/v1',
        scaletargetref_kind: hpa.target.kind,
        scaletargetref_name: hpa.target.name,
      }),
      at(1),
    )
    gauge(
      'kube_horizontalpodautoscaler_spec_min_replicas',
      'Lower limit for the number of pods that can be set by the autoscaler, default 1.',
      ksmLabels(key),
      at(hpa.minReplicas),
    )
    gauge(
      'kube_horizontalpodautoscaler_spec_max_replicas',
      'Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.',
      ksmLabels(key),
      at(hpa.maxReplicas),
    )
    for (const metric of hpa.metrics)
      gauge(
        'kube_horizontalpodautoscaler_spec_target_metric',
        'The metric specifications used by this autoscaler when calculating the desired replica count.',
        ksmLabels({ ...key, metric_name: metric, metric_target_type: 'utilization' }),
        at(70),
      )
  }

  /** per node, the sum of its containers' CPU rate and working set at each scrape (the root cgroup's) */
  const nodeCpu = new Map<string, Map<number, number>>()
  const nodeMem = new Map<string, Map<number, number>>()
  for (const pod of spec.pods) {
    const node = nodes.get(pod.node)
    if (!node)
      throw new Error(`pod ${pod.namespace}/${pod.name} is on node ${pod.node}, which is not defined`)
    const uid = podUid(pod)
    const from = Math.max(pod.start, spec.start)
    const to = Math.min(pod.end ?? spec.end, spec.end)
    const podKey = { namespace: pod.namespace, pod: pod.name, uid }
    const life = (v: number) => constant(from, to, v)
    gauge(
      'kube_pod_start_time',
      'Start time in unix timestamp for a pod.',
      ksmLabels(podKey),
      life(pod.start / 1000),
    )
    gauge(
      'kube_pod_owner',
      "Information about the Pod's owner.",
      ksmLabels({
        ...podKey,
        owner_kind: pod.owner?.kind ?? '<none>',
        owner_name: pod.owner?.name ?? '<none>',
        owner_is_controller: pod.owner ? 'true' : '<none>',
      }),
      life(1),
    )
    gauge(
      'kube_pod_info',
      'Information about pod.',
      ksmLabels({
        ...podKey,
        node: pod.node,
        host_ip: node.internalIp,
        pod_ip: pod.podIp ?? '10.244.1.10',
        created_by_kind: pod.owner?.kind ?? '<none>',
        created_by_name: pod.owner?.name ?? '<none>',
        priority_class: '',
        host_network: 'false',
      }),
      life(1),
    )
    const k8sPodLabels: Record<string, string> = { ...podKey }
    for (const [k, v] of Object.entries(pod.labels ?? {})) k8sPodLabels[ksmLabelName(k)] = v
    gauge(
      'kube_pod_labels',
      'Kubernetes labels converted to Prometheus labels.',
      ksmLabels(k8sPodLabels),
      life(1),
    )

    const kubelet: Record<string, string> = {
      job: 'kubelet',
      metrics_path: '/metrics/cadvisor',
      instance: `${node.internalIp}:10250`,
    }
    if (spec.kubeletNodeLabel) kubelet.node = pod.node
    const onNode = (table: Map<string, Map<number, number>>) => {
      let m = table.get(pod.node)
      if (!m) {
        m = new Map()
        table.set(pod.node, m)
      }
      return m
    }
    const cpuOnNode = onNode(nodeCpu)
    const memOnNode = onNode(nodeMem)
    const podCpu = new Map<number, number>()
    const podMem = new Map<number, number>()
    for (const c of pod.containers) {
      const key = { ...podKey, container: c.name }
      for (const [metric, help, values] of [
        [
          'kube_pod_container_resource_requests',
          'The number of requested request resource by a container.',
          c.requests,
        ],
        [
          'kube_pod_container_resource_limits',
          'The number of requested limit resource by a container.',
          c.limits,
        ],
      ] as const) {
        if (values?.cpu !== undefined)
          gauge(
            metric,
            help,
            ksmLabels({ ...key, node: pod.node, resource: 'cpu', unit: 'core' }),
            life(values.cpu),
          )
        if (values?.memory !== undefined)
          gauge(
            metric,
            help,
            ksmLabels({ ...key, node: pod.node, resource: 'memory', unit: 'byte' }),
            life(values.memory),
          )
      }
      const restarts = [...(c.restarts ?? [])].sort((a, b) => a.at - b.at)
      counter(
        'kube_pod_container_status_restarts_total',
        'The number of container restarts per container.',
        ksmLabels(key),
        constant(from, to, 0).map(([t]) => [t, restarts.filter((r) => r.at <= t).length]),
      )
      for (const reason of new Set(restarts.map((r) => r.reason))) {
        const points = constant(from, to, 0)
          .map(([t]): [number, number] => {
            const last = restarts.filter((r) => r.at <= t).at(-1)
            return [t, last?.reason === reason ? 1 : 0]
          })
          .filter(([t]) => t >= restarts[0]!.at)
        gauge(
          'kube_pod_container_status_last_terminated_reason',
          'Describes the last reason the container was in terminated state.',
          ksmLabels({ ...key, reason }),
          points,
        )
      }
      if (restarts.length > 0)
        gauge(
          'kube_pod_container_status_last_terminated_exitcode',
          'Describes the exit code for the last container in terminated state.',
          ksmLabels(key),
          constant(restarts[0]!.at, to, 0).map(([t]) => {
            const last = restarts.filter((r) => r.at <= t).at(-1)!
            return [t, last.reason === 'OOMKilled' ? 137 : last.reason === 'Error' ? 1 : 0]
          }),
        )

      // cAdvisor: one series set per container instance (a restart starts new ones).
      const ends = restarts.filter((r) => r.at > from && r.at < to)
      const bounds = [from, ...ends.map((r) => r.at), to]
      for (let i = 0; i + 1 < bounds.length; i++) {
        const a = bounds[i]!
        const b = bounds[i + 1]!
        const runtimeId = hex('container', uid, c.name, String(i))
        const labels = {
          container: c.name,
          id: `${podCgroup(pod)}/cri-containerd-${runtimeId}.scope`,
          image: c.image,
          name: runtimeId,
          namespace: pod.namespace,
          pod: pod.name,
          ...kubelet,
        }
        const cpu: Points = []
        const mem: Points = []
        const periods: Points = []
        const throttled: Points = []
        // A container running since before the history has a counter that is well under way; a new
        // one (a pod started within it, or a restart) counts from 0 at its start.
        let used = i === 0 && pod.start < spec.start ? PREVIOUS_CPU_SECONDS : 0
        let nPeriods = 0
        let nThrottled = 0
        let prev = a
        // The killed instance's last scrape is the one before the restart; the new one's first is at it.
        const last = i + 2 === bounds.length ? b : b - step
        // An OOM kill: the working set reached the memory limit in the instance's last two scrapes.
        const oomAt =
          ends[i]?.reason === 'OOMKilled' && c.limits?.memory !== undefined
            ? last - step
            : Number.POSITIVE_INFINITY
        const memoryAt = (t: number) => (t >= oomAt ? c.limits!.memory! : profileAt(c.memory, t))
        for (const t of grid(spec.start, step, a, last)) {
          const rate = profileAt(c.cpu, t)
          const dt = (t - prev) / 1000
          used += rate * dt
          prev = t
          cpu.push([t, used])
          mem.push([t, memoryAt(t)])
          podCpu.set(t, (podCpu.get(t) ?? 0) + rate)
          podMem.set(t, (podMem.get(t) ?? 0) + memoryAt(t))
          cpuOnNode.set(t, (cpuOnNode.get(t) ?? 0) + rate)
          memOnNode.set(t, (memOnNode.get(t) ?? 0) + memoryAt(t))
          if (c.limits?.cpu !== undefined) {
            // 100 ms CFS periods; half of them throttled while usage is at 90% of the quota or more.
            const n = dt * 10
            nPeriods += n
            if (rate >= 0.9 * c.limits.cpu) nThrottled += n * 0.5
            periods.push([t, nPeriods])
            throttled.push([t, nThrottled])
          }
        }
        cgroup(labels, cpu, mem)
        if (c.limits?.cpu !== undefined) {
          counter(
            'container_cpu_cfs_periods_total',
            'Number of elapsed enforcement period intervals.',
            labels,
            periods,
          )
          counter(
            'container_cpu_cfs_throttled_periods_total',
            'Number of throttled period intervals.',
            labels,
            throttled,
          )
        }
      }
    }
    if (spec.podCgroups !== false) {
      // The pod's cgroup (all its containers) and the pause container, as cAdvisor also exposes them.
      const podLabels = {
        container: '',
        id: podCgroup(pod),
        image: '',
        name: '',
        namespace: pod.namespace,
        pod: pod.name,
        ...kubelet,
      }
      const pauseId = hex('pause', uid)
      const pauseLabels = {
        ...podLabels,
        id: `${podCgroup(pod)}/cri-containerd-${pauseId}.scope`,
        image: PAUSE_IMAGE,
        name: pauseId,
      }
      const times = [...podCpu.keys()].sort((x, y) => x - y)
      let used = pod.start < spec.start ? PREVIOUS_CPU_SECONDS : 0
      let prev = times[0] ?? 0
      const cpu: Points = []
      for (const t of times) {
        used += (podCpu.get(t)! * (t - prev)) / 1000
        prev = t
        cpu.push([t, used])
      }
      cgroup(
        podLabels,
        cpu,
        times.map((t) => [t, podMem.get(t)!]),
      )
      cgroup(
        pauseLabels,
        times.map((t, i) => [t, 0.01 + i * 1e-5]),
        times.map((t) => [t, 262_144]),
      )
    }
  }
  if (spec.kubeletNodeLabel)
    for (const node of spec.nodes) {
      if (!node.rootCgroup) continue
      const labels = {
        container: '',
        id: '/',
        image: '',
        name: '',
        namespace: '',
        pod: '',
        job: 'kubelet',
        metrics_path: '/metrics/cadvisor',
        instance: `${node.internalIp}:10250`,
        node: node.name,
      }
      const cpu: Points = []
      const mem: Points = []
      // the node has run since well before the history: its counter is under way
      let used = 10 * PREVIOUS_CPU_SECONDS
      for (const t of grid(spec.start, step, spec.start, spec.end)) {
        used += ((nodeCpu.get(node.name)?.get(t) ?? 0) + node.rootCgroup.cpu) * (step / 1000)
        cpu.push([t, used])
        mem.push([t, (nodeMem.get(node.name)?.get(t) ?? 0) + node.rootCgroup.memory])
      }
      cgroup(labels, cpu, mem)
    }
  const ksmOn = spec.kubeStateMetrics !== false
  const cadvisorOn = spec.cadvisor !== false
  if (ksmOn && cadvisorOn) return out
  return out.filter((def) => (def.name.startsWith('kube_') ? ksmOn : cadvisorOn))
}

/** The values a rate subquery `[range:5m]` of a profile evaluated at `at` covers: one per grid time. */
export function subqueryPoints(
  profile: DailyProfile,
  at: number,
  rangeMs: number,
  from: number,
  stepMs = SLOT_MS,
): number[] {
  const values: number[] = []
  // Prometheus 2.x: subquery steps at multiples of the step in [at - range, at]; a rate needs two
  // samples in its window, so a step earlier than the series' second scrape gives nothing.
  const first = Math.ceil((at - rangeMs) / stepMs) * stepMs
  for (let t = first; t <= at; t += stepMs) if (t > from) values.push(profileAt(profile, t))
  return values
}
