/** The REST API over real HTTP, on a real SQLite store filled by real scans. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadFrameworks } from '../../src/policy/frameworks.js'
import { BUILTIN_FRAMEWORKS_DIR, loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'
import { buildServer, ROUTES } from '../../src/server/app.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { recordRun } from '../../src/store/record-run.js'
import { createToken } from '../../src/store/tokens.js'
import { request } from '../helpers/http.js'

const library = loadLibrary({})
let store: Store
let app: FastifyInstance
let anonymous: FastifyInstance
let base: string
let anonymousBase: string
let admin: string
let viewer: string

function call(path: string, init: RequestInit & { token?: string; at?: string } = {}) {
  return request(init.at ?? base, path, init)
}

beforeAll(async () => {
  store = await openStore(join(mkdtempSync(join(tmpdir(), 'plimsoll-api-')), 'api.db'))
  const report = await scan({ inputs: ['examples/'], library, jobs: 1, showExcepted: true })
  await recordRun(store, report, { source: 'ci', target: 'examples', plimsollVersion: 'test' })
  admin = (await createToken(store, 'alice', { role: 'admin' })).token
  viewer = (await createToken(store, 'val', { role: 'viewer' })).token
  const options = {
    store,
    checks: library.checks.map((c) => c.metadata),
    frameworks: [...loadFrameworks(BUILTIN_FRAMEWORKS_DIR).values()],
  }
  app = await buildServer(options)
  base = await app.listen({ host: '127.0.0.1', port: 0 })
  anonymous = await buildServer({ ...options, anonymousRead: true })
  anonymousBase = await anonymous.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app.close()
  await anonymous.close()
  await store.close()
})

describe('authentication', () => {
  it('refuses requests without a token, or with a wrong one, and says how to authenticate', async () => {
    const none = await call('/api/findings')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="plimsoll"')
    expect(none.body.error).toMatch(/Authorization: Bearer/)
    expect((await call('/api/findings', { token: `${viewer}x` })).status).toBe(401)
    expect((await call('/api/findings', { headers: { authorization: `Basic ${viewer}` } })).status).toBe(401)
    expect((await call('/metrics')).status).toBe(401)
  })

  it('lets a viewer read but not change; an admin changes', async () => {
    expect((await call('/api/summary', { token: viewer })).status).toBe(200)
    const body = JSON.stringify({
      checks: ['pss-privileged'],
      owner: 'ops',
      reason: 'x',
      expires: '2099-01-01',
    })
    const denied = await call('/api/exceptions', { method: 'POST', body, token: viewer })
    expect(denied.status).toBe(403)
    // A viewer's malformed change is still a 403: who may call is decided before what was sent.
    expect((await call('/api/exceptions', { method: 'POST', body: '{}', token: viewer })).status).toBe(403)
    const created = await call('/api/exceptions', { method: 'POST', body, token: admin })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ owner: 'ops', createdBy: 'alice', expired: false })
    const id = created.body.id as number
    expect((await call(`/api/exceptions/${id}`, { method: 'DELETE', token: viewer })).status).toBe(403)
    expect((await call(`/api/exceptions/${id}`, { method: 'DELETE', token: admin })).status).toBe(204)
    expect((await call(`/api/exceptions/${id}`, { token: viewer })).status).toBe(404)
  })

  it('tells the caller who it is', async () => {
    expect((await call('/api/me', { token: admin })).body).toEqual({
      role: 'admin',
      name: 'alice',
      anonymous: false,
    })
    expect((await call('/api/me', { token: viewer })).body).toEqual({
      role: 'viewer',
      name: 'val',
      anonymous: false,
    })
    expect((await call('/api/me', { at: anonymousBase })).body).toEqual({
      role: 'viewer',
      name: null,
      anonymous: true,
    })
    expect((await call('/api/me')).status).toBe(401)
  })

  it('reads without a token only when the operator enabled anonymous reading, and never writes', async () => {
    expect((await call('/api/summary', { at: anonymousBase })).status).toBe(200)
    const body = JSON.stringify({ checks: ['x'], owner: 'o', reason: 'r', expires: '2099-01-01' })
    // Without a token: 401, which tells the client to authenticate (a viewer's change is 403).
    expect((await call('/api/exceptions', { method: 'POST', body, at: anonymousBase })).status).toBe(401)
  })

  it('leaves health, readiness and the OpenAPI document open', async () => {
    expect((await call('/healthz')).body).toEqual({ status: 'ok' })
    expect((await call('/readyz')).body).toEqual({ status: 'ready' })
    const doc = await call('/api/openapi.json')
    expect(doc.status).toBe(200)
    expect(doc.body.openapi).toBe('3.1.0')
    const paths = doc.body.paths as Record<string, Record<string, unknown>>
    for (const r of ROUTES)
      expect(paths[r.url.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()]).toBeDefined()
  })
})

describe('validation', () => {
  it('answers 400 with every problem, naming where it is', async () => {
    const r = await call('/api/findings?severity=urgent&limit=9000&colour=red', { token: viewer })
    expect(r.status).toBe(400)
    expect(r.body.error).toBe('invalid request')
    const paths = (r.body.details as { in: string; path: string }[]).map((d) => `${d.in}:${d.path}`)
    expect(paths).toEqual(
      expect.arrayContaining(['querystring:/severity', 'querystring:/limit', 'querystring:/colour']),
    )
  })

  it('rejects a malformed body, a missing field, a bad date and an expiry in the past', async () => {
    const post = (body: string) => call('/api/exceptions', { method: 'POST', body, token: admin })
    const broken = await post('{"checks": [')
    expect(broken.status).toBe(400)
    expect(broken.text).not.toMatch(/\n\s+at /)
    const missing = await post(JSON.stringify({ checks: ['a'], owner: 'o', reason: 'r' }))
    expect(missing.body.details).toEqual([
      { in: 'body', path: '/expires', message: "must have required property 'expires'" },
    ])
    expect(
      (await post(JSON.stringify({ checks: ['a'], owner: 'o', reason: 'r', expires: '31/12/2099' }))).status,
    ).toBe(400)
    const past = await post(JSON.stringify({ checks: ['a'], owner: 'o', reason: 'r', expires: '2001-01-01' }))
    expect(past.body.details).toEqual([{ in: 'body', path: '/expires', message: 'must be today or later' }])
    const huge = await post(
      JSON.stringify({ checks: ['a'], owner: 'o', reason: 'x'.repeat(100_000), expires: '2099-01-01' }),
    )
    expect(huge.status).toBe(413)
    expect(huge.body).toEqual({ error: 'Request body is too large' })
    expect((await call('/api/exceptions', { method: 'PATCH', token: admin })).status).toBe(404)
    expect((await call('/healthz')).status).toBe(200) // and the server is still there
    expect((await call('/api/findings/abc', { token: viewer })).status).toBe(400)
    expect((await call('/api/findings/999999', { token: viewer })).status).toBe(404)
  })
})

describe('findings', () => {
  it('pages through every open finding exactly once, worst first', async () => {
    const first = await call('/api/findings?limit=20', { token: viewer })
    const total = first.body.total as number
    expect(total).toBeGreaterThan(60)
    const seen: { id: number; severity: string }[] = []
    for (let offset = 0; offset < total; offset += 20) {
      const page = await call(`/api/findings?limit=20&offset=${offset}`, { token: viewer })
      expect(page.body).toMatchObject({ total, limit: 20, offset })
      seen.push(...(page.body.items as { id: number; severity: string }[]))
    }
    expect(new Set(seen.map((f) => f.id)).size).toBe(total)
    const rank = ['critical', 'high', 'medium', 'low', 'info']
    const ranks = seen.map((f) => rank.indexOf(f.severity))
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
  })

  it('filters by severity, namespace and check, and searches', async () => {
    const high = await call('/api/findings?severity=high,critical&limit=500', { token: viewer })
    expect(
      (high.body.items as { severity: string }[]).every((f) => ['high', 'critical'].includes(f.severity)),
    ).toBe(true)
    const ns = await call('/api/findings?namespace=shop&check=pss-seccomp-restricted', { token: viewer })
    for (const f of ns.body.items as { checkId: string; resource: { namespace: string } }[]) {
      expect(f.checkId).toBe('pss-seccomp-restricted')
      expect(f.resource.namespace).toBe('shop')
    }
    expect(ns.body.total).toBeGreaterThan(0)
    const q = await call('/api/findings?q=docker.sock', { token: viewer })
    expect(q.body.total).toBeGreaterThan(0)
    expect((q.body.items as { message: string }[]).every((f) => f.message.includes('docker.sock'))).toBe(true)
  })

  it('gives a finding with its check and its resource with all its findings', async () => {
    const list = await call('/api/findings?check=pss-privileged&limit=1', { token: viewer })
    const id = (list.body.items as { id: number }[])[0]!.id
    const one = await call(`/api/findings/${id}`, { token: viewer })
    expect(one.body).toMatchObject({
      checkId: 'pss-privileged',
      check: { id: 'pss-privileged', severity: 'critical' },
    })
    const resource = await call(`/api/resources/${(one.body.resource as { id: number }).id}`, {
      token: viewer,
    })
    expect((resource.body.findings as { id: number }[]).some((f) => f.id === id)).toBe(true)
  })
})

describe('posture', () => {
  it('scores by category, framework and namespace, with trends and compliance', async () => {
    const s = await call('/api/summary', { token: viewer })
    expect(s.body.score).toBeGreaterThan(0)
    expect(s.body.score).toBeLessThan(100)
    expect((s.body.byFramework as { id: string }[]).map((f) => f.id).sort()).toEqual([
      'cis',
      'nsa',
      'pss-baseline',
      'pss-restricted',
    ])
    expect((s.body.byNamespace as { namespace: string }[]).some((n) => n.namespace === 'shop')).toBe(true)
    const trend = await call('/api/trends?days=7', { token: viewer })
    expect(trend.body).toHaveLength(7)
    const open = (s.body.open as Record<string, number>) ?? {}
    const today = (trend.body as unknown as { open: number }[])[6]!.open
    expect(today).toBe(Object.values(open).reduce((a, b) => a + b, 0) + 0)
    const cis = await call('/api/compliance/cis', { token: viewer })
    expect(cis.body.framework).toBe('cis')
    expect((await call('/api/compliance/nope', { token: viewer })).status).toBe(404)
  })

  it('exports Prometheus metrics to a viewer', async () => {
    const m = await call('/metrics', { token: viewer })
    expect(m.status).toBe(200)
    expect(m.text).toMatch(
      /^plimsoll_open_findings\{severity="critical",check="pss-privileged",namespace="[^"]*",target="[^"]*"\} \d+$/m,
    )
    expect(m.text).toMatch(/^plimsoll_scan_runs\{target="examples",source="ci"\} 1$/m)
  })
})
