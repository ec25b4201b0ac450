/**
 * Debian's Chromium for the dashboard's browser tests (driven by playwright-core, which never downloads
 * a browser of its own): installed with apt-get when missing, and its path given to the tests.
 */
import { existsSync } from 'node:fs'
import type { TestProject } from 'vitest/node'
import { aptInstall } from './apt.js'

declare module 'vitest' {
  export interface ProvidedContext {
    chromiumPath: string
  }
}

const CHROMIUM = process.env.PLIMSOLL_TEST_CHROMIUM ?? '/usr/bin/chromium'

export async function setup(project: TestProject): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    await aptInstall(['chromium'], `Chromium for the dashboard's browser tests (no ${CHROMIUM})`)
    if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, but ${CHROMIUM} is still missing`)
  }
  project.provide('chromiumPath', CHROMIUM)
}
