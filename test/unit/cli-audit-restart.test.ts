/**
 * Issue 14, restart: `plimsoll audit serve` is killed with `kill -9` while the API server's batches
 * arrive. After a restart (and the API server sending again every batch it got no answer for), every
 * acknowledged event is stored and evaluated exactly once, each detection is counted once by the alert
 * pipeline, and a webhook receiver that was down all along gets every notification exactly once when it
 * comes back, after a second kill -9 and a third start.
 */
import { describe, expect, it } from 'vitest'
import type { AuditEvent } from '../../src/audit/types.js'
import { loadAlertState } from '../../src/store/alert-state.js'
import { countPendingOutbox, listOutbox } from '../../src/store/alerts.js'
import { auditQueueStats } from '../../src/store/audit-queue.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { auditEvent, batches, execAction } from '../helpers/audit-events.js'
import { get, post } from '../helpers/audit-ingest.js'
import {
  type AuditServe,
  alertsYaml,
  auditServe,
  auditServing,
  killed,
  reservedPort,
  stoppedAfterAll,
  webhookReceiver,
} from '../helpers/audit-serve.js'
import { until } from '../helpers/until.js'

const serving = auditServing('plimsoll-audit-restart-')
const CLUSTER = 'lab'
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy']
const BATCHES = 40
const PER_BATCH = 100
const EVENTS = BATCHES * PER_BATCH
/** posts in flight at once, as the API server's webhook backend sends several batches at a time */
const CONCURRENCY = 6

const { processes, stores, receivers } = stoppedAfterAll()

/**
 * Batch b: 100 execs into pod shop/web-(b mod 8), by the 10 users in turn. The user and the pod are an
 * alert's labels: 80 distinct alerts, the later pods appearing only as later batches are evaluated.
 */
function generate(): { events: AuditEvent[][]; bodies: string[] } {
  const events: AuditEvent[][] = []
  const at = Date.now()
  for (let b = 0; b < BATCHES; b++) {
    const batch: AuditEvent[] = []
    for (let i = 0; i < PER_BATCH; i++) {
      const user = USERS[i % USERS.length]!
      batch.push(
        auditEvent(
          {
            username: user,
            groups: ['developers'],
            ip: `10.20.0.${10 + (i % USERS.length)}`,
            userAgent: 'kubectl/v1.32.0 (linux/amd64) kubernetes/70d3cc9',
          },
          execAction('shop', `web-${b % 8}`, ['sh', '-c', `cat /tmp/job-${b}-${i}`]),
          at + b,
        ),
      )
    }
    events.push(batch)
  }
  return { events, bodies: events.map((batch) => batches(batch, PER_BATCH)[0]!) }
}

/**
 * `kill -9` at a moment when no notification is being sent: a row the killed process had claimed
 * would be left to its 60 s lease (as documented), longer than this test may take. Waits until no
 * undelivered row is leased and no head of a group is due within the next 300 ms, then kills.
 */
async function killBetweenSends(p: AuditServe, store: Store): Promise<void> {
  await until(
    'a moment without a notification in flight',
    async () => {
      const now = Date.now()
      const rows = await store.db
        .selectFrom('alert_outbox')
        .select(['id', 'receiver', 'integration', 'group_key', 'next_attempt_at', 'lease_until'])
        .where('delivered', '=', 0)
        .orderBy('id')
        .execute()
      const heads = new Map<string, (typeof rows)[number]>()
      for (const r of rows) {
        const key = `${r.receiver}\u0000${r.integration}\u0000${r.group_key}`
        if (!heads.has(key)) heads.set(key, r)
      }
      const soon = new Date(now + 300).toISOString()
      const busy =
        rows.some((r) => r.lease_until !== null && r.lease_until > new Date(now).toISOString()) ||
        [...heads.values()].some((r) => r.next_attempt_at <= soon)
      return !busy
    },
    20_000,
  )
  await killed(p.child)
}

async function metric(url: string, name: string): Promise<number> {
  const text = (await get(url, '/metrics', serving.ca)).body
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text)
  return m ? Number(m[1]) : Number.NaN
}

describe('plimsoll audit serve, killed with kill -9', () => {
  it('processes every acknowledged event exactly once, and a receiver that was down gets every notification once back', async () => {
    const started = Date.now()
    const port = await reservedPort() // the receiver is down: nothing listens there yet
    const alerts = serving.file(
      'alerts.yaml',
      alertsYaml(port, 'group_by: [user]\ngroup_wait: 1s\ngroup_interval: 2s\nrepeat_interval: 4h'),
    )
    const db = `${serving.dir}/audit.db`
    const args = [...serving.args, '--store', db, '--cluster-name', CLUSTER, '--alerts', alerts]
    const { events, bodies } = generate()
    const auth = { ca: serving.ca, token: serving.token }

    // 1. Ingestion, killed with batches in flight.
    const first = await auditServe(args)
    processes.push(first)
    const store = await openStore(db)
    stores.push(store)
    const acked = new Set<number>()
    let next = 0
    let firstAckAt = 0
    let killing: Promise<void> | undefined
    let inFlightAtKill = 0
    let inFlight = 0
    const kill = () => {
      if (killing) return
      inFlightAtKill = inFlight
      killing = killBetweenSends(first, store)
    }
    const worker = async () => {
      while (!killing && next < BATCHES) {
        const b = next++
        inFlight++
        try {
          const r = await post(first.url, bodies[b]!, auth)
          if (r.status === 200) {
            acked.add(b)
            if (firstAckAt === 0) {
              firstAckAt = Date.now()
              // before the first group_wait (1 s) could end: no notification is being sent yet
              setTimeout(kill, 600)
            }
            if (acked.size >= 12) kill()
          }
        } catch {
          // killed before it answered: the API server sends this batch again
        } finally {
          inFlight--
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    await killing
    const ackedFirst = acked.size
    expect(ackedFirst).toBeGreaterThan(0)
    expect(ackedFirst).toBeLessThan(BATCHES)
    const atKill = await auditQueueStats(store)
    const storedBeforeRestart = atKill.pending + atKill.processed
    // durable before acknowledged: every acknowledged event is in the store after the kill
    const storedIds = new Set(
      (await store.db.selectFrom('audit_events').select('audit_id').execute()).map((r) => r.audit_id),
    )
    for (const b of acked) for (const e of events[b]!) expect(storedIds.has(e.auditID!)).toBe(true)
    const detectionsAtKill = (
      await store.db
        .selectFrom('audit_detections')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n

    // 2. Restarted; the API server sends again what it got no answer for.
    const second = await auditServe(args)
    processes.push(second)
    // Every batch without an answer, and one that was answered: a 200 lost on the way back is, for the
    // API server, no answer (so at least one batch's events are recognised as already stored).
    const lostAnswer = Math.max(...acked)
    const resend = [lostAnswer, ...[...Array(BATCHES).keys()].filter((b) => !acked.has(b))]
    let r = 0
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (r < resend.length) {
          const b = resend[r++]!
          expect((await post(second.url, bodies[b]!, auth)).status).toBe(200)
          acked.add(b)
        }
      }),
    )
    expect(acked.size).toBe(BATCHES)
    const countOf = async (table: 'audit_detections' | 'audit_events', alerted?: 0 | 1) => {
      let q = store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'))
      if (alerted !== undefined && table === 'audit_detections') q = q.where('alerted', '=', alerted)
      return Number((await q.executeTakeFirstOrThrow()).n)
    }
    await until(
      'every event processed and every detection taken in by the alerts',
      async () =>
        (await auditQueueStats(store)).pending === 0 &&
        (await countOf('audit_detections')) === EVENTS &&
        (await countOf('audit_detections', 0)) === 0,
      30_000,
    )
    const stored = await countOf('audit_events')
    const storedAgain = await metric(second.url, 'plimsoll_audit_webhook_events_total')
    const duplicates = await metric(second.url, 'plimsoll_audit_webhook_duplicate_events_total')
    // what the restarted receiver stored is exactly what was missing; the rest of what was sent again
    // (batches stored before the kill but never answered) was recognised and not stored twice
    expect(stored).toBe(EVENTS)
    expect(storedAgain).toBe(EVENTS - storedBeforeRestart)
    expect(duplicates).toBe(resend.length * PER_BATCH - storedAgain)
    expect(duplicates).toBeGreaterThanOrEqual(PER_BATCH)

    // Exactly once, per event: one stored event and one pod-exec-attach detection per auditID.
    const perEvent = await store.db
      .selectFrom('audit_events')
      .select(['audit_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('audit_id')
      .execute()
    const perDetection = await store.db
      .selectFrom('audit_detections')
      .select(['audit_id', 'rule', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['audit_id', 'rule'])
      .execute()
    const allIds = events.flat().map((e) => e.auditID!)
    expect(new Set(allIds).size).toBe(EVENTS)
    const eventsById = new Map(perEvent.map((row) => [row.audit_id, Number(row.n)]))
    const detectionsById = new Map(perDetection.map((row) => [row.audit_id, `${row.rule} x${row.n}`]))
    for (const id of allIds) {
      expect(eventsById.get(id)).toBe(1)
      expect(detectionsById.get(id)).toBe('pod-exec-attach x1')
    }
    expect(perDetection).toHaveLength(EVENTS) // nothing else detected (the users are still being learned)

    // The alert pipeline counted each detection once, across the kill: its saved noise per rule.
    const state = await loadAlertState(store, CLUSTER)
    const noise = state!.snapshot.noise.find((n) => n.rule === 'pod-exec-attach')!
    expect(state!.snapshot.noise.map((n) => n.rule)).toEqual(['pod-exec-attach'])
    expect(noise.detections).toBe(EVENTS)
    // 10 users x 8 pods: 80 distinct alerts, every other detection folded into one of them
    expect(noise.alerts).toBe(USERS.length * 8)
    expect(noise.deduped).toBe(EVENTS - USERS.length * 8)

    // The receiver is still down: notifications wait in the outbox. Wait until every user's group has
    // had its first flush (group_wait), then kill -9 this one too.
    const usersInOutbox = async () => {
      const rows = await listOutbox(store)
      return new Set(
        rows.map((row) => (JSON.parse(row.payload) as { groupLabels: { user: string } }).groupLabels.user),
      )
    }
    await until(
      'a notification for every user in the outbox',
      async () => (await usersInOutbox()).size === 10,
      10_000,
    )
    expect(await countPendingOutbox(store)).toBeGreaterThan(0)
    await killBetweenSends(second, store)
    const failedAttempts = await store.db
      .selectFrom('alert_outbox')
      .select((eb) => eb.fn.sum<number>('attempts').as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(failedAttempts.n)).toBeGreaterThan(0) // it had tried, and the receiver was down
    const pendingAtSecondKill = await countPendingOutbox(store)

    // 3. A third start; only then does the receiver come back, on the port it was configured with.
    const third = await auditServe(args)
    processes.push(third)
    const hook = await webhookReceiver(port)
    receivers.push(hook)
    const received = hook.received
    await until('the outbox delivered', async () => (await countPendingOutbox(store)) === 0, 40_000)
    // nothing more comes: no group changed since its last notification (repeat_interval is 4h)
    await new Promise((r) => setTimeout(r, 2500))
    expect(await countPendingOutbox(store)).toBe(0)
    const rows = await listOutbox(store)
    const ids = received.map((n) => n.id)
    expect(new Set(ids).size).toBe(ids.length) // no notification twice
    expect(ids.slice().sort((a, b) => a - b)).toEqual(rows.map((row) => row.id))
    // and each is what was written: its group and its alerts
    const byId = new Map(
      rows.map((row) => [
        row.id,
        JSON.parse(row.payload) as { groupKey: string; alerts: { fingerprint: string }[] },
      ]),
    )
    for (const n of received) {
      expect(n.body.groupKey).toBe(byId.get(n.id)!.groupKey)
      expect(n.body.alerts.map((a) => a.fingerprint)).toEqual(
        byId.get(n.id)!.alerts.map((a) => a.fingerprint),
      )
      expect(Object.keys(n.body.groupLabels)).toEqual(['user'])
      for (const a of n.body.alerts) expect(a.labels.user).toBe(n.body.groupLabels.user)
    }
    const firingUsers = new Set(
      received.filter((n) => n.body.status === 'firing').map((n) => n.body.groupLabels.user),
    )
    expect([...firingUsers].sort()).toEqual([...USERS].sort())
    // every one of the 80 alerts reached the receiver
    const fingerprints = new Set(received.flatMap((n) => n.body.alerts.map((a) => a.fingerprint)))
    expect(fingerprints.size).toBe(USERS.length * 8)

    console.log(
      `restart: ${EVENTS} events in ${BATCHES} batches; ${ackedFirst} acknowledged before kill -9 ` +
        `(${inFlightAtKill} in flight), ${storedBeforeRestart} events and ${detectionsAtKill} detections stored then; ` +
        `${resend.length} batches sent again: ${storedAgain} stored, ${duplicates} duplicates; ` +
        `${EVENTS} detections, 80 alerts; ${pendingAtSecondKill} notifications pending at the second kill, ` +
        `${received.length} received after the third start (${rows.length} outbox rows); ${Date.now() - started} ms`,
    )
  }, 90_000)
})
