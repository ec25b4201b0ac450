/**
 * Kyverno's CEL-native ValidatingPolicy (policies.kyverno.io v1alpha1, v1beta1, v1): a
 * ValidatingAdmissionPolicy without bindings, evaluated by the shared admission evaluator with Kyverno's
 * differences (pkg/cel/policies/vpol in kyverno/kyverno):
 * - the first failing or erring validation decides the result;
 * - a match condition that errs skips the policy under failurePolicy Ignore;
 * - autogen: a policy that matches only pods also applies to pod controllers, its expressions rewritten
 *   to read the pod template (`object.spec` -> `object.spec.template.spec`, and for CronJobs
 *   `object.spec.jobTemplate.spec.template.spec`; likewise `metadata`, except `metadata.name` and
 *   `metadata.namespace`, which stay the controller's).
 * Kyverno's CEL libraries are available (cel/environment.ts); those that read a cluster or a registry
 * answer from the data handed in (a kyverno test's context file), and without it make the result
 * unsupported, with the reason.
 */
import type { PathSegment, Position } from '../../resources/types.js'
import {
  CelPolicyError,
  type CelPolicySpec,
  type CelPolicyVerdict,
  type CompiledCelPolicy,
  compileCelPolicy,
} from '../admission/cel-policy.js'
import { readCelSpec } from '../admission/cel-spec.js'
import { type MatchResources, matchesResources, readMatchResources } from '../admission/match-resources.js'
import { type AdmissionRequestInfo, requestFor } from '../admission/request.js'
import type { ResourceRule } from '../admission/resources.js'
import { type Json, Shape } from '../admission/shape.js'
import { isJsonMap } from '../json-map.js'
import { VALIDATING_POLICY_DIALECT } from './cel/environment.js'
import { type ExternalData, externalBindings } from './cel/external-data.js'

export const VALIDATING_POLICY_GROUP = 'policies.kyverno.io'
export const VALIDATING_POLICY_VERSIONS = ['v1alpha1', 'v1beta1', 'v1'] as const
export const VALIDATING_POLICY_KIND = 'ValidatingPolicy'

export function isValidatingPolicyDocument(doc: { apiVersion?: unknown; kind?: unknown }): boolean {
  const [group, version] = String(doc.apiVersion).split('/')
  return (
    group === VALIDATING_POLICY_GROUP &&
    (VALIDATING_POLICY_VERSIONS as readonly string[]).includes(version ?? '') &&
    doc.kind === VALIDATING_POLICY_KIND
  )
}

export interface ValidatingPolicyOrigin {
  file: string
  locate?: (path: readonly PathSegment[]) => Position
}

export type ValidationAction = 'Deny' | 'Warn' | 'Audit'

export interface ValidatingPolicyResult {
  /** unsupported: the deciding expression needed data offline evaluation was not given (message: why) */
  status: 'pass' | 'fail' | 'skip' | 'error' | 'unsupported'
  message?: string
  /** the kind the evaluated rule was written or generated for: Pod, or a pod controller by autogen */
  autogen?: string
  auditAnnotations?: Record<string, string>
}

export interface CompiledValidatingPolicy {
  name: string
  validationActions: ValidationAction[]
  /** spec.evaluation.background.enabled (default true) */
  background: boolean
  /** spec.evaluation.admission.enabled (default true) */
  admission: boolean
  /** what the policy selects (with its autogen variants); empty for a JSON-mode policy */
  matches: readonly MatchResources[]
  /**
   * The policy's result for a resource, or undefined when the policy does not apply to it.
   * `request` defaults to a CREATE of the resource; `namespaceObject` is the resource's namespace.
   */
  evaluate(
    resource: Json,
    request?: AdmissionRequestInfo,
    namespaceObject?: Json | null,
    options?: EvaluationOptions,
  ): ValidatingPolicyResult | undefined
}

export interface EvaluationOptions {
  /** the object before an UPDATE (default: none, or the resource itself on DELETE) */
  oldObject?: Json | null
  /** what the cluster and registry libraries read (a kyverno test's context file) */
  data?: ExternalData
}

/** A pod controller autogen can target, and how its pod template is reached. */
export interface AutogenTarget {
  group: string
  version: string
  resource: string
  kind: string
  template: 'defaults' | 'cronjobs'
}

const AUTOGEN_TARGETS: readonly AutogenTarget[] = [
  { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', template: 'defaults' },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', template: 'defaults' },
  { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', template: 'defaults' },
  { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', template: 'defaults' },
  { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', template: 'defaults' },
  { group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', template: 'cronjobs' },
]

const TEMPLATE_PATHS: Record<AutogenTarget['template'], { spec: string; metadata: string }> = {
  defaults: { spec: 'spec.template.spec', metadata: 'spec.template.metadata' },
  cronjobs: {
    spec: 'spec.jobTemplate.spec.template.spec',
    metadata: 'spec.jobTemplate.spec.template.metadata',
  },
}

/** `.name` and `.namespace` after a rewritten prefix stay the controller's own. */
function isProtected(rest: string): boolean {
  return /^\.(name|namespace)(?![A-Za-z0-9_])/.test(rest)
}

function replaceUnprotected(text: string, from: string, to: string): string {
  let out = ''
  let at = 0
  for (let i = text.indexOf(from); i >= 0; i = text.indexOf(from, at)) {
    out += text.slice(at, i) + (isProtected(text.slice(i + from.length)) ? from : to)
    at = i + from.length
  }
  return out + text.slice(at)
}

/** Kyverno rewrites the serialized spec, messages included; so does this. */
function rewriteForTemplate(spec: CelPolicySpec, template: AutogenTarget['template']): CelPolicySpec {
  let json = JSON.stringify(spec)
  for (const field of ['spec', 'metadata'] as const) {
    const to = TEMPLATE_PATHS[template][field]
    for (const root of ['object', 'oldObject'])
      json = replaceUnprotected(json, `${root}.${field}`, `${root}.${to}`)
  }
  return JSON.parse(json) as CelPolicySpec
}

function emptySelector(selector: Json | undefined): boolean {
  if (!selector) return true
  const labels = isJsonMap(selector.matchLabels) ? Object.keys(selector.matchLabels) : []
  const exprs = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : []
  return labels.length === 0 && exprs.length === 0
}

const only = (list: readonly string[], value: string) => list.length === 1 && list[0] === value

/** Autogen applies to a policy whose one rule matches exactly core/v1 pods, with nothing narrowing it. */
function canAutogen(m: MatchResources): boolean {
  const [rule] = m.resourceRules
  return (
    m.resourceRules.length === 1 &&
    rule !== undefined &&
    m.excludeResourceRules.length === 0 &&
    emptySelector(m.namespaceSelector) &&
    emptySelector(m.objectSelector) &&
    rule.resourceNames.length === 0 &&
    only(rule.apiGroups, '') &&
    only(rule.apiVersions, 'v1') &&
    only(rule.resources, 'pods')
  )
}

export function controllerRules(targets: readonly AutogenTarget[], operations: string[]): ResourceRule[] {
  const byGroupVersion = new Map<string, AutogenTarget[]>()
  for (const t of targets) {
    const key = `${t.group}/${t.version}`
    byGroupVersion.set(key, [...(byGroupVersion.get(key) ?? []), t])
  }
  return [...byGroupVersion.values()].map((ts) => ({
    apiGroups: [ts[0]!.group],
    apiVersions: [ts[0]!.version],
    resources: ts.map((t) => t.resource).sort(),
    operations,
    resourceNames: [],
    scope: '*',
  }))
}

interface Variant {
  /** undefined: the policy as written */
  autogen?: string
  match: MatchResources
  cel: CompiledCelPolicy
}

/**
 * `spec.autogen.podControllers.controllers` names plural resources (`deployments`, `cronjobs`); absent,
 * all of them. Kyverno ignores names it does not know (`Deployment`, `replicationcontrollers`): so does this.
 */
export function autogenTargets(spec: Json): readonly AutogenTarget[] {
  const autogen = isJsonMap(spec.autogen) ? spec.autogen : {}
  const pods = isJsonMap(autogen.podControllers) ? autogen.podControllers : {}
  if (!Array.isArray(pods.controllers)) return AUTOGEN_TARGETS
  const wanted = new Set(pods.controllers)
  return AUTOGEN_TARGETS.filter((t) => wanted.has(t.resource))
}

function enabled(evaluation: Json, key: 'admission' | 'background'): boolean {
  const section = evaluation[key]
  return !(isJsonMap(section) && section.enabled === false)
}

/** The Kyverno result from the shared verdict: the lowest-indexed failure or error decides. */
function toResult(verdict: CelPolicyVerdict, failurePolicy: 'Fail' | 'Ignore'): ValidatingPolicyResult {
  switch (verdict.status) {
    case 'skip':
      return { status: 'skip', message: verdict.reason }
    case 'pass':
      return { status: 'pass', auditAnnotations: verdict.auditAnnotations }
    case 'error': {
      const fromMatch = verdict.problems.some((p) => p.field.includes('matchConditions'))
      const unsupported = verdict.problems[0]?.unsupported
      if (unsupported !== undefined) return { status: 'unsupported', message: unsupported }
      if (fromMatch && failurePolicy === 'Ignore') return { status: 'skip', message: verdict.message }
      return { status: 'error', message: verdict.message }
    }
    case 'fail': {
      const [violation] = verdict.violations
      const problem = verdict.problems
        .filter((p) => p.validation !== undefined)
        .sort((a, b) => (a.validation ?? 0) - (b.validation ?? 0))[0]
      if (problem && violation && (problem.validation ?? 0) < violation.validation)
        return problem.unsupported === undefined
          ? { status: 'error', message: problem.message }
          : { status: 'unsupported', message: problem.unsupported }
      return { status: 'fail', message: violation?.message ?? '', auditAnnotations: verdict.auditAnnotations }
    }
  }
}

function fail(origin: ValidatingPolicyOrigin, name: string, shape: Shape): never {
  const [first, ...others] = shape.problems
  const more = others.length > 0 ? ` (and ${others.length} more problems)` : ''
  throw new CelPolicyError(
    {
      file: origin.file,
      policy: name,
      kind: VALIDATING_POLICY_KIND,
      ...(origin.locate ? { locate: origin.locate } : {}),
    },
    first?.path ?? [],
    `${first?.message ?? 'invalid'}${more}`,
  )
}

/** Compiles a ValidatingPolicy document; throws CelPolicyError (or UnsupportedFeatureError) when it cannot. */
export function loadValidatingPolicy(doc: Json, origin: ValidatingPolicyOrigin): CompiledValidatingPolicy {
  const meta = isJsonMap(doc.metadata) ? doc.metadata : {}
  const name = typeof meta.name === 'string' ? meta.name : ''
  const locate = origin.locate ?? (() => ({ line: 1, column: 1 }))
  const shape = new Shape({ file: origin.file, kind: VALIDATING_POLICY_KIND, name, locate })
  if (!name) shape.fail(['metadata', 'name'], 'required: expected a non-empty string')
  const spec = shape.object(doc, ['spec'], true) ?? {}
  const evaluation = shape.object(spec, ['spec', 'evaluation']) ?? {}
  const mode = shape.string(evaluation, ['spec', 'evaluation', 'mode'], { oneOf: ['Kubernetes', 'JSON'] })
  const jsonMode = mode === 'JSON'
  const match = readMatchResources(shape, spec, ['spec', 'matchConstraints'], { required: !jsonMode })
  const failurePolicy =
    (shape.string(spec, ['spec', 'failurePolicy'], { oneOf: ['Fail', 'Ignore'] }) as 'Fail' | 'Ignore') ??
    'Fail'
  const validationActions = shape.strings(spec, ['spec', 'validationActions'], {
    oneOf: ['Deny', 'Warn', 'Audit'],
  }) as ValidationAction[]
  const celSpec = readCelSpec(shape, spec, ['spec'])
  if (shape.problems.length > 0) fail(origin, name, shape)

  const celOrigin = { file: origin.file, policy: name, kind: VALIDATING_POLICY_KIND, locate }
  const variants: Variant[] = []
  const everything: MatchResources = {
    resourceRules: [],
    excludeResourceRules: [],
    matchPolicy: 'Equivalent',
  }
  variants.push({
    match: match ?? everything,
    cel: compileCelPolicy(celSpec, celOrigin, VALIDATING_POLICY_DIALECT),
  })
  if (match && !jsonMode && canAutogen(match)) {
    const operations = match.resourceRules[0]!.operations
    const targets = autogenTargets(spec)
    for (const template of ['cronjobs', 'defaults'] as const) {
      const group = targets.filter((t) => t.template === template)
      if (group.length === 0) continue
      variants.push({
        autogen: group.map((t) => t.kind).join(','),
        match: { ...everything, resourceRules: controllerRules(group, operations) },
        cel: compileCelPolicy(rewriteForTemplate(celSpec, template), celOrigin, VALIDATING_POLICY_DIALECT),
      })
    }
  }

  return {
    name,
    validationActions,
    background: enabled(evaluation, 'background'),
    admission: enabled(evaluation, 'admission'),
    matches: jsonMode ? [] : variants.map((v) => v.match),
    evaluate(resource, request = requestFor(resource), namespaceObject = null, options = {}) {
      const deleting = request.operation === 'DELETE'
      const input = {
        object: deleting ? null : resource,
        oldObject: deleting ? resource : (options.oldObject ?? null),
        request,
        namespaceObject,
        bindings: externalBindings(options.data),
      }
      const variant = jsonMode ? variants[0] : variants.find((v) => matchesResources(v.match, input))
      if (!variant) return undefined
      const verdict = variant.cel.evaluate(input)
      const result = toResult(verdict, failurePolicy)
      if (variant.autogen) result.autogen = request.kind.kind
      return result
    },
  }
}
