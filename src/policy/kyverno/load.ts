/**
 * Reads Kyverno ClusterPolicy and Policy documents into KyvernoPolicy: autogen rules added, match blocks
 * parsed, patterns and conditions checked, CEL compiled. A mistake in one rule is reported with the file,
 * line, policy, rule and field, and only that rule is lost; a rule Plimsoll cannot run offline (mutate,
 * generate, image verification...) is kept as unsupported with the reason, so that it is reported, never
 * passed.
 */
import { CelPolicyError, compileCelPolicy, UnsupportedFeatureError } from '../admission/cel-policy.js'
import { isJsonMap } from '../json-map.js'
import { withAutogenRules } from './autogen.js'
import { VALIDATE_CEL_DIALECT } from './cel/environment.js'
import { checkConditionBlock } from './conditions.js'
import { parseKindSelector } from './kinds.js'
import type { LabelSelector, MatchBlock, ResourceFilter, Subject } from './match.js'
import { checkPattern } from './pattern.js'
import type {
  ContextEntry,
  ElementCheck,
  FailureAction,
  ForEach,
  GenerateForEach,
  GeneratePattern,
  Generation,
  KyvernoPolicy,
  KyvernoRule,
  MutateForEach,
  Mutation,
  PodSecurityExclusion,
  Unsupported,
  Validation,
} from './policy.js'

type Json = Record<string, unknown>

export const KYVERNO_POLICY_KINDS = ['ClusterPolicy', 'Policy'] as const

export function isKyvernoPolicy(apiVersion: string, kind: string): boolean {
  return apiVersion.startsWith('kyverno.io/') && (KYVERNO_POLICY_KINDS as readonly string[]).includes(kind)
}

/** A problem with a policy: where it is and what is wrong, in words a policy author can act on. */
export interface KyvernoProblem {
  file: string
  line: number
  policy: string
  rule?: string
  /** the field or feature concerned, e.g. `validate.pattern` */
  field: string
  message: string
}

/** The problem without its file and line (for reports that give the location apart). */
export function problemMessage(p: KyvernoProblem): string {
  return `policy '${p.policy}'${p.rule ? `, rule '${p.rule}'` : ''}: ${p.field}: ${p.message}`
}

export function formatProblem(p: KyvernoProblem): string {
  return `${p.file}:${p.line}: ${problemMessage(p)}`
}

/** A Kubernetes object's annotations with string values (the others are not annotations). */
export function annotationsOf(object: Json): Record<string, string> {
  const meta = isJsonMap(object.metadata) ? object.metadata : {}
  const out: Record<string, string> = {}
  if (isJsonMap(meta.annotations))
    for (const [k, v] of Object.entries(meta.annotations)) if (typeof v === 'string') out[k] = v
  return out
}

class RuleError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
  }
}

function map(v: unknown, field: string): Json {
  if (v === undefined || v === null) return {}
  if (!isJsonMap(v)) throw new RuleError(field, 'expected a mapping')
  return v
}

function list(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new RuleError(field, 'expected a list')
  return v
}

function stringList(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined
  const items = list(v, field)
  items.forEach((x, i) => {
    if (typeof x !== 'string') throw new RuleError(`${field}[${i}]`, 'expected a string')
  })
  return items as string[]
}

function stringMap(v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined
  const m = map(v, field)
  for (const [k, x] of Object.entries(m)) {
    if (typeof x !== 'string') throw new RuleError(`${field}.${k}`, 'expected a string')
  }
  return m as Record<string, string>
}

function selector(v: unknown, field: string): LabelSelector | undefined {
  if (v === undefined || v === null) return undefined
  const m = map(v, field)
  const out: LabelSelector = {}
  const labels = stringMap(m.matchLabels, `${field}.matchLabels`)
  if (labels) out.matchLabels = labels
  if (m.matchExpressions !== undefined) {
    out.matchExpressions = list(m.matchExpressions, `${field}.matchExpressions`).map((e, i) => {
      const x = map(e, `${field}.matchExpressions[${i}]`)
      const op = x.operator
      if (typeof x.key !== 'string' || !['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(String(op)))
        throw new RuleError(
          `${field}.matchExpressions[${i}]`,
          'expected a key and an operator In, NotIn, Exists or DoesNotExist',
        )
      return {
        key: x.key,
        operator: String(op),
        values: stringList(x.values, `${field}.matchExpressions[${i}].values`) ?? [],
      }
    })
  }
  return out
}

function filter(raw: Json, field: string): ResourceFilter {
  const res = map(raw.resources, `${field}.resources`)
  const kindTexts = stringList(res.kinds, `${field}.resources.kinds`) ?? []
  const kinds = kindTexts.map((k, i) => {
    try {
      return parseKindSelector(k)
    } catch (err) {
      throw new RuleError(`${field}.resources.kinds[${i}]`, (err as Error).message)
    }
  })
  const resources: ResourceFilter['resources'] = { kinds, kindTexts }
  if (typeof res.name === 'string') resources.name = res.name
  const optional = {
    names: stringList(res.names, `${field}.resources.names`),
    namespaces: stringList(res.namespaces, `${field}.resources.namespaces`),
    annotations: stringMap(res.annotations, `${field}.resources.annotations`),
    selector: selector(res.selector, `${field}.resources.selector`),
    namespaceSelector: selector(res.namespaceSelector, `${field}.resources.namespaceSelector`),
    operations: stringList(res.operations, `${field}.resources.operations`),
  }
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(resources, { [k]: v })
  const subjects = list(raw.subjects, `${field}.subjects`).map((s, i): Subject => {
    const m = map(s, `${field}.subjects[${i}]`)
    if (typeof m.kind !== 'string' || typeof m.name !== 'string')
      throw new RuleError(
        `${field}.subjects[${i}]`,
        'expected a kind (User, Group or ServiceAccount) and a name',
      )
    return {
      kind: m.kind,
      name: m.name,
      ...(typeof m.namespace === 'string' ? { namespace: m.namespace } : {}),
    }
  })
  return {
    resources,
    subjects,
    roles: stringList(raw.roles, `${field}.roles`) ?? [],
    clusterRoles: stringList(raw.clusterRoles, `${field}.clusterRoles`) ?? [],
  }
}

function matchBlock(v: unknown, field: string): MatchBlock {
  const raw = map(v, field)
  if (raw.any !== undefined && raw.all !== undefined)
    throw new RuleError(field, 'use either any or all, not both')
  for (const mode of ['any', 'all'] as const) {
    if (raw[mode] !== undefined)
      return {
        mode,
        filters: list(raw[mode], `${field}.${mode}`).map((f, i) =>
          filter(map(f, `${field}.${mode}[${i}]`), `${field}.${mode}[${i}]`),
        ),
      }
  }
  const legacy = filter(raw, field)
  const empty =
    legacy.resources.kindTexts.length === 0 &&
    Object.keys(legacy.resources).length === 2 &&
    legacy.subjects.length === 0 &&
    legacy.roles.length === 0 &&
    legacy.clusterRoles.length === 0
  return { mode: 'all', filters: empty ? [] : [legacy] }
}

const EXTERNAL_CONTEXT = ['apiCall', 'configMap', 'imageRegistry', 'globalReference'] as const

function contextEntries(v: unknown, field: string): ContextEntry[] {
  return list(v, field).map((e, i) => {
    const m = map(e, `${field}[${i}]`)
    if (typeof m.name !== 'string' || m.name === '')
      throw new RuleError(`${field}[${i}].name`, 'expected a name')
    for (const source of EXTERNAL_CONTEXT)
      if (m[source] !== undefined) return { name: m.name, type: 'external', source }
    if (m.variable === undefined)
      throw new RuleError(`${field}[${i}]`, `expected one of variable, ${EXTERNAL_CONTEXT.join(', ')}`)
    const variable = map(m.variable, `${field}[${i}].variable`)
    const entry: ContextEntry = { name: m.name, type: 'variable' }
    if (variable.value !== undefined) entry.value = variable.value
    if (typeof variable.jmesPath === 'string') entry.jmesPath = variable.jmesPath
    if (variable.default !== undefined) entry.default = variable.default
    return entry
  })
}

function conditions(v: unknown, field: string): unknown {
  try {
    checkConditionBlock(v)
  } catch (err) {
    throw new RuleError(field, (err as Error).message)
  }
  return v
}

function pattern(v: unknown, field: string): unknown {
  try {
    checkPattern(v)
  } catch (err) {
    throw new RuleError(field, (err as Error).message)
  }
  return v
}

/** pattern | anyPattern | deny | foreach: what a rule or a foreach element is checked with. */
function elementCheck(v: Json, field: string): ElementCheck | undefined {
  if (v.pattern !== undefined) return { type: 'pattern', pattern: pattern(v.pattern, `${field}.pattern`) }
  if (v.anyPattern !== undefined)
    return {
      type: 'anyPattern',
      patterns: list(v.anyPattern, `${field}.anyPattern`).map((p, i) =>
        pattern(p, `${field}.anyPattern[${i}]`),
      ),
    }
  if (v.deny !== undefined) {
    const deny = map(v.deny, `${field}.deny`)
    return { type: 'deny', conditions: conditions(deny.conditions ?? [], `${field}.deny.conditions`) }
  }
  if (v.foreach !== undefined) return { type: 'foreach', foreach: foreachList(v.foreach, `${field}.foreach`) }
  return undefined
}

function foreachList(v: unknown, field: string): ForEach[] {
  return list(v, field).map((f, i) => {
    const at = `${field}[${i}]`
    const m = map(f, at)
    if (typeof m.list !== 'string')
      throw new RuleError(`${at}.list`, 'expected a JMESPath expression (string)')
    const check = elementCheck(m, at)
    if (!check) throw new RuleError(at, 'expected one of pattern, anyPattern, deny, foreach')
    const out: ForEach = { list: m.list, context: contextEntries(m.context, `${at}.context`), check }
    if (typeof m.elementScope === 'boolean') out.elementScope = m.elementScope
    if (m.preconditions !== undefined) out.preconditions = conditions(m.preconditions, `${at}.preconditions`)
    return out
  })
}

const PSS_LEVELS = ['privileged', 'baseline', 'restricted'] as const

function podSecurity(v: unknown, field: string): Validation {
  const m = map(v, field)
  const level = m.level
  if (!PSS_LEVELS.includes(level as (typeof PSS_LEVELS)[number]))
    throw new RuleError(`${field}.level`, `expected one of ${PSS_LEVELS.join(', ')}`)
  const version = m.version === undefined ? 'latest' : String(m.version)
  if (!/^(latest|v1\.\d+)$/.test(version))
    throw new RuleError(`${field}.version`, "expected 'latest' or v1.N")
  const exclude = list(m.exclude, `${field}.exclude`).map((e, i): PodSecurityExclusion => {
    const x = map(e, `${field}.exclude[${i}]`)
    if (typeof x.controlName !== 'string')
      throw new RuleError(`${field}.exclude[${i}].controlName`, 'expected a control name')
    const out: PodSecurityExclusion = { controlName: x.controlName }
    const images = stringList(x.images, `${field}.exclude[${i}].images`)
    if (images) out.images = images
    if (typeof x.restrictedField === 'string') out.restrictedField = x.restrictedField
    const values = stringList(x.values, `${field}.exclude[${i}].values`)
    if (values) out.values = values
    return out
  })
  return { type: 'podSecurity', level: level as (typeof PSS_LEVELS)[number], version, exclude }
}

interface CelSource {
  file: string
  policy: string
}

function named(v: unknown, field: string): { name: string; expression: string }[] {
  return list(v, field).map((x, i) => {
    const m = map(x, `${field}[${i}]`)
    if (typeof m.name !== 'string' || typeof m.expression !== 'string')
      throw new RuleError(`${field}[${i}]`, 'expected a name and an expression')
    return { name: m.name, expression: m.expression }
  })
}

function celValidation(
  v: unknown,
  celPreconditions: unknown,
  source: CelSource,
): Validation | { type: 'unsupported'; unsupported: { feature: string; reason: string } } {
  const m = map(v, 'validate.cel')
  if (m.paramKind !== undefined || m.paramRef !== undefined)
    return {
      type: 'unsupported',
      unsupported: { feature: 'validate.cel.paramKind', reason: 'CEL parameters are read from the cluster' },
    }
  const validations = list(m.expressions, 'validate.cel.expressions').map((x, i) => {
    const e = map(x, `validate.cel.expressions[${i}]`)
    if (typeof e.expression !== 'string')
      throw new RuleError(`validate.cel.expressions[${i}].expression`, 'expected a CEL expression')
    return {
      expression: e.expression,
      ...(typeof e.message === 'string' ? { message: e.message } : {}),
      ...(typeof e.messageExpression === 'string' ? { messageExpression: e.messageExpression } : {}),
      ...(typeof e.reason === 'string' ? { reason: e.reason } : {}),
    }
  })
  const auditAnnotations = list(m.auditAnnotations, 'validate.cel.auditAnnotations').map((x, i) => {
    const a = map(x, `validate.cel.auditAnnotations[${i}]`)
    return { key: String(a.key ?? ''), valueExpression: String(a.valueExpression ?? '') }
  })
  try {
    const policy = compileCelPolicy(
      {
        matchConditions: named(celPreconditions, 'celPreconditions'),
        variables: named(m.variables, 'validate.cel.variables'),
        validations,
        auditAnnotations,
      },
      { file: source.file, policy: source.policy, kind: 'ClusterPolicy' },
      VALIDATE_CEL_DIALECT,
    )
    return { type: 'cel', policy }
  } catch (err) {
    if (err instanceof UnsupportedFeatureError)
      return { type: 'unsupported', unsupported: { feature: err.feature, reason: err.problem } }
    if (err instanceof CelPolicyError) throw new RuleError('validate.cel', err.problem)
    throw err
  }
}

function failureActionOf(v: unknown, fallback: FailureAction): FailureAction {
  if (typeof v !== 'string') return fallback
  return v.toLowerCase() === 'enforce' ? 'Enforce' : 'Audit'
}

const UNSUPPORTED_RULE_TYPES: Record<Exclude<KyvernoRule['type'], 'validate'>, string> = {
  // A scan checks resources as they are written; `kyverno test` applies these rules (mutate/, generate.ts).
  mutate:
    'mutate rules change resources: plimsoll kyverno test applies them, a scan checks resources as written',
  generate: 'generate rules create resources: plimsoll kyverno test applies them, a scan does not',
  verifyImages: 'image verification needs the image registry',
}

function jsonPatchText(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string')
    throw new RuleError(field, 'expected RFC 6902 operations as a YAML or JSON string')
  return v
}

function mutateForEach(v: unknown, field: string): MutateForEach[] {
  return list(v, field).map((f, i) => {
    const at = `${field}[${i}]`
    const m = map(f, at)
    if (typeof m.list !== 'string')
      throw new RuleError(`${at}.list`, 'expected a JMESPath expression (string)')
    const out: MutateForEach = { list: m.list, context: contextEntries(m.context, `${at}.context`) }
    if (m.order !== undefined) {
      if (m.order !== 'Ascending' && m.order !== 'Descending')
        throw new RuleError(`${at}.order`, 'expected Ascending or Descending')
      out.order = m.order
    }
    if (m.preconditions !== undefined) out.preconditions = conditions(m.preconditions, `${at}.preconditions`)
    if (m.patchStrategicMerge !== undefined) out.patchStrategicMerge = m.patchStrategicMerge
    const json = jsonPatchText(m.patchesJson6902, `${at}.patchesJson6902`)
    if (json !== undefined) out.patchesJson6902 = json
    if (m.foreach !== undefined) out.foreach = mutateForEach(m.foreach, `${at}.foreach`)
    if (out.patchStrategicMerge === undefined && out.patchesJson6902 === undefined && !out.foreach)
      throw new RuleError(at, 'expected one of patchStrategicMerge, patchesJson6902, foreach')
    return out
  })
}

/** The mutation, or why it cannot run offline. */
function mutation(v: unknown): Mutation | Unsupported {
  const m = map(v, 'mutate')
  if (m.targets !== undefined)
    return {
      feature: 'mutate.targets',
      reason: 'mutateExisting changes other resources of a live cluster; it is not run offline',
    }
  const out: Mutation = {}
  if (m.patchStrategicMerge !== undefined) out.patchStrategicMerge = m.patchStrategicMerge
  const json = jsonPatchText(m.patchesJson6902, 'mutate.patchesJson6902')
  if (json !== undefined) out.patchesJson6902 = json
  if (m.foreach !== undefined) out.foreach = mutateForEach(m.foreach, 'mutate.foreach')
  if (out.patchStrategicMerge === undefined && out.patchesJson6902 === undefined && !out.foreach)
    throw new RuleError('mutate', 'expected one of patchStrategicMerge, patchesJson6902, foreach')
  return out
}

function generatePattern(g: Json, field: string, needsTarget: boolean): GeneratePattern {
  const text = (x: unknown) => (typeof x === 'string' ? x : '')
  const out: GeneratePattern = {
    apiVersion: text(g.apiVersion),
    kind: text(g.kind),
    name: text(g.name),
    namespace: text(g.namespace),
  }
  if (g.data !== undefined) out.data = g.data
  const clone = map(g.clone, `${field}.clone`)
  if (typeof clone.name === 'string' && clone.name !== '')
    out.clone = { name: clone.name, namespace: text(clone.namespace) }
  const cloneList = map(g.cloneList, `${field}.cloneList`)
  const kinds = stringList(cloneList.kinds, `${field}.cloneList.kinds`) ?? []
  if (kinds.length > 0) {
    out.cloneList = { namespace: text(cloneList.namespace), kinds }
    const sel = selector(cloneList.selector, `${field}.cloneList.selector`)
    if (sel) out.cloneList.selector = sel
  }
  if (!needsTarget) return out
  if (out.data === undefined && !out.clone && !out.cloneList)
    throw new RuleError(field, 'expected one of data, clone, cloneList')
  if (!out.cloneList && (out.kind === '' || out.name === ''))
    throw new RuleError(field, 'expected the kind and name of the resource to generate')
  return out
}

function generation(v: unknown): Generation {
  const g = map(v, 'generate')
  if (g.foreach === undefined) return generatePattern(g, 'generate', true)
  const out: Generation = generatePattern(g, 'generate', false)
  out.foreach = list(g.foreach, 'generate.foreach').map((f, i) => {
    const at = `generate.foreach[${i}]`
    const m = map(f, at)
    if (typeof m.list !== 'string')
      throw new RuleError(`${at}.list`, 'expected a JMESPath expression (string)')
    const entry: GenerateForEach = {
      list: m.list,
      context: contextEntries(m.context, `${at}.context`),
      pattern: generatePattern(m, at, true),
    }
    if (m.preconditions !== undefined)
      entry.preconditions = conditions(m.preconditions, `${at}.preconditions`)
    return entry
  })
  return out
}

const isUnsupported = (x: object): x is Unsupported => 'reason' in x

const UNSUPPORTED_VALIDATIONS: Record<string, string> = {
  manifests: 'signed manifest verification needs signatures and keys',
  assert: 'assertion trees (kyverno-json) are not implemented',
}

function compileRule(
  raw: Json,
  line: number,
  policy: { file: string; name: string; failureAction: FailureAction },
): KyvernoRule {
  const name = String(raw.name)
  const match = matchBlock(raw.match, 'match')
  const rule: KyvernoRule = {
    name,
    type: 'validate',
    line,
    match,
    context: contextEntries(raw.context, 'context'),
    failureAction: policy.failureAction,
    validation: {
      type: 'unsupported',
      unsupported: { feature: 'rule', reason: 'the rule has no validate block' },
    },
  }
  if (raw.exclude !== undefined) rule.exclude = matchBlock(raw.exclude, 'exclude')
  if (raw.preconditions !== undefined) rule.preconditions = conditions(raw.preconditions, 'preconditions')
  for (const [type, reason] of Object.entries(UNSUPPORTED_RULE_TYPES)) {
    if (raw[type] !== undefined) {
      rule.type = type as KyvernoRule['type']
      let unsupported: Unsupported = { feature: type, reason }
      if (type === 'mutate') {
        const m = mutation(raw.mutate)
        if (isUnsupported(m)) unsupported = m
        else rule.mutation = m
      } else if (type === 'generate') rule.generation = generation(raw.generate)
      rule.validation = { type: 'unsupported', unsupported }
      return rule
    }
  }
  const validate = map(raw.validate, 'validate')
  if (typeof validate.message === 'string') rule.message = validate.message
  rule.failureAction = failureActionOf(validate.failureAction, policy.failureAction)
  const source = { file: policy.file, policy: policy.name }
  if (raw.celPreconditions !== undefined && validate.cel === undefined) {
    rule.celPreconditions = compileCelPreconditions(raw.celPreconditions, source)
  }
  for (const [type, reason] of Object.entries(UNSUPPORTED_VALIDATIONS)) {
    if (validate[type] !== undefined) {
      rule.validation = { type: 'unsupported', unsupported: { feature: `validate.${type}`, reason } }
      return rule
    }
  }
  if (validate.podSecurity !== undefined)
    rule.validation = podSecurity(validate.podSecurity, 'validate.podSecurity')
  else if (validate.cel !== undefined)
    rule.validation = celValidation(validate.cel, raw.celPreconditions, source)
  else {
    const check = elementCheck(validate, 'validate')
    if (!check)
      throw new RuleError('validate', 'expected one of pattern, anyPattern, deny, foreach, podSecurity, cel')
    rule.validation = check
  }
  return rule
}

function compileCelPreconditions(v: unknown, source: CelSource) {
  try {
    return compileCelPolicy(
      { matchConditions: named(v, 'celPreconditions'), variables: [], validations: [] },
      { file: source.file, policy: source.policy, kind: 'ClusterPolicy' },
      VALIDATE_CEL_DIALECT,
    )
  } catch (err) {
    if (err instanceof CelPolicyError) throw new RuleError('celPreconditions', err.message)
    throw err
  }
}

export interface LoadedKyvernoPolicy {
  policy: KyvernoPolicy
  problems: KyvernoProblem[]
}

/**
 * One ClusterPolicy or Policy document. `locate` gives the line of a field (for messages). Rules that
 * fail to load are left out and reported in `problems`.
 */
export function loadKyvernoPolicy(
  doc: Json,
  file: string,
  locate: (path: readonly (string | number)[]) => number,
): LoadedKyvernoPolicy {
  const meta = isJsonMap(doc.metadata) ? doc.metadata : {}
  const name = typeof meta.name === 'string' ? meta.name : '<unnamed>'
  const kind = doc.kind === 'Policy' ? 'Policy' : 'ClusterPolicy'
  const annotations = annotationsOf(doc)
  const spec = isJsonMap(doc.spec) ? doc.spec : {}
  const policy: KyvernoPolicy = {
    kind,
    name,
    annotations,
    applyRules: spec.applyRules === 'One' ? 'One' : 'All',
    scored: annotations['policies.kyverno.io/scored'] !== 'false',
    rules: [],
    file,
    line: locate([]),
  }
  if (kind === 'Policy') policy.namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default'
  const problems: KyvernoProblem[] = []
  const problem = (line: number, rule: string | undefined, field: string, message: string) =>
    problems.push({ file, line, policy: name, ...(rule !== undefined ? { rule } : {}), field, message })
  if (!Array.isArray(spec.rules) || spec.rules.length === 0) {
    problem(locate(['spec']), undefined, 'spec.rules', 'expected a list of rules')
    return { policy, problems }
  }
  const written = spec.rules.filter(isJsonMap)
  const ruleLine = new Map<string, number>()
  for (const [i, r] of spec.rules.entries())
    if (isJsonMap(r)) ruleLine.set(String(r.name), locate(['spec', 'rules', i]))
  const rules = withAutogenRules(written, annotations)
  const failureAction = failureActionOf(spec.validationFailureAction, 'Audit')
  const broken = new Set<string>()
  rules.forEach((raw, i) => {
    const ruleName = typeof raw.name === 'string' ? raw.name : undefined
    const from = ruleName?.replace(/^autogen-(cronjob-)?/, '')
    const line = ruleLine.get(ruleName ?? '') ?? ruleLine.get(from ?? '') ?? policy.line
    if (!ruleName) {
      problem(line, undefined, `spec.rules[${i}].name`, 'expected a rule name')
      return
    }
    const generated = !ruleLine.has(ruleName)
    // A rule autogen made from a broken rule is broken the same way: reported once, for the rule written.
    if (generated && broken.has(from ?? '')) return
    try {
      const rule = compileRule(raw, line, { file, name, failureAction })
      if (generated) rule.autogenFrom = from ?? ruleName
      policy.rules.push(rule)
    } catch (err) {
      if (!(err instanceof RuleError)) throw err
      broken.add(ruleName)
      problem(line, ruleName, err.field, err.message)
    }
  })
  return { policy, problems }
}
