/**
 * Usage snapshots for the store, API and dashboard tests: synthetic but realistic UsageReports (the
 * shape the collector fills from Prometheus) of a `prod` cluster a week apart and a `staging` one whose
 * collection missed kube-state-metrics and the node metrics (a partial report), each run through the
 * real recommenders and cost model and recorded with recordUsageSnapshot.
 *
 * prod: three m5.xlarge nodes (4 cores, 16 GiB; allocatable 3.92 cores, 15 GiB) over a 7-day window,
 * and five workloads: shop's checkout (over-requested: the savings), its cart-redis (memory raised),
 * payments' ledger (OOM-killed, under a CPU HPA), monitoring's node-exporter (no team label) and data's
 * nightly-report CronJob (2 hours of history: low confidence, held). A week later checkout runs 4 pods
 * instead of 3.
 */

import type { Store } from '../../src/store/connect.js'
import { recordUsageSnapshot } from '../../src/store/usage.js'
import { type CostReport, costReport } from '../../src/usage/cost/allocate.js'
import { defaultPriceSheet } from '../../src/usage/cost/prices.js'
import { type WasteReport, wasteReport } from '../../src/usage/cost/waste.js'
import { recommendAll } from '../../src/usage/recommend/index.js'
import type {
  ContainerUsage,
  NodeUsage,
  Recommendation,
  UsageReport,
  WorkloadKind,
} from '../../src/usage/types.js'

export const MIB = 1024 * 1024
export const GIB = 1024 * MIB
export const DAY = 86_400_000
export const WEEK = 7 * DAY
const WINDOW_SECONDS = 7 * 86_400

const iso = (ms: number) => new Date(ms).toISOString()

interface Spec {
  namespace: string
  kind: WorkloadKind
  name: string
  container: string
  team?: string
  pods: number
  cpu: { request?: number; limit?: number; p50: number; p95: number; p99: number; max: number; mean: number }
  memory: {
    request?: number
    limit?: number
    p50: number
    p95: number
    p99: number
    max: number
    mean: number
  }
  /** seconds of history, default the window */
  history?: number
  oom?: number
  hpa?: boolean
  restarts?: number
}

function container(cluster: string, to: number, s: Spec): ContainerUsage {
  const historySeconds = s.history ?? WINDOW_SECONDS
  const stats = (r: Spec['cpu']) => ({ p50: r.p50, p95: r.p95, p99: r.p99, max: r.max, mean: r.mean })
  return {
    workload: { cluster, namespace: s.namespace, kind: s.kind, name: s.name },
    container: s.container,
    ...(s.team !== undefined ? { team: s.team } : {}),
    pods: s.pods,
    maxReplicas: s.pods,
    cpu: { usage: stats(s.cpu), request: s.cpu.request, limit: s.cpu.limit },
    memory: { usage: stats(s.memory), request: s.memory.request, limit: s.memory.limit },
    restarts: s.restarts ?? (s.oom !== undefined ? 1 : 0),
    oomKills: s.oom !== undefined ? [{ at: iso(to - 2 * DAY), memory: s.oom }] : [],
    runningSeconds: s.pods * historySeconds,
    startedAt: iso(to - historySeconds * 1000),
    history: {
      from: iso(to - historySeconds * 1000),
      to: iso(to),
      samples: Math.round(historySeconds / 300),
    },
    ...(s.hpa ? { hpa: { resources: ['cpu'] as const, minReplicas: 2, maxReplicas: 6 } } : {}),
  }
}

/** prod's workloads; `checkoutPods` and `load` move between the two weeks. */
function prodSpecs(checkoutPods: number, load: number): Spec[] {
  return [
    {
      namespace: 'shop',
      kind: 'Deployment',
      name: 'checkout',
      container: 'app',
      team: 'storefront',
      pods: checkoutPods,
      cpu: {
        request: 1,
        limit: 2,
        p50: 0.2 * load,
        p95: 0.35 * load,
        p99: 0.42 * load,
        max: 0.6 * load,
        mean: 0.22 * load,
      },
      memory: {
        request: 2 * GIB,
        limit: 2 * GIB,
        p50: 600 * MIB,
        p95: 700 * MIB,
        p99: 750 * MIB,
        max: 800 * MIB,
        mean: 620 * MIB,
      },
    },
    {
      namespace: 'shop',
      kind: 'StatefulSet',
      name: 'cart-redis',
      container: 'redis',
      team: 'storefront',
      pods: 1,
      cpu: { request: 0.25, p50: 0.05, p95: 0.1, p99: 0.12, max: 0.2, mean: 0.06 },
      memory: {
        request: 1 * GIB,
        limit: 1 * GIB,
        p50: 850 * MIB,
        p95: 880 * MIB,
        p99: 890 * MIB,
        max: 900 * MIB,
        mean: 860 * MIB,
      },
    },
    {
      namespace: 'payments',
      kind: 'Deployment',
      name: 'ledger',
      container: 'api',
      team: 'payments',
      pods: 2,
      hpa: true,
      oom: 512 * MIB,
      cpu: { request: 0.5, limit: 1, p50: 0.3, p95: 0.45, p99: 0.5, max: 0.8, mean: 0.32 },
      memory: {
        request: 512 * MIB,
        limit: 512 * MIB,
        p50: 400 * MIB,
        p95: 480 * MIB,
        p99: 500 * MIB,
        max: 512 * MIB,
        mean: 420 * MIB,
      },
    },
    {
      namespace: 'monitoring',
      kind: 'DaemonSet',
      name: 'node-exporter',
      container: 'node-exporter',
      pods: 3,
      cpu: { request: 0.1, limit: 0.2, p50: 0.01, p95: 0.02, p99: 0.03, max: 0.05, mean: 0.012 },
      memory: {
        request: 64 * MIB,
        limit: 128 * MIB,
        p50: 20 * MIB,
        p95: 24 * MIB,
        p99: 25 * MIB,
        max: 30 * MIB,
        mean: 21 * MIB,
      },
    },
    {
      namespace: 'batch',
      kind: 'CronJob',
      name: 'nightly-report',
      container: 'report',
      team: 'data',
      pods: 1,
      history: 2 * 3600,
      cpu: { request: 2, p50: 1.1, p95: 1.6, p99: 1.8, max: 1.9, mean: 1.2 },
      memory: {
        request: 4 * GIB,
        limit: 4 * GIB,
        p50: 2 * GIB,
        p95: 2.5 * GIB,
        p99: 2.6 * GIB,
        max: 2.7 * GIB,
        mean: 2.1 * GIB,
      },
    },
  ]
}

function prodNodes(cluster: string): NodeUsage[] {
  return ['ip-10-0-1-11', 'ip-10-0-2-12', 'ip-10-0-3-13'].map((name) => ({
    cluster,
    name,
    instanceType: 'm5.xlarge',
    capacityType: 'on-demand',
    capacity: { cpu: 4, memory: 16 * GIB },
    allocatable: { cpu: 3.92, memory: 15 * GIB },
    requested: { cpu: 2.2, memory: 4 * GIB },
    used: { cpu: 0.9, memory: 3 * GIB },
    runningSeconds: WINDOW_SECONDS,
  }))
}

export interface Recorded {
  id: number
  takenAt: string
  report: UsageReport
  recommendations: Recommendation[]
  costs: CostReport
  waste: WasteReport
}

/** Records `report` as a snapshot taken at `takenAt`, through the real recommenders and cost model. */
export async function recordUsage(store: Store, report: UsageReport, takenAt: string): Promise<Recorded> {
  const now = new Date(report.to)
  const recommendations = recommendAll(report.containers, 'simple', { now })
  const costs = costReport(defaultPriceSheet(), report.containers, report.nodes)
  const waste = wasteReport(costs, recommendations, WINDOW_SECONDS / 3600)
  const { id } = await recordUsageSnapshot(store, {
    report,
    recommendations,
    strategy: 'simple',
    costs,
    waste,
    takenAt,
  })
  return { id, takenAt, report, recommendations, costs, waste }
}

export function prodReport(to: number, checkoutPods: number, load: number): UsageReport {
  return {
    cluster: 'prod',
    from: iso(to - WINDOW_SECONDS * 1000),
    to: iso(to),
    containers: prodSpecs(checkoutPods, load).map((s) => container('prod', to, s)),
    nodes: prodNodes('prod'),
    gaps: [],
    queries: { count: 42, bytes: 123_456 },
  }
}

export const STAGING_GAPS = [
  {
    what: 'kube-state-metrics',
    message:
      'kube_pod_container_resource_requests returned no series: requests, limits, owners and restarts are unknown',
  },
  {
    what: 'node metrics',
    message: 'kube_node_status_allocatable returned no series: no node figures, no idle cost',
  },
]

export function stagingReport(to: number): UsageReport {
  const specs = prodSpecs(1, 0.5)
    .slice(0, 2)
    .map((s) => ({
      ...s,
      cpu: { ...s.cpu, request: undefined, limit: undefined },
      memory: { ...s.memory, request: undefined, limit: undefined },
    }))
  return {
    cluster: 'staging',
    from: iso(to - WINDOW_SECONDS * 1000),
    to: iso(to),
    containers: specs.map((s) => container('staging', to, s)),
    nodes: [],
    gaps: STAGING_GAPS,
    queries: { count: 12, bytes: 4_096 },
  }
}

export interface FilledUsage {
  now: number
  prodOld: Recorded
  prodNew: Recorded
  staging: Recorded
}

/** Two prod snapshots a week apart (the newer one `now`), and one partial staging snapshot. */
export async function fillUsageStore(store: Store, now = Date.now()): Promise<FilledUsage> {
  const hour = Math.floor(now / 3_600_000) * 3_600_000
  const prodOld = await recordUsage(store, prodReport(hour - WEEK, 3, 1), iso(hour - WEEK + 60_000))
  const prodNew = await recordUsage(store, prodReport(hour, 4, 1.2), iso(hour + 60_000))
  const staging = await recordUsage(store, stagingReport(hour - 3_600_000), iso(hour - 3_600_000 + 60_000))
  return { now, prodOld, prodNew, staging }
}
