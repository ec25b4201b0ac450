/**
 * The CEL of mutations (MutatingAdmissionPolicy, Kyverno's MutatingPolicy): object construction with a
 * type name, `Object{metadata: Object.metadata{labels: {...}}}` and `JSONPatch{op: "add", path: ...}`,
 * and `jsonpatch.escapeKey` (k8s.io/apiserver/pkg/cel/mutation and pkg/cel/library/jsonpatch.go).
 *
 * cel-js parses no message construction, so expressions are rewritten before they are parsed:
 * `Name.path{f: e, ?g: o}` becomes `__object("Name.path", {"f": dyn(e), "?g": o})`, which builds an
 * ObjectLiteral at run time. The rewrite works on tokens, so strings and comments are left alone, and
 * only where CEL's grammar has a message construction (a qualified name, not a field selection,
 * followed by `{`).
 */
import { type Environment, Optional } from '@marcbachmann/cel-js'
import { escapeJsonPointer } from '../../json-patch.js'

const TYPE_NAME = Symbol('typeName')

/**
 * A value built by `Type.path{...}`. Its fields are its own properties, so that CEL reads them
 * (`patch.op`); its type name is kept apart, where no field can hide it.
 */
export class ObjectLiteral {
  readonly [TYPE_NAME]: string

  constructor(typeName: string, fields: Readonly<Record<string, unknown>>) {
    this[TYPE_NAME] = typeName
    for (const [k, v] of Object.entries(fields))
      Object.defineProperty(this, k, { value: v, enumerable: true, writable: false })
  }
}

export const typeNameOf = (o: ObjectLiteral): string => o[TYPE_NAME]
export const fieldsOf = (o: ObjectLiteral): Readonly<Record<string, unknown>> => ({ ...o })

type Token = { kind: 'ident' | 'string' | 'space' | 'punct' | 'other'; text: string }

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/
const NUMBER = /^(0x[0-9a-fA-F]+u?|\d+(\.\d*)?([eE][+-]?\d+)?u?|\.\d+([eE][+-]?\d+)?)/

/** The end of a string literal starting at `at` (its prefix included), in CEL's quoting rules. */
function stringEnd(source: string, at: number): number {
  let i = at
  while (/[rRbB]/.test(source[i] ?? '')) i++
  const raw = /[rR]/.test(source.slice(at, i))
  const quote = source.startsWith(source[i]!.repeat(3), i) ? source[i]!.repeat(3) : source[i]!
  i += quote.length
  while (i < source.length) {
    if (!raw && source[i] === '\\') {
      i += 2
      continue
    }
    if (source.startsWith(quote, i)) return i + quote.length
    i++
  }
  return source.length
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < source.length) {
    const rest = source.slice(i)
    const ch = source[i]!
    let token: Token
    if (/\s/.test(ch)) token = { kind: 'space', text: /^\s+/.exec(rest)![0] }
    else if (rest.startsWith('//')) token = { kind: 'space', text: /^\/\/[^\n]*/.exec(rest)![0] }
    else if (/^[rRbB]{0,2}["']/.test(rest) && (ch === '"' || ch === "'" || /^[rRbB]{1,2}["']/.test(rest)))
      token = { kind: 'string', text: source.slice(i, stringEnd(source, i)) }
    else if (IDENT.test(rest)) token = { kind: 'ident', text: IDENT.exec(rest)![0] }
    else if (NUMBER.test(rest)) token = { kind: 'other', text: NUMBER.exec(rest)![0] }
    else token = { kind: 'punct', text: ch }
    tokens.push(token)
    i += token.text.length
  }
  return tokens
}

/** Words that may precede `{` without naming a type. */
const RESERVED = new Set(['in', 'true', 'false', 'null', 'as', 'break', 'const', 'continue', 'else'])

class Rewriter {
  constructor(private readonly tokens: Token[]) {}

  private next(i: number): number {
    let j = i
    while (this.tokens[j]?.kind === 'space') j++
    return j
  }

  private previous(i: number): Token | undefined {
    let j = i - 1
    while (this.tokens[j]?.kind === 'space') j--
    return this.tokens[j]
  }

  /** The type name and the index of `{` when a message construction starts at `i`. */
  private construction(i: number): { name: string; brace: number } | undefined {
    const first = this.tokens[i]
    if (first?.kind !== 'ident' || RESERVED.has(first.text)) return undefined
    const before = this.previous(i)
    if (before?.kind === 'punct' && before.text === '.') return undefined
    if (before?.kind === 'ident' && !RESERVED.has(before.text)) return undefined
    const parts = [first.text]
    let j = this.next(i + 1)
    while (this.tokens[j]?.text === '.') {
      const k = this.next(j + 1)
      if (this.tokens[k]?.kind !== 'ident') return undefined
      parts.push(this.tokens[k]!.text)
      j = this.next(k + 1)
    }
    return this.tokens[j]?.text === '{' ? { name: parts.join('.'), brace: j } : undefined
  }

  /** The index of the bracket closing the one at `open`. */
  private closing(open: number): number {
    let depth = 0
    for (let i = open; i < this.tokens.length; i++) {
      const t = this.tokens[i]!
      if (t.kind !== 'punct') continue
      if ('([{'.includes(t.text)) depth++
      else if (')]}'.includes(t.text) && --depth === 0) return i
    }
    throw new Error('unbalanced brackets in a message construction')
  }

  /** The tokens between `from` and `to`, split at the commas of this nesting level. */
  private split(from: number, to: number): [number, number][] {
    const parts: [number, number][] = []
    let depth = 0
    let start = from
    for (let i = from; i < to; i++) {
      const t = this.tokens[i]!
      if (t.kind !== 'punct') continue
      if ('([{'.includes(t.text)) depth++
      else if (')]}'.includes(t.text)) depth--
      else if (t.text === ',' && depth === 0) {
        parts.push([start, i])
        start = i + 1
      }
    }
    if (this.tokens.slice(start, to).some((t) => t.kind !== 'space')) parts.push([start, to])
    return parts
  }

  private field(from: number, to: number, type: string): string {
    let i = this.next(from)
    const optional = this.tokens[i]?.text === '?'
    if (optional) i = this.next(i + 1)
    const name = this.tokens[i]
    const colon = this.next(i + 1)
    if (name?.kind !== 'ident' || this.tokens[colon]?.text !== ':')
      throw new Error(`expected 'field: value' in the construction of ${type}`)
    const value = this.range(colon + 1, to)
    return optional ? `"?${name.text}": ${value}` : `"${name.text}": dyn(${value})`
  }

  range(from: number, to: number): string {
    let out = ''
    for (let i = from; i < to; i++) {
      const found = this.construction(i)
      if (!found) {
        out += this.tokens[i]!.text
        continue
      }
      const end = this.closing(found.brace)
      const fields = this.split(found.brace + 1, end).map(([a, b]) => this.field(a, b, found.name))
      out += `__object(${JSON.stringify(found.name)}, {${fields.join(', ')}})`
      i = end
    }
    return out
  }
}

/** The expression with its message constructions turned into calls cel-js can parse. */
export function rewriteObjectConstructions(source: string): string {
  if (!/[A-Za-z0-9_]\s*\{/.test(source)) return source
  const tokens = tokenize(source)
  return new Rewriter(tokens).range(0, tokens.length)
}

function construct(typeName: string, fields: Map<unknown, unknown> | Record<string, unknown>): ObjectLiteral {
  const entries = fields instanceof Map ? [...fields.entries()] : Object.entries(fields)
  const out: Record<string, unknown> = {}
  for (const [key, value] of entries) {
    const name = String(key)
    if (!name.startsWith('?')) out[name] = value
    else if (value instanceof Optional) {
      if (value.hasValue()) out[name.slice(1)] = value.value()
    } else throw new Error(`optional field '${name.slice(1)}' of ${typeName} needs an optional value`)
  }
  return new ObjectLiteral(typeName, out)
}

/** Kubernetes' jsonpatch library, reached as `jsonpatch.escapeKey(...)`. */
class JsonPatchLibrary {}

export function addMutationLibrary(env: Environment): Environment {
  env.registerType('kubernetes.ObjectLiteral', ObjectLiteral)
  env.registerFunction('__object(string, map): dyn', construct)
  env
    .registerType('kubernetes.jsonpatch', JsonPatchLibrary)
    .registerConstant('jsonpatch', 'kubernetes.jsonpatch', new JsonPatchLibrary())
  env.registerFunction(
    'kubernetes.jsonpatch.escapeKey(string): string',
    (_lib: JsonPatchLibrary, key: string) => escapeJsonPointer(key),
  )
  return env
}

/**
 * An ObjectLiteral as JSON, after checking that each nested literal is named after its field path from
 * the root (`Object.spec{...}` only as the `spec` of `Object{...}`), as the API server checks it.
 */
export function objectLiteralValue(value: unknown, path: readonly string[] = []): unknown {
  if (value instanceof ObjectLiteral) {
    const expected = path.join('.')
    if (path.length > 0 && typeNameOf(value) !== expected)
      throw new Error(
        `type mismatch: unexpected type name "${typeNameOf(value)}", expected "${expected}", which matches field name path from root Object type`,
      )
    const here = path.length > 0 ? path : [typeNameOf(value)]
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(fieldsOf(value))) out[k] = objectLiteralValue(v, [...here, k])
    return out
  }
  if (Array.isArray(value)) return value.map((v) => objectLiteralValue(v, path))
  if (value instanceof Map) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of value) out[String(k)] = objectLiteralValue(v, path)
    return out
  }
  if (value instanceof Optional) throw new Error('an optional value cannot be part of a patch')
  if (typeof value === 'bigint') return Number(value)
  if (value instanceof Date) return value.toISOString().replace('.000Z', 'Z')
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = objectLiteralValue(v, path)
    return out
  }
  return value
}
