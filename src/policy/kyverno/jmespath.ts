/**
 * JMESPath as Kyverno evaluates it. Kyverno runs its own fork of go-jmespath, which differs from the
 * specification where policies notice: naming a key an object lacks is an error (`Unknown key "labels"
 * in path`), not null, unless something absorbs it: the left side of `||` (the documented
 * `{{ a.b || '' }}` idiom), or a projection or filter stepping over elements that lack the key.
 * Expressions are parsed by @jmespath-community/jmespath and interpreted here; syntax beyond go-jmespath
 * (`let`, arithmetic operators, `$`, ternaries) and functions neither it nor Kyverno define are refused.
 */
import { compile, TreeInterpreter } from '@jmespath-community/jmespath'
import { isObject, jsonType, KYVERNO_FUNCTIONS } from './functions.js'

type Node = ReturnType<typeof compile>

export type JmesPathErrorKind = 'syntax' | 'unknown-key' | 'evaluation'

export class JmesPathError extends Error {
  override readonly name = 'JmesPathError'
  constructor(
    message: string,
    readonly kind: JmesPathErrorKind,
    readonly expression: string,
  ) {
    super(`${message} (in JMESPath '${expression}')`)
  }
}

export type JmesProgram = (data: unknown) => unknown

/** go-jmespath's built-in functions; the community library implements them the same way. */
const BUILTINS = new Set([
  'abs',
  'avg',
  'ceil',
  'contains',
  'ends_with',
  'floor',
  'join',
  'keys',
  'length',
  'map',
  'max',
  'max_by',
  'merge',
  'min',
  'min_by',
  'not_null',
  'reverse',
  'sort',
  'sort_by',
  'starts_with',
  'to_array',
  'to_number',
  'type',
  'values',
])

const UNSUPPORTED_NODES = new Set([
  'LetExpression',
  'Binding',
  'Variable',
  'Ternary',
  'Arithmetic',
  'Unary',
  'Root',
])

class UnknownKey extends Error {
  constructor(readonly key: string) {
    super(`Unknown key "${key}" in path`)
  }
}

/** JMESPath falsiness: null, false, and empty strings, arrays and objects. */
function isFalse(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === '') return true
  if (Array.isArray(value)) return value.length === 0
  return isObject(value) && Object.keys(value).length === 0
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a)
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    )
  }
  return false
}

/** Go's `encoding/json`: sorted keys, `<`, `>`, `&`, U+2028 and U+2029 escaped. */
export function goJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted)
    if (!isObject(v)) return v
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted(v[k])]),
    )
  }
  const escapes: Record<string, string> = {
    '<': '\\u003c',
    '>': '\\u003e',
    '&': '\\u0026',
    '\u2028': '\\u2028',
    '\u2029': '\\u2029',
  }
  return (JSON.stringify(sorted(value ?? null)) ?? 'null').replace(
    /[<>&\u2028\u2029]/g,
    (c) => escapes[c] ?? c,
  )
}

function checkArguments(name: string, args: readonly unknown[], spec: readonly (readonly string[])[]): void {
  if (args.length !== spec.length)
    throw new Error(`Invalid arity: ${name}() takes ${spec.length} argument(s) but received ${args.length}`)
  args.forEach((arg, i) => {
    const allowed = spec[i] ?? []
    const actual = jsonType(arg)
    if (!allowed.includes('any') && !allowed.includes(actual))
      throw new Error(
        `Invalid type: ${name}() expected argument ${i + 1} to be ${allowed.join(' | ')} but got ${actual}`,
      )
  })
}

function callFunction(name: string, args: unknown[]): unknown {
  const kyverno = KYVERNO_FUNCTIONS.get(name)
  if (kyverno) {
    checkArguments(name, args, kyverno.args)
    return kyverno.call(args)
  }
  if (name === 'to_string') {
    checkArguments(name, args, [['any']])
    return typeof args[0] === 'string' ? args[0] : goJson(args[0])
  }
  return TreeInterpreter.runtime.callFunction(
    name,
    args as Parameters<typeof TreeInterpreter.runtime.callFunction>[1],
  )
}

function slice(items: readonly unknown[], node: Extract<Node, { type: 'Slice' }>): unknown[] {
  const step = node.step ?? 1
  if (step === 0) throw new Error('Invalid slice, step cannot be 0')
  const n = items.length
  const cap = (v: number, low: number, high: number) => Math.min(Math.max(v < 0 ? v + n : v, low), high)
  const start =
    node.start === null ? (step < 0 ? n - 1 : 0) : cap(node.start, step < 0 ? -1 : 0, step < 0 ? n - 1 : n)
  const stop =
    node.stop === null ? (step < 0 ? -1 : n) : cap(node.stop, step < 0 ? -1 : 0, step < 0 ? n - 1 : n)
  const out: unknown[] = []
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(items[i])
  return out
}

/** Evaluates where a missing key means "nothing here" rather than an error. */
function tolerant(node: Node, value: unknown): unknown {
  try {
    return visit(node, value)
  } catch (e) {
    if (e instanceof UnknownKey) return null
    throw e
  }
}

function project(items: readonly unknown[], node: Node): unknown[] {
  const out: unknown[] = []
  for (const item of items) {
    const v = tolerant(node, item)
    if (v !== null && v !== undefined) out.push(v)
  }
  return out
}

function visit(node: Node, value: unknown): unknown {
  switch (node.type) {
    case 'Field': {
      if (!isObject(value)) return null
      if (!Object.hasOwn(value, node.name)) throw new UnknownKey(node.name)
      return value[node.name] ?? null
    }
    case 'Subexpression': {
      const left = visit(node.left, value)
      return left === null || left === undefined ? null : visit(node.right, left)
    }
    case 'IndexExpression':
    case 'Pipe':
      return visit(node.right, visit(node.left, value))
    case 'Index': {
      if (!Array.isArray(value)) return null
      return value[node.value < 0 ? value.length + node.value : node.value] ?? null
    }
    case 'Slice':
      return Array.isArray(value) ? slice(value, node) : null
    case 'Projection': {
      const base = visit(node.left, value)
      return Array.isArray(base) ? project(base, node.right) : null
    }
    case 'ValueProjection': {
      const base = visit(node.left, value)
      return isObject(base) ? project(Object.values(base), node.right) : null
    }
    case 'FilterProjection': {
      const base = visit(node.left, value)
      if (!Array.isArray(base)) return null
      return project(
        base.filter((item) => !isFalse(tolerant(node.condition, item))),
        node.right,
      )
    }
    case 'Flatten': {
      const base = visit(node.child, value)
      return Array.isArray(base) ? base.flatMap((item) => (Array.isArray(item) ? item : [item])) : null
    }
    case 'Comparator': {
      const [a, b] = [visit(node.left, value), visit(node.right, value)]
      if (node.name === 'EQ') return deepEqual(a, b)
      if (node.name === 'NE') return !deepEqual(a, b)
      if (typeof a !== 'number' || typeof b !== 'number') return null
      if (node.name === 'GT') return a > b
      if (node.name === 'GTE') return a >= b
      if (node.name === 'LT') return a < b
      return a <= b
    }
    case 'OrExpression': {
      // Kyverno's go-jmespath fork passes over missing keys on both sides of `||`: a policy's
      // `{{ a.x || b.x }}` is null when neither is set (karpenter/set-karpenter-non-cpu-limits expects it).
      const left = tolerant(node.left, value)
      return isFalse(left) ? tolerant(node.right, value) : left
    }
    case 'AndExpression': {
      const left = visit(node.left, value)
      return isFalse(left) ? left : visit(node.right, value)
    }
    case 'NotExpression':
      return isFalse(visit(node.child, value))
    case 'Literal':
      return node.value
    case 'Current':
    case 'Identity':
      return value
    // Kyverno's own policies select optional lists this way (`spec.[initContainers, containers][]`):
    // a member that is absent is null, as in standard JMESPath, not an unknown key.
    case 'MultiSelectList':
      return value === null || value === undefined ? null : node.children.map((c) => tolerant(c, value))
    case 'MultiSelectHash':
      return value === null || value === undefined
        ? null
        : Object.fromEntries(node.children.map((c) => [c.name, tolerant(c.value, value)]))
    case 'Function':
      return callFunction(
        node.name,
        node.children.map((c) =>
          c.type === 'ExpressionReference' ? { expref: true, ...c.child } : visit(c, value),
        ),
      )
    default:
      throw new Error(`unsupported expression node ${node.type}`)
  }
}

/** Rejects, before any data is seen, what go-jmespath would not parse or could not call. */
function checkSupported(node: unknown): void {
  if (Array.isArray(node)) {
    for (const child of node) checkSupported(child)
    return
  }
  if (!isObject(node)) return
  const type = node.type
  if (typeof type === 'string' && UNSUPPORTED_NODES.has(type)) throw new Error(`unsupported syntax (${type})`)
  if (type === 'Function') {
    const name = String(node.name)
    if (!BUILTINS.has(name) && name !== 'to_string' && !KYVERNO_FUNCTIONS.has(name))
      throw new Error(`unknown function: ${name}()`)
  }
  if (type === 'Literal') return
  for (const child of Object.values(node)) checkSupported(child)
}

function parse(expression: string): Node {
  try {
    const ast = compile(expression)
    checkSupported(ast)
    return ast
  } catch (e) {
    throw new JmesPathError((e as Error).message, 'syntax', expression)
  }
}

const cache = new Map<string, JmesProgram>()

export function compileJmesPath(expression: string): JmesProgram {
  const cached = cache.get(expression)
  if (cached) return cached
  const ast = parse(expression)
  const program: JmesProgram = (data) => {
    try {
      return visit(ast, data ?? null)
    } catch (e) {
      if (e instanceof UnknownKey) throw new JmesPathError(e.message, 'unknown-key', expression)
      throw new JmesPathError((e as Error).message, 'evaluation', expression)
    }
  }
  cache.set(expression, program)
  return program
}
