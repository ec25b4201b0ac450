/**
 * One patch of a mutate rule (or of one foreach element) applied to a resource: its variables
 * substituted, then the strategic merge overlay (anchors resolved, then merged) or the RFC 6902
 * operations. As in Kyverno (pkg/engine/mutate/mutation.go), a patch that leaves the resource as it was
 * is `skip` ("no patches applied"), one that changes it `pass`.
 */
import type { JsonMap } from '../../json-map.js'
import { jsonEqual } from '../../json-patch.js'
import { substitute } from '../substitute.js'
import { resolveOverlay } from './anchors-merge.js'
import { applyJson6902 } from './json6902.js'
import { strategicMerge } from './strategic-merge.js'

export interface Patches {
  patchStrategicMerge?: unknown
  patchesJson6902?: string
}

export interface PatchResult {
  status: 'pass' | 'skip'
  patched: JsonMap
}

/**
 * `at` is where the patches sit in the rule (`['mutate']`, or a foreach entry), for `{{@}}`. Throws
 * when a variable cannot be resolved or the patch cannot be applied (the rule then errs).
 */
export function applyPatches(
  patches: Patches,
  resource: JsonMap,
  ctx: JsonMap,
  at: readonly (string | number)[],
): PatchResult {
  let patched: JsonMap
  // Kyverno takes the overlay when a rule has both.
  if (patches.patchStrategicMerge !== undefined) {
    const overlay = substitute(patches.patchStrategicMerge, ctx, 'strict', [...at, 'patchStrategicMerge'])
    patched = strategicMerge(resource, resolveOverlay(overlay, resource))
  } else {
    const text = substitute(patches.patchesJson6902 ?? '', ctx, 'strict', [...at, 'patchesJson6902'])
    patched = applyJson6902(resource, String(text))
  }
  return { status: jsonEqual(resource, patched) ? 'skip' : 'pass', patched }
}
