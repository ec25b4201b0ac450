/**
 * The collector (src/usage/collect) against a real Prometheus (Debian's 2.42) over 8 days of backfilled
 * cAdvisor and kube-state-metrics history (test/helpers/usage-cluster.ts) whose percentiles are known,
 * collected over the last 7 days: the figures per workload (Deployment via ReplicaSet, StatefulSet,
 * DaemonSet, CronJob via Job, a bare pod), teams, HPAs, OOM kills, a short history, nodes; the bound on
 * queries; and the partial results: no kube-state-metrics, a batch that times out, a Prometheus that
 * is down. Then recommend() over what was collected gives KRR's numbers for the known truths.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { collectUsage, queriesPerBatch } from '../../src/usage/collect/index.js'
import { PrometheusClient, PrometheusError } from '../../src/usage/prometheus/client.js'
import { recommend } from '../../src/usage/recommend/index.js'
import type { ContainerUsage, UsageReport } from '../../src/usage/types.js'
import { delayingHttpProxy } from '../helpers/delaying-proxy.js'
import { type Cleanups, type RunningPrometheus, startBackfilledPrometheus } from '../helpers/prometheus.js'
import { freePort } from '../helpers/tcp-proxy.js'
import {
  API_REPLICASET,
  apiPod,
  type ClusterSpec,
  CPU_PROFILE,
  CPU_TRUTH,
  clusterSeries,
  DAY,
  flat,
  HOUR,
  KUBE_PROMETHEUS_KSM_TARGET,
  MEMORY_PROFILE,
  MEMORY_TRUTH,
  MINUTE,
  NODE_A,
  type PodSpec,
  profileAt,
  scaled,
  subqueryPoints,
  workerPod,
} from '../helpers/usage-cluster.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
/** The history: 8 days to a UTC midnight; the window: its last 7 days (whole days: the truths hold). */
const END = Math.floor(Date.now() / DAY) * DAY - DAY
const START = END - 8 * DAY
const FROM = END - 7 * DAY
const WINDOW_S = 7 * 86_400
/** The worker is OOM-killed 3 days into the window. */
const OOM_AT = FROM + 3 * DAY + 3 * HOUR

/** apiPod() with a proxy sidecar at a quarter of its usage. */
const apiWithProxy = (suffix: string, node: string, factor: number): PodSpec => {
  const pod = apiPod({ start: START - 3 * DAY, suffix, node, factor })
  return {
    ...pod,
    containers: [
      ...pod.containers,
      {
        name: 'proxy',
        image: 'envoyproxy/envoy:v1.31.2',
        cpu: scaled(CPU_PROFILE, factor / 4),
        memory: scaled(MEMORY_PROFILE, factor / 4),
        requests: { cpu: 0.1, memory: 128 * MiB },
      },
    ],
  }
}
const jobPod = (job: string, suffix: string, start: number): PodSpec => ({
  namespace: 'batch',
  name: `${job}-${suffix}`,
  node: 'node-b',
  owner: { kind: 'Job', name: job },
  start,
  end: start + 2 * HOUR,
  containers: [
    {
      name: 'report',
      image: 'registry.example.com/batch/report:3.1',
      cpu: flat(0.3),
      memory: flat(200 * MiB),
      requests: { cpu: 0.5, memory: 256 * MiB },
    },
  ],
})
const agentPod = (suffix: string, node: string): PodSpec => ({
  namespace: 'kube-system',
  name: `node-agent-${suffix}`,
  node,
  owner: { kind: 'DaemonSet', name: 'node-agent' },
  start: START - DAY,
  labels: { team: 'platform', 'app.kubernetes.io/name': 'node-agent' },
  containers: [
    {
      name: 'agent',
      image: 'registry.example.com/platform/agent:0.9',
      cpu: flat(0.05),
      memory: flat(64 * MiB),
      requests: { cpu: 0.05, memory: 64 * MiB },
    },
  ],
})

const CLUSTER: ClusterSpec = {
  start: START,
  end: END,
  kubeletNodeLabel: true,
  // as kube-prometheus scrapes kube-state-metrics: series without a container get the proxy's
  ksmTarget: KUBE_PROMETHEUS_KSM_TARGET,
  nodes: [
    {
      ...NODE_A,
      labels: { 'karpenter.sh/capacity-type': 'spot' },
      rootCgroup: { cpu: 0.3, memory: GiB },
    },
    {
      name: 'node-b',
      capacity: { cpu: 2, memory: 8 * GiB },
      allocatable: { cpu: 1.93, memory: 7 * GiB },
      instanceType: 'm5.large',
      zone: 'eu-west-1b',
      internalIp: '10.0.2.23',
      labels: { 'eks.amazonaws.com/capacityType': 'ON_DEMAND' },
    },
  ],
  namespaces: [
    { name: 'shop', labels: { team: 'payments' } },
    { name: 'batch', labels: { team: 'data' } },
    { name: 'kube-system' },
    { name: 'lab' },
  ],
  replicaSets: [API_REPLICASET, { namespace: 'shop', name: 'web-5f6d7c8b9', deployment: 'web' }],
  jobs: [
    { namespace: 'batch', name: 'report-29420640', cronJob: 'report' },
    { namespace: 'batch', name: 'report-29422080', cronJob: 'report' },
  ],
  hpas: [
    {
      namespace: 'shop',
      name: 'web',
      target: { kind: 'Deployment', name: 'web' },
      metrics: ['cpu'],
      minReplicas: 2,
      maxReplicas: 10,
    },
  ],
  pods: [
    apiWithProxy('q2x7z', 'node-a', 1),
    apiWithProxy('m4k9p', 'node-b', 0.5),
    workerPod(START + 2 * HOUR, OOM_AT),
    {
      namespace: 'shop',
      name: 'web-5f6d7c8b9-x8h2l',
      node: 'node-a',
      owner: { kind: 'ReplicaSet', name: 'web-5f6d7c8b9' },
      start: START - DAY,
      containers: [
        {
          name: 'web',
          image: 'registry.example.com/shop/web:5.2.0',
          cpu: flat(0.2),
          memory: flat(100 * MiB),
          requests: { cpu: 0.25, memory: 128 * MiB },
        },
      ],
    },
    jobPod('report-29420640', 'tq8vz', END - 2 * DAY + HOUR),
    jobPod('report-29422080', 'w3n6c', END - DAY + HOUR),
    agentPod('7xk2p', 'node-a'),
    agentPod('b9f4s', 'node-b'),
    {
      namespace: 'lab',
      name: 'debug',
      node: 'node-a',
      start: END - 2 * HOUR,
      containers: [{ name: 'shell', image: 'busybox:1.37', cpu: flat(0.1), memory: flat(50 * MiB) }],
    },
  ],
}

let prometheus: RunningPrometheus
let report: UsageReport
let reportBatches = 0
const cleanups: Cleanups = []

const client = (url = prometheus.url, options: { timeoutMs?: number } = {}) => {
  const c = new PrometheusClient({ url, ...options })
  cleanups.push(() => c.close())
  return c
}
const window = { cluster: 'prod-eu', from: new Date(FROM), to: new Date(END) }
const find = (r: UsageReport, kind: string, name: string, container: string): ContainerUsage => {
  const c = r.containers.find(
    (x) => x.workload.kind === kind && x.workload.name === name && x.container === container,
  )
  if (!c)
    throw new Error(
      `no ${kind}/${name} ${container} in ${JSON.stringify(r.containers.map((x) => x.workload))}`,
    )
  return c
}

/**
 * What collectUsage gives as `cluster` over the last day of a Prometheus of its own (its directory
 * named from `name`) over 2 days of one node running one api pod (from a day before), with `more` (a
 * source left out, owners).
 */
async function collectSmall(cluster: string, name: string, more: Partial<ClusterSpec>): Promise<UsageReport> {
  const end = END
  const { prometheus: own } = await startBackfilledPrometheus(
    clusterSeries({
      start: end - 2 * DAY,
      end,
      nodes: [CLUSTER.nodes[0]!],
      pods: [{ ...apiWithProxy('q2x7z', 'node-a', 1), start: end - 3 * DAY }],
      ...more,
    }),
    cleanups,
    { prefix: `plimsoll-collect-${name}-` },
  )
  return collectUsage(client(own.url), { cluster, from: new Date(end - DAY), to: new Date(end) })
}

beforeAll(async () => {
  ;({ prometheus } = await startBackfilledPrometheus(clusterSeries(CLUSTER), cleanups, {
    prefix: 'plimsoll-collect-tsdb-',
  }))
  report = await collectUsage(client(), {
    ...window,
    withSamples: true,
    onProgress: (_done, total) => {
      reportBatches = total
    },
  })
}, 300_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

describe('a cluster collected over 7 days', () => {
  test('a Deployment (via its ReplicaSet), 2 pods x 2 containers: the true percentiles, the busiest pod', () => {
    expect(report.gaps).toEqual([])
    const api = find(report, 'Deployment', 'api', 'api')
    expect(api.workload).toEqual({ cluster: 'prod-eu', namespace: 'shop', kind: 'Deployment', name: 'api' })
    // The pods' percentiles are computed by quantile_over_time in Prometheus; the workload takes the
    // busiest pod's (pod q2x7z has the profile, m4k9p half of it). CPU is a rate over 5-minute
    // subquery steps: equal to the truth up to float rounding in rate() (9 digits); memory is the raw
    // samples' exact values.
    const cpu = api.cpu.usage!
    expect(cpu.p50).toBeCloseTo(CPU_TRUTH.p50, 9)
    expect(cpu.p95).toBeCloseTo(CPU_TRUTH.p95, 9)
    expect(cpu.p99).toBeCloseTo(CPU_TRUTH.p99, 9)
    expect(cpu.max).toBeCloseTo(CPU_TRUTH.max, 9)
    const memory = api.memory.usage!
    expect([memory.p50, memory.p95, memory.p99, memory.max]).toEqual([
      MEMORY_TRUTH.p50,
      MEMORY_TRUTH.p95,
      MEMORY_TRUTH.p99,
      MEMORY_TRUTH.max,
    ])
    // The means: CPU's over both pods' 5-minute points (one at 1x, one at 0.5x the profile), memory's
    // over both pods' raw samples (every minute, both ends of the window included).
    const points = (profile: typeof CPU_PROFILE) => subqueryPoints(profile, END, 7 * DAY, START)
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(points(CPU_PROFILE)).toHaveLength(7 * 288 + 1)
    expect(cpu.mean).toBeCloseTo(avg(points(CPU_PROFILE)) * 0.75, 9)
    const scrapes: number[] = []
    for (let t = FROM; t <= END; t += MINUTE) scrapes.push(profileAt(MEMORY_PROFILE, t))
    expect(scrapes).toHaveLength(7 * 1440 + 1)
    expect(memory.mean).toBeCloseTo(avg(scrapes) * 0.75, 0)
    expect(api.cpu).toMatchObject({ request: 0.5, limit: 1 })
    expect(api.memory).toMatchObject({ request: 512 * MiB, limit: 1024 * MiB })
    expect(api).toMatchObject({ team: 'payments', pods: 2, maxReplicas: 2, restarts: 0, oomKills: [] })
    expect(api.runningSeconds).toBe(2 * WINDOW_S)
    expect(api.history).toEqual({
      from: new Date(FROM).toISOString(),
      to: new Date(END).toISOString(),
      samples: 2 * (7 * 288 + 1),
    })
    expect(api.startedAt).toBe(new Date(START - 3 * DAY).toISOString())
    // Throttled: half the CFS periods of the 1.6-core spike (over the 1-core limit's 90%), 5 minutes a
    // day in pod q2x7z only: 7 x 5 scrapes x 600 periods x 0.5 of both pods' 2 x 7 days of periods.
    expect(api.cpuThrottled).toBeCloseTo((7 * 5 * 600 * 0.5) / (2 * WINDOW_S * 10), 9)
    // No HPA on it.
    expect(api.hpa).toBeUndefined()

    const proxy = find(report, 'Deployment', 'api', 'proxy')
    expect(proxy.cpu.usage!.p95).toBeCloseTo(CPU_TRUTH.p95 / 4, 9)
    expect(proxy.memory.usage!.max).toBe(MEMORY_TRUTH.max / 4)
    expect(proxy.cpu).toMatchObject({ request: 0.1, limit: undefined })
    expect(proxy.cpuThrottled).toBeUndefined()
  })

  test('samples for the vpa strategy: hourly CPU averages and hourly memory peaks', () => {
    const api = find(report, 'Deployment', 'api', 'api')
    // CPU: the averages of the 7 x 24 hours of the window per pod (the point at its very start counts
    // in the first), both pods; memory: the peak of the hour before each hour from the window's start
    // to its end, 7 x 24 + 1 per pod
    expect(api.cpu.samples!.t).toHaveLength(2 * 7 * 24)
    expect(api.memory.samples!.t).toHaveLength(2 * (7 * 24 + 1))
    expect(Math.max(...api.memory.samples!.v)).toBe(MEMORY_TRUTH.max)
    // The hour after midnight holds the 1.6-core spike's 5 minutes and 11 of 0.1 at most: the hourly
    // averages never reach the spike.
    expect(Math.max(...api.cpu.samples!.v)).toBeLessThan(CPU_TRUTH.max)
    expect(api.cpu.samples!.t.every((t) => t >= FROM / 1000 && t <= END / 1000)).toBe(true)
  })

  test('an OOM-killed StatefulSet container: the kill with the memory limit it hit', () => {
    const worker = find(report, 'StatefulSet', 'worker', 'worker')
    expect(worker.oomKills).toEqual([{ at: new Date(OOM_AT).toISOString(), memory: 320 * MiB }])
    expect(worker.restarts).toBe(1)
    // the killed container's working set reached the limit before the kill
    expect(worker.memory.usage!.max).toBe(320 * MiB)
    expect(worker.memory.usage!.p99).toBe(MEMORY_TRUTH.p99 * 0.75)
    expect(worker.cpu.usage!.p95).toBeCloseTo(CPU_TRUTH.p95 * 0.5, 9)
    expect(worker).toMatchObject({ team: 'payments', pods: 1, maxReplicas: 1 })
  })

  test('a bare pod with 2 hours of history: its extent and samples', () => {
    const debug = find(report, 'Pod', 'debug', 'shell')
    expect(debug.workload.namespace).toBe('lab')
    expect(debug.team).toBeUndefined()
    // CPU: the first 5-minute step with a rate is 5 minutes after the start (a rate needs two samples)
    expect(debug.history).toEqual({
      from: new Date(END - 2 * HOUR + 5 * MINUTE).toISOString(),
      to: new Date(END).toISOString(),
      samples: 24,
    })
    expect(debug.runningSeconds).toBe(2 * 3600 - 300)
    expect(debug.startedAt).toBe(new Date(END - 2 * HOUR).toISOString())
    expect(debug.cpu.usage!.p95).toBeCloseTo(0.1, 9)
    expect(debug.memory.usage!.max).toBe(50 * MiB)
    expect(debug.cpu).toMatchObject({ request: undefined, limit: undefined })
    // hourly: CPU at END - 1 h and END; memory peaks also at END - 2 h (its first sample)
    expect([...debug.cpu.samples!.t]).toEqual([(END - HOUR) / 1000, END / 1000])
    expect([...debug.memory.samples!.t]).toEqual([(END - 2 * HOUR) / 1000, (END - HOUR) / 1000, END / 1000])
    expect(recommend(debug, 'simple', { now: new Date(END) }).confidence).toBe('low')
  })

  test("a CronJob's Job pods are the CronJob; a DaemonSet's team is its pods' label", () => {
    const report_ = find(report, 'CronJob', 'report', 'report')
    expect(report_).toMatchObject({ team: 'data', pods: 2, maxReplicas: 1, restarts: 0 })
    expect(report_.cpu.usage!.max).toBeCloseTo(0.3, 9)
    expect(report_.runningSeconds).toBe(2 * (2 * 3600 - 300))
    expect(report_.history.samples).toBe(2 * 24)
    const agent = find(report, 'DaemonSet', 'node-agent', 'agent')
    expect(agent).toMatchObject({ team: 'platform', pods: 2, maxReplicas: 2 })
    expect(agent.workload.namespace).toBe('kube-system')
    expect(
      report.containers.map(
        (c) => `${c.workload.namespace}/${c.workload.kind}/${c.workload.name}/${c.container}`,
      ),
    ).toEqual([
      'batch/CronJob/report/report',
      'kube-system/DaemonSet/node-agent/agent',
      'lab/Pod/debug/shell',
      'shop/Deployment/api/api',
      'shop/Deployment/api/proxy',
      'shop/Deployment/web/web',
      'shop/StatefulSet/worker/worker',
    ])
  })

  test('an HPA-controlled Deployment: hpa on cpu, and the CPU request held', () => {
    const web = find(report, 'Deployment', 'web', 'web')
    expect(web.hpa).toEqual({ resources: ['cpu'], minReplicas: 2, maxReplicas: 10 })
    const r = recommend(web, 'simple', { now: new Date(END) })
    expect(r.cpu.request).toBe(0.25)
    expect(r.cpu.reasons[0]).toMatch(/HorizontalPodAutoscaler/)
  })

  test('nodes: capacity, allocatable, requests now, use, instance and capacity types', () => {
    expect(report.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b'])
    const [a, b] = report.nodes
    expect(a).toMatchObject({
      cluster: 'prod-eu',
      instanceType: 'm5.xlarge',
      capacityType: 'spot',
      capacity: { cpu: 4, memory: 16 * GiB },
      allocatable: { cpu: 3.92, memory: 15 * GiB },
      runningSeconds: WINDOW_S,
    })
    // at the window's end: api (0.5 + 0.1), worker 0.2, web 0.25, agent 0.05 (debug has none)
    expect(a!.requested.cpu).toBeCloseTo(1.1, 9)
    expect(a!.requested.memory).toBe((512 + 128 + 256 + 128 + 64) * MiB)
    expect(b).toMatchObject({ instanceType: 'm5.large', capacityType: 'on-demand' })
    // the Jobs' pods had finished: only api (0.6) and the agent (0.05)
    expect(b!.requested.cpu).toBeCloseTo(0.65, 9)
    expect(b!.requested.memory).toBe((512 + 128 + 64) * MiB)
    // used on node-b (no root cgroup series for it: the sum of its containers' averages over the window):
    // api and proxy at 0.5x and 0.125x the profile all week, the agent at 0.05, two report runs of
    // 0.3 cores for 115 minutes each
    const cpuMean = subqueryPoints(CPU_PROFILE, END, 7 * DAY, START)
    const mean = cpuMean.reduce((x, y) => x + y, 0) / cpuMean.length
    expect(b!.used.cpu).toBeCloseTo(mean * (0.5 + 0.125) + 0.05 + (2 * 0.3 * 6900) / WINDOW_S, 6)
    const memPoints = subqueryPoints(MEMORY_PROFILE, END, 7 * DAY, START)
    const memMean = memPoints.reduce((x, y) => x + y, 0) / memPoints.length
    // used on node-a: cAdvisor's root cgroup (labelled with its node): its containers (api and proxy at
    // 1x and 0.25x, the worker at 0.5x CPU and 0.75x memory, web, the agent, the debug pod's last 2 hours)
    // and 0.3 cores and 1 GiB of its own, averaged over the 2,017 steps (the debug pod's edges within a step)
    const steps = 7 * 288 + 1
    expect(a!.used.cpu).toBeCloseTo(mean * (1 + 0.25 + 0.5) + 0.2 + 0.05 + (0.1 * 24) / steps + 0.3, 3)
    const memory = memMean * (1 + 0.25 + 0.75) + 100 * MiB + 64 * MiB + (50 * MiB * 25) / steps + GiB
    expect(Math.abs(a!.used.memory - memory) / memory).toBeLessThan(1e-3)
  })

  test('recommendations from the collected figures: KRR simple for the known truths, OOM x 1.2 at least', () => {
    const now = new Date(END)
    const api = recommend(find(report, 'Deployment', 'api', 'api'), 'simple', { now })
    // CPU request = p95 = 0.5 cores, no limit; memory = max 340 MiB x 1.15 = 391 MiB, limit = request
    expect(api.cpu).toMatchObject({ request: 0.5, limit: undefined })
    expect(api.memory.request).toBe(391 * MiB)
    expect(api.memory.limit).toBe(391 * MiB)
    expect(api.confidence).toBe('high')
    // The worker: 255 MiB x 1.15 would be 293.25 MiB; its OOM kill at 320 MiB lifts it to 320 x 1.25
    // (KRR's oom_memory_buffer_percentage), >= 320 x 1.2
    const worker = recommend(find(report, 'StatefulSet', 'worker', 'worker'), 'simple', { now })
    expect(worker.memory.request).toBe(400 * MiB)
    expect(worker.memory.request).toBeGreaterThanOrEqual(320 * MiB * 1.2)
    // and the vpa strategy over the collected samples: the OOM floor too
    const vpa = recommend(find(report, 'StatefulSet', 'worker', 'worker'), 'vpa', { now })
    expect(vpa.memory.request).toBeGreaterThanOrEqual(320 * MiB * 1.2)
  })
})

describe('queries: a bounded number per batch', () => {
  test('the same queries for twice the namespaces within a batch; P more per batch; the same figures', async () => {
    const P = queriesPerBatch({ cadvisor: true, kubeStateMetrics: true, samples: false })
    expect(P).toBe(7)
    const run = async (options: { namespaces?: string[]; batchSize?: number }) => {
      let batches = 0
      const r = await collectUsage(client(), {
        ...window,
        ...options,
        onProgress: (_done, total) => {
          batches = total
        },
      })
      return { r, batches }
    }
    // inventory 1 + namespaces, HPAs, nodes, node root cgroups 4 + P per batch
    const one = await run({ namespaces: ['kube-system'] })
    const two = await run({ namespaces: ['kube-system', 'lab'] })
    expect(one.batches).toBe(1)
    expect(two.batches).toBe(1)
    expect(one.r.queries.count).toBe(5 + P)
    expect(two.r.queries.count).toBe(one.r.queries.count)
    expect(two.r.containers.map((c) => c.workload.name)).toEqual(['node-agent', 'debug'])

    // the whole cluster (collected once in beforeAll, with the samples: 1 range query more)
    expect(reportBatches).toBe(1)
    expect(report.queries.count).toBe(
      5 + queriesPerBatch({ cadvisor: true, kubeStateMetrics: true, samples: true }),
    )
    expect(report.queries.count).toBe(5 + P + 1)
    // 11 containers in batches of 3: shop (6) split by its pods into 3 (one query lists them), batch
    // (2), kube-system and lab (2 + 1): 5 batches
    const small = await run({ batchSize: 3 })
    expect(small.batches).toBe(5)
    expect(small.r.queries.count).toBe(5 + 1 + 5 * P)
    const withoutSamples = report.containers.map((c) => ({
      ...c,
      cpu: { ...c.cpu, samples: undefined },
      memory: { ...c.memory, samples: undefined },
    }))
    expect(small.r.containers).toEqual(withoutSamples)
    expect(small.r.nodes).toEqual(report.nodes)
    expect(small.r.queries.bytes).toBeGreaterThan(0)
  })
})

describe('partial results', () => {
  test('a batch that times out: a gap naming its namespace; the other batches reported', async () => {
    const slow = await delayingHttpProxy(prometheus.port, 'namespace="batch"', 10_000)
    cleanups.push(() => slow.close())
    const r = await collectUsage(client(`http://127.0.0.1:${slow.port}`, { timeoutMs: 4000 }), {
      ...window,
      namespaces: ['batch', 'lab'],
      batchSize: 2,
    })
    expect(r.containers.map((c) => c.workload.name)).toEqual(['debug'])
    expect(r.gaps).toHaveLength(1)
    expect(r.gaps[0]!.what).toBe('batch: namespace batch')
    expect(r.gaps[0]!.message).toMatch(
      new RegExp(
        `^Prometheus at http://127.0.0.1:${slow.port} did not answer .* within 4s: the 2 containers of namespace batch are left out of this report$`,
      ),
    )
    expect(slow.delayed).toBeGreaterThan(0)
  })

  test('a Prometheus that is down: the clear error, thrown', async () => {
    const port = await freePort()
    const err = await collectUsage(client(`http://127.0.0.1:${port}`), window).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PrometheusError)
    expect((err as PrometheusError).kind).toBe('unreachable')
    expect((err as PrometheusError).message).toBe(
      `cannot reach Prometheus at http://127.0.0.1:${port}: connection refused`,
    )
  })

  test('no kube-state-metrics: a gap saying what is left out; cAdvisor figures per pod', async () => {
    const r = await collectSmall('bare', 'noksm', { kubeStateMetrics: false })
    expect(r.gaps.map((g) => g.what)).toEqual(['kube-state-metrics'])
    expect(r.gaps[0]!.message).toMatch(/requests and limits, owners .* OOM kills/)
    expect(r.nodes).toEqual([])
    const api = find(r, 'Pod', 'api-7d9c8b7f5-q2x7z', 'api')
    expect(api.cpu.usage!.p95).toBeCloseTo(CPU_TRUTH.p95, 9)
    expect(api.memory.usage!.max).toBe(MEMORY_TRUTH.max)
    expect(api.cpu).toMatchObject({ request: undefined, limit: undefined })
    expect(api.team).toBeUndefined()
    expect(r.queries.count).toBe(
      1 + queriesPerBatch({ cadvisor: true, kubeStateMetrics: false, samples: false }),
    )
  })

  test('no cAdvisor, and no team label allowed: gaps; requests, owners and run time from kube-state-metrics', async () => {
    const end = END
    const r = await collectSmall('ksm', 'nocadvisor', {
      cadvisor: false,
      replicaSets: [{ namespace: 'shop', name: 'api-7d9c8b7f5', deployment: 'api' }],
    })
    expect(r.gaps.map((g) => g.what)).toEqual(['cAdvisor', 'team label team'])
    expect(r.gaps[0]!.message).toMatch(/^no container_memory_working_set_bytes series/)
    expect(r.gaps[1]!.message).toMatch(/--metric-labels-allowlist=namespaces=\[team\],pods=\[team\]/)
    const api = find(r, 'Deployment', 'api', 'api')
    expect(api.cpu).toEqual({ usage: undefined, request: 0.5, limit: 1 })
    expect(api.memory).toEqual({ usage: undefined, request: 512 * MiB, limit: 1024 * MiB })
    expect(api.runningSeconds).toBe(86_400)
    expect(api.history).toEqual({
      from: new Date(end - DAY).toISOString(),
      to: new Date(end).toISOString(),
      samples: 0,
    })
    expect(r.nodes.map((n) => [n.name, n.requested.cpu, n.used.cpu])).toEqual([['node-a', 0.6, 0]])
    // inventory, namespaces, HPAs, nodes; kube-state-metrics' queries for the one batch
    expect(r.queries.count).toBe(
      4 + queriesPerBatch({ cadvisor: false, kubeStateMetrics: true, samples: false }),
    )
    expect(recommend(api, 'simple', { now: new Date(end) }).skipped).toMatch(/no CPU or memory usage/)
  })
})
