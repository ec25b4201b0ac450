// A large made-up cluster's history as OpenMetrics text, for bench/usage.mjs: the same series, names and
// labels as test/helpers/usage-cluster.ts (cAdvisor via the kubelet, kube-state-metrics v2), in plain JS
// and streamed: written family by family, series by series, never all points in memory (the test helper
// holds every point; 10,000 containers x 14 days at 5-minute scrapes is ~0.6 billion samples).
//
// The cluster: `containers` pods of one container each, in Deployments of 2 or 3 pods (one ReplicaSet
// each), Deployment d in namespace ns-(d mod 200), 20 pods a node. Usage follows test/helpers/usage-
// cluster.ts's daily CPU and memory profiles, scaled per Deployment (0.2x to 1.5x). Every 4th Deployment
// has a CPU limit (then cAdvisor's CFS series). A shard is every `shards`-th pod (nodes, ReplicaSets and
// namespace-wide series go to shard 0), so that shards are backfilled by separate promtools.
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'

const MINUTE = 60_000
export const DAY = 1440 * MINUTE
const SLOT_MS = 5 * MINUTE
const MiB = 1024 * 1024
const PODS_PER_NODE = 20
const NAMESPACES = 200
const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10'
const KSM = { job: 'kube-state-metrics', instance: '10.244.0.12:8080' }

// test/helpers/usage-cluster.ts's CPU_PROFILE and MEMORY_PROFILE: [value, 5-minute slots], 288 a day
const CPU_BLOCKS = [
  [0.1, 173],
  [0.25, 95],
  [0.5, 12],
  [0.8, 7],
  [1.6, 1],
]
const MEM_BLOCKS = [
  [180 * MiB, 173],
  [220 * MiB, 95],
  [256 * MiB, 12],
  [300 * MiB, 7],
  [340 * MiB, 1],
]
const table = (blocks) => blocks.flatMap(([v, n]) => Array(n).fill(v))
const CPU_SLOTS = table(CPU_BLOCKS)
const MEM_SLOTS = table(MEM_BLOCKS)
/** the profile's value in the slot that holds t: (slot start, slot end] */
const slotOf = (t) => Math.floor(((((t - 1) % DAY) + DAY) % DAY) / SLOT_MS)

const hex = (...parts) => createHash('sha256').update(parts.join('/')).digest('hex')
const esc = (v) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const labelText = (labels) =>
  `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}="${esc(String(labels[k]))}"`)
    .join(',')}}`

/** The cluster's shape for `containers` containers. */
export function clusterShape(containers) {
  const pods = []
  let d = 0
  while (pods.length < containers) {
    const replicas = Math.min(d % 2 === 0 ? 2 : 3, containers - pods.length)
    const ns = `ns-${String(d % NAMESPACES).padStart(3, '0')}`
    const deployment = `app-${d}`
    const rs = `${deployment}-${hex('rs', deployment).slice(0, 10)}`
    for (let r = 0; r < replicas; r++) {
      const i = pods.length
      const name = `${rs}-${hex('pod', rs, String(r)).slice(0, 5)}`
      const h = hex('uid', ns, name)
      pods.push({
        i,
        namespace: ns,
        name,
        deployment,
        replicaSet: rs,
        uid: `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`,
        node: `node-${Math.floor(i / PODS_PER_NODE)}`,
        nodeIp: `10.0.${Math.floor(i / PODS_PER_NODE / 250)}.${(Math.floor(i / PODS_PER_NODE) % 250) + 1}`,
        factor: 0.2 + (d % 14) / 10,
        cpuLimit: d % 4 === 0,
        team: `team-${d % 25}`,
      })
    }
    d++
  }
  const nodes = [...new Set(pods.map((p) => p.node))]
  const replicaSets = [...new Map(pods.map((p) => [p.replicaSet, p])).values()]
  return { pods, nodes, replicaSets, deployments: d, namespaces: Math.min(d, NAMESPACES) }
}

/**
 * Writes shard `shard` of `shards` of the cluster's history over [start, end] (ms, on the 5-minute
 * grid) at one scrape every `scrapeMs`, as OpenMetrics, to `file`. Returns series, samples and bytes.
 */
export async function writeShard({ shape, shard, shards, start, end, scrapeMs, file }) {
  const out = createWriteStream(file, { highWaterMark: 1 << 22 })
  let buffer = ''
  let bytes = 0
  let samples = 0
  let series = 0
  const flush = async () => {
    if (buffer.length === 0) return
    bytes += Buffer.byteLength(buffer)
    const ok = out.write(buffer)
    buffer = ''
    if (!ok) await once(out, 'drain')
  }
  const times = []
  for (let t = start; t <= end; t += scrapeMs) times.push(t)
  const secs = times.map((t) => String(t / 1000))
  const stepS = scrapeMs / 1000
  const pods = shape.pods.filter((p) => p.i % shards === shard)
  const first = shard === 0

  /** one series: value(k, t) for each scrape k */
  const emit = async (name, labels, value) => {
    const prefix = `${name}${labelText(labels)} `
    series++
    for (let k = 0; k < times.length; k++) {
      buffer += `${prefix}${value(k, times[k])} ${secs[k]}\n`
      if (buffer.length > 1 << 20) await flush()
    }
    samples += times.length
  }
  const family = (name, type, help) => {
    buffer += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`
  }
  const constant = (v) => () => v

  // cAdvisor's series of a pod: the container, the pod's cgroup, the pause container
  const cgroupOf = (p) => {
    const uid = p.uid.replace(/-/g, '_')
    return `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid}.slice`
  }
  const kubelet = (p) => ({
    job: 'kubelet',
    metrics_path: '/metrics/cadvisor',
    instance: `${p.nodeIp}:10250`,
  })
  const cadvisor = (p) => {
    const runtimeId = hex('container', p.uid, 'app', '0')
    const pauseId = hex('pause', p.uid)
    const base = { namespace: p.namespace, pod: p.name, ...kubelet(p) }
    return {
      app: {
        ...base,
        container: 'app',
        id: `${cgroupOf(p)}/cri-containerd-${runtimeId}.scope`,
        image: `registry.example.com/${p.namespace}/${p.deployment}:1.4.2`,
        name: runtimeId,
      },
      pod: { ...base, container: '', id: cgroupOf(p), image: '', name: '' },
      pause: {
        ...base,
        container: '',
        id: `${cgroupOf(p)}/cri-containerd-${pauseId}.scope`,
        image: PAUSE_IMAGE,
        name: pauseId,
      },
    }
  }
  // a CPU counter: under way since before the history (86,400 s), growing by the slot's rate
  const cpuCounter = (factor, extra = 0) => {
    let used = 86_400
    return (k, t) => {
      if (k > 0) used += (CPU_SLOTS[slotOf(t)] * factor + extra) * stepS
      return Math.round(used * 1e6) / 1e6
    }
  }
  const memory =
    (factor, extra = 0) =>
    (_k, t) =>
      Math.round(MEM_SLOTS[slotOf(t)] * factor) + extra

  family('container_cpu_usage_seconds', 'counter', 'Cumulative cpu time consumed in seconds.')
  for (const p of pods) {
    const c = cadvisor(p)
    await emit('container_cpu_usage_seconds_total', { ...c.app, cpu: 'total' }, cpuCounter(p.factor))
    await emit('container_cpu_usage_seconds_total', { ...c.pod, cpu: 'total' }, cpuCounter(p.factor, 0.001))
    await emit('container_cpu_usage_seconds_total', { ...c.pause, cpu: 'total' }, cpuCounter(0, 0.00001))
  }
  family('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.')
  for (const p of pods) {
    const c = cadvisor(p)
    await emit('container_memory_working_set_bytes', c.app, memory(p.factor))
    await emit('container_memory_working_set_bytes', c.pod, memory(p.factor, 1_048_576))
    await emit('container_memory_working_set_bytes', c.pause, constant(262_144))
  }
  family('container_cpu_cfs_periods', 'counter', 'Number of elapsed enforcement period intervals.')
  for (const p of pods.filter((q) => q.cpuLimit))
    await emit('container_cpu_cfs_periods_total', cadvisor(p).app, (k) => k * 3000)
  family('container_cpu_cfs_throttled_periods', 'counter', 'Number of throttled period intervals.')
  for (const p of pods.filter((q) => q.cpuLimit))
    await emit('container_cpu_cfs_throttled_periods_total', cadvisor(p).app, (k) => k * 30)

  const key = (p) => ({ ...KSM, namespace: p.namespace, pod: p.name, uid: p.uid })
  const cKey = (p, resource) => ({
    ...key(p),
    container: 'app',
    node: p.node,
    resource,
    unit: resource === 'cpu' ? 'core' : 'byte',
  })
  family(
    'kube_pod_container_resource_requests',
    'gauge',
    'The number of requested request resource by a container.',
  )
  for (const p of pods) {
    await emit('kube_pod_container_resource_requests', cKey(p, 'cpu'), constant(0.5))
    await emit('kube_pod_container_resource_requests', cKey(p, 'memory'), constant(512 * MiB))
  }
  family(
    'kube_pod_container_resource_limits',
    'gauge',
    'The number of requested limit resource by a container.',
  )
  for (const p of pods) {
    if (p.cpuLimit) await emit('kube_pod_container_resource_limits', cKey(p, 'cpu'), constant(2))
    await emit('kube_pod_container_resource_limits', cKey(p, 'memory'), constant(1024 * MiB))
  }
  family('kube_pod_container_status_restarts', 'counter', 'The number of container restarts per container.')
  for (const p of pods)
    await emit('kube_pod_container_status_restarts_total', { ...key(p), container: 'app' }, constant(0))
  family('kube_pod_owner', 'gauge', "Information about the Pod's owner.")
  for (const p of pods)
    await emit(
      'kube_pod_owner',
      { ...key(p), owner_kind: 'ReplicaSet', owner_name: p.replicaSet, owner_is_controller: 'true' },
      constant(1),
    )
  family('kube_pod_info', 'gauge', 'Information about pod.')
  for (const p of pods)
    await emit(
      'kube_pod_info',
      {
        ...key(p),
        node: p.node,
        host_ip: p.nodeIp,
        pod_ip: `10.244.${Math.floor(p.i / 250) % 250}.${(p.i % 250) + 2}`,
        created_by_kind: 'ReplicaSet',
        created_by_name: p.replicaSet,
        priority_class: '',
        host_network: 'false',
      },
      constant(1),
    )
  family('kube_pod_start_time', 'gauge', 'Start time in unix timestamp for a pod.')
  for (const p of pods) await emit('kube_pod_start_time', key(p), constant((start - 30 * DAY) / 1000))
  family('kube_pod_labels', 'gauge', 'Kubernetes labels converted to Prometheus labels.')
  for (const p of pods)
    await emit('kube_pod_labels', { ...key(p), label_app: p.deployment, label_team: p.team }, constant(1))

  if (first) {
    family('kube_replicaset_owner', 'gauge', "Information about the ReplicaSet's owner.")
    for (const p of shape.replicaSets)
      await emit(
        'kube_replicaset_owner',
        {
          ...KSM,
          namespace: p.namespace,
          replicaset: p.replicaSet,
          owner_kind: 'Deployment',
          owner_name: p.deployment,
          owner_is_controller: 'true',
        },
        constant(1),
      )
    const node = (n, more) => ({ ...KSM, node: n, ...more })
    for (const [metric, help, cpu, mem] of [
      [
        'kube_node_status_capacity',
        'The total amount of resources available for a node.',
        16,
        64 * 1024 * MiB,
      ],
      [
        'kube_node_status_allocatable',
        'The amount of resources allocatable for pods.',
        15.89,
        62 * 1024 * MiB,
      ],
    ]) {
      family(metric, 'gauge', help)
      for (const n of shape.nodes) {
        await emit(metric, node(n, { resource: 'cpu', unit: 'core' }), constant(cpu))
        await emit(metric, node(n, { resource: 'memory', unit: 'byte' }), constant(mem))
        await emit(metric, node(n, { resource: 'pods', unit: 'integer' }), constant(110))
      }
    }
    family('kube_node_info', 'gauge', 'Information about a cluster node.')
    for (const [i, n] of shape.nodes.entries())
      await emit(
        'kube_node_info',
        node(n, {
          kernel_version: '6.1.0-28-cloud-amd64',
          os_image: 'Debian GNU/Linux 12 (bookworm)',
          container_runtime_version: 'containerd://1.7.24',
          kubelet_version: 'v1.32.4',
          kubeproxy_version: 'v1.32.4',
          provider_id: `aws:///eu-west-1a/i-${hex('i', n).slice(0, 17)}`,
          pod_cidr: '',
          system_uuid: hex('system', n).slice(0, 32),
          internal_ip: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        }),
        constant(1),
      )
    family('kube_node_labels', 'gauge', 'Kubernetes labels converted to Prometheus labels.')
    for (const [i, n] of shape.nodes.entries())
      await emit(
        'kube_node_labels',
        node(n, {
          label_kubernetes_io_arch: 'amd64',
          label_kubernetes_io_os: 'linux',
          label_node_kubernetes_io_instance_type: i % 2 ? 'm5.4xlarge' : 'm6i.4xlarge',
          label_topology_kubernetes_io_zone: `eu-west-1${'abc'[i % 3]}`,
          label_topology_kubernetes_io_region: 'eu-west-1',
        }),
        constant(1),
      )
    family('kube_namespace_labels', 'gauge', 'Kubernetes labels converted to Prometheus labels.')
    for (let n = 0; n < shape.namespaces; n++)
      await emit(
        'kube_namespace_labels',
        { ...KSM, namespace: `ns-${String(n).padStart(3, '0')}`, label_team: `team-${n % 25}` },
        constant(1),
      )
  }
  buffer += '# EOF\n'
  await flush()
  out.end()
  await once(out, 'finish')
  return { series, samples, bytes }
}
