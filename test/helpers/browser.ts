/** Debian's Chromium, driven by playwright-core, for the dashboard's end-to-end tests. */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { inject } from 'vitest'

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
