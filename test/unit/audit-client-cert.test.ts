/**
 * The audit door authenticated by mTLS with Plimsoll's own PKI, end to end and without openssl: `webhook
 * certs --client kube-apiserver` (writeCertificates with `client`) makes the receiver's CA, its serving
 * certificate and the API server's client certificate; the webhook kubeconfig (renderAuditKubeconfig)
 * carries that client certificate; the receiver (startAuditReceiver with clientCaFile = ca.crt, over a
 * real SQLite store) stores a recorded API server batch sent with it, and refuses the same batch sent
 * with no certificate, one from another CA, or the CA's serving (serverAuth) certificate.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { Agent } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderAuditKubeconfig } from '../../src/audit/ingest/kubeconfig.js'
import { type RunningAuditReceiver, startAuditReceiver } from '../../src/audit/ingest/receiver.js'
import type { AuditEvent } from '../../src/audit/types.js'
import { auditQueueStats, readPendingAuditEvents } from '../../src/store/audit-queue.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { writeCertificates } from '../../src/webhook/certificates.js'
import { post } from '../helpers/audit-ingest.js'
import { corpusPath } from '../helpers/corpus.js'

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-client-cert-'))
const certs = writeCertificates({
  dir,
  service: 'plimsoll-audit',
  namespace: 'plimsoll',
  extraNames: ['127.0.0.1'],
  client: 'kube-apiserver',
})
/** Another CA's client certificate, with the same common name. */
const other = writeCertificates({
  dir: mkdtempSync(join(tmpdir(), 'plimsoll-audit-client-other-')),
  service: 'other',
  namespace: 'other',
  client: 'kube-apiserver',
})
const read = (file: string) => readFileSync(file, 'utf8')
const ca = read(certs.caFile)

/** A batch the API server sent (kube-apiserver v1.32, the corpus's 06-audit), as it sent it. */
const BATCH = readFileSync(corpusPath('kube-apiserver', '06-audit', 'batches', '0001.json'))
const items = (JSON.parse(BATCH.toString('utf8')) as { items: AuditEvent[] }).items
const distinct = new Set(items.map((e) => `${e.auditID}/${e.stage}`))

let store: Store
let receiver: RunningAuditReceiver

beforeAll(async () => {
  store = await openStore(join(dir, 'audit.db'))
  receiver = await startAuditReceiver({
    host: '127.0.0.1',
    port: 0,
    certFile: certs.certFile,
    keyFile: certs.keyFile,
    clientCaFile: certs.caFile,
    store,
  })
})

afterAll(async () => {
  await receiver?.stop()
  await store?.close()
})

/** No TLS session kept from one request to the next: each one is authenticated by its own handshake. */
const fresh = () => new Agent({ keepAlive: false, maxCachedSessions: 0 })

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[]
  users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[]
}

describe('the audit receiver, with --client-ca the CA of `webhook certs --client`', () => {
  it('stores a batch the API server sends with the client certificate of its kubeconfig', async () => {
    expect(items.length).toBeGreaterThan(100)
    const text = renderAuditKubeconfig({
      server: `${receiver.url}/audit`,
      caCert: ca,
      clientCert: read(certs.client!.certFile),
      clientKey: read(certs.client!.keyFile),
    })
    // what the API server reads of it
    const kubeconfig = load(text) as Kubeconfig
    const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8')
    const { server, 'certificate-authority-data': caData } = kubeconfig.clusters[0]!.cluster
    const user = kubeconfig.users[0]!.user
    const answer = await post(server, BATCH, {
      ca: b64(caData),
      cert: b64(user['client-certificate-data']),
      key: b64(user['client-key-data']),
      path: new URL(server).pathname,
      agent: fresh(),
    })
    expect(answer).toEqual({ status: 200, body: '' })

    const stored = await readPendingAuditEvents(store, { limit: 5000 })
    expect(stored).toHaveLength(distinct.size)
    expect(new Set(stored.map((e) => `${e.auditID}/${e.stage}`))).toEqual(distinct)
    expect(stored.every((e) => e.source === 'webhook')).toBe(true)
    expect(stored[0]!.event).toEqual(items[0])
    expect(receiver.counts()).toMatchObject({ batches: 1, events: distinct.size, rejected: {} })
  })

  it('refuses the same batch with no client certificate, one from another CA, or a serving certificate', async () => {
    const before = await auditQueueStats(store)
    const attempts = {
      none: {},
      'another CA': { cert: read(other.client!.certFile), key: read(other.client!.keyFile) },
      'the serving certificate': { cert: read(certs.certFile), key: read(certs.keyFile) },
    }
    for (const [what, credentials] of Object.entries(attempts)) {
      const answer = await post(receiver.url, BATCH, { ca, ...credentials, agent: fresh() })
      expect({ what, status: answer.status }).toEqual({ what, status: 401 })
      expect(JSON.parse(answer.body).message).toMatch(/^unauthenticated: present a client certificate/)
    }
    expect(await auditQueueStats(store)).toEqual(before)
    expect(receiver.counts()).toMatchObject({ batches: 1, rejected: { unauthenticated: 3 } })

    // and the client certificate still gets in afterwards (the batch again: stored once)
    const again = await post(receiver.url, BATCH, {
      ca,
      cert: read(certs.client!.certFile),
      key: read(certs.client!.keyFile),
      agent: fresh(),
    })
    expect(again.status).toBe(200)
    expect(receiver.counts()).toMatchObject({ batches: 2, duplicates: items.length })
    expect(await auditQueueStats(store)).toEqual(before)
  })
})
