/**
 * The part of Kubernetes' OpenAPI schema a strategic merge patch needs (see k8s-merge-keys.ts): for a
 * resource's kind, then field by field, which lists merge item by item and on which keys. A node the
 * schema does not describe has no schema, and neither has anything below it, as in kyaml's walker.
 */
import { DEFINITIONS, KINDS } from './k8s-merge-keys.js'

/** What the schema says of one value: the definition of its map (or of its items), and merge keys. */
export interface NodeSchema {
  definition?: string
  /** set for a list merged item by item: its keys (empty: a list of scalars merged as a set) */
  mergeKeys?: string[]
}

interface Tables {
  fields: Map<string, Map<string, NodeSchema>>
  kinds: Map<string, string>
}

let tables: Tables | undefined

function parseField(spec: string): [string, NodeSchema] {
  const m = /^([^>[]+)(?:>([^[]+))?(?:\[([^\]]*)\])?$/.exec(spec)
  if (!m) throw new Error(`k8s-merge-keys: cannot read '${spec}'`)
  const schema: NodeSchema = {}
  if (m[2]) schema.definition = m[2]
  if (m[3] !== undefined) schema.mergeKeys = m[3] === '' ? [] : m[3].split(',')
  return [m[1]!, schema]
}

function load(): Tables {
  if (tables) return tables
  const fields = new Map<string, Map<string, NodeSchema>>()
  for (const line of DEFINITIONS.split('\n')) {
    const [name, ...specs] = line.trim().split(' ')
    if (name) fields.set(name, new Map(specs.map(parseField)))
  }
  const kinds = new Map<string, string>()
  for (const line of KINDS.split('\n')) {
    const [definition, ...types] = line.trim().split(' ')
    if (definition) for (const t of types) kinds.set(t, definition)
  }
  tables = { fields, kinds }
  return tables
}

/** The schema of a whole resource, found by its apiVersion and kind, as kyaml finds it. */
export function schemaOfResource(resource: unknown): NodeSchema | undefined {
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) return undefined
  const { apiVersion, kind } = resource as Record<string, unknown>
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined
  const definition = load().kinds.get(`${apiVersion}/${kind}`)
  return definition ? { definition } : undefined
}

/** The schema of a field of a map described by `parent`. */
export function fieldSchema(parent: NodeSchema | undefined, field: string): NodeSchema | undefined {
  if (!parent?.definition || parent.mergeKeys) return undefined
  return load().fields.get(parent.definition)?.get(field)
}

/** The schema of the items of a list described by `parent`. */
export function itemSchema(parent: NodeSchema | undefined): NodeSchema | undefined {
  return parent?.definition ? { definition: parent.definition } : undefined
}
