/**
 * MutatingAdmissionPolicy and MutatingAdmissionPolicyBinding (admissionregistration.k8s.io v1alpha1,
 * v1beta1, v1): read and checked like their validating counterparts (load.ts), and applied to a request as
 * the API server's dispatcher applies them (k8s.io/apiserver/pkg/admission/plugin/policy/mutating): each
 * matching (policy, binding, param) in turn, its match conditions, then its mutations in order, every
 * mutation seeing the object the previous one produced, its variables evaluated anew. A mutation that
 * fails is passed over and reported; failurePolicy decides what the failure means for the request.
 * reinvocationPolicy matters only when other admission plugins change the object afterwards: offline,
 * nothing does.
 */
import type { Resource } from '../../resources/types.js'
import { CelPolicyError, type CompiledCelPolicy, compileCelPolicy } from '../admission/cel-policy.js'
import { readCelSpec } from '../admission/cel-spec.js'
import { type MatchResources, matchesResources, readMatchResources } from '../admission/match-resources.js'
import {
  type CompiledMutation,
  compileMutations,
  MUTATING_ADMISSION_DIALECT,
  readMutations,
  runMutations,
} from '../admission/mutation/mutate.js'
import type { Json, LoadProblem } from '../admission/shape.js'
import { isJsonMap } from '../json-map.js'
import type { VapRequest } from './evaluate.js'
import {
  type BindingBase,
  celLoadProblem,
  type DocumentSource,
  type FailurePolicy,
  loadBindingWith,
  loadPoliciesAndBindings,
  type ParamKind,
  readParamKind,
  shapeOf,
  specOf,
  VAP_GROUP,
} from './load.js'
import { selectParams } from './params.js'

export const MAP_VERSIONS = ['v1', 'v1beta1', 'v1alpha1'] as const
export const MAP_KIND = 'MutatingAdmissionPolicy'
export const MAP_BINDING_KIND = 'MutatingAdmissionPolicyBinding'

export interface MapPolicy {
  name: string
  source: DocumentSource
  failurePolicy: FailurePolicy
  paramKind?: ParamKind
  matchConstraints: MatchResources
  cel: CompiledCelPolicy
  mutations: CompiledMutation[]
}

/** A MutatingAdmissionPolicyBinding has nothing beyond what every binding has. */
export type MapBinding = BindingBase

export interface MapSet {
  policies: MapPolicy[]
  bindings: MapBinding[]
}

export interface MapLoadResult extends MapSet {
  errors: LoadProblem[]
}

export function isMutatingAdmissionDocument(resource: Pick<Resource, 'apiVersion' | 'kind'>): boolean {
  const [group, version] = resource.apiVersion.split('/')
  return (
    group === VAP_GROUP &&
    (MAP_VERSIONS as readonly string[]).includes(version ?? '') &&
    (resource.kind === MAP_KIND || resource.kind === MAP_BINDING_KIND)
  )
}

function loadPolicy(resource: Resource, errors: LoadProblem[]): MapPolicy | undefined {
  const shape = shapeOf(resource)
  const spec = specOf(shape, resource)
  if (!spec) {
    errors.push(...shape.problems)
    return undefined
  }
  const failurePolicy =
    (shape.string(spec, ['spec', 'failurePolicy'], { oneOf: ['Fail', 'Ignore'] }) as FailurePolicy) ?? 'Fail'
  shape.string(spec, ['spec', 'reinvocationPolicy'], { oneOf: ['Never', 'IfNeeded'] })
  const matchConstraints = readMatchResources(shape, spec, ['spec', 'matchConstraints'], { required: true })
  const paramKind = readParamKind(shape, spec)
  const celSpec = readCelSpec(shape, spec, ['spec'])
  const mutationSpecs = readMutations(shape, spec, ['spec'])
  if (mutationSpecs.length === 0 && shape.problems.length === 0)
    shape.fail(['spec', 'mutations'], 'required: mutations must contain at least one item')
  if (shape.problems.length > 0 || !matchConstraints) {
    errors.push(...shape.problems)
    return undefined
  }
  try {
    const cel = compileCelPolicy(
      { ...celSpec, validations: [], auditAnnotations: [] },
      {
        file: resource.source.file,
        policy: resource.name,
        kind: MAP_KIND,
        locate: (p) => resource.locate(p),
      },
      MUTATING_ADMISSION_DIALECT,
    )
    const policy: MapPolicy = {
      name: resource.name,
      source: { file: resource.source.file, line: resource.source.position.line },
      failurePolicy,
      matchConstraints,
      cel,
      mutations: compileMutations(cel, mutationSpecs),
    }
    if (paramKind) policy.paramKind = paramKind
    return policy
  } catch (err) {
    if (!(err instanceof CelPolicyError)) throw err
    errors.push(celLoadProblem(err, resource, MAP_KIND))
    return undefined
  }
}

function loadBinding(resource: Resource, errors: LoadProblem[]): MapBinding | undefined {
  return loadBindingWith<MapBinding>(resource, errors, () => ({}))
}

/** The policies and bindings among `docs`; a document with problems is left out and they are reported. */
export function loadMutatingAdmissionPolicies(docs: readonly Resource[]): MapLoadResult {
  return loadPoliciesAndBindings(
    docs,
    (doc) => (isMutatingAdmissionDocument(doc) ? (doc.kind === MAP_KIND ? 'policy' : 'binding') : undefined),
    { policy: loadPolicy, binding: loadBinding },
  )
}

export interface MapResult {
  policy: string
  /** '' when the policy ran without a binding (see MutateOptions.unbound) */
  binding: string
  param?: { name: string; namespace?: string }
  /** pass: the mutations ran (`changed` tells whether they changed anything); skip: a match condition is false */
  status: 'pass' | 'skip' | 'error'
  message: string
  changed: boolean
  /** mutations (or match conditions) that failed; under failurePolicy Fail the API server denies */
  errors: string[]
  /** what the API server does with the request on account of this invocation */
  decision: 'admit' | 'deny'
}

export interface MutateOptions {
  /**
   * a policy no binding names also runs, once without params: the Kyverno CLI applies such policies
   * (pkg/admissionpolicy/mutate.go); the API server does not
   */
  unbound?: boolean
}

function paramIdentity(param: Json): { name: string; namespace?: string } {
  const meta = isJsonMap(param.metadata) ? param.metadata : {}
  const id: { name: string; namespace?: string } = { name: typeof meta.name === 'string' ? meta.name : '' }
  if (typeof meta.namespace === 'string') id.namespace = meta.namespace
  return id
}

/** Every invocation the request triggers, in policy, binding, param order, and the object they leave. */
export function mutateAdmission(
  set: MapSet,
  request: VapRequest,
  options: MutateOptions = {},
): { results: MapResult[]; object: Json | null } {
  const results: MapResult[] = []
  let object = request.object
  const { group, kind } = request.request.kind
  const namespaceObject = group === '' && kind === 'Namespace' ? null : (request.namespaceObject ?? null)
  for (const policy of set.policies) {
    const subject = {
      request: request.request,
      object,
      oldObject: request.oldObject,
      namespaceObject: request.namespaceObject ?? null,
    }
    if (!matchesResources(policy.matchConstraints, subject)) continue
    const named = set.bindings.filter((b) => b.policyName === policy.name)
    const bindings: (MapBinding | undefined)[] = named.length === 0 && options.unbound ? [undefined] : named
    for (const binding of bindings) {
      if (binding?.matchResources && !matchesResources(binding.matchResources, subject)) continue
      const base = { policy: policy.name, binding: binding?.name ?? '', changed: false }
      const fail = (message: string): MapResult => ({
        ...base,
        status: 'error',
        message,
        errors: [message],
        decision: policy.failurePolicy === 'Fail' ? 'deny' : 'admit',
      })
      const selection = selectParams(
        policy.paramKind,
        binding?.paramRef,
        request.request,
        request.paramResources ?? [],
      )
      if ('configError' in selection) {
        results.push(fail(`failed to configure binding: ${selection.configError}`))
        continue
      }
      for (const params of selection.params) {
        if (!object) continue
        const before = object
        const outcome = runMutations(
          policy.cel,
          policy.mutations,
          { ...request, object, params, namespaceObject },
          { freshVariables: true, guardAtomics: true, continueOnError: true },
        )
        let result: MapResult
        if (outcome.status === 'skip')
          result = { ...base, status: 'skip', message: outcome.reason, errors: [], decision: 'admit' }
        // matchconditions.Matcher: under Ignore, a match condition that errs does not match.
        else if (outcome.status === 'error' && outcome.fromMatch && policy.failurePolicy === 'Ignore')
          result = { ...base, status: 'skip', message: outcome.message, errors: [], decision: 'admit' }
        else if (outcome.status === 'error') result = fail(outcome.message)
        else {
          object = outcome.object
          const errors = outcome.errors ?? []
          result =
            errors.length > 0
              ? { ...fail(errors.join('; ')), errors }
              : { ...base, status: 'pass', message: '', errors, decision: 'admit' }
          result.changed = JSON.stringify(before) !== JSON.stringify(object)
        }
        if (params) result.param = paramIdentity(params)
        results.push(result)
      }
    }
  }
  return { results, object }
}
