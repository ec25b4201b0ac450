/**
 * An assessment: each criterion of the catalogue judged from the facts the collectors found and the
 * questionnaire's answers, with the evidence it rests on; a standing per aspect and for Level 3; the
 * Level 2 foundations missing; and the Level 4 criteria not met yet as "what is next", ordered by value
 * and effort. It knows nothing of where the facts came from (collect/) or how it is shown (report/).
 *
 * How a criterion is judged (docs/assess.md):
 * - any fact it reads is unknown: unknown (never "not yet": nothing was seen either way);
 * - automatic: met when `meets` holds, partly when `partly` holds, else not yet;
 * - partly: the facts can only show part of it, the answer confirms the rest. Met when `meets` holds
 *   and the answer is yes; an answer of no, or none, leaves at most partly; a yes over facts that say
 *   not yet is partly (the evidence does not bear it out);
 * - self-reported: the answer is all there is; unanswered is unknown.
 */
import type { Answer, Answers } from './answers.js'
import {
  ASPECTS,
  type Aspect,
  type Condition,
  type Criterion,
  factActivation,
  type Grade,
  type Judged,
} from './catalogue.js'
import { FACTS, type Facts, type FactValue } from './facts.js'

export const STANDINGS = ['meets', 'partly', 'not-yet', 'unknown'] as const
export type Standing = (typeof STANDINGS)[number]

export interface EvidenceItem {
  /** `<source>.<name>` */
  readonly fact: string
  readonly description: string
  readonly value: FactValue['value']
  readonly sources: readonly string[]
}

export interface AnswerEvidence extends Answer {
  readonly question: string
  readonly questionText: string
  /** always: no tool saw it */
  readonly selfReported: true
}

export interface CriterionResult {
  readonly id: string
  readonly level: 2 | 3 | 4
  readonly aspect: Aspect
  readonly title: string
  readonly quote: { readonly page: string; readonly text: string }
  readonly judged: Judged
  readonly standing: Standing
  /** why it stands there, in a sentence */
  readonly why: string
  /** the facts it read that are known, with where they were seen */
  readonly evidence: readonly EvidenceItem[]
  /** the facts it reads that no collector gave */
  readonly unknownFacts: readonly string[]
  /** the question it asks, when it asks one */
  readonly question?: { readonly id: string; readonly text: string }
  readonly answer?: AnswerEvidence
  readonly advice: string
  /** Level 4: what it would take and bring */
  readonly next?: { readonly effort: Grade; readonly value: Grade }
}

export interface StandingCounts {
  readonly meets: number
  readonly partly: number
  readonly notYet: number
  readonly unknown: number
  readonly total: number
}

export interface AspectResult extends StandingCounts {
  readonly aspect: Aspect
  readonly standing: Standing
  /** (meets + partly / 2) / total, unknowns counting nothing */
  readonly score: number
}

export interface AssessmentInputs {
  readonly repositories: readonly string[]
  /** the cluster's name (its kubeconfig context), when one was read */
  readonly cluster?: string
  /** the store read (a file or a PostgreSQL URL without credentials) */
  readonly store?: string
  readonly answers?: { readonly origin: string; readonly answeredBy: string; readonly answeredAt: string }
}

export interface Assessment {
  readonly version: 1
  readonly takenAt: string
  readonly inputs: AssessmentInputs
  /** what the collectors could not read */
  readonly problems: readonly string[]
  /** Level 3 as a whole, and per aspect */
  readonly level3: StandingCounts & { readonly standing: Standing; readonly score: number }
  readonly aspects: readonly AspectResult[]
  /** every criterion judged, in catalogue order */
  readonly criteria: readonly CriterionResult[]
  /** ids of Level 2 criteria not met: the foundations Level 3 builds on */
  readonly foundations: readonly string[]
  /** ids of Level 3 criteria partly met or not yet: the gaps */
  readonly gaps: readonly string[]
  /** ids of Level 4 criteria not met, most valuable and least effort first */
  readonly next: readonly string[]
}

export interface AssessOptions {
  readonly now: Date
  readonly inputs: AssessmentInputs
  readonly problems?: readonly string[]
}

const DESCRIPTIONS = new Map(FACTS.map((f) => [`${f.source}.${f.name}`, f.description]))

/** Judges every criterion and sums them up. */
export function assess(
  criteria: readonly Criterion[],
  facts: Facts,
  answers: Answers | undefined,
  options: AssessOptions,
): Assessment {
  const read = new Set<string>()
  if (options.inputs.repositories.length > 0) read.add('repo')
  if (options.inputs.cluster !== undefined) read.add('cluster')
  if (options.inputs.store !== undefined) read.add('store')
  const results = criteria.map((c) => judge(c, facts, answers, read))
  const level3 = results.filter((r) => r.level === 3)
  const aspects = ASPECTS.map((aspect): AspectResult => {
    const of = level3.filter((r) => r.aspect === aspect)
    const counts = countOf(of)
    return { aspect, ...counts, standing: standingOf(counts), score: scoreOf(counts) }
  })
  const all = countOf(level3)
  const grade = { low: 0, medium: 1, high: 2 } as const
  const next = results
    .filter((r) => r.level === 4 && r.standing !== 'meets')
    .sort(
      (a, b) =>
        grade[b.next!.value] - grade[a.next!.value] ||
        grade[a.next!.effort] - grade[b.next!.effort] ||
        a.id.localeCompare(b.id),
    )
  return {
    version: 1,
    takenAt: options.now.toISOString(),
    inputs: options.inputs,
    problems: options.problems ?? [],
    level3: { ...all, standing: standingOf(all), score: scoreOf(all) },
    aspects,
    criteria: results,
    foundations: results.filter((r) => r.level === 2 && r.standing !== 'meets').map((r) => r.id),
    gaps: level3.filter((r) => r.standing === 'partly' || r.standing === 'not-yet').map((r) => r.id),
    next: next.map((r) => r.id),
  }
}

function countOf(results: readonly CriterionResult[]): StandingCounts {
  const n = (s: Standing) => results.filter((r) => r.standing === s).length
  return {
    meets: n('meets'),
    partly: n('partly'),
    notYet: n('not-yet'),
    unknown: n('unknown'),
    total: results.length,
  }
}

function scoreOf(c: StandingCounts): number {
  return c.total === 0 ? 0 : (c.meets + c.partly / 2) / c.total
}

/**
 * A group's standing: unknown when half of it or more is unknown (too little seen to say), met when
 * all of it is, not yet when nothing of what is known is met even partly, else partly.
 */
export function standingOf(c: StandingCounts): Standing {
  if (c.total === 0 || c.unknown * 2 >= c.total) return 'unknown'
  if (c.meets === c.total) return 'meets'
  if (c.meets + c.partly === 0) return 'not-yet'
  return 'partly'
}

/** The facts' verdict on a criterion that has evidence conditions. */
type FactsVerdict =
  | { readonly kind: 'known'; readonly standing: 'meets' | 'partly' | 'not-yet' }
  | { readonly kind: 'unknown'; readonly why: string }

function judge(
  c: Criterion,
  facts: Facts,
  answers: Answers | undefined,
  read: ReadonlySet<string>,
): CriterionResult {
  const names = c.judged === 'self-reported' ? [] : c.facts
  const evidence: EvidenceItem[] = []
  const unknownFacts: string[] = []
  for (const name of names) {
    const found = facts.get(name)
    if (found)
      evidence.push({
        fact: name,
        description: DESCRIPTIONS.get(name) ?? name,
        value: found.value,
        sources: found.sources,
      })
    else unknownFacts.push(name)
  }
  const question = c.judged === 'self-reported' || c.judged === 'partly' ? c.question : undefined
  const given = question ? answers?.byQuestion.get(question.id) : undefined
  const answer: AnswerEvidence | undefined =
    question && given
      ? { ...given, question: question.id, questionText: question.text, selfReported: true }
      : undefined

  const base = {
    id: c.id,
    level: c.level,
    aspect: c.aspect,
    title: c.title,
    quote: { page: c.quote.page, text: c.quote.text },
    judged: c.judged,
    evidence,
    unknownFacts,
    ...(question ? { question: { id: question.id, text: question.text } } : {}),
    ...(answer ? { answer } : {}),
    advice: c.advice,
    ...(c.level === 4 ? { next: c.next } : {}),
  }
  const result = (standing: Standing, why: string): CriterionResult => ({ ...base, standing, why })
  const said = (a: AnswerEvidence) => `answered ${a.value} by ${a.answeredBy} on ${a.answeredAt.slice(0, 10)}`

  if (c.judged === 'self-reported') {
    if (!answer)
      return result(
        'unknown',
        `no tool can see this: the questionnaire's question ${question!.id} is unanswered`,
      )
    const standing = answer.value === 'yes' ? 'meets' : answer.value === 'partly' ? 'partly' : 'not-yet'
    return result(standing, `self-reported: ${said(answer)}`)
  }

  const verdict = factsVerdict(c.meets, c.partly, facts, c.facts, unknownFacts, read)
  if (c.judged === 'automatic') {
    if (verdict.kind === 'unknown') return result('unknown', verdict.why)
    return result(verdict.standing, automaticWhy(verdict.standing))
  }

  // partly: the facts show part of it, the answer the rest
  if (verdict.kind === 'unknown') {
    if (answer?.value === 'yes' || answer?.value === 'partly')
      return result(
        'partly',
        `${verdict.why}; self-reported: ${said(answer)}, which the evidence cannot bear out`,
      )
    if (answer?.value === 'no') return result('not-yet', `self-reported: ${said(answer)}; ${verdict.why}`)
    return result('unknown', `${verdict.why}, and question ${question!.id} is unanswered`)
  }
  const facts_ = verdict.standing
  if (!answer) {
    if (facts_ === 'not-yet')
      return result('not-yet', `${automaticWhy(facts_)}; question ${question!.id} is unanswered`)
    return result(
      'partly',
      `${automaticWhy(facts_)}, but only the questionnaire can confirm the rest: question ${question!.id} is unanswered`,
    )
  }
  if (facts_ === 'meets' && answer.value === 'yes')
    return result('meets', `${automaticWhy(facts_)}, and ${said(answer)}`)
  if (facts_ === 'not-yet' && answer.value === 'no')
    return result('not-yet', `${automaticWhy(facts_)}, and ${said(answer)}`)
  if (facts_ === 'not-yet' && answer.value === 'yes')
    return result(
      'partly',
      `${automaticWhy(facts_)}, though ${said(answer)}: the evidence does not bear it out`,
    )
  return result('partly', `${automaticWhy(facts_)}, and ${said(answer)}`)
}

function automaticWhy(standing: 'meets' | 'partly' | 'not-yet'): string {
  return standing === 'meets'
    ? 'the evidence shows it'
    : standing === 'partly'
      ? 'the evidence shows part of it'
      : 'the evidence does not show it'
}

function factsVerdict(
  meets: Condition,
  partly: Condition | undefined,
  facts: Facts,
  names: readonly string[],
  unknown: readonly string[],
  read: ReadonlySet<string>,
): FactsVerdict {
  if (unknown.length > 0)
    return { kind: 'unknown', why: `not known: ${unknown.join(', ')} (${unknownCause(unknown, read)})` }
  const activation = factActivation(facts, names)
  const holds = (c: Condition): boolean | Error => {
    try {
      return c.program(activation) === true
    } catch (err) {
      return err as Error
    }
  }
  const m = holds(meets)
  if (m instanceof Error)
    return { kind: 'unknown', why: `its condition failed on this evidence: ${m.message}` }
  if (m) return { kind: 'known', standing: 'meets' }
  const p = partly ? holds(partly) : false
  if (p instanceof Error)
    return { kind: 'unknown', why: `its condition failed on this evidence: ${p.message}` }
  return { kind: 'known', standing: p ? 'partly' : 'not-yet' }
}

/** Why facts are unknown: their source was not read, or it had nothing to measure them on. */
function unknownCause(names: readonly string[], read: ReadonlySet<string>): string {
  const flags: Record<string, string> = { repo: '--repo', cluster: '--kubeconfig', store: '--store' }
  const what: Record<string, string> = { repo: 'repository', cluster: 'cluster', store: 'store' }
  const causes: string[] = []
  for (const source of new Set(names.map((n) => n.split('.')[0]!)))
    causes.push(
      read.has(source)
        ? `the ${what[source]} had nothing to measure ${source}.* on, or could not be read in full`
        : `no ${what[source]} was read (${flags[source]})`,
    )
  return causes.join('; ')
}
