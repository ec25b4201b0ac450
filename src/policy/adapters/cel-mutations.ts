/**
 * What the mutating and generating CEL policies of a set do to one resource, in the order the Kyverno CLI
 * applies them (cmd/cli/kubectl-kyverno/processor/policy_processor.go): MutatingAdmissionPolicies, then
 * MutatingPolicies, each seeing the resource the previous ones patched, then GeneratingPolicies on the
 * patched resource. Used by `kyverno test`, which compares the results with the test's files.
 */
import type { Json } from '../admission/shape.js'
import { isJsonMap } from '../json-map.js'
import { admissionRequestOf, type PolicyRequest } from '../kyverno/evaluate.js'
import { mutateAdmission } from '../vap/mutating.js'
import type { PolicyResponse, PolicySet } from './policy-set.js'

export interface ProducedResponse {
  policyKind: 'MutatingPolicy' | 'MutatingAdmissionPolicy' | 'GeneratingPolicy'
  policy: string
  /** the binding of a MutatingAdmissionPolicy ('' when it ran without one) */
  binding?: string
  status: 'pass' | 'skip' | 'error' | 'unsupported'
  message: string
  /** the resource after this policy (and those before it): for mutating policies that ran */
  patched?: Json
  /** the resources a GeneratingPolicy generated */
  generated?: Json[]
}

/**
 * The request's Namespace, with the labels a values file's `namespaceSelector` gives it when nothing else
 * does: the CLI's namespace resolver takes `namespaces` first, then builds a Namespace from
 * `namespaceSelector` (cmd/cli/kubectl-kyverno/variables/variables.go, Namespace).
 */
function namespaceFor(req: PolicyRequest): Json | null {
  const ns = req.namespaceObject ?? null
  if (!ns || !req.namespaceLabels) return ns
  const meta = isJsonMap(ns.metadata) ? ns.metadata : {}
  if (isJsonMap(meta.labels) && Object.keys(meta.labels).length > 0) return ns
  return { ...ns, metadata: { ...meta, labels: req.namespaceLabels } }
}

export function hasProducingPolicies(set: PolicySet): boolean {
  return set.mutating.length > 0 || set.generating.length > 0 || set.map.policies.length > 0
}

export function producedResponses(set: PolicySet, req: PolicyRequest): ProducedResponse[] {
  if (!hasProducingPolicies(set) || req.operation === 'DELETE') return []
  const out: ProducedResponse[] = []
  const request = admissionRequestOf(req)
  const namespaceObject = namespaceFor(req)
  let object: Json = req.object
  if (set.map.policies.length > 0) {
    const mutated = mutateAdmission(
      set.map,
      { object, oldObject: req.oldObject, request, namespaceObject, paramResources: set.params },
      { unbound: true },
    )
    object = mutated.object ?? object
    for (const r of mutated.results)
      out.push({
        policyKind: 'MutatingAdmissionPolicy',
        policy: r.policy,
        binding: r.binding,
        status: r.status,
        message: r.message,
        ...(r.status === 'pass' ? { patched: object } : {}),
      })
  }
  const options = {
    oldObject: req.oldObject,
    exceptions: set.celExceptions,
    ...(req.data ? { data: req.data } : {}),
  }
  for (const policy of set.mutating) {
    const result = policy.mutate(object, request, namespaceObject, options)
    if (!result) continue
    const response: ProducedResponse = {
      policyKind: 'MutatingPolicy',
      policy: policy.name,
      status: result.status,
      message: result.message,
    }
    if (result.patched) object = result.patched
    response.patched = object
    out.push(response)
  }
  for (const policy of set.generating) {
    const result = policy.generate(object, request, namespaceObject, options)
    if (!result) continue
    out.push({
      policyKind: 'GeneratingPolicy',
      policy: policy.name,
      status: result.status,
      message: result.message,
      generated: result.generated,
    })
  }
  return out
}

/** The responses as verdicts of a test run: the response, and the resource patched or generated. */
export function producedVerdicts(
  set: PolicySet,
  req: PolicyRequest,
): { response: PolicyResponse; patched?: Json; generated?: Json[] }[] {
  return producedResponses(set, req).map((r) => {
    const response: PolicyResponse = {
      policyKind: r.policyKind,
      policy: r.policy,
      status: r.status,
      message: r.message,
      annotations: {},
    }
    if (r.binding) response.rule = r.binding
    return {
      response,
      ...(r.patched ? { patched: r.patched } : {}),
      ...(r.generated ? { generated: r.generated } : {}),
    }
  })
}
