/**
 * Falco's comparison operators on string values (every k8s_audit field is a string or a list of
 * strings), built once per check into a predicate on the extracted value. Semantics follow libsinsp's
 * flt_compare_string: `<`/`>` compare as strcmp does, `glob` is fnmatch(3) without flags (`*` also
 * matches '/'), `regex` must match the whole value (RE2 anchored both ends), `pmatch` is a path-prefix
 * match, `in`/`intersects` are set membership. On list fields only `in` (every value in the set),
 * `intersects` (some value in the set) and `exists` are allowed, as in libsinsp.
 */
import type { Operator } from './ast.js'

export type StringTest = (x: string) => boolean

/** fnmatch(3) pattern (no flags) as a RegExp. */
export function globToRegExp(pattern: string, caseInsensitive = false): RegExp {
  let re = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i)
    if (c === '*') re += '[\\s\\S]*'
    else if (c === '?') re += '[\\s\\S]'
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern.charAt(++i))
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2)
      if (close === -1) {
        re += '\\['
        continue
      }
      let body = pattern.slice(i + 1, close)
      const negate = body.startsWith('!') || body.startsWith('^')
      if (negate) body = body.slice(1)
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`
      i = close
    } else re += escapeRe(c)
  }
  return new RegExp(`${re}$`, caseInsensitive ? 'i' : '')
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

function hexBytes(hex: string): Buffer | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined
  return Buffer.from(hex, 'hex')
}

/** true when `path` equals one of the prefixes or lies under one (whole path components). */
export function pathPrefixMatch(prefixes: readonly string[]): StringTest {
  const normalized = prefixes.map((p) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p))
  return (x) => {
    for (const p of normalized) {
      if (x === p) return true
      if (x.startsWith(p) && (p === '/' || x.charAt(p.length) === '/')) return true
    }
    return false
  }
}

/** The test for a scalar value, or why the operator cannot be used with this value. */
export function stringTest(op: Operator, values: readonly string[]): StringTest | string {
  const v = values[0] ?? ''
  switch (op) {
    case '=':
    case '==':
      return (x) => x === v
    case '!=':
      return (x) => x !== v
    case '<':
      return (x) => x < v
    case '<=':
      return (x) => x <= v
    case '>':
      return (x) => x > v
    case '>=':
      return (x) => x >= v
    case 'contains':
      return (x) => x.includes(v)
    case 'icontains': {
      const lv = v.toLowerCase()
      return (x) => x.toLowerCase().includes(lv)
    }
    case 'startswith':
      return (x) => x.startsWith(v)
    case 'endswith':
      return (x) => x.endsWith(v)
    case 'bcontains':
    case 'bstartswith': {
      const bytes = hexBytes(v)
      if (bytes === undefined) return `'${op}' needs an even number of hex digits, got '${v}'`
      return op === 'bcontains'
        ? (x) => Buffer.from(x).includes(bytes)
        : (x) => Buffer.from(x).subarray(0, bytes.length).equals(bytes)
    }
    case 'glob':
    case 'iglob': {
      const re = globToRegExp(v, op === 'iglob')
      return (x) => re.test(x)
    }
    case 'regex': {
      let re: RegExp
      try {
        re = new RegExp(`^(?:${v})$`, 'u')
      } catch (e) {
        return `invalid regular expression '${v}': ${(e as Error).message}`
      }
      return (x) => re.test(x)
    }
    case 'in':
    case 'intersects': {
      if (values.length === 1) return (x) => x === v
      const set = new Set(values)
      return (x) => set.has(x)
    }
    case 'pmatch':
      return pathPrefixMatch(values)
  }
}

/** The test for a list field: `in` (all values in the set) or `intersects` (some value in the set). */
export function listTest(
  op: Operator,
  values: readonly string[],
  field: string,
): ((xs: readonly string[]) => boolean) | string {
  const set = new Set(values)
  if (op === 'in') {
    return (xs) => {
      for (const x of xs) if (!set.has(x)) return false
      return true
    }
  }
  if (op === 'intersects') {
    return (xs) => {
      for (const x of xs) if (set.has(x)) return true
      return false
    }
  }
  return `list filter '${field}' only supports operators 'exists', 'in' and 'intersects'`
}
