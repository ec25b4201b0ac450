/**
 * Kyverno is written in Go, and its pattern and condition operators lean on Go's parsers and printers:
 * `time.ParseDuration`, `strconv.ParseFloat`, `fmt.Sprint`, semantic versions. Policies only behave the
 * same here if those corner cases agree, so this module restates them for plain JSON values.
 */

/** Nanoseconds per unit, as Go's `time.ParseDuration` accepts them. */
const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
}
const DURATION = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g

/** Go's `time.ParseDuration`, in nanoseconds; `undefined` where Go returns an error. */
export function parseGoDuration(text: string): number | undefined {
  if (/^[-+]?0$/.test(text)) return 0
  if (!DURATION.test(text)) return undefined
  let total = 0
  for (const [, amount, unit] of text.matchAll(DURATION_PART))
    total += Number(amount) * DURATION_UNITS[unit!]!
  return text.startsWith('-') ? -total : total
}

const GO_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i

/** Go's `strconv.ParseFloat(s, 64)` for the decimal forms policies use. */
export function parseGoFloat(text: string): number | undefined {
  if (!GO_FLOAT.test(text)) return undefined
  const lower = text.toLowerCase().replace(/^\+/, '')
  if (lower.endsWith('nan')) return Number.NaN
  if (lower.endsWith('inf') || lower.endsWith('infinity'))
    return lower.startsWith('-') ? -Number.POSITIVE_INFINITY : Number.POSITIVE_INFINITY
  return Number(text)
}

/** Go's `strconv.ParseInt(s, 10, 64)`. */
export function parseGoInt(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined
  const value = BigInt(text)
  if (value > 0x7fffffffffffffffn || value < -0x8000000000000000n) return undefined
  return Number(value)
}

/** Shortest round-tripping digits and the decimal exponent of a finite, non-zero number. */
function decimalDigits(value: number): { digits: string; exponent: number } {
  const [mantissa, exp] = Math.abs(value).toExponential().split('e')
  return { digits: mantissa!.replace('.', ''), exponent: Number(exp) }
}

function goExponent(exponent: number): string {
  const sign = exponent < 0 ? '-' : '+'
  return `${sign}${String(Math.abs(exponent)).padStart(2, '0')}`
}

function scientific(value: number, marker: 'e' | 'E'): string {
  const { digits, exponent } = decimalDigits(value)
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
  return `${value < 0 ? '-' : ''}${mantissa}${marker}${goExponent(exponent)}`
}

function special(value: number): string | undefined {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return undefined
}

/** `strconv.FormatFloat(v, 'E', -1, 64)`: how Kyverno prints a float before wildcard-matching it. */
export function formatGoFloatE(value: number): string {
  return special(value) ?? (value === 0 ? '0E+00' : scientific(value, 'E'))
}

/** `fmt.Sprint` of a float64 (`%v`): shortest digits, exponent form below 1e-4 and from 1e6 on (`1e+06`). */
export function formatGoFloat(value: number): string {
  const text = special(value)
  if (text) return text
  if (value === 0) return '0'
  const { exponent } = decimalDigits(value)
  if (exponent < -4 || exponent >= 6) return scientific(value, 'e')
  return String(value)
}

/**
 * `fmt.Sprint` of a decoded JSON value, which is how Kyverno turns list members into strings before
 * matching them. Maps and lists come out in Go's own notation, which no policy compares against.
 */
export function goSprint(value: unknown): string {
  if (value === null || value === undefined) return '<nil>'
  if (typeof value === 'number') return formatGoFloat(value)
  if (typeof value === 'string') return value
  if (typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) return `[${value.map(goSprint).join(' ')}]`
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )
  return `map[${entries.map(([k, v]) => `${k}:${goSprint(v)}`).join(' ')}]`
}

interface Semver {
  readonly core: readonly [number, number, number]
  readonly pre: readonly string[]
}

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/

/** A strict semantic version, as `blang/semver.Parse` accepts it. */
export function parseSemver(text: string): Semver | undefined {
  const m = SEMVER.exec(text)
  if (!m) return undefined
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] }
}

function comparePrerelease(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i]!, b[i]!]
    if (x === y) continue
    const [xn, yn] = [/^\d+$/.test(x), /^\d+$/.test(y)]
    if (xn && yn) return Number(x) - Number(y)
    if (xn !== yn) return xn ? -1 : 1
    return x < y ? -1 : 1
  }
  return a.length - b.length
}

/** Semver precedence: negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareSemver(a: Semver, b: Semver): number {
  for (let i = 0; i < 3; i++) if (a.core[i] !== b.core[i]) return a.core[i]! - b.core[i]!
  return comparePrerelease(a.pre, b.pre)
}
