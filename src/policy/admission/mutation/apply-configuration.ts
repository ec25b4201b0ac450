/**
 * An apply configuration merged into an object the way server-side apply merges (structured-merge-diff's
 * typed Merge, which k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch/smd.go calls):
 * - maps and structs are merged key by key, what the configuration does not name is kept;
 * - atomic maps, structs and lists are replaced whole;
 * - `set` lists get the configuration's new items, `map` lists are merged item by item on their keys
 *   (containers by name, ports by port and protocol), in the order structured-merge-diff gives: the
 *   object's items, the configuration's shared items where it places them, new items after.
 * Before merging, the API server refuses a configuration that sets an atomic list, map or struct
 * (validatePatch: changing part of one would silently drop the rest); Kyverno's MutatingPolicy skips
 * that guard when `spec.evaluation.useServerSideApply` is set (pkg/cel/policies/mpol/compiler/smd.go).
 */
import { isJsonMap } from '../../json-map.js'
import { DEDUCED, type ListKind, type SchemaNode } from './merge-schema.js'

type Json = Record<string, unknown>

export class ApplyConfigurationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ApplyConfigurationError'
  }
}

function fieldSchema(schema: SchemaNode, key: string): SchemaNode {
  if (schema.t === 'struct') return schema.fields[key] ?? DEDUCED
  if (schema.t === 'map') return schema.values
  return DEDUCED
}

/**
 * The paths of the atomic lists, maps and structs a configuration sets. As in structured-merge-diff, only
 * fields the schema declares are looked into: a map's values and schemaless parts are not.
 */
export function atomicPaths(value: unknown, schema: SchemaNode, path = ''): string[] {
  const out: string[] = []
  if (isJsonMap(value) && (schema.t === 'struct' || schema.t === 'map')) {
    if (schema.atomic) out.push(path)
    if (schema.t === 'struct')
      for (const [k, v] of Object.entries(value)) {
        const field = schema.fields[k]
        if (field) out.push(...atomicPaths(v, field, `${path}.${k}`))
      }
  } else if (Array.isArray(value) && schema.t === 'list') {
    if (schema.list === 'atomic') out.push(path)
    value.forEach((v, i) => {
      out.push(...atomicPaths(v, schema.items, `${path}[${i}]`))
    })
  }
  return out
}

/** The identity of a list item: its key fields (with their defaults), or the value itself for a set. */
function itemKey(list: Exclude<ListKind, 'atomic'>, item: unknown): string {
  if (list === 'set') return JSON.stringify(item)
  if (!isJsonMap(item))
    throw new ApplyConfigurationError('associative list with keys has an element that is not a map')
  const key: Record<string, unknown> = {}
  for (const k of list.keys) {
    const v = item[k] ?? list.defaults?.[k]
    if (v === undefined)
      throw new ApplyConfigurationError(
        `associative list with keys has an element that omits key field "${k}"`,
      )
    key[k] = v
  }
  return JSON.stringify(key)
}

/**
 * The items by key. A key the object holds twice maps to undefined: structured-merge-diff then merges the
 * configuration's item with neither, and drops both.
 */
function index(list: Exclude<ListKind, 'atomic'>, items: readonly unknown[]) {
  const keys = items.map((item) => itemKey(list, item))
  const byKey = new Map<string, unknown>()
  keys.forEach((k, i) => {
    byKey.set(k, byKey.has(k) ? undefined : items[i])
  })
  return { keys, byKey }
}

function mergeList(live: unknown[], patch: unknown[], schema: SchemaNode & { t: 'list' }): unknown[] {
  const list = schema.list
  if (list === 'atomic') return patch
  const lhs = index(list, live)
  const rhs = index(list, patch)
  if (new Set(rhs.keys).size !== rhs.keys.length)
    throw new ApplyConfigurationError('duplicate entries in an associative list of the apply configuration')
  // Items both sides have, in the configuration's order: the merged list places them in that order.
  const shared = rhs.keys.filter((k) => lhs.byKey.has(k))
  let pending = 0
  let nextShared = shared[pending++]
  const advance = () => {
    nextShared = shared[pending++]
  }
  const merged = new Set<string>()
  const out: unknown[] = []
  const mergeItem = (k: string) => {
    const [l, r] = [lhs.byKey.get(k), rhs.byKey.get(k)]
    return l !== undefined && r !== undefined ? mergeValue(l, r, schema.items) : (r ?? l)
  }
  let l = 0
  let r = 0
  while (l < lhs.keys.length || r < rhs.keys.length) {
    const lk = lhs.keys[l]
    const rk = rhs.keys[r]
    if (lk !== undefined && rk !== undefined) {
      if (lk === rk) {
        merged.add(lk)
        out.push(mergeItem(lk))
        l++
        r++
        advance()
        continue
      }
      // A shared item the configuration places later: it is written when the configuration reaches it.
      if (rhs.byKey.has(lk) && nextShared !== undefined && nextShared !== lk) {
        l++
        continue
      }
    }
    if (lk !== undefined) {
      if (!rhs.byKey.has(lk)) {
        out.push(live[l])
        l++
        continue
      }
      // Already written with its configuration item: passed over, and the configuration's next item is
      // taken in the same round, as merge.go does.
      if (merged.has(lk)) l++
    }
    if (rk !== undefined) {
      merged.add(rk)
      out.push(mergeItem(rk))
      r++
      if (nextShared === rk) advance()
    }
  }
  return out
}

function mergeValue(live: unknown, patch: unknown, schema: SchemaNode): unknown {
  if (isJsonMap(live) && isJsonMap(patch)) {
    if ((schema.t === 'struct' || schema.t === 'map') && schema.atomic) return patch
    const out: Json = { ...live }
    for (const [k, v] of Object.entries(patch))
      out[k] = k in live ? mergeValue(live[k], v, fieldSchema(schema, k)) : v
    return out
  }
  if (Array.isArray(live) && Array.isArray(patch) && schema.t === 'list')
    return mergeList(live, patch, schema)
  return patch
}

export interface MergeOptions {
  /** refuse configurations that set atomic parts (the API server's guard; default true) */
  guardAtomics?: boolean
}

/** `object` with `configuration` applied; throws ApplyConfigurationError. */
export function applyConfiguration(
  object: Json,
  configuration: Json,
  schema: SchemaNode,
  options: MergeOptions = {},
): Json {
  if (options.guardAtomics !== false) {
    const atomics = atomicPaths(configuration, schema)
    if (atomics.length > 0)
      throw new ApplyConfigurationError(
        `invalid ApplyConfiguration: may not mutate atomic arrays, maps or structs: ${atomics.join(', ')}`,
      )
  }
  const merged = mergeValue(object, configuration, schema)
  return isJsonMap(merged) ? merged : object
}
