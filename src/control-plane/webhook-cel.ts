/**
 * CEL for webhook matchConditions: the variables the API server declares for them (object, oldObject,
 * request, authorizer), the Kubernetes libraries the policy engine already implements, and the
 * authorizer library backed by the control plane's own RBAC. Compile errors are worded the way
 * cel-go words them, since they reach clients inside 422 answers (setup/invalid-webhook-configuration).
 */
import { Environment } from '@marcbachmann/cel-js'
import { widenHas } from '../policy/admission/cel-go-compat.js'
import { CEL_OPTIONS } from '../policy/cel/environment.js'
import { addKubernetesLibraries } from '../policy/cel/kubernetes-libraries.js'
import { addQuantityLibrary } from '../policy/cel/quantity.js'
import { addStringsExtension } from '../policy/cel/strings-ext.js'

/** What an authorizer check asks: the SubjectAccessReview attributes of the library's builder. */
export interface AuthorizerQuery {
  readonly path?: string
  readonly group: string
  readonly resource: string
  readonly subresource: string
  readonly namespace: string
  readonly name: string
  readonly verb: string
}

export type AuthorizerCheck = (q: AuthorizerQuery) => boolean

class CelAuthorizer {
  constructor(readonly check: AuthorizerCheck) {}
}

class CelAuthorizerTarget {
  constructor(
    readonly authz: CelAuthorizer,
    readonly q: Omit<AuthorizerQuery, 'verb'>,
  ) {}
  with(change: Partial<AuthorizerQuery>): CelAuthorizerTarget {
    return new CelAuthorizerTarget(this.authz, { ...this.q, ...change })
  }
}

class CelDecision {
  constructor(readonly allowed: boolean) {}
}

let shared: Environment | undefined

function environment(): Environment {
  if (shared) return shared
  const env = new Environment(CEL_OPTIONS)
  env.registerType('kubernetes.authorization.Authorizer', CelAuthorizer)
  env.registerType('kubernetes.authorization.Target', CelAuthorizerTarget)
  env.registerType('kubernetes.authorization.Decision', CelDecision)
  for (const name of ['object', 'oldObject', 'request']) env.registerVariable(name, 'dyn')
  env.registerVariable('authorizer', 'kubernetes.authorization.Authorizer')
  const A = 'kubernetes.authorization.Authorizer'
  const T = 'kubernetes.authorization.Target'
  const D = 'kubernetes.authorization.Decision'
  const base = { group: '', resource: '', subresource: '', namespace: '', name: '' }
  env
    .registerFunction(
      `${A}.group(string): ${T}`,
      (a: CelAuthorizer, g: string) => new CelAuthorizerTarget(a, { ...base, group: g }),
    )
    .registerFunction(
      `${A}.path(string): ${T}`,
      (a: CelAuthorizer, p: string) => new CelAuthorizerTarget(a, { ...base, path: p }),
    )
    .registerFunction(`${A}.serviceAccount(string, string): ${A}`, (a: CelAuthorizer) => a)
    .registerFunction(`${T}.resource(string): ${T}`, (t: CelAuthorizerTarget, r: string) =>
      t.with({ resource: r }),
    )
    .registerFunction(`${T}.subresource(string): ${T}`, (t: CelAuthorizerTarget, s: string) =>
      t.with({ subresource: s }),
    )
    .registerFunction(`${T}.namespace(string): ${T}`, (t: CelAuthorizerTarget, n: string) =>
      t.with({ namespace: n }),
    )
    .registerFunction(`${T}.name(string): ${T}`, (t: CelAuthorizerTarget, n: string) => t.with({ name: n }))
    .registerFunction(
      `${T}.check(string): ${D}`,
      (t: CelAuthorizerTarget, verb: string) => new CelDecision(t.authz.check({ ...t.q, verb })),
    )
    .registerFunction(`${D}.allowed(): bool`, (d: CelDecision) => d.allowed)
    .registerFunction(`${D}.errored(): bool`, () => false)
    .registerFunction(`${D}.error(): string`, () => '')
    .registerFunction(`${D}.reason(): string`, () => '')
  shared = addStringsExtension(addQuantityLibrary(addKubernetesLibraries(env)))
  return shared
}

type Program = ReturnType<Environment['parse']>

export interface CompiledCondition {
  readonly program?: Program
  /** cel-go's wording of why the expression does not compile. */
  readonly error?: string
  /** The error is not a compiler's (no "compilation failed:" before it). */
  readonly bare?: boolean
}

/** The set of tokens cel-go's parser expects where an operand is missing. */
const OPERAND_EXPECTED =
  "{'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"

/** cel-go's error layout: `ERROR: <input>:line:col: message`, the source line, and a caret. */
function celGoError(source: string, offset: number, message: string): string {
  const before = source.slice(0, Math.max(0, Math.min(offset, source.length)))
  const line = before.split('\n').length
  const column = before.length - (before.lastIndexOf('\n') + 1)
  const text = source.split('\n')[line - 1] ?? ''
  return `ERROR: <input>:${line}:${column + 1}: ${message}\n | ${text}\n | ${'.'.repeat(column)}^`
}

function positionOf(err: unknown): number {
  const node = (err as { node?: { pos?: unknown } }).node
  return typeof node?.pos === 'number' ? node.pos : 0
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''
}

const cache = new Map<string, CompiledCondition>()

export function compileMatchCondition(expression: string): CompiledCondition {
  const hit = cache.get(expression)
  if (hit) return hit
  let out: CompiledCondition
  try {
    const program = environment().parse(expression)
    widenHas(program.ast)
    const checked = program.check()
    const type = (checked as { type?: unknown }).type
    if (checked.valid && (type === undefined || type === 'bool' || type === 'dyn')) out = { program }
    else if (checked.valid) out = { error: `must evaluate to bool but got ${String(type)}`, bare: true }
    else {
      const msg = firstLine(checked.error)
      const unknown = /^Unknown variable: (\w+)/.exec(msg)?.[1]
      const text = unknown ? `undeclared reference to '${unknown}' (in container '')` : msg
      out = { error: celGoError(expression, positionOf(checked.error), text) }
    }
  } catch (err) {
    const msg = firstLine(err)
    const eof = /^Unexpected token: EOF/.test(msg)
    const text = eof
      ? `Syntax error: mismatched input '<EOF>' expecting ${OPERAND_EXPECTED}`
      : `Syntax error: ${msg}`
    out = { error: celGoError(expression, positionOf(err), text) }
  }
  cache.set(expression, out)
  return out
}

export interface ConditionInput {
  readonly object: unknown
  readonly oldObject: unknown
  readonly request: unknown
  readonly authorizer: AuthorizerCheck
}

/** The value of a compiled condition, or the evaluation error worded as cel-go words it. */
export function evaluateCondition(
  compiled: CompiledCondition,
  input: ConditionInput,
): { value: unknown } | { error: string } {
  if (!compiled.program) return { error: compiled.error ?? 'invalid expression' }
  try {
    return {
      value: compiled.program({
        object: input.object,
        oldObject: input.oldObject,
        request: input.request,
        authorizer: new CelAuthorizer(input.authorizer),
      }),
    }
  } catch (err) {
    const msg = firstLine(err)
    return { error: msg.charAt(0).toLowerCase() + msg.slice(1) }
  }
}
