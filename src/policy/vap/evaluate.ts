/**
 * Evaluates ValidatingAdmissionPolicies against one request as the API server's dispatcher does: each
 * matching (policy, binding, param) is evaluated, then failurePolicy and the binding's validationActions
 * turn the verdict into denials, warnings and audit annotations.
 */
import type { AdmissionInput, CelPolicyVerdict } from '../admission/cel-policy.js'
import { matchesResources } from '../admission/match-resources.js'
import type { Json } from '../admission/shape.js'
import { isJsonMap } from '../json-map.js'
import type { ValidationAction, VapBinding, VapPolicy } from './load.js'
import { selectParams } from './params.js'

export interface VapSet {
  policies: readonly VapPolicy[]
  bindings: readonly VapBinding[]
}

export interface VapRequest extends AdmissionInput {
  /** Resources a binding's paramRef may pick (the parameter files of the input). */
  paramResources?: readonly Json[]
}

export interface Denial {
  message: string
  reason: string
}

export interface VapResult {
  policy: string
  binding: string
  param?: { name: string; namespace?: string }
  /**
   * The policy's verdict; a configuration problem (a missing parameter...) is an `error` verdict whose
   * message starts "failed to configure binding".
   */
  verdict: CelPolicyVerdict
  /** What the API server does with the request on account of this evaluation. */
  decision: 'admit' | 'deny'
  denials: Denial[]
  warnings: string[]
  /** Keys as the audit event has them: `<policy>/<key>`, and the validation_failure annotation. */
  auditAnnotations: Record<string, string>
}

export const VALIDATION_FAILURE_ANNOTATION = 'validation.policy.admission.k8s.io/validation_failure'

interface Failure {
  message: string
  reason: string
  expressionIndex: number
}

/** Violations always count; evaluation problems only under failurePolicy Fail. */
function failuresOf(policy: VapPolicy, verdict: CelPolicyVerdict): Failure[] {
  const failing = policy.failurePolicy === 'Fail'
  switch (verdict.status) {
    case 'skip':
    case 'pass':
      return []
    case 'fail':
      return [
        ...verdict.violations.map((v) => ({
          message: v.message,
          reason: v.reason,
          expressionIndex: v.validation,
        })),
        ...(failing ? verdict.problems : []).map((p) => ({
          message: p.message,
          reason: 'Invalid',
          expressionIndex: p.validation ?? 0,
        })),
      ]
    case 'error': {
      if (!failing) return []
      const problems = verdict.problems.length > 0 ? verdict.problems : [{ message: verdict.message }]
      return problems.map((p) => ({
        message: p.message,
        reason: 'Invalid',
        expressionIndex: 'validation' in p ? (p.validation ?? 0) : 0,
      }))
    }
  }
}

function enforce(
  policy: VapPolicy,
  binding: VapBinding,
  verdict: CelPolicyVerdict,
): Omit<VapResult, 'policy' | 'binding' | 'verdict'> {
  const failures = failuresOf(policy, verdict)
  const denials: Denial[] = []
  const warnings: string[] = []
  const auditAnnotations: Record<string, string> = {}
  const audited: object[] = []
  for (const f of failures) {
    for (const action of binding.validationActions) {
      if (action === 'Deny')
        denials.push({
          message: `ValidatingAdmissionPolicy '${policy.name}' with binding '${binding.name}' denied request: ${f.message}`,
          reason: f.reason,
        })
      else if (action === 'Warn')
        warnings.push(
          `Validation failed for ValidatingAdmissionPolicy '${policy.name}' with binding '${binding.name}': ${f.message}`,
        )
      else
        audited.push({
          message: f.message,
          policy: policy.name,
          binding: binding.name,
          expressionIndex: f.expressionIndex,
          validationActions: binding.validationActions satisfies ValidationAction[],
        })
    }
  }
  if (audited.length > 0) auditAnnotations[VALIDATION_FAILURE_ANNOTATION] = JSON.stringify(audited)
  if (verdict.status === 'pass' || verdict.status === 'fail')
    for (const [key, value] of Object.entries(verdict.auditAnnotations))
      auditAnnotations[`${policy.name}/${key}`] = value
  return { decision: denials.length > 0 ? 'deny' : 'admit', denials, warnings, auditAnnotations }
}

/** A binding that cannot be applied: the API server denies under Fail, whatever the validationActions. */
function configurationError(policy: VapPolicy, binding: VapBinding, problem: string): VapResult {
  const message = `failed to configure binding: ${problem}`
  const denials =
    policy.failurePolicy === 'Fail'
      ? [
          {
            message: `ValidatingAdmissionPolicy '${policy.name}' with binding '${binding.name}' denied request: ${message}`,
            reason: 'Invalid',
          },
        ]
      : []
  return {
    policy: policy.name,
    binding: binding.name,
    verdict: { status: 'error', message, problems: [] },
    decision: denials.length > 0 ? 'deny' : 'admit',
    denials,
    warnings: [],
    auditAnnotations: {},
  }
}

function paramIdentity(param: Json): { name: string; namespace?: string } {
  const meta = isJsonMap(param.metadata) ? param.metadata : {}
  const id: { name: string; namespace?: string } = { name: typeof meta.name === 'string' ? meta.name : '' }
  if (typeof meta.namespace === 'string') id.namespace = meta.namespace
  return id
}

/** Every evaluation the request triggers, in policy, binding, param order. */
export function evaluateAdmission(set: VapSet, request: VapRequest): VapResult[] {
  const results: VapResult[] = []
  const subject = {
    request: request.request,
    object: request.object,
    oldObject: request.oldObject,
    namespaceObject: request.namespaceObject ?? null,
  }
  const { group, kind } = request.request.kind
  // The API server gives a Namespace no namespaceObject (it would be itself).
  const namespaceObject = group === '' && kind === 'Namespace' ? null : (request.namespaceObject ?? null)
  for (const policy of set.policies) {
    if (!matchesResources(policy.matchConstraints, subject)) continue
    for (const binding of set.bindings) {
      if (binding.policyName !== policy.name) continue
      if (binding.matchResources && !matchesResources(binding.matchResources, subject)) continue
      const selection = selectParams(
        policy.paramKind,
        binding.paramRef,
        request.request,
        request.paramResources ?? [],
      )
      if ('configError' in selection) {
        results.push(configurationError(policy, binding, selection.configError))
        continue
      }
      if (selection.params.length === 0) {
        results.push({
          policy: policy.name,
          binding: binding.name,
          verdict: { status: 'skip', reason: 'no params found; parameterNotFoundAction is Allow' },
          decision: 'admit',
          denials: [],
          warnings: [],
          auditAnnotations: {},
        })
        continue
      }
      for (const params of selection.params) {
        const verdict = policy.cel.evaluate({ ...request, params, namespaceObject })
        const result: VapResult = {
          policy: policy.name,
          binding: binding.name,
          verdict,
          ...enforce(policy, binding, verdict),
        }
        if (params) result.param = paramIdentity(params)
        results.push(result)
      }
    }
  }
  return results
}
