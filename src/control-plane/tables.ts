/**
 * Server-side printing (Accept: application/json;as=Table;v=v1;g=meta.k8s.io), which kubectl get
 * asks for: column definitions plus one row per object, each row carrying the object's metadata as a
 * PartialObjectMetadata (includeObject=Metadata, the default), nothing (None) or the whole object.
 * Columns follow the API server's printers for the kinds people list most; other kinds get its
 * default (Name, Created At), custom resources their additionalPrinterColumns.
 */
import type { ResourceType } from './catalog.js'
import { isObj, type Obj, objAt, strAt } from './types.js'

export interface Column {
  readonly name: string
  readonly type: string
  readonly format: string
  readonly description: string
  readonly priority: number
}

const NAME_DESC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names'
const CREATED_DESC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata'
const CONFIGMAP_DATA_DESC =
  "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process."

const col = (name: string, type: string, description: string, priority = 0, format = ''): Column => ({
  name,
  type,
  format,
  description,
  priority,
})
const NAME = col('Name', 'string', NAME_DESC, 0, 'name')
const AGE = col('Age', 'string', CREATED_DESC)

/** Go's duration.HumanDuration, as kubectl shows ages. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 10) {
    const s = seconds % 60
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`
  }
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) {
    const m = minutes % 60
    return m === 0 ? `${hours}h` : `${hours}h${m}m`
  }
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) {
    const h = hours % 24
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24)
    const d = days % 365
    return d === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${d}d`
  }
  return `${Math.floor(hours / 24 / 365)}y`
}

function age(o: Obj, now: number): string {
  const ts = strAt(objAt(o, 'metadata'), 'creationTimestamp')
  return ts ? humanDuration(now - Date.parse(ts)) : '<unknown>'
}

const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : [])
const num = (v: unknown): number => (typeof v === 'number' ? v : 0)
const none = (s: string | undefined): string => (s ? s : '<none>')

interface Printer {
  readonly columns: readonly Column[]
  readonly cells: (o: Obj, now: number) => unknown[]
}

function podCells(o: Obj, now: number): unknown[] {
  const spec = objAt(o, 'spec') ?? {}
  const status = objAt(o, 'status') ?? {}
  const containers = arr(spec.containers)
  const statuses = arr(status.containerStatuses)
  const ready = statuses.filter((s) => s.ready === true).length
  const restarts = statuses.reduce((n, s) => n + num(s.restartCount), 0)
  let reason = strAt(status, 'reason') ?? strAt(status, 'phase') ?? 'Unknown'
  for (const s of statuses) {
    const waiting = strAt(objAt(s, 'state'), 'reason') ?? strAt(objAt(objAt(s, 'state'), 'waiting'), 'reason')
    if (waiting) reason = waiting
  }
  if (objAt(o, 'metadata')?.deletionTimestamp) reason = 'Terminating'
  return [
    strAt(objAt(o, 'metadata'), 'name') ?? '',
    `${ready}/${containers.length}`,
    reason,
    restarts,
    age(o, now),
    none(strAt(status, 'podIP')),
    none(strAt(spec, 'nodeName')),
    none(strAt(status, 'nominatedNodeName')),
    '<none>',
  ]
}

const PRINTERS: Record<string, Printer> = {
  '/configmaps': {
    columns: [NAME, col('Data', 'string', CONFIGMAP_DATA_DESC), AGE],
    cells: (o, now) => [
      name(o),
      Object.keys(objAt(o, 'data') ?? {}).length + Object.keys(objAt(o, 'binaryData') ?? {}).length,
      age(o, now),
    ],
  },
  '/secrets': {
    columns: [
      NAME,
      col('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
      col('Data', 'string', 'Data contains the secret data.'),
      AGE,
    ],
    cells: (o, now) => [
      name(o),
      strAt(o, 'type') ?? 'Opaque',
      Object.keys(objAt(o, 'data') ?? {}).length,
      age(o, now),
    ],
  },
  '/namespaces': {
    columns: [NAME, col('Status', 'string', 'The status of the namespace'), AGE],
    cells: (o, now) => [name(o), strAt(objAt(o, 'status'), 'phase') ?? 'Active', age(o, now)],
  },
  '/pods': {
    columns: [
      NAME,
      col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 'The aggregate status of the containers in this pod.'),
      col(
        'Restarts',
        'string',
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      ),
      AGE,
      col(
        'IP',
        'string',
        'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
        1,
      ),
      col('Node', 'string', 'NodeName is a request to schedule this pod onto a specific node.', 1),
      col(
        'Nominated Node',
        'string',
        'nominatedNodeName is set only when this pod preempts other pods on the node.',
        1,
      ),
      col(
        'Readiness Gates',
        'string',
        'If specified, all readiness gates will be evaluated for pod readiness.',
        1,
      ),
    ],
    cells: podCells,
  },
  'apps/deployments': {
    columns: [
      NAME,
      col('Ready', 'string', 'Number of the pod with ready state'),
      col(
        'Up-to-date',
        'string',
        'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
      ),
      col(
        'Available',
        'string',
        'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
      ),
      AGE,
      col('Containers', 'string', 'Names of each container in the template.', 1),
      col('Images', 'string', 'Images referenced by each container in the template.', 1),
      col(
        'Selector',
        'string',
        'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
        1,
      ),
    ],
    cells: (o, now) => {
      const spec = objAt(o, 'spec') ?? {}
      const status = objAt(o, 'status') ?? {}
      const containers = arr(objAt(objAt(spec, 'template'), 'spec')?.containers)
      const match = objAt(objAt(spec, 'selector'), 'matchLabels') ?? {}
      return [
        name(o),
        `${num(status.readyReplicas)}/${typeof spec.replicas === 'number' ? spec.replicas : 1}`,
        num(status.updatedReplicas),
        num(status.availableReplicas),
        age(o, now),
        containers.map((c) => strAt(c, 'name') ?? '').join(','),
        containers.map((c) => strAt(c, 'image') ?? '').join(','),
        Object.entries(match)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(',') || '<none>',
      ]
    },
  },
  '/services': {
    columns: [
      NAME,
      col('Type', 'string', 'type determines how the Service is exposed.'),
      col(
        'Cluster-IP',
        'string',
        'clusterIP is the IP address of the service and is usually assigned randomly.',
      ),
      col(
        'External-IP',
        'string',
        'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
      ),
      col('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
      AGE,
      col(
        'Selector',
        'string',
        'Route service traffic to pods with label keys and values matching this selector.',
        1,
      ),
    ],
    cells: (o, now) => {
      const spec = objAt(o, 'spec') ?? {}
      const ports = arr(spec.ports).map(
        (p) => `${num(p.port)}${p.nodePort ? `:${num(p.nodePort)}` : ''}/${strAt(p, 'protocol') ?? 'TCP'}`,
      )
      const sel = objAt(spec, 'selector') ?? {}
      return [
        name(o),
        strAt(spec, 'type') ?? 'ClusterIP',
        strAt(spec, 'clusterIP') ?? '<none>',
        '<none>',
        ports.join(',') || '<none>',
        age(o, now),
        Object.entries(sel)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(',') || '<none>',
      ]
    },
  },
}

function name(o: Obj): string {
  return strAt(objAt(o, 'metadata'), 'name') ?? ''
}

/** A value at a simple JSONPath (.a.b, .a[0].b), as CRD printer columns use. */
function jsonPath(o: unknown, path: string): unknown {
  let cur: unknown = o
  for (const part of path.replace(/^\./, '').split('.')) {
    if (!part) continue
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part)
    if (!m) return undefined
    if (m[1]) cur = isObj(cur) ? cur[m[1]] : undefined
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) cur = Array.isArray(cur) ? cur[Number(idx[1])] : undefined
  }
  return cur
}

function customPrinter(t: ResourceType): Printer {
  const defs = t.custom?.printerColumns ?? []
  return {
    columns: [
      NAME,
      ...defs.map((c) =>
        col(
          c.name,
          c.type,
          c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
          c.priority ?? 0,
          c.format ?? '',
        ),
      ),
    ],
    cells: (o, now) => [
      name(o),
      ...defs.map((c) => {
        const v = jsonPath(o, c.jsonPath)
        if (v === undefined || v === null) return null
        if (c.type === 'date' && typeof v === 'string') return humanDuration(now - Date.parse(v))
        return typeof v === 'object' ? JSON.stringify(v) : v
      }),
    ],
  }
}

const DEFAULT_PRINTER: Printer = {
  columns: [NAME, col('Created At', 'date', CREATED_DESC)],
  cells: (o) => [name(o), strAt(objAt(o, 'metadata'), 'creationTimestamp') ?? null],
}

export function printerFor(t: ResourceType): Printer {
  if (t.custom) return customPrinter(t)
  return PRINTERS[t.storageKey] ?? DEFAULT_PRINTER
}

export type IncludeObject = 'None' | 'Metadata' | 'Object'

/** One Table row's JSON for an object (`full` is the object's JSON, reused for includeObject=Object). */
export function rowJson(t: ResourceType, o: Obj, full: string, include: IncludeObject, now: number): string {
  const cells = JSON.stringify(printerFor(t).cells(o, now))
  let object: string
  if (include === 'None') object = 'null'
  else if (include === 'Object') object = full
  else
    object = JSON.stringify({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: objAt(o, 'metadata') ?? {},
    })
  return `{"cells":${cells},"object":${object}}`
}

/** A Table document; `columns: false` writes `"columnDefinitions":null` (later watch events). */
export function tableJson(t: ResourceType, listMeta: Obj, rows: readonly string[], columns = true): string {
  const defs = columns ? JSON.stringify(printerFor(t).columns) : 'null'
  return `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(listMeta)},"columnDefinitions":${defs},"rows":[${rows.join(',')}]}`
}

/** PartialObjectMetadata JSON of an object. */
export function partialJson(o: Obj): string {
  return JSON.stringify({
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: objAt(o, 'metadata') ?? {},
  })
}
