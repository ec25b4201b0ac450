/**
 * The exception index gives the same answer as trying every rule in order: the first rule in file order
 * that matches wins, whatever mix of exact names, globs and labels the rules use.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ExceptionIndex, exceptionIndex } from '../../src/policy/exception-index.js'
import { type ExceptionRule, type ExceptionSubject, ruleMatches } from '../../src/policy/exceptions.js'

// Small alphabets, so that random rules and subjects often meet; globs share letters with the names.
const CHECKS = ['pss-a', 'pss-b', 'rbac-c', 'x']
const KINDS = ['Pod', 'Deployment', 'Job']
const NAMESPACES = ['', 'team-a', 'team-b']
const NAMES = ['api', 'apx', 'web', 'web-1']
const GLOBS = ['*', '?', 'pss-*', 'team-?', 'ap?', 'web*', '*-1', 'P*', '', 'a.i']

const list = (exact: string[]) =>
  fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...exact) }, fc.constantFrom(...GLOBS)), {
    maxLength: 3,
  })
const labels = fc.dictionary(fc.constantFrom('team', 'tier'), fc.constantFrom('a', 'b', ''), { maxKeys: 2 })

const rule = fc.record({
  checks: list(CHECKS),
  kinds: list(KINDS),
  namespaces: list(NAMESPACES),
  names: list(NAMES),
  labels,
})

const subject: fc.Arbitrary<ExceptionSubject> = fc.record({
  checkId: fc.constantFrom(...CHECKS),
  kind: fc.constantFrom(...KINDS),
  namespace: fc.constantFrom(...NAMESPACES),
  name: fc.constantFrom(...NAMES),
  labels: fc.dictionary(fc.constantFrom('team', 'tier', 'app'), fc.constantFrom('a', 'b', ''), {
    maxKeys: 3,
  }),
})

function rulesOf(drafts: Omit<ExceptionRule, 'file' | 'index' | 'owner' | 'reason' | 'expires'>[]) {
  return drafts.map((d, index) => ({
    ...d,
    file: 'exceptions.yaml',
    index,
    owner: 'o',
    reason: 'r',
    expires: '2999-12-31',
  }))
}

describe('ExceptionIndex', () => {
  it('returns the same rule as a linear find, for random rules and subjects', () => {
    fc.assert(
      fc.property(
        fc.array(rule, { maxLength: 40 }),
        fc.array(subject, { minLength: 1, maxLength: 30 }),
        (drafts, subjects) => {
          const rules = rulesOf(drafts)
          const index = new ExceptionIndex(rules)
          for (const s of subjects) expect(index.find(s)).toBe(rules.find((r) => ruleMatches(r, s)))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('lets an earlier wildcard rule win over a later exact one, and the reverse', () => {
    const rules = rulesOf([
      { checks: ['pss-*'], kinds: [], namespaces: ['team-a'], names: [], labels: {} },
      { checks: ['pss-a'], kinds: ['Pod'], namespaces: ['team-a'], names: ['api'], labels: {} },
      { checks: ['pss-b'], kinds: ['Pod'], namespaces: ['team-b'], names: ['api'], labels: {} },
      { checks: ['*'], kinds: [], namespaces: [], names: [], labels: {} },
    ])
    const index = new ExceptionIndex(rules)
    const s = { checkId: 'pss-a', kind: 'Pod', namespace: 'team-a', name: 'api', labels: {} }
    expect(index.find(s)).toBe(rules[0])
    expect(index.find({ ...s, checkId: 'pss-b', namespace: 'team-b' })).toBe(rules[2])
    expect(index.find({ ...s, checkId: 'other' })).toBe(rules[3])
  })

  it('is built once per list of rules', () => {
    const rules = rulesOf([{ checks: ['x'], kinds: [], namespaces: [], names: [], labels: {} }])
    expect(exceptionIndex(rules)).toBe(exceptionIndex(rules))
    expect(exceptionIndex([...rules])).not.toBe(exceptionIndex(rules))
  })
})
