/**
 * The upgrades page in a real browser (Debian's Chromium, driven by playwright-core) against a real
 * `plimsoll serve --db`, over a store filled by `plimsoll upgrade-check --store` with the corpus's real
 * manifests. The page must show what went in: the latest check per target, the one with the most that
 * breaks first, what breaks grouped by API version or feature with what to use instead and the objects
 * with their file and line; the area filter holds in the URL; a store without checks teaches the
 * command. A screenshot is saved under test-output/screenshots.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { runUpgradeCheck } from '../../src/cli/upgrade-check.js'
import { screenshot } from '../helpers/browser.js'
import { corpusPath } from '../helpers/corpus.js'
import { dashboardSession, type Served } from '../helpers/dashboard-session.js'

let dir: string
const session = dashboardSession(() => dir && rmSync(dir, { recursive: true, force: true }))
let server: Served
let empty: Served
let page: Page

const examples = corpusPath('real-manifests', 'kubernetes__examples', '_archived')
const cockroach = join(examples, 'cockroachdb', 'cockroachdb-statefulset.yaml')

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-upgrades-page-'))
  const db = join(dir, 'store.db')
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  const check = (inputs: string[], flags: Record<string, string>) =>
    runUpgradeCheck(inputs, {
      format: 'json',
      color: false,
      namespace: [],
      excludeNamespace: [],
      output: join(dir, 'report.json'),
      store: db,
      ...flags,
    })
  try {
    expect(await check([examples], { from: 'v1.24', to: 'v1.25', target: 'examples' })).toBe(1)
    expect(await check([cockroach], { from: 'v1.23', to: 'v1.24', target: 'cockroachdb' })).toBe(0)
  } finally {
    write.mockRestore()
  }
  server = await session.serve(['--db', db, '--anonymous-read'])
  empty = await session.serve(['--db', join(dir, 'empty.db'), '--anonymous-read'])
  page = await session.open()
}, 90_000)

const section = (impact: string) => page.getByTestId(`upgrade-${impact}`)
const groupHeadings = (impact: string) => section(impact).locator('[data-testid="upgrade-group"] h4')

describe('the upgrades page', () => {
  it('shows the latest check per target, what breaks with its replacement and objects, and filters by area', async () => {
    await page.goto(server.url)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Upgrades' }).click()
    await expect.poll(() => page.url()).toMatch(/\/upgrades$/)
    const rows = page.getByTestId('upgrade-checks').locator('tbody tr')
    await expect.poll(() => rows.count()).toBe(2)
    expect(await rows.nth(0).locator('th').textContent()).toBe('cockroachdb')
    expect(await rows.nth(1).textContent()).toMatch(/^examplesv1\.24 → v1\.25.*4/)

    // The check with the most that breaks is shown first.
    await expect
      .poll(() => page.getByRole('heading', { level: 2, name: /examples: v1\.24 → v1\.25/ }).count())
      .toBe(1)
    await expect
      .poll(() => groupHeadings('breaks').allTextContents())
      .toEqual([
        'extensions/v1beta1 DaemonSet (v1.16)',
        'policy/v1beta1 PodDisruptionBudget (v1.25)',
        "dockershim: dockershim is removed; the Docker socket is not the container runtime's (v1.24)",
      ])
    const pdb = section('breaks').getByTestId('upgrade-group').nth(1)
    expect(await pdb.getByTestId('upgrade-replacement').textContent()).toBe('policy/v1 PodDisruptionBudget')
    expect(await pdb.locator('tbody tr').textContent()).toMatch(
      /PodDisruptionBudget cockroachdb-budget.*cockroachdb-statefulset\.yaml:57/,
    )
    const socket = section('breaks').getByTestId('upgrade-group').nth(2)
    expect(await socket.locator('tbody tr').count()).toBe(2)
    expect(
      await page.getByText('Pod Security Standards controls that change between v1.24 and v1.25').count(),
    ).toBe(1)
    await screenshot(page, 'upgrades')

    await page.getByRole('combobox', { name: 'Area' }).selectOption('feature')
    await expect.poll(() => page.url()).toMatch(/area=feature/)
    await expect
      .poll(() => groupHeadings('breaks').allTextContents())
      .toEqual([
        "dockershim: dockershim is removed; the Docker socket is not the container runtime's (v1.24)",
      ])

    // The other target: nothing breaks at v1.24, the budget is deprecated there.
    await rows.nth(0).getByRole('link', { name: 'cockroachdb' }).click()
    await expect.poll(() => page.url()).toMatch(/check=\d+$/)
    await expect
      .poll(() => groupHeadings('deprecated').allTextContents())
      .toEqual(['policy/v1beta1 PodDisruptionBudget (v1.21)'])
    expect(await section('breaks').count()).toBe(0)
    expect(await section('deprecated').getByTestId('upgrade-replacement').textContent()).toBe(
      'policy/v1 PodDisruptionBudget',
    )
  })

  it('teaches the command when nothing is recorded', async () => {
    await page.goto(`${empty.url}/upgrades`)
    await expect.poll(() => page.getByTestId('upgrades-empty').count()).toBe(1)
    expect(await page.getByTestId('upgrades-empty').textContent()).toContain(
      'plimsoll upgrade-check k8s/ --from v1.32 --to v1.33 --store',
    )
  })
})
