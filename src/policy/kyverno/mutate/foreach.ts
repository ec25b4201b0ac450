/**
 * `mutate.foreach`, as Kyverno runs it (pkg/engine/handlers/mutation/common.go, forEachMutator): each
 * entry's list is evaluated against the context as the previous entry left it; each element gets
 * `element`/`elementIndex` (and `element<N>`/`elementIndex<N>` for nesting level N), its own context
 * entries and preconditions (an element whose preconditions fail is passed over), then its patch or
 * nested foreach, applied to the resource as the previous elements patched it. A patchStrategicMerge
 * list is walked last element first (kustomize prepends merged list items, so this keeps their order)
 * unless `order` says otherwise; `elementIndex` stays the element's position in the list. An entry that
 * patched nothing does not count; a foreach that counted none is `skip`.
 */
import { isJsonMap, type JsonMap } from '../../json-map.js'
import { jsonEqual } from '../../json-patch.js'
import { elementContext, errorText, type Outcome, prepare } from '../evaluate.js'
import type { MutateForEach } from '../policy.js'
import { foreachElements } from '../substitute.js'
import { applyPatches } from './patch.js'

export interface MutationOutcome extends Outcome {
  patched: JsonMap
}

/** The context with `request.object` the patched resource, as Kyverno's AddResource sets it. */
function withObject(ctx: JsonMap, object: JsonMap): JsonMap {
  const request = isJsonMap(ctx.request) ? ctx.request : {}
  return { ...ctx, request: { ...request, object } }
}

export class ForEachMutator {
  constructor(
    private readonly values: JsonMap | undefined,
    /** where the foreach sits in the rule (`['mutate', 'foreach']`), for `{{@}}` */
    private readonly at: readonly (string | number)[],
  ) {}

  run(entries: readonly MutateForEach[], resource: JsonMap, ctx: JsonMap, nesting: number): MutationOutcome {
    let applied = 0
    let current = resource
    let context = ctx
    for (const [i, fe] of entries.entries()) {
      let elements: unknown[]
      try {
        elements = foreachElements(fe.list, context)
      } catch (err) {
        return {
          status: 'error',
          message: `failed to evaluate list ${fe.list}: ${errorText(err)}`,
          patched: current,
        }
      }
      const r = this.elements(fe, elements, current, context, nesting, [...this.at, i])
      if (r.status === 'error' || r.status === 'unsupported' || r.status === 'fail')
        return { ...r, message: `failed to mutate elements: ${r.message}` }
      if (r.status === 'skip') continue
      applied++
      current = r.patched
      context = withObject(context, current)
    }
    if (applied === 0) return { status: 'skip', message: `${applied} elements processed`, patched: current }
    return { status: 'pass', message: `${applied} elements processed`, patched: current }
  }

  private elements(
    fe: MutateForEach,
    elements: unknown[],
    resource: JsonMap,
    ctx: JsonMap,
    nesting: number,
    at: readonly (string | number)[],
  ): MutationOutcome {
    const reverse = fe.order ? fe.order === 'Descending' : fe.patchStrategicMerge !== undefined
    const indexes = elements.map((_, i) => i)
    if (reverse) indexes.reverse()
    let patched = resource
    for (const index of indexes) {
      const element = elements[index]
      if (element === null || element === undefined) continue
      const prepared = prepare(
        fe.context,
        fe.preconditions,
        elementContext(ctx, element, index, nesting),
        this.values,
      )
      if (!prepared.ok) {
        if (prepared.outcome.status === 'skip') continue
        return { ...prepared.outcome, patched }
      }
      let r: MutationOutcome
      if (fe.foreach) r = this.run(fe.foreach, patched, prepared.ctx, nesting + 1)
      else {
        try {
          r = { ...applyPatches(fe, patched, prepared.ctx, at), message: '' }
        } catch (err) {
          return { status: 'error', message: errorText(err), patched }
        }
      }
      if (r.status === 'fail' || r.status === 'error' || r.status === 'unsupported') return r
      if (r.status === 'pass') patched = r.patched
    }
    if (jsonEqual(resource, patched)) return { status: 'skip', message: 'no patches applied', patched }
    return { status: 'pass', message: '', patched }
  }
}
