/**
 * Runs a Kyverno policy's validate rules against one resource, with Kyverno's verdicts: a rule that does
 * not match gives no response; preconditions not met, or an element list with nothing to check, give
 * `skip`; a failed pattern or a deny that holds gives `fail` (`warn` when the policy is not scored), and
 * so does a `validate.cel` expression that errs (Kyverno runs those through Kubernetes' validator,
 * whose failure policy is Fail: pkg/engine/handlers/validation/validate_cel.go); a rule Plimsoll cannot
 * run offline gives `unsupported`, never `pass`.
 */
import type { AdmissionInput } from '../admission/cel-policy.js'
import { type AdmissionRequestInfo, requestFor } from '../admission/request.js'
import { OPERATIONS, type Operation } from '../admission/resources.js'
import { isJsonMap } from '../json-map.js'
import type { ExternalData } from './cel/external-data.js'
import { type ConditionBlock, evaluateConditions } from './conditions.js'
import { baseContext, type RequestData, valuesGive, withValues } from './context.js'
import type { ResourceKind } from './kinds.js'
import { type MatchTarget, ruleApplies } from './match.js'
import { expandMetadataWildcards } from './metadata-wildcards.js'
import { matchAnyPattern, matchPattern, type PatternResult } from './pattern.js'
import { evaluatePodSecurity, type PodSecurityChecks } from './pod-security.js'
import type { ContextEntry, ElementCheck, ForEach, KyvernoPolicy, KyvernoRule } from './policy.js'
import { queryContext, substitute } from './substitute.js'

type Json = Record<string, unknown>

export type RuleStatus = 'pass' | 'fail' | 'warn' | 'skip' | 'error' | 'unsupported'

export interface RuleResponse {
  rule: KyvernoRule
  status: RuleStatus
  message: string
  /** where a pattern failed, as Kyverno prints it (`/spec/containers/0/image/`) */
  path?: string
}

export interface PolicyRequest extends RequestData {
  kind: ResourceKind
  namespaceLabels?: Record<string, string>
  namespaceObject?: Json | null
  /** values given for this resource and rule (kyverno test values files), by dotted name */
  values?: (policy: string, rule: string) => Json | undefined
  /** what CEL's cluster and registry libraries read (a kyverno test's context file) */
  data?: ExternalData
  /**
   * Only rules of these types give verdicts: `kyverno test` applies mutate and generate rules apart
   * (mutate/, generate.ts), before and after validation, as the Kyverno CLI does.
   */
  ruleTypes?: ReadonlySet<KyvernoRule['type']>
  /** the request as the API server sent it (the webhook); absent, one is made for the object */
  admission?: AdmissionRequestInfo
}

/** What rules need from outside the policy, handed in by whoever runs them. */
export interface RuleServices {
  /** the Pod Security Standards checks the `podSecurity` subrule is answered with */
  podSecurity?: PodSecurityChecks
}

export interface Outcome {
  status: 'pass' | 'fail' | 'skip' | 'error' | 'unsupported'
  message: string
  path?: string
}

export const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err))

/** The rule's own message with its variables resolved (Kyverno appends the rule and the failing path). */
function ruleMessage(rule: KyvernoRule, ctx: Json): string {
  if (!rule.message) return ''
  try {
    const m = substitute(rule.message, ctx, 'strict')
    return typeof m === 'string' ? m : JSON.stringify(m)
  } catch {
    return rule.message
  }
}

function failureMessage(rule: KyvernoRule, ctx: Json, detail: string): string {
  let msg = ruleMessage(rule, ctx)
  if (msg === '') return `validation error: rule ${rule.name} ${detail}`
  if (!msg.endsWith('.')) msg += '.'
  return `validation error: ${msg} rule ${rule.name} ${detail}`
}

function fromPattern(rule: KyvernoRule, ctx: Json, r: PatternResult): Outcome {
  switch (r.status) {
    case 'pass':
      return { status: 'pass', message: `validation rule '${rule.name}' passed.` }
    case 'skip':
      return { status: 'skip', message: r.reason, path: r.path }
    default:
      return { status: 'fail', message: failureMessage(rule, ctx, `failed at path ${r.path}`), path: r.path }
  }
}

/** Loads the rule's (or foreach's) context entries into a copy of the context. */
export type Loaded = { ok: true; ctx: Json } | { ok: false; outcome: Outcome }

function loadContext(entries: readonly ContextEntry[], ctx: Json, values: Json | undefined): Loaded {
  if (entries.length === 0) return { ok: true, ctx }
  const out = { ...ctx }
  for (const entry of entries) {
    // As `kyverno test` does, a value given for the entry (whole or by dotted keys) stands for it.
    if (valuesGive(values, entry.name)) continue
    if (entry.type === 'external') {
      const message = `context entry '${entry.name}' (${entry.source}) needs a cluster; give its value in a values file`
      return { ok: false, outcome: { status: 'unsupported', message } }
    }
    try {
      let value: unknown = entry.value !== undefined ? substitute(entry.value, out, 'strict') : undefined
      if (entry.jmesPath !== undefined)
        value = queryContext(
          substitute(entry.jmesPath, out, 'strict') as string,
          value === undefined ? out : value,
        )
      if ((value === undefined || value === null) && entry.default !== undefined)
        value = substitute(entry.default, out, 'strict')
      out[entry.name] = value ?? null
    } catch (err) {
      if (entry.default !== undefined) out[entry.name] = entry.default
      else {
        const message = `failed to load context entry '${entry.name}': ${errorText(err)}`
        return { ok: false, outcome: { status: 'error', message } }
      }
    }
  }
  return { ok: true, ctx: out }
}

function conditionsHold(block: unknown, ctx: Json): boolean {
  return evaluateConditions(substitute(block, ctx, 'conditions') as ConditionBlock).ok
}

/**
 * What a rule and a foreach element share, in every kind of rule: load the context entries, then check
 * the preconditions.
 */
export function prepare(
  entries: readonly ContextEntry[],
  preconditions: unknown,
  ctx: Json,
  values: Json | undefined,
): Loaded {
  const loaded = loadContext(entries, ctx, values)
  if (!loaded.ok || preconditions === undefined) return loaded
  try {
    if (conditionsHold(preconditions, loaded.ctx)) return loaded
    return { ok: false, outcome: { status: 'skip', message: 'preconditions not met' } }
  } catch (err) {
    return {
      ok: false,
      outcome: { status: 'error', message: `failed to evaluate preconditions: ${errorText(err)}` },
    }
  }
}

/** A foreach element's context: `element`, `elementIndex`, and the same numbered by nesting level. */
export function elementContext(ctx: Json, element: unknown, index: number, nesting: number): Json {
  return {
    ...ctx,
    element,
    [`element${nesting}`]: element,
    elementIndex: index,
    [`elementIndex${nesting}`]: index,
  }
}

class RuleRun {
  constructor(
    private readonly rule: KyvernoRule,
    private readonly resource: Json,
    private readonly values: Json | undefined,
    private readonly services: RuleServices,
  ) {}

  check(check: ElementCheck, ctx: Json, subject: Json, nesting: number): Outcome {
    const rule = this.rule
    try {
      switch (check.type) {
        case 'pattern':
          return fromPattern(rule, ctx, matchPattern(subject, this.pattern(check.pattern, ctx, subject)))
        case 'anyPattern': {
          const patterns = check.patterns.map((p) => this.pattern(p, ctx, subject))
          return fromPattern(rule, ctx, matchAnyPattern(subject, patterns))
        }
        case 'deny':
          return conditionsHold(check.conditions, ctx)
            ? {
                status: 'fail',
                message: ruleMessage(rule, ctx) || `validation error: rule ${rule.name} failed`,
              }
            : { status: 'pass', message: `validation rule '${rule.name}' passed.` }
        case 'foreach':
          return this.foreach(check.foreach, ctx, subject, nesting)
      }
    } catch (err) {
      return {
        status: 'error',
        message: `validation error: rule ${rule.name} execution error: ${errorText(err)}`,
      }
    }
  }

  /** A pattern ready to match: variables resolved, wildcard label and annotation keys expanded. */
  private pattern(pattern: unknown, ctx: Json, subject: Json): unknown {
    return expandMetadataWildcards(substitute(pattern, ctx, 'strict'), subject)
  }

  private foreach(list: readonly ForEach[], ctx: Json, subject: Json, nesting: number): Outcome {
    let applied = 0
    for (const fe of list) {
      let elements: unknown
      try {
        elements = queryContext(substitute(fe.list, ctx, 'strict') as string, ctx)
      } catch {
        continue // Kyverno skips a list it cannot evaluate
      }
      if (!Array.isArray(elements)) continue
      const { outcome, count } = this.elements(fe, elements, ctx, subject, nesting)
      if (outcome.status !== 'pass') return outcome
      applied += count
    }
    if (applied === 0) return { status: 'skip', message: 'rule skipped' }
    return { status: 'pass', message: 'rule passed' }
  }

  private elements(
    fe: ForEach,
    elements: unknown[],
    ctx: Json,
    subject: Json,
    nesting: number,
  ): { outcome: Outcome; count: number } {
    let count = 0
    for (const [index, element] of elements.entries()) {
      if (element === null || element === undefined) continue
      const scoped = fe.elementScope ?? isJsonMap(element)
      if (scoped && !isJsonMap(element)) {
        return {
          outcome: { status: 'error', message: 'elementScope is true but the element is not a map' },
          count,
        }
      }
      const elementCtx = elementContext(ctx, element, index, nesting)
      const r = this.element(fe, elementCtx, scoped ? (element as Json) : subject, nesting + 1)
      if (r.status === 'skip') continue
      if (r.status === 'error' && index < elements.length - 1) continue
      if (r.status !== 'pass')
        return { outcome: { ...r, message: `validation failure: ${r.message}` }, count }
      count++
    }
    return { outcome: { status: 'pass', message: '' }, count }
  }

  private element(fe: ForEach, ctx: Json, subject: Json, nesting: number): Outcome {
    const prepared = prepare(fe.context, fe.preconditions, ctx, this.values)
    if (!prepared.ok) return prepared.outcome
    return this.check(fe.check, prepared.ctx, subject, nesting)
  }

  run(req: PolicyRequest, ctx: Json): Outcome {
    const rule = this.rule
    const v = rule.validation
    if (v.type === 'unsupported')
      return { status: 'unsupported', message: `${v.unsupported.feature}: ${v.unsupported.reason}` }
    if (rule.celPreconditions) {
      const verdict = rule.celPreconditions.evaluate(admissionInput(req))
      if (verdict.status === 'skip') return { status: 'skip', message: 'cel preconditions not met' }
      if (verdict.status === 'error') return { status: 'error', message: verdict.message }
    }
    const prepared = prepare(rule.context, rule.preconditions, ctx, this.values)
    if (!prepared.ok) return prepared.outcome
    const ruleCtx = prepared.ctx
    switch (v.type) {
      case 'podSecurity': {
        const checks = this.services.podSecurity
        if (!checks)
          return {
            status: 'unsupported',
            message: 'podSecurity: no Pod Security Standards checks were handed in',
          }
        const r = evaluatePodSecurity(v, this.resource, checks)
        return r.ok
          ? { status: 'pass', message: 'pod security checks passed' }
          : { status: 'fail', message: failureMessage(rule, ruleCtx, `failed: ${r.message}`) }
      }
      case 'cel': {
        const verdict = v.policy.evaluate(admissionInput(req))
        switch (verdict.status) {
          case 'skip':
            return { status: 'skip', message: verdict.reason }
          case 'pass':
            return { status: 'pass', message: `validation rule '${rule.name}' passed.` }
          case 'fail':
            return { status: 'fail', message: verdict.violations.map((x) => x.message).join('; ') }
          default:
            return { status: 'fail', message: verdict.message }
        }
      }
      default:
        return this.check(v, ruleCtx, this.resource, 0)
    }
  }
}

/** The admission request the policy would see for this resource (CEL's `request`). */
export function admissionRequestOf(req: PolicyRequest): AdmissionRequestInfo {
  if (req.admission) return req.admission
  return requestFor(req.operation === 'DELETE' && req.oldObject ? req.oldObject : req.object, {
    operation: (OPERATIONS as readonly string[]).includes(req.operation)
      ? (req.operation as Operation)
      : 'CREATE',
    userInfo: { username: req.user.username, groups: req.user.groups },
  })
}

function admissionInput(req: PolicyRequest): AdmissionInput {
  return {
    object: req.operation === 'DELETE' ? null : req.object,
    oldObject: req.oldObject,
    request: admissionRequestOf(req),
    namespaceObject: req.namespaceObject ?? null,
  }
}

/**
 * The request's JSON context, built once per request (every policy of a set sees the same one) and only
 * when a rule applies: `images` walks the pod spec, which most resources never need.
 */
const contexts = new WeakMap<PolicyRequest, Json>()

function contextOf(req: PolicyRequest): Json {
  let ctx = contexts.get(req)
  if (!ctx) {
    ctx = baseContext(req)
    contexts.set(req, ctx)
  }
  return ctx
}

/** One request per operation the values ask for, so that each keeps its cached context. */
const byOperation = new WeakMap<PolicyRequest, Map<string, PolicyRequest>>()

/**
 * The request a rule sees once its values are applied. As `kyverno test` does, `request.operation` in
 * the values sets the operation, and an UPDATE without an old object has the resource itself as its old
 * object (cmd/cli/kubectl-kyverno/processor/policy_processor.go, makePolicyContext).
 */
function ruleRequest(req: PolicyRequest, values: Json | undefined): PolicyRequest {
  const given = values?.['request.operation']
  const operation = typeof given === 'string' ? given : req.operation
  const oldObject = operation === 'UPDATE' && req.oldObject === null ? req.object : req.oldObject
  if (operation === req.operation && oldObject === req.oldObject) return req
  const variants = byOperation.get(req) ?? new Map<string, PolicyRequest>()
  byOperation.set(req, variants)
  const variant = variants.get(operation) ?? { ...req, operation, oldObject }
  variants.set(operation, variant)
  return variant
}

/**
 * The resource the rule validates: Kyverno reads `request.object` back from the context once the values
 * are in, so a value such as `request.object.spec.serviceAccountName` changes what the patterns see.
 */
function objectIn(ctx: Json, fallback: Json): Json {
  const request = ctx.request
  return isJsonMap(request) && isJsonMap(request.object) ? request.object : fallback
}

/** What a rule runs with once it matches: its request (values applied), its context and its values. */
export interface RuleInputs {
  req: PolicyRequest
  ctx: Json
  values: Json | undefined
  /** the resource the rule acts on: `request.object` as the values leave it */
  object: Json
}

/** Whether a policy looks at a resource at all: a namespaced Policy only sees its own namespace. */
export function policySees(policy: KyvernoPolicy, object: Json): boolean {
  const meta = isJsonMap(object.metadata) ? object.metadata : {}
  return policy.namespace === undefined || meta.namespace === policy.namespace
}

/** The rule's inputs when it matches the request (match and exclude blocks), undefined otherwise. */
export function ruleInputs(
  policy: KyvernoPolicy,
  rule: KyvernoRule,
  req: PolicyRequest,
): RuleInputs | undefined {
  const values = req.values?.(policy.name, rule.name)
  const ruleReq = ruleRequest(req, values)
  const target: MatchTarget = {
    object: req.object,
    kind: req.kind,
    operation: ruleReq.operation,
    user: req.user,
  }
  if (req.namespaceLabels) target.namespaceLabels = req.namespaceLabels
  if (!ruleApplies(rule.match, rule.exclude, target)) return undefined
  const ctx = withValues(contextOf(ruleReq), values)
  return { req: ruleReq, ctx, values, object: objectIn(ctx, ruleReq.object) }
}

/** Kyverno's verdict for a policy that is not scored: a failure is a warning. */
export function scoredStatus(policy: KyvernoPolicy, status: RuleStatus): RuleStatus {
  return status === 'fail' && !policy.scored ? 'warn' : status
}

export function applyKyvernoPolicy(
  policy: KyvernoPolicy,
  req: PolicyRequest,
  services: RuleServices = {},
): RuleResponse[] {
  if (!policySees(policy, req.object)) return []
  const out: RuleResponse[] = []
  for (const rule of policy.rules) {
    if (req.ruleTypes && !req.ruleTypes.has(rule.type)) continue
    const inputs = ruleInputs(policy, rule, req)
    if (!inputs) continue
    const outcome = new RuleRun(rule, inputs.object, inputs.values, services).run(inputs.req, inputs.ctx)
    const status = scoredStatus(policy, outcome.status)
    const response: RuleResponse = { rule, status, message: outcome.message }
    if (outcome.path !== undefined) response.path = outcome.path
    out.push(response)
    if (policy.applyRules === 'One' && status !== 'skip') break
  }
  return out
}
