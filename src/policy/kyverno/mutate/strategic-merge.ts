/**
 * A strategic merge patch as Kyverno applies one (pkg/engine/mutate/patch/strategicMergePatch.go hands the
 * anchor-free patch to kustomize's patchstrategicmerge filter, i.e. kyaml's merge2 walker with lists
 * prepended: sigs.k8s.io/kustomize/kyaml/yaml/merge2 and yaml/walk):
 * - maps merge field by field; `null` in the patch deletes the field;
 * - a list the Kubernetes schema marks `patchStrategy: merge` (containers, volumes, env... by `name`, ports
 *   by containerPort and protocol) merges item by item on its keys: the patch's items first, in its order,
 *   then the resource's other items; a list of scalars so marked (finalizers) is a set union;
 * - every other list, and every list of a kind the schema does not know (custom resources), is replaced;
 * - `$patch: delete` deletes a map, a list item or (as a list's own item) the list; `$patch: replace`
 *   replaces a map or (as a list's own item) the list; `$patch: merge` merges;
 * - a patch value of another type than the resource's (a map onto a string) is an error.
 */
import { isJsonMap, type JsonMap } from '../../json-map.js'
import { fieldSchema, itemSchema, type NodeSchema, schemaOfResource } from './merge-schema.js'

export class MergeError extends Error {
  override name = 'MergeError'
}

/** What merging gave for a field: a value, or that the field goes. */
const CLEAR = Symbol('clear')
type Merged = unknown | typeof CLEAR

const DIRECTIVE = '$patch'

type Directive = 'merge' | 'replace' | 'delete'

function kindOf(v: unknown): 'map' | 'list' | 'scalar' | 'none' {
  if (v === undefined || v === null) return 'none'
  if (Array.isArray(v)) return 'list'
  return isJsonMap(v) ? 'map' : 'scalar'
}

function mapDirective(patch: JsonMap): { directive: Directive; rest: JsonMap } {
  if (!Object.hasOwn(patch, DIRECTIVE)) return { directive: 'merge', rest: patch }
  const value = patch[DIRECTIVE]
  if (value !== 'merge' && value !== 'replace' && value !== 'delete')
    throw new MergeError(`unknown patch strategy '${String(value)}'`)
  const { [DIRECTIVE]: _, ...rest } = patch
  return { directive: value, rest }
}

/** A list's own directive is an item holding `$patch` and nothing else. */
function listDirective(patch: readonly unknown[]): { directive: Directive; rest: unknown[] } {
  const index = patch.findIndex((x) => isJsonMap(x) && Object.hasOwn(x, DIRECTIVE))
  const item = patch[index]
  if (!isJsonMap(item) || Object.keys(item).length > 1) return { directive: 'merge', rest: [...patch] }
  const { directive } = mapDirective(item)
  return { directive, rest: patch.filter((_, i) => i !== index) }
}

/** The text kyaml compares merge keys by: a scalar's YAML value, '' for a missing or empty one. */
function keyText(item: unknown, key: string): string {
  if (!isJsonMap(item)) return ''
  const v = item[key]
  if (v === undefined || v === null || v === '') return ''
  return typeof v === 'object' ? JSON.stringify(v) : String(v)
}

const isEmptyMap = (v: unknown) => isJsonMap(v) && Object.keys(v).length === 0

class Merger {
  value(dest: unknown, patch: unknown, schema: NodeSchema | undefined): Merged {
    const destKind = kindOf(dest)
    const patchKind = kindOf(patch)
    const kind = destKind !== 'none' ? destKind : patchKind
    if (destKind !== 'none' && patchKind !== 'none' && destKind !== patchKind)
      throw new MergeError(`wrong node kind: expected ${kind} but got ${patchKind}: ${JSON.stringify(patch)}`)
    switch (kind) {
      case 'list':
        return this.list(dest as unknown[] | null | undefined, patch as unknown[] | null | undefined, schema)
      case 'scalar':
        if (patch === null) return CLEAR
        return patch !== undefined ? patch : dest
      default:
        return this.map(dest as JsonMap | null | undefined, patch as JsonMap | null | undefined, schema)
    }
  }

  private map(dest: JsonMap | null | undefined, patch: JsonMap | null | undefined, schema?: NodeSchema) {
    let base: JsonMap
    let against: JsonMap | null | undefined = patch
    if (dest === undefined || dest === null) {
      if (patch === undefined) return dest === null ? null : CLEAR
      // A null patch value walked against nothing: kyaml sets it, then drops the null field.
      if (patch === null) return CLEAR
      const { directive, rest } = mapDirective(patch)
      if (directive === 'delete') return CLEAR
      // kyaml adds the patch's map, then walks it against itself.
      base = rest
      against = rest
    } else if (patch === null) {
      return CLEAR
    } else if (patch === undefined) {
      base = dest
    } else {
      const { directive, rest } = mapDirective(patch)
      if (directive === 'delete') return CLEAR
      base = directive === 'replace' ? rest : dest
      against = rest
    }
    const out: JsonMap = { ...base }
    const fields = new Set([...Object.keys(base), ...Object.keys(against ?? {})])
    for (const key of [...fields].sort()) {
      const merged = this.value(base[key], against?.[key], fieldSchema(schema, key))
      if (merged === CLEAR || merged === undefined) delete out[key]
      else out[key] = merged
    }
    return out
  }

  private list(dest: unknown[] | null | undefined, patch: unknown[] | null | undefined, schema?: NodeSchema) {
    const keys = schema?.mergeKeys
    if (keys === undefined) {
      if (patch === null) return CLEAR
      return patch !== undefined ? patch : dest
    }
    let base: unknown[]
    let against: unknown[] | undefined
    if (dest === undefined || dest === null) {
      if (patch === undefined || patch === null) return CLEAR
      base = patch
      against = patch
    } else if (patch === null) {
      return CLEAR
    } else if (patch === undefined) {
      base = dest
    } else {
      const { directive, rest } = listDirective(patch)
      if (directive === 'delete') return CLEAR
      base = directive === 'replace' ? rest : dest
      against = rest
    }
    if (base === patch) {
      const { directive, rest } = listDirective(base)
      if (directive === 'delete') return CLEAR
      base = rest
      against = rest
    }
    return keys.length === 0
      ? this.scalarSet(base, against ?? [])
      : this.associative(base, against ?? [], keys, itemSchema(schema))
  }

  /** A set of scalars: the patch's first, then the resource's others. */
  private scalarSet(dest: readonly unknown[], patch: readonly unknown[]): unknown[] {
    const out: unknown[] = []
    const seen = new Set<string>()
    for (const v of [...patch, ...dest]) {
      const text = typeof v === 'object' ? JSON.stringify(v) : String(v)
      if (seen.has(text)) continue
      seen.add(text)
      out.push(v)
    }
    return out
  }

  /** Items merged on their keys: one per distinct key tuple, the patch's tuples first. */
  private associative(
    dest: readonly unknown[],
    patch: readonly unknown[],
    keys: string[],
    item?: NodeSchema,
  ) {
    const tuple = (x: unknown) => keys.map((k) => keyText(x, k)).join('\u0000')
    const find = (list: readonly unknown[], t: string) =>
      list.find((x) => isJsonMap(x) && !isEmptyMap(x) && tuple(x) === t)
    const order: string[] = []
    for (const x of [...patch, ...dest]) {
      if (!isJsonMap(x) || isEmptyMap(x)) continue
      const t = tuple(x)
      if (!order.includes(t)) order.push(t)
    }
    const out: unknown[] = []
    for (const t of order) {
      const merged = this.value(find(dest, t), find(patch, t), item)
      if (merged === CLEAR || merged === null || merged === undefined || isEmptyMap(merged)) continue
      const values = t.split('\u0000')
      const withKeys = { ...(merged as JsonMap) }
      keys.forEach((k, i) => {
        if (withKeys[k] === undefined && values[i] !== '') withKeys[k] = values[i]
      })
      out.push(withKeys)
    }
    return out
  }
}

/**
 * Applies an anchor-free strategic merge patch to a resource; the resource's apiVersion and kind choose
 * the schema that says how its lists merge.
 */
export function strategicMerge(resource: JsonMap, patch: unknown): JsonMap {
  const merged = new Merger().value(resource, patch, schemaOfResource(resource))
  if (!isJsonMap(merged)) throw new MergeError('the patch deleted the whole resource')
  return merged
}
