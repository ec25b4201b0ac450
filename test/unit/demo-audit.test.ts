/**
 * The demo's week of audit events (`serve --demo`'s detections and alerts): generated, queued, read by a
 * real AuditConsumer with the built-in audit rules and the baselines, grouped by a real Aggregator under
 * the demo's alerts file, over a real SQLite store.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Notification } from '../../src/audit/alerts/aggregator.js'
import { parseAlertsConfig } from '../../src/audit/alerts/config.js'
import { DEMO_ALERTS_YAML, DEMO_WEBHOOK_URL, seedAudit } from '../../src/demo/audit.js'
import { DEMO_AUDIT_INCIDENTS, DEMO_SECRET_VALUES, demoAuditTraffic } from '../../src/demo/audit-traffic.js'
import { CLUSTER_TARGET } from '../../src/demo/estate.js'
import { loadAlertState, readUnalertedDetections } from '../../src/store/alert-state.js'
import { listOutbox, listSilences } from '../../src/store/alerts.js'
import { loadBaselines } from '../../src/store/audit-baselines.js'
import { listDetections, type StoredDetection } from '../../src/store/audit-detections.js'
import { auditQueueStats } from '../../src/store/audit-queue.js'
import { openStore, type Store } from '../../src/store/connect.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-demo-audit-'))
const now = new Date('2026-03-31T12:00:00Z')
const WEEK_MS = 7 * 24 * 60 * 60 * 1000

describe('seedAudit', () => {
  let store: Store
  let summary: Awaited<ReturnType<typeof seedAudit>>
  let detections: StoredDetection[]
  let ms: number

  beforeAll(async () => {
    store = await openStore(join(tmp, 'audit.db'))
    const started = performance.now()
    summary = await seedAudit(store, { now })
    ms = performance.now() - started
    detections = (await listDetections(store, { limit: 100_000 })).reverse()
  }, 60_000)

  afterAll(() => store.close())

  it('queues a week of events, all processed, none after now, in a few seconds at most', async () => {
    console.log(`demo audit: ${JSON.stringify(summary)} in ${Math.round(ms)} ms`)
    expect(summary.events).toBeGreaterThan(2000)
    expect(summary.events).toBeLessThan(15_000)
    const stats = await auditQueueStats(store)
    expect(stats).toMatchObject({ pending: 0, processed: summary.events })
    const rows = await store.db.selectFrom('audit_events').select(['event', 'source']).execute()
    const times = rows.map((r) => Date.parse(JSON.parse(r.event).stageTimestamp))
    expect(times.every((t) => t <= now.getTime() && t >= now.getTime() - WEEK_MS)).toBe(true)
    expect(new Set(rows.map((r) => r.source))).toEqual(new Set(['webhook']))
    // about a second on a quiet machine (two CPUs); the bound leaves room for a loaded one
    expect(ms).toBeLessThan(8000)
  })

  it('finds every scripted incident by its rule, with the user and namespace it names', () => {
    for (const incident of DEMO_AUDIT_INCIDENTS)
      for (const rule of incident.rules) {
        const hits = detections.filter(
          (d) =>
            d.rule === rule &&
            d.labels.user === incident.user &&
            (incident.namespace === undefined || d.labels.namespace === incident.namespace),
        )
        expect(hits.length, `${incident.id}: ${rule}`).toBeGreaterThan(0)
        expect(hits.every((d) => d.source === (rule.startsWith('anomaly') ? 'anomaly' : 'plimsoll'))).toBe(
          true,
        )
        expect(hits.every((d) => d.cluster === CLUSTER_TARGET)).toBe(true)
      }
  })

  it("names the human whose account came from a new address with a new client, and nobody's else", () => {
    const anomalies = detections.filter((d) => d.source === 'anomaly')
    const source = anomalies.filter((d) => d.rule === 'anomaly: first source address range')
    expect(source.map((d) => [d.labels.user, d.labels.value])).toContainEqual([
      'alice@example.com',
      '203.0.113.0/24',
    ])
    const client = anomalies.filter((d) => d.rule === 'anomaly: first client')
    expect(client.map((d) => [d.labels.user, d.labels.value])).toContainEqual(['alice@example.com', 'curl'])
    expect(source.find((d) => d.labels.user === 'alice@example.com')!.output).toMatch(
      /^alice@example\.com did something it had not done before: source address range 203\.0\.113\.0\/24/,
    )
    // learned for five days: nothing is new before then
    const learnedUntil = now.getTime() - 2 * 24 * 60 * 60 * 1000
    expect(anomalies.every((d) => Date.parse(d.time) >= learnedUntil)).toBe(true)
  })

  it('is noisy as a week is: hundreds of detections, a few dozen notifications at most', async () => {
    expect(summary.detections).toBe(detections.length)
    expect(summary.detections).toBeGreaterThan(200)
    expect(summary.detections).toBeLessThan(2000)
    expect(summary.allowlisted).toBeGreaterThan(100)
    expect(summary.silenced).toBeGreaterThan(0)
    expect(summary.rateLimited).toBeGreaterThan(0)
    expect(summary.notifications).toBeGreaterThan(5)
    expect(summary.detections).toBeGreaterThan(summary.notifications * 5)
    const outbox = await listOutbox(store, { limit: 10_000 })
    expect(outbox.length).toBe(summary.notifications)
    expect(outbox.filter((o) => !o.delivered).length).toBe(summary.pending)
    expect(outbox.slice(-summary.pending).every((o) => !o.delivered)).toBe(true)
    for (const o of outbox) {
      const n = JSON.parse(o.payload) as Notification
      expect(o.createdAt).toBe(n.time)
      expect(Date.parse(n.time)).toBeLessThanOrEqual(now.getTime())
      expect(['security-team', 'platform-team']).toContain(n.receiver)
    }
    // the allowlisted controller and the silenced rules never reach a receiver
    const sentAlerts = outbox.flatMap((o) => (JSON.parse(o.payload) as Notification).alerts)
    expect(
      sentAlerts.some((a) => a.labels.user === 'system:serviceaccount:ingress-nginx:ingress-nginx'),
    ).toBe(false)
    // every incident's rule was sent
    for (const incident of DEMO_AUDIT_INCIDENTS)
      expect(
        sentAlerts.some((a) => incident.rules.includes(a.labels.rule!) && a.labels.user === incident.user),
        incident.id,
      ).toBe(true)
  })

  it('leaves the state `audit serve --alerts` would: open groups, every detection taken in', async () => {
    const state = await loadAlertState(store, CLUSTER_TARGET)
    expect(state).toBeDefined()
    expect(state!.snapshot.groups.length).toBe(summary.groups)
    expect(summary.groups).toBeGreaterThan(0)
    expect(state!.snapshot.groups.some((g) => g.groupLabels.rule === 'unauthorized-request')).toBe(true)
    expect(await readUnalertedDetections(store, CLUSTER_TARGET)).toEqual([])
    // the config it was made under loads, and points nowhere
    const config = parseAlertsConfig('alerts.yaml', DEMO_ALERTS_YAML)
    for (const r of config.receivers.values())
      for (const i of r.integrations) expect('url' in i && i.url.startsWith(DEMO_WEBHOOK_URL)).toBe(true)
  })

  it('has an active silence with its creator and comment, and an expired one; and the baselines', async () => {
    const silences = await listSilences(store)
    expect(silences.length).toBe(2)
    const active = silences.filter((s) => s.startsAt <= now.toISOString() && s.endsAt > now.toISOString())
    expect(active.length).toBe(1)
    expect(active[0]).toMatchObject({ createdBy: 'alice@example.com' })
    expect(active[0]!.comment).toMatch(/node-exporter/)
    expect(active[0]!.matchers).toContainEqual({ name: 'namespace', type: '=', value: 'monitoring' })
    expect(silences.filter((s) => s.endsAt <= now.toISOString()).length).toBe(1)
    const baselines = await loadBaselines(store, CLUSTER_TARGET)
    expect(baselines.length).toBe(summary.identities)
    expect(baselines.length).toBeGreaterThan(15)
  })

  it('refuses a store that already holds audit data', async () => {
    await expect(seedAudit(store, { now })).rejects.toThrow(/already holds \d+ row\(s\) of audit_events/)
  })

  it("never stores a Secret's value: not in the queued events, the detections or the notifications", async () => {
    const texts = [
      ...(await store.db.selectFrom('audit_events').select('event').execute()).map((r) => r.event),
      ...(await store.db.selectFrom('audit_detections').selectAll().execute()).map((r) => JSON.stringify(r)),
      ...(await listOutbox(store, { limit: 10_000 })).map((o) => o.payload),
      ...(await store.db.selectFrom('alert_state').select('state').execute()).map((r) => r.state),
    ]
    for (const value of DEMO_SECRET_VALUES) expect(texts.some((t) => t.includes(value))).toBe(false)
    // the Secrets were written (at Metadata level: no body)
    const secretWrites = (await store.db.selectFrom('audit_events').select('event').execute())
      .map((r) => JSON.parse(r.event))
      .filter((e) => e.verb === 'update' && e.objectRef?.resource === 'secrets')
    expect(secretWrites.length).toBeGreaterThan(0)
    expect(secretWrites.every((e) => e.level === 'Metadata' && e.requestObject === undefined)).toBe(true)
    // and the credential-looking ConfigMap's detection names its key, not its value
    const cm = detections.find((d) => d.rule === 'configmap-with-credentials')!
    expect(cm.output).toMatch(/warehouse_password/)
    expect(cm.output).not.toMatch(/Values/)
  })
})

describe('demoAuditTraffic and seedAudit are deterministic', () => {
  it('gives the same events for the same now, and the same detections in two stores', async () => {
    const a = demoAuditTraffic({ now })
    const b = demoAuditTraffic({ now })
    expect(JSON.stringify(a.events)).toBe(JSON.stringify(b.events))
    const strip = (ds: StoredDetection[]) => ds.map(({ id: _id, ...d }) => d)
    const results: StoredDetection[][] = []
    const sent: string[][] = []
    for (const name of ['one.db', 'two.db']) {
      const store = await openStore(join(tmp, name))
      try {
        await seedAudit(store, { now })
        results.push((await listDetections(store, { limit: 100_000 })).reverse())
        sent.push((await listOutbox(store, { limit: 10_000 })).map((o) => o.payload))
      } finally {
        await store.close()
      }
    }
    expect(strip(results[0]!)).toEqual(strip(results[1]!))
    expect(sent[0]).toEqual(sent[1])
  }, 60_000)
})
