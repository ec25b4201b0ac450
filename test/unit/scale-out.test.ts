/**
 * Scale-out (issue 17): two replicas of each door share one PostgreSQL store, as a Deployment's pods
 * behind a Service do. Agents push through both `plimsoll serve` replicas (moved from one to the other
 * mid-run, answers lost and the message sent again to the other replica, messages sent to both at
 * once), and openings of sessions race on both: every finding is stored exactly once. An audit batch
 * the API server sends again to the other `audit serve` replica, and reviews spread over two `webhook
 * serve` replicas, land once each in the shared store.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  evaluateCluster,
  pushCluster,
  ServiceLine,
  verifyClusters,
} from '../../bench/lib/simulated-agent.mjs'
import { Central, Unreachable } from '../../src/agent/central.js'
import { RemoteWriter } from '../../src/agent/remote-writer.js'
import { Backoff } from '../../src/cluster/backoff.js'
import { LiveState } from '../../src/cluster/live-state.js'
import { LiveRecorder } from '../../src/cluster/recorder.js'
import { Pki } from '../../src/control-plane/certs.js'
import { generateObjects } from '../../src/control-plane/seed-objects.js'
import { Engine, LATEST_VERSION } from '../../src/policy/engine.js'
import { loadLibrary } from '../../src/policy/library.js'
import { listAdmissions } from '../../src/store/admissions.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import { writeCertificates } from '../../src/webhook/certificates.js'
import { auditEvent, batches, execAction } from '../helpers/audit-events.js'
import { post } from '../helpers/audit-ingest.js'
import { auditServe, auditServing, killed } from '../helpers/audit-serve.js'
import { freshDatabase } from '../helpers/postgres.js'
import { serve, stopped } from '../helpers/serve.js'
import { until } from '../helpers/until.js'
import { postReview, webhookServe } from '../helpers/webhook.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-scale-out-'))
const modules = { LiveState, generateObjects, LiveRecorder, RemoteWriter, Backoff, Central, Unreachable }
const stops: (() => Promise<unknown>)[] = []

let db: string
let store: Store

beforeAll(async () => {
  db = await freshDatabase('scale_out')
  store = await openStore(db)
})

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {})
  await store?.close()
})

describe('two replicas on one PostgreSQL store', () => {
  it('store every finding of agents pushed through both plimsoll serve replicas exactly once', async () => {
    const pki = new Pki()
    const cert = join(tmp, 'central.crt')
    const key = join(tmp, 'central.key')
    writeFileSync(cert, pki.server.cert)
    writeFileSync(key, pki.server.key, { mode: 0o600 })
    // Both start at once on the empty database, as a Deployment's pods do (while the clusters are
    // evaluated here).
    const starting = Promise.all(
      [0, 1].map(async () => {
        const r = await serve(['--db', db, '--tls-cert', cert, '--tls-key', key])
        stops.push(() => stopped(r.child))
        return r
      }),
    )
    const library = loadLibrary({})
    const engine = new Engine(
      library.checks,
      library.podTemplates,
      { version: LATEST_VERSION },
      library.foreign,
    )
    const clusters = ['east', 'west', 'north']
    const evaluated = clusters.map((c, i) => evaluateCluster(modules, engine, c, 200, i + 1))
    const urls = (await starting).map((r) => r.url)
    const tokens = await Promise.all(
      clusters.map(async (cluster) => (await createToken(store, cluster, { role: 'agent', cluster })).token),
    )
    const lines = clusters.map(
      (_, i) =>
        new ServiceLine(modules, {
          urls,
          token: tokens[i]!,
          ca: pki.serverCa.cert,
          first: i,
          switchAfter: 4,
          loseEvery: 3,
          twinEvery: 4,
        }),
    )
    const logs: string[][] = clusters.map(() => [])
    try {
      const pushed = await Promise.all(
        evaluated.map((e, i) =>
          pushCluster(modules, e, lines[i]!, {
            messageChanges: 40,
            reportEveryMs: 200,
            log: (l) => logs[i]!.push(l),
          }),
        ),
      )
      // The line did what it says: each agent moved, lost answers, sent twins, through both replicas.
      for (const line of lines) {
        expect(line.switches).toBeGreaterThanOrEqual(2)
        expect(line.lost).toBeGreaterThan(0)
        expect(line.twins).toBeGreaterThan(0)
        expect(line.served.every((n) => n > 0)).toBe(true)
      }
      // A lost answer's message, sent again to the other replica, was answered as a duplicate.
      expect(pushed.every((p) => p.sent.duplicates > 0)).toBe(true)
    } finally {
      for (const line of lines) line.close()
    }
    const check = await verifyClusters(store.db, evaluated)
    expect(check.clusters.every((c) => c.expected > 100)).toBe(true)
    expect(check, JSON.stringify(logs)).toMatchObject({ ok: true, duplicated: 0 })

    // The dashboard on either replica shows every agent's cluster live, synced, whichever replica
    // its reports reached (they are kept in the store, and each replica reads the others').
    const viewer = (await createToken(store, 'viewer', { role: 'viewer' })).token
    for (const url of urls) {
      const c = new Central({ url, token: viewer, ca: pki.serverCa.cert })
      try {
        await until(`${url} to show the agents' clusters live`, async () => {
          const { body } = await c.request('GET', '/api/clusters')
          const live = (body as { name: string; live: boolean; health?: { synced: boolean } }[]).filter(
            (s) => s.live && s.health?.synced,
          )
          return (
            live
              .map((s) => s.name)
              .sort()
              .join() === [...clusters].sort().join()
          )
        })
      } finally {
        c.close()
      }
    }

    // Openings raced on both replicas: the same session (one agent's retry) finds one run; two
    // agents' sessions of one cluster both open, the later superseding the earlier.
    const race = (await createToken(store, 'race', { role: 'agent', cluster: 'race' })).token
    const open = (url: string, session: string) => {
      const c = new Central({ url, token: race, ca: pki.serverCa.cert })
      const run = {
        startedAt: new Date().toISOString(),
        plimsollVersion: 't',
        policyVersion: 'latest',
        checks: 1,
      }
      return c
        .request('POST', '/api/agent/sessions', { session, agentVersion: 't', run })
        .finally(() => c.close())
    }
    for (let round = 0; round < 4; round++) {
      const same = `race-same-${round}-0123456789`
      const answers = await Promise.all([
        open(urls[0]!, same),
        open(urls[1]!, same),
        open(urls[0]!, `race-a-${round}-0123456789`),
        open(urls[1]!, `race-b-${round}-0123456789`),
      ])
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
      const [one, two] = answers as { body: { runId: number } }[]
      expect(one!.body.runId).toBe(two!.body.runId)
    }
    const sessions = await store.db
      .selectFrom('agent_sessions')
      .select(['generation', 'run_id'])
      .where('cluster', '=', 'race')
      .execute()
    expect(sessions).toHaveLength(12)
    expect(new Set(sessions.map((s) => s.generation)).size).toBe(12)
    const runs = await store.db.selectFrom('runs').select('id').where('target', '=', 'race').execute()
    expect(runs.map((r) => Number(r.id)).sort()).toEqual(sessions.map((s) => Number(s.run_id)).sort())
  }, 30_000)

  it('keep an audit batch sent again to the other audit serve replica once, and its detections once', async () => {
    const serving = auditServing('plimsoll-scale-out-audit-')
    const args = [...serving.args, '--store', db, '--cluster-name', 'lab']
    const replicas = await Promise.all(
      [0, 1].map(async () => {
        const r = await auditServe(args)
        stops.push(() => killed(r.child))
        return r
      }),
    )
    const who = { username: 'mallory', ip: '10.1.2.3', userAgent: 'kubectl/v1.32.0 (linux/amd64)' }
    const events = Array.from({ length: 60 }, (_, i) =>
      auditEvent(who, execAction('shop', `web-${i % 3}`, ['sh', '-c', `id ${i}`]), Date.now() + i),
    )
    const [first, second] = batches(events, 30) as [string, string]
    const auth = { ca: serving.ca, token: serving.token }
    // The first batch to one replica, and again to the other at the same time (its answer was late);
    // the second batch to the other replica.
    const answers = await Promise.all([
      post(replicas[0]!.url, first, auth),
      post(replicas[1]!.url, first, auth),
      post(replicas[1]!.url, second, auth),
    ])
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200])
    const ids = events.map((e) => e.auditID!)
    const stored = async () =>
      store.db
        .selectFrom('audit_events')
        .select(['audit_id', 'processed'])
        .where('audit_id', 'in', ids)
        .execute()
    await until('every event processed', async () => {
      const rows = await stored()
      return rows.length === events.length && rows.every((r) => Number(r.processed) === 1)
    })
    expect(new Set((await stored()).map((r) => r.audit_id)).size).toBe(events.length)
    const detections = await store.db
      .selectFrom('audit_detections')
      .select(['rule', 'audit_id'])
      .where('cluster', '=', 'lab')
      .where('audit_id', 'in', ids)
      .execute()
    // Each exec is detected (Plimsoll's own rules), and once: never by both replicas.
    expect(new Set(detections.map((d) => d.audit_id)).size).toBe(events.length)
    const keys = detections.map((d) => `${d.rule}\u0000${d.audit_id}`)
    expect(new Set(keys).size).toBe(keys.length)
  }, 30_000)

  it('record reviews spread over two webhook serve replicas once each', async () => {
    const certs = writeCertificates({
      dir: join(tmp, 'webhook-certs'),
      service: 'plimsoll-webhook',
      namespace: 'plimsoll',
      extraNames: ['127.0.0.1'],
    })
    const replicas = await Promise.all(
      [0, 1].map(async () => {
        const r = await webhookServe(certs, ['--store', db, '--cluster-name', 'edge'])
        stops.push(() => stopped(r.child))
        return r
      }),
    )
    const reviews = Array.from({ length: 20 }, (_, i) => ({
      uid: `scale-out-${i}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name: `web-${i}`,
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: { username: 'alice', groups: ['dev'] },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `web-${i}`, namespace: 'shop' },
        spec: { containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged: true } }] },
      },
      oldObject: null,
      dryRun: false,
    }))
    const answers = await Promise.all(
      reviews.map((r, i) => postReview(replicas[i % 2]!.url, certs.caFile, r)),
    )
    expect(answers.map((a) => a.status)).toEqual(reviews.map(() => 200))
    // Stopped, each replica writes what it has pending.
    for (const r of replicas) expect(await stopped(r.child)).toBe(0)
    const rows = await listAdmissions(store, { cluster: 'edge', limit: 100 })
    expect(rows.map((r) => r.name).sort()).toEqual(reviews.map((r) => r.name).sort())
  }, 30_000)
})
