/**
 * What an expected result is about: a validation, a mutation, a generation, an image verification, or
 * another kind of policy (deletion...). `kyverno test`'s results are counted apart by it, since Plimsoll
 * runs validations and reports the others as not yet supported.
 */
import type { PolicySet } from '../policy/adapters/policy-set.js'
import type { KyvernoRule } from '../policy/kyverno/policy.js'
import type { ExpectedEntry, PolicyType } from './test-file.js'

export const RESULT_KINDS = ['validate', 'mutate', 'generate', 'verifyImages', 'other'] as const
export type ResultKind = (typeof RESULT_KINDS)[number]

const BY_POLICY_TYPE: Record<Exclude<PolicyType, 'kyverno'>, ResultKind> = {
  ValidatingPolicy: 'validate',
  ValidatingAdmissionPolicy: 'validate',
  MutatingPolicy: 'mutate',
  MutatingAdmissionPolicy: 'mutate',
  GeneratingPolicy: 'generate',
  ImageValidatingPolicy: 'verifyImages',
  DeletingPolicy: 'other',
  other: 'other',
}

/** Policy kinds Plimsoll recognises but does not run, by what they do. */
const BY_UNSUPPORTED_KIND: Record<string, ResultKind> = {
  MutatingPolicy: 'mutate',
  GeneratingPolicy: 'generate',
  ImageValidatingPolicy: 'verifyImages',
}

function ruleKind(rules: readonly KyvernoRule[], name: string | undefined): ResultKind {
  const rule = rules.find((r) => r.name === name || r.autogenFrom === name)
  if (rule) return rule.type
  // No rule of that name: the policy's own kind, when all its rules agree.
  const types = new Set(rules.map((r) => r.type))
  const [only] = types
  return types.size === 1 && only ? only : 'validate'
}

export function resultKindOf(e: ExpectedEntry, set: PolicySet): ResultKind {
  if (e.produces === 'patched') return 'mutate'
  if (e.produces === 'generated') return 'generate'
  if (e.policyType !== 'kyverno' && e.policyType !== 'other') return BY_POLICY_TYPE[e.policyType]
  // Otherwise (no flag, or one Kyverno does not know, such as a misspelled one) the loaded policy tells.
  const policy = set.kyverno.find(
    (p) => p.name === e.policy || (p.namespace !== undefined && `${p.namespace}/${p.name}` === e.policy),
  )
  if (policy) return ruleKind(policy.rules, e.rule)
  if (set.mutating.some((p) => p.name === e.policy) || set.map.policies.some((p) => p.name === e.policy))
    return 'mutate'
  if (set.generating.some((p) => p.name === e.policy)) return 'generate'
  const unsupported = set.unsupported.find((u) => u.name === e.policy)
  const byKind = unsupported && BY_UNSUPPORTED_KIND[unsupported.kind]
  return byKind ?? (e.policyType === 'other' ? 'other' : 'validate')
}
