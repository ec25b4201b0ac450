/**
 * Kyverno's GeneratingPolicy (policies.kyverno.io v1alpha1, v1beta1, v1: "gpol") as `kyverno test` runs it
 * offline (pkg/cel/policies/gpol and the CLI's fake context, pkg/cel/libs/fake_context.go, in
 * kyverno/kyverno): for a resource its matchConstraints and match conditions select, each `generate`
 * entry runs in order; `generator.Apply(namespace, [objects])` records the objects, each put in that
 * namespace (none for ''), an object with an `items` list (a `...List`, what `resource.List` gives) giving its items. The result is `pass` with what was
 * recorded; a failing expression makes it `error`. A resource the policy does not select gets no result,
 * nor does one whose match conditions are false.
 * A `template` entry (a YAML document) generates its documents, each in the namespace it names; one with
 * `interpolate: cel` is not supported yet. PolicyExceptions naming the policy apply (cel-exceptions.ts).
 */
import type { Environment } from '@marcbachmann/cel-js'
import { load } from 'js-yaml'
import { type CelPolicyDialect, type CompiledExpression, compileCelPolicy } from '../admission/cel-policy.js'
import { readCelSpec } from '../admission/cel-spec.js'
import { type MatchResources, matchesResources, readMatchResources } from '../admission/match-resources.js'
import { objectLiteralValue } from '../admission/mutation/object-literals.js'
import { type AdmissionRequestInfo, requestFor } from '../admission/request.js'
import { type Json, Shape } from '../admission/shape.js'
import { isJsonMap } from '../json-map.js'
import { VALIDATING_POLICY_DIALECT } from './cel/environment.js'
import { type ExternalData, externalBindings } from './cel/external-data.js'
import { applyExceptions } from './cel-exceptions.js'
import { failLoad, type MutationEvaluationOptions, type PolicyOrigin } from './mutating-policy.js'
import { VALIDATING_POLICY_GROUP, VALIDATING_POLICY_VERSIONS } from './validating-policy.js'

export const GENERATING_POLICY_KIND = 'GeneratingPolicy'

export function isGeneratingPolicyDocument(doc: { apiVersion?: unknown; kind?: unknown }): boolean {
  const [group, version] = String(doc.apiVersion).split('/')
  return (
    group === VALIDATING_POLICY_GROUP &&
    (VALIDATING_POLICY_VERSIONS as readonly string[]).includes(version ?? '') &&
    doc.kind === GENERATING_POLICY_KIND
  )
}

/** What `generator.Apply` recorded during one evaluation. */
export class Generator {
  readonly generated: Json[] = []

  apply(namespace: string, objects: unknown): boolean {
    const list = objectLiteralValue(objects)
    if (!Array.isArray(list)) throw new Error('generator.Apply expects a list of objects')
    for (const item of list) {
      if (!isJsonMap(item)) throw new Error('generator.Apply expects a list of objects')
      // Unstructured.IsList: an object with an `items` list is a list, whatever its kind.
      const items = Array.isArray(item.items) ? item.items.filter(isJsonMap) : [item]
      for (const object of items) this.generated.push(inNamespace(object, namespace))
    }
    return true
  }
}

function inNamespace(object: Json, namespace: string): Json {
  const meta: Json = { ...(isJsonMap(object.metadata) ? object.metadata : {}) }
  if (namespace === '') delete meta.namespace
  else meta.namespace = namespace
  return { ...object, metadata: meta }
}

function addGeneratorLibrary(env: Environment): Environment {
  env.registerType('kyverno.generator', Generator).registerVariable('generator', 'kyverno.generator')
  for (const name of ['Apply', 'apply'])
    env.registerFunction(
      `kyverno.generator.${name}(string, list): bool`,
      (g: Generator, ns: string, list: unknown) => g.apply(ns, list),
    )
  return env
}

let environment: Environment | undefined

export const GENERATING_POLICY_DIALECT: CelPolicyDialect = {
  ...VALIDATING_POLICY_DIALECT,
  environment: () => {
    environment ??= addGeneratorLibrary(VALIDATING_POLICY_DIALECT.environment!().clone())
    return environment
  },
}

export interface GeneratingPolicyResult {
  /** skip: a PolicyException exempts the trigger */
  status: 'pass' | 'skip' | 'error' | 'unsupported'
  message: string
  /** the resources generated (status pass) */
  generated: Json[]
}

export interface CompiledGeneratingPolicy {
  name: string
  kind: string
  /** where the policy is written */
  file: string
  line: number
  matches: readonly MatchResources[]
  /** The result for a trigger resource, or undefined when the policy does not apply to it. */
  generate(
    resource: Json,
    request?: AdmissionRequestInfo,
    namespaceObject?: Json | null,
    options?: MutationEvaluationOptions,
  ): GeneratingPolicyResult | undefined
}

type Generation = { expr: CompiledExpression } | { documents: Json[] } | { unsupported: string }

/** Compiles a GeneratingPolicy document; throws CelPolicyError when it cannot. */
export function loadGeneratingPolicy(doc: Json, origin: PolicyOrigin): CompiledGeneratingPolicy {
  const meta = isJsonMap(doc.metadata) ? doc.metadata : {}
  const name = typeof meta.name === 'string' ? meta.name : ''
  const locate = origin.locate ?? (() => ({ line: 1, column: 1 }))
  const shape = new Shape({ file: origin.file, kind: GENERATING_POLICY_KIND, name, locate })
  if (!name) shape.fail(['metadata', 'name'], 'required: expected a non-empty string')
  const spec = shape.object(doc, ['spec'], true) ?? {}
  const match = readMatchResources(shape, spec, ['spec', 'matchConstraints'], { required: true })
  const celSpec = readCelSpec(shape, spec, ['spec'], { qualifiedNames: false })
  const entries = shape.objects(spec, ['spec', 'generate'], true)
  for (const { item, path } of entries)
    if ((typeof item.expression === 'string') === isJsonMap(item.template))
      shape.fail(path, 'exactly one of expression or template must be set')
  if (shape.problems.length > 0 || !match) failLoad(origin, GENERATING_POLICY_KIND, name, shape)

  const cel = compileCelPolicy(
    { ...celSpec, validations: [] },
    { file: origin.file, policy: name, kind: GENERATING_POLICY_KIND, locate },
    GENERATING_POLICY_DIALECT,
  )
  const generations: Generation[] = entries.map(({ item, path }): Generation => {
    if (typeof item.expression === 'string')
      return { expr: cel.compileExpression([...path, 'expression'], item.expression) }
    const template = item.template as Json
    if (template.interpolate === 'cel')
      return { unsupported: 'GeneratingPolicy templates with `interpolate: cel` are not supported yet' }
    const text = typeof template.value === 'string' ? template.value : ''
    const documents: Json[] = []
    for (const part of text.split(/^---\s*$/m)) {
      const parsed = load(part)
      if (isJsonMap(parsed)) documents.push(parsed)
    }
    return { documents }
  })

  return {
    name,
    kind: GENERATING_POLICY_KIND,
    file: origin.file,
    line: locate([]).line,
    matches: [match],
    generate(resource, request = requestFor(resource), namespaceObject = null, options = {}) {
      const generator = new Generator()
      const input = {
        object: resource,
        oldObject: options.oldObject ?? null,
        request,
        namespaceObject,
        bindings: { ...externalBindings(options.data as ExternalData | undefined), generator },
      }
      if (!matchesResources(match, input)) return undefined
      const exempt = applyExceptions(
        options.exceptions ?? [],
        { kind: GENERATING_POLICY_KIND, name },
        GENERATING_POLICY_DIALECT,
        input,
      )
      if (exempt) return { ...exempt, generated: [] }
      const evaluation = cel.begin(input)
      const unmatched = evaluation.unmatched
      if (unmatched?.status === 'skip') return undefined
      if (unmatched?.status === 'error') {
        const unsupported = unmatched.problems.find((p) => p.unsupported !== undefined)?.unsupported
        return unsupported
          ? { status: 'unsupported', message: unsupported, generated: [] }
          : { status: 'error', message: unmatched.message, generated: [] }
      }
      for (const g of generations) {
        if ('unsupported' in g) return { status: 'unsupported', message: g.unsupported, generated: [] }
        if ('documents' in g) {
          for (const d of g.documents) {
            const ns =
              isJsonMap(d.metadata) && typeof d.metadata.namespace === 'string' ? d.metadata.namespace : ''
            generator.generated.push(inNamespace(d, ns))
          }
          continue
        }
        const outcome = evaluation.run(g.expr)
        if (!outcome.ok)
          return outcome.unsupported === undefined
            ? { status: 'error', message: outcome.message, generated: [] }
            : { status: 'unsupported', message: outcome.unsupported, generated: [] }
      }
      return { status: 'pass', message: 'policy evaluated successfully', generated: generator.generated }
    },
  }
}
