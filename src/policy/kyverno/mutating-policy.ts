/**
 * Kyverno's MutatingPolicy (policies.kyverno.io v1alpha1, v1beta1, v1: "mpol"): a MutatingAdmissionPolicy
 * without bindings, with Kyverno's CEL libraries, evaluated as pkg/cel/policies/mpol in kyverno/kyverno
 * does:
 * - matchConstraints select the request; a false match condition makes the result `skip`;
 * - the mutations run in order on the object the previous ones produced; variables are bound once for
 *   the policy, so a variable keeps the value it had when first read;
 * - the first failing expression or patch makes the result `error` (failurePolicy is for admission);
 * - apply configurations that set atomic lists, maps or structs are refused, as the API server refuses
 *   them, unless `spec.evaluation.useServerSideApply` is set.
 * The result is `pass` with the patched object, whether or not the mutations changed anything.
 * A policy for pods also mutates pod controllers (autogen, mutating-autogen.ts). PolicyExceptions naming
 * the policy apply (cel-exceptions.ts).
 */
import type { PathSegment, Position } from '../../resources/types.js'
import {
  type CelPolicyDialect,
  CelPolicyError,
  type CompiledCelPolicy,
  compileCelPolicy,
  UnsupportedFeatureError,
} from '../admission/cel-policy.js'
import { readCelSpec } from '../admission/cel-spec.js'
import { type MatchResources, matchesResources, readMatchResources } from '../admission/match-resources.js'
import {
  type CompiledMutation,
  compileMutations,
  mutationEnvironment,
  readMutations,
  runMutations,
} from '../admission/mutation/mutate.js'
import { rewriteObjectConstructions } from '../admission/mutation/object-literals.js'
import { type AdmissionRequestInfo, requestFor } from '../admission/request.js'
import { type Json, Shape } from '../admission/shape.js'
import { isJsonMap } from '../json-map.js'
import { VALIDATING_POLICY_DIALECT } from './cel/environment.js'
import { type ExternalData, externalBindings } from './cel/external-data.js'
import { applyExceptions, type CelException } from './cel-exceptions.js'
import { type MutatingVariant, mutatingAutogen } from './mutating-autogen.js'
import { VALIDATING_POLICY_GROUP, VALIDATING_POLICY_VERSIONS } from './validating-policy.js'

export const MUTATING_POLICY_KIND = 'MutatingPolicy'

export function isMutatingPolicyDocument(doc: { apiVersion?: unknown; kind?: unknown }): boolean {
  const [group, version] = String(doc.apiVersion).split('/')
  return (
    group === VALIDATING_POLICY_GROUP &&
    (VALIDATING_POLICY_VERSIONS as readonly string[]).includes(version ?? '') &&
    doc.kind === MUTATING_POLICY_KIND
  )
}

/** Kyverno's CEL-policy dialect, with what mutations add (object construction, jsonpatch.escapeKey). */
export const MUTATING_POLICY_DIALECT: CelPolicyDialect = {
  ...VALIDATING_POLICY_DIALECT,
  environment: mutationEnvironment(VALIDATING_POLICY_DIALECT.environment!),
  rewrite: rewriteObjectConstructions,
}

export interface PolicyOrigin {
  file: string
  locate?: (path: readonly PathSegment[]) => Position
}

export interface MutatingPolicyResult {
  /** unsupported: an expression needed data offline evaluation was not given (message: why) */
  status: 'pass' | 'skip' | 'error' | 'unsupported'
  message: string
  /** the object after the mutations (status pass) */
  patched?: Json
}

export interface MutationEvaluationOptions {
  oldObject?: Json | null
  data?: ExternalData
  /** the PolicyExceptions at hand (those naming the policy apply) */
  exceptions?: readonly CelException[]
}

export interface CompiledMutatingPolicy {
  name: string
  kind: string
  /** where the policy is written */
  file: string
  line: number
  /** what the policy selects */
  matches: readonly MatchResources[]
  /** The policy's result for a resource, or undefined when its matchConstraints do not select it. */
  mutate(
    resource: Json,
    request?: AdmissionRequestInfo,
    namespaceObject?: Json | null,
    options?: MutationEvaluationOptions,
  ): MutatingPolicyResult | undefined
}

interface Variant {
  match: MatchResources
  cel: CompiledCelPolicy
  mutations: CompiledMutation[]
}

export function failLoad(origin: PolicyOrigin, kind: string, name: string, shape: Shape): never {
  const [first, ...others] = shape.problems
  const more = others.length > 0 ? ` (and ${others.length} more problems)` : ''
  throw new CelPolicyError(
    { file: origin.file, policy: name, kind, ...(origin.locate ? { locate: origin.locate } : {}) },
    first?.path ?? [],
    `${first?.message ?? 'invalid'}${more}`,
  )
}

/** Compiles a MutatingPolicy document; throws CelPolicyError (or UnsupportedFeatureError) when it cannot. */
export function loadMutatingPolicy(doc: Json, origin: PolicyOrigin): CompiledMutatingPolicy {
  const meta = isJsonMap(doc.metadata) ? doc.metadata : {}
  const name = typeof meta.name === 'string' ? meta.name : ''
  const locate = origin.locate ?? (() => ({ line: 1, column: 1 }))
  const shape = new Shape({ file: origin.file, kind: MUTATING_POLICY_KIND, name, locate })
  if (!name) shape.fail(['metadata', 'name'], 'required: expected a non-empty string')
  const spec = shape.object(doc, ['spec'], true) ?? {}
  const evaluation = shape.object(spec, ['spec', 'evaluation']) ?? {}
  const match = readMatchResources(shape, spec, ['spec', 'matchConstraints'], { required: true })
  shape.string(spec, ['spec', 'failurePolicy'], { oneOf: ['Fail', 'Ignore'] })
  const celSpec = readCelSpec(shape, spec, ['spec'], { qualifiedNames: false })
  const mutationSpecs = readMutations(shape, spec, ['spec'])
  if (shape.problems.length > 0 || !match) failLoad(origin, MUTATING_POLICY_KIND, name, shape)
  const mutateExisting = isJsonMap(evaluation.mutateExisting) && evaluation.mutateExisting.enabled === true
  if (mutateExisting && spec.targetMatchConstraints !== undefined)
    throw new UnsupportedFeatureError(
      { file: origin.file, policy: name, kind: MUTATING_POLICY_KIND, locate },
      ['spec', 'targetMatchConstraints'],
      'mutateExisting with targetMatchConstraints',
      "it mutates other resources of a cluster (a test's targetResources), which is not supported yet",
    )

  const celOrigin = { file: origin.file, policy: name, kind: MUTATING_POLICY_KIND, locate }
  const compileVariant = (v: MutatingVariant): Variant => {
    const cel: CompiledCelPolicy = compileCelPolicy(
      { ...celSpec, matchConditions: v.matchConditions, validations: [] },
      celOrigin,
      MUTATING_POLICY_DIALECT,
    )
    return { match: v.match, cel, mutations: compileMutations(cel, v.mutations) }
  }
  const variants = [
    compileVariant({ match, matchConditions: celSpec.matchConditions, mutations: mutationSpecs }),
  ]
  for (const v of mutatingAutogen(spec, match, celSpec.matchConditions, mutationSpecs)) {
    // Kyverno refuses the whole policy when a rewritten expression does not compile; the pod policy
    // still runs here, and only the controllers go without.
    try {
      variants.push(compileVariant(v))
    } catch (err) {
      if (!(err instanceof CelPolicyError)) throw err
    }
  }
  const guardAtomics = evaluation.useServerSideApply !== true

  return {
    name,
    kind: MUTATING_POLICY_KIND,
    file: origin.file,
    line: locate([]).line,
    matches: variants.map((v) => v.match),
    mutate(resource, request = requestFor(resource), namespaceObject = null, options = {}) {
      const input = {
        object: resource,
        oldObject: options.oldObject ?? null,
        request,
        namespaceObject,
        bindings: externalBindings(options.data),
      }
      const variant = variants.find((v) => matchesResources(v.match, input))
      if (!variant) return undefined
      const exempt = applyExceptions(
        options.exceptions ?? [],
        { kind: MUTATING_POLICY_KIND, name },
        MUTATING_POLICY_DIALECT,
        input,
      )
      if (exempt?.status === 'error') return exempt
      if (exempt) return { ...exempt, patched: resource }
      const outcome = runMutations(variant.cel, variant.mutations, input, {
        freshVariables: false,
        guardAtomics,
      })
      switch (outcome.status) {
        case 'skip':
          return { status: 'skip', message: outcome.reason }
        case 'error':
          return outcome.unsupported === undefined
            ? { status: 'error', message: outcome.message }
            : { status: 'unsupported', message: outcome.unsupported }
        case 'applied':
          return { status: 'pass', message: 'success', patched: outcome.object }
      }
    },
  }
}
