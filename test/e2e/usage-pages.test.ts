/**
 * The usage pages (Utilisation, Rightsizing, Cost) in a real browser (Debian's Chromium, driven by
 * playwright-core) against a real `plimsoll serve --db`, over a store filled by recordUsageSnapshot from
 * synthetic but realistic UsageReports run through the real recommenders and cost model
 * (test/helpers/usage-snapshots.ts): prod a week apart, and a partial staging snapshot. The pages must
 * show the figures, the percentile plot of each container with its recommendation, the filters must
 * narrow what is shown (and be in the URL), the partial snapshot must say what it missed, and an empty
 * store must say how to record usage. Screenshots are saved under test-output/screenshots.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import { launch, openPage, screenshot, signIn } from '../helpers/browser.js'
import { serve, stopped } from '../helpers/serve.js'
import { type FilledUsage, fillUsageStore, STAGING_GAPS } from '../helpers/usage-snapshots.js'

let dir: string
let server: { child: ChildProcess; out: string; url: string }
let empty: { child: ChildProcess; out: string; url: string }
let browser: Browser
let page: Page
let viewerToken: string
let filled: FilledUsage

const HOURS = 168
const month = (window: number) => (window / HOURS) * 730
const usd = (n: number) => new Intl.NumberFormat('en', { style: 'currency', currency: 'USD' }).format(n)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-usage-pages-'))
  const db = join(dir, 'store.db')
  const store = await openStore(db)
  try {
    filled = await fillUsageStore(store)
    viewerToken = (await createToken(store, 'val-viewer', { role: 'viewer' })).token
  } finally {
    await store.close()
  }
  server = await serve(['--db', db])
  empty = await serve(['--db', join(dir, 'empty.db'), '--anonymous-read'])
  browser = await launch()
  page = await openPage(browser)
}, 90_000)

afterAll(async () => {
  await browser?.close()
  if (server) await stopped(server.child)
  if (empty) await stopped(empty.child)
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const chartLabel = (name: RegExp) => page.getByRole('img', { name }).first().getAttribute('aria-label')

describe('the usage pages', () => {
  it('plot requested vs used vs allocatable per cluster, flag the partial snapshot, and filter by cluster and namespace', async () => {
    await page.goto(server.url)
    await signIn(page, viewerToken)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage' }).click()
    await expect.poll(() => page.url()).toMatch(/\/usage$/)
    await expect.poll(() => page.getByTestId('utilisation-prod').count()).toBe(1)
    expect(await page.getByTestId('utilisation-staging').count()).toBe(1)

    // prod's latest snapshot: 4 checkout pods x 1 core + 0.25 + 2 x 0.5 + 3 x 0.1 + the CronJob's 2 cores
    // for 2 of 168 hours = 5.57 cores requested; 1.81 used; 3 x 3.92 allocatable.
    const latest = page.getByTestId('usage-latest-prod')
    expect(await latest.locator('tbody tr').first().getByRole('cell').allTextContents()).toEqual([
      '5.57 cores',
      '1.81 cores',
      '11.76 cores',
      '32.4%',
      '47.4%',
    ])
    expect(await latest.locator('tbody tr').nth(1).getByRole('cell').allTextContents()).toEqual([
      '10.24 GiB',
      '4.17 GiB',
      '45 GiB',
      '40.7%',
      '22.7%',
    ])
    expect(await chartLabel(/^CPU requested, used and allocatable, prod/)).toBe(
      'CPU requested, used and allocatable, prod (cores): 2 snapshots; the latest: requested 5.57 cores, used 1.81 cores (32.4% of requested), allocatable 11.76 cores (47.4% requested).',
    )
    // The partial staging snapshot says what it missed.
    const gaps = page.getByTestId('usage-gaps-staging')
    expect(await gaps.textContent()).toContain('Partial snapshot of staging')
    for (const g of STAGING_GAPS) expect(await gaps.textContent()).toContain(`${g.what}: ${g.message}`)
    expect(await page.getByTestId('usage-gaps-prod').count()).toBe(0)
    // The bin-packing view: prod's three nodes.
    expect(await page.getByTestId('usage-nodes').locator('tbody tr').count()).toBe(3)
    await screenshot(page, 'usage-1-utilisation')

    // Filters, in the URL: prod only, then its shop namespace.
    await page.getByLabel('Cluster').selectOption('prod')
    await expect.poll(() => page.url()).toMatch(/\/usage\?cluster=prod$/)
    await expect.poll(() => page.getByTestId('utilisation-staging').count()).toBe(0)
    await page.getByLabel('Namespace', { exact: true }).selectOption('shop')
    await expect.poll(() => page.url()).toMatch(/\/usage\?cluster=prod&namespace=shop$/)
    await expect
      .poll(() => chartLabel(/^CPU requested and used, prod\/shop/))
      .toMatch(
        /^CPU requested and used, prod\/shop \(cores\): 2 snapshots; the latest: requested 4.25 cores, used 1.12 cores/,
      )
    expect(await page.getByTestId('usage-namespaces').locator('tbody tr').count()).toBe(1)
    await screenshot(page, 'usage-2-namespace')
  })

  it("shows each container's percentile plot against its request, limit and recommendation, most savings first, and filters", async () => {
    await page.getByRole('navigation', { name: 'Usage' }).getByRole('link', { name: 'Rightsizing' }).click()
    await expect.poll(() => page.url()).toMatch(/\/usage\/rightsizing\?cluster=prod$/)
    const rows = page.getByTestId('rightsizing-table').locator('tbody tr')
    await expect.poll(() => rows.count()).toBe(5)
    const checkout = page.getByTestId('rightsizing-shop/checkout/app')
    expect(await rows.first().getAttribute('data-testid')).toBe('rightsizing-shop/checkout/app')
    // The evidence: checkout's CPU at load 1.2 (p95 0.35 x 1.2 = 420m), recommended at its p95, no limit.
    const cpu = checkout.getByTestId('percentiles-cpu')
    expect(await cpu.locator('figcaption').textContent()).toBe(
      'CPU p50 240m, p95 420m, p99 504m, max 720mnow request 1 core, limit 2 cores→ recommended request 420m, limit none',
    )
    expect(await cpu.getByRole('img').getAttribute('aria-label')).toBe(
      'CPU: p50 240m, p95 420m, p99 504m, max 720m; request 1 core, limit 2 cores; recommended request 420m, limit none',
    )
    // Memory: peak 800 MiB + 15% = 920 MiB, request = limit.
    expect(await checkout.getByTestId('percentiles-memory').locator('figcaption').textContent()).toContain(
      'recommended request 920 MiB, limit 920 MiB',
    )
    const w = filled.prodNew.waste.containers.find((c) => c.workload.name === 'checkout')!
    expect(await checkout.getByTestId('savings').textContent()).toMatch(
      new RegExp(`^${usd(w.savingsMonthly.total).replace(/[$.]/g, '\\$&')}of`),
    )
    expect(await page.getByTestId('rightsizing-summary').textContent()).toBe(
      `5 containers; applying every recommendation saves ${usd(filled.prodNew.waste.total.savingsMonthly.total)} a month.`,
    )
    // The OOM-killed ledger says so.
    expect(
      await page.getByTestId('rightsizing-payments/ledger/api').getByTestId('oom-kills').textContent(),
    ).toMatch(/^OOM-killed once \(at 512 MiB, /)
    await screenshot(page, 'usage-3-rightsizing')

    // Filter: low confidence only: the CronJob with 2 hours of history, held.
    await page.getByLabel('Confidence').selectOption('low')
    await expect.poll(() => page.url()).toMatch(/\/usage\/rightsizing\?cluster=prod&confidence=low$/)
    await expect.poll(() => rows.count()).toBe(1)
    expect(await rows.first().getAttribute('data-testid')).toBe('rightsizing-batch/nightly-report/report')
    expect(await page.getByTestId('rightsizing-summary').textContent()).toMatch(/^1 container match;/)
    await page.getByRole('button', { name: 'Clear filters' }).click()
    await expect.poll(() => rows.count()).toBe(5)

    // The partial staging snapshot: its gaps, and no requests to weigh.
    await page.getByLabel('Cluster').selectOption('staging')
    await expect.poll(() => page.getByTestId('usage-gaps-staging').count()).toBe(1)
    expect(await page.getByTestId('usage-gaps-staging').textContent()).toContain('kube-state-metrics')
    await expect.poll(() => rows.count()).toBe(2)
    expect(
      await page
        .getByTestId('rightsizing-shop/checkout/app')
        .getByTestId('percentiles-cpu')
        .locator('figcaption')
        .textContent(),
    ).toContain('now request none, limit none')
    await screenshot(page, 'usage-4-rightsizing-partial')
  })

  it('shows the cost per namespace and team with idle, waste, savings and the trend', async () => {
    await page.goto(`${server.url}/usage/cost?cluster=prod`)
    const costs = filled.prodNew.costs
    const nodeCost = 3 * (4 * 0.031611 + 16 * 0.004237) * HOURS
    await expect.poll(() => page.getByTestId('cost-nodes').textContent()).toBe(usd(month(nodeCost)))
    expect(await page.getByTestId('cost-workloads').textContent()).toBe(
      usd(month(costs.total.workloadCost.total)),
    )
    expect(await page.getByTestId('cost-idle').textContent()).toBe(
      usd(month(nodeCost - costs.total.workloadCost.total)),
    )
    expect(await page.getByTestId('cost-waste').textContent()).toBe(
      usd(filled.prodNew.waste.total.wasteMonthly.total),
    )
    expect(await page.getByTestId('cost-savings').textContent()).toBe(
      usd(filled.prodNew.waste.total.savingsMonthly.total),
    )
    // Per namespace, most cost first: shop.
    const groups = page.getByTestId('cost-groups').locator('tbody tr')
    expect(await groups.count()).toBe(4)
    expect(await groups.first().getAttribute('data-testid')).toBe('cost-group-shop')
    const shop = costs.namespaces.find((n) => n.namespace === 'shop')!
    expect(await page.getByTestId('cost-group-shop').getByRole('cell').nth(1).textContent()).toBe(
      usd(month(shop.cost.total)),
    )
    // The trend: two snapshots, the workloads' cost up with checkout's fourth pod.
    const before = month(filled.prodOld.costs.total.workloadCost.total)
    const after = month(costs.total.workloadCost.total)
    expect(after).toBeGreaterThan(before)
    expect(await chartLabel(/^Nodes, workloads, idle and savings a month \(USD\), prod/)).toContain(
      `2 snapshots: workloads from ${usd(before)} to ${usd(after)} a month`,
    )
    await screenshot(page, 'usage-5-cost')

    // By team, in the URL; no team label is its own group.
    await page.getByLabel('Group by').selectOption('team')
    await expect.poll(() => page.url()).toMatch(/\/usage\/cost\?cluster=prod&by=team$/)
    await expect.poll(() => page.getByTestId('cost-group-storefront').count()).toBe(1)
    const storefront = costs.teams.find((t) => t.team === 'storefront')!
    expect(await page.getByTestId('cost-group-storefront').getByRole('cell').nth(1).textContent()).toBe(
      usd(month(storefront.cost.total)),
    )
    expect(await page.getByTestId('cost-group-__unallocated__').getByRole('rowheader').textContent()).toBe(
      'no team label',
    )

    // staging: no node was read, so no idle figure, and the gap says why.
    await page.getByLabel('Cluster').selectOption('staging')
    await expect.poll(() => page.getByTestId('usage-gaps-staging').count()).toBe(1)
    expect(await page.getByTestId('cost-idle').textContent()).toBe('—')
    expect(await page.getByTestId('cost-nodes').textContent()).toBe('—')
    expect(await page.getByTestId('usage-gaps-staging').textContent()).toContain('node metrics')
    await screenshot(page, 'usage-6-cost-partial')
  })

  it('over an empty store, says how to record usage', async () => {
    for (const path of ['/usage', '/usage/rightsizing', '/usage/cost']) {
      await page.goto(`${empty.url}${path}`)
      await expect
        .poll(() => page.getByTestId('usage-empty').textContent())
        .toMatch(/^No usage recorded yet: run plimsoll usage --prometheus URL --store … \(docs\/usage.md\)\./)
    }
    await screenshot(page, 'usage-7-empty')
  })
})
