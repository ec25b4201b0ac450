/**
 * A faster way through the CEL that checks are mostly made of: field chains, `.?field`, `orValue`,
 * `has`, comparisons, `in`, `size`, the list macros, over the plain objects, arrays and primitives that
 * resources are. cel-js resolves every operation's overload at run time from the operands' types
 * (its variables are `dyn` here); this compiles a checked expression into JavaScript closures that do
 * the one thing the operation means on those values.
 *
 * It is a fast path, never a second implementation: an expression with anything else in it (another
 * function, a bytes or uint literal, a map literal with an odd key) is not compiled, and at run time,
 * wherever cel-js could answer otherwise than the obvious (an operand of another type, a missing key, a
 * number compared with an int, a deep equality, any error at all), the closure gives up and the
 * expression is evaluated again by cel-js, whose answer (value or error) stands. CEL has no side
 * effects, so evaluating again changes nothing but the time. test/unit/cel-fast-path.test.ts compares
 * both on every expression of the library over the corpus, and on expressions built for the edges.
 */
import { Optional } from '@marcbachmann/cel-js'
import type { Program } from '../compile.js'
import { Inventory } from '../inventory.js'
import { LazyVariables } from './lazy-variables.js'
import { Quantity } from './quantity.js'
import { labelsMatch, selectorMatches } from './selectors.js'

/** Thrown to give up; preallocated, so that giving up costs no stack trace. */
const GIVE_UP = new Error('fast path: not here')

function giveUp(): never {
  throw GIVE_UP
}

type Activation = Record<string, unknown>

/** The end of an optional chain that has no value (see Compiler.optionalChain). */
const ABSENT = Symbol('absent')
type Closure = (a: Activation) => unknown

/** The minimal shape of a cel-js AST node (parser.js: ASTNode). */
interface Node {
  op: string
  args: unknown
}

/** An iteration variable of a macro, bound while its body runs. */
interface Binding {
  value: unknown
}

type Scope = ReadonlyMap<string, Binding>

const INT64_MAX = 2n ** 63n - 1n
const INT64_MIN = -(2n ** 63n)

/** A map as cel-js tells one (by its constructor: a map with a `constructor` key is left to it). */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && v.constructor === Object
}

/** `obj.name`: a map's key, or a check's variable. */
function select(obj: unknown, name: string): unknown {
  if (isPlainObject(obj)) {
    if (!Object.hasOwn(obj, name)) giveUp()
    const v = obj[name]
    return v === undefined ? giveUp() : v
  }
  if (obj instanceof LazyVariables && obj.has(name)) {
    const v = obj.get(name)
    return v === undefined ? giveUp() : v
  }
  return giveUp()
}

/** `obj.?name` and `obj[?name]`, on a map or on an optional map. */
function optionalSelect(obj: unknown, name: string): Optional {
  if (obj instanceof Optional) {
    if (!obj.hasValue()) return Optional.none()
    obj = obj.value()
  }
  if (!isPlainObject(obj) || typeof name !== 'string') giveUp()
  if (!Object.hasOwn(obj, name)) return Optional.none()
  const v = obj[name]
  return v === undefined ? giveUp() : Optional.of(v)
}

/** A regular expression for `matches`, made once per pattern, as cel-js makes it (no flags). */
const regexps = new Map<string, RegExp>()

function matches(s: unknown, pattern: unknown): boolean {
  if (typeof s !== 'string' || typeof pattern !== 'string') giveUp()
  let re = regexps.get(pattern)
  if (!re) {
    try {
      re = new RegExp(pattern)
    } catch {
      giveUp()
    }
    if (regexps.size < 1000) regexps.set(pattern, re)
  }
  return re.test(s)
}

/** kubernetes-libraries' `list.indexOf`, where its comparison is plain: a string or a bool among non-numbers. */
function indexOf(list: unknown, x: unknown): bigint {
  if (!Array.isArray(list) || (typeof x !== 'string' && typeof x !== 'boolean')) giveUp()
  for (let i = 0; i < list.length; i++) {
    const item = list[i]
    if (item === x) return BigInt(i)
    if (typeof item === 'bigint' || typeof item === 'number') giveUp()
  }
  return -1n
}

function join(list: unknown, separator: string): string {
  if (!Array.isArray(list)) giveUp()
  for (const item of list) if (typeof item !== 'string') giveUp()
  return list.join(separator)
}

/** `a == b`, where cel-js's answer is plain: null against anything, primitives of the same kind. */
function equals(a: unknown, b: unknown): boolean {
  if (a === null || b === null) {
    const other = a === null ? b : a
    if (other === null) return true
    const t = typeof other
    if (t === 'string' || t === 'boolean' || t === 'bigint' || Array.isArray(other) || isPlainObject(other))
      return false
    return giveUp()
  }
  const ta = typeof a
  const tb = typeof b
  if (ta === tb && (ta === 'string' || ta === 'boolean' || ta === 'bigint')) return a === b
  // Different kinds of primitive are never equal, except an int and a double, which CEL compares.
  const simple = (t: string) => t === 'string' || t === 'boolean' || t === 'bigint'
  if (simple(ta) && simple(tb)) return false
  return giveUp()
}

/** `x in list` and `key in map`. */
function within(x: unknown, collection: unknown): boolean {
  if (Array.isArray(collection)) {
    const tx = typeof x
    if (tx !== 'string' && tx !== 'boolean' && tx !== 'bigint') giveUp()
    for (const item of collection) {
      if (item === x) return true
      const ti = typeof item
      if (
        ti === 'number' ||
        (ti === 'object' && item !== null && !Array.isArray(item) && !isPlainObject(item))
      )
        giveUp()
    }
    return false
  }
  if (isPlainObject(collection) && typeof x === 'string') return Object.hasOwn(collection, x)
  return giveUp()
}

const SURROGATE = /[\uD800-\uDFFF]/

function size(v: unknown): bigint {
  if (typeof v === 'string') return BigInt(SURROGATE.test(v) ? [...v].length : v.length)
  if (Array.isArray(v)) return BigInt(v.length)
  if (isPlainObject(v)) return BigInt(Object.keys(v).length)
  return giveUp()
}

function bool(v: unknown): boolean {
  return typeof v === 'boolean' ? v : giveUp()
}

function int(v: bigint): bigint {
  return v > INT64_MAX || v < INT64_MIN ? giveUp() : v
}

const TYPE_NAMES = new Set(['string', 'int', 'double', 'bool', 'null_type', 'list', 'map'])

/** CEL's name of a JSON value's type. */
function typeName(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return 'string'
    case 'bigint':
      return 'int'
    case 'number':
      return 'double'
    case 'boolean':
      return 'bool'
  }
  if (v === null) return 'null_type'
  if (Array.isArray(v)) return 'list'
  return isPlainObject(v) ? 'map' : giveUp()
}

/** cel-js's `substring`, which counts UTF-16 code units. */
function substring(s: unknown, start: unknown, end: unknown): string {
  if (typeof s !== 'string' || typeof start !== 'bigint' || (end !== undefined && typeof end !== 'bigint'))
    giveUp()
  const from = Number(start)
  const to = end === undefined ? s.length : Number(end)
  if (from < 0 || from > s.length || to < from || to > s.length) giveUp()
  return s.substring(from, to)
}

/** The items a macro ranges over: a list's, or a map's keys. */
function range(v: unknown): readonly unknown[] {
  if (Array.isArray(v)) return v
  if (isPlainObject(v)) return Object.keys(v)
  return giveUp()
}

function compare(op: string, a: unknown, b: unknown): boolean {
  const t = typeof a
  if (t !== typeof b || (t !== 'bigint' && t !== 'number')) giveUp()
  const x = a as number
  const y = b as number
  switch (op) {
    case '<':
      return x < y
    case '<=':
      return x <= y
    case '>':
      return x > y
    default:
      return x >= y
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : giveUp()
}

function quantity(v: unknown): Quantity {
  return v instanceof Quantity ? v : giveUp()
}

/**
 * The functions that checks' own libraries add (environment.ts, quantity.ts, selectors.ts), called as
 * cel-js calls them once it has found the overload: only when the receiver and the arguments are of
 * the declared types.
 */
const METHODS: Record<string, (receiver: unknown, args: unknown[]) => unknown> = {
  substring: (s, [start, end, ...more]) => (more.length > 0 ? giveUp() : substring(s, start, end)),
  value: (o) => (o instanceof Optional && o.hasValue() ? o.value() : giveUp()),
  of: (inv, [kind, ns]) => {
    if (!(inv instanceof Inventory)) giveUp()
    return ns === undefined ? inv.of(str(kind)) : inv.in(str(kind), str(ns))
  },
  named: (inv, [kind, ns, name]) =>
    inv instanceof Inventory ? inv.named(str(kind), str(ns), str(name)) : giveUp(),
  workloads: (inv, [ns]) => (inv instanceof Inventory ? inv.workloads(str(ns)) : giveUp()),
  workloadsLabelled: (inv, [ns, sel]) =>
    inv instanceof Inventory ? inv.workloadsLabelled(str(ns), sel) : giveUp(),
  workloadsSelected: (inv, [ns, sel]) =>
    inv instanceof Inventory ? inv.workloadsSelected(str(ns), sel) : giveUp(),
  hasCustomResources: (inv, [ns]) => (inv instanceof Inventory ? inv.hasCustomResources(str(ns)) : giveUp()),
  sign: (q) => quantity(q).sign(),
  isInteger: (q) => quantity(q).isInteger(),
  asInteger: (q) => quantity(q).asInteger(),
  asApproximateFloat: (q) => quantity(q).asApproximateFloat(),
  isGreaterThan: (q, [other]) => quantity(q).compareTo(quantity(other)) > 0,
  isLessThan: (q, [other]) => quantity(q).compareTo(quantity(other)) < 0,
  add: (q, [other]) => quantity(q).add(typeof other === 'bigint' ? Quantity.of(other) : quantity(other)),
  sub: (q, [other]) => quantity(q).sub(typeof other === 'bigint' ? Quantity.of(other) : quantity(other)),
}

/** The global functions of those libraries, likewise. */
const FUNCTIONS: Record<string, (args: unknown[]) => unknown> = {
  quantity: ([v]) => {
    const t = typeof v
    return t === 'string' || t === 'bigint' || t === 'number' ? Quantity.of(v as string) : giveUp()
  },
  isQuantity: ([v]) => Quantity.parse(str(v)) !== undefined,
  selectorMatches: ([selector, labels]) => selectorMatches(selector, labels),
  labelsMatch: ([selector, labels]) => labelsMatch(selector, labels),
}

function defined(v: unknown): unknown {
  return v === undefined ? giveUp() : v
}

/**
 * A read of each of the engine's activation variables, written out: one property read site per name
 * stays monomorphic, where one site reading every name by key does not.
 */
const ACTIVATION_READS: Record<string, Closure> = {
  object: (a) => defined(a.object),
  podSpec: (a) => defined(a.podSpec),
  podMetadata: (a) => defined(a.podMetadata),
  allContainers: (a) => defined(a.allContainers),
  container: (a) => defined(a.container),
  containerType: (a) => defined(a.containerType),
  variables: (a) => defined(a.variables),
  version: (a) => defined(a.version),
  inventory: (a) => defined(a.inventory),
  usage: (a) => defined(a.usage),
}

class Compiler {
  /** Compiles a node, or returns undefined when the expression is not for the fast path. */
  compile(node: Node, scope: Scope): Closure | undefined {
    const args = node.args
    switch (node.op) {
      case 'value':
        return this.literal(args)
      case 'id':
        return this.identifier(args as string, scope)
      case '.': {
        const [of, name] = args as [Node, string]
        const left = this.compile(of, scope)
        return left && ((a) => select(left(a), name))
      }
      case '.?': {
        const [of, name] = args as [Node, string]
        const left = this.compile(of, scope)
        return left && ((a) => optionalSelect(left(a), name))
      }
      case '[]': {
        const [l, r] = this.all(args as Node[], scope) ?? []
        return l && r && ((a) => index(l(a), r(a)))
      }
      case '[?]': {
        const [l, r] = this.all(args as Node[], scope) ?? []
        return l && r && ((a) => optionalSelect(l(a), r(a) as string))
      }
      case '==':
      case '!=': {
        const typeTest = this.typeTest(args as [Node, Node], scope)
        if (typeTest) return node.op === '==' ? typeTest : (a) => !typeTest(a)
        const [l, r] = this.all(args as Node[], scope) ?? []
        if (!l || !r) return undefined
        return node.op === '==' ? (a) => equals(l(a), r(a)) : (a) => !equals(l(a), r(a))
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const op = node.op
        const [l, r] = this.all(args as Node[], scope) ?? []
        return l && r && ((a) => compare(op, l(a), r(a)))
      }
      case 'in': {
        const [l, r] = this.all(args as Node[], scope) ?? []
        return l && r && ((a) => within(l(a), r(a)))
      }
      case '+': {
        const [l, r] = this.all(args as Node[], scope) ?? []
        return l && r && ((a) => plus(l(a), r(a)))
      }
      case '*': {
        const [l, r] = this.all(args as Node[], scope) ?? []
        return (
          l &&
          r &&
          ((a) => {
            const x = l(a)
            const y = r(a)
            if (typeof x === 'bigint' && typeof y === 'bigint') return int(x * y)
            return typeof x === 'number' && typeof y === 'number' ? x * y : giveUp()
          })
        )
      }
      case '-': {
        const [l, r] = this.all(args as Node[], scope) ?? []
        return (
          l &&
          r &&
          ((a) => {
            const x = l(a)
            const y = r(a)
            return typeof x === 'bigint' && typeof y === 'bigint' ? int(x - y) : giveUp()
          })
        )
      }
      case '&&':
      case '||': {
        const [l, r] = this.all(args as Node[], scope) ?? []
        if (!l || !r) return undefined
        // CEL's logic absorbs an error on one side when the other decides; an error gives up here, so
        // only a decided left side short-circuits.
        return node.op === '&&' ? (a) => bool(l(a)) && bool(r(a)) : (a) => bool(l(a)) || bool(r(a))
      }
      case '!_': {
        const operand = this.compile(args as Node, scope)
        return operand && ((a) => !bool(operand(a)))
      }
      case '?:': {
        const [c, t, f] = this.all(args as Node[], scope) ?? []
        return c && t && f && ((a) => (bool(c(a)) ? t(a) : f(a)))
      }
      case 'list': {
        const items = this.all(args as Node[], scope)
        return items && ((a) => items.map((item) => item(a)))
      }
      case 'map':
        return this.mapLiteral(args as [Node, Node][], scope)
      case 'call':
        return this.call(args as [string, Node[]], scope)
      case 'rcall':
        return this.receiverCall(args as [string, Node, Node[]], scope)
      default:
        return undefined
    }
  }

  /** `type(x) == string` and the like, for the types that JSON values have. */
  private typeTest([l, r]: [Node, Node], scope: Scope): Closure | undefined {
    const [call, name] = l.op === 'call' ? [l, r] : [r, l]
    if (call.op !== 'call' || name.op !== 'id') return undefined
    const [fn, callArgs] = call.args as [string, Node[]]
    const type = name.args as string
    if (fn !== 'type' || callArgs.length !== 1 || !TYPE_NAMES.has(type) || scope.has(type)) return undefined
    const value = this.compile(callArgs[0]!, scope)
    return value && ((a) => typeName(value(a)) === type)
  }

  private all(nodes: readonly Node[], scope: Scope): Closure[] | undefined {
    const out: Closure[] = []
    for (const n of nodes) {
      const c = this.compile(n, scope)
      if (!c) return undefined
      out.push(c)
    }
    return out
  }

  private literal(value: unknown): Closure | undefined {
    const t = typeof value
    if (value === null || t === 'string' || t === 'boolean' || t === 'bigint' || t === 'number')
      return () => value
    return undefined
  }

  private identifier(name: string, scope: Scope): Closure {
    const bound = scope.get(name)
    if (bound) return () => bound.value
    return Object.hasOwn(ACTIVATION_READS, name) ? ACTIVATION_READS[name]! : (a) => defined(a[name])
  }

  private mapLiteral(entries: readonly [Node, Node][], scope: Scope): Closure | undefined {
    const keys: string[] = []
    const values: Closure[] = []
    for (const [k, v] of entries) {
      // cel-js skips some keys of a map literal and refuses others: only plain, distinct string keys here.
      if (k.op !== 'value' || typeof k.args !== 'string') return undefined
      const key = k.args
      if (key === '__proto__' || key === 'constructor' || key === 'prototype' || keys.includes(key))
        return undefined
      const value = this.compile(v, scope)
      if (!value) return undefined
      keys.push(key)
      values.push(value)
    }
    return (a) => {
      const out: Record<string, unknown> = {}
      for (let i = 0; i < keys.length; i++) out[keys[i]!] = values[i]!(a)
      return out
    }
  }

  private call([name, argNodes]: [string, Node[]], scope: Scope): Closure | undefined {
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined
    if (fn) {
      const args = this.all(argNodes, scope)
      return args && ((a) => fn(args.map((arg) => arg(a))))
    }
    if (argNodes.length !== 1) return undefined
    const arg = argNodes[0]!
    if (name === 'has') {
      if (arg.op !== '.') return undefined
      const [of, field] = arg.args as [Node, string]
      const obj = this.compile(of, scope)
      return (
        obj &&
        ((a) => {
          const o = obj(a)
          return isPlainObject(o) ? Object.hasOwn(o, field) : giveUp()
        })
      )
    }
    const value = this.compile(arg, scope)
    if (!value) return undefined
    if (name === 'size') return (a) => size(value(a))
    if (name === 'string')
      return (a) => {
        const v = value(a)
        return typeof v === 'string' ? v : typeof v === 'bigint' ? v.toString() : giveUp()
      }
    return undefined
  }

  private receiverCall(
    [name, receiverNode, argNodes]: [string, Node, Node[]],
    scope: Scope,
  ): Closure | undefined {
    const receiver = this.compile(receiverNode, scope)
    if (!receiver) return undefined
    if (name === 'exists' || name === 'all' || name === 'filter' || name === 'map')
      return this.macro(name, receiver, argNodes, scope)
    const args = this.all(argNodes, scope)
    if (!args) return undefined
    // Arguments are evaluated before the call, as cel-js does: an argument's error is the call's.
    const method = Object.hasOwn(METHODS, name) ? METHODS[name] : undefined
    if (method)
      return (a) => {
        const r = receiver(a)
        return method(
          r,
          args.map((arg) => arg(a)),
        )
      }
    if (args.length === 0) {
      switch (name) {
        case 'size':
          return (a) => size(receiver(a))
        case 'hasValue': {
          const chain = this.optionalChain(receiverNode, scope)
          if (chain) return (a) => chain(a) !== ABSENT
          return (a) => {
            const o = receiver(a)
            return o instanceof Optional ? o.hasValue() : giveUp()
          }
        }
        // cel-js's own, which are not ASCII-only
        case 'upperAscii':
          return (a) => str(receiver(a)).toUpperCase()
        case 'lowerAscii':
          return (a) => str(receiver(a)).toLowerCase()
        case 'join':
          return (a) => join(receiver(a), '')
        // kubernetes-libraries'
        case 'flatten':
          return (a) => {
            const l = receiver(a)
            return Array.isArray(l) ? l.flat(1) : giveUp()
          }
        default:
          return undefined
      }
    }
    if (args.length !== 1) return undefined
    const arg = args[0]!
    if (name === 'orValue') {
      const chain = this.optionalChain(receiverNode, scope)
      if (chain)
        return (a) => {
          const v = chain(a)
          const fallback = arg(a)
          return v === ABSENT ? fallback : v
        }
    }
    switch (name) {
      case 'matches':
        return (a) => matches(receiver(a), arg(a))
      case 'indexOf':
        return (a) => indexOf(receiver(a), arg(a))
      case 'join':
        return (a) => join(receiver(a), str(arg(a)))
      case 'split':
        return (a) => {
          const s = str(receiver(a))
          const separator = str(arg(a))
          return separator === '' ? giveUp() : s.split(separator)
        }
    }
    if (name === 'orValue')
      return (a) => {
        const o = receiver(a)
        const fallback = arg(a)
        return o instanceof Optional ? o.orValue(fallback) : giveUp()
      }
    if (name === 'startsWith' || name === 'endsWith' || name === 'contains')
      return (a) => {
        const s = receiver(a)
        const x = arg(a)
        if (typeof s !== 'string' || typeof x !== 'string') giveUp()
        return name === 'startsWith' ? s.startsWith(x) : name === 'endsWith' ? s.endsWith(x) : s.includes(x)
      }
    return undefined
  }

  /**
   * `x.?a.?b` (or `x[?k]`) read through as one: the value at its end, or ABSENT, without the optional
   * each step would make. The keys are all evaluated, as each step would evaluate its own.
   */
  private optionalChain(node: Node, scope: Scope): ((a: Activation) => unknown) | undefined {
    const keys: Closure[] = []
    const fixed: string[] = []
    while (node.op === '.?' || node.op === '[?]') {
      const [of, key] = node.args as [Node, Node | string]
      const k = typeof key === 'string' ? () => key : this.compile(key, scope)
      if (!k) return undefined
      keys.unshift(k)
      if (typeof key === 'string') fixed.unshift(key)
      node = of
    }
    if (keys.length === 0) return undefined
    const root = this.compile(node, scope)
    if (!root) return undefined
    const allFixed = fixed.length === keys.length
    return (a) => {
      let v = root(a)
      const names = allFixed ? fixed : keys.map((k) => k(a))
      if (v instanceof Optional) {
        if (!v.hasValue()) return ABSENT
        v = v.value()
      }
      for (const name of names) {
        if (!isPlainObject(v) || typeof name !== 'string') giveUp()
        if (!Object.hasOwn(v, name)) return ABSENT
        v = v[name]
        if (v === undefined) giveUp()
      }
      return v
    }
  }

  private macro(name: string, receiver: Closure, argNodes: Node[], scope: Scope): Closure | undefined {
    if (argNodes.length !== 2 || argNodes[0]!.op !== 'id') return undefined
    const binding: Binding = { value: undefined }
    const inner = new Map(scope)
    inner.set(argNodes[0]!.args as string, binding)
    const body = this.compile(argNodes[1]!, inner)
    if (!body) return undefined
    switch (name) {
      case 'exists':
        return (a) => {
          for (const item of range(receiver(a))) {
            binding.value = item
            if (bool(body(a))) return true
          }
          return false
        }
      case 'all':
        return (a) => {
          for (const item of range(receiver(a))) {
            binding.value = item
            if (!bool(body(a))) return false
          }
          return true
        }
      case 'filter':
        return (a) => {
          const out: unknown[] = []
          for (const item of range(receiver(a))) {
            binding.value = item
            if (bool(body(a))) out.push(item)
          }
          return out
        }
      default:
        return (a) => {
          const out: unknown[] = []
          for (const item of range(receiver(a))) {
            binding.value = item
            out.push(body(a))
          }
          return out
        }
    }
  }
}

function index(collection: unknown, key: unknown): unknown {
  if (Array.isArray(collection) && typeof key === 'bigint') {
    if (key < 0n || key >= BigInt(collection.length)) giveUp()
    return collection[Number(key)]
  }
  if (isPlainObject(collection) && typeof key === 'string') return select(collection, key)
  return giveUp()
}

function plus(x: unknown, y: unknown): unknown {
  if (typeof x === 'string' && typeof y === 'string') return x + y
  if (typeof x === 'bigint' && typeof y === 'bigint') return int(x + y)
  if (Array.isArray(x) && Array.isArray(y)) return [...x, ...y]
  return giveUp()
}

/**
 * The program, with a fast path in front of cel-js's when the expression allows one. `ast` is the
 * checked AST of `program` (cel-js's `parse(...).ast`).
 */
export function withFastPath(ast: unknown, program: Program): Program {
  const fast = new Compiler().compile(ast as Node, new Map())
  if (!fast) return program
  return (activation) => {
    try {
      return fast(activation)
    } catch {
      return program(activation)
    }
  }
}

/** Whether an expression's AST has a fast path (for the tests' coverage figures). */
export function hasFastPath(ast: unknown): boolean {
  return new Compiler().compile(ast as Node, new Map()) !== undefined
}
