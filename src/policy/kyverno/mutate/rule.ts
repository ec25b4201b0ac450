/**
 * One mutate rule on one resource, once it matched (pkg/engine/handlers/mutation/mutate_resource.go):
 * its context entries and preconditions, as for validate rules (preconditions not met: `skip`), then its
 * patch or foreach. `pass` when the resource changed, `skip` when nothing changed, `error` when a
 * variable cannot be resolved or the patch cannot be applied (the resource is then left as it was).
 */
import type { JsonMap } from '../../json-map.js'
import { errorText, prepare, type RuleInputs } from '../evaluate.js'
import type { KyvernoRule, Mutation } from '../policy.js'
import { ForEachMutator, type MutationOutcome } from './foreach.js'
import { applyPatches } from './patch.js'

/** Kyverno's message for a rule that patched its resource. */
function mutatedMessage(r: JsonMap): string {
  const meta = (r.metadata ?? {}) as JsonMap
  const what = `${String(r.kind ?? '')}/${String(meta.name ?? '')}`
  return typeof meta.namespace === 'string' && meta.namespace !== ''
    ? `mutated ${what} in namespace ${meta.namespace}`
    : `mutated ${what}`
}

export function runMutation(rule: KyvernoRule, mutation: Mutation, inputs: RuleInputs): MutationOutcome {
  const resource = inputs.object
  const prepared = prepare(rule.context, rule.preconditions, inputs.ctx, inputs.values)
  if (!prepared.ok) return { ...prepared.outcome, patched: resource }
  let r: MutationOutcome
  if (mutation.foreach) {
    r = new ForEachMutator(inputs.values, ['mutate', 'foreach']).run(
      mutation.foreach,
      resource,
      prepared.ctx,
      0,
    )
  } else {
    try {
      r = { ...applyPatches(mutation, resource, prepared.ctx, ['mutate']), message: 'no patches applied' }
    } catch (err) {
      return { status: 'error', message: `failed to patch resource: ${errorText(err)}`, patched: resource }
    }
  }
  if (r.status === 'pass') return { ...r, message: mutatedMessage(r.patched) }
  return r.status === 'skip' ? r : { ...r, patched: resource }
}
