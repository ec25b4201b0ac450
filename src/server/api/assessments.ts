/**
 * The maturity assessments over HTTP (docs/assess.md, docs/api.md#routes): the trend of the
 * assessments `plimsoll assess --store` recorded, one whole with its evidence, its printable report, and
 * the questionnaire: its questions with the answers given so far, and answering them (admin: answers
 * change what the next assessment says). Every answer is recorded as self-reported by the token's name.
 */
import type {
  AssessmentAnswersRequest,
  AssessmentAnswerView,
  AssessmentQuestionView,
  AssessmentSummaryView,
  AssessmentView,
} from '../../api-types.js'
import { ANSWER_VALUES, questionIds } from '../../maturity/answers.js'
import { BUILTIN_CRITERIA_DIR, type Criterion, loadCatalogue } from '../../maturity/catalogue.js'
import { getAssessment, listAssessments, readAnswers, saveAnswers } from '../../store/assessments.js'
import { callerName, ERROR_SCHEMA, ID_PARAMS, type JsonSchema, query, type Route } from '../route.js'

let catalogue: readonly Criterion[] | undefined
/** The built-in criteria, loaded once (they ship with the package: a broken one is a bug, and tested). */
function criteria(): readonly Criterion[] {
  catalogue ??= loadCatalogue(BUILTIN_CRITERIA_DIR).criteria
  return catalogue
}

const INT = { type: 'integer' }
const NUM = { type: 'number' }
const STR = { type: 'string' }
const STANDING = { type: 'string', enum: ['meets', 'partly', 'not-yet', 'unknown'] }
const COUNTS = { meets: INT, partly: INT, notYet: INT, unknown: INT, total: INT }
const ASPECT: JsonSchema = {
  type: 'object',
  properties: { aspect: STR, standing: STANDING, score: NUM, ...COUNTS },
}
const SUMMARY: JsonSchema = {
  type: 'object',
  properties: {
    id: INT,
    takenAt: STR,
    standing: STANDING,
    score: NUM,
    meets: INT,
    partly: INT,
    notYet: INT,
    unknown: INT,
    aspects: { type: 'array', items: ASPECT },
  },
}
/** the whole assessment (src/maturity/assess.ts), as recorded */
const ASSESSMENT: JsonSchema = { type: 'object', additionalProperties: true }
const ANSWER: JsonSchema = {
  type: 'object',
  properties: {
    question: STR,
    value: { type: 'string', enum: [...ANSWER_VALUES] },
    note: STR,
    answeredBy: STR,
    answeredAt: STR,
  },
}
const QUESTION: JsonSchema = {
  type: 'object',
  properties: {
    id: STR,
    text: STR,
    criterion: STR,
    title: STR,
    level: INT,
    aspect: STR,
    judged: STR,
    quote: { type: 'object', properties: { page: STR, text: STR } },
    answer: { anyOf: [ANSWER, { type: 'null' }] },
  },
}

/**
 * The report is one self-contained page: its styles inline (the dashboard's policy, `style-src 'self'`,
 * would refuse them), nothing to fetch, no script.
 */
const REPORT_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

export const assessmentRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/assessments',
    summary: 'The assessments recorded, oldest first: Level 3 and each aspect, for the trend',
    tag: 'assessments',
    access: 'viewer',
    schema: {
      querystring: query({
        limit: {
          type: 'integer',
          minimum: 1,
          maximum: 500,
          default: 100,
          description: 'the newest this many',
        },
      }),
      response: { 200: { type: 'array', items: SUMMARY } },
    },
    handler: async (ctx, req): Promise<AssessmentSummaryView[]> =>
      listAssessments(ctx.store, (req.query as { limit: number }).limit),
  },
  {
    method: 'GET',
    url: '/api/assessments/questions',
    summary: 'The questionnaire: every question a criterion asks, with the answer given so far',
    tag: 'assessments',
    access: 'viewer',
    schema: { response: { 200: { type: 'array', items: QUESTION } } },
    handler: async (ctx): Promise<AssessmentQuestionView[]> => {
      const answers = new Map((await readAnswers(ctx.store)).map((a) => [a.question, a]))
      return criteria().flatMap((c): AssessmentQuestionView[] =>
        c.judged === 'automatic'
          ? []
          : [
              {
                id: c.question.id,
                text: c.question.text,
                criterion: c.id,
                title: c.title,
                level: c.level,
                aspect: c.aspect,
                judged: c.judged,
                quote: { page: c.quote.page, text: c.quote.text },
                answer: answers.get(c.question.id) ?? null,
              },
            ],
      )
    },
  },
  {
    method: 'PUT',
    url: '/api/assessments/answers',
    summary: "Answer questions of the questionnaire (admin): self-reported, by the token's name, dated now",
    tag: 'assessments',
    access: 'admin',
    schema: {
      body: {
        type: 'object',
        required: ['answers'],
        additionalProperties: false,
        properties: {
          answers: {
            type: 'array',
            minItems: 1,
            maxItems: 500,
            items: {
              type: 'object',
              required: ['question', 'answer'],
              additionalProperties: false,
              properties: {
                question: { type: 'string', minLength: 1, maxLength: 200 },
                answer: { type: 'string', enum: [...ANSWER_VALUES] },
                note: { type: 'string', maxLength: 2000 },
              },
            },
          },
        },
      },
      response: { 200: { type: 'array', items: ANSWER }, 400: ERROR_SCHEMA },
    },
    handler: async (ctx, req, reply) => {
      const body = req.body as AssessmentAnswersRequest
      const asked = questionIds(criteria())
      const unknown = body.answers.filter((a) => !asked.has(a.question)).map((a) => a.question)
      if (unknown.length > 0)
        return reply.code(400).send({ error: `no criterion asks these questions: ${unknown.join(', ')}` })
      const answeredBy = callerName(req)
      const answeredAt = new Date().toISOString()
      await saveAnswers(
        ctx.store,
        body.answers.map((a) => ({
          question: a.question,
          value: a.answer,
          ...(a.note ? { note: a.note } : {}),
          answeredBy,
          answeredAt,
        })),
      )
      const saved: AssessmentAnswerView[] = await readAnswers(ctx.store)
      return saved
    },
  },
  {
    method: 'GET',
    url: '/api/assessments/:id',
    summary: 'One assessment, whole: every criterion with its standing, evidence and answer',
    tag: 'assessments',
    access: 'viewer',
    schema: { params: ID_PARAMS, response: { 200: ASSESSMENT, 404: ERROR_SCHEMA } },
    handler: async (ctx, req, reply) => {
      const id = Number((req.params as { id: string | number }).id)
      const found: AssessmentView | undefined = await getAssessment(ctx.store, id)
      return found ?? reply.code(404).send({ error: `no assessment ${id}` })
    },
  },
  {
    method: 'GET',
    url: '/api/assessments/:id/report',
    summary: 'One assessment as its printable HTML report, or Markdown',
    tag: 'assessments',
    access: 'viewer',
    schema: {
      params: ID_PARAMS,
      querystring: query({ format: { type: 'string', enum: ['html', 'markdown'], default: 'html' } }),
      response: { 200: { type: 'string' }, 404: ERROR_SCHEMA },
    },
    handler: async (ctx, req, reply) => {
      const id = Number((req.params as { id: string | number }).id)
      const found = await getAssessment(ctx.store, id)
      if (!found) return reply.code(404).send({ error: `no assessment ${id}` })
      if ((req.query as { format: string }).format === 'markdown') {
        const { renderAssessmentMarkdown } = await import('../../maturity/report/markdown.js')
        return reply.type('text/markdown; charset=utf-8').send(renderAssessmentMarkdown(found))
      }
      const { renderAssessmentHtml } = await import('../../maturity/report/html.js')
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', REPORT_CSP)
        .send(renderAssessmentHtml(found))
    },
  },
]
