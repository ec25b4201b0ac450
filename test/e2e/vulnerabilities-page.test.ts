/**
 * The vulnerabilities page in a real browser (Debian's Chromium, driven by playwright-core) against a real
 * `plimsoll serve --db`, over a store filled by `plimsoll import` with the corpus's real Trivy and Grype
 * reports. The page must show what went in: the open and fixable counts, the worst image, and, when an
 * image is picked, that image's vulnerabilities only; the fixable filter holds in the URL. A screenshot is
 * saved under test-output/screenshots.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { runImport } from '../../src/cli/import.js'
import { screenshot } from '../helpers/browser.js'
import { corpusPath } from '../helpers/corpus.js'
import { dashboardSession, type Served } from '../helpers/dashboard-session.js'

let dir: string
const session = dashboardSession(() => dir && rmSync(dir, { recursive: true, force: true }))
let server: Served
let page: Page

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-vulnerabilities-page-'))
  const db = join(dir, 'store.db')
  const imports: [string, string][] = [
    ['trivy/alpine-310.json.golden', 'alpine/trivy'],
    ['grype/many_vulns_with_epss_values.json', 'busybox/grype'],
    ['grype/keycloak-test.json', 'keycloak/grype'],
  ]
  for (const [file, target] of imports)
    expect(
      await runImport([corpusPath('tool-reports', file)], { format: 'auto', target, store: db }, () => {}),
    ).toBe(0)
  server = await session.serve(['--db', db, '--anonymous-read'])
  page = await session.open()
}, 90_000)

const listRows = () => page.getByTestId('vulnerabilities').locator('tbody tr')

describe('the vulnerabilities page', () => {
  it('shows the open and fixable ones, the worst image first, and filters by image and fix', async () => {
    await page.goto(server.url)
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Vulnerabilities' })
      .click()
    await expect.poll(() => page.url()).toMatch(/\/vulnerabilities$/)
    // alpine 4 (all fixed) + busybox 15 (1 fixed) + keycloak 6 (won't fix)
    await expect.poll(() => page.getByTestId('vulnerabilities-open').textContent()).toBe('25')
    expect(await page.getByTestId('vulnerabilities-fixable').textContent()).toBe('5')
    const images = page.getByRole('table', { name: 'By image' })
    expect(await images.locator('tbody tr').first().locator('th').textContent()).toBe('busybox:1.32.1')
    await screenshot(page, 'vulnerabilities')

    await images.getByRole('button', { name: 'busybox:1.32.1' }).click()
    await expect.poll(() => page.url()).toMatch(/image=busybox%3A1\.32\.1/)
    await expect.poll(() => page.getByTestId('vulnerabilities-open').textContent()).toBe('15')
    await expect.poll(() => listRows().count()).toBe(15)
    expect(await listRows().first().locator('th').textContent()).toBe('CVE-2022-48174')

    await page.getByRole('combobox', { name: 'Fix' }).selectOption('yes')
    await expect.poll(() => page.url()).toMatch(/fixable=yes/)
    await expect.poll(() => listRows().count()).toBe(1)
    expect(await listRows().first().textContent()).toContain('1.34.0')
  })

  it('counts them in the overview, and gives an imported check a page of its own', async () => {
    await page.goto(server.url)
    // each image one evaluation: none has a critical or high with a fix waiting
    await expect
      .poll(() => page.getByTestId('overview-vulnerabilities').textContent())
      .toContain('25 open vulnerabilities, 5 with a fix')
    expect(await page.getByTestId('overview-vulnerabilities').textContent()).toContain(
      '0 images of 3 scanned need a critical or high fix',
    )
    expect(await page.getByTestId('score').textContent()).toBe('100.0%')

    await page.goto(`${server.url}/checks/${encodeURIComponent('grype:CVE-2022-48174')}`)
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toBe('grype:CVE-2022-48174')
    expect(await page.getByTestId('check-external').textContent()).toContain('Found by grype')
    expect(await page.getByText('Imported from grype').count()).toBe(1)
    await expect.poll(() => page.locator('.plain-list li').count()).toBe(1)
    expect(await page.locator('.plain-list li').first().textContent()).toContain('busybox:1.32.1')
  })
})
