/**
 * How the demo estate's workloads use what they ask for: per workload (namespace/name), the requests
 * and limits its pods run with (the estate's manifests all carry the same template, 100m / 256Mi / a
 * 512Mi limit; these are what the cluster's pods were sized at), what a pod typically uses, and what
 * changes in the month. A workload without a profile keeps its manifest's requests and uses a drawn
 * 10-30% of them. Whether a container has requests and limits at all comes from the manifest of the day
 * (the `no-requests` and `no-limits` defects), so usage and scans tell the same story.
 *
 * The cast: most over-provisioned (CPU at 10-30% of the request, the common waste); a few tight ones
 * (opensearch's CPU, redis's and prometheus's memory); payments' ledger OOM-killed on day 9 and raised
 * by its team on day 11; shop's frontend scaled by its HPA; the CronJobs; data's kafka-connect
 * rightsized by its team on day 16. Days are the story's (0 to 29, see plan.ts).
 */

const MI = 1024 * 1024
const GI = 1024 * MI

export interface Sizing {
  /** cores per pod */
  cpu: number
  /** bytes per pod */
  memory: number
  memoryLimit?: number
  cpuLimit?: number
}

export interface UsageProfile {
  /** requests and limits from day 0; absent: the manifest's */
  size?: Sizing
  /** the team resizes it from a day on (a rollout: new pods) */
  changes?: readonly { day: number; size: Sizing; why: string }[]
  /** a pod's typical (median) use: cores, bytes */
  use: { cpu: number; memory: number }
  /** the CPU's spread above the median (p95 = median x peak); default 1.8 */
  peak?: number
  /** a CronJob's run: minutes each, runs a day */
  run?: { minutes: number; perDay: number }
  /** pods the HPA runs: the range over a week (weekdays at the top) */
  scaled?: { low: number; high: number }
  /** its memory climbs to the limit and the kernel kills it on this day */
  oomOn?: number
}

export const USAGE_PROFILES: Readonly<Record<string, UsageProfile>> = {
  // payments
  'payments/api': {
    size: { cpu: 1, memory: 1 * GI, memoryLimit: 1 * GI },
    use: { cpu: 0.18, memory: 420 * MI },
  },
  'payments/ledger': {
    size: { cpu: 0.5, memory: 1 * GI, memoryLimit: 1 * GI },
    changes: [
      {
        day: 11,
        size: { cpu: 0.5, memory: 2 * GI, memoryLimit: 2 * GI },
        why: 'raised after the OOM kill (PAY-2291)',
      },
    ],
    use: { cpu: 0.11, memory: 800 * MI },
    oomOn: 9,
  },
  'payments/fraud-scorer': {
    size: { cpu: 2, memory: 4 * GI, memoryLimit: 4 * GI },
    use: { cpu: 0.34, memory: 1400 * MI },
  },
  'payments-batch/settlement': {
    size: { cpu: 1, memory: 2 * GI, memoryLimit: 2 * GI },
    use: { cpu: 0.62, memory: 1100 * MI },
    peak: 1.3,
    run: { minutes: 40, perDay: 1 },
  },
  // shop
  'shop/frontend': {
    size: { cpu: 0.5, memory: 512 * MI, memoryLimit: 1 * GI },
    use: { cpu: 0.24, memory: 310 * MI },
    peak: 1.5,
    scaled: { low: 3, high: 9 },
  },
  'shop/cart': {
    size: { cpu: 0.25, memory: 512 * MI, memoryLimit: 512 * MI },
    use: { cpu: 0.04, memory: 180 * MI },
  },
  'shop/checkout': {
    size: { cpu: 1, memory: 2 * GI, memoryLimit: 2 * GI },
    use: { cpu: 0.15, memory: 600 * MI },
  },
  'shop/redis': {
    size: { cpu: 0.25, memory: 1 * GI, memoryLimit: 1 * GI },
    use: { cpu: 0.08, memory: 880 * MI },
    peak: 1.4,
  },
  'shop/nightly-report': {
    size: { cpu: 2, memory: 4 * GI, memoryLimit: 4 * GI },
    use: { cpu: 1.1, memory: 2300 * MI },
    peak: 1.4,
    run: { minutes: 25, perDay: 1 },
  },
  // search
  'search/query-api': {
    size: { cpu: 0.5, memory: 1 * GI, memoryLimit: 1 * GI },
    use: { cpu: 0.16, memory: 640 * MI },
  },
  'search/indexer': {
    size: { cpu: 1, memory: 2 * GI, memoryLimit: 2 * GI },
    use: { cpu: 0.25, memory: 900 * MI },
  },
  'search/opensearch': {
    size: { cpu: 2, memory: 8 * GI, memoryLimit: 8 * GI },
    use: { cpu: 1.55, memory: 6900 * MI },
    peak: 1.6,
  },
  'search/reindex': {
    size: { cpu: 1, memory: 2 * GI, memoryLimit: 2 * GI },
    use: { cpu: 0.7, memory: 1200 * MI },
    peak: 1.3,
    run: { minutes: 20, perDay: 4 },
  },
  'search/ranker': {
    size: { cpu: 0.5, memory: 1 * GI, memoryLimit: 1 * GI },
    use: { cpu: 0.1, memory: 300 * MI },
  },
  // data
  'data-pipeline/kafka-connect': {
    size: { cpu: 2, memory: 6 * GI, memoryLimit: 6 * GI },
    changes: [
      {
        day: 16,
        size: { cpu: 0.6, memory: 2 * GI, memoryLimit: 2 * GI },
        why: "rightsized from Plimsoll's recommendation (DATA-877)",
      },
    ],
    use: { cpu: 0.3, memory: 1200 * MI },
  },
  'data-pipeline/airflow-scheduler': {
    size: { cpu: 0.5, memory: 1 * GI, memoryLimit: 1 * GI },
    use: { cpu: 0.15, memory: 500 * MI },
  },
  'data-pipeline/airflow-worker': {
    size: { cpu: 2, memory: 4 * GI, memoryLimit: 4 * GI },
    use: { cpu: 0.4, memory: 1500 * MI },
  },
  'analytics/postgres': {
    size: { cpu: 1, memory: 4 * GI, memoryLimit: 4 * GI },
    use: { cpu: 0.25, memory: 2800 * MI },
  },
  'analytics/metabase': {
    size: { cpu: 1, memory: 2 * GI, memoryLimit: 2 * GI },
    use: { cpu: 0.1, memory: 1100 * MI },
  },
  'analytics/export': {
    size: { cpu: 0.5, memory: 1 * GI, memoryLimit: 1 * GI },
    use: { cpu: 0.3, memory: 600 * MI },
    peak: 1.3,
    run: { minutes: 15, perDay: 1 },
  },
  // platform
  'monitoring/node-exporter': {
    size: { cpu: 0.1, memory: 128 * MI, memoryLimit: 128 * MI },
    use: { cpu: 0.015, memory: 35 * MI },
  },
  'kube-system/log-shipper': {
    size: { cpu: 0.2, memory: 256 * MI, memoryLimit: 512 * MI },
    use: { cpu: 0.05, memory: 150 * MI },
  },
  'ingress-nginx/ingress-nginx-controller': {
    size: { cpu: 0.5, memory: 512 * MI, memoryLimit: 1 * GI },
    use: { cpu: 0.12, memory: 260 * MI },
  },
  'monitoring/prometheus': {
    size: { cpu: 1, memory: 8 * GI, memoryLimit: 8 * GI },
    use: { cpu: 0.45, memory: 6900 * MI },
    peak: 1.5,
  },
}

/** The sizing a profile gives on a story day: its last change by then, else its first. */
export function sizingOn(profile: UsageProfile | undefined, day: number): Sizing | undefined {
  if (!profile) return undefined
  let size = profile.size
  for (const c of profile.changes ?? []) if (day >= c.day) size = c.size
  return size
}

/** The story day of its last resize (a rollout: new pods) on or before `day`. */
export function lastChange(profile: UsageProfile | undefined, day: number): number | undefined {
  let at: number | undefined
  for (const c of profile?.changes ?? []) if (day >= c.day) at = c.day
  return at
}

/** A node of the cluster: its instance type, and the story days [from, to) it ran. */
export interface NodePlan {
  name: string
  instanceType: 'm5.xlarge' | 'm5.2xlarge'
  capacityType: 'on-demand' | 'spot'
  /** story days, fractional (13.5 = day 13, 12:00 UTC); default: always */
  from?: number
  to?: number
}

/** m5.xlarge and m5.2xlarge: capacity, and allocatable as EKS's bootstrap reserves it. */
export const INSTANCE_TYPES = {
  'm5.xlarge': { capacity: { cpu: 4, memory: 16 * GI }, allocatable: { cpu: 3.92, memory: 14_770 * MI } },
  'm5.2xlarge': { capacity: { cpu: 8, memory: 32 * GI }, allocatable: { cpu: 7.91, memory: 30_490 * MI } },
} as const

export interface ClusterPlan {
  cluster: string
  /** the namespaces of prod-cluster's manifests it runs; absent: all */
  namespaces?: readonly string[]
  /** its traffic against prod-cluster's */
  load: number
  nodes: readonly NodePlan[]
}

export const USAGE_CLUSTERS: readonly ClusterPlan[] = [
  {
    cluster: 'prod-cluster',
    load: 1,
    nodes: [
      { name: 'ip-10-0-1-21', instanceType: 'm5.2xlarge', capacityType: 'on-demand' },
      { name: 'ip-10-0-1-64', instanceType: 'm5.2xlarge', capacityType: 'on-demand' },
      { name: 'ip-10-0-2-17', instanceType: 'm5.2xlarge', capacityType: 'on-demand' },
      { name: 'ip-10-0-2-90', instanceType: 'm5.2xlarge', capacityType: 'on-demand' },
      { name: 'ip-10-0-3-33', instanceType: 'm5.xlarge', capacityType: 'spot' },
      // A spot interruption on day 20: its replacement comes up within minutes.
      { name: 'ip-10-0-3-77', instanceType: 'm5.xlarge', capacityType: 'spot', to: 20.55 },
      { name: 'ip-10-0-3-152', instanceType: 'm5.xlarge', capacityType: 'spot', from: 20.56 },
      { name: 'ip-10-0-3-208', instanceType: 'm5.xlarge', capacityType: 'spot' },
    ],
  },
  {
    // The edge runs the shop only (agent-cluster.ts), with a third of prod's traffic.
    cluster: 'edge-cluster',
    namespaces: ['shop'],
    load: 0.35,
    nodes: [
      { name: 'ip-10-8-1-12', instanceType: 'm5.xlarge', capacityType: 'on-demand' },
      { name: 'ip-10-8-2-40', instanceType: 'm5.xlarge', capacityType: 'spot' },
    ],
  },
]
