/**
 * The mutate rules of a set of policies applied to one resource, in Kyverno's admission order
 * (pkg/engine/mutation.go; cmd/cli/kubectl-kyverno/processor/policy_processor.go): policy after policy,
 * rule after rule, each rule matched against and applied to the resource as the rules before it left it
 * (its `request.object` too); `applyRules: One` stops a policy at its first rule that patched. Each policy's
 * response carries the resource as it left it, which `kyverno test` compares with `patchedResource`.
 */
import type { JsonMap } from '../../json-map.js'
import { type PolicyRequest, policySees, type RuleStatus, ruleInputs, scoredStatus } from '../evaluate.js'
import type { KyvernoPolicy, KyvernoRule } from '../policy.js'
import { runMutation } from './rule.js'

export interface MutationResponse {
  policy: KyvernoPolicy
  rule: KyvernoRule
  status: RuleStatus
  message: string
  /** the resource after every mutate rule of the policy */
  patched: JsonMap
  /** the resource after this rule: what a scan reports each rule changed */
  after: JsonMap
}

export interface MutatedResource {
  responses: MutationResponse[]
  /** the resource after every policy's mutate rules: what validation then sees */
  resource: JsonMap
}

export function mutateResource(policies: readonly KyvernoPolicy[], req: PolicyRequest): MutatedResource {
  const responses: MutationResponse[] = []
  let resource = req.object
  for (const policy of policies) {
    const rules = policy.rules.filter((r) => r.type === 'mutate')
    if (rules.length === 0 || !policySees(policy, resource)) continue
    const own: Omit<MutationResponse, 'patched'>[] = []
    for (const rule of rules) {
      const inputs = ruleInputs(policy, rule, { ...req, object: resource })
      if (!inputs) continue
      const unsupported = rule.validation.type === 'unsupported' ? rule.validation.unsupported : undefined
      if (!rule.mutation) {
        own.push({
          policy,
          rule,
          status: 'unsupported',
          message: `${unsupported?.feature}: ${unsupported?.reason}`,
          after: resource,
        })
        continue
      }
      const outcome = runMutation(rule, rule.mutation, inputs)
      resource = outcome.patched
      own.push({
        policy,
        rule,
        status: scoredStatus(policy, outcome.status),
        message: outcome.message,
        after: resource,
      })
      // Kyverno counts a rule as applied when it passed or failed (PolicyResponse.Add).
      if (policy.applyRules === 'One' && (outcome.status === 'pass' || outcome.status === 'fail')) break
    }
    for (const r of own) responses.push({ ...r, patched: resource })
  }
  return { responses, resource }
}
