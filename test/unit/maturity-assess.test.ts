/**
 * The judging rules of `plimsoll assess` (src/maturity/assess.ts), on small criteria written inline
 * (read by the catalogue's own parser) and facts given as maps: a criterion judged automatically,
 * partly (each answer against each verdict of the facts) and self-reported; the standing of a group
 * of criteria; the Level 2 foundations, the Level 3 gaps and the Level 4 next steps in their order;
 * and a condition that fails at run time.
 */
import { describe, expect, it } from 'vitest'
import { type Answers, type AnswerValue, parseAnswers } from '../../src/maturity/answers.js'
import {
  type Assessment,
  type AssessmentInputs,
  assess,
  type CriterionResult,
  type Standing,
  standingOf,
} from '../../src/maturity/assess.js'
import { type Criterion, parseCriterionFile } from '../../src/maturity/catalogue.js'
import type { FactValue } from '../../src/maturity/facts.js'

const NOW = new Date('2026-12-06T12:00:00Z')
const ALL_READ: AssessmentInputs = { repositories: ['repo'], cluster: 'prod', store: 'plimsoll.db' }

/** A criterion of the given id (its level and aspect from the id) and judgement fields (YAML). */
function criterion(id: string, fields: string, next = 'next: {effort: low, value: low}'): Criterion {
  const m = /^l([234])-(business-outcomes|people|process|policy|technology)-/.exec(id)!
  const text = [
    `id: ${id}`,
    `level: ${m[1]}`,
    `aspect: ${m[2]}`,
    `title: The title of ${id}`,
    'quote:',
    `  page: level-${m[1]}.md`,
    '  text: "A sentence of the model."',
    'advice: Do the thing.',
    fields.trim(),
    ...(m[1] === '4' ? [next] : []),
  ].join('\n')
  return parseCriterionFile(`${id}.yaml`, `${text}\n`)
}

const automatic = (id: string) =>
  criterion(
    id,
    `
judged: automatic
facts: [repo.ciTests]
meets: repo.ciTests >= 2
partly: repo.ciTests >= 1`,
  )

const partlyJudged = (id: string, question = 'policy-tests') =>
  criterion(
    id,
    `
judged: partly
facts: [repo.ciTests]
meets: repo.ciTests >= 2
partly: repo.ciTests >= 1
question: {id: ${question}, text: Are the policies tested?}`,
  )

const selfReported = (id: string, question: string) =>
  criterion(
    id,
    `
judged: self-reported
question: {id: ${question}, text: Is it so?}`,
  )

const facts = (entries: Record<string, FactValue['value']>): Map<string, FactValue> =>
  new Map(Object.entries(entries).map(([k, value]) => [k, { value, sources: [`seen: ${k}`] }]))

function answers(criteria: readonly Criterion[], given: Record<string, AnswerValue>): Answers {
  const lines = ['answeredBy: Platform team', 'answeredAt: 2026-12-01', 'answers:']
  for (const [q, v] of Object.entries(given)) lines.push(`  ${q}: ${v}`)
  return parseAnswers('answers.yaml', `${lines.join('\n')}\n`, criteria)
}

function judge(
  criteria: readonly Criterion[],
  f: Map<string, FactValue>,
  a?: Answers,
  inputs: AssessmentInputs = ALL_READ,
): Assessment {
  return assess(criteria, f, a, { now: NOW, inputs })
}

const one = (a: Assessment, id: string): CriterionResult => a.criteria.find((c) => c.id === id)!

describe('a criterion judged automatically', () => {
  const c = automatic('l3-process-ci-tests')

  it.each([
    [3, 'meets', 'the evidence shows it'],
    [2, 'meets', 'the evidence shows it'],
    [1, 'partly', 'the evidence shows part of it'],
    [0, 'not-yet', 'the evidence does not show it'],
  ] as const)('repo.ciTests = %d: %s', (n, standing, why) => {
    const r = one(judge([c], facts({ 'repo.ciTests': n })), c.id)
    expect(r.standing).toBe(standing)
    expect(r.why).toBe(why)
    expect(r.evidence).toEqual([
      {
        fact: 'repo.ciTests',
        description: 'CI definition files that run tests',
        value: n,
        sources: ['seen: repo.ciTests'],
      },
    ])
    expect(r.unknownFacts).toEqual([])
    expect(r.answer).toBeUndefined()
    expect(r.question).toBeUndefined()
  })

  it('is unknown, never not yet, when its fact is unknown: no repository read', () => {
    const r = one(judge([c], new Map(), undefined, { repositories: [] }), c.id)
    expect(r.standing).toBe('unknown')
    expect(r.unknownFacts).toEqual(['repo.ciTests'])
    expect(r.evidence).toEqual([])
    expect(r.why).toBe('not known: repo.ciTests (no repository was read (--repo))')
  })

  it('is unknown when the repository was read but had nothing to measure it on', () => {
    const r = one(judge([c], new Map()), c.id)
    expect(r.standing).toBe('unknown')
    expect(r.why).toBe(
      'not known: repo.ciTests (the repository had nothing to measure repo.* on, or could not be read in full)',
    )
  })

  it('is unknown when one of its facts is, though the others are known', () => {
    const both = criterion(
      'l3-technology-alerting-dashboards',
      `
judged: automatic
facts: [repo.alertRules, store.usageSnapshots]
meets: repo.alertRules > 0 && store.usageSnapshots > 0`,
    )
    const r = one(judge([both], facts({ 'repo.alertRules': 4 })), both.id)
    expect(r.standing).toBe('unknown')
    expect(r.evidence.map((e) => e.fact)).toEqual(['repo.alertRules'])
    expect(r.unknownFacts).toEqual(['store.usageSnapshots'])
  })

  it('without a partly condition, what is not met is not yet', () => {
    const c2 = criterion(
      'l3-technology-autoscalers',
      `
judged: automatic
facts: [cluster.autoscalers]
meets: cluster.autoscalers > 0`,
    )
    expect(one(judge([c2], facts({ 'cluster.autoscalers': 0 })), c2.id).standing).toBe('not-yet')
    expect(one(judge([c2], facts({ 'cluster.autoscalers': 1 })), c2.id).standing).toBe('meets')
  })

  it('asks nothing, whatever the answers say', () => {
    const asks = partlyJudged('l3-policy-self-enforcing')
    const r = one(
      judge([c, asks], facts({ 'repo.ciTests': 0 }), answers([asks], { 'policy-tests': 'yes' })),
      c.id,
    )
    expect(r.standing).toBe('not-yet')
    expect(r.answer).toBeUndefined()
  })
})

describe('a criterion judged partly: the facts and the answer', () => {
  const c = partlyJudged('l3-policy-self-enforcing')
  /** repo.ciTests for each verdict of the facts (undefined: unknown) */
  const verdicts = { meets: 2, partly: 1, 'not-yet': 0, unknown: undefined } as const
  const expected: Record<keyof typeof verdicts, Record<AnswerValue | 'none', Standing>> = {
    // met only when both agree; a no, or no answer, leaves at most partly
    meets: { yes: 'meets', partly: 'partly', no: 'partly', none: 'partly' },
    partly: { yes: 'partly', partly: 'partly', no: 'partly', none: 'partly' },
    // a yes the evidence does not bear out is partly
    'not-yet': { yes: 'partly', partly: 'partly', no: 'not-yet', none: 'not-yet' },
    // unknown facts: the answer alone can say no, or partly at most
    unknown: { yes: 'partly', partly: 'partly', no: 'not-yet', none: 'unknown' },
  }
  const cases = Object.entries(expected).flatMap(([verdict, byAnswer]) =>
    Object.entries(byAnswer).map(([answer, standing]) => [verdict, answer, standing] as const),
  )

  it.each(cases)('facts %s, answer %s: %s', (verdict, answer, standing) => {
    const n = verdicts[verdict as keyof typeof verdicts]
    const f = n === undefined ? new Map<string, FactValue>() : facts({ 'repo.ciTests': n })
    const a = answer === 'none' ? undefined : answers([c], { 'policy-tests': answer as AnswerValue })
    const r = one(judge([c], f, a), c.id)
    expect(r.standing).toBe(standing)
    expect(r.question).toEqual({ id: 'policy-tests', text: 'Are the policies tested?' })
    if (answer === 'none') {
      expect(r.answer).toBeUndefined()
      if (standing !== 'not-yet' || verdict !== 'not-yet') expect(r.why).toContain('unanswered')
    } else {
      expect(r.answer).toMatchObject({
        question: 'policy-tests',
        value: answer,
        answeredBy: 'Platform team',
        answeredAt: '2026-12-01',
        selfReported: true,
      })
      expect(r.why).toContain(`answered ${answer} by Platform team on 2026-12-01`)
    }
  })

  it('says why a yes the evidence does not bear out is only partly', () => {
    const r = one(judge([c], facts({ 'repo.ciTests': 0 }), answers([c], { 'policy-tests': 'yes' })), c.id)
    expect(r.why).toBe(
      'the evidence does not show it, though answered yes by Platform team on 2026-12-01: the evidence does not bear it out',
    )
  })
})

describe('a self-reported criterion', () => {
  const c = selfReported('l3-people-platform-team', 'platform-team')

  it.each([
    ['yes', 'meets'],
    ['partly', 'partly'],
    ['no', 'not-yet'],
  ] as const)('answered %s: %s, marked self-reported with who and when', (value, standing) => {
    const r = one(judge([c], new Map(), answers([c], { 'platform-team': value })), c.id)
    expect(r.standing).toBe(standing)
    expect(r.why).toBe(`self-reported: answered ${value} by Platform team on 2026-12-01`)
    expect(r.answer).toEqual({
      value,
      answeredBy: 'Platform team',
      answeredAt: '2026-12-01',
      question: 'platform-team',
      questionText: 'Is it so?',
      selfReported: true,
    })
    expect(r.evidence).toEqual([])
  })

  it('unanswered: unknown, never met, whatever the evidence', () => {
    const r = one(judge([c], facts({ 'repo.ciTests': 5 })), c.id)
    expect(r.standing).toBe('unknown')
    expect(r.why).toBe("no tool can see this: the questionnaire's question platform-team is unanswered")
  })
})

describe('the standing of a group of criteria', () => {
  const counts = (meets: number, partly: number, notYet: number, unknown: number) => ({
    meets,
    partly,
    notYet,
    unknown,
    total: meets + partly + notYet + unknown,
  })

  it.each([
    ['nothing', counts(0, 0, 0, 0), 'unknown'],
    ['half unknown', counts(2, 0, 0, 2), 'unknown'],
    ['more than half unknown', counts(1, 0, 0, 2), 'unknown'],
    ['all met', counts(4, 0, 0, 0), 'meets'],
    ['all met but one unknown', counts(3, 0, 0, 1), 'partly'],
    ['none met, even partly', counts(0, 0, 3, 1), 'not-yet'],
    ['some partly', counts(0, 1, 3, 0), 'partly'],
    ['some met', counts(1, 0, 2, 0), 'partly'],
  ] as const)('%s: %s', (_name, c, standing) => {
    expect(standingOf(c)).toBe(standing)
  })

  it("each aspect's standing, counts and score come from its Level 3 criteria alone", () => {
    const criteria = [
      automatic('l3-process-ci-tests'),
      criterion(
        'l3-process-continuous-scanning',
        'judged: automatic\nfacts: [store.ciScanDays]\nmeets: store.ciScanDays >= 10',
      ),
      selfReported('l3-process-progressive-delivery', 'progressive-delivery'),
      selfReported('l3-process-release-centre-of-excellence', 'release-measures'),
      selfReported('l3-people-platform-team', 'platform-team'),
      // Level 2 and 4 are not in the aspects
      automatic('l2-process-ci-tests'),
      automatic('l4-process-dora-metrics'),
    ]
    const a = judge(
      criteria,
      facts({ 'repo.ciTests': 2, 'store.ciScanDays': 3 }),
      answers(criteria, { 'progressive-delivery': 'partly', 'platform-team': 'yes' }),
    )
    const process = a.aspects.find((s) => s.aspect === 'process')!
    // met, not yet, partly, unknown
    expect(process).toEqual({
      aspect: 'process',
      meets: 1,
      partly: 1,
      notYet: 1,
      unknown: 1,
      total: 4,
      standing: 'partly',
      score: 1.5 / 4,
    })
    expect(a.aspects.find((s) => s.aspect === 'people')).toMatchObject({ standing: 'meets', total: 1 })
    expect(a.aspects.find((s) => s.aspect === 'policy')).toMatchObject({ standing: 'unknown', total: 0 })
    expect(a.level3).toMatchObject({
      meets: 2,
      partly: 1,
      notYet: 1,
      unknown: 1,
      total: 5,
      standing: 'partly',
    })
    expect(a.level3.score).toBeCloseTo(2.5 / 5, 9)
  })
})

describe('foundations, gaps and what is next', () => {
  const l4 = (id: string, effort: string, value: string) =>
    criterion(
      id,
      'judged: automatic\nfacts: [repo.ciTests]\nmeets: repo.ciTests >= 2',
      `next: {effort: ${effort}, value: ${value}}`,
    )

  it('lists the Level 4 criteria not met, most valuable first, then least effort, then by id', () => {
    const criteria = [
      l4('l4-process-a', 'high', 'high'),
      l4('l4-process-b', 'low', 'medium'),
      l4('l4-process-c', 'low', 'high'),
      l4('l4-process-d', 'medium', 'high'),
      l4('l4-process-e', 'low', 'low'),
      l4('l4-policy-f', 'low', 'high'),
      l4('l4-people-g', 'medium', 'medium'),
    ]
    const a = judge(criteria, facts({ 'repo.ciTests': 0 }))
    expect(a.next).toEqual([
      'l4-policy-f',
      'l4-process-c',
      'l4-process-d',
      'l4-process-a',
      'l4-process-b',
      'l4-people-g',
      'l4-process-e',
    ])
    expect(one(a, 'l4-process-a').next).toEqual({ effort: 'high', value: 'high' })
    // met: not a next step; unknown: still one
    expect(judge(criteria, facts({ 'repo.ciTests': 2 })).next).toEqual([])
    expect(judge(criteria, new Map()).next).toHaveLength(7)
  })

  it('foundations: the Level 2 criteria not met (unknown too); gaps: the Level 3 ones partly or not yet', () => {
    const criteria = [
      automatic('l2-process-ci-tests'),
      criterion(
        'l2-technology-autoscalers',
        'judged: automatic\nfacts: [cluster.autoscalers]\nmeets: cluster.autoscalers > 0',
      ),
      criterion(
        'l2-technology-secret-management',
        'judged: automatic\nfacts: [repo.managedSecrets]\nmeets: repo.managedSecrets > 0',
      ),
      automatic('l3-process-ci-tests'),
      criterion(
        'l3-technology-autoscalers',
        'judged: automatic\nfacts: [cluster.autoscalers]\nmeets: cluster.autoscalers > 0',
      ),
      criterion(
        'l3-technology-infrastructure-as-code',
        'judged: automatic\nfacts: [repo.iacFiles]\nmeets: repo.iacFiles > 0',
      ),
      criterion(
        'l3-technology-secret-management',
        'judged: automatic\nfacts: [repo.managedSecrets]\nmeets: repo.managedSecrets > 0',
      ),
      selfReported('l3-people-platform-team', 'platform-team'),
    ]
    // ciTests 1: partly; autoscalers 0: not yet; iacFiles 3: met; managedSecrets unknown
    const a = judge(criteria, facts({ 'repo.ciTests': 1, 'cluster.autoscalers': 0, 'repo.iacFiles': 3 }))
    expect(a.foundations).toEqual([
      'l2-process-ci-tests',
      'l2-technology-autoscalers',
      'l2-technology-secret-management',
    ])
    expect(a.gaps).toEqual(['l3-process-ci-tests', 'l3-technology-autoscalers'])
    expect(a.criteria.map((c) => c.id)).toEqual(criteria.map((c) => c.id))
  })
})

describe('a condition that fails at run time', () => {
  it('leaves the criterion unknown, saying why, rather than met or not yet', () => {
    const c = criterion(
      'l3-technology-monitoring-usage',
      `
judged: automatic
facts: [cluster.monitoring]
meets: cluster.monitoring[3] == 'alertmanager'`,
    )
    const r = one(judge([c], facts({ 'cluster.monitoring': ['prometheus'] })), c.id)
    expect(r.standing).toBe('unknown')
    expect(r.why).toMatch(/^its condition failed on this evidence: .*index/i)
    // the evidence it read is still shown
    expect(r.evidence.map((e) => e.value)).toEqual([['prometheus']])
    expect(
      one(judge([c], facts({ 'cluster.monitoring': ['a', 'b', 'c', 'alertmanager'] })), c.id).standing,
    ).toBe('meets')
  })

  it('in the partly condition too, and in a criterion judged partly whatever the answer', () => {
    const c = criterion(
      'l3-technology-monitoring-usage',
      `
judged: partly
facts: [cluster.monitoring]
meets: size(cluster.monitoring) > 5
partly: cluster.monitoring[2] == 'x'
question: {id: whole-cluster, text: Is the whole cluster monitored?}`,
    )
    const f = facts({ 'cluster.monitoring': ['prometheus'] })
    const none = one(judge([c], f), c.id)
    expect(none.standing).toBe('unknown')
    expect(none.why).toMatch(
      /^its condition failed on this evidence: .*index out of bounds.*, and question whole-cluster is unanswered$/s,
    )
    const yes = one(judge([c], f, answers([c], { 'whole-cluster': 'yes' })), c.id)
    expect(yes.standing).toBe('partly')
    expect(yes.why).toContain('its condition failed on this evidence')
  })
})
