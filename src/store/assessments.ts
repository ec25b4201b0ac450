/**
 * Assessments in the store (`plimsoll assess --store`, docs/assess.md): each one recorded whole, with
 * its Level 3 standing and counts beside it for the trend; and the questionnaire's answers given on
 * the dashboard, the latest per question, which the next assessment reads when no answers file is
 * given. The store keeps what the assessment said; it does not judge.
 */
import type { Answer, AnswerValue } from '../maturity/answers.js'
import type { AspectResult, Assessment, Standing } from '../maturity/assess.js'
import type { Store } from './connect.js'

export interface AssessmentSummary {
  readonly id: number
  readonly takenAt: string
  readonly standing: Standing
  readonly score: number
  readonly meets: number
  readonly partly: number
  readonly notYet: number
  readonly unknown: number
  readonly aspects: readonly AspectResult[]
}

/** Records an assessment; its id. */
export async function recordAssessment(store: Store, a: Assessment): Promise<number> {
  const row = await store.db
    .insertInto('assessments')
    .values({
      taken_at: a.takenAt,
      standing: a.level3.standing,
      score: a.level3.score,
      meets: a.level3.meets,
      partly: a.level3.partly,
      not_yet: a.level3.notYet,
      unknown: a.level3.unknown,
      aspects: JSON.stringify(a.aspects),
      assessment: JSON.stringify(a),
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return Number(row.id)
}

/** The assessments, oldest first (the trend), at most `limit` of the newest. */
export async function listAssessments(store: Store, limit = 100): Promise<AssessmentSummary[]> {
  const rows = await store.db
    .selectFrom('assessments')
    .select(['id', 'taken_at', 'standing', 'score', 'meets', 'partly', 'not_yet', 'unknown', 'aspects'])
    .orderBy('taken_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
  return rows.reverse().map((r) => ({
    id: Number(r.id),
    takenAt: r.taken_at,
    standing: r.standing as Standing,
    score: Number(r.score),
    meets: Number(r.meets),
    partly: Number(r.partly),
    notYet: Number(r.not_yet),
    unknown: Number(r.unknown),
    aspects: JSON.parse(r.aspects) as AspectResult[],
  }))
}

/** One assessment, whole; undefined when there is none of that id. */
export async function getAssessment(store: Store, id: number): Promise<Assessment | undefined> {
  const row = await store.db
    .selectFrom('assessments')
    .select('assessment')
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? (JSON.parse(row.assessment) as Assessment) : undefined
}

export interface StoredAnswer extends Answer {
  readonly question: string
}

/** Saves answers (the latest per question wins), in one transaction. */
export async function saveAnswers(store: Store, answers: readonly StoredAnswer[]): Promise<void> {
  if (answers.length === 0) return
  await store.db.transaction().execute(async (tx) => {
    for (const a of answers) {
      const values = {
        answer: a.value,
        note: a.note ?? null,
        answered_by: a.answeredBy,
        answered_at: a.answeredAt,
      }
      await tx
        .insertInto('assessment_answers')
        .values({ question: a.question, ...values })
        .onConflict((oc) => oc.column('question').doUpdateSet(values))
        .execute()
    }
  })
}

/** Every saved answer, by question. */
export async function readAnswers(store: Store): Promise<StoredAnswer[]> {
  const rows = await store.db.selectFrom('assessment_answers').selectAll().orderBy('question').execute()
  return rows.map((r) => ({
    question: r.question,
    value: r.answer as AnswerValue,
    ...(r.note !== null ? { note: r.note } : {}),
    answeredBy: r.answered_by,
    answeredAt: r.answered_at,
  }))
}
