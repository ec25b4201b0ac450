/**
 * The alert pipeline's state in the store: a new process takes up the open groups where the last one
 * stopped (or died), each detection is taken in once, a pass the store refuses leaves nothing behind in
 * memory, and what was detected before alerts were configured is not sent as news. On SQLite and
 * PostgreSQL.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAlertsConfig } from '../../src/audit/alerts/config.js'
import { AlertPipeline } from '../../src/audit/alerts/pipeline.js'
import type { Detection } from '../../src/audit/types.js'
import { loadAlertState } from '../../src/store/alert-state.js'
import { listOutbox } from '../../src/store/alerts.js'
import { recordDetections } from '../../src/store/audit-detections.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { failingOnce } from '../helpers/failing-store.js'
import { freshDatabase } from '../helpers/postgres.js'

const config = parseAlertsConfig(
  'alerts.yml',
  `
global: { resolve_timeout: 1h }
route:
  receiver: team
  group_by: [user]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: team
    webhook_configs: [{ url: 'http://127.0.0.1:9/hook' }]
`,
)

const T0 = Date.parse('2026-12-01T10:00:00Z')

function detection(user: string, at = T0): Detection {
  return {
    rule: 'pod-exec-attach',
    source: 'plimsoll',
    priority: 'notice',
    output: `exec by ${user}`,
    time: new Date(at).toISOString(),
    labels: { rule: 'pod-exec-attach', priority: 'notice', user },
    tags: [],
  }
}

const dialects: [string, () => Promise<string>][] = [
  ['SQLite', async () => join(mkdtempSync(join(tmpdir(), 'plimsoll-alert-state-')), 'store.db')],
  ['PostgreSQL', () => freshDatabase('alert_state')],
]

describe.each(dialects)('alert state on %s', (_name, location) => {
  let store: Store
  let now = T0
  const clock = { now: () => now }
  const pipeline = (s: Store = store, cluster = 'prod') =>
    new AlertPipeline(s, config, { cluster, clock, outbox: { clock } })

  beforeAll(async () => {
    store = await openStore(await location())
  })
  afterAll(async () => {
    await store?.close()
  })

  it('does not send what was detected before alerts were configured', async () => {
    await recordDetections(store.db, 'history', [detection('old-timer', T0 - 86_400_000)])
    const first = pipeline(store, 'history')
    await first.load()
    expect((await first.pass()).taken).toBe(0)
    await recordDetections(store.db, 'history', [detection('newcomer')])
    expect((await first.pass()).taken).toBe(1)
  })

  it('a new process takes up the open groups and flushes them once, on time', async () => {
    now = T0
    const a = pipeline()
    await a.load()
    await recordDetections(store.db, 'prod', [detection('alice'), detection('bob'), detection('alice')])
    const taken = await a.pass()
    expect(taken).toMatchObject({ taken: 3, notifications: 0, outcomes: { new: 2, deduped: 1 } })
    // `a` dies here, before group_wait: only the store knows the groups
    const saved = await loadAlertState(store, 'prod')
    expect(saved!.snapshot.groups.map((g) => g.groupLabels.user).sort()).toEqual(['alice', 'bob'])

    now = T0 + 31_000
    const b = pipeline()
    await b.load()
    expect(b.noiseReport()).toEqual(a.noiseReport())
    expect(await b.pass()).toMatchObject({ taken: 0, notifications: 2 })
    expect(await b.pass()).toMatchObject({ taken: 0, notifications: 0 })
    const sent = await listOutbox(store)
    expect(
      sent.map((e) => (JSON.parse(e.payload) as { groupLabels: { user: string } }).groupLabels.user).sort(),
    ).toEqual(['alice', 'bob'])

    // and a third process does not send them again: the log of what was sent is in the state too
    now = T0 + 10 * 60_000
    const c = pipeline()
    await c.load()
    await c.pass()
    expect(await listOutbox(store)).toHaveLength(2)
    expect(c.noiseReport().find((r) => r.rule === 'pod-exec-attach')).toMatchObject({
      detections: 3,
      deduped: 1,
      alerts: 2,
      notifications: 2,
    })
  })

  it('a pass the store refuses is rolled back in memory and taken again', async () => {
    const { store: flaky, failNext } = failingOnce(store)
    now = T0 + 20 * 60_000
    const p = pipeline(flaky)
    await p.load()
    const before = p.noiseReport()
    await recordDetections(store.db, 'prod', [detection('carol', now)])
    failNext()
    await expect(p.pass()).rejects.toThrow(/refused/)
    expect(p.noiseReport()).toEqual(before)
    expect(p.counts.failedPasses).toBe(1)
    expect(await p.pass()).toMatchObject({ taken: 1, outcomes: { new: 1 } })
    const carol = p.noiseReport().find((r) => r.rule === 'pod-exec-attach')!
    expect(carol.detections).toBe(before.find((r) => r.rule === 'pod-exec-attach')!.detections + 1)
    now += 31_000
    expect(await p.pass()).toMatchObject({ notifications: 1 })
  })
})
