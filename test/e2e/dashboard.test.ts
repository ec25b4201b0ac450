/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a real
 * `plimsoll serve --demo`: the flow a new user takes, asserted on the page, with screenshots saved under
 * test-output/screenshots.
 */
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { readExceptionsFile } from '../../src/policy/exceptions.js'
import { screenshot } from '../helpers/browser.js'
import { dashboardSession, type Served } from '../helpers/dashboard-session.js'

const session = dashboardSession()
let server: Served
let page: Page
let adminToken: string

beforeAll(async () => {
  server = await session.serve(['--demo'])
  adminToken = /admin token (plm_\S+)/.exec(server.out)![1]!
  page = await session.open()
}, 60_000)

describe('the dashboard', () => {
  it('opens on the overview: the score, open findings by severity, the trend and the worst checks', async () => {
    await page.goto(server.url)
    await expect.poll(() => page.getByTestId('score').textContent()).toMatch(/\d+(\.\d)?/)
    await expect
      .poll(() => page.getByRole('table', { name: 'Top failing checks' }).getByRole('row').count())
      .toBeGreaterThan(2)
    await screenshot(page, '1-overview')
  })

  it('filters findings, keeping the filters in the URL so that a link restores them', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Findings' }).click()
    // The result count: status "82 findings".
    const resultCount = page
      .getByRole('status')
      .filter({ hasText: /findings?$/ })
      .first()
    // "1,234 findings": the figure, thousands separators and all.
    const count = async () =>
      Number(/([\d,]+)/.exec((await resultCount.textContent())!)![1]!.replaceAll(',', ''))
    await expect.poll(() => resultCount.textContent()).toMatch(/\d+ findings?/)
    const all = await count()
    await page.getByRole('group', { name: 'Severity' }).getByLabel('Critical').check()
    await page.getByRole('searchbox', { name: 'Search findings' }).fill('privileged')
    await expect.poll(() => page.url()).toMatch(/severity=critical/)
    await expect.poll(() => page.url()).toMatch(/q=privileged/)
    await expect.poll(count).toBeLessThan(all)
    const rows = page.getByRole('table', { name: 'Findings' }).locator('[data-testid^="finding-"]')
    await expect.poll(() => rows.count()).toBeGreaterThan(0)
    for (const text of await rows.allTextContents()) expect(text.toLowerCase()).toContain('critical')
    await screenshot(page, '2-findings-filtered')
    // The link restores the filters.
    const shared = page.url()
    await page.goto(server.url)
    await page.goto(shared)
    await expect
      .poll(() => page.getByRole('group', { name: 'Severity' }).getByLabel('Critical').isChecked())
      .toBe(true)
    await expect
      .poll(() => page.getByRole('searchbox', { name: 'Search findings' }).inputValue())
      .toBe('privileged')
  })

  it('opens a resource: its manifest with the offending lines highlighted, and all its findings', async () => {
    await page.getByRole('table', { name: 'Findings' }).locator('[data-testid^="finding-"]').first().click()
    await expect.poll(() => page.url()).toMatch(/\/resources\/\d+/)
    const manifest = page.getByTestId('manifest')
    await expect.poll(() => manifest.locator('.hit').count()).toBeGreaterThan(0)
    await expect
      .poll(() => page.getByRole('table', { name: 'Findings of this resource' }).getByRole('row').count())
      .toBeGreaterThan(1)
    // The finding we came from (privileged) is among the highlighted lines.
    expect((await manifest.locator('.hit').allTextContents()).join('\n')).toMatch(/privileged: true/)
    await screenshot(page, '3-resource')
  })

  it('lets an admin accept a finding as debt, and shows it on the debt page', async () => {
    // Anonymous readers may not change anything: the form says so.
    await page
      .getByRole('button', { name: /^Accept as debt/ })
      .first()
      .click()
    const form = page.getByRole('dialog', { name: 'Accept as debt' })
    await form.getByLabel('Owner').fill('team-payments@example.com')
    await form.getByLabel('Reason').fill('Vendor image needs it until 3.0 (PAY-123)')
    await form.getByLabel('Expires').fill('2099-12-31')
    await form.getByRole('button', { name: 'Create exception' }).click()
    await expect.poll(() => form.textContent()).toMatch(/needs an admin token/)
    await form.getByRole('button', { name: 'Sign in as admin' }).click()
    const signIn = page.getByRole('dialog', { name: 'Sign in' })
    await signIn.getByLabel('Token').fill(adminToken)
    await signIn.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('button', { name: 'Sign out' }).count()).toBe(1)
    const again = page.getByRole('dialog', { name: 'Accept as debt' })
    if ((await again.count()) === 0)
      await page
        .getByRole('button', { name: /^Accept as debt/ })
        .first()
        .click()
    await again.getByLabel('Owner').fill('team-payments@example.com')
    await again.getByLabel('Reason').fill('Vendor image needs it until 3.0 (PAY-123)')
    await again.getByLabel('Expires').fill('2099-12-31')
    await again.getByRole('button', { name: 'Create exception' }).click()
    await page.getByRole('link', { name: 'See it on the debt page' }).click()
    await expect.poll(() => page.url()).toMatch(/\/debt/)
    const table = page.getByRole('table', { name: 'Exceptions' })
    await expect.poll(() => table.textContent()).toMatch(/team-payments@example\.com/)
    expect(await table.textContent()).toMatch(/PAY-123/)
    expect(await table.textContent()).toMatch(/2099-12-31/)
    await screenshot(page, '4-debt')
  })

  it('is usable by keyboard: a finding row opens with Enter', async () => {
    await page.goto(`${server.url}/findings?severity=high`)
    const row = page.getByRole('table', { name: 'Findings' }).locator('[data-testid^="finding-"]').first()
    await row.focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => page.url()).toMatch(/\/resources\/\d+/)
  })

  it('shows the debt story: exceptions expiring soon, one expired with its finding back, one stale, one unowned', async () => {
    await page.goto(`${server.url}/debt`)
    const register = page.getByRole('table', { name: 'Exceptions' })
    await expect.poll(() => register.textContent()).toMatch(/stale: matches nothing/)
    expect(await register.textContent()).toMatch(/expired/)
    expect(await register.textContent()).toMatch(/in \d+ days?/)
    await expect
      .poll(() => page.getByRole('table', { name: 'Excepted findings' }).textContent())
      .toMatch(/no owner, no expiry/)
    await screenshot(page, '6-debt-story')
    // The register exported for Git: a file --exceptions reads back, without the expired entry.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export as YAML (for Git)' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('exceptions.yaml')
    const exported = readExceptionsFile((await download.path())!)
    expect(exported.length).toBeGreaterThan(0)
    expect(exported.every((e) => e.expires >= new Date().toISOString().slice(0, 10))).toBe(true)
    expect(exported.some((e) => e.reason.includes('DATA-80'))).toBe(false)
    // The expired exception's finding is open again, and its resource's page says which exception expired.
    const open = await page.evaluate(async () => {
      const r = await fetch('/api/findings?check=single-replica&q=postgres')
      return (await r.json()) as { items: { resource: { id: number }; exception: { expired?: boolean } }[] }
    })
    const back = open.items.find((f) => f.exception?.expired)!
    await page.goto(`${server.url}/resources/${back.resource.id}`)
    await expect
      .poll(() => page.getByTestId('exception-expired').textContent())
      .toMatch(/register #\d+, owned by data-team@example\.com\) expired on \d{4}-\d{2}-\d{2}/)
  })

  it('shows a framework’s controls on the compliance page, in the dark theme too', async () => {
    await page.goto(`${server.url}/compliance/pss-restricted`)
    await expect
      .poll(() => page.getByRole('table', { name: 'Controls' }).getByRole('row').count())
      .toBeGreaterThan(5)
    await page.getByRole('button', { name: 'Dark theme' }).click()
    await screenshot(page, '5-compliance-dark')
  })

  it('shows the cluster an agent pushes to this server: live, with its session', async () => {
    const row = page.getByRole('table', { name: 'Clusters' }).getByTestId('cluster-edge-cluster')
    await expect
      .poll(
        async () => {
          await page.goto(`${server.url}/clusters`)
          return row.textContent()
        },
        { timeout: 30_000 },
      )
      .toMatch(/live \(agent\)/)
    await row.getByRole('link', { name: 'edge-cluster', exact: true }).click()
    await expect
      .poll(() => page.getByTestId('agent-session').textContent())
      .toMatch(/Pushed by its agent \(plimsoll .+\): session since .+, \d+ messages, the last at/)
    await expect.poll(() => page.getByTestId('live-indicator').textContent()).toBe('Live')
    await screenshot(page, '6-agent-cluster')
  })

  it('shows a week of admission decisions, and the enforcement plan made from them and the cluster', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admissions' }).click()
    await expect.poll(() => page.url()).toMatch(/\/admissions$/)
    const count = async (testId: string) =>
      Number(((await page.getByTestId(testId).textContent()) ?? '').replaceAll(',', ''))
    await expect.poll(() => count('admissions-total')).toBeGreaterThan(100)
    for (const outcome of ['denied', 'warned', 'audited', 'allowed', 'exempt'])
      expect(await count(`outcome-${outcome}`), outcome).toBeGreaterThan(0)
    await expect
      .poll(() => page.getByRole('table', { name: 'Top denied checks' }).getByRole('row').count())
      .toBeGreaterThan(1)
    await expect
      .poll(() => page.getByRole('table', { name: 'Admission decisions' }).getByRole('row').count())
      .toBeGreaterThan(10)
    await screenshot(page, '7-admissions')

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Enforcement' }).click()
    await expect.poll(() => page.getByTestId('plan-admissions').textContent()).toMatch(/[1-9]/)
    // The demo enforces pss-privileged in payments: it stays enforced there.
    const privileged = page.getByTestId('plan-pss-privileged')
    await expect.poll(() => privileged.getByTestId('ladder-enforce').textContent()).toContain('payments')
    await expect
      .poll(() => page.getByRole('region', { name: /^Checks with evidence \(\d+\)$/ }).count())
      .toBe(1)
    await screenshot(page, '8-enforcement')
  })
})
