/** Debian's Chromium, driven by playwright-core, for the dashboard's end-to-end tests. */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { expect, inject } from 'vitest'

/** Screenshots go here (kept by CI as test output; not in git). */
export const SCREENSHOTS = resolve(import.meta.dirname, '..', '..', 'test-output', 'screenshots')

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: inject('chromiumPath'),
    headless: true,
    // Root in CI needs --no-sandbox; the rest keeps Chromium from calling out of this offline machine.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  })
}

/** A page of `browser` at the screenshots' size (1280×900); an uncaught error on the page fails the test. */
export async function openPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.on('pageerror', (err) => {
    throw err
  })
  return page
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const path = join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/**
 * Signs in on the dashboard with a token, signing out first if signed in; a server that reads nothing
 * without a token opens the sign-in dialog by itself.
 */
export async function signIn(page: Page, token: string): Promise<void> {
  if ((await page.getByRole('button', { name: 'Sign out' }).count()) > 0)
    await page.getByRole('button', { name: 'Sign out' }).click()
  const dialog = page.getByRole('dialog', { name: 'Sign in' })
  await expect.poll(() => dialog.count()).toBe(1)
  await dialog.getByLabel('Token').fill(token)
  await dialog.getByRole('button', { name: 'Sign in' }).click()
  await expect.poll(() => page.getByRole('button', { name: 'Sign out' }).count()).toBe(1)
}
