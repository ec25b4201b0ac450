/**
 * The questionnaire's answers: what no tool sees (people, training, a centre of excellence, the release
 * process), as a team says it. Every answer is self-reported and dated, and the report says so; an
 * unanswered question leaves its criterion unknown, never met.
 *
 * The file (YAML):
 *
 *   answeredBy: Platform team           # who answered (required)
 *   answeredAt: 2026-11-20              # when (required; an answer may carry its own date)
 *   answers:
 *     platform-team: yes                # yes | partly | no
 *     release-approval-gate:
 *       answer: partly
 *       note: production deploys need a change ticket, staging does not
 *       answeredAt: 2026-11-21
 */
import { readFileSync } from 'node:fs'
import { ConfigReader, loadYamlConfig, YamlConfigError } from '../policy/yaml-fields.js'
import type { Criterion } from './catalogue.js'

export const ANSWER_VALUES = ['yes', 'partly', 'no'] as const
export type AnswerValue = (typeof ANSWER_VALUES)[number]

export interface Answer {
  readonly value: AnswerValue
  readonly note?: string
  /** who and when: every answer is self-reported */
  readonly answeredBy: string
  readonly answeredAt: string
}

export interface Answers {
  /** where they came from: a file, or the store (answered on the dashboard) */
  readonly origin: string
  readonly answeredBy: string
  readonly answeredAt: string
  /** by question id */
  readonly byQuestion: ReadonlyMap<string, Answer>
}

/** `file:line: field: problem`, or a file that cannot be read. */
export class AnswersError extends YamlConfigError {}

const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/

/** A date as the file may give it (YAML reads an unquoted 2026-11-20 as a Date), as ISO text. */
function dateText(value: unknown): string | undefined {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString().slice(0, 10)
  if (typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(value))) return value
  return undefined
}

/**
 * Reads an answers file against the catalogue's questions. Throws AnswersError naming the file, line
 * and what was expected; an answer to a question the catalogue does not ask is an error too (a typo
 * would otherwise leave its criterion unknown without a word).
 */
export function loadAnswers(file: string, criteria: readonly Criterion[]): Answers {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new AnswersError(file, 0, '', `cannot read the answers file: ${(err as Error).message}`)
  }
  return parseAnswers(file, text, criteria)
}

export function parseAnswers(file: string, text: string, criteria: readonly Criterion[]): Answers {
  const questions = questionIds(criteria)
  const { doc, at } = loadYamlConfig(file, text, AnswersError)
  const r: ConfigReader = new ConfigReader(file, at, AnswersError)
  const root = r.object(doc, [], ['answeredBy', 'answeredAt', 'answers'])
  const answeredBy = root.answeredBy
  if (typeof answeredBy !== 'string' || answeredBy.trim() === '')
    r.fail(['answeredBy'], 'expected who answered (a name or a team): every answer is self-reported')
  const answeredAt = dateText(root.answeredAt)
  if (answeredAt === undefined) r.fail(['answeredAt'], 'expected the date of the answers, e.g. 2026-11-20')
  const answers = root.answers ?? {}
  if (answers === null || typeof answers !== 'object' || Array.isArray(answers))
    r.fail(['answers'], 'expected a mapping of question id to yes, partly or no')
  const byQuestion = new Map<string, Answer>()
  for (const [id, raw] of Object.entries(answers as Record<string, unknown>)) {
    if (!questions.has(id))
      r.fail(
        ['answers', id],
        `no criterion asks a question '${id}' (\`plimsoll assess questions\` lists them)`,
      )
    const detailed = raw !== null && typeof raw === 'object' && !Array.isArray(raw)
    const entry = detailed
      ? r.object(raw, ['answers', id], ['answer', 'note', 'answeredAt'])
      : { answer: raw }
    const path = detailed ? ['answers', id, 'answer'] : ['answers', id]
    // YAML 1.1 reads an unquoted yes/no as a boolean
    const value = entry.answer === true ? 'yes' : entry.answer === false ? 'no' : entry.answer
    if (!(ANSWER_VALUES as readonly unknown[]).includes(value))
      r.fail(path, `expected yes, partly or no, not ${JSON.stringify(entry.answer ?? null)}`)
    if (entry.note !== undefined && typeof entry.note !== 'string')
      r.fail(['answers', id, 'note'], 'expected text')
    const when = entry.answeredAt === undefined ? answeredAt : dateText(entry.answeredAt)
    if (when === undefined) r.fail(['answers', id, 'answeredAt'], 'expected a date, e.g. 2026-11-20')
    byQuestion.set(id, {
      value: value as AnswerValue,
      ...(typeof entry.note === 'string' ? { note: entry.note } : {}),
      answeredBy,
      answeredAt: when,
    })
  }
  return { origin: file, answeredBy, answeredAt, byQuestion }
}

/** The ids of every question the catalogue asks. */
export function questionIds(criteria: readonly Criterion[]): Set<string> {
  const ids = new Set<string>()
  for (const c of criteria) if (c.judged !== 'automatic') ids.add(c.question.id)
  return ids
}

/**
 * Answers kept elsewhere (the store: given on the dashboard) as Answers, for the questions the
 * catalogue still asks; undefined when there are none.
 */
export function answersOf(
  origin: string,
  list: ReadonlyArray<Answer & { readonly question: string }>,
  criteria: readonly Criterion[],
): Answers | undefined {
  const asked = questionIds(criteria)
  const kept = list.filter((a) => asked.has(a.question))
  if (kept.length === 0) return undefined
  const by = [...new Set(kept.map((a) => a.answeredBy))]
  return {
    origin,
    answeredBy: by.join(', '),
    answeredAt: kept
      .map((a) => a.answeredAt)
      .sort()
      .at(-1)!,
    byQuestion: new Map(kept.map(({ question, ...a }) => [question, a])),
  }
}
