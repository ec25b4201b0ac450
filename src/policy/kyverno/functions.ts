/**
 * Kyverno's own JMESPath functions (pkg/engine/jmespath in kyverno/kyverno), restated for JSON values.
 * Each keeps the Go behaviour a policy can observe: `strings.Trim` cutsets, RE2 replacement templates,
 * `strconv.FormatFloat(f, 'f', -1, 32)` when a number stands in for a string, Kubernetes quantity and
 * Go duration arithmetic and their canonical printing, `time.Time` formatting. `is_external_url` (it
 * resolves DNS) is left out; `image_normalize` assumes Kyverno's default registry settings.
 */
import { createHash, randomInt, X509Certificate } from 'node:crypto'
import { load } from 'js-yaml'
import { Quantity } from '../cel/quantity.js'
import { compareSemver, parseGoDuration, parseSemver } from './go-scalars.js'
import { parseImageReference } from './images.js'
import { wildcardMatch } from './wildcard.js'

export type ArgType = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'null' | 'any'

export interface KyvernoFunction {
  /** Accepted JMESPath types per argument, in order. */
  readonly args: readonly (readonly ArgType[])[]
  readonly call: (args: readonly unknown[]) => unknown
}

type JsonObject = Record<string, unknown>

export function jsonType(value: unknown): Exclude<ArgType, 'any'> {
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value)) return 'array'
  const t = typeof value
  if (t === 'string' || t === 'number' || t === 'boolean') return t
  return 'object'
}

export function isObject(value: unknown): value is JsonObject {
  return jsonType(value) === 'object'
}

const str = (v: unknown): string => v as string
const num = (v: unknown): number => v as number

// ---------------------------------------------------------------------------------------------------------
// Go formatting of numbers that stand in for strings
// ---------------------------------------------------------------------------------------------------------

/** Digits of a `toPrecision`/`toExponential` text written out without an exponent. */
function plainDecimal(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(text)
  if (!m) return text
  const [, sign = '', whole = '', frac = '', exp = '0'] = m
  const digits = whole + frac
  const point = whole.length + Number(exp)
  const padded = point <= 0 ? '0'.repeat(1 - point) + digits : digits.padEnd(point, '0')
  const at = Math.max(point, 1)
  const intPart = padded.slice(0, at).replace(/^0+(?=\d)/, '')
  const fracPart = padded.slice(at).replace(/0+$/, '')
  return `${sign}${intPart}${fracPart ? `.${fracPart}` : ''}`
}

/** `strconv.FormatFloat(f, 'f', -1, 32)`: Kyverno's text for a number given where a string is expected. */
export function float32Text(value: number): string {
  const f = Math.fround(value)
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : f < 0 ? '-Inf' : 'NaN'
  for (let precision = 1; precision <= 9; precision++) {
    const text = f.toPrecision(precision)
    if (Math.fround(Number(text)) === f) return plainDecimal(text)
  }
  return plainDecimal(String(f))
}

/** Go's `ifaceToString` for the regex functions: strings as they are, numbers as float32 text. */
function stringOrNumber(value: unknown): string {
  return typeof value === 'string' ? value : float32Text(num(value))
}

// ---------------------------------------------------------------------------------------------------------
// Go durations
// ---------------------------------------------------------------------------------------------------------

function trimmedFraction(value: number, digits: number): string {
  const whole = Math.trunc(value / 10 ** digits)
  const frac = String(value % 10 ** digits)
    .padStart(digits, '0')
    .replace(/0+$/, '')
  return frac ? `${whole}.${frac}` : String(whole)
}

/** `time.Duration.String()`: `1h0m5s`, `1.5s`, `300ms`, `0s`. */
export function formatGoDuration(nanos: number): string {
  const ns = Math.trunc(nanos)
  if (ns === 0) return '0s'
  const sign = ns < 0 ? '-' : ''
  const abs = Math.abs(ns)
  if (abs < 1e3) return `${sign}${abs}ns`
  if (abs < 1e6) return `${sign}${trimmedFraction(abs, 3)}µs`
  if (abs < 1e9) return `${sign}${trimmedFraction(abs, 6)}ms`
  const hours = Math.floor(abs / 3600e9)
  const minutes = Math.floor((abs % 3600e9) / 60e9)
  const seconds = trimmedFraction(abs % 60e9, 9)
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`
  return `${sign}${seconds}s`
}

function durationArg(fn: string, text: string): number {
  const d = parseGoDuration(text)
  if (d === undefined) throw new Error(`JMESPath function '${fn}': invalid duration "${text}"`)
  return d
}

// ---------------------------------------------------------------------------------------------------------
// Kubernetes quantities, with the format (suffix family) that decides how a result is printed
// ---------------------------------------------------------------------------------------------------------

type QuantityFormat = 'BinarySI' | 'DecimalSI' | 'DecimalExponent'

interface FormattedQuantity {
  readonly value: Quantity
  readonly format: QuantityFormat
}

const DECIMAL_SUFFIX: Record<number, string> = {
  [-9]: 'n',
  [-6]: 'u',
  [-3]: 'm',
  0: '',
  3: 'k',
  6: 'M',
  9: 'G',
  12: 'T',
  15: 'P',
  18: 'E',
}
const BINARY_SUFFIX = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei']

function quantityFormat(text: string): QuantityFormat {
  if (/i$/.test(text)) return 'BinarySI'
  if (/[eE][+-]?\d+$/.test(text)) return 'DecimalExponent'
  return 'DecimalSI'
}

function parseQuantity(text: string): FormattedQuantity | undefined {
  const value = Quantity.parse(text)
  if (!value || text.trim() !== text) return undefined
  return { value: nanoPrecision(value), format: quantityFormat(text) }
}

/** The API server keeps quantities to nano precision, rounding anything finer away from zero. */
function nanoPrecision(q: Quantity): Quantity {
  if (q.scale <= 9) return q
  const divisor = 10n ** BigInt(q.scale - 9)
  let n = q.num / divisor
  if (n * divisor !== q.num) n += q.num > 0n ? 1n : -1n
  return quantityOf(n, 9)
}

function quantityOf(num: bigint, scale: number): Quantity {
  return Quantity.of(`${num}e${-scale}`)
}

/** Exact rational of a float, as Go gets it by printing `%v` and parsing that text as a quantity. */
function quantityFromFloat(value: number): Quantity {
  return Quantity.of(value.toExponential())
}

function stripFactor(value: bigint, factor: bigint, limit: number): [bigint, number] {
  let times = 0
  while (times < limit && value !== 0n && value % factor === 0n) {
    value /= factor
    times++
  }
  return [value, times]
}

/** `resource.Quantity.String()`: the canonical form in the quantity's own suffix family. */
export function formatQuantity(q: Quantity, format: QuantityFormat): string {
  if (q.num === 0n) return '0'
  if (format === 'BinarySI') {
    const small = q.compareTo(Quantity.of('-1024')) > 0 && q.compareTo(Quantity.of('1024')) < 0
    if (!small && q.isInteger()) {
      const whole = q.scale <= 0 ? q.num * 10n ** BigInt(-q.scale) : q.num / 10n ** BigInt(q.scale)
      const [mantissa, times] = stripFactor(whole, 1024n, BINARY_SUFFIX.length - 1)
      return `${mantissa}${BINARY_SUFFIX[times]}`
    }
    format = 'DecimalSI'
  }
  let [mantissa, exponent] = stripFactor(q.num, 10n, Number.POSITIVE_INFINITY)
  exponent -= q.scale
  const down = ((exponent % 3) + 3) % 3
  mantissa *= 10n ** BigInt(down)
  exponent -= down
  if (format === 'DecimalExponent') return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`
  const suffix = DECIMAL_SUFFIX[exponent]
  return suffix === undefined ? `${mantissa}e${exponent}` : `${mantissa}${suffix}`
}

// ---------------------------------------------------------------------------------------------------------
// Arithmetic over numbers, quantities and durations (arithmetic.go)
// ---------------------------------------------------------------------------------------------------------

type Operand =
  | { readonly kind: 'scalar'; readonly value: number }
  | { readonly kind: 'quantity'; readonly value: FormattedQuantity }
  | { readonly kind: 'duration'; readonly value: number }

interface Candidate {
  readonly scalar?: number
  readonly quantity?: FormattedQuantity
  readonly duration?: number
}

function candidate(fn: string, value: unknown): Candidate {
  if (typeof value === 'number') return { scalar: value }
  if (typeof value === 'string') {
    const c = { quantity: parseQuantity(value), duration: parseGoDuration(value) }
    if (c.quantity || c.duration !== undefined) return c
  }
  throw new Error(`JMESPath function '${fn}': invalid operand`)
}

/** A text that reads as both (`'0'`, `'1m'`) is a duration when the other operand is clearly one. */
function operands(fn: string, args: readonly unknown[]): [Operand, Operand] {
  const [a, b] = [candidate(fn, args[0]), candidate(fn, args[1])]
  const onlyDuration = (c: Candidate) => c.duration !== undefined && !c.quantity
  const durationContext = onlyDuration(a) || onlyDuration(b)
  const resolve = (c: Candidate): Operand => {
    if (c.scalar !== undefined) return { kind: 'scalar', value: c.scalar }
    if (c.quantity && (c.duration === undefined || !durationContext))
      return { kind: 'quantity', value: c.quantity }
    return { kind: 'duration', value: c.duration ?? 0 }
  }
  return [resolve(a), resolve(b)]
}

const mismatch = (fn: string) => new Error(`JMESPath function '${fn}': types mismatch`)
const zeroDivisor = (fn: string) => new Error(`JMESPath function '${fn}': Zero divisor passed`)
const nonInteger = (fn: string) =>
  new Error(`JMESPath function '${fn}': Non-integer argument(s) passed for modulo`)

/** The quantity whose format a result keeps: Go's `Add`/`Sub` adopt the other's format when the receiver is 0. */
function resultFormat(a: FormattedQuantity, b: FormattedQuantity): QuantityFormat {
  return a.value.num === 0n ? b.format : a.format
}

function addOrSubtract(fn: string, args: readonly unknown[], sign: 1 | -1): unknown {
  const [a, b] = operands(fn, args)
  if (a.kind === 'scalar' && b.kind === 'scalar') return a.value + sign * b.value
  if (a.kind === 'duration' && b.kind === 'duration') return formatGoDuration(a.value + sign * b.value)
  if (a.kind === 'quantity' && b.kind === 'quantity') {
    const sum = sign === 1 ? a.value.value.add(b.value.value) : a.value.value.sub(b.value.value)
    return formatQuantity(sum, resultFormat(a.value, b.value))
  }
  throw mismatch(fn)
}

function multiplyQuantity(q: FormattedQuantity, factor: number): string {
  const f = quantityFromFloat(factor)
  return formatQuantity(quantityOf(q.value.num * f.num, q.value.scale + f.scale), q.format)
}

function multiply(args: readonly unknown[]): unknown {
  const [a, b] = operands('multiply', args)
  if (a.kind === 'scalar' && b.kind === 'scalar') return a.value * b.value
  const [other, scalar] =
    a.kind === 'scalar' ? [b, a.value] : b.kind === 'scalar' ? [a, b.value] : [a, undefined]
  if (scalar === undefined) throw mismatch('multiply')
  if (other.kind === 'quantity') return multiplyQuantity(other.value, scalar)
  if (other.kind === 'duration') return formatGoDuration((other.value / 1e9) * scalar * 1e9)
  throw mismatch('multiply')
}

/** Quantity ÷ number keeps the larger of the two decimal scales, truncating toward zero (inf.RoundDown). */
function divideQuantity(q: FormattedQuantity, divisor: number): string {
  const d = quantityFromFloat(divisor)
  const scale = Math.max(q.value.scale, d.scale)
  // value = (qn / 10^qs) / (dn / 10^ds); scaled by 10^scale and truncated.
  let numerator = q.value.num
  let denominator = d.num
  const shift = d.scale + scale - q.value.scale
  if (shift >= 0) numerator *= 10n ** BigInt(shift)
  else denominator *= 10n ** BigInt(-shift)
  return formatQuantity(quantityOf(numerator / denominator, scale), q.format)
}

function divide(args: readonly unknown[]): unknown {
  const [a, b] = operands('divide', args)
  const divisorIsZero =
    (b.kind === 'scalar' && b.value === 0) ||
    (b.kind === 'duration' && b.value === 0) ||
    (b.kind === 'quantity' && b.value.value.num === 0n)
  if (a.kind === 'scalar' && b.kind === 'scalar') {
    if (divisorIsZero) throw zeroDivisor('divide')
    return a.value / b.value
  }
  if (a.kind === 'quantity' && (b.kind === 'quantity' || b.kind === 'scalar')) {
    if (divisorIsZero) throw zeroDivisor('divide')
    if (b.kind === 'scalar') return divideQuantity(a.value, b.value)
    return a.value.value.asApproximateFloat() / b.value.value.asApproximateFloat()
  }
  if (a.kind === 'duration' && (b.kind === 'duration' || b.kind === 'scalar')) {
    if (divisorIsZero) throw zeroDivisor('divide')
    if (b.kind === 'duration') return a.value / 1e9 / (b.value / 1e9)
    return formatGoDuration((a.value / 1e9 / b.value) * 1e9)
  }
  throw mismatch('divide')
}

function integerOperands(fn: string, x: number, y: number): [number, number] {
  if (!Number.isInteger(x) || !Number.isInteger(y)) throw nonInteger(fn)
  if (y === 0) throw zeroDivisor(fn)
  return [x, y]
}

function modulo(args: readonly unknown[]): unknown {
  const [a, b] = operands('modulo', args)
  if (a.kind === 'scalar' && b.kind === 'scalar') {
    const [x, y] = integerOperands('modulo', a.value, b.value)
    return x % y
  }
  if (a.kind === 'quantity' && b.kind === 'quantity') {
    const [x, y] = integerOperands(
      'modulo',
      a.value.value.asApproximateFloat(),
      b.value.value.asApproximateFloat(),
    )
    return formatQuantity(Quantity.of(String(x % y)), a.value.format)
  }
  if (a.kind === 'duration' && b.kind === 'duration') {
    if (b.value === 0) throw zeroDivisor('modulo')
    return formatGoDuration(a.value % b.value)
  }
  throw mismatch('modulo')
}

function sum(args: readonly unknown[]): unknown {
  const items = args[0] as readonly unknown[]
  if (items.length === 0)
    throw new Error("JMESPath function 'sum': at least one element in the array is required")
  return items.slice(1).reduce((total, item) => addOrSubtract('sum', [total, item], 1), items[0])
}

/** `math.Round` rounds halves away from zero, where `Math.round` rounds them up. */
function round(args: readonly unknown[]): number {
  const [value, places] = [num(args[0]), num(args[1])]
  if (!Number.isInteger(places))
    throw new Error("JMESPath function 'round': Non-integer argument(s) passed for round")
  if (places < 0) throw new Error("JMESPath function 'round': Argument out of bounds")
  const shift = 10 ** places
  return (Math.sign(value) * Math.round(Math.abs(value) * shift)) / shift
}

// ---------------------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------------------

/** `strings.Compare`: byte-wise over UTF-8. */
function compare(a: string, b: string): number {
  return Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

/** `strings.EqualFold`: equal under simple Unicode case folding, rune by rune. */
function equalFold(a: string, b: string): boolean {
  const [x, y] = [[...a], [...b]]
  if (x.length !== y.length) return false
  return x.every((c, i) => {
    const d = y[i] ?? ''
    return c === d || c.toLowerCase() === d.toLowerCase() || c.toUpperCase() === d.toUpperCase()
  })
}

/** `strings.Replace(s, old, new, n)`; a negative n replaces all, an empty `old` matches between runes. */
function replaceN(s: string, old: string, replacement: string, n: number): string {
  const limit = n < 0 ? Number.POSITIVE_INFINITY : Math.trunc(n)
  if (limit === 0) return s
  if (old === '') {
    const runes = [...s]
    let out = ''
    let done = 0
    for (let i = 0; i <= runes.length; i++) {
      if (done < limit) {
        out += replacement
        done++
      }
      out += runes[i] ?? ''
    }
    return out
  }
  let out = ''
  let rest = s
  for (let done = 0; done < limit; done++) {
    const at = rest.indexOf(old)
    if (at < 0) break
    out += rest.slice(0, at) + replacement
    rest = rest.slice(at + old.length)
  }
  return out + rest
}

/** `strings.Trim`: drop leading and trailing runes found in the cutset. */
function trimCutset(s: string, cutset: string): string {
  const cut = new Set(cutset)
  const runes = [...s]
  let start = 0
  let end = runes.length
  while (start < end && cut.has(runes[start] ?? '')) start++
  while (end > start && cut.has(runes[end - 1] ?? '')) end--
  return runes.slice(start, end).join('')
}

/** `strings.Split`: an empty separator splits into runes. */
function split(s: string, sep: string): string[] {
  return sep === '' ? [...s] : s.split(sep)
}

function base64Decode(s: string): string {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s))
    throw new Error(`JMESPath function 'base64_decode': illegal base64 data in "${s}"`)
  return Buffer.from(s, 'base64').toString('utf8')
}

/** `filepath.Join(p)` on Linux: Go's lexical `Clean`, and the empty path stays empty. */
function pathCanonicalize(p: string): string {
  if (p === '') return ''
  const rooted = p.startsWith('/')
  const parts: string[] = []
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (parts.length > 0 && parts.at(-1) !== '..') parts.pop()
      else if (!rooted) parts.push('..')
    } else parts.push(part)
  }
  const joined = parts.join('/')
  return rooted ? `/${joined}` : joined || '.'
}

function truncate(s: string, length: number): string {
  return [...s].slice(0, Math.max(0, Math.trunc(length))).join('')
}

function toBoolean(s: string): boolean {
  const lower = s.toLowerCase()
  if (lower === 'true' || lower === 'false') return lower === 'true'
  throw new Error(
    `JMESPath function 'to_boolean': lowercase argument must be 'true' or 'false' (provided: '${s}')`,
  )
}

// ---------------------------------------------------------------------------------------------------------
// RE2 regular expressions and replacement templates
// ---------------------------------------------------------------------------------------------------------

const regexCache = new Map<string, RegExp>()

/** An RE2 pattern as a JavaScript RegExp: leading flag groups, `(?P<name>`, `\A` and `\z` translated. */
export function goRegExp(pattern: string, global = false): RegExp {
  const key = `${global ? 'g' : ''}:${pattern}`
  const cached = regexCache.get(key)
  if (cached) return cached
  let body = pattern
  let flags = global ? 'g' : ''
  const leading = /^\(\?([imsU]+)\)/.exec(body)
  if (leading?.[1]) {
    for (const f of leading[1]) if (f !== 'U' && !flags.includes(f)) flags += f
    body = body.slice(leading[0].length)
  }
  body = body
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$(?![\\s\\S])')
  let re: RegExp
  try {
    re = new RegExp(body, flags)
  } catch (e) {
    throw new Error(`error parsing regexp: ${(e as Error).message}`)
  }
  regexCache.set(key, re)
  return re
}

/** `regexp.Expand`: `$1`, `${1}`, `$name`, `${name}` (longest name), `$$`; unknown groups are empty. */
function expandTemplate(template: string, match: RegExpExecArray): string {
  return template.replace(/\$(?:\$|\{(\w+)\}|(\w+))/g, (whole, braced?: string, bare?: string) => {
    if (whole === '$$') return '$'
    const name = braced ?? bare ?? ''
    const value = /^\d+$/.test(name) ? match[Number(name)] : match.groups?.[name]
    return value ?? ''
  })
}

function regexReplaceAll(fn: string, args: readonly unknown[], literal: boolean): string {
  const re = withFunctionName(fn, () => goRegExp(str(args[0]), true))
  const [src, repl] = [stringOrNumber(args[1]), stringOrNumber(args[2])]
  return src.replace(re, (...params: unknown[]) => {
    if (literal) return repl
    const groupsAt = params.findIndex((p) => typeof p === 'number')
    const match = Object.assign(params.slice(0, groupsAt) as string[], {
      groups: params[groupsAt + 2] as Record<string, string> | undefined,
    }) as unknown as RegExpExecArray
    return expandTemplate(repl, match)
  })
}

function withFunctionName<T>(fn: string, body: () => T): T {
  try {
    return body()
  } catch (e) {
    throw new Error(`JMESPath function '${fn}': ${(e as Error).message}`)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Time: a `time.Time` is an instant plus the UTC offset it was written with
// ---------------------------------------------------------------------------------------------------------

interface GoTime {
  /** Seconds since the Unix epoch. */
  readonly seconds: number
  readonly nanos: number
  /** Offset from UTC, in seconds east. */
  readonly offset: number
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
]
const pad = (n: number, width = 2) => String(n).padStart(width, '0')

function fields(t: GoTime): Date {
  return new Date((t.seconds + t.offset) * 1000)
}

function formatRfc3339(t: GoTime): string {
  const d = fields(t)
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
  const clock = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  if (t.offset === 0) return `${date}T${clock}Z`
  const abs = Math.abs(t.offset)
  return `${date}T${clock}${t.offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 3600))}:${pad(Math.floor(abs / 60) % 60)}`
}

function timeFrom(totalNanos: number, offset: number): GoTime {
  const seconds = Math.floor(totalNanos / 1e9)
  return { seconds, nanos: totalNanos - seconds * 1e9, offset }
}

function addNanos(t: GoTime, nanos: number): GoTime {
  const total = t.nanos + nanos
  const carry = Math.floor(total / 1e9)
  return { seconds: t.seconds + carry, nanos: total - carry * 1e9, offset: t.offset }
}

function diffNanos(from: GoTime, to: GoTime): number {
  return (to.seconds - from.seconds) * 1e9 + (to.nanos - from.nanos)
}

function now(): GoTime {
  const ms = Date.now()
  return { ...timeFrom(ms * 1e6, 0), offset: -new Date(ms).getTimezoneOffset() * 60 }
}

/** One element of a Go layout: how to match it and what it sets. */
interface LayoutChunk {
  readonly pattern: string
  readonly apply?: (text: string, into: ParsedFields) => void
}

interface ParsedFields {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  nanos: number
  pm?: boolean
  offset?: number
}

const numberInto =
  (field: 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second') => (text: string, into: ParsedFields) => {
    into[field] = Number(text.trim())
  }

function zoneOffset(text: string, into: ParsedFields): void {
  if (text === 'Z' || text === 'UTC' || text === 'GMT') {
    into.offset = 0
    return
  }
  const m = /^([+-])(\d{2}):?(\d{2})?:?(\d{2})?$/.exec(text)
  if (!m) return
  const seconds = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0)
  into.offset = m[1] === '-' ? -seconds : seconds
}

const fraction = (text: string, into: ParsedFields) => {
  into.nanos = Number(text.slice(1).padEnd(9, '0').slice(0, 9))
}

function meridiem(text: string, into: ParsedFields): void {
  into.pm = text.toLowerCase() === 'pm'
}

function twoDigitYear(text: string, into: ParsedFields): void {
  into.year = Number(text) + (Number(text) >= 69 ? 1900 : 2000)
}

const monthName = (text: string, into: ParsedFields) => {
  into.month = MONTHS.findIndex((m) => m.toLowerCase().startsWith(text.toLowerCase())) + 1
}

/** Go's reference-time elements, longest first where one is a prefix of another. */
const LAYOUT_ELEMENTS: readonly [string, LayoutChunk][] = [
  ['January', { pattern: '[A-Za-z]{3,9}', apply: monthName }],
  ['Jan', { pattern: '[A-Za-z]{3}', apply: monthName }],
  ['Monday', { pattern: '[A-Za-z]{6,9}' }],
  ['Mon', { pattern: '[A-Za-z]{3}' }],
  ['MST', { pattern: '[A-Z]{3,5}|[+-]\\d+', apply: zoneOffset }],
  ['2006', { pattern: '\\d{4}', apply: numberInto('year') }],
  ['Z07:00:00', { pattern: 'Z|[+-]\\d{2}:\\d{2}:\\d{2}', apply: zoneOffset }],
  ['-07:00:00', { pattern: '[+-]\\d{2}:\\d{2}:\\d{2}', apply: zoneOffset }],
  ['Z070000', { pattern: 'Z|[+-]\\d{6}', apply: zoneOffset }],
  ['-070000', { pattern: '[+-]\\d{6}', apply: zoneOffset }],
  ['Z07:00', { pattern: 'Z|[+-]\\d{2}:\\d{2}', apply: zoneOffset }],
  ['-07:00', { pattern: '[+-]\\d{2}:\\d{2}', apply: zoneOffset }],
  ['Z0700', { pattern: 'Z|[+-]\\d{4}', apply: zoneOffset }],
  ['-0700', { pattern: '[+-]\\d{4}', apply: zoneOffset }],
  ['Z07', { pattern: 'Z|[+-]\\d{2}', apply: zoneOffset }],
  ['-07', { pattern: '[+-]\\d{2}', apply: zoneOffset }],
  ['01', { pattern: '\\d{2}', apply: numberInto('month') }],
  ['02', { pattern: '\\d{2}', apply: numberInto('day') }],
  ['03', { pattern: '\\d{2}', apply: numberInto('hour') }],
  ['04', { pattern: '\\d{2}', apply: numberInto('minute') }],
  ['05', { pattern: '\\d{2}(?:[.,]\\d+)?', apply: secondsWithFraction }],
  ['06', { pattern: '\\d{2}', apply: twoDigitYear }],
  ['15', { pattern: '\\d{1,2}', apply: numberInto('hour') }],
  ['_2', { pattern: '[ \\d]\\d', apply: numberInto('day') }],
  ['1', { pattern: '\\d{1,2}', apply: numberInto('month') }],
  ['2', { pattern: '\\d{1,2}', apply: numberInto('day') }],
  ['3', { pattern: '\\d{1,2}', apply: numberInto('hour') }],
  ['4', { pattern: '\\d{1,2}', apply: numberInto('minute') }],
  ['5', { pattern: '\\d{1,2}(?:[.,]\\d+)?', apply: secondsWithFraction }],
  ['PM', { pattern: 'AM|PM', apply: meridiem }],
  ['pm', { pattern: 'am|pm', apply: meridiem }],
]

/** Go accepts a fractional second after the seconds even when the layout has none. */
function secondsWithFraction(text: string, into: ParsedFields): void {
  const [whole = '', frac] = text.split(/[.,]/)
  into.second = Number(whole)
  if (frac) fraction(`.${frac}`, into)
}

const layoutCache = new Map<string, { regex: RegExp; chunks: LayoutChunk[] }>()

function compileLayout(layout: string): { regex: RegExp; chunks: LayoutChunk[] } {
  const cached = layoutCache.get(layout)
  if (cached) return cached
  const chunks: LayoutChunk[] = []
  let source = ''
  for (let i = 0; i < layout.length; ) {
    const frac = /^[.,](0+|9+)(?!\d)/.exec(layout.slice(i))
    const element = LAYOUT_ELEMENTS.find(([name]) => layout.startsWith(name, i))
    if (frac?.[1] && /[45]$/.test(layout.slice(0, i))) {
      const exact = frac[1].startsWith('0')
      chunks.push({ pattern: exact ? `[.,]\\d{${frac[1].length}}` : '(?:[.,]\\d+)?', apply: fraction })
      source += exact ? `([.,]\\d{${frac[1].length}})` : '((?:[.,]\\d+)?)'
      i += frac[0].length
    } else if (element) {
      chunks.push(element[1])
      source += `(${element[1].pattern})`
      i += element[0].length
    } else {
      source += (layout[i] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      i++
    }
  }
  const compiled = { regex: new RegExp(`^${source}$`), chunks }
  layoutCache.set(layout, compiled)
  return compiled
}

/** `time.Parse(layout, value)`: a value without a zone is UTC. */
export function parseGoTime(layout: string, value: string): GoTime {
  const { regex, chunks } = compileLayout(layout)
  const m = regex.exec(value)
  if (!m) throw new Error(`parsing time "${value}" as "${layout}": cannot parse`)
  const into: ParsedFields = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, nanos: 0 }
  chunks.forEach((chunk, i) => {
    const text = m[i + 1] ?? ''
    if (text !== '') chunk.apply?.(text, into)
  })
  if (into.pm !== undefined) into.hour = (into.hour % 12) + (into.pm ? 12 : 0)
  const utc = Date.UTC(into.year, into.month - 1, into.day, into.hour, into.minute, into.second)
  const check = new Date(utc)
  if (check.getUTCDate() !== into.day || check.getUTCMonth() !== into.month - 1)
    throw new Error(`parsing time "${value}": day out of range`)
  const offset = into.offset ?? 0
  return { seconds: utc / 1000 - offset, nanos: into.nanos, offset }
}

const RFC3339 = '2006-01-02T15:04:05Z07:00'

function timeArg(fn: string, value: unknown): GoTime {
  return withFunctionName(fn, () => parseGoTime(RFC3339, str(value)))
}

/** `t.Truncate(d)`: rounds down on the absolute time since Go's zero time (year 1, UTC). */
function truncateTime(t: GoTime, d: number): GoTime {
  if (d <= 0) return t
  const sinceZero = (BigInt(t.seconds) + 62135596800n) * 1_000_000_000n + BigInt(t.nanos)
  const rest = Number(sinceZero % BigInt(Math.trunc(d)))
  return addNanos(t, -rest)
}

function timeToCron(t: GoTime): string {
  const d = fields(t)
  return [d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth() + 1, d.getUTCDay()].join(' ')
}

function timeParse(layout: string, value: string): string {
  if (/^[+-]?\d+$/.test(layout)) {
    if (!/^[+-]?\d+$/.test(value)) throw new Error(`strconv.ParseInt: parsing "${value}": invalid syntax`)
    return formatRfc3339({ seconds: Number(value), nanos: 0, offset: 0 })
  }
  return formatRfc3339(withFunctionName('time_parse', () => parseGoTime(layout, value)))
}

function timeSince(layout: string, from: string, to: string): string {
  const parse = (v: string) => withFunctionName('time_since', () => parseGoTime(layout || RFC3339, v))
  return formatGoDuration(diffNanos(parse(from), to === '' ? now() : parse(to)))
}

// ---------------------------------------------------------------------------------------------------------
// Semantic version ranges (blang/semver ParseRange)
// ---------------------------------------------------------------------------------------------------------

type Semver = NonNullable<ReturnType<typeof parseSemver>>
type Comparator = (v: Semver) => boolean

const ZERO_VERSION = parseSemver('0.0.0') as Semver

function strictVersion(text: string): Semver {
  const v = parseSemver(text)
  if (!v) throw new Error(`JMESPath function 'semver_compare': invalid version "${text}"`)
  return v
}

function comparator(op: string, version: Semver): Comparator {
  const table: Record<string, (c: number) => boolean> = {
    '': (c) => c === 0,
    '=': (c) => c === 0,
    '==': (c) => c === 0,
    '!': (c) => c !== 0,
    '!=': (c) => c !== 0,
    '>': (c) => c > 0,
    '>=': (c) => c >= 0,
    '<': (c) => c < 0,
    '<=': (c) => c <= 0,
  }
  const test = table[op]
  if (!test) throw new Error(`JMESPath function 'semver_compare': invalid operator "${op}"`)
  return (v) => test(compareSemver(v, version))
}

/** `1.x` style wildcards become bounds, as blang's `expandWildcardVersion` does. */
function rangePart(part: string): Comparator {
  const m = /^(>=|<=|==|!=|[=!<>]?)(.*)$/.exec(part)
  const [op = '', text = ''] = m ? [m[1], m[2]] : []
  const pieces = text.split('.')
  const wild = pieces.findIndex((p) => p === 'x' || p === 'X' || p === '*')
  if (wild < 0) return comparator(op, strictVersion(text))
  if (wild === 0) return () => op !== '<' && op !== '!' && op !== '!='
  const low = pieces.map((p, i) => (i >= wild ? '0' : p))
  while (low.length < 3) low.push('0')
  const high = low.map((p, i) => (i === wild - 1 ? String(Number(p) + 1) : p))
  const [atLeastLow, belowHigh] = [
    comparator('>=', strictVersion(low.join('.'))),
    comparator('<', strictVersion(high.join('.'))),
  ]
  const within: Comparator = (v) => atLeastLow(v) && belowHigh(v)
  const table: Record<string, Comparator> = {
    '': within,
    '=': within,
    '==': within,
    '!': (v) => !within(v),
    '!=': (v) => !within(v),
    '>': (v) => !belowHigh(v),
    '>=': atLeastLow,
    '<': (v) => !atLeastLow(v),
    '<=': belowHigh,
  }
  return table[op] ?? comparator(op, ZERO_VERSION)
}

function semverCompare(version: string, range: string): boolean {
  // Kyverno ignores a version that does not parse: it compares as 0.0.0.
  const v = parseSemver(version) ?? ZERO_VERSION
  const alternatives = range.split('||').map((alt) =>
    alt
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '')
      .map(rangePart),
  )
  return alternatives.some((all) => all.every((c) => c(v)))
}

// ---------------------------------------------------------------------------------------------------------
// random(): a string drawn from a regular expression (goregen, unbounded repeats capped at 10)
// ---------------------------------------------------------------------------------------------------------

type Generator = () => string

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))
const CLASS_ESCAPES: Record<string, string[]> = {
  d: PRINTABLE.filter((c) => /\d/.test(c)),
  w: PRINTABLE.filter((c) => /\w/.test(c)),
  s: [' ', '\t', '\n'],
  D: PRINTABLE.filter((c) => /\D/.test(c)),
  W: PRINTABLE.filter((c) => /\W/.test(c)),
  S: PRINTABLE.filter((c) => /\S/.test(c)),
}
const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)] as T

class RegexGenerator {
  private at = 0
  constructor(private readonly source: string) {}

  static compile(source: string): Generator {
    const parser = new RegexGenerator(source)
    const generator = parser.alternation()
    if (parser.at < source.length) throw new Error(`unexpected ')' in random pattern '${source}'`)
    return generator
  }

  private peek(): string | undefined {
    return this.source[this.at]
  }

  private alternation(): Generator {
    const branches = [this.sequence()]
    while (this.peek() === '|') {
      this.at++
      branches.push(this.sequence())
    }
    return branches.length === 1 ? (branches[0] as Generator) : () => pick(branches)()
  }

  private sequence(): Generator {
    const parts: Generator[] = []
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek())
      parts.push(this.quantified(this.atom()))
    return () => parts.map((p) => p()).join('')
  }

  private quantified(atom: Generator): Generator {
    const m = /^(?:\*|\+|\?|\{(\d+)(,(\d*))?\})\??/.exec(this.source.slice(this.at))
    if (!m) return atom
    this.at += m[0].length
    const [min, max] =
      m[0][0] === '*'
        ? [0, 10]
        : m[0][0] === '+'
          ? [1, 10]
          : m[0][0] === '?'
            ? [0, 1]
            : [Number(m[1]), m[2] ? (m[3] ? Number(m[3]) : Number(m[1]) + 10) : Number(m[1])]
    return () => Array.from({ length: min + randomInt(max - min + 1) }, atom).join('')
  }

  private atom(): Generator {
    const c = this.source[this.at++] ?? ''
    if (c === '(') {
      if (this.source.startsWith('?:', this.at)) this.at += 2
      else if (this.source.startsWith('?P<', this.at) || this.source.startsWith('?<', this.at))
        this.at = this.source.indexOf('>', this.at) + 1
      const inner = this.alternation()
      if (this.source[this.at++] !== ')') throw new Error(`missing ')' in random pattern '${this.source}'`)
      return inner
    }
    if (c === '[') return this.charClass()
    if (c === '.') return () => pick(PRINTABLE)
    if (c === '^' || c === '$') return () => ''
    if (c === '\\') {
      const e = this.source[this.at++] ?? ''
      const set = CLASS_ESCAPES[e]
      return set ? () => pick(set) : () => e
    }
    return () => c
  }

  private charClass(): Generator {
    const negate = this.peek() === '^'
    if (negate) this.at++
    const members = new Set<string>()
    for (let first = true; this.peek() !== ']' || first; first = false) {
      let c = this.source[this.at++]
      if (c === undefined) throw new Error(`missing ']' in random pattern '${this.source}'`)
      if (c === '\\') {
        const e = this.source[this.at++] ?? ''
        const set = CLASS_ESCAPES[e]
        if (set) {
          for (const s of set) members.add(s)
          continue
        }
        c = e
      }
      if (this.peek() === '-' && this.source[this.at + 1] !== ']' && this.source[this.at + 1] !== undefined) {
        const end = this.source[this.at + 1] ?? c
        this.at += 2
        for (let code = c.charCodeAt(0); code <= end.charCodeAt(0); code++)
          members.add(String.fromCharCode(code))
      } else members.add(c)
    }
    this.at++
    const choices = negate ? PRINTABLE.filter((p) => !members.has(p)) : [...members]
    return () => pick(choices)
  }
}

/** A string drawn from `pattern`, as goregen generates it (shared with Kyverno's CEL `random()`). */
export function randomMatching(pattern: string): string {
  return RegexGenerator.compile(pattern)()
}

function random(pattern: string): string {
  if (pattern === '') throw new Error('no pattern provided')
  return withFunctionName('random', () => RegexGenerator.compile(pattern))()
}

// ---------------------------------------------------------------------------------------------------------
// x509_decode: the fields of Go's x509.Certificate that node:crypto exposes, under Go's JSON names
// ---------------------------------------------------------------------------------------------------------

const NAME_FIELDS: Record<string, string> = {
  CN: 'CommonName',
  O: 'Organization',
  OU: 'OrganizationalUnit',
  C: 'Country',
  ST: 'Province',
  L: 'Locality',
}

function distinguishedName(text: string): JsonObject {
  const name: JsonObject = { CommonName: '', SerialNumber: '' }
  for (const line of text.split('\n')) {
    const [key = '', ...rest] = line.split('=')
    const field = NAME_FIELDS[key]
    if (!field) continue
    const value = rest.join('=')
    if (field === 'CommonName') name[field] = value
    else name[field] = [...((name[field] as string[] | undefined) ?? []), value]
  }
  return name
}

/** Go's x509.Certificate fields of a PEM certificate (shared with Kyverno's CEL `x509.decode()`). */
export function x509Decode(pem: string): JsonObject {
  if (!/-----BEGIN CERTIFICATE-----/.test(pem))
    throw new Error('PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST')
  const cert = new X509Certificate(pem)
  const key = cert.publicKey.export({ format: 'jwk' })
  if (key.kty !== 'RSA') throw new Error('certificate should use rsa algorithm')
  const modulus = BigInt(`0x${Buffer.from(key.n ?? '', 'base64url').toString('hex')}`)
  const exponent = Number(BigInt(`0x${Buffer.from(key.e ?? '', 'base64url').toString('hex')}`))
  const toRfc3339 = (d: string) => new Date(d).toISOString().replace(/\.\d+Z$/, 'Z')
  return {
    Subject: distinguishedName(cert.subject),
    Issuer: distinguishedName(cert.issuer),
    SerialNumber: Number(BigInt(`0x${cert.serialNumber}`)),
    NotBefore: toRfc3339(cert.validFrom),
    NotAfter: toRfc3339(cert.validTo),
    IsCA: cert.ca,
    DNSNames:
      cert.subjectAltName
        ?.split(', ')
        .filter((n) => n.startsWith('DNS:'))
        .map((n) => n.slice(4)) ?? null,
    PublicKey: { N: modulus.toString(), E: exponent },
    Raw: cert.raw.toString('base64'),
    Fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
  }
}

// ---------------------------------------------------------------------------------------------------------
// Objects and arrays
// ---------------------------------------------------------------------------------------------------------

function labelMatch(labels: JsonObject, target: JsonObject): boolean {
  return Object.entries(labels).every(([k, v]) => Object.hasOwn(target, k) && target[k] === v)
}

function lookup(collection: unknown, key: unknown): unknown {
  if (Array.isArray(collection)) {
    if (typeof key !== 'number')
      throw new Error("JMESPath function 'lookup': 2 argument is expected of Number type")
    if (!Number.isInteger(key))
      throw new Error("JMESPath function 'lookup': argument #2: expected an integer number")
    return key < 0 || key >= collection.length ? null : collection[key]
  }
  if (typeof key !== 'string')
    throw new Error("JMESPath function 'lookup': 2 argument is expected of String type")
  return (collection as JsonObject)[key] ?? null
}

function items(collection: unknown, keyName: string, valueName: string): JsonObject[] {
  if (Array.isArray(collection)) return collection.map((value, i) => ({ [keyName]: i, [valueName]: value }))
  const obj = collection as JsonObject
  return Object.keys(obj)
    .sort(compare)
    .map((key) => ({ [keyName]: key, [valueName]: obj[key] }))
}

function objectFromLists(keys: readonly unknown[], values: readonly unknown[]): JsonObject {
  const out: JsonObject = {}
  keys.forEach((key, i) => {
    if (typeof key === 'boolean') out[String(key)] = values[i] ?? null
    else if (typeof key === 'string' || typeof key === 'number') out[stringOrNumber(key)] = values[i] ?? null
    else throw new Error("JMESPath function 'object_from_lists': 1 argument is expected of StringArray type")
  })
  return out
}

function parseJson(text: string): unknown {
  return withFunctionName('parse_json', () => JSON.parse(text))
}

function parseYaml(text: string): unknown {
  return withFunctionName('parse_yaml', () => JSON.parse(JSON.stringify(load(text) ?? null)))
}

// ---------------------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------------------

const S: readonly ArgType[] = ['string']
const N: readonly ArgType[] = ['number']
const SN: readonly ArgType[] = ['string', 'number']
const ANY: readonly ArgType[] = ['any']

function entry(
  args: readonly (readonly ArgType[])[],
  call: (args: readonly unknown[]) => unknown,
): KyvernoFunction {
  return { args, call }
}

export const KYVERNO_FUNCTIONS: ReadonlyMap<string, KyvernoFunction> = new Map([
  ['compare', entry([S, S], ([a, b]) => compare(str(a), str(b)))],
  ['equal_fold', entry([S, S], ([a, b]) => equalFold(str(a), str(b)))],
  ['replace', entry([S, S, S, N], ([s, o, n, c]) => replaceN(str(s), str(o), str(n), num(c)))],
  ['replace_all', entry([S, S, S], ([s, o, n]) => replaceN(str(s), str(o), str(n), -1))],
  ['to_upper', entry([S], ([s]) => str(s).toUpperCase())],
  ['to_lower', entry([S], ([s]) => str(s).toLowerCase())],
  ['trim', entry([S, S], ([s, cut]) => trimCutset(str(s), str(cut)))],
  [
    'trim_prefix',
    entry([S, S], ([s, p]) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s))),
  ],
  [
    'trim_suffix',
    entry([S, S], ([s, p]) =>
      str(s).endsWith(str(p)) ? str(s).slice(0, str(s).length - str(p).length) : str(s),
    ),
  ],
  ['split', entry([S, S], ([s, sep]) => split(str(s), str(sep)))],
  ['regex_replace_all', entry([S, SN, SN], (args) => regexReplaceAll('regex_replace_all', args, false))],
  [
    'regex_replace_all_literal',
    entry([S, SN, SN], (args) => regexReplaceAll('regex_replace_all_literal', args, true)),
  ],
  [
    'regex_match',
    entry([S, SN], ([re, s]) =>
      withFunctionName('regex_match', () => goRegExp(str(re))).test(stringOrNumber(s)),
    ),
  ],
  ['pattern_match', entry([S, SN], ([p, s]) => wildcardMatch(str(p), stringOrNumber(s)))],
  ['label_match', entry([['object'], ['object']], ([a, b]) => labelMatch(a as JsonObject, b as JsonObject))],
  ['to_boolean', entry([S], ([s]) => toBoolean(str(s)))],
  ['add', entry([ANY, ANY], (args) => addOrSubtract('add', args, 1))],
  ['sum', entry([['array']], sum)],
  ['subtract', entry([ANY, ANY], (args) => addOrSubtract('subtract', args, -1))],
  ['multiply', entry([ANY, ANY], multiply)],
  ['divide', entry([ANY, ANY], divide)],
  ['modulo', entry([ANY, ANY], modulo)],
  ['round', entry([N, N], round)],
  ['base64_decode', entry([S], ([s]) => base64Decode(str(s)))],
  ['sha256', entry([S], ([s]) => createHash('sha256').update(str(s)).digest('hex'))],
  ['md5', entry([S], ([s]) => createHash('md5').update(str(s)).digest('hex'))],
  ['base64_encode', entry([S], ([s]) => Buffer.from(str(s), 'utf8').toString('base64'))],
  ['path_canonicalize', entry([S], ([p]) => pathCanonicalize(str(p)))],
  ['truncate', entry([S, N], ([s, n]) => truncate(str(s), num(n)))],
  ['semver_compare', entry([S, S], ([v, r]) => semverCompare(str(v), str(r)))],
  ['parse_json', entry([S], ([s]) => parseJson(str(s)))],
  ['parse_yaml', entry([S], ([s]) => parseYaml(str(s)))],
  ['lookup', entry([['object', 'array'], SN], ([c, k]) => lookup(c, k))],
  ['items', entry([['object', 'array'], S, S], ([c, k, v]) => items(c, str(k), str(v)))],
  [
    'object_from_lists',
    entry([['array'], ['array']], ([k, v]) => objectFromLists(k as unknown[], v as unknown[])),
  ],
  ['random', entry([S], ([p]) => random(str(p)))],
  [
    'image_normalize',
    entry([S], ([i]) => withFunctionName('image_normalize', () => parseImageReference(str(i)).reference)),
  ],
  ['x509_decode', entry([S], ([pem]) => withFunctionName('x509_decode', () => x509Decode(str(pem))))],
  ['time_since', entry([S, S, S], ([l, a, b]) => timeSince(str(l), str(a), str(b)))],
  ['time_now', entry([], () => formatRfc3339(now()))],
  ['time_now_utc', entry([], () => formatRfc3339({ ...now(), offset: 0 }))],
  [
    'time_add',
    entry([S, S], ([t, d]) =>
      formatRfc3339(addNanos(timeArg('time_add', t), durationArg('time_add', str(d)))),
    ),
  ],
  ['time_parse', entry([S, S], ([l, v]) => timeParse(str(l), str(v)))],
  ['time_to_cron', entry([S], ([t]) => timeToCron(timeArg('time_to_cron', t)))],
  ['time_utc', entry([S], ([t]) => formatRfc3339({ ...timeArg('time_utc', t), offset: 0 }))],
  [
    'time_diff',
    entry([S, S], ([a, b]) => formatGoDuration(diffNanos(timeArg('time_diff', a), timeArg('time_diff', b)))),
  ],
  [
    'time_before',
    entry([S, S], ([a, b]) => diffNanos(timeArg('time_before', b), timeArg('time_before', a)) < 0),
  ],
  [
    'time_after',
    entry([S, S], ([a, b]) => diffNanos(timeArg('time_after', b), timeArg('time_after', a)) > 0),
  ],
  [
    'time_between',
    entry([S, S, S], ([t, start, end]) => {
      const at = timeArg('time_between', t)
      return (
        diffNanos(timeArg('time_between', start), at) > 0 && diffNanos(at, timeArg('time_between', end)) > 0
      )
    }),
  ],
  [
    'time_truncate',
    entry([S, S], ([t, d]) =>
      formatRfc3339(truncateTime(timeArg('time_truncate', t), durationArg('time_truncate', str(d)))),
    ),
  ],
])
