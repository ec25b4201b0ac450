/**
 * What the Markdown and HTML assessment reports share: the standings' labels and markers, the aspects'
 * names, how a fact's value and its sources are shown (at most a few, then "and N more"), a why on one
 * line, and the report's sections as lists of criteria (per aspect, foundations, next steps, Level 4
 * already met, unknowns), so that both say the same things in the same order, and each criterion of the
 * assessment has exactly one entry: Level 3 under its aspect, Level 2 in the foundations, Level 4 in
 * what is next or already at Level 4 (the unknowns' list sums them up again, it is not their entry).
 */
import type { AspectResult, Assessment, CriterionResult, EvidenceItem, Standing } from '../assess.js'
import { ASPECTS, type Aspect, type Judged } from '../catalogue.js'
import { FACTS, type FactType } from '../facts.js'

/** How a standing reads in a sentence and in a table. */
export const STANDING_LABELS: Readonly<Record<Standing, string>> = {
  meets: 'met',
  partly: 'partly',
  'not-yet': 'not yet',
  unknown: 'unknown',
}

/** `[met]`, `[partly]`, `[not yet]`, `[unknown]`: the standing as plain text, never colour alone. */
export function standingMarker(s: Standing): string {
  return `[${STANDING_LABELS[s]}]`
}

export const ASPECT_TITLES: Readonly<Record<Aspect, string>> = {
  'business-outcomes': 'Business outcomes',
  people: 'People',
  process: 'Process',
  policy: 'Policy',
  technology: 'Technology',
}

export const LEVEL_TITLES = { 2: 'Level 2 (Operate)', 3: 'Level 3 (Scale)', 4: 'Level 4 (Improve)' } as const

export const JUDGED_TEXT: Readonly<Record<Judged, string>> = {
  automatic: 'judged from evidence',
  partly: 'judged from evidence and an answer',
  'self-reported': 'self-reported: no tool can see it',
}

/** Sources shown per fact before "and N more". */
export const MAX_SOURCES = 5

/** The first `max` sources, and how many more there are. */
export function cappedSources(
  sources: readonly string[],
  max = MAX_SOURCES,
): { readonly shown: readonly string[]; readonly more: number } {
  return { shown: sources.slice(0, max), more: Math.max(0, sources.length - max) }
}

export function andMore(n: number): string {
  return `and ${n} more`
}

/** 0.425 -> "43%" */
export function percent(share: number): string {
  return `${Math.round(share * 100)}%`
}

const TYPES = new Map<string, FactType>(FACTS.map((f) => [`${f.source}.${f.name}`, f.type]))

/** A fact's value as the report shows it: counts as they are, shares as percentages, lists by name. */
export function factValueText(e: Pick<EvidenceItem, 'fact' | 'value'>): string {
  const v = e.value
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.join(', ')
  if (typeof v !== 'number') return String(v)
  const type = TYPES.get(e.fact)
  if (type === 'share') return percent(v)
  if (type === 'number') {
    const text = String(Math.round(v * 100) / 100)
    return v > 0 ? `+${text}` : text
  }
  return String(v)
}

/** The date of an ISO timestamp: 2026-11-20. */
export function day(iso: string): string {
  return iso.slice(0, 10)
}

/** The time an assessment was taken: 2026-11-20 14:05 UTC. */
export function takenAtText(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`
}

/** "self-reported by Platform team on 2026-11-20" */
export function selfReportedText(answer: { answeredBy: string; answeredAt: string }): string {
  return `self-reported by ${answer.answeredBy} on ${day(answer.answeredAt)}`
}

/** The inputs as label and value, in the order reports show them. */
export function inputLines(a: Assessment): { readonly label: string; readonly value: string }[] {
  const i = a.inputs
  return [
    {
      label: 'Repositories',
      value: i.repositories.length > 0 ? i.repositories.join(', ') : 'none read (--repo)',
    },
    { label: 'Cluster', value: i.cluster ?? 'none read (--kubeconfig)' },
    { label: 'Store', value: i.store ?? 'none read (--store)' },
    {
      label: 'Answers',
      value: i.answers
        ? `${i.answers.origin}, ${selfReportedText(i.answers)}`
        : 'none: what only the questionnaire can tell is unknown',
    },
  ]
}

/** "12 met, 3 partly, 8 not yet, 10 unknown of 33" */
export function countsText(c: {
  meets: number
  partly: number
  notYet: number
  unknown: number
  total: number
}): string {
  return `${c.meets} met, ${c.partly} partly, ${c.notYet} not yet, ${c.unknown} unknown of ${c.total}`
}

export interface AspectSection {
  readonly aspect: Aspect
  readonly title: string
  readonly result: AspectResult
  /** its Level 3 criteria, in catalogue order */
  readonly criteria: readonly CriterionResult[]
}

/** One section per aspect, in the model's order, with its Level 3 criteria. */
export function aspectSections(a: Assessment): AspectSection[] {
  return ASPECTS.map((aspect) => ({
    aspect,
    title: ASPECT_TITLES[aspect],
    result: a.aspects.find((r) => r.aspect === aspect) ?? emptyAspect(aspect),
    criteria: a.criteria.filter((c) => c.level === 3 && c.aspect === aspect),
  }))
}

function emptyAspect(aspect: Aspect): AspectResult {
  return { aspect, meets: 0, partly: 0, notYet: 0, unknown: 0, total: 0, standing: 'unknown', score: 0 }
}

function byIds(a: Assessment, ids: readonly string[]): CriterionResult[] {
  const byId = new Map(a.criteria.map((c) => [c.id, c]))
  return ids.map((id) => byId.get(id)).filter((c) => c !== undefined)
}

/** The Level 2 criteria not met (or not known to be), in catalogue order: shown in full, with advice. */
export function foundationCriteria(a: Assessment): CriterionResult[] {
  return byIds(a, a.foundations)
}

/** The other Level 2 criteria (met), in catalogue order: shown compact, after those not met. */
export function metFoundationCriteria(a: Assessment): CriterionResult[] {
  const notMet = new Set(a.foundations)
  return a.criteria.filter((c) => c.level === 2 && !notMet.has(c.id))
}

/** The Level 4 criteria not met, in the order of `next`. */
export function nextCriteria(a: Assessment): CriterionResult[] {
  return byIds(a, a.next)
}

/** The other Level 4 criteria (met: already at Level 4), in catalogue order: shown compact. */
export function metLevel4Criteria(a: Assessment): CriterionResult[] {
  const notMet = new Set(a.next)
  return a.criteria.filter((c) => c.level === 4 && !notMet.has(c.id))
}

/**
 * A why on one line: a CEL runtime error's message spans several, with a code frame (`>  1 | expr`
 * and a caret line under it); the frame's source is kept as "(in: expr)", the caret dropped, and
 * the whitespace collapsed.
 */
export function oneLine(text: string): string {
  const [first = '', ...rest] = text.split(/\r?\n/)
  const parts = [first.trim()]
  for (const raw of rest) {
    const line = raw.trim()
    if (line === '' || /^[\^~]+$/.test(line)) continue
    const frame = /^>?\s*\d+\s*\|\s*(.*)$/.exec(line)
    parts.push(frame ? `(in: ${frame[1]!.trim()})` : line)
  }
  return parts
    .filter((p) => p !== '')
    .join(' ')
    .replace(/\s+/g, ' ')
}

/** Why a criterion stands where it does, on one line. */
export function whyText(c: Pick<CriterionResult, 'why'>): string {
  return oneLine(c.why)
}

/** Every unknown criterion: Level 3 first (by aspect), then Level 2, then Level 4. */
export function unknownCriteria(a: Assessment): CriterionResult[] {
  const unknown = a.criteria.filter((c) => c.standing === 'unknown')
  const rank = { 3: 0, 2: 1, 4: 2 } as const
  return [...unknown].sort(
    (x, y) =>
      rank[x.level] - rank[y.level] ||
      ASPECTS.indexOf(x.aspect) - ASPECTS.indexOf(y.aspect) ||
      a.criteria.indexOf(x) - a.criteria.indexOf(y),
  )
}

/** Whether a criterion's advice is shown with it: a gap (partly or not yet), a foundation or a next step. */
export function showsAdvice(c: CriterionResult): boolean {
  return c.standing === 'partly' || c.standing === 'not-yet' || (c.level !== 3 && c.standing !== 'meets')
}

/** The sections' titles after the aspects, as both reports head them. */
export const SECTION_TITLES = {
  foundations: 'Foundations (Level 2)',
  next: 'What is next (Level 4)',
  level4: 'Already at Level 4',
} as const

/** What the foundations section says before its criteria. */
export function foundationsText(notMet: number, met: number): string {
  if (notMet === 0)
    return met === 0
      ? 'There is no Level 2 criterion.'
      : `All ${met} Level 2 criteria Level 3 builds on are met.`
  return (
    `Level 3 builds on ${notMet + met} Level 2 criteria. The ${notMet} not met, or not known to be met, ` +
    `come first${met > 0 ? `, then the ${met} met` : ''}.`
  )
}

/** What comes before the met Level 2 criteria (after those not met), when there are both. */
export function metFoundationsText(met: number): string {
  return `Met (${met}): the evidence, or an answer, shows them.`
}

/** What the next steps' section says before its criteria. */
export function nextText(steps: number): string {
  return steps === 0
    ? 'Every Level 4 criterion is met.'
    : 'The Level 4 criteria not met yet, the most valuable and least effort first.'
}

/** What the section of the Level 4 criteria already met says before them. */
export function level4Text(met: number): string {
  return met === 0
    ? 'No Level 4 criterion is met yet.'
    : `${met === 1 ? 'This Level 4 criterion is' : `These ${met} Level 4 criteria are`} met already: the evidence, or an answer, shows ${met === 1 ? 'it' : 'them'}.`
}
