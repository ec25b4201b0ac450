/**
 * The assessments API (src/server/api/assessments.ts) over HTTP, on SQLite and PostgreSQL, over two
 * assessments a month apart judged by the real assess() (test/helpers/assessment-history.ts): the trend
 * oldest first, one whole, 404, the questionnaire with the answers given, answering (admin only, unknown
 * questions refused by name, recorded as self-reported by the token's name), and the printable report.
 */
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type {
  AssessmentAnswerView,
  AssessmentQuestionView,
  AssessmentSummaryView,
  AssessmentView,
} from '../../src/api-types.js'
import { questionIds } from '../../src/maturity/answers.js'
import { loadCatalogue } from '../../src/maturity/catalogue.js'
import { buildServer } from '../../src/server/app.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import {
  type AssessmentHistory,
  DASHBOARD_ANSWER,
  fillAssessmentStore,
} from '../helpers/assessment-history.js'
import { request } from '../helpers/http.js'
import { freshDatabase } from '../helpers/postgres.js'
import { tempFiles } from '../helpers/temp-files.js'

const { dir } = tempFiles('plimsoll-api-assessments-')

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => join(dir, `assessments-api-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', () => freshDatabase('assessments_api')],
]

const QUESTIONS = questionIds(loadCatalogue().criteria)

describe.each(backends)('the assessments API (%s)', (_name, location) => {
  let store: Store
  let app: FastifyInstance
  let base: string
  let viewer: string
  let admin: string
  let history: AssessmentHistory
  const get = async <T>(path: string) => {
    const r = await request(base, path, { token: viewer })
    return { status: r.status, body: r.body as unknown as T, headers: r.headers, text: r.text }
  }
  const put = (token: string, answers: unknown[]) =>
    request(base, '/api/assessments/answers', { method: 'PUT', token, body: JSON.stringify({ answers }) })

  beforeAll(async () => {
    store = await openStore(await location())
    history = await fillAssessmentStore(store)
    viewer = (await createToken(store, 'val-viewer', { role: 'viewer' })).token
    admin = (await createToken(store, 'ada-admin', { role: 'admin' })).token
    app = await buildServer({ store, checks: [], frameworks: [] })
    base = await app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => {
    await app?.close()
    await store?.close()
  })

  it('lists the assessments oldest first, with Level 3 and each aspect for the trend', async () => {
    const r = await get<AssessmentSummaryView[]>('/api/assessments')
    expect(r.status).toBe(200)
    expect(r.body.map((s) => s.id)).toEqual([history.before.id, history.after.id])
    const [before, after] = r.body
    const a = history.after.assessment
    expect(after).toEqual({
      id: history.after.id,
      takenAt: '2026-12-02T09:00:00.000Z',
      standing: a.level3.standing,
      score: a.level3.score,
      meets: a.level3.meets,
      partly: a.level3.partly,
      notYet: a.level3.notYet,
      unknown: a.level3.unknown,
      aspects: a.aspects,
    })
    expect(after!.aspects.map((x) => x.aspect)).toEqual([
      'business-outcomes',
      'people',
      'process',
      'policy',
      'technology',
    ])
    // The second shows progress: more met, fewer unknown.
    expect(after!.meets).toBeGreaterThan(before!.meets)
    expect(after!.score).toBeGreaterThan(before!.score)
    expect(after!.unknown).toBeLessThan(before!.unknown)
    expect((await get<AssessmentSummaryView[]>('/api/assessments?limit=1')).body.map((s) => s.id)).toEqual([
      history.after.id,
    ])
    expect((await request(base, '/api/assessments')).status).toBe(401)
  })

  it('gives one assessment whole, and 404 for none', async () => {
    const r = await get<AssessmentView>(`/api/assessments/${history.after.id}`)
    expect(r.status).toBe(200)
    expect(r.body).toEqual(JSON.parse(JSON.stringify(history.after.assessment)))
    const selfEnforcing = r.body.criteria.find((c) => c.id === 'l3-policy-self-enforcing')!
    expect(selfEnforcing.standing).toBe('meets')
    expect(selfEnforcing.answer).toMatchObject({
      value: 'yes',
      answeredBy: 'Platform team',
      selfReported: true,
    })
    expect(r.body.criteria.find((c) => c.id === 'l3-business-outcomes-right-sizing')).toMatchObject({
      standing: 'unknown',
      unknownFacts: ['store.wasteTrend'],
    })
    const none = await get<{ error: string }>('/api/assessments/999999')
    expect(none.status).toBe(404)
    expect(none.body.error).toBe('no assessment 999999')
  })

  it('lists the questionnaire with the answers given on the dashboard', async () => {
    const r = await get<AssessmentQuestionView[]>('/api/assessments/questions')
    expect(r.status).toBe(200)
    expect(new Set(r.body.map((q) => q.id))).toEqual(QUESTIONS)
    const threat = r.body.find((q) => q.id === DASHBOARD_ANSWER.question)!
    expect(threat).toMatchObject({
      criterion: 'l3-policy-threat-modeling',
      level: 3,
      aspect: 'policy',
      judged: 'self-reported',
      answer: DASHBOARD_ANSWER,
    })
    expect(threat.quote.page).toMatch(/\.md$/)
    expect(r.body.find((q) => q.id === 'cka-ckad')!.answer).toBeNull()
  })

  it('takes answers from admins only, refuses unknown questions by name, and records who answered', async () => {
    const asViewer = await put(viewer, [{ question: 'cka-ckad', answer: 'yes' }])
    expect(asViewer.status).toBe(403)

    const unknown = await put(admin, [
      { question: 'cka-ckad', answer: 'yes' },
      { question: 'no-such-question', answer: 'no' },
    ])
    expect(unknown.status).toBe(400)
    expect(unknown.body.error).toBe('no criterion asks these questions: no-such-question')
    const bad = await put(admin, [{ question: 'cka-ckad', answer: 'maybe' }])
    expect(bad.status).toBe(400)

    const startedAt = new Date().toISOString()
    const saved = await put(admin, [{ question: 'cka-ckad', answer: 'partly', note: 'two of five people' }])
    expect(saved.status).toBe(200)
    const answers = saved.body as unknown as AssessmentAnswerView[]
    const cka = answers.find((a) => a.question === 'cka-ckad')!
    expect(cka).toMatchObject({ value: 'partly', note: 'two of five people', answeredBy: 'ada-admin' })
    expect(cka.answeredAt >= startedAt).toBe(true)
    // Nothing of the refused requests was saved; the earlier answer stands beside the new one.
    expect(answers.map((a) => a.question).sort()).toEqual(['cka-ckad', DASHBOARD_ANSWER.question])

    const questions = await get<AssessmentQuestionView[]>('/api/assessments/questions')
    expect(questions.body.find((q) => q.id === 'cka-ckad')!.answer).toEqual(cka)

    // The latest answer wins.
    await put(admin, [{ question: 'cka-ckad', answer: 'yes' }])
    const again = await get<AssessmentQuestionView[]>('/api/assessments/questions')
    expect(again.body.find((q) => q.id === 'cka-ckad')!.answer).toMatchObject({
      value: 'yes',
      answeredBy: 'ada-admin',
    })
    expect(again.body.find((q) => q.id === 'cka-ckad')!.answer!.note).toBeUndefined()
  })

  it('gives the printable report as HTML (with a policy of its own), and as Markdown', async () => {
    const html = await get<string>(`/api/assessments/${history.after.id}/report`)
    expect(html.status).toBe(200)
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(html.text).toMatch(/^<!doctype html>/i)
    expect(html.text).toContain('Level 3')
    // Its own policy: its inline styles allowed (the dashboard's style-src 'self' would refuse them), nothing else.
    const csp = html.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("style-src 'unsafe-inline'")
    expect(csp).not.toContain('script-src')
    const md = await get<string>(`/api/assessments/${history.after.id}/report?format=markdown`)
    expect(md.status).toBe(200)
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8')
    expect(md.text).toContain('Level 3')
    expect((await get(`/api/assessments/999999/report`)).status).toBe(404)
  })
})
