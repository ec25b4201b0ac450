/**
 * The PromQL the collector sends: selectors for a batch of containers, and the queries, each one HTTP
 * request that answers one kind of figure for every container of the batch at once (several statistics
 * or-ed together, told apart by a `stat` label added with label_replace). Instant queries are evaluated
 * at the window's end. What Prometheus 2.x evaluates slowly is kept out (measured on 1,000 containers x
 * 14 days, docs/usage.md): an aggregation inside a subquery (it runs at every step), and timestamp() of
 * a selector over a subquery.
 */

/** cAdvisor's container series only: not the pod cgroup (container="") nor the pause container (image="") */
export const CONTAINERS = 'container!="", image!=""'
export const BY_CONTAINER = 'namespace, pod, container'

/** A string as a PromQL double-quoted literal's content. */
export function promString(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** A literal for a RE2 regex (what =~ takes, anchored by Prometheus). */
export function regexLiteral(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** A label matcher for any of the values. */
export function anyOf(label: string, values: readonly string[]): string {
  if (values.length === 1) return `${label}="${promString(values[0]!)}"`
  return `${label}=~"${promString(values.map(regexLiteral).join('|'))}"`
}

/** Which containers a batch covers: a set of namespaces, or some pods of one namespace. */
export interface BatchScope {
  readonly namespaces: readonly string[]
  /** when one namespace is too large for a batch: these of its pods */
  readonly pods?: readonly string[]
}

export function scopeMatchers(scope: BatchScope): string {
  const ns = anyOf('namespace', scope.namespaces)
  return scope.pods ? `${ns}, ${anyOf('pod', scope.pods)}` : ns
}

/** Several expressions as one, each result marked `stat="<name>"`. */
export function tagged(parts: ReadonlyArray<readonly [stat: string, expr: string]>): string {
  return parts.map(([stat, expr]) => `label_replace(${expr}, "stat", "${stat}", "", "")`).join('\nor ')
}

export interface Window {
  /** the window, in seconds */
  readonly seconds: number
  /** the subquery step, in seconds */
  readonly step: number
}

const range = (w: Window) => `${w.seconds}s`
const subquery = (w: Window) => `[${w.seconds}s:${w.step}s]`
/** the rate window: the step, at least 5 minutes (two scrapes or more at the usual 30-60 s) */
export const rateWindow = (w: Window) => `${Math.max(w.step, 300)}s`

/**
 * Each cAdvisor CPU series' usage rate, for a range query at the step: the percentiles, max, mean and
 * extent are computed from these points by Plimsoll (collect/series.ts), one rate evaluation per batch.
 * Not aggregated here: an aggregation inside Prometheus at each of a window's 4,032 steps costs several
 * times the rate itself, and a restart's old and new series are joined as the points arrive.
 */
export function cpuRateQuery(scope: BatchScope, w: Window): string {
  return `rate(container_cpu_usage_seconds_total{${CONTAINERS}, ${scopeMatchers(scope)}}[${rateWindow(w)}])`
}

export function workingSet(scope: BatchScope): string {
  return `container_memory_working_set_bytes{${CONTAINERS}, ${scopeMatchers(scope)}}`
}

/**
 * Memory: percentiles and max over the raw working-set samples of each cAdvisor series (every scrape:
 * no spike between steps is missed), the largest over a container's series (a restart is a new one);
 * the sum and count of the samples (their mean, weighted alike across a restart). Each a pass over the
 * raw samples, no subquery: cheap.
 */
export function memoryStatsQuery(scope: BatchScope, w: Window): string {
  const raw = workingSet(scope)
  return tagged([
    ['p50', `max by (${BY_CONTAINER}) (quantile_over_time(0.5, ${raw}[${range(w)}]))`],
    ['p95', `max by (${BY_CONTAINER}) (quantile_over_time(0.95, ${raw}[${range(w)}]))`],
    ['p99', `max by (${BY_CONTAINER}) (quantile_over_time(0.99, ${raw}[${range(w)}]))`],
    ['max', `max by (${BY_CONTAINER}) (max_over_time(${raw}[${range(w)}]))`],
    ['sum', `sum by (${BY_CONTAINER}) (sum_over_time(${raw}[${range(w)}]))`],
    ['count', `sum by (${BY_CONTAINER}) (count_over_time(${raw}[${range(w)}]))`],
  ])
}

/** CFS periods throttled and elapsed over the window (their ratio is the share throttled). */
export function throttlingQuery(scope: BatchScope, w: Window): string {
  const sel = `{${CONTAINERS}, ${scopeMatchers(scope)}}`
  return tagged([
    [
      'throttled',
      `sum by (${BY_CONTAINER}) (increase(container_cpu_cfs_throttled_periods_total${sel}[${range(w)}]))`,
    ],
    ['periods', `sum by (${BY_CONTAINER}) (increase(container_cpu_cfs_periods_total${sel}[${range(w)}]))`],
  ])
}

/** kube-state-metrics: the last request and limit of each container in the window. */
export function resourcesQuery(scope: BatchScope, w: Window): string {
  const sel = `{resource=~"cpu|memory", ${scopeMatchers(scope)}}`
  return tagged([
    [
      'request',
      `max by (${BY_CONTAINER}, resource) (last_over_time(kube_pod_container_resource_requests${sel}[${range(w)}]))`,
    ],
    [
      'limit',
      `max by (${BY_CONTAINER}, resource) (last_over_time(kube_pod_container_resource_limits${sel}[${range(w)}]))`,
    ],
  ])
}

/**
 * kube-state-metrics: restarts in the window (the counter's rise, per pod uid, summed), and OOM kills:
 * whether the last termination was OOMKilled at any time in the window, and the first time it was.
 */
export function statusQuery(scope: BatchScope, w: Window): string {
  const sel = scopeMatchers(scope)
  const restarts = `kube_pod_container_status_restarts_total{${sel}}`
  const oom = `kube_pod_container_status_last_terminated_reason{reason="OOMKilled", ${sel}}`
  return tagged([
    [
      'restarts',
      `sum by (${BY_CONTAINER}) (max_over_time(${restarts}[${range(w)}]) - min_over_time(${restarts}[${range(w)}]))`,
    ],
    ['oom', `max by (${BY_CONTAINER}) (max_over_time(${oom}[${range(w)}]))`],
    ['oomAt', `min by (${BY_CONTAINER}) (min_over_time(timestamp(${oom} == 1)${subquery(w)}))`],
  ])
}

/**
 * kube-state-metrics, per pod: its owner, node, start time, team label, and the number of steps it
 * was seen at (kube_pod_info) in the window.
 */
export function podsQuery(scope: BatchScope, w: Window, teamLabel: string): string {
  const sel = `{${scopeMatchers(scope)}}`
  return tagged([
    [
      'owner',
      `max by (namespace, pod, owner_kind, owner_name) (last_over_time(kube_pod_owner${sel}[${range(w)}]))`,
    ],
    ['node', `max by (namespace, pod, node) (last_over_time(kube_pod_info${sel}[${range(w)}]))`],
    ['start', `min by (namespace, pod) (min_over_time(kube_pod_start_time${sel}[${range(w)}]))`],
    ['team', `max by (namespace, pod, ${teamLabel}) (last_over_time(kube_pod_labels${sel}[${range(w)}]))`],
    // the steps it was seen at: timestamp(kube_pod_info) over a subquery would say when, but Prometheus
    // 2.x evaluates timestamp() of a selector step by step (minutes for 1,000 pods over 14 days)
    ['steps', `max by (namespace, pod) (count_over_time(kube_pod_info${sel}${subquery(w)}))`],
  ])
}

/** kube-state-metrics: the owners of the batch's ReplicaSets and Jobs. */
export function ownersQuery(scope: BatchScope, w: Window): string {
  const sel = `{${anyOf('namespace', scope.namespaces)}}`
  return tagged([
    [
      'replicaset',
      `max by (namespace, replicaset, owner_kind, owner_name) (last_over_time(kube_replicaset_owner${sel}[${range(w)}]))`,
    ],
    [
      'job',
      `max by (namespace, job_name, owner_kind, owner_name) (last_over_time(kube_job_owner${sel}[${range(w)}]))`,
    ],
  ])
}

/** A range query at a 1-hour step for the `vpa` strategy: each cAdvisor series' peak working set in the hour. */
export function memoryPeaksQuery(scope: BatchScope): string {
  return `max_over_time(${workingSet(scope)}[1h])`
}

/**
 * The first query: containers per namespace, as cAdvisor and kube-state-metrics each see them in the
 * window (`source` says which). Cheap: one pass over each series, one number per namespace out.
 */
export function inventoryQuery(w: Window, namespaces: readonly string[] | undefined): string {
  const ns = namespaces && namespaces.length > 0 ? `, ${anyOf('namespace', namespaces)}` : ''
  return tagged([
    [
      'cadvisor',
      `count by (namespace) (group by (${BY_CONTAINER}) (last_over_time(container_memory_working_set_bytes{${CONTAINERS}${ns}}[${range(w)}])))`,
    ],
    [
      'kube-state-metrics',
      `count by (namespace) (group by (${BY_CONTAINER}) (last_over_time(kube_pod_container_resource_requests{container!=""${ns}}[${range(w)}])))`,
    ],
  ]).replace(/"stat"/g, '"source"')
}

/** The pods of one namespace with their container counts (to split a namespace over batches). */
export function podsOfNamespaceQuery(namespace: string, w: Window): string {
  const ns = anyOf('namespace', [namespace])
  return `count by (namespace, pod) (group by (${BY_CONTAINER}) (last_over_time(container_memory_working_set_bytes{${CONTAINERS}, ${ns}}[${range(w)}])) or group by (${BY_CONTAINER}) (last_over_time(kube_pod_container_resource_requests{container!="", ${ns}}[${range(w)}])))`
}

/** kube-state-metrics: every namespace's team label. */
export function namespacesQuery(w: Window, teamLabel: string): string {
  return `max by (namespace, ${teamLabel}) (last_over_time(kube_namespace_labels[${range(w)}]))`
}

/** kube-state-metrics: the HorizontalPodAutoscalers, their targets, bounds and metrics. */
export function hpaQuery(w: Window): string {
  const last = (m: string, by: string) =>
    `max by (namespace, horizontalpodautoscaler${by}) (last_over_time(${m}[${range(w)}]))`
  return tagged([
    ['info', last('kube_horizontalpodautoscaler_info', ', scaletargetref_kind, scaletargetref_name')],
    ['min', last('kube_horizontalpodautoscaler_spec_min_replicas', '')],
    ['max', last('kube_horizontalpodautoscaler_spec_max_replicas', '')],
    ['metric', last('kube_horizontalpodautoscaler_spec_target_metric', ', metric_name')],
  ])
}

/**
 * kube-state-metrics, per node: capacity and allocatable (last in the window), the requests of the
 * pods on it at the window's end (not those that finished), its labels, and the steps it was seen at.
 */
export function nodesQuery(w: Window): string {
  return tagged([
    [
      'capacity',
      `max by (node, resource) (last_over_time(kube_node_status_capacity{resource=~"cpu|memory"}[${range(w)}]))`,
    ],
    [
      'allocatable',
      `max by (node, resource) (last_over_time(kube_node_status_allocatable{resource=~"cpu|memory"}[${range(w)}]))`,
    ],
    [
      'requested',
      `sum by (node, resource) (kube_pod_container_resource_requests{resource=~"cpu|memory", node!=""} unless on (namespace, pod) (kube_pod_status_phase{phase=~"Succeeded|Failed"} == 1))`,
    ],
    ['labels', `last_over_time(kube_node_labels[${range(w)}])`],
    ['steps', `max by (node) (count_over_time(kube_node_info${subquery(w)}))`],
  ])
}

/**
 * cAdvisor's root cgroup (id="/": everything on the node, system daemons included), where the scrape
 * labels it with its node (the Prometheus Operator's kubelet ServiceMonitor does): average use.
 */
export function nodeRootQuery(w: Window): string {
  return tagged([
    [
      'cpu',
      `max by (node) (avg_over_time(rate(container_cpu_usage_seconds_total{id="/", node!=""}[${rateWindow(w)}])${subquery(w)}))`,
    ],
    [
      'memory',
      `max by (node) (avg_over_time(container_memory_working_set_bytes{id="/", node!=""}[${range(w)}]))`,
    ],
  ])
}
