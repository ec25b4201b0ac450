/**
 * Compiles and evaluates the CEL of an admission policy: match conditions, variables, validations and
 * audit annotations, shared by ValidatingAdmissionPolicy, Kyverno's ValidatingPolicy and Kyverno
 * `validate.cel` rules. Semantics follow the API server (k8s.io/apiserver/pkg/admission/plugin/policy/
 * validating/validator.go and .../cel/filter.go); matching requests to policies and applying
 * failurePolicy and validationActions are the callers' business.
 */
import type { Environment, ParseResult } from '@marcbachmann/cel-js'
import type { PathSegment, Position } from '../../resources/types.js'
import { toCelValue } from '../cel/values.js'
import { celGoHandler, widenHas } from './cel-go-compat.js'
import {
  CostLimitExceeded,
  CostMeter,
  instrumentCost,
  metered,
  PER_CALL_LIMIT,
  RUNTIME_COST_BUDGET,
} from './cost.js'
import { admissionEnvironment } from './environment.js'
import { type AdmissionRequestInfo, celRequest } from './request.js'

export interface NamedExpression {
  name: string
  expression: string
}

export interface ValidationSpec {
  expression: string
  message?: string
  messageExpression?: string
  reason?: string
}

export interface AuditAnnotationSpec {
  key: string
  valueExpression: string
}

export interface CelPolicySpec {
  matchConditions: NamedExpression[]
  variables: NamedExpression[]
  validations: ValidationSpec[]
  auditAnnotations?: AuditAnnotationSpec[]
}

type Section = 'matchConditions' | 'variables' | 'validations' | 'auditAnnotations'

export interface CelPolicyOrigin {
  file: string
  policy: string
  /** e.g. ValidatingAdmissionPolicy */
  kind: string
  /** Where each section sits in the document; `spec.<section>` unless said otherwise. */
  paths?: Partial<Record<Section, PathSegment[]>>
  /** The position of a field of the document, to point compile errors at their line. */
  locate?: (path: readonly PathSegment[]) => Position
}

function fieldName(path: readonly PathSegment[]): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('')
}

/** A policy that cannot be compiled: names the file, line, policy and field, and the CEL error. */
export class CelPolicyError extends Error {
  readonly field: string
  readonly line: number | undefined

  constructor(
    readonly origin: CelPolicyOrigin,
    readonly path: readonly PathSegment[],
    readonly problem: string,
  ) {
    const line = origin.locate?.(path).line
    const where = line === undefined ? origin.file : `${origin.file}:${line}`
    super(`${where}: ${origin.kind} '${origin.policy}': ${fieldName(path)}: ${problem}`)
    this.name = 'CelPolicyError'
    this.field = fieldName(path)
    this.line = line
  }
}

/** A policy that uses something offline evaluation cannot offer (the API server's authorizer, a cluster lookup). */
export class UnsupportedFeatureError extends CelPolicyError {
  constructor(
    origin: CelPolicyOrigin,
    path: readonly PathSegment[],
    readonly feature: string,
    reason: string,
  ) {
    super(origin, path, `uses ${feature}, which is not supported: ${reason}`)
    this.name = 'UnsupportedFeatureError'
  }
}

/**
 * Thrown by a library function that needs data offline evaluation was not given (a cluster's resources,
 * an image registry): the expression's result is unknown, not an error of the policy.
 */
export class MissingExternalData extends Error {
  constructor(readonly reason: string) {
    super(reason)
    this.name = 'MissingExternalData'
  }
}

/** Variables a policy may name that exist in a cluster but not here, with the reason. */
export type Unavailable = Readonly<Record<string, string>>

export const KUBERNETES_UNAVAILABLE: Unavailable = {
  authorizer: "authorization checks need the API server's authorizer, which is not available offline",
}

/** Where the dialects of admission CEL differ. */
export interface CelPolicyDialect {
  /** The message of a failed validation that has no usable messageExpression or message. */
  defaultMessage(expression: string, index: number): string
  /** A validation that returns something other than a bool: the API server denies, Kyverno errs. */
  nonBoolean: 'fail' | 'error'
  unavailable: Unavailable
  /** The environment expressions compile in (default: the API server's, see environment.ts). */
  environment?: () => Environment
  /** How a resource's JSON becomes a CEL value (default: toCelValue, explicit nulls dropped). */
  toValue?: (value: unknown) => unknown
  /** Turns an expression into what the environment parses (mutations' object constructions). */
  rewrite?: (source: string) => string
}

export const KUBERNETES_DIALECT: CelPolicyDialect = {
  defaultMessage: (expression) => `failed expression: ${expression.trim()}`,
  nonBoolean: 'fail',
  unavailable: KUBERNETES_UNAVAILABLE,
}

export interface AdmissionInput {
  /** Plain JSON; null on DELETE. */
  object: Record<string, unknown> | null
  /** Plain JSON; null on CREATE. */
  oldObject: Record<string, unknown> | null
  request: AdmissionRequestInfo
  /** The parameter resource of the binding; null when the policy has no paramKind or the binding no paramRef. */
  params?: Record<string, unknown> | null
  /** The namespace of a namespaced request; null for cluster-scoped ones. */
  namespaceObject?: Record<string, unknown> | null
  /** Further variables the dialect's environment declares (library handles), by name. */
  bindings?: Readonly<Record<string, unknown>>
}

export interface Violation {
  /** index into spec.validations */
  validation: number
  message: string
  reason: string
}

/** An expression that could not be evaluated; failurePolicy decides what it means. */
export interface EvaluationProblem {
  field: string
  message: string
  /** index into spec.validations, when the problem is one validation's */
  validation?: number
  /** set when the expression needed data offline evaluation was not given: why (see MissingExternalData) */
  unsupported?: string
}

export type CelPolicyVerdict =
  | { status: 'skip'; reason: string }
  | { status: 'pass'; auditAnnotations: Record<string, string> }
  | {
      status: 'fail'
      violations: Violation[]
      /** validations (and audit annotations) that erred beside the ones that failed */
      problems: EvaluationProblem[]
      auditAnnotations: Record<string, string>
    }
  | { status: 'error'; message: string; problems: EvaluationProblem[] }

export interface CompiledCelPolicy {
  readonly origin: CelPolicyOrigin
  evaluate(input: AdmissionInput): CelPolicyVerdict
  /** Compiles another expression of the policy (a mutation, a generation) in the same environment. */
  compileExpression(path: PathSegment[], source: string): CompiledExpression
  /** Evaluates the match conditions, then lets the caller run its own expressions one by one. */
  begin(input: AdmissionInput): CelEvaluation
}

/** An evaluation of a policy's own expressions, after its match conditions, against a changing object. */
export interface CelEvaluation {
  /** undefined when every match condition holds; the skip (or error) verdict otherwise */
  readonly unmatched: CelPolicyVerdict | undefined
  run(expr: CompiledExpression): CelOutcome
  /**
   * `object` from now on (a mutation's result). With `freshVariables` the variables are evaluated anew
   * against it, as the API server does for each mutation; otherwise those already evaluated keep their
   * value, as in Kyverno, whose variables are bound once for the policy.
   */
  replaceObject(object: Record<string, unknown>, freshVariables: boolean): void
}

/** The API server refuses longer messageExpression results (celconfig.MaxEvaluatedMessageExpressionSizeBytes). */
const MAX_MESSAGE_BYTES = 5 * 1024
const OUT_OF_BUDGET =
  'validation failed due to running out of cost budget, no further validation rules will be run'

type Program = ParseResult

export interface CompiledExpression {
  source: string
  field: string
  program: Program
}

interface CompiledValidation {
  index: number
  spec: ValidationSpec
  check: CompiledExpression
  messageProgram?: CompiledExpression
}

function celMessage(err: Error): string {
  const [first, ...rest] = err.message.split('\n')
  return [first, ...rest.filter((l) => l.trim() !== '').map((l) => `    ${l}`)].join('\n')
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'error'
}

class Compiler {
  constructor(
    private readonly origin: CelPolicyOrigin,
    private readonly dialect: CelPolicyDialect,
  ) {}

  path(section: Section, index: number, key: string): PathSegment[] {
    return [...(this.origin.paths?.[section] ?? ['spec', section]), index, key]
  }

  compile(path: PathSegment[], source: string): CompiledExpression {
    const env = this.dialect.environment?.() ?? admissionEnvironment()
    let program: Program
    try {
      program = env.parse(this.dialect.rewrite?.(source) ?? source)
    } catch (err) {
      throw new CelPolicyError(this.origin, path, `CEL syntax error: ${celMessage(err as Error)}`)
    }
    widenHas(program.ast)
    const checked = program.check()
    if (!checked.valid) {
      const message = checked.error ? celMessage(checked.error) : 'invalid expression'
      const unknown = /^Unknown variable: (\w+)/.exec(message)?.[1]
      const reason = unknown === undefined ? undefined : this.dialect.unavailable[unknown]
      if (unknown !== undefined && reason !== undefined)
        throw new UnsupportedFeatureError(this.origin, path, `\`${unknown}\``, reason)
      throw new CelPolicyError(this.origin, path, `CEL type error: ${message}`)
    }
    instrumentCost(program.ast, celGoHandler)
    return { source, field: fieldName(path), program }
  }
}

type Activation = Record<string, unknown>

/** A lazily evaluated variable: its value, or the error it raised, remembered for the evaluation. */
type Memo = { value: unknown } | { error: unknown }

function lazyVariables(defs: readonly { name: string; expr: CompiledExpression }[], activation: Activation) {
  const vars: Record<string, unknown> = {}
  for (const def of defs) {
    let memo: Memo | undefined
    Object.defineProperty(vars, def.name, {
      enumerable: true,
      get() {
        if (!memo) {
          try {
            memo = { value: def.expr.program(activation) }
          } catch (error) {
            memo = { error }
          }
        }
        if ('error' in memo) throw memo.error
        return memo.value
      },
    })
  }
  return vars
}

export type CelOutcome = { ok: true; value: unknown } | { ok: false; message: string; unsupported?: string }
type Outcome = CelOutcome

/** Evaluates expressions against one budget, the way the API server's filter does. */
class BudgetedRun {
  private remaining = RUNTIME_COST_BUDGET
  exhausted = false

  constructor(private readonly activation: Activation) {}

  run(expr: CompiledExpression): Outcome {
    const meter = new CostMeter(PER_CALL_LIMIT)
    let outcome: Outcome
    try {
      outcome = { ok: true, value: metered(meter, () => expr.program(this.activation)) }
    } catch (err) {
      const reason = err instanceof CostLimitExceeded ? err.message : errorText(err)
      outcome = { ok: false, message: `expression '${expr.source.trim()}' resulted in error: ${reason}` }
      if (err instanceof MissingExternalData) outcome.unsupported = err.reason
    }
    if (meter.spent > this.remaining) this.exhausted = true
    this.remaining -= meter.spent
    return outcome
  }

  /** What is left, for the message expressions that follow the validations. */
  continueWith(): BudgetedRun {
    const next = new BudgetedRun(this.activation)
    next.remaining = Math.max(this.remaining, 0)
    return next
  }
}

function inputActivation(input: AdmissionInput, toValue: (value: unknown) => unknown): Activation {
  return {
    ...input.bindings,
    object: toValue(input.object),
    oldObject: toValue(input.oldObject),
    request: toCelValue(celRequest(input.request)),
    params: toValue(input.params ?? null),
    namespaceObject: toValue(input.namespaceObject ?? null),
  }
}

/** An expression's failure as a problem, keeping why it could not be evaluated offline. */
function problemOf(
  field: string,
  outcome: { message: string; unsupported?: string },
  message = outcome.message,
): EvaluationProblem {
  return outcome.unsupported === undefined
    ? { field, message }
    : { field, message, unsupported: outcome.unsupported }
}

function usableMessage(value: unknown): string {
  if (typeof value !== 'string') return ''
  const message = value.trim()
  if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES || message.includes('\n')) return ''
  return message
}

class CelPolicy implements CompiledCelPolicy {
  constructor(
    readonly origin: CelPolicyOrigin,
    private readonly dialect: CelPolicyDialect,
    private readonly matchConditions: { name: string; expr: CompiledExpression }[],
    private readonly variables: { name: string; expr: CompiledExpression }[],
    private readonly validations: CompiledValidation[],
    private readonly auditAnnotations: { key: string; expr: CompiledExpression }[],
  ) {}

  compileExpression(path: PathSegment[], source: string): CompiledExpression {
    return new Compiler(this.origin, this.dialect).compile(path, source)
  }

  begin(input: AdmissionInput): CelEvaluation {
    const toValue = this.dialect.toValue ?? toCelValue
    const activation = inputActivation(input, toValue)
    activation.variables = lazyVariables(this.variables, activation)
    const unmatched = this.match(activation)
    const variables = this.variables
    return {
      unmatched,
      // Each mutation has a budget of its own: the API server hands every patcher the whole runtime budget.
      run(expr) {
        const run = new BudgetedRun(activation)
        const outcome = run.run(expr)
        return run.exhausted ? { ok: false, message: OUT_OF_BUDGET } : outcome
      },
      replaceObject(object, freshVariables) {
        activation.object = toValue(object)
        if (freshVariables) activation.variables = lazyVariables(variables, activation)
      },
    }
  }

  evaluate(input: AdmissionInput): CelPolicyVerdict {
    const activation = inputActivation(input, this.dialect.toValue ?? toCelValue)
    activation.variables = lazyVariables(this.variables, activation)
    const skip = this.match(activation)
    if (skip) return skip

    const run = new BudgetedRun(activation)
    const violations: Violation[] = []
    const problems: EvaluationProblem[] = []
    const failed: CompiledValidation[] = []
    for (const v of this.validations) {
      const outcome = run.run(v.check)
      if (run.exhausted) return { status: 'error', message: OUT_OF_BUDGET, problems: [] }
      if (!outcome.ok) problems.push({ ...problemOf(v.check.field, outcome), validation: v.index })
      else if (outcome.value === true) continue
      else if (typeof outcome.value !== 'boolean' && this.dialect.nonBoolean === 'error') {
        problems.push({
          field: v.check.field,
          message: `expression '${v.spec.expression.trim()}' returned ${typeof outcome.value}, not a bool`,
          validation: v.index,
        })
      } else failed.push(v)
    }
    const messages = run.continueWith()
    for (const v of failed) {
      let message = ''
      if (v.messageProgram) {
        const outcome = messages.run(v.messageProgram)
        if (messages.exhausted) {
          problems.push({
            field: v.messageProgram.field,
            message: `failed messageExpression: ${OUT_OF_BUDGET}`,
          })
          continue
        }
        if (outcome.ok) message = usableMessage(outcome.value)
      }
      if (message === '' && v.spec.message) message = v.spec.message.trim()
      if (message === '') message = this.dialect.defaultMessage(v.spec.expression, v.index)
      violations.push({ validation: v.index, message, reason: v.spec.reason || 'Invalid' })
    }

    const auditAnnotations = this.annotate(activation, problems)
    if (violations.length > 0) return { status: 'fail', violations, problems, auditAnnotations }
    if (problems.length > 0) return { status: 'error', message: problems[0]!.message, problems }
    return { status: 'pass', auditAnnotations }
  }

  /**
   * All conditions must be true. One false skips the policy, whatever errors the others raised; errors
   * and no false make an error (the caller's failurePolicy decides).
   */
  private match(activation: Activation): CelPolicyVerdict | undefined {
    const run = new BudgetedRun(activation)
    const problems: EvaluationProblem[] = []
    for (const { name, expr } of this.matchConditions) {
      const outcome = run.run(expr)
      if (run.exhausted) return { status: 'error', message: OUT_OF_BUDGET, problems: [] }
      if (!outcome.ok)
        problems.push(problemOf(expr.field, outcome, `matchCondition '${name}': ${outcome.message}`))
      else if (outcome.value === false) return { status: 'skip', reason: `matchCondition '${name}' is false` }
      else if (outcome.value !== true)
        problems.push({ field: expr.field, message: `matchCondition '${name}' returned a non-bool value` })
    }
    if (problems.length > 0) return { status: 'error', message: problems[0]!.message, problems }
    return undefined
  }

  /** A string value is published (trimmed; empty is left out), null leaves it out, anything else errs. */
  private annotate(activation: Activation, problems: EvaluationProblem[]): Record<string, string> {
    const out: Record<string, string> = {}
    const run = new BudgetedRun(activation)
    for (const { key, expr } of this.auditAnnotations) {
      const outcome = run.run(expr)
      if (run.exhausted) {
        problems.push({ field: expr.field, message: OUT_OF_BUDGET })
        break
      }
      if (!outcome.ok) problems.push(problemOf(expr.field, outcome))
      else if (typeof outcome.value === 'string') {
        const value = outcome.value.trim()
        if (value !== '') out[key] = value
      } else if (outcome.value !== null) {
        problems.push({
          field: expr.field,
          message: `valueExpression '${expr.source}' resulted in unsupported return type: must be either string or null`,
        })
      }
    }
    return out
  }
}

export function compileCelPolicy(
  spec: CelPolicySpec,
  origin: CelPolicyOrigin,
  dialect: CelPolicyDialect = KUBERNETES_DIALECT,
): CompiledCelPolicy {
  const c = new Compiler(origin, dialect)
  const named = (section: 'matchConditions' | 'variables', items: readonly NamedExpression[]) =>
    items.map((item, i) => ({
      name: item.name,
      expr: c.compile(c.path(section, i, 'expression'), item.expression),
    }))
  const validations = spec.validations.map((v, index): CompiledValidation => {
    const compiled: CompiledValidation = {
      index,
      spec: v,
      check: c.compile(c.path('validations', index, 'expression'), v.expression),
    }
    if (v.messageExpression)
      compiled.messageProgram = c.compile(
        c.path('validations', index, 'messageExpression'),
        v.messageExpression,
      )
    return compiled
  })
  const auditAnnotations = (spec.auditAnnotations ?? []).map((a, i) => ({
    key: a.key,
    expr: c.compile(c.path('auditAnnotations', i, 'valueExpression'), a.valueExpression),
  }))
  return new CelPolicy(
    origin,
    dialect,
    named('matchConditions', spec.matchConditions),
    named('variables', spec.variables),
    validations,
    auditAnnotations,
  )
}
