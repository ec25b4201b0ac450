/**
 * The audit webhook backend's batching (src/control-plane/audit-webhook.ts), against a small HTTPS
 * receiver here: a full batch goes out at once and bigger bursts are split at the max size, a
 * partial batch goes out after the max wait, a receiver that is down and then comes up gets
 * everything (retries with backoff), a 5xx is retried, stop sends what is buffered; bearer-token and
 * client-certificate authentication, and the webhook kubeconfig. Then the same through a control
 * plane: its stop flushes the events of its last requests.
 */
import { type AddressInfo, createServer as createTcpServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWebhookBackend, parseWebhookKubeconfig } from '../../src/control-plane/audit-webhook.js'
import { Pki } from '../../src/control-plane/certs.js'
import { startControlPlane } from '../../src/control-plane/server.js'
import { type AuditSink, sinkKubeconfig, startAuditSink } from '../helpers/audit-sink.js'

type Obj = Record<string, unknown>

let pki: Pki
const sinks: AuditSink[] = []

const TOKEN = 'audit-sink-token'

/** An HTTPS receiver (test/helpers/audit-sink.ts), closed after all; `answer` decides the status of each POST. */
async function receiver(options: Parameters<typeof startAuditSink>[1] = {}): Promise<AuditSink> {
  const sink = await startAuditSink(pki, options)
  sinks.push(sink)
  return sink
}

function events(n: number, from = 0): Obj[] {
  return Array.from({ length: n }, (_, i) => ({
    level: 'Metadata',
    auditID: `id-${from + i}`,
    stage: 'ResponseComplete',
  }))
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

beforeAll(() => {
  pki = new Pki()
})

afterAll(async () => {
  for (const s of sinks) await s.close()
  pki?.dispose()
})

describe('audit webhook backend', () => {
  it('sends full batches at once and splits bursts at the max size', async () => {
    const r = await receiver()
    const backend = new AuditWebhookBackend(
      { server: r.url, ca: pki.serverCa.cert, token: TOKEN },
      {
        batchMaxSize: 3,
        batchMaxWaitMs: 60_000,
      },
    )
    try {
      backend.process(events(7))
      // Two full batches go out without waiting for the 60 s max wait; the seventh event waits.
      await until(() => r.posts.length === 2)
      await new Promise((res) => setTimeout(res, 100))
      expect(r.posts.map((p) => p.body.items.length)).toEqual([3, 3])
    } finally {
      await backend.stop()
    }
    expect(r.posts.map((p) => p.body.items.length)).toEqual([3, 3, 1])
    expect(r.posts.flatMap((p) => p.body.items.map((e) => e.auditID))).toEqual(
      events(7).map((e) => e.auditID),
    )
    const first = r.posts[0]!
    expect(first.url).toBe('/audit?timeout=30s')
    expect(first.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(first.headers['content-type']).toBe('application/json')
    expect(first.headers.accept).toBe('application/json, */*')
    expect(first.headers['user-agent']).toBe('Go-http-client/1.1')
    expect(first.body).toEqual({
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      metadata: {},
      items: events(3),
    })
  })

  it('sends a partial batch when the max wait is over', async () => {
    const r = await receiver()
    const backend = new AuditWebhookBackend(
      { server: r.url, ca: pki.serverCa.cert },
      {
        batchMaxSize: 400,
        batchMaxWaitMs: 150,
      },
    )
    try {
      const start = Date.now()
      backend.process(events(2))
      await until(() => r.posts.length === 1)
      expect(Date.now() - start).toBeGreaterThanOrEqual(140)
      expect(r.posts[0]?.body.items.length).toBe(2)
      // A later event starts a new wait.
      backend.process(events(1, 2))
      await until(() => r.posts.length === 2)
      expect(r.posts[1]?.body.items.map((e) => e.auditID)).toEqual(['id-2'])
    } finally {
      await backend.stop()
    }
  })

  it('retries with backoff until a receiver that was down comes up, losing nothing', async () => {
    // A port nobody listens on yet.
    const probe = createTcpServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const backend = new AuditWebhookBackend(
      { server: `https://127.0.0.1:${port}/audit`, ca: pki.serverCa.cert },
      { batchMaxSize: 5, batchMaxWaitMs: 20, initialBackoffMs: 100, attempts: 8 },
    )
    backend.process(events(12))
    await new Promise((res) => setTimeout(res, 300))
    const r = await receiver({ port })
    await backend.stop()
    expect(r.posts.flatMap((p) => p.body.items.map((e) => e.auditID))).toEqual(
      events(12).map((e) => e.auditID),
    )
    expect(backend.results.every((x) => x.ok)).toBe(true)
    expect(backend.results[0]?.attempts).toBeGreaterThan(1)
  })

  it('retries a 5xx answer, and gives a batch up after the last attempt', async () => {
    const r = await receiver({ answer: (n) => (n === 0 ? 503 : 200) })
    const backend = new AuditWebhookBackend(
      { server: r.url, ca: pki.serverCa.cert },
      {
        batchMaxWaitMs: 10,
        initialBackoffMs: 20,
      },
    )
    backend.process(events(2))
    await backend.flush()
    expect(r.posts.length).toBe(1)
    expect(backend.results).toEqual([{ events: 2, attempts: 2, ok: true }])
    await backend.stop()

    const down = await receiver({ answer: () => 500 })
    const failing = new AuditWebhookBackend(
      { server: down.url, ca: pki.serverCa.cert },
      {
        batchMaxWaitMs: 10,
        initialBackoffMs: 5,
        attempts: 3,
      },
    )
    failing.process(events(1))
    await failing.stop()
    expect(failing.results).toMatchObject([{ events: 1, attempts: 3, ok: false }])
  })

  it('sends what is buffered on stop, and drops what comes after', async () => {
    const r = await receiver()
    const backend = new AuditWebhookBackend(
      { server: r.url, ca: pki.serverCa.cert },
      {
        batchMaxSize: 400,
        batchMaxWaitMs: 600_000,
      },
    )
    backend.process(events(5))
    expect(r.posts.length).toBe(0)
    await backend.stop()
    expect(r.posts.map((p) => p.body.items.length)).toEqual([5])
    backend.process(events(1))
    expect(backend.dropped).toBe(1)
  })

  it('throttles batches to the QPS after the burst', async () => {
    const r = await receiver()
    const backend = new AuditWebhookBackend(
      { server: r.url, ca: pki.serverCa.cert },
      {
        batchMaxSize: 1,
        throttleQps: 20,
        throttleBurst: 2,
      },
    )
    const start = Date.now()
    backend.process(events(5))
    await backend.stop()
    // Two at once, then three at 20 per second: about 150 ms.
    expect(Date.now() - start).toBeGreaterThanOrEqual(120)
    expect(r.posts.length).toBe(5)
  })

  it('reads a webhook kubeconfig: server, CA data and a client certificate (mTLS)', async () => {
    const r = await receiver({ mtls: true })
    const client = pki.clientCertificate('kube-apiserver', [])
    const kubeconfig = sinkKubeconfig(r.url, pki.serverCa.cert, client)
    const target = parseWebhookKubeconfig(kubeconfig)
    expect(target).toEqual({ server: r.url, ca: pki.serverCa.cert, cert: client.cert, key: client.key })
    const backend = new AuditWebhookBackend(target, { batchMaxWaitMs: 10 })
    backend.process(events(1))
    await backend.stop()
    expect(r.posts.map((p) => p.clientCertificate)).toEqual(['kube-apiserver'])

    // Without the certificate the receiver refuses the TLS handshake: the batch is given up.
    const anonymous = new AuditWebhookBackend(
      { server: r.url, ca: pki.serverCa.cert },
      {
        batchMaxWaitMs: 10,
        initialBackoffMs: 5,
        attempts: 2,
      },
    )
    anonymous.process(events(1))
    await anonymous.stop()
    expect(anonymous.results[0]?.ok).toBe(false)
  })
})

describe('audit through the control plane', () => {
  it('sends each request’s events to the webhook, and its stop flushes them', async () => {
    const r = await receiver()
    const cp = await startControlPlane({
      audit: {
        policy: { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata' }] },
        webhook: { server: r.url, ca: pki.serverCa.cert, token: TOKEN },
        batchMaxSize: 4,
        batchMaxWaitMs: 600_000,
      },
    })
    let ids: string[] = []
    try {
      ids = await Promise.all(
        ['/api/v1/namespaces', '/version', '/api/v1/namespaces/default'].map(async (path) => {
          const res = await fetchWithCert(cp.url, path, cp.ca, cp.admin.cert, cp.admin.key)
          return res
        }),
      )
      // Two events per request: 4 went out as a full batch, 2 wait for the (long) max wait.
      await until(() => r.posts.length === 1)
      expect(r.posts[0]?.body.items.length).toBe(4)
    } finally {
      await cp.stop()
    }
    const all = r.posts.flatMap((p) => p.body.items)
    expect(all.length).toBe(6)
    expect(new Set(all.map((e) => e.auditID))).toEqual(new Set(ids))
    expect(all.map((e) => e.stage).sort()).toEqual([
      ...Array(3).fill('RequestReceived'),
      ...Array(3).fill('ResponseComplete'),
    ])
  })
})

/** GET with the admin's client certificate; resolves to the Audit-Id header. */
async function fetchWithCert(
  base: string,
  path: string,
  ca: string,
  cert: string,
  key: string,
): Promise<string> {
  const { request } = await import('node:https')
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { ca, cert, key, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(String(res.headers['audit-id'])))
    })
    req.on('error', reject)
    req.end()
  })
}
