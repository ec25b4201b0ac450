/**
 * `patchesJson6902`: RFC 6902 operations written as a YAML (or, when the text starts with `[`, JSON) list,
 * applied as Kyverno applies them (pkg/engine/mutate/patch/patchJSON6902.go and patchesUtils.go): with
 * evanphx/json-patch's SupportNegativeIndices, AllowMissingPathOnRemove and EnsurePathExistsOnAdd, so that
 * `add` creates the maps (and lists, before an index or `-`) on its path and `remove` of a missing path
 * does nothing. Paths escape `/` as `~1` and `~` as `~0`; `-` appends to a list.
 */
import { load } from 'js-yaml'
import { KUBERNETES_YAML_SCHEMA } from '../../../resources/yaml-schema.js'
import { isJsonMap, type JsonMap } from '../../json-map.js'
import { applyJsonPatch, JsonPatchError, type JsonPatchOperation } from '../../json-patch.js'

/** Reads the operations; throws JsonPatchError for text that is not a list of operations. */
export function parseJson6902(text: string): JsonPatchOperation[] {
  let raw: unknown
  try {
    raw = text.startsWith('[') ? JSON.parse(text) : load(text, { schema: KUBERNETES_YAML_SCHEMA })
  } catch (err) {
    throw new JsonPatchError(`failed to decode patches: ${(err as Error).message.split('\n')[0]}`)
  }
  if (!Array.isArray(raw)) throw new JsonPatchError('failed to decode patches: expected a list of operations')
  return raw.map((op, i) => {
    if (!isJsonMap(op) || typeof op.op !== 'string' || typeof op.path !== 'string')
      throw new JsonPatchError(`failed to decode patches: operation ${i} needs an op and a path`)
    return op as unknown as JsonPatchOperation
  })
}

export function applyJson6902(resource: JsonMap, text: string): JsonMap {
  const patched = applyJsonPatch(resource, parseJson6902(text), {
    supportNegativeIndices: true,
    allowMissingPathOnRemove: true,
    ensurePathExistsOnAdd: true,
  })
  if (!isJsonMap(patched)) throw new JsonPatchError('the patch did not leave an object')
  return patched
}
