/**
 * The maturity page in a real browser (Debian's Chromium, driven by playwright-core) against a real
 * `plimsoll serve --db`, over a store holding two assessments a month apart judged by the real assess()
 * (test/helpers/assessment-history.ts). The page must plot both on the trend with the latest score, show
 * the progress between them, each aspect's criteria with their evidence (sources capped), the answers as
 * self-reported by whom and when, the unknown as unknown; download the printable report with the token;
 * show the questionnaire read-only to a viewer and let an admin answer it (the API then has the answer,
 * by the admin token's name). An empty store says how to record an assessment. The screenshot is saved
 * under test-output/screenshots (maturity-page.png).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { AssessmentQuestionView } from '../../src/api-types.js'
import { openStore } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import {
  type AssessmentHistory,
  fillAssessmentStore,
  POLICY_CHECK_SOURCES,
} from '../helpers/assessment-history.js'
import { screenshot, signIn } from '../helpers/browser.js'
import { dashboardSession, type Served } from '../helpers/dashboard-session.js'
import { request } from '../helpers/http.js'

let dir: string
const session = dashboardSession(() => dir && rmSync(dir, { recursive: true, force: true }))
let server: Served
let empty: Served
let page: Page
let adminToken: string
let viewerToken: string
let history: AssessmentHistory

const pct = (score: number) => `${Math.round(score * 100)}%`

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-maturity-page-'))
  const db = join(dir, 'store.db')
  const store = await openStore(db)
  try {
    history = await fillAssessmentStore(store)
    adminToken = (await createToken(store, 'ada-admin', { role: 'admin' })).token
    viewerToken = (await createToken(store, 'val-viewer', { role: 'viewer' })).token
  } finally {
    await store.close()
  }
  server = await session.serve(['--db', db])
  empty = await session.serve(['--db', join(dir, 'empty.db'), '--anonymous-read'])
  page = await session.open()
}, 90_000)

const criterion = (id: string) => page.getByTestId(`criterion-${id}`)
const answerForms = () => page.getByRole('form', { name: /^Answer / })

describe('the maturity page', () => {
  it('shows the trend, the progress and the latest assessment with its evidence, answers and unknowns', async () => {
    await page.goto(server.url)
    await signIn(page, viewerToken)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Maturity' }).click()
    await expect.poll(() => page.url()).toMatch(/\/maturity$/)

    // The trend: both assessments, the latest score.
    const before = history.before.assessment.level3
    const after = history.after.assessment.level3
    expect(after.score).toBeGreaterThan(before.score)
    const chart = page.getByRole('img', { name: /^Level 3 score by aspect/ })
    await expect.poll(() => chart.count()).toBe(1)
    expect(await chart.getAttribute('aria-label')).toBe(
      `Level 3 score by aspect (%): 2 assessments: Level 3 score from ${pct(before.score)} to ${pct(after.score)}; the latest ${pct(after.score)} (partly).`,
    )
    expect(await page.locator('.chart-data tbody tr').count()).toBe(2)

    // The progress: the latest against the one before.
    const met = page.getByTestId('progress-meets').getByRole('cell')
    expect(await met.allTextContents()).toEqual([
      String(before.meets),
      String(after.meets),
      `+${after.meets - before.meets}`,
    ])
    expect(await page.getByTestId('maturity-progress').locator('thead').textContent()).toContain(
      '2026-11-022026-12-02Change',
    )
    await expect
      .poll(() => page.getByTestId('level3-standing').textContent())
      .toMatch(new RegExp(`^Level 3 \\(Scale\\): .*partly score ${pct(after.score)}`))

    // An aspect's criteria: the evidence with its sources (capped), the answer self-reported by whom and when.
    const selfEnforcing = criterion('l3-policy-self-enforcing')
    expect(await selfEnforcing.getByTestId('criterion-standing').textContent()).toContain('met')
    const evidence = selfEnforcing.getByTestId('criterion-evidence')
    expect(await evidence.textContent()).toContain('repo.ciPolicyChecks = 8')
    const sources = await evidence
      .getByRole('list', { name: 'Sources' })
      .first()
      .locator('li')
      .allTextContents()
    expect(sources).toEqual([...POLICY_CHECK_SOURCES.slice(0, 5), 'and 3 more'])
    expect(await selfEnforcing.getByTestId('criterion-answer').textContent()).toContain(
      'yes (self-reported by Platform team on 2026-11-28)',
    )
    expect(await selfEnforcing.locator('blockquote').textContent()).toMatch(
      /CNCF Cloud Native Maturity Model, level-3\.md$/,
    )
    expect(
      await criterion('l3-process-approval-gate').getByTestId('criterion-answer').textContent(),
    ).toContain(
      'partly — “production deploys need a change ticket” (self-reported by Platform team on 2026-11-28)',
    )

    // The unknown read unknown, never met: a fact no collector gave, an unanswered question.
    const rightSizing = criterion('l3-business-outcomes-right-sizing')
    expect(await rightSizing.getByTestId('criterion-standing').textContent()).toBe('? unknown')
    expect(await rightSizing.getByTestId('criterion-unknown-facts').textContent()).toContain(
      'store.wasteTrend',
    )
    expect(await criterion('l3-people-certifications').getByTestId('criterion-standing').textContent()).toBe(
      '? unknown',
    )
    const rightSizingTitle = history.after.assessment.criteria.find(
      (c) => c.id === 'l3-business-outcomes-right-sizing',
    )!.title
    expect(await page.getByTestId('maturity-unknown').textContent()).toContain(rightSizingTitle)
    expect(await page.getByTestId('assessment-problems').textContent()).toContain(
      'listing poddisruptionbudgets in namespace kube-system was refused (403)',
    )

    // What is next, in the assessment's order, with value and effort.
    const next = await page
      .getByTestId('maturity-next')
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-testid')))
    expect(next).toEqual(history.after.assessment.next.map((id) => `next-${id}`))

    // The questionnaire, read-only: the answer given on the dashboard, dated and attributed; no form.
    const note = await page.getByTestId('questionnaire-note').textContent()
    expect(note).toContain('Answers take effect at the next plimsoll assess --store run')
    expect(note).toMatch(/Answering needs an admin token\.$/)
    await expect
      .poll(() => page.getByTestId('question-threat-modeling').getByTestId('question-answer').textContent())
      .toBe('Answer: partly — “for the payment services only” (self-reported by ada-admin on 2026-11-30)')
    expect(await answerForms().count()).toBe(0)
    await screenshot(page, 'maturity-page')
  })

  it('downloads the printable report with the token', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Printable report (HTML)' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('plimsoll-assessment-2026-12-02.html')
    const html = readFileSync((await download.path())!, 'utf8')
    expect(html).toMatch(/^<!doctype html>/i)
    expect(html).toContain('Level 3')

    // Served by the API to a browser (with the token as a header), the report keeps its inline styles:
    // its own Content-Security-Policy, not the dashboard's.
    const reader = await page.context().browser()!.newPage()
    const refused: string[] = []
    reader.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) refused.push(m.text())
    })
    try {
      await reader.setExtraHTTPHeaders({ authorization: `Bearer ${viewerToken}` })
      await reader.goto(`${server.url}/api/assessments/${history.after.id}/report`)
      expect(await reader.evaluate('getComputedStyle(document.body).backgroundColor')).toBe(
        'rgb(238, 241, 244)',
      )
      expect(refused).toEqual([])
    } finally {
      await reader.close()
    }
  })

  it('shows an earlier assessment picked by its date', async () => {
    await page.getByLabel('Assessment', { exact: true }).selectOption(String(history.before.id))
    await expect.poll(() => page.url()).toMatch(new RegExp(`/maturity\\?assessment=${history.before.id}$`))
    await expect
      .poll(() => page.locator('#assessment-title').textContent())
      .toBe('Assessment of 2026-11-02 09:00 UTC')
    expect(await page.getByTestId('maturity-progress').locator('thead').textContent()).not.toContain('Change')
    // Nothing of the store was read then: its criteria are unknown, not "not yet".
    expect(
      await criterion('l3-process-continuous-scanning').getByTestId('criterion-standing').textContent(),
    ).toBe('? unknown')
  })

  it('lets an admin answer a question; the API then has it, by the token name', async () => {
    await page.goto(`${server.url}/maturity`)
    await signIn(page, adminToken)
    const question = page.getByTestId('question-cka-ckad')
    await expect.poll(() => question.getByRole('form').count()).toBe(1)
    expect(await page.getByTestId('questionnaire-note').textContent()).not.toContain('needs an admin token')
    expect(await question.getByTestId('question-answer').textContent()).toBe(
      'Unanswered: its criterion stays unknown.',
    )
    const form = question.getByRole('form', { name: 'Answer cka-ckad' })
    await form.getByLabel('partly', { exact: true }).check()
    await form.getByLabel('Note').fill('two of five engineers hold a CKA')
    await form.getByRole('button', { name: 'Save answer' }).click()
    const today = new Date().toISOString().slice(0, 10)
    await expect
      .poll(() => question.getByTestId('question-answer').textContent())
      .toBe(`Answer: partly — “two of five engineers hold a CKA” (self-reported by ada-admin on ${today})`)
    expect(await form.getByRole('status').textContent()).toBe('Saved.')

    const r = await request(server.url, '/api/assessments/questions', { token: viewerToken })
    const answer = (r.body as unknown as AssessmentQuestionView[]).find((q) => q.id === 'cka-ckad')!.answer
    expect(answer).toMatchObject({
      question: 'cka-ckad',
      value: 'partly',
      note: 'two of five engineers hold a CKA',
      answeredBy: 'ada-admin',
    })
    await screenshot(page, 'maturity-page-admin')
  })

  it('over an empty store, says how to record an assessment', async () => {
    await page.goto(`${empty.url}/maturity`)
    await expect
      .poll(() => page.getByTestId('maturity-empty').textContent())
      .toMatch(/^No assessment recorded yet: run plimsoll assess --repo \. --kubeconfig … --store …/)
    // The questionnaire is there to answer before the first assessment.
    await expect.poll(() => page.getByTestId('questions-people').count()).toBe(1)
  })
})
