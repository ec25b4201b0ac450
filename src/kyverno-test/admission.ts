/**
 * One resource through a test's policies in the order `kyverno test` runs them, which is admission's
 * (cmd/cli/kubectl-kyverno/processor/policy_processor.go, ApplyPoliciesOnResource): the mutate rules of
 * every policy first (mutate/policies.ts), then validation of the mutated resource by every policy kind,
 * then the generate rules, triggered by the mutated resource. Each verdict keeps what `kyverno test`
 * compares: a mutate rule's policy's patched resource, the resource a validate rule saw, the resources a
 * generate rule made.
 */

import { producedVerdicts } from '../policy/adapters/cel-mutations.js'
import type { PolicyResponse, PolicySet } from '../policy/adapters/policy-set.js'
import { evaluatePolicySet } from '../policy/adapters/policy-set.js'
import type { JsonMap } from '../policy/json-map.js'
import type { PolicyRequest, RuleStatus } from '../policy/kyverno/evaluate.js'
import { generateForResource } from '../policy/kyverno/generate.js'
import { mutateResource } from '../policy/kyverno/mutate/policies.js'
import type { KyvernoPolicy, KyvernoRule } from '../policy/kyverno/policy.js'

export interface AdmissionVerdict {
  response: PolicyResponse
  /** the resource as the rule's policy left it (mutate) or as validation saw it */
  patched?: JsonMap
  /** what a generate rule made */
  generated?: JsonMap[]
  /** why a generate rule that passed made nothing */
  note?: string
}

const VALIDATION = new Set<KyvernoRule['type']>(['validate', 'verifyImages'])

function kyvernoResponse(policy: KyvernoPolicy, rule: KyvernoRule, status: RuleStatus, message: string) {
  const response: PolicyResponse = {
    policyKind: policy.kind,
    policy: policy.name,
    rule: rule.name,
    status,
    message,
    annotations: policy.annotations,
  }
  if (policy.namespace !== undefined) response.policyNamespace = policy.namespace
  return response
}

export function admit(
  set: PolicySet,
  req: PolicyRequest,
  cloneSources: (policy: KyvernoPolicy, rule: KyvernoRule) => readonly JsonMap[],
): AdmissionVerdict[] {
  const out: AdmissionVerdict[] = []
  const mutated = mutateResource(set.kyverno, req)
  for (const r of mutated.responses)
    out.push({ response: kyvernoResponse(r.policy, r.rule, r.status, r.message), patched: r.patched })
  const admitted: PolicyRequest = { ...req, object: mutated.resource, ruleTypes: VALIDATION }
  for (const response of evaluatePolicySet(set, admitted)) out.push({ response, patched: mutated.resource })
  // MutatingAdmissionPolicies, MutatingPolicies and GeneratingPolicies, as the CLI runs them after validation.
  out.push(...producedVerdicts(set, { ...req, object: mutated.resource }))
  for (const r of generateForResource(set.kyverno, { ...req, object: mutated.resource }, cloneSources)) {
    const verdict: AdmissionVerdict = {
      response: kyvernoResponse(r.policy, r.rule, r.status, r.message),
      generated: r.generated,
    }
    if (r.note) verdict.note = r.note
    out.push(verdict)
  }
  return out
}
