/**
 * What cross-resource checks see of the rest of the input: one small record per resource (identity,
 * labels, selector, and for workloads their pod template's labels and service account), indexed by kind
 * and namespace. Records are plain data, so worker threads build them and send them back; whole objects
 * are never kept for this.
 */
import { ownCopy } from '../resources/own-copy.js'
import { getPath, type PodTemplateTable } from '../resources/pod-templates.js'
import type { Resource } from '../resources/types.js'
import { asLabels, selectorMatches } from './cel/selectors.js'

/**
 * The kinds whose records cross-resource checks read by name (`inventory.of('Service', ...)`), beside
 * the workloads: a cluster watcher keeps their records even when no check looks at the kind itself.
 */
export const INVENTORY_KINDS: readonly string[] = [
  'ServiceAccount',
  'Service',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'HorizontalPodAutoscaler',
  'ReferenceGrant',
]

export interface InventoryRecord {
  apiVersion: string
  kind: string
  name: string
  /** '' for cluster-scoped resources and for manifests that leave the namespace to `kubectl -n` */
  namespace: string
  labels: Record<string, string>
  /** `spec.selector`, or a NetworkPolicy's `spec.podSelector`, as written */
  selector?: unknown
  /** Workloads: the labels of the pods they create. */
  podLabels?: Record<string, string>
  /** Workloads: the service account their pods run as (`default` when unset). */
  serviceAccountName?: string
  /** ServiceAccounts: whether pods get its token by default, when the account says. */
  automountServiceAccountToken?: boolean
  /** Resources with a whole-number `spec.replicas` (Deployments, StatefulSets...): the count written. */
  replicas?: number
  /** HorizontalPodAutoscalers: the workload they scale, by kind and name. */
  scaleTargetRef?: { kind: string; name: string }
  /** HorizontalPodAutoscalers: their bounds, minReplicas defaulted to 1 as the API server does. */
  minReplicas?: number
  maxReplicas?: number
  /** ReferenceGrants (Gateway API): who may refer, and to what, as `{group, kind, namespace}` and `{group, kind, name?}`. */
  from?: Record<string, string>[]
  to?: Record<string, string>[]
}

function wholeNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined
}

/** A list of objects as string maps (the string fields of each), or undefined when not a list. */
function stringMaps(value: unknown): Record<string, string>[] | undefined {
  return Array.isArray(value) ? value.map(stringMap) : undefined
}

/** What the records of autoscalers and ReferenceGrants add: the fields their checks join on. */
function kindFields(resource: Resource, spec: Record<string, unknown> | undefined, record: InventoryRecord) {
  if (!spec) return
  const replicas = wholeNumber(spec.replicas)
  if (replicas !== undefined) record.replicas = replicas
  if (resource.kind === 'HorizontalPodAutoscaler' && resource.group === 'autoscaling') {
    const ref = stringMap(spec.scaleTargetRef)
    if (ref.kind && ref.name) record.scaleTargetRef = { kind: ref.kind, name: ref.name }
    record.minReplicas = wholeNumber(spec.minReplicas) ?? 1
    const max = wholeNumber(spec.maxReplicas)
    if (max !== undefined) record.maxReplicas = max
  } else if (resource.kind === 'ReferenceGrant' && resource.group === 'gateway.networking.k8s.io') {
    record.from = stringMaps(spec.from) ?? []
    record.to = stringMaps(spec.to) ?? []
  }
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v
  }
  return out
}

export function inventoryRecord(resource: Resource, podTemplates: PodTemplateTable): InventoryRecord {
  const { object } = resource
  const meta = (object.metadata ?? {}) as Record<string, unknown>
  const spec = object.spec as Record<string, unknown> | undefined
  const record: InventoryRecord = {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    name: resource.name,
    namespace: resource.namespace ?? '',
    labels: stringMap(meta.labels),
  }
  if (typeof object.automountServiceAccountToken === 'boolean')
    record.automountServiceAccountToken = object.automountServiceAccountToken
  const selector = spec?.selector ?? spec?.podSelector
  if (selector !== undefined) record.selector = selector
  kindFields(resource, spec, record)
  const location = podTemplates.lookup(resource.group, resource.kind)
  if (location) {
    const podSpec = getPath(object, location.podSpec) as Record<string, unknown> | undefined
    const podMeta = getPath(object, location.podMetadata) as Record<string, unknown> | undefined
    record.podLabels = stringMap(podMeta?.labels)
    const sa = podSpec?.serviceAccountName ?? podSpec?.serviceAccount
    record.serviceAccountName = typeof sa === 'string' && sa !== '' ? sa : 'default'
  }
  // A copy: the parser's strings are slices of the file's text, and a record kept for the whole run
  // must not keep every file of the run alive.
  return ownCopy(record)
}

/**
 * The records of one run, as CEL's `inventory` (docs/cel.md#inventory). A scan builds it once; a cluster
 * watcher keeps one current, adding and removing records as objects change.
 */
export class Inventory {
  private readonly byKind = new Map<string, InventoryRecord[]>()
  private readonly byKindAndNamespace = new Map<string, InventoryRecord[]>()
  private readonly byKindNamespaceAndName = new Map<string, InventoryRecord[]>()
  private readonly workloadsByNamespace = new Map<string, InventoryRecord[]>()
  /** namespace: how many custom resources it holds */
  private readonly customResources = new Map<string, number>()
  /** namespace, then `key\0value` of a pod label: the workloads whose pods carry it */
  private readonly workloadsByLabel = new Map<string, Map<string, InventoryRecord[]>>()

  constructor(records: Iterable<InventoryRecord> = []) {
    for (const r of records) this.add(r)
  }

  add(r: InventoryRecord): void {
    this.index(r, push)
  }

  /** Removes a record added before (the same object). */
  remove(r: InventoryRecord): void {
    this.index(r, pull)
  }

  private index(r: InventoryRecord, op: typeof push): void {
    op(this.byKind, r.kind, r)
    op(this.byKindAndNamespace, `${r.kind}\u0000${r.namespace}`, r)
    op(this.byKindNamespaceAndName, `${r.kind}\u0000${r.namespace}\u0000${r.name}`, r)
    if (r.podLabels) {
      op(this.workloadsByNamespace, r.namespace, r)
      let byLabel = this.workloadsByLabel.get(r.namespace)
      if (!byLabel) {
        byLabel = new Map()
        this.workloadsByLabel.set(r.namespace, byLabel)
      }
      for (const [k, v] of Object.entries(r.podLabels)) op(byLabel, `${k}\u0000${v}`, r)
    } else if (isCustomResource(r.apiVersion, r.kind)) {
      const n = (this.customResources.get(r.namespace) ?? 0) + (op === push ? 1 : -1)
      if (n > 0) this.customResources.set(r.namespace, n)
      else this.customResources.delete(r.namespace)
    }
  }

  /**
   * Whether the namespace holds custom resources (other than workloads with a known pod template): an
   * operator may create pods from them (a Prometheus, a Postgres cluster) whose labels the input does not
   * show, so "selects no pod" cannot be judged there.
   */
  hasCustomResources(namespace: string): boolean {
    return this.customResources.has(namespace)
  }

  /** Every resource of a kind, in any namespace. */
  of(kind: string): InventoryRecord[] {
    return this.byKind.get(kind) ?? []
  }

  /** The resources of a kind in a namespace ('' for cluster-scoped or unspecified). */
  in(kind: string, namespace: string): InventoryRecord[] {
    return this.byKindAndNamespace.get(`${kind}\u0000${namespace}`) ?? []
  }

  /**
   * The resources of a kind with this name in a namespace (one, or several when the input defines it
   * twice): a lookup, where `in(kind, ns).exists(r, r.name == n)` would walk every resource of the kind
   * for every subject, which is quadratic in a namespace of thousands.
   */
  named(kind: string, namespace: string, name: string): InventoryRecord[] {
    return this.byKindNamespaceAndName.get(`${kind}\u0000${namespace}\u0000${name}`) ?? []
  }

  /** The workloads (anything with a pod template, and bare Pods) in a namespace. */
  workloads(namespace: string): InventoryRecord[] {
    return this.workloadsByNamespace.get(namespace) ?? []
  }

  /** The workloads of a namespace whose pods a Service-style selector (a plain map) matches. */
  workloadsLabelled(namespace: string, selector: unknown): InventoryRecord[] {
    const sel = asLabels(selector)
    if (!sel) return []
    const pairs = Object.entries(sel)
    const { list, by } = this.candidates(namespace, pairs)
    // labelsMatch, on the pairs the candidates are not known to carry, each listed once: a Service of a
    // namespace with thousands of workloads is compared with hundreds of them, and most select by one
    // label, which every candidate then carries.
    const rest = pairs.filter((_, i) => i !== by)
    if (rest.length === 0) return list.slice()
    const keys = rest.map(([k]) => k)
    const values = rest.map(([, v]) => v)
    return list.filter((w) => {
      const labels = w.podLabels ?? {}
      for (let i = 0; i < keys.length; i++) if (labels[keys[i]!] !== values[i]) return false
      return true
    })
  }

  /** The workloads of a namespace whose pods a LabelSelector (matchLabels, matchExpressions) matches. */
  workloadsSelected(namespace: string, selector: unknown): InventoryRecord[] {
    const sel = asLabels(selector)
    if (!sel) return []
    const pairs = Object.entries(asLabels(sel.matchLabels) ?? {})
    return this.candidates(namespace, pairs).list.filter((w) => selectorMatches(sel, w.podLabels))
  }

  /**
   * Workloads that may match: those carrying the rarest of the required label pairs (none if one pair
   * is carried by no workload), so that a Service is compared with a few workloads, not all of them.
   * `by` is the pair every one of them carries exactly, or -1.
   */
  private candidates(
    namespace: string,
    required: [string, unknown][],
  ): { list: readonly InventoryRecord[]; by: number } {
    const none = { list: [], by: -1 }
    const byLabel = this.workloadsByLabel.get(namespace)
    if (!byLabel) return none
    let best: InventoryRecord[] | undefined
    let by = -1
    required.forEach(([k, v], i) => {
      if (best?.length === 0) return
      const list = byLabel.get(`${k}\u0000${String(v)}`) ?? []
      if (best && list.length >= best.length) return
      best = list
      // Filed under the pair's text: proof of the pair itself only for a string value, and a key
      // without the separator.
      by = typeof v === 'string' && !k.includes('\u0000') ? i : -1
    })
    if (!best) return { list: this.workloads(namespace), by: -1 }
    return best.length === 0 ? none : { list: best, by }
  }
}

/** The groups of Kubernetes' own APIs: '' (core), the unqualified ones, and *.k8s.io. */
const BUILTIN_GROUPS = new Set(['', 'apps', 'batch', 'policy', 'autoscaling', 'extensions'])

/**
 * Groups whose custom resources are reports about other objects (PolicyReports: Kyverno's, Plimsoll's
 * own from `watch --policy-reports`, their successors): they make no pods, and counting them would let
 * a namespace's report withdraw the very verdicts it reports.
 */
const REPORT_GROUPS = new Set(['wgpolicyk8s.io', 'reports.x-k8s.io', 'openreports.io'])

/** Whether resources of this API group count for `hasCustomResources`: an operator's, which may make pods. */
export function mayMakePods(group: string): boolean {
  return !BUILTIN_GROUPS.has(group) && !group.endsWith('.k8s.io') && !REPORT_GROUPS.has(group)
}

/**
 * Kinds of operator groups that configure scraping and alerting and never make pods or Services (the
 * same groups' Prometheus and Alertmanager do): a namespace holding only these still shows its pods.
 */
const CONFIGURATION_ONLY = new Set([
  'monitoring.coreos.com/ServiceMonitor',
  'monitoring.coreos.com/PodMonitor',
  'monitoring.coreos.com/Probe',
  'monitoring.coreos.com/PrometheusRule',
  'monitoring.coreos.com/ScrapeConfig',
  'monitoring.coreos.com/AlertmanagerConfig',
])

function isCustomResource(apiVersion: string, kind: string): boolean {
  const slash = apiVersion.indexOf('/')
  const group = slash < 0 ? '' : apiVersion.slice(0, slash)
  return mayMakePods(group) && !CONFIGURATION_ONLY.has(`${group}/${kind}`)
}

function push<K>(map: Map<K, InventoryRecord[]>, key: K, r: InventoryRecord) {
  const list = map.get(key)
  if (list) list.push(r)
  else map.set(key, [r])
}

function pull<K>(map: Map<K, InventoryRecord[]>, key: K, r: InventoryRecord) {
  const list = map.get(key)
  const at = list?.indexOf(r) ?? -1
  if (at < 0) return
  if (list!.length === 1) map.delete(key)
  else list!.splice(at, 1)
}
