import { Agent } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { consumeAuditEvents } from '../../src/store/audit-queue.js'
import { openStore } from '../../src/store/connect.js'
import { auditPki, eventList, post, startReceiverProcess } from '../helpers/audit-ingest.js'
import { freshDatabase } from '../helpers/postgres.js'
import { stopped } from '../helpers/serve.js'

const TOKEN = 'durability-token'
const pki = auditPki()
const startChild = (location: string) => startReceiverProcess(location, pki, TOKEN)

/** Batch k: 400 events as the API server's default batch holds, each with its own auditID. */
function batch(k: number): string {
  return eventList(
    Array.from({ length: 400 }, (_, i) => ({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: `b${k}-e${i}`,
      stage: 'ResponseComplete',
      verb: 'list',
      requestURI: `/api/v1/namespaces/ns-${i % 17}/configmaps?limit=500`,
      user: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        groups: ['system:authenticated'],
      },
      sourceIPs: ['127.0.0.1'],
      userAgent: 'kube-controller-manager/v1.32.13 (linux/amd64) kubernetes/63adf01',
      objectRef: { resource: 'configmaps', namespace: `ns-${i % 17}`, apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 200 },
      requestReceivedTimestamp: new Date().toISOString(),
      stageTimestamp: new Date().toISOString(),
      annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    })),
  )
}

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => join(tmpdir(), `plimsoll-audit-durable-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', () => freshDatabase('audit_durable')],
]

describe.each(backends)('the audit queue, the receiver killed (%s)', (_name, location) => {
  it('keeps every acknowledged batch exactly once across a kill -9, and the consumer processes each once', async () => {
    const where = await location()
    const first = await startChild(where)
    const acked = new Set<number>()
    const unacked = new Set<number>()
    let next = 0
    let killed = false
    const agent = new Agent({ keepAlive: true, maxSockets: 3 })
    // Three senders, as the API server sends batches while earlier ones are answered.
    const sender = async () => {
      while (!killed) {
        const k = next++
        try {
          const answer = await post(first.url, batch(k), { ca: pki.ca, token: TOKEN, agent })
          if (answer.status === 200) acked.add(k)
          else unacked.add(k)
        } catch {
          unacked.add(k)
        }
      }
    }
    const senders = [sender(), sender(), sender()]
    while (acked.size < 20) await new Promise((r) => setTimeout(r, 5))
    first.child.kill('SIGKILL')
    killed = true
    await Promise.all(senders)
    agent.destroy()
    await new Promise((r) =>
      first.child.exitCode !== null || first.child.signalCode !== null
        ? r(null)
        : first.child.once('exit', r),
    )
    expect(first.child.signalCode).toBe('SIGKILL')
    // Some batch was under way when it died (there are three senders and no pause).
    expect(unacked.size).toBeGreaterThan(0)

    // Restarted: the API server sends again what was not acknowledged; two acknowledged ones come again too.
    const second = await startChild(where)
    const resend = [...unacked, ...[...acked].slice(0, 2)]
    for (const k of resend)
      expect((await post(second.url, batch(k), { ca: pki.ca, token: TOKEN })).status).toBe(200)
    expect(await stopped(second.child)).toBe(0)

    const store = await openStore(where)
    try {
      const rows = await store.db
        .selectFrom('audit_events')
        .select(['audit_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('source', '=', 'webhook')
        .groupBy('audit_id')
        .execute()
      const stored = new Map(rows.map((r) => [r.audit_id!, Number(r.n)]))
      const sent = [...acked, ...unacked]
      expect(stored.size).toBe(sent.length * 400)
      for (const k of acked)
        for (let i = 0; i < 400; i++) expect(stored.get(`b${k}-e${i}`), `b${k}-e${i}`).toBe(1)
      expect([...stored.values()].every((v) => v === 1)).toBe(true)

      // The consumer, failing once half way: what it processed before counts once, the failed page again.
      const processed = new Map<string, number>()
      let pages = 0
      for (;;) {
        try {
          const n = await consumeAuditEvents(
            store,
            async (page) => {
              if (++pages === 4) throw new Error('the rules crashed')
              for (const e of page) processed.set(e.auditID!, (processed.get(e.auditID!) ?? 0) + 1)
            },
            { limit: 333 },
          )
          if (n === 0) break
        } catch (err) {
          expect((err as Error).message).toBe('the rules crashed')
        }
      }
      expect(processed.size).toBe(sent.length * 400)
      expect([...processed.values()].every((v) => v === 1)).toBe(true)
    } finally {
      await store.close()
    }
  })
})
