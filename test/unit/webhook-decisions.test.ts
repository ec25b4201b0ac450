import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine, LATEST_VERSION } from '../../src/policy/engine.js'
import { loadLibrary } from '../../src/policy/library.js'
import { buildServer } from '../../src/server/app.js'
import { admissionSummary, listAdmissions, recordAdmissions } from '../../src/store/admissions.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import { writeCertificates } from '../../src/webhook/certificates.js'
import { type Decision, decideValidation, type ValidationSetup } from '../../src/webhook/decide.js'
import { defaultEnforcement } from '../../src/webhook/enforcement.js'
import { DecisionRecorder } from '../../src/webhook/recorder.js'
import type { AdmissionRequest } from '../../src/webhook/review.js'
import { request } from '../helpers/http.js'
import { freshDatabase } from '../helpers/postgres.js'
import { stopped } from '../helpers/serve.js'
import { postReview, webhookServe } from '../helpers/webhook.js'

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-webhook-decisions-'))
const library = loadLibrary({})
const setup: ValidationSetup = {
  engine: new Engine(library.checks, library.podTemplates, { version: LATEST_VERSION }, library.foreign),
  enforcement: {
    ...defaultEnforcement(),
    rules: [{ name: 'privileged', checks: ['pss-privileged'], namespaces: ['shop'], mode: 'enforce' }],
    defaultMode: 'audit',
  },
}

let uid = 0
function podReview(namespace: string, privileged: boolean, dryRun = false): AdmissionRequest {
  const object = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `web-${uid}`, namespace },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged } }] },
  }
  return {
    uid: `u-${uid++}`,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: '',
    name: object.metadata.name,
    namespace,
    operation: 'CREATE',
    userInfo: { username: 'alice', groups: ['dev'] },
    object,
    oldObject: null,
    dryRun,
    options: null,
    raw: {},
  }
}

/** A decided review: `kind` says what the decision should be. */
function decided(kind: 'denied' | 'audited' | 'exempt', dryRun = false): [AdmissionRequest, Decision] {
  const req =
    kind === 'denied'
      ? podReview('shop', true, dryRun)
      : kind === 'audited'
        ? podReview('blog', false, dryRun)
        : podReview('kube-system', true, dryRun)
  return [req, decideValidation(setup, req)]
}

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => join(dir, `decisions-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', () => freshDatabase('decisions')],
]

describe.each(backends)('decisions in the store (%s)', (_name, location) => {
  let store: Store
  beforeAll(async () => {
    store = await openStore(await location())
  })
  afterAll(async () => {
    await store?.close()
  })

  it('are written in batches, off the answer, with what each failing check did; a dryRun never', async () => {
    const recorder = new DecisionRecorder({
      cluster: 'prod',
      write: (r) => recordAdmissions(store, r),
      flushEveryMs: 60_000,
    })
    recorder.record(...decided('denied'))
    recorder.record(...decided('audited'))
    recorder.record(...decided('exempt'))
    recorder.record(...decided('denied', true))
    expect(recorder.pending).toBe(3)
    expect(await listAdmissions(store)).toEqual([])
    await recorder.close()
    const rows = await listAdmissions(store, { cluster: 'prod' })
    expect(rows.map((r) => [r.outcome, r.namespace, r.weight])).toEqual([
      ['exempt', 'kube-system', 1],
      ['audited', 'blog', 1],
      ['denied', 'shop', 1],
    ])
    const denied = rows.find((r) => r.outcome === 'denied')!
    expect(denied.checks.find((c) => c.id === 'pss-privileged')).toMatchObject({
      mode: 'enforce',
      severity: 'critical',
      path: 'spec.containers[0].securityContext.privileged',
    })
    expect(denied.checks.filter((c) => c.mode === 'audit').length).toBeGreaterThan(0)
    expect(denied).toMatchObject({ operation: 'CREATE', kind: 'Pod', username: 'alice' })
  })

  it('samples allowed decisions under load, weighted, and keeps every denial', async () => {
    let writes = 0
    const recorder = new DecisionRecorder({
      cluster: 'load',
      capacity: 10,
      flushEveryMs: 60_000,
      write: async (r) => {
        // The first write fails: its records are kept and written by the next.
        if (writes++ === 0) throw new Error('the store is away')
        await recordAdmissions(store, r)
      },
    })
    for (let i = 0; i < 5; i++) recorder.record(...decided('exempt'))
    for (let i = 0; i < 7; i++) recorder.record(...decided('denied'))
    for (let i = 0; i < 40; i++) recorder.record(...decided('exempt'))
    expect(recorder.counts.sampledOut).toBe(40)
    await recorder.flush()
    expect(await listAdmissions(store, { cluster: 'load' })).toEqual([])
    expect(recorder.pending).toBe(12)
    await recorder.flush()
    expect((await listAdmissions(store, { cluster: 'load' })).length).toBe(12)
    // Room again: the next exempt decision stands for the 40 left out and itself.
    recorder.record(...decided('exempt'))
    await recorder.close()
    const summary = await admissionSummary(store, { cluster: 'load' })
    expect(summary.outcomes).toEqual({ denied: 7, warned: 0, audited: 0, allowed: 0, exempt: 46 })
    expect(summary.topDeniedChecks).toEqual([{ check: 'pss-privileged', denied: 7 }])
    expect(summary.topDeniedNamespaces).toEqual([{ namespace: 'shop', denied: 7 }])
    expect(summary.deniedByHour).toEqual([{ hour: new Date().toISOString().slice(0, 13), denied: 7 }])
  })

  it('are read by the API: recent decisions (filtered, paged) and the summary', async () => {
    const viewer = (await createToken(store, 'val', { role: 'viewer' })).token
    const app = await buildServer({ store, checks: library.checks.map((c) => c.metadata), frameworks: [] })
    try {
      const base = await app.listen({ host: '127.0.0.1', port: 0 })
      expect((await request(base, '/api/admissions')).status).toBe(401)
      const denied = await request(base, '/api/admissions?cluster=load&outcome=denied&limit=5', {
        token: viewer,
      })
      expect(denied.status).toBe(200)
      const items = denied.body as unknown as { id: number; outcome: string }[]
      expect(items).toHaveLength(5)
      expect(new Set(items.map((i) => i.outcome))).toEqual(new Set(['denied']))
      const next = await request(
        base,
        `/api/admissions?cluster=load&outcome=denied&before=${items.at(-1)!.id}`,
        { token: viewer },
      )
      expect((next.body as unknown as unknown[]).length).toBe(2)
      const summary = await request(base, '/api/admissions/summary?cluster=load', { token: viewer })
      expect((summary.body as { outcomes: Record<string, number> }).outcomes.denied).toBe(7)
      expect((await request(base, '/api/admissions?outcome=maybe', { token: viewer })).status).toBe(400)
    } finally {
      await app.close()
    }
  })
})

describe('plimsoll webhook serve --store', () => {
  it('records what it decides (and not a dryRun), and writes what is pending when stopped', async () => {
    const certs = writeCertificates({
      dir: join(dir, 'certs'),
      service: 'plimsoll-webhook',
      namespace: 'plimsoll',
      extraNames: ['127.0.0.1'],
    })
    const db = join(dir, 'served.db')
    const { child, url } = await webhookServe(certs, ['--store', db, '--cluster-name', 'edge'])
    const post = async (req: AdmissionRequest) => (await postReview(url, certs.caFile, { ...req })).status
    try {
      for (const [req] of [decided('audited'), decided('audited', true)]) expect(await post(req)).toBe(200)
    } finally {
      expect(await stopped(child)).toBe(0)
    }
    const store = await openStore(db)
    try {
      const rows = await listAdmissions(store, { cluster: 'edge' })
      expect(rows).toHaveLength(1)
      expect(rows[0]!.outcome).toBe('warned')
    } finally {
      await store.close()
    }
  })
})
