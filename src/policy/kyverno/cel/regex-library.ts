/**
 * cel-go's `regex` extension (ext.Regex, version 1), which Kyverno's CEL environment registers for every
 * CEL policy kind (pkg/cel/compiler/env.go in kyverno/kyverno):
 * - `regex.replace(target, pattern, replacement[, count])`: every match (or the first `count`; a negative
 *   count is all) replaced; `\1`..`\9` in the replacement are capture groups, `\\` a backslash;
 * - `regex.extract(target, pattern)`: the first match, or its one capture group, as an optional;
 * - `regex.extractAll(target, pattern)`: every match (or its one capture group).
 * Patterns are RE2; `(?P<name>...)` is accepted as JavaScript's `(?<name>...)`.
 */
import { type Environment, Optional } from '@marcbachmann/cel-js'

class RegexLibrary {}

function compile(pattern: string, flags = ''): RegExp {
  try {
    return new RegExp(pattern.replace(/\(\?P</g, '(?<'), flags)
  } catch (err) {
    throw new Error(`given regex is invalid: ${(err as Error).message}`)
  }
}

/** The replacement with its `\N` group references resolved for one match. */
function expand(replacement: string, groups: readonly (string | undefined)[]): string {
  let out = ''
  for (let i = 0; i < replacement.length; i++) {
    const ch = replacement[i]!
    if (ch !== '\\') {
      out += ch
      continue
    }
    const next = replacement[++i]
    if (next === '\\') out += '\\'
    else if (next !== undefined && /\d/.test(next)) {
      const n = Number(next)
      if (n >= groups.length) throw new Error(`replacement string references a non-existent group \\${n}`)
      out += groups[n] ?? ''
    } else throw new Error('invalid replacement string: \\ must be followed by a digit or \\')
  }
  return out
}

function replace(target: string, pattern: string, replacement: string, count = -1n): string {
  const re = compile(pattern, 'g')
  let left = Number(count)
  if (left === 0) return target
  return target.replace(re, (...args: unknown[]) => {
    const match = args[0] as string
    const groupCount = args.findIndex((a) => typeof a === 'number') - 1
    if (left === 0) return match
    left--
    return expand(replacement, [match, ...(args.slice(1, 1 + groupCount) as (string | undefined)[])])
  })
}

function captured(match: RegExpMatchArray): string {
  if (match.length > 2) throw new Error('multiple capture groups are not supported')
  return match.length === 2 ? (match[1] ?? '') : match[0]
}

export function addRegexLibrary(env: Environment): Environment {
  env.registerType('cel.regex', RegexLibrary).registerConstant('regex', 'cel.regex', new RegexLibrary())
  env
    .registerFunction(
      'cel.regex.replace(string, string, string): string',
      (_l: RegexLibrary, t: string, p: string, r: string) => replace(t, p, r),
    )
    .registerFunction(
      'cel.regex.replace(string, string, string, int): string',
      (_l: RegexLibrary, t: string, p: string, r: string, n: bigint) => replace(t, p, r, n),
    )
    .registerFunction(
      'cel.regex.extract(string, string): optional<string>',
      (_l: RegexLibrary, t: string, p: string) => {
        const match = compile(p).exec(t)
        return match ? Optional.of(captured(match)) : Optional.none()
      },
    )
    .registerFunction(
      'cel.regex.extractAll(string, string): list<string>',
      (_l: RegexLibrary, t: string, p: string) => [...t.matchAll(compile(p, 'g'))].map(captured),
    )
  return env
}
