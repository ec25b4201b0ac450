/**
 * Kyverno `generate` rules, as `kyverno test` runs them offline: the rule's verdict is Kyverno's
 * (pkg/engine/background.go, filterRule: `pass` once it matches and its preconditions hold, `skip`
 * otherwise), then the resources it makes, as the background controller builds them against the CLI's fake
 * cluster, which holds the trigger and the test's clone sources (cmd/cli/kubectl-kyverno/processor/
 * generate.go; pkg/background/generate/generator.go, data.go, clone.go):
 * - `data`: the rule's data with its variables substituted, named `name` in `namespace` (none for an empty
 *   namespace), of the rule's apiVersion and kind;
 * - `clone`: the source of the rule's kind named by `clone`, copied without uid, selfLink,
 *   creationTimestamp, managedFields and resourceVersion (and ownerReferences when it changes namespace),
 *   renamed to the target; a resource does not clone itself;
 * - `cloneList`: every source of the listed kinds in `cloneList.namespace` that the selector takes, each
 *   under its own name in the target namespace.
 * Generated resources carry `app.kubernetes.io/managed-by: kyverno` (Kyverno's generate.kyverno.io labels,
 * which `kyverno test` ignores when it compares, are not added). A generation that fails (a variable that
 * does not resolve, a clone source that is missing) makes nothing, and the rule keeps its verdict, as in
 * the CLI, which only logs the error. synchronize and later updates concern a live cluster: not modelled.
 */
import { isJsonMap, type JsonMap } from '../json-map.js'
import {
  elementContext,
  errorText,
  type Outcome,
  type PolicyRequest,
  policySees,
  prepare,
  type RuleInputs,
  type RuleStatus,
  ruleInputs,
} from './evaluate.js'
import { wildcardSelectorMatches } from './match.js'
import type { GenerateForEach, GeneratePattern, Generation, KyvernoPolicy, KyvernoRule } from './policy.js'
import { foreachElements, substitute } from './substitute.js'

/** The resources a generate rule may read: the trigger and the test's clone sources. */
export interface GenerateSources {
  resources: readonly JsonMap[]
}

export interface GenerationOutcome extends Outcome {
  generated: JsonMap[]
  /** why nothing was generated although the rule passed */
  note?: string
}

const meta = (o: JsonMap): JsonMap => (isJsonMap(o.metadata) ? o.metadata : {})
const text = (v: unknown) => (typeof v === 'string' ? v : '')

function identity(o: JsonMap) {
  const m = meta(o)
  return {
    apiVersion: text(o.apiVersion),
    kind: text(o.kind),
    namespace: text(m.namespace),
    name: text(m.name),
  }
}

/** Sets or, for an empty value, removes a metadata field, as unstructured's setters do. */
function setMeta(o: JsonMap, field: string, value: string): void {
  const m = { ...meta(o) }
  if (value === '') delete m[field]
  else m[field] = value
  o.metadata = m
}

function finish(resource: JsonMap, target: GeneratePattern): JsonMap {
  const out = structuredClone(resource)
  setMeta(out, 'name', target.name)
  setMeta(out, 'namespace', target.namespace)
  if (text(out.kind) === '') out.kind = target.kind
  out.apiVersion = target.apiVersion
  const m = meta(out)
  const labels = isJsonMap(m.labels) ? m.labels : {}
  out.metadata = { ...m, labels: { ...labels, 'app.kubernetes.io/managed-by': 'kyverno' } }
  return out
}

/** The source as a clone: cluster-assigned metadata dropped, as manageClone does. */
function cloneOf(source: JsonMap, targetNamespace: string): JsonMap {
  const copy = structuredClone(source)
  const m = { ...meta(copy) }
  for (const field of ['uid', 'selfLink', 'creationTimestamp', 'managedFields', 'resourceVersion'])
    delete m[field]
  if (text(m.namespace) !== targetNamespace) delete m.ownerReferences
  copy.metadata = m
  return copy
}

function findSource(sources: GenerateSources, want: ReturnType<typeof identity>): JsonMap | undefined {
  return sources.resources.find((r) => {
    const id = identity(r)
    return (
      id.apiVersion === want.apiVersion &&
      id.kind === want.kind &&
      id.namespace === want.namespace &&
      id.name === want.name
    )
  })
}

/** `v1/Secret` or `Secret` as Kyverno's GetKindFromGVK splits it. */
function splitKind(kind: string): { apiVersion: string; kind: string } {
  const i = kind.lastIndexOf('/')
  return i < 0 ? { apiVersion: '', kind } : { apiVersion: kind.slice(0, i), kind: kind.slice(i + 1) }
}

function generateFrom(target: GeneratePattern, sources: GenerateSources): JsonMap[] {
  if (target.clone) {
    const source = { ...target.clone, apiVersion: target.apiVersion, kind: target.kind }
    if (source.namespace === target.namespace && source.name === target.name) return []
    const found = findSource(sources, source)
    if (!found)
      throw new Error(
        `source resource ${target.kind} ${source.namespace ? `${source.namespace}/` : ''}${source.name} not found`,
      )
    return [finish(cloneOf(found, target.namespace), target)]
  }
  if (target.cloneList) {
    const list = target.cloneList
    const out: JsonMap[] = []
    for (const k of list.kinds) {
      const { apiVersion, kind } = splitKind(k)
      const matching = sources.resources
        .filter((r) => {
          const id = identity(r)
          if (id.kind !== kind || (apiVersion !== '' && id.apiVersion !== apiVersion)) return false
          if (id.namespace !== list.namespace) return false
          const labels = meta(r).labels
          return (
            !list.selector ||
            wildcardSelectorMatches(
              list.selector,
              (isJsonMap(labels) ? labels : {}) as Record<string, string>,
            )
          )
        })
        .sort((a, b) => identity(a).name.localeCompare(identity(b).name))
      for (const source of matching) {
        const id = identity(source)
        if (id.namespace === target.namespace) continue
        const each: GeneratePattern = { ...target, apiVersion: id.apiVersion, kind: id.kind, name: id.name }
        out.push(finish(cloneOf(source, target.namespace), each))
      }
    }
    return out
  }
  if (target.data === undefined || target.data === null) return []
  if (!isJsonMap(target.data)) throw new Error('generate.data must be a map')
  return [finish(target.data, target)]
}

/**
 * `generate.foreach` (generator.go, generateForeach): each element of each list, with its own context
 * entries and preconditions (not met: nothing for that element), makes its entry's pattern. An element
 * that fails fails the whole generation, as the controller then returns the error.
 */
function generateForEach(
  entries: readonly GenerateForEach[],
  ctx: JsonMap,
  values: JsonMap | undefined,
  sources: GenerateSources,
): JsonMap[] {
  const out: JsonMap[] = []
  for (const fe of entries) {
    for (const [index, element] of foreachElements(fe.list, ctx).entries()) {
      if (element === null || element === undefined) continue
      const prepared = prepare(fe.context, fe.preconditions, elementContext(ctx, element, index, 0), values)
      if (!prepared.ok) {
        if (prepared.outcome.status === 'skip') continue
        throw new Error(prepared.outcome.message)
      }
      const pattern = substitute(fe.pattern, prepared.ctx, 'strict', [
        'generate',
        'foreach',
      ]) as GeneratePattern
      out.push(...generateFrom(pattern, sources))
    }
  }
  return out
}

export function runGeneration(
  rule: KyvernoRule,
  generation: Generation,
  inputs: RuleInputs,
  sources: GenerateSources,
): GenerationOutcome {
  const prepared = prepare(rule.context, rule.preconditions, inputs.ctx, inputs.values)
  if (!prepared.ok) return { ...prepared.outcome, generated: [] }
  const passed: GenerationOutcome = { status: 'pass', message: '', generated: [] }
  const all = { resources: [inputs.object, ...sources.resources] }
  if (generation.foreach) {
    try {
      return { ...passed, generated: generateForEach(generation.foreach, prepared.ctx, inputs.values, all) }
    } catch (err) {
      return { ...passed, note: `failed to generate resources: ${errorText(err)}` }
    }
  }
  let target: GeneratePattern
  try {
    target = substitute(generation, prepared.ctx, 'strict', ['generate']) as GeneratePattern
  } catch (err) {
    return { ...passed, note: `variable substitution failed: ${errorText(err)}` }
  }
  try {
    return { ...passed, generated: generateFrom(target, all) }
  } catch (err) {
    return { ...passed, note: `failed to generate resource: ${errorText(err)}` }
  }
}

export interface GenerationResponse {
  policy: KyvernoPolicy
  rule: KyvernoRule
  status: RuleStatus
  message: string
  generated: JsonMap[]
  note?: string
}

/**
 * Every generate rule of the policies on one trigger (as admission left it, mutated), policy after policy;
 * `sources` gives the clone sources the test names for a rule.
 */
export function generateForResource(
  policies: readonly KyvernoPolicy[],
  req: PolicyRequest,
  sources: (policy: KyvernoPolicy, rule: KyvernoRule) => readonly JsonMap[],
): GenerationResponse[] {
  const out: GenerationResponse[] = []
  for (const policy of policies) {
    if (!policySees(policy, req.object)) continue
    for (const rule of policy.rules) {
      if (rule.type !== 'generate') continue
      const inputs = ruleInputs(policy, rule, req)
      if (!inputs) continue
      if (!rule.generation) {
        const u = rule.validation.type === 'unsupported' ? rule.validation.unsupported : undefined
        out.push({
          policy,
          rule,
          status: 'unsupported',
          message: `${u?.feature}: ${u?.reason}`,
          generated: [],
        })
        continue
      }
      const outcome = runGeneration(rule, rule.generation, inputs, { resources: sources(policy, rule) })
      const response: GenerationResponse = {
        policy,
        rule,
        status: outcome.status,
        message: outcome.message,
        generated: outcome.generated,
      }
      if (outcome.note) response.note = outcome.note
      out.push(response)
      if (policy.applyRules === 'One' && outcome.status !== 'skip') break
    }
  }
  return out
}
