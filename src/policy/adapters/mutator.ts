/**
 * The mutating policies of a set applied to one resource as admission would apply them to a CREATE, for
 * `plimsoll scan` (which then checks the mutated resource) and `plimsoll mutate`. The API server runs its
 * MutatingAdmissionPolicy plugin before the mutating webhooks (AllOrderedPlugins in
 * pkg/kubeapiserver/options/plugins.go), so MutatingAdmissionPolicies come first, through their bindings;
 * then Kyverno's webhook: ClusterPolicy/Policy mutate rules, then MutatingPolicies, in the order the
 * Kyverno CLI applies them (policy_processor.go). Policies in file order, rules in policy order, each
 * seeing what the previous left. Each step that changed the resource is kept with what it changed.
 *
 * Compiled once per set; a resource of a kind no mutating policy names costs one map lookup.
 */

import type { MatchResources } from '../admission/match-resources.js'
import type { LiveAdmission } from '../admission/request.js'
import { kindInfo, parseApiVersion } from '../admission/resources.js'
import { diffJson } from '../json-diff.js'
import { isJsonMap, type JsonMap } from '../json-map.js'
import type { JsonPatchOperation } from '../json-patch.js'
import { admissionRequestOf, type PolicyRequest } from '../kyverno/evaluate.js'
import { kindMatches, resourceKindOf } from '../kyverno/kinds.js'
import { mutateResource } from '../kyverno/mutate/policies.js'
import type { CompiledMutatingPolicy } from '../kyverno/mutating-policy.js'
import type { KyvernoPolicy } from '../kyverno/policy.js'
import { type MapBinding, type MapPolicy, mutateAdmission } from '../vap/mutating.js'
import { type PolicySet, requestContext } from './policy-set.js'

export interface MutationStep {
  policyKind: 'MutatingAdmissionPolicy' | 'ClusterPolicy' | 'Policy' | 'MutatingPolicy'
  policy: string
  /** namespace of a namespaced Kyverno Policy */
  policyNamespace?: string
  /** the Kyverno rule, or the binding of a MutatingAdmissionPolicy */
  rule?: string
  /** pass: it changed the resource; error: it failed (what it changed before failing is kept); unsupported: not run offline */
  status: 'pass' | 'error' | 'unsupported'
  message?: string
  /** what it changed, as JSON patch operations on the resource as the steps before it left it */
  patch: JsonPatchOperation[]
}

export interface MutationOutcome {
  /** the resource as admission would store it */
  object: JsonMap
  steps: MutationStep[]
}

/** What a mutation needs to know of the resource besides its object. */
export interface MutationSubject {
  apiVersion: string
  kind: string
  namespace?: string
  object: JsonMap
}

/** What a policy's match constraints name, for the kind lookup: resources (`pods`), or every one. */
function admissionNames(match: MatchResources, resource: string): boolean {
  if (match.resourceRules.length === 0) return true
  // Versions and groups are left to the policy's own matching: matchPolicy Equivalent crosses them.
  return match.resourceRules.some((rule) =>
    rule.resources.some((r) => r === '*' || r === '*/*' || r.split('/')[0] === resource),
  )
}

interface Candidates {
  map: MapPolicy[]
  kyverno: KyvernoPolicy[]
  mutating: CompiledMutatingPolicy[]
}

export class Mutator {
  private readonly kyverno: KyvernoPolicy[]
  private readonly byKind = new Map<string, Candidates | null>()

  constructor(private readonly set: PolicySet) {
    this.kyverno = set.kyverno.filter((p) => p.rules.some((r) => r.type === 'mutate' && r.mutation))
  }

  /** Mutating policies that can run: Kyverno policies with mutate rules, MutatingPolicies, bound MAPs. */
  get size(): number {
    return this.policies.length
  }

  /** The policies that will run, in the order they run (for people: benches, summaries). */
  get policies(): { kind: MutationStep['policyKind']; name: string }[] {
    return [
      ...this.boundMaps().map((p) => ({ kind: 'MutatingAdmissionPolicy' as const, name: p.name })),
      ...this.kyverno.map((p) => ({ kind: p.kind, name: p.name })),
      ...this.set.mutating.map((p) => ({ kind: 'MutatingPolicy' as const, name: p.name })),
    ]
  }

  /** The MutatingAdmissionPolicies no binding names: the API server never runs them. */
  get unboundMaps(): MapPolicy[] {
    const bound = new Set(this.set.map.bindings.map((b) => b.policyName))
    return this.set.map.policies.filter((p) => !bound.has(p.name))
  }

  private boundMaps(): MapPolicy[] {
    const bound = new Set(this.set.map.bindings.map((b) => b.policyName))
    return this.set.map.policies.filter((p) => bound.has(p.name))
  }

  /** Whether a policy may mutate objects of this kind (what a mutating webhook's rules must name). */
  mutatesKind(apiVersion: string, kind: string, namespaced: boolean): boolean {
    return this.candidates(apiVersion, kind, namespaced) !== null
  }

  /** The policies that may mutate this kind, or null when none does: decided once per kind. */
  private candidates(apiVersion: string, kind: string, namespaced: boolean): Candidates | null {
    const key = `${apiVersion}\u0000${kind}`
    let found = this.byKind.get(key)
    if (found !== undefined) return found
    const rk = resourceKindOf(apiVersion, kind)
    const { resource } = kindInfo(parseApiVersion(apiVersion).group, kind, namespaced)
    const map = this.boundMaps().filter((p) => admissionNames(p.matchConstraints, resource))
    const kyverno = this.kyverno.filter((p) =>
      p.rules.some(
        (r) =>
          r.type === 'mutate' &&
          r.mutation &&
          r.match.filters.some(
            (f) => f.resources.kinds.length === 0 || f.resources.kinds.some((s) => kindMatches(s, rk)),
          ),
      ),
    )
    const mutating = this.set.mutating.filter((p) => p.matches.some((m) => admissionNames(m, resource)))
    found = map.length + kyverno.length + mutating.length > 0 ? { map, kyverno, mutating } : null
    this.byKind.set(key, found)
    return found
  }

  /**
   * The resource through every mutating policy that selects it; undefined when none changed it nor
   * failed on it. `namespaces` are the Namespace objects known (their labels feed namespace selectors).
   */
  mutate(
    subject: MutationSubject,
    namespaces: ReadonlyMap<string, Record<string, unknown>> = new Map(),
    admission?: LiveAdmission,
  ): MutationOutcome | undefined {
    const found = this.candidates(subject.apiVersion, subject.kind, subject.namespace !== undefined)
    if (!found) return undefined
    const req: PolicyRequest = {
      object: subject.object,
      kind: resourceKindOf(subject.apiVersion, subject.kind),
      ...requestContext(subject, namespaces, admission),
    }
    const namespaceObject = req.namespaceObject ?? null
    const steps: MutationStep[] = []
    let object = subject.object
    const step = (base: Omit<MutationStep, 'patch'>, after: JsonMap) => {
      const patch = diffJson(object, after)
      if (patch.length > 0 || base.status !== 'pass') steps.push({ ...base, patch })
      object = after
    }
    for (const policy of found.map)
      for (const binding of this.set.map.bindings.filter((b) => b.policyName === policy.name))
        this.admissionPolicy(policy, binding, { ...req, object }, namespaceObject, step)
    for (const policy of found.kyverno) {
      for (const r of mutateResource([policy], { ...req, object }).responses) {
        if (r.status !== 'pass' && r.status !== 'error' && r.status !== 'unsupported') continue
        // A rule that cannot run at all (mutateExisting) is said once, when the policies load.
        if (!r.rule.mutation) continue
        const base: Omit<MutationStep, 'patch'> = {
          policyKind: policy.kind,
          policy: policy.name,
          rule: r.rule.name,
          status: r.status,
        }
        if (policy.namespace !== undefined) base.policyNamespace = policy.namespace
        if (r.status !== 'pass') base.message = r.message
        step(base, r.after)
      }
    }
    const options = { oldObject: req.oldObject, exceptions: this.set.celExceptions }
    for (const policy of found.mutating) {
      const request = admissionRequestOf({ ...req, object })
      const result = policy.mutate(object, request, namespaceObject, options)
      if (!result || result.status === 'skip') continue
      const base: Omit<MutationStep, 'patch'> = {
        policyKind: 'MutatingPolicy',
        policy: policy.name,
        status: result.status,
      }
      if (result.status !== 'pass') base.message = result.message
      step(base, isJsonMap(result.patched) ? result.patched : object)
    }
    return steps.length > 0 ? { object, steps } : undefined
  }

  private admissionPolicy(
    policy: MapPolicy,
    binding: MapBinding,
    req: PolicyRequest,
    namespaceObject: JsonMap | null,
    step: (base: Omit<MutationStep, 'patch'>, after: JsonMap) => void,
  ): void {
    const mutated = mutateAdmission(
      { policies: [policy], bindings: [binding] },
      {
        object: req.object,
        oldObject: req.oldObject,
        request: admissionRequestOf(req),
        namespaceObject,
        paramResources: this.set.params,
      },
    )
    const after = isJsonMap(mutated.object) ? mutated.object : req.object
    const failed = mutated.results.filter((r) => r.status === 'error')
    const base: Omit<MutationStep, 'patch'> = {
      policyKind: 'MutatingAdmissionPolicy',
      policy: policy.name,
      rule: binding.name,
      status: failed.length > 0 ? 'error' : 'pass',
    }
    if (failed.length > 0) base.message = failed.map((r) => r.message).join('; ')
    step(base, after)
  }
}

/** Whether a set holds anything a Mutator would run. */
export function hasMutations(set: PolicySet): boolean {
  return (
    set.mutating.length > 0 ||
    set.map.policies.length > 0 ||
    set.kyverno.some((p) => p.rules.some((r) => r.type === 'mutate' && r.mutation))
  )
}
