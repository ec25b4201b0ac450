/**
 * JSON the way the API server writes it. Built-in kinds are Go structs: TypeMeta first, then
 * metadata in ObjectMeta's field order, and list items without kind/apiVersion. Custom resources are
 * unstructured maps, which Go encodes with every object's keys sorted. Bodies are encoded once, when
 * an object is stored, and reused by every get, list and watch event.
 */
import type { ResourceType } from './catalog.js'
import { isObj, type Obj } from './types.js'

/** ObjectMeta's field order in Go. */
const META_ORDER = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]
const META_RANK = new Map(META_ORDER.map((k, i) => [k, i]))
const MANAGED_ORDER = ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1', 'subresource']
const MANAGED_RANK = new Map(MANAGED_ORDER.map((k, i) => [k, i]))

function ordered(o: Obj, rank: Map<string, number>): Obj {
  const keys = Object.keys(o).sort((a, b) => (rank.get(a) ?? 99) - (rank.get(b) ?? 99))
  const out: Obj = {}
  for (const k of keys) out[k] = o[k]
  return out
}

/** ObjectMeta with Go's field order and omitempty (empty maps and lists are dropped). */
export function orderMetadata(meta: Obj): Obj {
  const m: Obj = {}
  for (const [k, v] of Object.entries(meta)) {
    if (v === undefined) continue
    if ((k === 'labels' || k === 'annotations') && isObj(v) && Object.keys(v).length === 0) continue
    if (
      (k === 'ownerReferences' || k === 'finalizers' || k === 'managedFields') &&
      Array.isArray(v) &&
      v.length === 0
    )
      continue
    if (k === 'managedFields' && Array.isArray(v)) {
      m[k] = v.map((e) => (isObj(e) ? ordered(e, MANAGED_RANK) : e))
      continue
    }
    m[k] = v
  }
  return ordered(m, META_RANK)
}

/** Every object's keys sorted, as Go encodes map[string]interface{}. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep)
  if (!isObj(value)) return value
  const out: Obj = {}
  for (const k of Object.keys(value).sort()) out[k] = sortKeysDeep(value[k])
  return out
}

/**
 * The stored body of an object. For built-ins it has no kind/apiVersion and starts with
 * `{"metadata":`, so a full object is TypeMeta spliced in front and a list item is the body as is.
 * For custom resources it is the whole object, sorted.
 */
export function encodeBody(type: ResourceType, obj: Obj): string {
  if (type.custom) {
    const { apiVersion: _a, kind: _k, ...rest } = obj
    return JSON.stringify(sortKeysDeep({ apiVersion: type.apiVersion, kind: type.kind, ...rest }))
  }
  const { kind: _k, apiVersion: _a, metadata, ...rest } = obj
  return JSON.stringify({ metadata: orderMetadata(isObj(metadata) ? metadata : {}), ...rest })
}

/** The full object JSON for a body encoded by encodeBody, served as `type` (its version). */
export function fullJson(type: ResourceType, body: string): string {
  if (type.custom) {
    const prefix = `{"apiVersion":${JSON.stringify(type.apiVersion)},`
    if (body.startsWith(prefix)) return body
    // Another served version of the same CRD (conversion strategy None: only apiVersion changes).
    const obj = JSON.parse(body) as Obj
    obj.apiVersion = type.apiVersion
    return JSON.stringify(sortKeysDeep(obj))
  }
  return `{"kind":${JSON.stringify(type.kind)},"apiVersion":${JSON.stringify(type.apiVersion)},${body.slice(1)}`
}

/** A list item: built-in items carry no TypeMeta; custom resources always do. */
export function itemJson(type: ResourceType, body: string): string {
  return type.custom ? fullJson(type, body) : body
}

/** Decodes a stored body back into a full object of `type`. */
export function decodeBody(type: ResourceType, body: string): Obj {
  const obj = JSON.parse(body) as Obj
  if (type.custom) {
    obj.apiVersion = type.apiVersion
    return obj
  }
  return { kind: type.kind, apiVersion: type.apiVersion, ...obj }
}

/** A Status or other small document in the server's compact form, with the trailing newline. */
export function compact(doc: unknown): string {
  return `${JSON.stringify(doc)}\n`
}
