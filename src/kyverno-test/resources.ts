/**
 * A test's resources as `kyverno test` loads them (cmd/cli/kubectl-kyverno/resource/resource.go,
 * YamlToUnstructured): a namespaced resource that names no namespace is put in `default` (policies see
 * `metadata.namespace: default`, and results may name it `default/<name>`), and a null `labels`,
 * `annotations`, `matchLabels`, `nodeSelector`, `data` or `stringData` becomes an empty map.
 */
import { namespaceOf } from '../policy/adapters/policy-set.js'
import type { Resource } from '../resources/types.js'

type Json = Record<string, unknown>

const MAP_FIELDS = new Set(['annotations', 'labels', 'matchLabels', 'nodeSelector', 'data', 'stringData'])
const NO_NAMESPACES = new Map<string, Json>()

function withEmptyMaps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withEmptyMaps)
  if (value === null || typeof value !== 'object') return value
  const out: Json = {}
  for (const [k, v] of Object.entries(value)) out[k] = v === null && MAP_FIELDS.has(k) ? {} : withEmptyMaps(v)
  return out
}

export function asKyvernoLoadsIt(resource: Resource): Resource {
  const object = withEmptyMaps(resource.object) as Json
  const { name: namespace } = namespaceOf(resource, NO_NAMESPACES)
  if (namespace === '' || resource.namespace !== undefined) return { ...resource, object }
  const metadata = typeof object.metadata === 'object' && object.metadata !== null ? object.metadata : {}
  return { ...resource, namespace, object: { ...object, metadata: { ...metadata, namespace } } }
}
