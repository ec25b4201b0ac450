/**
 * One scalar of a Kyverno `pattern` against one resource value: `a | b` (any), `a & b` (all), `!x`, the
 * comparisons `>`, `>=`, `<`, `<=` on durations and Kubernetes quantities, ranges `1-5` and `1!-5`, and
 * wildcards `*` / `?` for everything else. Type rules follow Kyverno's: a number pattern accepts a
 * numeric string, `null` accepts any zero value, and numbers are printed the way Go prints them before a
 * wildcard sees them.
 */
import { Quantity } from '../cel/quantity.js'
import { formatGoFloatE, parseGoDuration, parseGoFloat } from './go-scalars.js'
import { wildcardMatch } from './wildcard.js'

type Operator = '' | '!' | '>' | '>=' | '<' | '<=' | 'range' | 'notRange'

const ENDPOINT = String.raw`[-|+]?\d+(?:\.\d+)?[A-Za-z]*`
const IN_RANGE = new RegExp(`^(${ENDPOINT})-(${ENDPOINT})$`)
const NOT_IN_RANGE = new RegExp(`^(${ENDPOINT})!-(${ENDPOINT})$`)
const PREFIXES = ['>=', '<=', '>', '<', '!'] as const

function operatorOf(pattern: string): Operator {
  if (pattern.length < 2) return ''
  const prefix = PREFIXES.find((p) => pattern.startsWith(p))
  if (prefix) return prefix
  if (NOT_IN_RANGE.test(pattern)) return 'notRange'
  if (IN_RANGE.test(pattern)) return 'range'
  return ''
}

/** Kubernetes rejects surrounding blanks in a quantity; our parser would forgive them. */
function parseQuantity(text: string): Quantity | undefined {
  return text === text.trim() ? Quantity.parse(text) : undefined
}

/** Resource integers decode as Go int64, other numbers as float64; the two print differently. */
function isInt64(value: number): boolean {
  return Number.isInteger(value) && Math.abs(value) < 2 ** 63
}

/** What Kyverno compares durations and quantities against: a missing value counts as zero. */
function numericText(value: unknown): string | undefined {
  if (value === null || value === undefined) return '0'
  if (typeof value === 'string') return value
  if (typeof value === 'number') return isInt64(value) ? String(value) : value.toFixed(6)
  return undefined
}

function compareBy(op: Operator, order: number): boolean | undefined {
  switch (op) {
    case '':
      return order === 0
    case '!':
      return order !== 0
    case '>':
      return order > 0
    case '<':
      return order < 0
    case '>=':
      return order >= 0
    case '<=':
      return order <= 0
    default:
      return undefined
  }
}

function compareDurations(value: unknown, operand: string, op: Operator): boolean | undefined {
  const expected = parseGoDuration(operand)
  const text = numericText(value)
  const actual = text === undefined ? undefined : parseGoDuration(text)
  if (expected === undefined || actual === undefined) return undefined
  return compareBy(op, Math.sign(actual - expected))
}

function compareQuantities(value: unknown, operand: string, op: Operator): boolean | undefined {
  const expected = parseQuantity(operand)
  const text = numericText(value)
  const actual = text === undefined ? undefined : parseQuantity(text)
  if (!expected || !actual) return undefined
  return compareBy(op, actual.compareTo(expected))
}

/** The string a wildcard is matched against, or `undefined` for values Kyverno refuses to print. */
function printed(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'boolean') return String(value)
  if (typeof value === 'number') return isInt64(value) ? String(value) : formatGoFloatE(value)
  return undefined
}

function compareText(value: unknown, operand: string, op: Operator): boolean {
  if (op !== '' && op !== '!') return false
  const text = printed(value)
  if (text === undefined) return false
  return wildcardMatch(operand, text) === (op === '')
}

function matchTerm(value: unknown, term: string): boolean {
  const op = operatorOf(term)
  if (op === 'range' || op === 'notRange') {
    const [, low, high] = (op === 'range' ? IN_RANGE : NOT_IN_RANGE).exec(term)!
    return op === 'range'
      ? matchTerm(value, `>= ${low}`) && matchTerm(value, `<= ${high}`)
      : matchTerm(value, `< ${low}`) || matchTerm(value, `> ${high}`)
  }
  const operand = term.slice(op.length).trim()
  return (
    compareDurations(value, operand, op) ??
    compareQuantities(value, operand, op) ??
    compareText(value, operand, op)
  )
}

function matchStringPattern(value: unknown, pattern: string): boolean {
  if (value === pattern) return true
  return pattern.split('|').some((alternative) =>
    alternative
      .replace(/^ +| +$/g, '')
      .split('&')
      .every((term) => matchTerm(value, term.replace(/^ +| +$/g, ''))),
  )
}

function matchNumberPattern(value: unknown, pattern: number): boolean {
  if (typeof value === 'number') return value === pattern
  if (typeof value === 'string') return parseGoFloat(value) === pattern
  return false
}

function isZeroValue(value: unknown): boolean {
  return value === null || value === undefined || value === 0 || value === '' || value === false
}

/** Whether a resource value satisfies a scalar pattern (a map pattern only asks for a map). */
export function matchValue(value: unknown, pattern: unknown): boolean {
  if (pattern === null) return isZeroValue(value)
  switch (typeof pattern) {
    case 'boolean':
      return value === pattern
    case 'number':
      return matchNumberPattern(value, pattern)
    case 'string':
      return matchStringPattern(value, pattern)
    case 'object':
      return !Array.isArray(pattern) && value !== null && typeof value === 'object' && !Array.isArray(value)
    default:
      return false
  }
}

/** Whether a string is a Kyverno range such as `1-5` or `100m-2`. */
export function isRange(text: string): boolean {
  return operatorOf(text) === 'range'
}

/** Variables are substituted later; their operands cannot be checked before. */
const UNRESOLVED = /\{\{|\$\(/

/**
 * Load-time check of a string pattern: a comparison needs a duration or quantity to compare with.
 * Returns what is wrong, or `undefined` when the pattern is well formed.
 */
export function valuePatternProblem(pattern: string): string | undefined {
  if (UNRESOLVED.test(pattern)) return undefined
  for (const alternative of pattern.split('|')) {
    for (const raw of alternative.split('&')) {
      const term = raw.trim()
      const op = operatorOf(term)
      if (op !== '>' && op !== '>=' && op !== '<' && op !== '<=') continue
      const operand = term.slice(op.length).trim()
      if (parseGoDuration(operand) === undefined && !parseQuantity(operand))
        return `'${term}' compares with '${operand}', which is neither a number, a quantity nor a duration`
    }
  }
  return undefined
}
