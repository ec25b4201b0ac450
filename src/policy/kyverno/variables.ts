/**
 * Kyverno's `{{ }}` substitution (pkg/engine/variables/vars.go). Every string in a document, keys
 * included, is scanned for variables; the innermost are resolved first, so `{{ a.{{ b }} }}` reads `b`,
 * then looks the result up. A string that is one variable and nothing else takes the variable's value
 * with its type; a variable inside longer text is spliced in as the string itself or, for any other
 * value, as Go's JSON encoding of it. `\{{ }}` is left alone and loses its backslash.
 */

import { isJsonMap } from '../json-map.js'
import { compileJmesPath, goJson, JmesPathError } from './jmespath.js'

export class VariableError extends Error {
  override readonly name = 'VariableError'
  constructor(
    /** The variable's text, as written between the braces. */
    readonly variable: string,
    readonly path: string,
    reason: string,
  ) {
    super(`failed to resolve ${variable} at path ${path}: ${reason}`)
  }
}

/**
 * What a reference to a key the data lacks (`Unknown key "labels" in path`) does.
 * - `fail`: the substitution fails. Kyverno's default resolver does this everywhere, preconditions and
 *   deny conditions included; the engine then reports the rule as an error (or, for preconditions in
 *   Kyverno before 1.11, skips it).
 * - `null`: the reference resolves to null, as Kyverno's preconditions resolver did from v1.4.2 ("nil
 *   value assigned to variable"); whole-string references become null, embedded ones the text `null`.
 */
export type MissingKeyMode = 'fail' | 'null'

export interface SubstituteOptions {
  readonly missingKey?: MissingKeyMode
  /**
   * Where `value` sits in the rule, as JSON-pointer segments from the rule (e.g. `['validate',
   * 'pattern']`), so that `{{@}}` can name the resource field at the same place: Kyverno drops everything
   * up to a `foreach`, then two segments (`validate/pattern`, `mutate/patchStrategicMerge`), and reads
   * the rest under `request.object` (or `target` when the data has one).
   */
  readonly path?: readonly (string | number)[]
}

/** An unescaped variable: `{{`, then text with at most one level of `{ }` inside, then `}}`. */
const VARIABLE = /(?<!\\)\{\{(?:\{[^{}]*\}|[^{}])*\}\}/g
const ESCAPED_VARIABLE = /\\(\{\{(?:\{[^{}]*\}|[^{}])*\}\})/g
/** More rounds than any real nesting; guards against values that keep producing new variables. */
const MAX_ROUNDS = 100

export function hasVariables(value: unknown): boolean {
  if (typeof value === 'string') return new RegExp(VARIABLE.source).test(value)
  if (Array.isArray(value)) return value.some(hasVariables)
  if (isJsonMap(value)) return Object.entries(value).some(([k, v]) => hasVariables(k) || hasVariables(v))
  return false
}

function pointer(path: readonly (string | number)[]): string {
  return `/${path.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`
}

/** A JSON-pointer as JMESPath: indexes in brackets, keys that are not identifiers quoted. */
function jmesPathOf(segments: readonly (string | number)[]): string {
  return segments
    .map((s, i) => {
      if (typeof s === 'number' || /^\d+$/.test(s)) return `[${s}]`
      const key = /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : JSON.stringify(s)
      return i === 0 ? key : `.${key}`
    })
    .join('')
}

/** `{{@}}`: the resource field at the same place as the variable in the rule. */
function currentFieldPath(path: readonly (string | number)[], data: Record<string, unknown>): string {
  const afterForeach = path.lastIndexOf('foreach')
  const relative = path.slice(afterForeach + 1).slice(2)
  const prefix = Object.hasOwn(data, 'target') ? ['target'] : ['request', 'object']
  return jmesPathOf([...prefix, ...relative])
}

function isDeleteRequest(data: Record<string, unknown>): boolean {
  return isJsonMap(data.request) && data.request.operation === 'DELETE'
}

class Substitution {
  constructor(
    private readonly data: Record<string, unknown>,
    private readonly missingKey: MissingKeyMode,
  ) {}

  walk(value: unknown, path: readonly (string | number)[]): unknown {
    if (typeof value === 'string') return this.text(value, path)
    if (Array.isArray(value)) return value.map((v, i) => this.walk(v, [...path, i]))
    if (!isJsonMap(value)) return value
    const out: Record<string, unknown> = {}
    for (const [key, v] of Object.entries(value)) {
      const newKey = this.text(key, [...path, key])
      out[typeof newKey === 'string' ? newKey : goJson(newKey)] = this.walk(v, [...path, key])
    }
    return out
  }

  private text(original: string, path: readonly (string | number)[]): unknown {
    // Most strings of a policy hold no variable: a scan substitutes each overlay once per resource.
    if (!original.includes('{{')) return original
    let text = original
    for (let round = 0; ; round++) {
      const found = [...text.matchAll(VARIABLE)]
      if (found.length === 0) break
      if (round === MAX_ROUNDS) throw new VariableError(text, pointer(path), 'variables keep expanding')
      if (found.length === 1 && found[0]?.[0] === text) return this.resolve(text, path)
      // Right to left, so earlier match positions stay valid.
      for (const m of found.reverse()) {
        const value = this.resolve(m[0], path)
        const spliced = typeof value === 'string' ? value : goJson(value)
        text = text.slice(0, m.index) + spliced + text.slice(m.index + m[0].length)
      }
    }
    return text.replace(ESCAPED_VARIABLE, '$1')
  }

  private resolve(variable: string, path: readonly (string | number)[]): unknown {
    let expression = variable.slice(2, -2).trim()
    if (expression === '@') expression = currentFieldPath(path, this.data)
    if (isDeleteRequest(this.data)) expression = expression.replaceAll('request.object', 'request.oldObject')
    try {
      return compileJmesPath(expression)(this.data)
    } catch (e) {
      if (e instanceof JmesPathError && e.kind === 'unknown-key' && this.missingKey === 'null') return null
      throw new VariableError(variable, pointer(path), (e as Error).message)
    }
  }
}

export function substituteVariables(
  value: unknown,
  data: Record<string, unknown>,
  options: SubstituteOptions = {},
): unknown {
  return new Substitution(data, options.missingKey ?? 'fail').walk(value, options.path ?? [])
}
