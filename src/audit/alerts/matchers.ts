/**
 * Alertmanager's label matchers: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`, as
 * written in `matchers:`, `source_matchers:`, `target_matchers:` and silences. Regexes are anchored at
 * both ends, as Alertmanager anchors them; a label that is absent reads as the empty string, so
 * `team=""` matches an alert without a team and `team!=""` one with any team.
 */

export const MATCH_TYPES = ['=', '!=', '=~', '!~'] as const
export type MatchType = (typeof MATCH_TYPES)[number]

export interface Matcher {
  readonly name: string
  readonly type: MatchType
  readonly value: string
}

export type Labels = Readonly<Record<string, string>>

/** A matcher ready to test labels: the regex compiled once. */
export interface CompiledMatcher extends Matcher {
  matches(labels: Labels): boolean
}

export class MatcherError extends Error {}

export function compileMatcher(m: Matcher): CompiledMatcher {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(m.name) && m.name !== '')
    throw new MatcherError(`invalid label name ${JSON.stringify(m.name)}`)
  if (!m.name) throw new MatcherError('a matcher needs a label name')
  if (!MATCH_TYPES.includes(m.type)) throw new MatcherError(`invalid match type ${JSON.stringify(m.type)}`)
  let test: (v: string) => boolean
  if (m.type === '=' || m.type === '!=') {
    const want = m.value
    test = m.type === '=' ? (v) => v === want : (v) => v !== want
  } else {
    let re: RegExp
    try {
      re = new RegExp(`^(?:${m.value})$`, 'su')
    } catch (err) {
      throw new MatcherError(
        `invalid regular expression ${JSON.stringify(m.value)}: ${(err as Error).message}`,
      )
    }
    test = m.type === '=~' ? (v) => re.test(v) : (v) => !re.test(v)
  }
  const name = m.name
  return { name, type: m.type, value: m.value, matches: (labels) => test(labels[name] ?? '') }
}

/** All of them match (an empty list matches everything). */
export function matchesAll(matchers: readonly CompiledMatcher[], labels: Labels): boolean {
  for (const m of matchers) if (!m.matches(labels)) return false
  return true
}

const MATCHER_RE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s

/**
 * Parses one matcher as Alertmanager writes it: `severity="critical"`, `team=~"a|b"`, or with the value
 * unquoted (`env=prod`). A double-quoted value takes Go's escapes `\"`, `\\` and `\n`.
 */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER_RE.exec(text)
  if (!m)
    throw new MatcherError(`invalid matcher ${JSON.stringify(text)}: expected name, one of = != =~ !~, value`)
  const [, name, type, raw] = m as unknown as [string, string, MatchType, string]
  let value = raw
  if (raw.startsWith('"')) {
    if (raw.length < 2 || !raw.endsWith('"'))
      throw new MatcherError(`invalid matcher ${JSON.stringify(text)}: unterminated quoted value`)
    value = unquote(raw.slice(1, -1), text)
  }
  return { name, type, value }
}

function unquote(s: string, text: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === '"')
      throw new MatcherError(`invalid matcher ${JSON.stringify(text)}: unescaped quote in the value`)
    if (c !== '\\') {
      out += c
      continue
    }
    const n = s[++i]
    if (n === 'n') out += '\n'
    else if (n === '\\' || n === '"') out += n
    else if (n === undefined)
      throw new MatcherError(`invalid matcher ${JSON.stringify(text)}: dangling backslash`)
    else out += `\\${n}` // regex escapes (\d, \.) pass through unchanged
  }
  return out
}

/** `{a="b", c=~"d"}` or `a="b", c=~"d"`: several matchers in one string (commas inside quotes kept). */
export function parseMatchers(text: string): Matcher[] {
  let s = text.trim()
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1)
  const parts: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === '\\' && quoted) {
      cur += c + (s[++i] ?? '')
      continue
    }
    if (c === '"') quoted = !quoted
    if (c === ',' && !quoted) {
      parts.push(cur)
      cur = ''
    } else cur += c
  }
  if (cur.trim()) parts.push(cur)
  return parts.filter((p) => p.trim()).map(parseMatcher)
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.type}${JSON.stringify(m.value)}`
}
