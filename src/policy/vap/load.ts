/**
 * Reads ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding documents
 * (admissionregistration.k8s.io v1, v1beta1, v1alpha1), checks their shape as the API server validates
 * it, and compiles the policies' CEL. Every problem names the file, line, policy and field.
 */
import type { Resource } from '../../resources/types.js'
import { CelPolicyError, type CompiledCelPolicy, compileCelPolicy } from '../admission/cel-policy.js'
import { readCelSpec } from '../admission/cel-spec.js'
import { type MatchResources, readMatchResources } from '../admission/match-resources.js'
import { type Json, type LoadProblem, Shape } from '../admission/shape.js'
import { isJsonMap } from '../json-map.js'

export const VAP_GROUP = 'admissionregistration.k8s.io'
export const VAP_VERSIONS = ['v1', 'v1beta1', 'v1alpha1'] as const
export const POLICY_KIND = 'ValidatingAdmissionPolicy'
export const BINDING_KIND = 'ValidatingAdmissionPolicyBinding'

export type FailurePolicy = 'Fail' | 'Ignore'
export type ValidationAction = 'Deny' | 'Warn' | 'Audit'

export interface DocumentSource {
  file: string
  line: number
}

export interface ParamKind {
  apiVersion: string
  kind: string
}

export interface VapPolicy {
  name: string
  apiVersion: string
  source: DocumentSource
  failurePolicy: FailurePolicy
  paramKind?: ParamKind
  matchConstraints: MatchResources
  cel: CompiledCelPolicy
}

/** Which parameter resources a binding uses: one by name, or all a label selector picks. */
export type ParamRef = ({ by: 'name'; name: string } | { by: 'selector'; selector: Json }) & {
  namespace?: string
  parameterNotFoundAction: 'Deny' | 'Allow'
}

export interface VapBinding {
  name: string
  source: DocumentSource
  policyName: string
  validationActions: ValidationAction[]
  paramRef?: ParamRef
  matchResources?: MatchResources
}

export interface VapLoadResult {
  policies: VapPolicy[]
  bindings: VapBinding[]
  errors: LoadProblem[]
}

export function isAdmissionPolicyDocument(resource: Pick<Resource, 'apiVersion' | 'kind'>): boolean {
  const [group, version] = resource.apiVersion.split('/')
  return (
    group === VAP_GROUP &&
    (VAP_VERSIONS as readonly string[]).includes(version ?? '') &&
    (resource.kind === POLICY_KIND || resource.kind === BINDING_KIND)
  )
}

/** A policy's paramKind: the kind of the objects its bindings' paramRef names. */
export function readParamKind(shape: Shape, spec: Json): ParamKind | undefined {
  const kind = shape.object(spec, ['spec', 'paramKind'])
  if (!kind) return undefined
  const apiVersion = shape.string(kind, ['spec', 'paramKind', 'apiVersion'], { required: true })
  const k = shape.string(kind, ['spec', 'paramKind', 'kind'], { required: true })
  return apiVersion && k ? { apiVersion, kind: k } : undefined
}

/** A policy whose CEL does not compile, said as any other load problem: file, line, field. */
export function celLoadProblem(err: CelPolicyError, resource: Resource, kind: string): LoadProblem {
  return {
    file: resource.source.file,
    line: err.line ?? resource.source.position.line,
    kind,
    name: resource.name,
    field: err.field,
    path: [...err.path],
    message: err.problem,
  }
}

export function shapeOf(resource: Resource): Shape {
  return new Shape({
    file: resource.source.file,
    kind: resource.kind,
    name: resource.name,
    locate: (path) => resource.locate(path),
  })
}

export function specOf(shape: Shape, resource: Resource): Json | undefined {
  if (!resource.name) shape.fail(['metadata', 'name'], 'required: expected a non-empty string')
  return shape.object(resource.object, ['spec'], true)
}

function loadPolicy(resource: Resource, errors: LoadProblem[]): VapPolicy | undefined {
  const shape = shapeOf(resource)
  const spec = specOf(shape, resource)
  if (!spec) {
    errors.push(...shape.problems)
    return undefined
  }
  const failurePolicy =
    (shape.string(spec, ['spec', 'failurePolicy'], { oneOf: ['Fail', 'Ignore'] }) as FailurePolicy) ?? 'Fail'
  const matchConstraints = readMatchResources(shape, spec, ['spec', 'matchConstraints'], { required: true })
  const paramKind = readParamKind(shape, spec)
  const celSpec = readCelSpec(shape, spec, ['spec'])
  if (celSpec.validations.length === 0 && (celSpec.auditAnnotations ?? []).length === 0)
    shape.fail(
      ['spec', 'validations'],
      'required: validations or auditAnnotations must contain at least one item',
    )
  if (shape.problems.length > 0 || !matchConstraints) {
    errors.push(...shape.problems)
    return undefined
  }
  let cel: CompiledCelPolicy
  try {
    cel = compileCelPolicy(celSpec, {
      file: resource.source.file,
      policy: resource.name,
      kind: POLICY_KIND,
      locate: (path) => resource.locate(path),
    })
  } catch (err) {
    if (!(err instanceof CelPolicyError)) throw err
    errors.push(celLoadProblem(err, resource, POLICY_KIND))
    return undefined
  }
  const policy: VapPolicy = {
    name: resource.name,
    apiVersion: resource.apiVersion,
    source: { file: resource.source.file, line: resource.source.position.line },
    failurePolicy,
    matchConstraints,
    cel,
  }
  if (paramKind) policy.paramKind = paramKind
  return policy
}

export function readParamRef(shape: Shape, spec: Json, version: string): ParamRef | undefined {
  const path = ['spec', 'paramRef']
  const ref = shape.object(spec, path)
  if (!ref) return undefined
  const name = shape.string(ref, [...path, 'name'])
  const selector = shape.object(ref, [...path, 'selector'])
  const namespace = shape.string(ref, [...path, 'namespace'])
  // v1alpha1 had no parameterNotFoundAction: a missing parameter denied.
  const action = shape.string(ref, [...path, 'parameterNotFoundAction'], {
    required: version !== 'v1alpha1',
    oneOf: ['Deny', 'Allow'],
  }) as ParamRef['parameterNotFoundAction'] | undefined
  if (name !== undefined && selector !== undefined)
    shape.fail(path, 'name and selector are mutually exclusive: set one of them')
  if (name === undefined && selector === undefined && version !== 'v1alpha1')
    shape.fail(path, 'required: one of name or selector')
  const common = { parameterNotFoundAction: action ?? 'Deny', ...(namespace ? { namespace } : {}) }
  if (selector) return { by: 'selector', selector, ...common }
  if (name) return { by: 'name', name, ...common }
  return undefined
}

/** What every admission policy binding has, validating or mutating. */
export interface BindingBase {
  name: string
  source: DocumentSource
  policyName: string
  paramRef?: ParamRef
  matchResources?: MatchResources
}

/**
 * A binding: its policyName, paramRef and matchResources, and the fields of its own kind, read by
 * `own` (a problem there leaves the binding out, as any other).
 */
export function loadBindingWith<B extends BindingBase>(
  resource: Resource,
  errors: LoadProblem[],
  own: (shape: Shape, spec: Json) => Omit<B, keyof BindingBase>,
): B | undefined {
  const shape = shapeOf(resource)
  const spec = specOf(shape, resource)
  if (!spec) {
    errors.push(...shape.problems)
    return undefined
  }
  const version = resource.apiVersion.split('/')[1] ?? ''
  const policyName = shape.string(spec, ['spec', 'policyName'], { required: true })
  const fields = own(shape, spec)
  const paramRef = readParamRef(shape, spec, version)
  const matchResources = readMatchResources(shape, spec, ['spec', 'matchResources'], { required: false })
  if (shape.problems.length > 0 || !policyName) {
    errors.push(...shape.problems)
    return undefined
  }
  const binding = {
    name: resource.name,
    source: { file: resource.source.file, line: resource.source.position.line },
    policyName,
    ...fields,
  } as B
  if (paramRef) binding.paramRef = paramRef
  if (matchResources) binding.matchResources = matchResources
  return binding
}

function loadBinding(resource: Resource, errors: LoadProblem[]): VapBinding | undefined {
  return loadBindingWith<VapBinding>(resource, errors, (shape, spec) => {
    const validationActions = shape.strings(spec, ['spec', 'validationActions'], {
      required: true,
      oneOf: ['Deny', 'Warn', 'Audit'],
    }) as ValidationAction[]
    if (new Set(validationActions).size !== validationActions.length)
      shape.fail(['spec', 'validationActions'], 'must not contain duplicates')
    if (validationActions.includes('Deny') && validationActions.includes('Warn'))
      shape.fail(['spec', 'validationActions'], 'Deny and Warn may not be used together')
    return { validationActions }
  })
}

/**
 * The policies and bindings among `docs` (those `ours` says are of the kinds), each loaded by its
 * loader; a document with problems is left out and its problems reported; the rest load.
 */
export function loadPoliciesAndBindings<P, B>(
  docs: readonly Resource[],
  ours: (doc: Resource) => 'policy' | 'binding' | undefined,
  load: {
    policy: (doc: Resource, errors: LoadProblem[]) => P | undefined
    binding: (doc: Resource, errors: LoadProblem[]) => B | undefined
  },
): { policies: P[]; bindings: B[]; errors: LoadProblem[] } {
  const result: { policies: P[]; bindings: B[]; errors: LoadProblem[] } = {
    policies: [],
    bindings: [],
    errors: [],
  }
  for (const doc of docs) {
    const which = isJsonMap(doc.object) ? ours(doc) : undefined
    if (which === 'policy') {
      const policy = load.policy(doc, result.errors)
      if (policy) result.policies.push(policy)
    } else if (which === 'binding') {
      const binding = load.binding(doc, result.errors)
      if (binding) result.bindings.push(binding)
    }
  }
  return result
}

/**
 * The policies and bindings among `docs`; other documents are ignored. A document with problems is left
 * out and its problems reported; the rest load.
 */
export function loadAdmissionPolicies(docs: readonly Resource[]): VapLoadResult {
  return loadPoliciesAndBindings(
    docs,
    (doc) => (isAdmissionPolicyDocument(doc) ? (doc.kind === POLICY_KIND ? 'policy' : 'binding') : undefined),
    { policy: loadPolicy, binding: loadBinding },
  )
}
