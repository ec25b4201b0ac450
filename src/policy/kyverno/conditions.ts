/**
 * Kyverno conditions (`preconditions`, `deny.conditions`, foreach `preconditions`): `key operator value`
 * triples whose variables have already been substituted. Operator names are case-insensitive, as in
 * Kyverno. Equality and ordering understand durations (`1h`, or a number of seconds on one side),
 * Kubernetes quantities (`1Gi`), numeric strings and, for ordering, semantic versions; the set operators
 * compare the printed forms of members with wildcards either way round and accept a range such as `1-3`.
 */
import { Quantity } from '../cel/quantity.js'
import { isJsonMap } from '../json-map.js'
import {
  compareSemver,
  goSprint,
  parseGoDuration,
  parseGoFloat,
  parseGoInt,
  parseSemver,
} from './go-scalars.js'
import { isRange, matchValue } from './value-operators.js'
import { wildcardMatch } from './wildcard.js'

export interface Condition {
  key: unknown
  operator: string
  value?: unknown
  message?: string
}

export type ConditionBlock = readonly Condition[] | { any?: readonly Condition[]; all?: readonly Condition[] }

/** A condition Kyverno cannot evaluate, such as an unknown operator. */
export class ConditionError extends Error {
  override name = 'ConditionError'
}

type Order = 'GreaterThan' | 'GreaterThanOrEquals' | 'LessThan' | 'LessThanOrEquals'
type Membership = 'In' | 'NotIn' | 'AnyIn' | 'AllIn' | 'AnyNotIn' | 'AllNotIn'

type Operator =
  | { family: 'equality'; negated: boolean }
  | { family: 'order'; order: Order }
  | { family: 'duration'; order: Order }
  | { family: 'membership'; membership: Membership }

const ORDERS: readonly Order[] = ['GreaterThan', 'GreaterThanOrEquals', 'LessThan', 'LessThanOrEquals']
const MEMBERSHIPS: readonly Membership[] = ['In', 'NotIn', 'AnyIn', 'AllIn', 'AnyNotIn', 'AllNotIn']

const OPERATORS = new Map<string, Operator>([
  ['equal', { family: 'equality', negated: false }],
  ['equals', { family: 'equality', negated: false }],
  ['notequal', { family: 'equality', negated: true }],
  ['notequals', { family: 'equality', negated: true }],
  ...ORDERS.map((order): [string, Operator] => [order.toLowerCase(), { family: 'order', order }]),
  ...ORDERS.map((order): [string, Operator] => [
    `duration${order.toLowerCase()}`,
    { family: 'duration', order },
  ]),
  ...MEMBERSHIPS.map((membership): [string, Operator] => [
    membership.toLowerCase(),
    { family: 'membership', membership },
  ]),
])

const OPERATOR_NAMES = [
  'Equals',
  'NotEquals',
  ...MEMBERSHIPS,
  ...ORDERS,
  ...ORDERS.map((o) => `Duration${o}`),
  'Equal',
  'NotEqual',
].join(', ')

function operatorOf(name: string): Operator {
  const operator = OPERATORS.get(name.toLowerCase())
  if (!operator)
    throw new ConditionError(`unknown condition operator '${name}': expected one of ${OPERATOR_NAMES}`)
  return operator
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
  if (!isJsonMap(a) || !isJsonMap(b)) return false
  const keys = Object.keys(a)
  return (
    keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
  )
}

/**
 * Kyverno lets one side be a duration string and the other a duration or a number of seconds; the
 * string `"0"` does not count as a duration. Returns both sides in nanoseconds.
 */
function durations(key: unknown, value: unknown): [number, number] | undefined {
  const asDuration = (x: unknown) => (typeof x === 'string' && x !== '0' ? parseGoDuration(x) : undefined)
  const [k, v] = [asDuration(key), asDuration(value)]
  if (k === undefined && v === undefined) return undefined
  const orSeconds = (d: number | undefined, x: unknown) => d ?? (typeof x === 'number' ? x * 1e9 : undefined)
  const [kd, vd] = [orSeconds(k, key), orSeconds(v, value)]
  return kd === undefined || vd === undefined ? undefined : [kd, vd]
}

function quantity(x: unknown): Quantity | undefined {
  return typeof x === 'string' && x === x.trim() ? Quantity.parse(x) : undefined
}

/** Equality as Kyverno decides it; `undefined` when the two sides are of types it does not compare. */
function equality(key: unknown, value: unknown): boolean | undefined {
  if (typeof key === 'boolean') return typeof value === 'boolean' ? key === value : undefined
  if (typeof key === 'number') {
    if (typeof value === 'number') return key === value
    const parsed = typeof value === 'string' ? parseGoFloat(value) : undefined
    return parsed === undefined ? undefined : parsed === key
  }
  if (typeof key === 'string') {
    const d = durations(key, value)
    if (d) return d[0] === d[1]
    const [kq, vq] = [quantity(key), quantity(value)]
    if (kq && vq) return kq.compareTo(vq) === 0
    // The value is the wildcard pattern: `key: nginx:1.2`, `value: nginx:*`.
    return typeof value === 'string' ? wildcardMatch(value, key) : undefined
  }
  if (Array.isArray(key)) return Array.isArray(value) ? deepEqual(key, value) : undefined
  if (isJsonMap(key)) return isJsonMap(value) ? deepEqual(key, value) : undefined
  return undefined
}

function ordered(order: Order, sign: number): boolean {
  switch (order) {
    case 'GreaterThan':
      return sign > 0
    case 'GreaterThanOrEquals':
      return sign >= 0
    case 'LessThan':
      return sign < 0
    case 'LessThanOrEquals':
      return sign <= 0
  }
}

function numberFrom(value: unknown): number | undefined {
  if (typeof value === 'number') return value
  if (typeof value !== 'string') return undefined
  return parseGoFloat(value) ?? parseGoInt(value)
}

/** The sign of key − value for the ordering operators, or `undefined` when they cannot be compared. */
function compareOrdered(key: unknown, value: unknown): number | undefined {
  const d = durations(key, value)
  if (d) return Math.sign(d[0] - d[1])
  if (typeof key === 'string') {
    const [kq, vq] = [quantity(key), quantity(value)]
    if (kq && vq) return kq.compareTo(vq)
    const [ks, vs] = [parseSemver(key), typeof value === 'string' ? parseSemver(value) : undefined]
    if (numberFrom(key) === undefined && ks) return vs ? Math.sign(compareSemver(ks, vs)) : undefined
  }
  if (typeof key !== 'number' && typeof key !== 'string') return undefined
  const [k, v] = [numberFrom(key), numberFrom(value)]
  return k === undefined || v === undefined ? undefined : Math.sign(k - v)
}

/** The deprecated `Duration*` operators: both sides are durations, or seconds. */
function compareDurations(key: unknown, value: unknown): number | undefined {
  const d = durations(key, value)
  return d ? Math.sign(d[0] - d[1]) : undefined
}

/**
 * The members a membership operator looks in: a list, a JSON list of strings written as a string, or one
 * string. `undefined` for values Kyverno refuses (numbers, maps, JSON that is not a list of strings).
 */
function members(value: unknown): readonly string[] | undefined {
  if (Array.isArray(value)) return value.map(goSprint)
  if (typeof value !== 'string') return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return [value]
  }
  return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? parsed : undefined
}

function keyMembers(key: unknown): readonly string[] | undefined {
  if (Array.isArray(key)) return key.map(goSprint)
  if (typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean') return [goSprint(key)]
  return undefined
}

/** Whether one key member is in the value: wildcards count on either side, a range holds numbers. */
function contains(value: unknown, member: string): boolean | undefined {
  if (typeof value === 'string') {
    if (wildcardMatch(value, member)) return true
    if (isRange(value)) return matchValue(member, value)
  }
  const list = members(value)
  if (!list) return undefined
  return list.some((candidate) => wildcardMatch(candidate, member) || wildcardMatch(member, candidate))
}

function membership(kind: Membership, key: unknown, value: unknown): boolean {
  const keys = keyMembers(key)
  if (!keys) return false
  const hits = keys.map((k) => contains(value, k))
  // Kyverno answers false, whatever the operator, when the value is not something to look in.
  if (hits.includes(undefined)) return false
  const found = hits.filter(Boolean).length
  switch (kind) {
    case 'In':
    case 'AllIn':
      return found === keys.length
    case 'AnyIn':
      return found > 0
    case 'NotIn':
    case 'AnyNotIn':
      return found < keys.length
    case 'AllNotIn':
      return found === 0
  }
}

/** Evaluates one substituted condition. */
export function evaluateCondition(c: Condition): boolean {
  const operator = operatorOf(c.operator)
  switch (operator.family) {
    case 'equality': {
      // Current Kyverno negates Equals for NotEquals: values it cannot compare are "not equal".
      const equal = equality(c.key, c.value) ?? false
      return equal !== operator.negated
    }
    case 'order': {
      const sign = compareOrdered(c.key, c.value)
      return sign !== undefined && ordered(operator.order, sign)
    }
    case 'duration': {
      const sign = compareDurations(c.key, c.value)
      return sign !== undefined && ordered(operator.order, sign)
    }
    case 'membership':
      return membership(operator.membership, c.key, c.value)
  }
}

/** Kyverno semantics: a plain list means all; `{any, all}` needs all of `all` and, when present, one of `any`. */
export function evaluateConditions(block: ConditionBlock): { ok: boolean; failed?: Condition } {
  const [any, all] = Array.isArray(block)
    ? [undefined, block as readonly Condition[]]
    : [(block as { any?: readonly Condition[] }).any, (block as { all?: readonly Condition[] }).all]
  const failedAll = (all ?? []).find((c) => !evaluateCondition(c))
  if (failedAll) return { ok: false, failed: failedAll }
  if (any && any.length > 0 && !any.some(evaluateCondition)) return { ok: false, failed: any[any.length - 1] }
  return { ok: true }
}

function checkCondition(raw: unknown, where: string): Condition {
  if (!isJsonMap(raw)) throw new ConditionError(`${where}: a condition is a map with key, operator and value`)
  for (const field of Object.keys(raw)) {
    if (!['key', 'operator', 'value', 'message'].includes(field))
      throw new ConditionError(
        `${where}: unknown field '${field}'; a condition has key, operator, value, message`,
      )
  }
  if (typeof raw.operator !== 'string') throw new ConditionError(`${where}: the operator must be a string`)
  operatorOf(raw.operator)
  if (raw.message !== undefined && typeof raw.message !== 'string')
    throw new ConditionError(`${where}: the message must be a string`)
  return raw as unknown as Condition
}

function checkList(raw: unknown, where: string): readonly Condition[] {
  if (!Array.isArray(raw)) throw new ConditionError(`${where}: expected a list of conditions`)
  return raw.map((c, i) => checkCondition(c, `${where}[${i}]`))
}

/** Validates a condition block once, at load time; throws a ConditionError saying what was expected. */
export function checkConditionBlock(block: unknown): ConditionBlock {
  if (Array.isArray(block)) return checkList(block, 'conditions')
  if (!isJsonMap(block)) throw new ConditionError('conditions: expected a list, or a map with any and/or all')
  const extra = Object.keys(block).filter((k) => k !== 'any' && k !== 'all')
  if (extra.length > 0)
    throw new ConditionError(`conditions: only 'any' and 'all' may be given, found '${extra.join("', '")}'`)
  return {
    ...(block.any === undefined || block.any === null ? {} : { any: checkList(block.any, 'conditions.any') }),
    ...(block.all === undefined || block.all === null ? {} : { all: checkList(block.all, 'conditions.all') }),
  }
}
