import { describe, expect, it } from 'vitest'
import {
  type Condition,
  ConditionError,
  checkConditionBlock,
  evaluateCondition,
  evaluateConditions,
} from '../../src/policy/kyverno/conditions.js'

const holds = (key: unknown, operator: string, value?: unknown) => evaluateCondition({ key, operator, value })

describe('Equals and NotEquals', () => {
  it('compare strings with the value as a wildcard pattern', () => {
    expect(holds('nginx:1.2', 'Equals', 'nginx:*')).toBe(true)
    expect(holds('CREATE', 'Equals', 'UPDATE')).toBe(false)
    expect(holds('CREATE', 'NotEquals', 'UPDATE')).toBe(true)
  })

  it('accept the deprecated names and any letter case', () => {
    expect(holds('a', 'Equal', 'a')).toBe(true)
    expect(holds('a', 'NotEqual', 'b')).toBe(true)
    expect(holds('a', 'equals', 'a')).toBe(true)
    expect(holds('a', 'NOTEQUALS', 'a')).toBe(false)
  })

  it('compare a number key with a number or a numeric string, but not the other way round', () => {
    expect(holds(1, 'Equals', 1)).toBe(true)
    expect(holds(1, 'Equals', '1')).toBe(true)
    expect(holds('1', 'Equals', 1)).toBe(false)
  })

  it('NotEquals is the negation of Equals, also for values Equals cannot compare', () => {
    expect(holds('1', 'NotEquals', 1)).toBe(true)
    // openshift/check-routes: `{{ request.operation }} NotEquals ["DELETE"]` holds on CREATE
    expect(holds('CREATE', 'NotEquals', ['DELETE'])).toBe(true)
    expect(holds('DELETE', 'NotEquals', 'DELETE')).toBe(false)
  })

  it('compare quantities and durations by value', () => {
    expect(holds('1Gi', 'Equals', '1024Mi')).toBe(true)
    expect(holds('1h', 'Equals', '60m')).toBe(true)
    expect(holds('1m', 'Equals', 60)).toBe(true)
  })

  it('compare maps and lists deeply', () => {
    expect(holds({ a: [1, { b: 'c' }] }, 'Equals', { a: [1, { b: 'c' }] })).toBe(true)
    expect(holds(['a', 'b'], 'Equals', ['b', 'a'])).toBe(false)
    expect(holds({ a: 1 }, 'NotEquals', { a: 2 })).toBe(true)
  })

  it('compare booleans only with booleans', () => {
    expect(holds(true, 'Equals', true)).toBe(true)
    expect(holds(true, 'Equals', 'true')).toBe(false)
  })
})

describe('ordering operators', () => {
  it('compare numbers and numeric strings', () => {
    expect(holds(5, 'GreaterThan', 3)).toBe(true)
    expect(holds('5', 'GreaterThan', 3)).toBe(true)
    expect(holds(3, 'GreaterThanOrEquals', '3')).toBe(true)
    expect(holds(2, 'LessThan', 3)).toBe(true)
    expect(holds(3, 'LessThanOrEquals', 2)).toBe(false)
  })

  it('compare quantities and durations', () => {
    expect(holds('2Gi', 'GreaterThan', '1500Mi')).toBe(true)
    expect(holds('500m', 'LessThan', '1')).toBe(true)
    expect(holds('2h', 'GreaterThan', '90m')).toBe(true)
    expect(holds('30m', 'LessThan', 3600)).toBe(true)
  })

  it('compare semantic versions', () => {
    expect(holds('1.10.0', 'GreaterThan', '1.9.3')).toBe(true)
    expect(holds('1.0.0-alpha', 'LessThan', '1.0.0')).toBe(true)
    expect(holds('1.2.3', 'GreaterThan', 1)).toBe(false)
  })

  it('are false for values they cannot order', () => {
    expect(holds('abc', 'GreaterThan', 'abd')).toBe(false)
    expect(holds(true, 'LessThan', 1)).toBe(false)
  })

  it('keep the deprecated Duration operators', () => {
    expect(holds('2h', 'DurationGreaterThan', '1h')).toBe(true)
    expect(holds('2h', 'DurationLessThanOrEquals', '1h')).toBe(false)
    expect(holds(30, 'DurationLessThan', '1m')).toBe(true)
  })
})

describe('set operators', () => {
  it('AnyIn and AllIn look for key members in the value, with wildcards', () => {
    expect(holds(['a', 'b'], 'AnyIn', ['b', 'c'])).toBe(true)
    expect(holds(['a', 'b'], 'AllIn', ['b', 'c'])).toBe(false)
    expect(holds(['a', 'b'], 'AllIn', ['a', 'b', 'c'])).toBe(true)
    expect(holds('kube-system', 'AnyIn', ['kube-*'])).toBe(true)
    expect(holds(['NET_ADMIN', 'SYS_TIME'], 'AnyIn', ['NET_*'])).toBe(true)
  })

  it('AnyNotIn and AllNotIn are their complements', () => {
    expect(holds(['a', 'b'], 'AnyNotIn', ['a'])).toBe(true)
    expect(holds(['a', 'b'], 'AllNotIn', ['a'])).toBe(false)
    expect(holds(['x', 'y'], 'AllNotIn', ['a'])).toBe(true)
    expect(holds(['a'], 'AnyNotIn', ['a', 'b'])).toBe(false)
  })

  it('print numbers and booleans before comparing them', () => {
    expect(holds(8080, 'AnyIn', ['8080', '9090'])).toBe(true)
    expect(holds([true], 'AnyIn', [true])).toBe(true)
  })

  it('accept a single string or a JSON list in a string as the value', () => {
    expect(holds('a', 'AnyIn', 'a')).toBe(true)
    expect(holds(['a', 'b'], 'AllIn', '["a","b","c"]')).toBe(true)
    expect(holds('a', 'AnyIn', '["b"]')).toBe(false)
  })

  it('check membership of a range given as the value', () => {
    expect(holds([8080], 'AnyIn', '8000-9000')).toBe(true)
    expect(holds([7000], 'AnyIn', '8000-9000')).toBe(false)
    expect(holds([7000, 8500], 'AnyNotIn', '8000-9000')).toBe(true)
  })

  it('keep the deprecated In and NotIn', () => {
    expect(holds('CREATE', 'In', ['CREATE', 'UPDATE'])).toBe(true)
    expect(holds(['CREATE', 'DELETE'], 'In', ['CREATE', 'UPDATE'])).toBe(false)
    expect(holds('DELETE', 'NotIn', ['CREATE', 'UPDATE'])).toBe(true)
  })

  it('are false when the value is nothing to look in', () => {
    expect(holds('a', 'AnyIn', 5)).toBe(false)
    expect(holds('a', 'AnyNotIn', { a: 1 })).toBe(false)
  })
})

describe('condition blocks', () => {
  const yes: Condition = { key: 'a', operator: 'Equals', value: 'a' }
  const no: Condition = { key: 'a', operator: 'Equals', value: 'b', message: 'needs b' }

  it('treats a plain list as all', () => {
    expect(evaluateConditions([yes, yes])).toEqual({ ok: true })
    expect(evaluateConditions([yes, no])).toEqual({ ok: false, failed: no })
  })

  it('needs all of all and one of any', () => {
    expect(evaluateConditions({ any: [no, yes], all: [yes] }).ok).toBe(true)
    expect(evaluateConditions({ any: [no, no] }).ok).toBe(false)
    expect(evaluateConditions({ any: [yes], all: [no] })).toEqual({ ok: false, failed: no })
    expect(evaluateConditions({ any: [], all: [] }).ok).toBe(true)
    expect(evaluateConditions({}).ok).toBe(true)
  })

  it('validates blocks when loading', () => {
    expect(checkConditionBlock({ any: [{ key: '{{ x }}', operator: 'AnyIn', value: ['a'] }] })).toEqual({
      any: [{ key: '{{ x }}', operator: 'AnyIn', value: ['a'] }],
    })
    expect(() => checkConditionBlock([{ key: 'a', operator: 'Matches', value: 'b' }])).toThrow(ConditionError)
    expect(() => checkConditionBlock([{ key: 'a', operator: 'Matches', value: 'b' }])).toThrow(/'Matches'/)
    expect(() => checkConditionBlock({ some: [] })).toThrow(/only 'any' and 'all'/)
    expect(() => checkConditionBlock('all')).toThrow(ConditionError)
  })

  it('refuses to evaluate an unknown operator', () => {
    expect(() => holds('a', 'Contains', 'a')).toThrow(ConditionError)
  })
})
