/**
 * What the maturity page and its questionnaire share: the standings' words and badges (text and colour,
 * never colour alone; unknown drawn apart from not yet), the aspects' names, how a fact's value and its
 * sources read (at most a few, then "and N more"), and "self-reported by X on DATE". The words are the
 * reports' (src/maturity/report/parts.ts), so that the page and the printed report say the same.
 */
import type {
  AssessmentAnswerView,
  AssessmentAspect,
  AssessmentEvidenceView,
  AssessmentGrade,
  AssessmentJudged,
  AssessmentStanding,
} from '../api'

export const STANDING_LABELS: Readonly<Record<AssessmentStanding, string>> = {
  meets: 'met',
  partly: 'partly',
  'not-yet': 'not yet',
  unknown: 'unknown',
}

/** A mark beside the word, so the badge reads without its colour too. */
const STANDING_MARKS: Readonly<Record<AssessmentStanding, string>> = {
  meets: '✓',
  partly: '◐',
  'not-yet': '✗',
  unknown: '?',
}

export const ASPECT_TITLES: Readonly<Record<AssessmentAspect, string>> = {
  'business-outcomes': 'Business outcomes',
  people: 'People',
  process: 'Process',
  policy: 'Policy',
  technology: 'Technology',
}

export const JUDGED_TEXT: Readonly<Record<AssessmentJudged, string>> = {
  automatic: 'judged from evidence',
  partly: 'judged from evidence and an answer',
  'self-reported': 'self-reported: no tool can see it',
}

export const GRADE_LABELS: Readonly<Record<AssessmentGrade, string>> = {
  low: 'low',
  medium: 'medium',
  high: 'high',
}

export function StandingBadge({ standing, testId }: { standing: AssessmentStanding; testId?: string }) {
  return (
    <span className={`badge standing standing-${standing}`} data-testid={testId}>
      <span aria-hidden="true">{STANDING_MARKS[standing]} </span>
      {STANDING_LABELS[standing]}
    </span>
  )
}

/** 0.425 -> "43%" */
export const scorePercent = (score: number): string => `${Math.round(score * 100)}%`

/** Sources shown per fact before "and N more". */
export const MAX_SOURCES = 5

/**
 * A fact's value as the report shows it: lists by name, shares (`…Share`) as percentages, trends and
 * ratios signed, counts as they are. The facts' names carry their type (src/maturity/facts.ts).
 */
export function factValueText(e: Pick<AssessmentEvidenceView, 'fact' | 'value'>): string {
  const v = e.value
  if (typeof v !== 'number') return v.length === 0 ? 'none' : v.join(', ')
  if (/Share$/.test(e.fact)) return scorePercent(v)
  if (/(Trend|Ratio)$/.test(e.fact)) {
    const text = String(Math.round(v * 100) / 100)
    return v > 0 ? `+${text}` : text
  }
  return String(v)
}

/** "self-reported by Platform team on 2026-11-20" */
export function selfReportedText(a: Pick<AssessmentAnswerView, 'answeredBy' | 'answeredAt'>): string {
  return `self-reported by ${a.answeredBy} on ${a.answeredAt.slice(0, 10)}`
}

/** A fact's sources: the first few, then "and N more". */
export function Sources({ sources }: { sources: readonly string[] }) {
  if (sources.length === 0) return <span className="muted">no source recorded</span>
  const shown = sources.slice(0, MAX_SOURCES)
  const more = sources.length - shown.length
  return (
    <ul className="inline-list sources" aria-label="Sources">
      {shown.map((s) => (
        <li key={s} className="mono small">
          {s}
        </li>
      ))}
      {more > 0 && <li className="muted small">and {more} more</li>}
    </ul>
  )
}

/** An answer as given: the value, its note, and who said it when. */
export function AnswerText({ answer }: { answer: AssessmentAnswerView }) {
  return (
    <span className="answer-text">
      <strong>{answer.value}</strong>
      {answer.note && <> — “{answer.note}”</>}{' '}
      <span className="self-reported">({selfReportedText(answer)})</span>
    </span>
  )
}
