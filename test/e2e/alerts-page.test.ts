/**
 * The alerts page in a real browser (Debian's Chromium, driven by playwright-core) against a real
 * `plimsoll serve --db`, over a store filled by the real parts (test/helpers/audit-alerts-store.ts):
 * detections as the audit pipeline records them, a Secret's audit event in the queue, and the alert
 * pipelines' states as real Aggregators snapshot them. The page must show the open groups, the noise
 * per rule, the identity most detections name, a detection's audit event without the Secret's values,
 * and the silences: an admin adds one through the form (refused inline first) and expires it, the store
 * says so; a viewer gets no form. Screenshots are saved under test-output/screenshots.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { listSilences } from '../../src/store/alerts.js'
import { openStore } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import { EXEC_RULE, fillAuditStore, SECRET_RULE } from '../helpers/audit-alerts-store.js'
import { leaked, SECRET_VALUES } from '../helpers/audit-secret-events.js'
import { screenshot, signIn } from '../helpers/browser.js'
import { dashboardSession, type Served } from '../helpers/dashboard-session.js'

let dir: string
let db: string
const session = dashboardSession(() => dir && rmSync(dir, { recursive: true, force: true }))
let server: Served
let empty: Served
let page: Page
let adminToken: string
let viewerToken: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-alerts-page-'))
  db = join(dir, 'store.db')
  const store = await openStore(db)
  try {
    await fillAuditStore(store)
    adminToken = (await createToken(store, 'ada-admin', { role: 'admin' })).token
    viewerToken = (await createToken(store, 'val-viewer', { role: 'viewer' })).token
  } finally {
    await store.close()
  }
  server = await session.serve(['--db', db])
  empty = await session.serve(['--db', join(dir, 'empty.db'), '--anonymous-read'])
  page = await session.open()
}, 90_000)

const groups = () => page.getByTestId('alert-group')
const silenceForm = () => page.getByRole('form', { name: 'New silence' })
const silenceRows = () => page.getByTestId('silences-table').locator('tbody tr')
const execGroup = () =>
  groups()
    .filter({ hasText: `rule="${EXEC_RULE}"` })
    .filter({ hasText: 'prod' })

describe('the alerts page', () => {
  it('shows the open alert groups, the noise per rule and the top identities to a viewer, without a silence form', async () => {
    await page.goto(server.url)
    await signIn(page, viewerToken)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click()
    await expect.poll(() => page.url()).toMatch(/\/alerts$/)

    // Six open groups, the most recent activity first: the privileged Pod's, not yet notified.
    await expect.poll(() => groups().count()).toBe(6)
    const first = groups().first()
    expect(await first.getByTestId('group-labels').textContent()).toBe('rule="Create Privileged Pod"')
    expect(await first.textContent()).toMatch(/first notification at .* \(group_wait\)/)
    // The oldest is resolved: detected 20 minutes ago, resolve_timeout 5m.
    expect(await groups().last().getByTestId('group-counts').textContent()).toBe(
      '0 firing, 1 resolved, 0 silenced',
    )
    expect(await execGroup().getByTestId('group-counts').textContent()).toBe(
      '2 firing, 0 resolved, 0 silenced',
    )
    expect(await execGroup().textContent()).toMatch(/prod · to security-team · 2 alerts/)
    // Opened: its alerts with their summaries.
    await execGroup().locator('summary').click()
    const alerts = execGroup().getByRole('table')
    expect(await alerts.getByRole('rowheader').allTextContents()).toEqual([
      `${EXEC_RULE} (user=bob)`,
      `${EXEC_RULE} (user=alice)`,
    ])
    expect(await page.getByTestId('alert-state-freshness').textContent()).toMatch(
      /dev at .* UTC, prod at .* UTC/,
    )

    // Noise: prod's and dev's Attach/Exec Pod, 11 detections into 1 notification.
    const exec = page.getByTestId(`noise-${EXEC_RULE}`)
    expect(await exec.getByRole('cell').allTextContents()).toEqual(['11', '1', '11 : 1', '6', '1', '0', '2'])
    const anomaly = page.getByTestId('noise-anomaly: first secrets list by identity')
    expect(await anomaly.getByRole('cell').allTextContents()).toEqual(['2', '1', '2 : 1', '0', '0', '1', '0'])
    expect(await page.getByTestId('noise-totals').textContent()).toMatch(
      /^16 detections in, 4 notifications out/,
    )
    // The identity most detections name.
    const top = page.getByTestId('top-identities').locator('tbody tr').first()
    expect(await top.textContent()).toMatch(/^alice\s*6$/)
    // Detections over time: the chart's summary counts them.
    expect(await page.getByRole('img', { name: /Detections per hour/ }).getAttribute('aria-label')).toMatch(
      /16 detections in the last 1 day/,
    )

    // A viewer reads the silences, and is offered no change.
    await expect.poll(() => page.getByText(/No silence is active or pending/).count()).toBe(1)
    expect(await silenceForm().count()).toBe(0)
    expect(await page.getByRole('button', { name: /^Expire/ }).count()).toBe(0)
    expect(await page.getByText('Adding and expiring silences needs an admin token.').count()).toBe(1)
    await screenshot(page, 'alerts-1-viewer')
  })

  it("shows a detection's audit event with the Secret's values redacted, or says it is no longer kept", async () => {
    const table = page.getByTestId('detections-table')
    const secretRow = table.locator('tbody tr').filter({ hasText: SECRET_RULE })
    await secretRow.getByRole('button', { name: 'Show event' }).click()
    const event = page.getByTestId('detection-event')
    await expect.poll(() => event.count()).toBe(1)
    const json = (await event.getByTestId('audit-event-json').textContent())!
    expect(json).toContain('"username": "minikube-user"')
    expect(json).toContain(`"password": "<redacted: ${SECRET_VALUES.password.length} bytes>"`)
    expect(leaked(json)).toEqual([])
    expect(leaked((await page.content())!)).toEqual([])
    await screenshot(page, 'alerts-2-event')
    await secretRow.getByRole('button', { name: 'Hide event' }).click()
    expect(await event.count()).toBe(0)

    // dev's detections' events were pruned from the queue.
    const devRow = table
      .locator('tbody tr')
      .filter({ has: page.getByRole('cell', { name: 'dev', exact: true }) })
      .first()
    await devRow.getByRole('button', { name: 'Show event' }).click()
    await expect
      .poll(() => page.getByTestId('detection-event-gone').textContent())
      .toMatch(/The event is no longer kept \(the queue keeps processed events for --retention-hours\)/)
  })

  it('lets an admin add a silence through the form (errors inline) and expire it', async () => {
    await signIn(page, adminToken)
    await expect.poll(() => silenceForm().count()).toBe(1)
    const form = silenceForm()
    await form.getByLabel('Matchers').fill('user="alice"')
    await form.getByLabel('Duration').fill('1h')
    // No comment: refused, in the API's words, under the form.
    await form.getByRole('button', { name: 'Add silence' }).click()
    await expect.poll(() => page.getByTestId('silence-error').textContent()).toBe('comment is required')
    await form.getByLabel('Comment').fill('alice is on the incident (INC-42)')
    await form.getByRole('button', { name: 'Add silence' }).click()
    await expect.poll(() => silenceRows().filter({ hasText: 'user="alice"' }).count()).toBe(1)
    expect(await page.getByTestId('silence-error').count()).toBe(0)
    const row = silenceRows().filter({ hasText: 'user="alice"' })
    expect(await row.textContent()).toMatch(/ada-admin.*alice is on the incident \(INC-42\).*active/)

    // In the store, made by the admin token's name, for an hour.
    const store = await openStore(db)
    try {
      const [silence] = (await listSilences(store)).filter((s) => s.comment.includes('INC-42'))
      expect(silence).toMatchObject({
        createdBy: 'ada-admin',
        matchers: [{ name: 'user', type: '=', value: 'alice' }],
      })
      expect(Date.parse(silence!.endsAt) - Date.parse(silence!.startsAt)).toBe(3_600_000)
    } finally {
      await store.close()
    }
    // alice's alerts are now silenced in their groups.
    await expect
      .poll(() => execGroup().getByTestId('group-counts').textContent())
      .toBe('2 firing, 0 resolved, 1 silenced')
    await screenshot(page, 'alerts-3-silenced')

    await row.getByRole('button', { name: 'Expire silence user="alice"' }).click()
    await expect.poll(() => silenceRows().filter({ hasText: 'user="alice"' }).count()).toBe(0)
    await expect
      .poll(() => execGroup().getByTestId('group-counts').textContent())
      .toBe('2 firing, 0 resolved, 0 silenced')
    // Expired, in the store; listed again with the expired ones.
    const after = await openStore(db)
    try {
      const [silence] = (await listSilences(after)).filter((s) => s.comment.includes('INC-42'))
      expect(Date.parse(silence!.endsAt)).toBeLessThanOrEqual(Date.now())
    } finally {
      await after.close()
    }
    await page.getByLabel('Show expired silences').check()
    await expect
      .poll(() => silenceRows().filter({ hasText: 'user="alice"' }).textContent())
      .toMatch(/expired$/)
  })

  it('over an empty store, says how to start', async () => {
    await page.goto(`${empty.url}/alerts`)
    await expect
      .poll(() => page.getByTestId('alerts-empty').textContent())
      .toMatch(/No detections yet: run plimsoll audit serve --store …/)
    expect(await groups().count()).toBe(0)
    await screenshot(page, 'alerts-4-empty')
  })
})
