/**
 * A mutating review decided: the object through the mutating policies given with --policy (Kyverno
 * mutate rules, MutatingPolicies, MutatingAdmissionPolicies through their bindings), in admission's
 * order, with the request as the API server sent it; the difference answered as a JSONPatch, which the
 * API server applies before the validating webhooks (Plimsoll's among them) see the object. A policy
 * that fails leaves the object as the others made it, and says so in a warning.
 */
import type { Mutator } from '../policy/adapters/mutator.js'
import type { LiveAdmission } from '../policy/admission/request.js'
import type { NamespaceObjects } from '../policy/foreign-policies.js'
import { diffJson } from '../policy/json-diff.js'
import { requestInfoOf } from './decide.js'
import { type EnforcementConfig, exemptionOf } from './enforcement.js'
import type { AdmissionRequest, Verdict } from './review.js'

export interface MutationSetup {
  readonly mutator: Mutator
  readonly enforcement: EnforcementConfig
  readonly namespaces?: () => NamespaceObjects
}

export function decideMutation(setup: MutationSetup, request: AdmissionRequest): Verdict {
  const object = request.object
  // Mutations shape what is stored: a DELETE or CONNECT stores nothing, a status write is not the spec.
  if (
    !object ||
    (request.operation !== 'CREATE' && request.operation !== 'UPDATE') ||
    request.subResource !== ''
  )
    return { allowed: true }
  if (exemptionOf(setup.enforcement, { username: request.userInfo.username, namespace: request.namespace }))
    return { allowed: true }
  const { group, version, kind } = request.kind
  const admission: LiveAdmission = { request: requestInfoOf(request), oldObject: request.oldObject }
  const outcome = setup.mutator.mutate(
    {
      apiVersion: group ? `${group}/${version}` : version,
      kind,
      ...(request.namespace ? { namespace: request.namespace } : {}),
      // The policies work on a copy: the request's object is what the patch is computed against.
      object: structuredClone(object),
    },
    setup.namespaces?.() ?? new Map(),
    admission,
  )
  if (!outcome) return { allowed: true }
  const failed = outcome.steps.filter((s) => s.status !== 'pass')
  const warnings = failed.map(
    (s) =>
      `${s.policyKind} ${s.policy}${s.rule ? `, rule ${s.rule}` : ''} could not mutate: ${s.message ?? s.status}`,
  )
  const patch = diffJson(object, outcome.object)
  return {
    allowed: true,
    ...(patch.length > 0 ? { patch } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  }
}
