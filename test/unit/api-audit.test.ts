/**
 * The audit door's API (src/server/api/audit.ts, audit-silences.ts) over HTTP, on SQLite and
 * PostgreSQL, over a store filled by the real parts (test/helpers/audit-alerts-store.ts): detections
 * filtered and paged, a detection with its audit event (a Secret's values redacted), the summary with
 * the noise per rule from the pipelines' saved states, the open alert groups with the silences muting
 * them, and silences added and expired by admins only.
 */
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type {
  AlertGroups,
  AuditDetection,
  AuditDetectionDetail,
  AuditSummary,
  SilenceView,
} from '../../src/api-types.js'
import { buildServer } from '../../src/server/app.js'
import { createSilence, listSilences } from '../../src/store/alerts.js'
import { saveBaselines } from '../../src/store/audit-baselines.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import {
  ANOMALY_RULE,
  DEPLOYER,
  EXEC_RULE,
  type Filled,
  fillAuditStore,
  PROD_NOISE,
  SECRET_RULE,
} from '../helpers/audit-alerts-store.js'
import { leaked, SECRET_VALUES } from '../helpers/audit-secret-events.js'
import { request } from '../helpers/http.js'
import { freshDatabase } from '../helpers/postgres.js'
import { tempFiles } from '../helpers/temp-files.js'

const { dir } = tempFiles('plimsoll-api-audit-')

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => join(dir, `audit-api-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', () => freshDatabase('audit_api')],
]

const iso = (ms: number) => new Date(ms).toISOString()

describe.each(backends)('the audit API (%s)', (_name, location) => {
  let store: Store
  let app: FastifyInstance
  let base: string
  let viewer: string
  let admin: string
  let filled: Filled
  const now = Date.now()
  const get = async <T>(path: string, token = viewer) => {
    const r = await request(base, path, { token })
    return { status: r.status, body: r.body as unknown as T, error: (r.body as { error?: string })?.error }
  }
  const send = async <T>(method: 'POST' | 'DELETE', path: string, body?: unknown, token = admin) => {
    const r = await request(base, path, {
      method,
      token,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    return { status: r.status, body: r.body as unknown as T, error: (r.body as { error?: string })?.error }
  }

  beforeAll(async () => {
    store = await openStore(await location())
    filled = await fillAuditStore(store, now)
    viewer = (await createToken(store, 'val-viewer', { role: 'viewer' })).token
    admin = (await createToken(store, 'ada-admin', { role: 'admin' })).token
    app = await buildServer({ store, checks: [], frameworks: [] })
    base = await app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => {
    await app?.close()
    await store?.close()
  })

  it('lists detections newest first, filtered by cluster, rule, priority, source and time, a page at a time', async () => {
    expect((await request(base, '/api/audit/detections')).status).toBe(401)
    const all = await get<AuditDetection[]>('/api/audit/detections?limit=500')
    expect(all.status).toBe(200)
    expect(all.body).toHaveLength(filled.detections.prod.length + filled.detections.dev.length)
    const ids = all.body.map((d) => d.id)
    expect(ids).toEqual([...ids].sort((a, b) => b - a))

    const prod = await get<AuditDetection[]>('/api/audit/detections?cluster=prod&limit=500')
    expect(prod.body.map((d) => d.rule)).toEqual(filled.detections.prod.map((d) => d.rule).reverse())
    expect(new Set(prod.body.map((d) => d.cluster))).toEqual(new Set(['prod']))

    const exec = await get<AuditDetection[]>(`/api/audit/detections?rule=${encodeURIComponent(EXEC_RULE)}`)
    expect(exec.body).toHaveLength(11)
    const critical = await get<AuditDetection[]>('/api/audit/detections?priority=critical')
    expect(critical.body.map((d) => d.rule).sort()).toEqual(['Create Privileged Pod', 'Delete Namespace'])
    const anomaly = await get<AuditDetection[]>('/api/audit/detections?source=anomaly')
    expect(anomaly.body.map((d) => d.labels.user)).toEqual(['dave', 'carol'])
    const recent = await get<AuditDetection[]>(
      `/api/audit/detections?cluster=prod&since=${iso(now - 5 * 60_000)}`,
    )
    expect(recent.body).toHaveLength(filled.detections.prod.length - 1)
    expect(recent.body.some((d) => d.rule === 'Delete Namespace')).toBe(false)

    // Pages: `before` the last id of a page gives the next one, without overlap.
    const first = await get<AuditDetection[]>('/api/audit/detections?cluster=prod&limit=5')
    const second = await get<AuditDetection[]>(
      `/api/audit/detections?cluster=prod&limit=5&before=${first.body.at(-1)!.id}`,
    )
    expect(first.body).toHaveLength(5)
    expect(second.body.map((d) => d.id)).toEqual(prod.body.slice(5, 10).map((d) => d.id))

    // What a detection carries.
    const secret = prod.body.find((d) => d.rule === SECRET_RULE)!
    expect(secret).toMatchObject({
      source: 'falco-rules',
      priority: 'notice',
      tags: ['k8s'],
      auditID: filled.secretAuditID,
      labels: { user: 'minikube-user', resource: 'secrets', name: 'example-secret' },
    })

    for (const bad of [
      'limit=501',
      'priority=urgent',
      'source=cron',
      'since=yesterday',
      'before=0',
      'colour=red',
    ])
      expect((await get(`/api/audit/detections?${bad}`)).status, bad).toBe(400)
  })

  it("shows a detection with its audit event, a Secret's values redacted; says when the event is gone", async () => {
    const [secret] = (
      await get<AuditDetection[]>(`/api/audit/detections?rule=${encodeURIComponent(SECRET_RULE)}`)
    ).body
    const r = await request(base, `/api/audit/detections/${secret!.id}`, { token: viewer })
    expect(r.status).toBe(200)
    // Nowhere in the answer, plain or base64.
    expect(leaked(r.text)).toEqual([])
    const detail = r.body as unknown as AuditDetectionDetail
    expect(detail.detection.id).toBe(secret!.id)
    expect(detail.events).toHaveLength(1)
    const [stored] = detail.events
    expect(stored).toMatchObject({ stage: 'ResponseComplete', source: 'webhook' })
    const event = stored!.event as {
      auditID: string
      user: { username: string }
      requestObject: { data: Record<string, string> }
      responseObject: { metadata: { annotations: Record<string, string> } }
    }
    expect(event.auditID).toBe(filled.secretAuditID)
    expect(event.user.username).toBe('minikube-user')
    expect(event.requestObject.data.password).toBe(`<redacted: ${SECRET_VALUES.password.length} bytes>`)
    expect(
      event.responseObject.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'],
    ).toMatch(/"password":"<redacted: \d+ bytes>"/)
    // The queue keeps it, whole: the redaction is the API's.
    const queued = await store.db.selectFrom('audit_events').select('event').executeTakeFirstOrThrow()
    expect(leaked(queued.event).length).toBeGreaterThan(0)

    // A detection whose event the queue no longer keeps (pruned): the detection, and no events.
    const [exec] = (await get<AuditDetection[]>('/api/audit/detections?cluster=dev&limit=1')).body
    const gone = await get<AuditDetectionDetail>(`/api/audit/detections/${exec!.id}`)
    expect(gone.status).toBe(200)
    expect(gone.body.events).toEqual([])
    expect(gone.body.detection).toMatchObject({ rule: EXEC_RULE, auditID: 'pruned-2' })

    const missing = await get('/api/audit/detections/999999')
    expect(missing.status).toBe(404)
    expect(missing.error).toBe('detection 999999 not found')
    expect((await get('/api/audit/detections/abc')).status).toBe(400)
  })

  it("sums detections and the pipelines' noise per rule, for all clusters or one", async () => {
    const all = await get<AuditSummary>('/api/audit/summary')
    expect(all.status).toBe(200)
    const exec = all.body.noise.find((n) => n.rule === EXEC_RULE)!
    // prod's 8 and dev's 3
    expect(exec).toMatchObject({
      detections: 11,
      allowlisted: 2,
      deduped: 6,
      alerts: 3,
      notifications: 1,
      ratio: 11,
    })
    expect(all.body.noise[0]!.rule).toBe(EXEC_RULE)
    expect(all.body.pipelines.map((p) => p.cluster)).toEqual(['dev', 'prod'])
    expect(all.body.pipelines.find((p) => p.cluster === 'prod')!.updatedAt).toBe(iso(now - 5_000))
    expect(all.body.topUsers[0]).toEqual({ user: 'alice', detections: 6 })

    const prod = await get<AuditSummary>('/api/audit/summary?cluster=prod')
    for (const [rule, want] of Object.entries(PROD_NOISE))
      expect(
        prod.body.noise.find((n) => n.rule === rule),
        rule,
      ).toMatchObject(want)
    expect(prod.body.noise.find((n) => n.rule === ANOMALY_RULE)!.ratio).toBe(2)
    // No notification yet: the ratio is the detections.
    expect(prod.body.noise.find((n) => n.rule === 'Create Privileged Pod')!.ratio).toBe(1)
    expect(prod.body.totals).toEqual({ detections: 13, notifications: 4, ratio: 13 / 4 })
    expect(prod.body.priorities).toEqual({ critical: 2, warning: 8, notice: 3 })
    expect(prod.body.topRules[0]).toEqual({ rule: EXEC_RULE, source: 'falco-rules', detections: 8 })
    expect(prod.body.topUsers.find((u) => u.user === DEPLOYER)).toEqual({ user: DEPLOYER, detections: 2 })
    const hours = prod.body.byHour.reduce((n, h) => n + h.detections, 0)
    expect(hours).toBe(13)

    // Since: the detections only; the noise is the pipelines' since they began.
    const recent = await get<AuditSummary>(`/api/audit/summary?cluster=prod&since=${iso(now - 5 * 60_000)}`)
    expect(recent.body.priorities).toEqual({ critical: 1, warning: 8, notice: 3 })
    expect(recent.body.totals.detections).toBe(13)
    // A cluster without a pipeline: no noise.
    const none = await get<AuditSummary>('/api/audit/summary?cluster=nowhere')
    expect(none.body).toMatchObject({
      noise: [],
      pipelines: [],
      totals: { detections: 0, notifications: 0, ratio: 0 },
    })
  })

  it('lists the open alert groups, most recent activity first, with status and the silences muting them', async () => {
    const muteAlice = await createSilence(store, {
      matchers: [{ name: 'user', type: '=', value: 'alice' }],
      startsAt: iso(now - 60_000),
      endsAt: iso(now + 3_600_000),
      createdBy: 'test',
      comment: 'alice is on the incident',
    })
    // Not active now: neither mutes anything.
    await createSilence(store, {
      matchers: [{ name: 'rule', type: '=~', value: '.+' }],
      startsAt: iso(now + 3_600_000),
      endsAt: iso(now + 7_200_000),
      createdBy: 'test',
      comment: 'later',
    })
    const r = await get<AlertGroups>('/api/audit/alerts')
    expect(r.status).toBe(200)
    const groups = r.body.groups
    expect(groups.map((g) => [g.cluster, g.groupLabels.rule])).toEqual([
      ['prod', 'Create Privileged Pod'],
      ['prod', ANOMALY_RULE],
      ['prod', SECRET_RULE],
      ['prod', EXEC_RULE],
      ['dev', EXEC_RULE],
      ['prod', 'Delete Namespace'],
    ])
    const [privileged, , , exec, devExec, deleted] = groups
    expect(privileged).toMatchObject({ receiver: 'security-team', hasFlushed: false, lastNotifiedAt: null })
    expect(Date.parse(privileged!.nextFlushAt)).toBe(now - 10_000 + 30_000)
    expect(exec!.hasFlushed).toBe(true)
    expect(exec!.lastNotifiedAt).toBe(iso(now - 30_000))
    // alice's and bob's alerts (the deployer's were allowlisted), bob's the newer.
    expect(exec!.alerts.map((a) => a.labels.user)).toEqual(['bob', 'alice'])
    expect(exec!.alerts.map((a) => a.status)).toEqual(['firing', 'firing'])
    expect(exec!.alerts[1]!.silencedBy).toEqual([muteAlice.id])
    expect(exec!.alerts[0]!.silencedBy).toEqual([])
    expect(exec!.alerts[1]!.annotations.summary).toBe(`${EXEC_RULE} (user=alice)`)
    expect(exec!.alerts[1]!.labels).toMatchObject({
      alertname: EXEC_RULE,
      namespace: 'shop',
      priority: 'warning',
    })
    expect(devExec!.alerts.map((a) => a.labels.user)).toEqual(['carol'])
    // Detected 20 minutes ago, resolve_timeout 5m: resolved, not yet flushed out of its group.
    expect(deleted!.alerts[0]!.status).toBe('resolved')
    expect(deleted!.alerts[0]!.silencedBy).toEqual([muteAlice.id])

    const dev = await get<AlertGroups>('/api/audit/alerts?cluster=dev')
    expect(dev.body.groups.map((g) => g.cluster)).toEqual(['dev'])
    expect(dev.body.pipelines).toEqual([{ cluster: 'dev', updatedAt: iso(now - 100_000) }])
    expect((await get('/api/audit/alerts?cluster=')).status).toBe(200)
  })

  it("adds silences for admins only, with Alertmanager's validation, and expires them", async () => {
    const body = { matchers: ['user="ci-bot"'], duration: '2h', comment: 'the CI bot is being replaced' }
    const anonymous = await request(base, '/api/audit/silences', {
      method: 'POST',
      body: JSON.stringify(body),
    })
    expect(anonymous.status).toBe(401)
    const asViewer = await send('POST', '/api/audit/silences', body, viewer)
    expect(asViewer.status).toBe(403)
    expect(asViewer.error).toBe('this needs an admin token')

    const before = Date.now()
    const created = await send<SilenceView>('POST', '/api/audit/silences', body)
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({
      matchers: [{ name: 'user', type: '=', value: 'ci-bot' }],
      createdBy: 'ada-admin',
      comment: 'the CI bot is being replaced',
      state: 'active',
    })
    const length = Date.parse(created.body.endsAt) - Date.parse(created.body.startsAt)
    expect(length).toBe(2 * 3_600_000)
    expect(Date.parse(created.body.startsAt)).toBeGreaterThanOrEqual(before - 1000)

    const pending = await send<SilenceView>('POST', '/api/audit/silences', {
      matchers: [{ name: 'rule', type: '=~', value: 'Attach.*' }, 'namespace!="kube-system"'],
      startsAt: iso(now + 3_600_000),
      endsAt: iso(now + 2 * 3_600_000),
      comment: 'maintenance window',
    })
    expect(pending.status).toBe(201)
    expect(pending.body.state).toBe('pending')
    expect(pending.body.matchers).toHaveLength(2)

    const refused = async (b: Record<string, unknown>) => {
      const r = await send('POST', '/api/audit/silences', b)
      expect(r.status, JSON.stringify(b)).toBe(400)
      return r.error
    }
    expect(await refused({ ...body, matchers: ['user=~".*"'] })).toMatch(/must not match the empty string/)
    const past = { ...body, duration: undefined, startsAt: iso(now - 7_200_000), endsAt: iso(now - 60_000) }
    expect(await refused(past)).toBe('endsAt is in the past')
    expect(await refused({ ...body, comment: '  ' })).toBe('comment is required')
    expect(await refused({ ...body, endsAt: iso(now + 60_000) })).toMatch(/endsAt or as duration/)
    expect(await refused({ matchers: body.matchers, comment: 'x' })).toMatch(/endsAt or as duration/)
    expect(await refused({ ...body, duration: 'soon' })).toMatch(/invalid duration "soon"/)
    expect(await refused({ ...body, matchers: ['user ~ bob'] })).toMatch(/invalid matcher/)
    expect(await refused({ ...body, matchers: [] })).toBe('invalid request')
    expect(await refused({ ...body, colour: 'red' })).toBe('invalid request')

    // Listed: by default those not ended (the two above and the alerts test's), by state on demand.
    const current = await get<SilenceView[]>('/api/audit/silences')
    const ids = current.body.map((s) => s.id)
    expect(ids).toEqual(expect.arrayContaining([created.body.id, pending.body.id]))
    expect(current.body.every((s) => s.state !== 'expired')).toBe(true)
    const pendingOnly = await get<SilenceView[]>('/api/audit/silences?state=pending')
    expect(pendingOnly.body.every((s) => s.state === 'pending')).toBe(true)
    expect(pendingOnly.body.map((s) => s.id)).toContain(pending.body.id)
    expect(pendingOnly.body.map((s) => s.id)).not.toContain(created.body.id)
    expect((await get('/api/audit/silences?state=gone')).status).toBe(400)

    // Expire: admins only; then it is expired, in the store too, and cannot be expired again.
    const path = `/api/audit/silences/${created.body.id}`
    expect((await send('DELETE', path, undefined, viewer)).status).toBe(403)
    expect((await request(base, path, { method: 'DELETE' })).status).toBe(401)
    const expired = await send<SilenceView>('DELETE', path)
    expect(expired.status).toBe(200)
    expect(expired.body.state).toBe('expired')
    const stored = (await listSilences(store)).find((s) => s.id === created.body.id)!
    expect(Date.parse(stored.endsAt)).toBeLessThanOrEqual(Date.now())
    const again = await send('DELETE', path)
    expect(again.status).toBe(404)
    expect(again.error).toMatch(/has already ended/)
    const unknown = await send('DELETE', '/api/audit/silences/no-such-silence')
    expect(unknown.status).toBe(404)
    expect(unknown.error).toBe('silence no-such-silence not found')
    const expiredList = await get<SilenceView[]>('/api/audit/silences?state=expired')
    expect(expiredList.body.map((s) => s.id)).toEqual([created.body.id])
    expect((await get<SilenceView[]>('/api/audit/silences')).body.map((s) => s.id)).not.toContain(
      created.body.id,
    )
    const everything = await get<SilenceView[]>('/api/audit/silences?state=all')
    expect(everything.body.map((s) => s.id)).toEqual(
      expect.arrayContaining([created.body.id, pending.body.id]),
    )
  })

  it("shows the identities' baselines, and resets one for admins only, leaving the request for audit serve", async () => {
    await saveBaselines(store.db, 'lab-baselines', [
      {
        identity: 'system:serviceaccount:shop:checkout',
        firstSeen: iso(now - 9 * 86_400_000),
        lastSeen: iso(now - 60_000),
        seen: {
          action: ['get configmaps'],
          namespace: ['shop'],
          source: ['10.0.4.0/24'],
          client: ['checkout'],
        },
      },
      {
        identity: 'alice',
        firstSeen: iso(now - 20 * 86_400_000),
        lastSeen: iso(now - 3_600_000),
        seen: { action: ['list pods'], namespace: ['shop'], source: ['10.0.9.0/24'], client: ['kubectl'] },
      },
    ])
    expect((await get('/api/audit/baselines')).status).toBe(400)
    const listed = await get<{ baselines: { identity: string; seen: Record<string, string[]> }[] }>(
      '/api/audit/baselines?cluster=lab-baselines',
    )
    expect(listed.body.baselines.map((b) => b.identity)).toEqual([
      'system:serviceaccount:shop:checkout',
      'alice',
    ])
    expect(listed.body.baselines[1]!.seen.client).toEqual(['kubectl'])
    const path = `/api/audit/baselines/lab-baselines/${encodeURIComponent('system:serviceaccount:shop:checkout')}`
    expect((await send('DELETE', path, undefined, viewer)).status).toBe(403)
    expect((await send('DELETE', path)).body).toEqual({
      cluster: 'lab-baselines',
      identity: 'system:serviceaccount:shop:checkout',
      reset: true,
    })
    expect((await send('DELETE', path)).status).toBe(404)
    const after = await get<{ baselines: { identity: string }[]; pendingResets: string[] }>(
      '/api/audit/baselines?cluster=lab-baselines',
    )
    expect(after.body.baselines.map((b) => b.identity)).toEqual(['alice'])
    expect(after.body.pendingResets).toEqual(['system:serviceaccount:shop:checkout'])
  })

  it('documents every audit route in the OpenAPI document', async () => {
    const doc = (await request(base, '/api/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>
    }
    for (const [path, method] of [
      ['/api/audit/detections', 'get'],
      ['/api/audit/detections/{id}', 'get'],
      ['/api/audit/summary', 'get'],
      ['/api/audit/alerts', 'get'],
      ['/api/audit/silences', 'get'],
      ['/api/audit/silences', 'post'],
      ['/api/audit/silences/{id}', 'delete'],
      ['/api/audit/baselines', 'get'],
      ['/api/audit/baselines/{cluster}/{identity}', 'delete'],
    ] as const)
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined()
  })
})
