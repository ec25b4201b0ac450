import { readFileSync } from 'node:fs'
import { Agent } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { itemTexts, parseEventList } from '../../src/audit/ingest/event-list.js'
import { renderAuditKubeconfig } from '../../src/audit/ingest/kubeconfig.js'
import { type RunningAuditReceiver, startAuditReceiver } from '../../src/audit/ingest/receiver.js'
import type { AuditEvent } from '../../src/audit/types.js'
import { AuditWebhookBackend, parseWebhookKubeconfig } from '../../src/control-plane/audit-webhook.js'
import {
  auditQueueStats,
  completeAuditEvents,
  consumeAuditEvents,
  enqueueAuditEvents,
  pruneAuditEvents,
  type QueuedAuditEvent,
  readPendingAuditEvents,
} from '../../src/store/audit-queue.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { type AuditPki, auditPki, eventList, get, post } from '../helpers/audit-ingest.js'
import { corpusPath } from '../helpers/corpus.js'
import { freshDatabase } from '../helpers/postgres.js'

const AUDIT = corpusPath('kube-apiserver', '06-audit')
interface BatchEntry {
  file: string
  url: string
  requestHeaders: [string, string][]
  items: number
}
const index = JSON.parse(readFileSync(join(AUDIT, 'batches', 'index.json'), 'utf8')) as {
  batches: BatchEntry[]
}
const batches = index.batches.map((b) => ({ ...b, body: readFileSync(join(AUDIT, b.file)) }))
const recordedEvents = batches.flatMap(
  (b) => (JSON.parse(b.body.toString('utf8')) as { items: AuditEvent[] }).items,
)

const TOKEN = 'audit-token-0123456789abcdef'
const pki: AuditPki = auditPki()

/** Everything pending, consumed (and so marked processed), in queue order. */
async function drain(store: Store, source?: string): Promise<QueuedAuditEvent[]> {
  const all: QueuedAuditEvent[] = []
  for (;;) {
    const n = await consumeAuditEvents(
      store,
      async (events) => {
        all.push(...events)
      },
      { limit: 700, ...(source ? { source } : {}) },
    )
    if (n === 0) return all
  }
}

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => join(tmpdir(), `plimsoll-audit-ingest-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', () => freshDatabase('audit_ingest')],
]

describe.each(backends)('the audit receiver (%s)', (_name, location) => {
  let store: Store
  let receiver: RunningAuditReceiver
  const logs: string[] = []
  beforeAll(async () => {
    store = await openStore(await location())
    receiver = await startAuditReceiver({
      host: '127.0.0.1',
      port: 0,
      certFile: pki.certFile,
      keyFile: pki.keyFile,
      clientCaFile: pki.caFile,
      tokens: [TOKEN],
      store,
      log: (l) => logs.push(l),
    })
  })
  afterAll(async () => {
    await receiver?.stop()
    await store?.close()
  })

  it('takes every recorded batch, POSTed unchanged over mTLS, and the queue gives back each event', async () => {
    const agent = new Agent({ keepAlive: true })
    for (const b of batches) {
      // As the API server sent it: its headers (Host and Content-Length are the client's own), its URL.
      const headers = Object.fromEntries(
        b.requestHeaders.filter(([n]) => !/^(host|content-length)$/i.test(n)).map(([n, v]) => [n, v]),
      )
      const answer = await post(receiver.url, b.body, {
        ca: pki.ca,
        cert: pki.clientCert,
        key: pki.clientKey,
        headers,
        path: b.url,
        agent,
      })
      expect(answer, b.file).toEqual({ status: 200, body: '' })
    }
    agent.destroy()
    expect(receiver.counts()).toMatchObject({ batches: batches.length, events: recordedEvents.length })
    expect(recordedEvents.length).toBe(2169)
    const queued = await drain(store, 'webhook')
    expect(queued.length).toBe(recordedEvents.length)
    expect(queued.map((q) => q.event)).toEqual(recordedEvents)
    expect(queued.map((q) => JSON.parse(q.json))).toEqual(recordedEvents)
    // Stored as the API server wrote them, byte for byte: the batches are those texts joined.
    let at = 0
    for (const b of batches) {
      const texts = queued.slice(at, at + b.items).map((q) => q.json)
      at += b.items
      const body = `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[${texts.join(',')}]}\n`
      expect(body === b.body.toString('utf8'), b.file).toBe(true)
    }
    expect(
      queued.every(
        (q, i) => q.auditID === recordedEvents[i]!.auditID && q.stage === recordedEvents[i]!.stage,
      ),
    ).toBe(true)
    // In order: ids count up.
    expect(queued.every((q, i) => i === 0 || q.id > queued[i - 1]!.id)).toBe(true)
  })

  it('stores a batch sent again (the API server retries after a timeout) once', async () => {
    const again = batches[3]!
    const answer = await post(receiver.url, again.body, {
      ca: pki.ca,
      cert: pki.clientCert,
      key: pki.clientKey,
    })
    expect(answer.status).toBe(200)
    expect(receiver.counts().duplicates).toBe(again.items)
    expect((await auditQueueStats(store)).pending).toBe(0)
  })

  it('takes a bearer token; refuses no credentials, a wrong token and a stranger CA certificate with 401', async () => {
    const events = [
      { kind: 'Event', apiVersion: 'audit.k8s.io/v1beta1', auditID: 'tok-1', stage: 'ResponseComplete' },
    ]
    const body = eventList(events, 'audit.k8s.io/v1beta1')
    expect((await post(receiver.url, body, { ca: pki.ca, token: TOKEN })).status).toBe(200)
    const none = await post(receiver.url, body, { ca: pki.ca })
    expect(none.status).toBe(401)
    expect(none.body).toMatch(/client certificate|bearer token/)
    expect((await post(receiver.url, body, { ca: pki.ca, token: 'nope' })).status).toBe(401)
    expect(
      (await post(receiver.url, body, { ca: pki.ca, cert: pki.strangerCert, key: pki.strangerKey })).status,
    ).toBe(401)
    expect(receiver.counts().rejected.unauthenticated).toBe(3)
    // New connections resume the TLS session: none without a certificate passes for one with it.
    for (const i of [2, 3]) {
      const more = eventList([{ auditID: `tok-${i}`, stage: 'ResponseComplete' }])
      expect((await post(receiver.url, more, { ca: pki.ca })).status).toBe(401)
      expect(
        (await post(receiver.url, more, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey })).status,
      ).toBe(200)
    }
    expect((await drain(store)).map((q) => q.auditID)).toEqual(['tok-1', 'tok-2', 'tok-3'])
  })

  it('refuses malformed and oversized bodies with what it expected, stays up, and loses no good batch after', async () => {
    const auth = { ca: pki.ca, token: TOKEN }
    const cases: [string | Buffer, number, RegExp][] = [
      [
        '{"kind":"EventList",',
        400,
        /not JSON.*expected an EventList of audit\.k8s\.io\/v1 or audit\.k8s\.io\/v1beta1/,
      ],
      [eventList([], 'audit.k8s.io/v2'), 400, /apiVersion is "audit\.k8s\.io\/v2": expected an EventList/],
      [
        JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1' }),
        400,
        /kind is "Event": expected an EventList/,
      ],
      ['[1,2]', 400, /the body is an array: expected an EventList/],
      [
        JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: {} }),
        400,
        /items is an object/,
      ],
      [eventList([{ auditID: 'x' }, 3]), 400, /items\[1\] is number 3: expected an audit Event/],
      [gzipSync('{}').subarray(0, 10), 400, /not an audit EventList|not JSON/],
    ]
    for (const [body, status, message] of cases) {
      const answer = await post(receiver.url, body, auth)
      expect(answer.status, String(body).slice(0, 40)).toBe(status)
      expect(JSON.parse(answer.body).message).toMatch(message)
    }
    // Declared too large: refused before it is read.
    const big = Buffer.alloc(33 * 1024 * 1024, 0x20)
    const declared = await post(receiver.url, big, auth)
    expect(declared.status).toBe(413)
    expect(declared.body).toMatch(/more than the 33554432 bytes/)
    // Too large as it comes (chunked, no length), and gzip that unzips too large.
    const chunked = await post(receiver.url, big, { ...auth, headers: { 'Transfer-Encoding': 'chunked' } })
    expect(chunked.status).toBe(413)
    const bomb = gzipSync(Buffer.alloc(40 * 1024 * 1024, 0x20))
    expect(
      (await post(receiver.url, bomb, { ...auth, headers: { 'Content-Encoding': 'gzip' } })).status,
    ).toBe(413)
    expect(
      (await post(receiver.url, '{}', { ...auth, headers: { 'Content-Type': 'text/plain' } })).status,
    ).toBe(415)
    expect((await get(receiver.url, '/healthz', pki.ca)).status).toBe(200)
    expect((await get(receiver.url, '/readyz', pki.ca)).status).toBe(200)
    expect((await post(receiver.url, '{}', { ...auth, path: '/elsewhere' })).status).toBe(404)

    // Still up: events lacking every field are events (the rules decide), gzip as well as plain.
    const good = [{}, { verb: 'get' }, { kind: 'Event', auditID: 'after-bad', stage: 'ResponseComplete' }]
    expect((await post(receiver.url, eventList(good), auth)).status).toBe(200)
    const zipped = gzipSync(eventList([{ auditID: 'zipped', stage: 'RequestReceived' }]))
    expect(
      (await post(receiver.url, zipped, { ...auth, headers: { 'Content-Encoding': 'gzip' } })).status,
    ).toBe(200)
    expect((await post(receiver.url, eventList([]), auth)).status).toBe(200)
    const got = await drain(store)
    expect(got.map((q) => q.event)).toEqual([...good, { auditID: 'zipped', stage: 'RequestReceived' }])
    expect(got[0]!.auditID).toBeUndefined()

    const metrics = await get(receiver.url, '/metrics', pki.ca)
    expect(metrics.body).toMatch(/plimsoll_audit_rejected_requests_total\{reason="malformed"\} 7/)
    expect(metrics.body).toMatch(/plimsoll_audit_rejected_requests_total\{reason="too_large"\} 3/)
    expect(metrics.body).toMatch(/plimsoll_audit_batches_total \d+/)
    expect(metrics.body).toMatch(/plimsoll_audit_batch_seconds_bucket/)
  })

  it('answers anything a client sends with 200 or a 4xx, and stays up', async () => {
    const agent = new Agent({ keepAlive: true })
    const bodies = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record({
          kind: fc.constantFrom('EventList', 'Event', 'List'),
          apiVersion: fc.constantFrom('audit.k8s.io/v1', 'audit.k8s.io/v1beta1', 'v1'),
          items: fc.oneof(fc.array(fc.jsonValue(), { maxLength: 5 }), fc.jsonValue()),
        })
        .map((v) => JSON.stringify(v)),
    )
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const answer = await post(receiver.url, body, { ca: pki.ca, token: TOKEN, agent })
        expect([200, 400]).toContain(answer.status)
      }),
      { numRuns: 150 },
    )
    agent.destroy()
    expect((await get(receiver.url, '/healthz', pki.ca)).status).toBe(200)
    await drain(store)
  })

  it('marks a page processed with the consumer’s own writes, or neither', async () => {
    const events = Array.from({ length: 25 }, (_, i) => ({
      auditID: `c-${i}`,
      stage: 'ResponseComplete',
      verb: 'get',
    }))
    expect(await enqueueAuditEvents(store, 'test', events)).toEqual({ stored: 25, duplicates: 0 })
    // The consumer's own table stands in for detections: audit_log_positions, keyed by the page's first id.
    const write = async (
      page: readonly QueuedAuditEvent[],
      trx: Parameters<Parameters<typeof consumeAuditEvents>[1]>[1],
    ) =>
      trx
        .insertInto('audit_log_positions')
        .values({
          source: `detections-${page[0]!.auditID}`,
          path: '',
          dev: '',
          ino: '',
          byte_offset: page.length,
          line_number: 0,
          head: '',
          head_bytes: 0,
          updated_at: '',
        })
        .execute()
    await expect(
      consumeAuditEvents(
        store,
        async (page, trx) => {
          await write(page, trx)
          throw new Error('the rules failed')
        },
        { limit: 10 },
      ),
    ).rejects.toThrow('the rules failed')
    expect((await auditQueueStats(store)).pending).toBe(25)
    expect(await store.db.selectFrom('audit_log_positions').selectAll().execute()).toEqual([])
    const seen: string[] = []
    for (;;) {
      const n = await consumeAuditEvents(
        store,
        async (page, trx) => {
          seen.push(...page.map((e) => e.auditID!))
          await write(page, trx)
        },
        { limit: 10 },
      )
      if (n === 0) break
    }
    expect(seen).toEqual(events.map((e) => e.auditID))
    const written = await store.db
      .selectFrom('audit_log_positions')
      .select(['source', 'byte_offset'])
      .execute()
    expect(written.map((w) => [w.source, Number(w.byte_offset)]).sort()).toEqual([
      ['detections-c-0', 10],
      ['detections-c-10', 10],
      ['detections-c-20', 5],
    ])
    await store.db.deleteFrom('audit_log_positions').execute()
  })

  it('gives concurrent consumers different pages: each event processed once', async () => {
    const events = Array.from({ length: 600 }, (_, i) => ({ auditID: `p-${i}`, stage: 'ResponseComplete' }))
    await enqueueAuditEvents(store, 'parallel', events)
    const times = new Map<string, number>()
    const consumer = async () => {
      for (;;) {
        const n = await consumeAuditEvents(
          store,
          async (page) => {
            await new Promise((r) => setTimeout(r, 2))
            for (const e of page) times.set(e.auditID!, (times.get(e.auditID!) ?? 0) + 1)
          },
          { limit: 37, source: 'parallel' },
        )
        if (n === 0) return
      }
    }
    await Promise.all([consumer(), consumer(), consumer(), consumer()])
    expect(times.size).toBe(600)
    expect([...times.values()].every((t) => t === 1)).toBe(true)
  })

  it('lets a slow consumer read first and complete in a short transaction, once', async () => {
    const events = Array.from({ length: 30 }, (_, i) => ({ auditID: `s-${i}`, stage: 'ResponseComplete' }))
    await enqueueAuditEvents(store, 'slow', events)
    const a = await readPendingAuditEvents(store, { source: 'slow', limit: 20 })
    const b = await readPendingAuditEvents(store, { source: 'slow', limit: 20 })
    expect(a.map((e) => e.auditID)).toEqual(events.slice(0, 20).map((e) => e.auditID))
    // Two consumers read the same page; the first to complete it wins, the other writes nothing.
    let written = 0
    expect(await completeAuditEvents(store, a, async () => void written++)).toBe(true)
    expect(await completeAuditEvents(store, b, async () => void written++)).toBe(false)
    expect(written).toBe(1)
    // A failing write leaves the page pending.
    const rest = await readPendingAuditEvents(store, { source: 'slow' })
    expect(rest.map((e) => e.auditID)).toEqual(events.slice(20).map((e) => e.auditID))
    await expect(
      completeAuditEvents(store, rest, async () => {
        throw new Error('no')
      }),
    ).rejects.toThrow('no')
    expect(await completeAuditEvents(store, await readPendingAuditEvents(store, { source: 'slow' }))).toBe(
      true,
    )
    expect(await readPendingAuditEvents(store, { source: 'slow' })).toEqual([])
  })

  it('deletes processed events after the retention and keeps pending ones', async () => {
    await enqueueAuditEvents(store, 'retention', [{ auditID: 'keep-me', stage: 'ResponseComplete' }])
    const before = await auditQueueStats(store)
    expect(before.pending).toBe(1)
    expect(await pruneAuditEvents(store, { retentionMs: 3_600_000 })).toBe(0)
    const pruned = await pruneAuditEvents(store, { retentionMs: 1000, now: new Date(Date.now() + 60_000) })
    expect(pruned).toBe(before.processed)
    expect(await auditQueueStats(store)).toMatchObject({ pending: 1, processed: 0 })
    // Pruned, the same auditID and stage is new again (the retention is the duplicates' window).
    await drain(store)
    await pruneAuditEvents(store, { retentionMs: 0, now: new Date(Date.now() + 1000) })
    expect(
      await enqueueAuditEvents(store, 'retention', [{ auditID: 'keep-me', stage: 'ResponseComplete' }]),
    ).toEqual({
      stored: 1,
      duplicates: 0,
    })
  })
})

describe('the audit receiver, fed by the control plane’s audit webhook backend (as the API server sends)', () => {
  it('takes what a backend configured with the rendered kubeconfig sends, over mTLS and with a token, across a restart', async () => {
    const store = await openStore(join(tmpdir(), `plimsoll-audit-backend-${Date.now()}.db`))
    const start = (port = 0) =>
      startAuditReceiver({
        host: '127.0.0.1',
        port,
        certFile: pki.certFile,
        keyFile: pki.keyFile,
        clientCaFile: pki.caFile,
        tokens: [TOKEN],
        store,
      })
    let receiver = await start()
    const server = `https://127.0.0.1:${receiver.port}/audit`
    const viaCert = parseWebhookKubeconfig(
      renderAuditKubeconfig({ server, caCert: pki.ca, clientCert: pki.clientCert, clientKey: pki.clientKey }),
    )
    const viaToken = parseWebhookKubeconfig(renderAuditKubeconfig({ server, caCert: pki.ca, token: TOKEN }))
    const options = { batchMaxWaitMs: 20, throttleQps: 0, initialBackoffMs: 50, attempts: 40 }
    const event = (id: string) => ({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      auditID: id,
      stage: 'ResponseComplete',
    })
    const withCert = new AuditWebhookBackend(viaCert, options)
    const withToken = new AuditWebhookBackend(viaToken, options)
    withCert.process(Array.from({ length: 1000 }, (_, i) => event(`cert-${i}`)))
    withToken.process(Array.from({ length: 10 }, (_, i) => event(`token-${i}`)))
    await Promise.all([withCert.flush(), withToken.flush()])
    expect(withCert.results.map((r) => [r.events, r.ok])).toEqual([
      [400, true],
      [400, true],
      [200, true],
    ])
    // The receiver goes away and comes back on its port: the backend's retries deliver what was sent meanwhile.
    const port = receiver.port
    await receiver.stop()
    withToken.process(Array.from({ length: 5 }, (_, i) => event(`late-${i}`)))
    await new Promise((r) => setTimeout(r, 150))
    receiver = await start(port)
    await withToken.stop()
    await withCert.stop()
    expect(withToken.results.every((r) => r.ok)).toBe(true)
    expect(withToken.results.at(-1)!.attempts).toBeGreaterThan(1)
    const ids = (await drain(store)).map((q) => q.auditID)
    expect(ids.length).toBe(1015)
    expect(new Set(ids).size).toBe(1015)
    expect(ids.filter((id) => id!.startsWith('late-'))).toEqual([
      'late-0',
      'late-1',
      'late-2',
      'late-3',
      'late-4',
    ])
    await receiver.stop()
    await store.close()
  })
})

describe('the audit receiver, set up', () => {
  it('will not start without a way to authenticate the API server', async () => {
    const store = await openStore(join(tmpdir(), `plimsoll-audit-noauth-${Date.now()}.db`))
    await expect(
      startAuditReceiver({ port: 0, host: '127.0.0.1', certFile: pki.certFile, keyFile: pki.keyFile, store }),
    ).rejects.toThrow(/client CA \(mTLS\), bearer tokens, or allowUnauthenticated/)
    await store.close()
  })

  it('cuts each event’s text out of the body as sent, whatever its spacing and strings', () => {
    const tricky = [
      { a: 'quote " and \\ backslash', b: ['[', ']', '{', '}', ','], c: { d: [1, [2, [3]]] } },
      { auditID: 'x', e: '\u2028 \u0000 é 🎉', n: -1.5e-7, t: true, f: false, z: null },
      {},
    ]
    const compact = eventList(tricky)
    const cut = parseEventList(compact)
    expect(cut.ok && cut.texts).toEqual(tricky.map((e) => JSON.stringify(e)))
    const spaced = JSON.stringify(
      { items: tricky, kind: 'EventList', apiVersion: 'audit.k8s.io/v1beta1' },
      null,
      2,
    )
    const parsed = parseEventList(spaced)
    expect(parsed.ok && parsed.texts!.map((t) => JSON.parse(t))).toEqual(tricky)
    // Not simple: the events are turned back into JSON instead.
    expect(itemTexts('{"kind":"EventList","items":[{}],"items":[{},{}]}')).toBeUndefined()
    expect(itemTexts('{"kind":"EventList","\\u0069tems":[{}]}')).toBeUndefined()
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue())), fc.boolean(), (items, pretty) => {
        const body = JSON.stringify(
          { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items },
          null,
          pretty ? 1 : 0,
        )
        const texts = itemTexts(body)!
        expect(texts.map((t) => JSON.parse(t))).toEqual(JSON.parse(body).items)
      }),
      { numRuns: 300 },
    )
  })

  it('reads EventLists strictly at the top and leniently inside', () => {
    expect(parseEventList('{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":null}')).toEqual({
      ok: true,
      apiVersion: 'audit.k8s.io/v1',
      events: [],
      texts: undefined,
    })
    expect(parseEventList('null')).toMatchObject({ ok: false, message: /the body is null/ })
  })

  it('renders the webhook kubeconfig the API server reads, with a client certificate or a token', async () => {
    const { load } = await import('js-yaml')
    const withCert = load(
      renderAuditKubeconfig({
        server: 'https://plimsoll-audit.plimsoll.svc:9444/audit',
        caCert: pki.ca,
        clientCert: pki.clientCert,
        clientKey: pki.clientKey,
      }),
    ) as Record<string, unknown>
    expect(withCert).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'plimsoll-audit',
          cluster: {
            server: 'https://plimsoll-audit.plimsoll.svc:9444/audit',
            'certificate-authority-data': Buffer.from(pki.ca).toString('base64'),
          },
        },
      ],
      users: [
        {
          name: 'kube-apiserver',
          user: {
            'client-certificate-data': Buffer.from(pki.clientCert).toString('base64'),
            'client-key-data': Buffer.from(pki.clientKey).toString('base64'),
          },
        },
      ],
      contexts: [{ name: 'default', context: { cluster: 'plimsoll-audit', user: 'kube-apiserver' } }],
      'current-context': 'default',
    })
    const withToken = load(
      renderAuditKubeconfig({
        server: 'https://10.0.0.1:9444/audit',
        caCert: pki.ca,
        token: 'a: "tricky" token',
      }),
    ) as { users: { user: Record<string, string> }[] }
    expect(withToken.users[0]!.user).toEqual({ token: 'a: "tricky" token' })
    expect(() => renderAuditKubeconfig({ server: 'http://x/audit', caCert: pki.ca, token: 't' })).toThrow(
      /https/,
    )
    expect(() => renderAuditKubeconfig({ server: 'https://x/audit', caCert: pki.ca })).toThrow(
      /client certificate or a token/,
    )
    expect(() => renderAuditKubeconfig({ server: 'https://x/audit', caCert: 'nope', token: 't' })).toThrow(
      /PEM/,
    )
  })
})
