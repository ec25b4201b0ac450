/**
 * What a dashboard test file starts in its beforeAll, stopped after all its tests: `plimsoll serve`
 * processes and Chromium with a page. The browser goes first (its open event streams would otherwise
 * hold a server's shutdown), then the servers, then whatever else the file made (`after`).
 */
import type { ChildProcess } from 'node:child_process'
import type { Browser, Page } from 'playwright-core'
import { afterAll } from 'vitest'
import { launch, openPage } from './browser.js'
import { serve, stopped } from './serve.js'

export type Served = Awaited<ReturnType<typeof serve>>

export interface DashboardSession {
  /** `plimsoll serve --port 0 …args` (test/helpers/serve.ts), stopped after the file's tests */
  serve(args: string[]): Promise<Served>
  /** Chromium and a page of it (test/helpers/browser.ts), closed after the file's tests */
  open(): Promise<Page>
}

/** Registers the afterAll that stops them; `after` (a temporary folder's removal…) runs last. */
export function dashboardSession(after?: () => unknown): DashboardSession {
  const servers: ChildProcess[] = []
  let browser: Browser | undefined
  afterAll(async () => {
    await browser?.close()
    for (const child of servers) await stopped(child)
    await after?.()
  })
  return {
    async serve(args) {
      const served = await serve(args)
      servers.push(served.child)
      return served
    },
    async open() {
      browser = await launch()
      return openPage(browser)
    },
  }
}
