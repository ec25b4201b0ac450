/**
 * The HTML assessment report in a real browser (Debian's Chromium, driven by playwright-core), opened
 * from a file as a reader would open it: it must fetch nothing, show the Level 3 standing and every
 * aspect, put each aspect on a printed page of its own, give every criterion (met or not, at every
 * level) one entry, and say unknown apart from not yet. The screenshot is saved under
 * test-output/screenshots (assess-report.png).
 */
import { rmSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ASPECTS } from '../../src/maturity/catalogue.js'
import { renderAssessmentHtml } from '../../src/maturity/report/html.js'
import { ASPECT_TITLES, STANDING_LABELS } from '../../src/maturity/report/parts.js'
import { launch, openPage, screenshot } from '../helpers/browser.js'
import { richAssessment } from '../helpers/maturity-assessments.js'
import { tempFiles } from '../helpers/temp-files.js'

const assessment = richAssessment()
const files = tempFiles('plimsoll-assess-report-')
let browser: Browser
let page: Page
const requested: string[] = []

beforeAll(async () => {
  const file = files.file('assessment.html', renderAssessmentHtml(assessment))
  browser = await launch()
  page = await openPage(browser)
  page.on('request', (r) => requested.push(r.url()))
  await page.goto(pathToFileURL(file).href)
}, 60_000)

afterAll(async () => {
  await browser?.close()
  rmSync(files.dir, { recursive: true, force: true })
})

/** The text as rendered (what a reader sees: CSS upper-cases the badges), not the DOM's. */
const visible = (l: Locator) =>
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is tested
  l.innerText()

/** getComputedStyle in the page (the tests' TypeScript has no DOM library). */
interface ComputedStyleOf {
  getComputedStyle(e: unknown): { breakBefore: string; borderLeftStyle: string; borderLeftColor: string }
}

/** PDF page objects (`/Type /Page`, not `/Pages`). */
function pdfPages(pdf: Buffer): number {
  return pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-z])/g)?.length ?? 0
}

describe('the HTML assessment report', () => {
  it('renders from a file, fetching nothing', async () => {
    expect(requested.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([])
    expect(await page.title()).toBe('Level 3 assessment, 2026-12-01 09:30 UTC')
  })

  it('shows the Level 3 standing and score, and every aspect with its standing', async () => {
    const level = await visible(page.getByTestId('level3-standing'))
    const l3 = assessment.level3
    expect(level).toMatch(
      new RegExp(`Level 3:\\s*${STANDING_LABELS[l3.standing]}\\s*score ${Math.round(l3.score * 100)}%`, 'i'),
    )
    const text = await visible(page.locator('body'))
    for (const aspect of ASPECTS) {
      expect(text).toContain(ASPECT_TITLES[aspect])
      const r = assessment.aspects.find((x) => x.aspect === aspect)!
      const heading = await visible(page.locator(`#aspect-${aspect}-title`))
      expect(heading.toLowerCase()).toContain(`${ASPECT_TITLES[aspect].toLowerCase()}`)
      expect(heading.toLowerCase()).toContain(STANDING_LABELS[r.standing])
    }
    expect(text).toContain('Foundations (Level 2)')
    expect(text).toContain('What is next (Level 4)')
    expect(text).toContain('Already at Level 4')
    expect(text).toContain('What this assessment could not see')
    // the hostile source is shown as text, not run
    expect(text).toContain('charts/<script>alert(1)</script>/values.yaml & co')
  })

  it('shows each criterion standing in text, unknown drawn apart from not yet', async () => {
    const standings = await page
      .locator('section.aspect article.criterion')
      .evaluateAll((els) =>
        els.map((e) => [e.getAttribute('data-standing'), e.querySelector('.badge')?.textContent]),
      )
    expect(standings).toHaveLength(assessment.criteria.filter((c) => c.level === 3).length)
    // every criterion, met or not, at every level, has exactly one article
    const ids = await page.locator('article.criterion').evaluateAll((els) => els.map((e) => e.id))
    expect(ids.sort()).toEqual(assessment.criteria.map((c) => `c-${c.id}`).sort())
    for (const [standing, label] of standings)
      expect(label).toBe(STANDING_LABELS[standing as keyof typeof STANDING_LABELS])
    const style = (sel: string) =>
      page
        .locator(sel)
        .first()
        .evaluate((e) => {
          const s = (globalThis as unknown as ComputedStyleOf).getComputedStyle(e)
          return { border: s.borderLeftStyle, colour: s.borderLeftColor }
        })
    const unknown = await style('article.criterion.s-unknown')
    const notYet = await style('article.criterion.s-not-yet')
    expect(unknown.border).toBe('dashed')
    expect(notYet.border).toBe('solid')
    expect(unknown.colour).not.toBe(notYet.colour)
    const selfReported = await visible(page.locator('.answer.self-reported').first())
    expect(selfReported).toMatch(/self-reported\s+by Platform team on 2026-11-2\d/i)
  })

  it('prints on A4 with each aspect on a page of its own', async () => {
    // the cover, 5 aspects, the foundations, the next steps (and Level 4 met), the unknowns
    expect(await page.locator('section.page').count()).toBe(9)
    expect(await page.locator('section.page.aspect').count()).toBe(5)
    await page.emulateMedia({ media: 'print' })
    const breaks = await page
      .locator('section.page')
      .evaluateAll((els) =>
        els.map((e) => (globalThis as unknown as ComputedStyleOf).getComputedStyle(e).breakBefore),
      )
    expect(breaks).toEqual(['auto', ...Array(8).fill('page')])
    const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true })
    // at least one printed page per section (the longer ones run over)
    expect(pdfPages(pdf)).toBeGreaterThanOrEqual(9)
    await page.emulateMedia({ media: 'screen' })
    const path = await screenshot(page, 'assess-report')
    expect(path).toMatch(/test-output\/screenshots\/assess-report\.png$/)
  })
})
