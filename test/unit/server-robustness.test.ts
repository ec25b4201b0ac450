/**
 * The server at its edges: another process holding the store's write lock (health and reads go on, a
 * change waits or is told to come back), faults (each one logged), TLS, what every answer carries, and
 * the answers that tell a client how to authenticate.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { get as httpsGet } from 'node:https'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildServer, type ServerOptions } from '../../src/server/app.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import { run } from '../helpers/cli.js'
import { request } from '../helpers/http.js'
import { freshDatabase } from '../helpers/postgres.js'
import { serve, stopped } from '../helpers/serve.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-robust-'))
const HOLDER = resolve(import.meta.dirname, '..', 'helpers', 'hold-write-lock.mjs')
const HOLD_MS = 4000
const EXCEPTION = JSON.stringify({
  checks: ['pss-privileged'],
  owner: 'ops',
  reason: 'r',
  expires: '2099-01-01',
})
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

/** Another process holds the store's write lock for HOLD_MS; resolves once it holds it. */
function holdWriteLock(location: string): Promise<{ released: Promise<number> }> {
  return new Promise((resolveHeld, rejectHeld) => {
    const child = spawn(process.execPath, [HOLDER, location, String(HOLD_MS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const released = new Promise<number>((resolveReleased, rejectReleased) =>
      child.on('exit', (code) => {
        const at = /^releasing (\d+)$/m.exec(out)
        if (code === 0 && at) resolveReleased(Number(at[1]))
        else rejectReleased(new Error(`the lock holder exited ${code}: ${out}`))
      }),
    )
    released.catch(rejectHeld)
    child.stdout.on('data', (d) => {
      out += d
      if (/^locked \d+$/m.test(out)) resolveHeld({ released })
    })
    child.stderr.on('data', (d) => {
      out += d
    })
  })
}

/** When it answered, by the wall clock the lock holder also reports in. */
async function timed<T>(answer: Promise<T>): Promise<T & { at: number }> {
  const r = await answer
  return { ...r, at: Date.now() }
}

/** The server's log lines (pino JSON), as the tests read them. */
function capturedLog() {
  const lines: Record<string, unknown>[] = []
  const logger = { level: 'warn', stream: { write: (line: string) => lines.push(JSON.parse(line)) } }
  return { lines, logger }
}

async function started(store: Store, options: Partial<ServerOptions> = {}) {
  const app = await buildServer({ store, checks: [], frameworks: [], ...options })
  return { app, base: await app.listen({ host: '127.0.0.1', port: 0 }) }
}

const backends: [string, (name: string) => Promise<string>][] = [
  ['sqlite', async (name) => join(tmp, `${name}.db`)],
  ['postgres', (name) => freshDatabase(name)],
]

for (const [backend, location] of backends) {
  describe(`while another process holds the write lock of a ${backend} store`, () => {
    it('answers health, readiness and reads at once, and a change once the lock is released', async () => {
      const where = await location('locked')
      const store = await openStore(where)
      const log = capturedLog()
      const { app, base } = await started(store, { logger: log.logger })
      try {
        // Never used yet: recording its first use is a write, which must not hold up its reads.
        const viewer = (await createToken(store, 'val', { role: 'viewer' })).token
        const admin = (await createToken(store, 'alice', { role: 'admin' })).token
        const lock = await holdWriteLock(where)
        const change = timed(
          request(base, '/api/exceptions', { method: 'POST', body: EXCEPTION, token: admin }),
        )
        const reads = await Promise.all(
          [
            ['/healthz'],
            ['/readyz'],
            ['/api/summary', viewer],
            ['/api/me', viewer],
            ['/metrics', viewer],
          ].map(([path, token]) => timed(request(base, path!, token ? { token } : {}))),
        )
        const releasedAt = await lock.released
        for (const r of reads) {
          expect(r.status, r.text).toBe(200)
          // Well before the lock went, not merely before it: nothing waited for it.
          expect(r.at).toBeLessThan(releasedAt - HOLD_MS / 2)
        }
        const changed = await change
        expect(changed.status, changed.text).toBe(201)
        expect(changed.at).toBeGreaterThanOrEqual(releasedAt)
      } finally {
        await app.close()
      }
      // Its first use was recorded after all, once the store was free again (at the latest on close).
      const val = await store.db
        .selectFrom('tokens')
        .select('last_used_at')
        .where('name', '=', 'val')
        .executeTakeFirstOrThrow()
      expect(val.last_used_at).not.toBeNull()
      expect(log.lines).toEqual([])
      await store.close()
    }, 30_000)
  })
}

describe('while another process holds the write lock of a sqlite store for longer than a change waits', () => {
  it('answers a change 503 with Retry-After and logs it; reads go on, their last use unrecorded', async () => {
    const where = join(tmp, 'busy.db')
    const store = await openStore(where, { lockWaitMs: 300 })
    const log = capturedLog()
    const { app, base } = await started(store, { logger: log.logger })
    try {
      const viewer = (await createToken(store, 'val', { role: 'viewer' })).token
      const admin = (await createToken(store, 'alice', { role: 'admin' })).token
      const lock = await holdWriteLock(where)
      const change = await timed(
        request(base, '/api/exceptions', { method: 'POST', body: EXCEPTION, token: admin }),
      )
      const read = await timed(request(base, '/api/me', { token: viewer }))
      const releasedAt = await lock.released
      expect(change.status, change.text).toBe(503)
      expect(Number(change.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(change.body.error).toMatch(/busy/)
      expect(change.at).toBeLessThan(releasedAt)
      expect(read.status).toBe(200)
      expect(read.at).toBeLessThan(releasedAt)
      const answered = log.lines.find((l) => l.statusCode === 503)
      expect(answered).toMatchObject({ method: 'POST', url: '/api/exceptions', reqId: expect.any(String) })
      expect(answered?.reqId).toBe(change.headers.get('x-request-id'))
      // The viewer's last use could not be written while the lock was held: said, not failed.
      expect(log.lines.some((l) => /last use/.test(String(l.msg)))).toBe(true)
      // And once the lock is gone, changes go through again.
      const again = await request(base, '/api/exceptions', { method: 'POST', body: EXCEPTION, token: admin })
      expect(again.status).toBe(201)
    } finally {
      await app.close()
      await store.close()
    }
  }, 30_000)
})

describe('plimsoll serve', () => {
  it('logs every 5xx to stderr with the request id, method, URL and error', async () => {
    const db = join(tmp, 'faulty.db')
    const { child, url } = await serve(['--db', db, '--anonymous-read'])
    let stderr = ''
    child.stderr!.on('data', (d) => {
      stderr += d
    })
    try {
      expect((await request(url, '/api/summary')).status).toBe(200)
      // The store loses a table under the server's feet: its next read of it fails.
      const sqlite = new Database(db)
      sqlite.exec('ALTER TABLE runs RENAME TO runs_gone')
      sqlite.close()
      const fault = await request(url, '/api/summary')
      expect(fault.status).toBe(500)
      expect(fault.body).toEqual({ error: 'internal error' })
      expect((await request(url, '/readyz')).status).toBe(503)
      const logged = async () => {
        for (let i = 0; i < 50 && !/"url":"\/readyz"/.test(stderr); i++)
          await new Promise((r) => setTimeout(r, 100))
        return stderr
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      }
      const lines = await logged()
      const summary = lines.find((l) => l.url === '/api/summary')
      expect(summary).toMatchObject({
        method: 'GET',
        statusCode: 500,
        reqId: fault.headers.get('x-request-id'),
      })
      expect(summary?.err).toMatchObject({ message: expect.stringMatching(/no such table: runs/) })
      expect(lines.find((l) => l.url === '/readyz')).toMatchObject({ method: 'GET', statusCode: 503 })
    } finally {
      expect(await stopped(child)).toBe(0)
    }
  }, 60_000)

  it('says which TLS file is wrong and what it expected, without a stack trace, before opening the store', () => {
    const dir = mkdtempSync(join(tmp, 'tls-'))
    const pair = (name: string) => {
      execFileSync('openssl', [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
        ...['-subj', '/CN=localhost', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)],
      ])
      return { key: join(dir, `${name}.key`), cert: join(dir, `${name}.crt`) }
    }
    const one = pair('one')
    const other = pair('other')
    const garbage = join(dir, 'garbage.pem')
    execFileSync('sh', ['-c', `echo 'not a PEM file' > ${garbage}`])
    const db = join(dir, 'never.db')
    const tryServe = (cert: string, key: string) =>
      run(['serve', '--port', '0', '--db', db, '--tls-cert', cert, '--tls-key', key])
    const cases: [string, string, RegExp][] = [
      [one.cert, garbage, /--tls-key .*garbage\.pem.*PEM private key/],
      [garbage, one.key, /--tls-cert .*garbage\.pem.*PEM certificate/],
      [one.cert, other.key, /--tls-key .*other\.key.*does not match the certificate in .*one\.crt/],
    ]
    for (const [cert, key, message] of cases) {
      const r = tryServe(cert, key)
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
    expect(existsSync(db)).toBe(false)
  }, 60_000)
})

describe('answers', () => {
  let store: Store
  let app: FastifyInstance
  let anonymous: FastifyInstance
  let base: string
  let anonymousBase: string
  let admin: string
  let viewer: string

  beforeAll(async () => {
    store = await openStore(join(tmp, 'answers.db'))
    admin = (await createToken(store, 'alice', { role: 'admin' })).token
    viewer = (await createToken(store, 'val', { role: 'viewer' })).token
    ;({ app, base } = await started(store))
    ;({ app: anonymous, base: anonymousBase } = await started(store, { anonymousRead: true }))
  })

  afterAll(async () => {
    await app.close()
    await anonymous.close()
    await store.close()
  })

  it('carry the security headers, Fastify’s own errors and 404s included, and no HSTS over HTTP', async () => {
    const auth = { authorization: `Bearer ${admin}` }
    const answers = await Promise.all([
      request(base, '/healthz'),
      request(base, '/api/summary'), // 401
      request(base, '/api/exceptions', { method: 'POST', body: '{"checks": [', headers: auth }), // bad JSON
      request(base, '/api/exceptions', {
        method: 'POST',
        body: '<x/>',
        headers: { ...auth, 'content-type': 'application/xml' },
      }), // 415
      request(base, '/api/exceptions', { method: 'POST', body: 'x'.repeat(100_000), headers: auth }), // 413
      request(base, '/api/%zz', { headers: auth }), // not a URL Fastify can route
      request(base, '/api/exceptions', { method: 'PATCH', headers: auth }), // no such route
      request(base, '/nowhere'),
    ])
    expect(answers.map((a) => a.status)).toEqual([200, 401, 400, 415, 413, 400, 404, 404])
    for (const a of answers) {
      expect(Object.fromEntries(Object.keys(SECURITY_HEADERS).map((h) => [h, a.headers.get(h)]))).toEqual(
        SECURITY_HEADERS,
      )
      expect(a.headers.get('strict-transport-security')).toBeNull()
      expect(a.headers.get('x-request-id')).toMatch(/\S/)
      expect(Object.keys(a.body), a.text).toContain(a.status === 200 ? 'status' : 'error')
    }
    // A request Node's HTTP parser refuses never reaches Fastify's routing, and is answered the same way.
    const raw = await new Promise<string>((answered) => {
      const socket = connect(Number(new URL(base).port), '127.0.0.1')
      let text = ''
      socket.on('data', (d) => {
        text += d
      })
      socket.on('close', () => answered(text))
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n')
    })
    expect(raw).toMatch(/^HTTP\/1\.1 400 /)
    for (const [name, value] of Object.entries(SECURITY_HEADERS))
      expect(raw.toLowerCase()).toContain(`${name}: ${value.toLowerCase()}`)
  })

  it('ask browsers to keep to HTTPS when served over HTTPS', async () => {
    const dir = mkdtempSync(join(tmp, 'https-'))
    execFileSync('openssl', [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ...['-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')],
    ])
    const cert = readFileSync(join(dir, 'tls.crt'))
    const secure = await started(store, { https: { cert, key: readFileSync(join(dir, 'tls.key')) } })
    try {
      for (const path of ['/healthz', '/api/summary', '/api/%zz']) {
        const headers = await new Promise<Record<string, unknown>>((answered, failed) =>
          httpsGet(`${secure.base}${path}`, { ca: cert }, (res) => {
            res.resume()
            answered(res.headers)
          }).on('error', failed),
        )
        expect(headers['strict-transport-security']).toMatch(/^max-age=\d{7,}/)
        expect(headers['x-content-type-options']).toBe('nosniff')
      }
    } finally {
      await secure.app.close()
    }
  })

  it('tell a client without credentials to authenticate (401, WWW-Authenticate), and a viewer that it may not (403)', async () => {
    const challenge = 'Bearer realm="plimsoll"'
    const post = (at: string, token?: string) =>
      request(at, '/api/exceptions', { method: 'POST', body: EXCEPTION, ...(token ? { token } : {}) })
    // Anonymous reading allows reading only: a change without a token needs one.
    const anonymousChange = await post(anonymousBase)
    expect(anonymousChange.status).toBe(401)
    expect(anonymousChange.headers.get('www-authenticate')).toBe(challenge)
    expect((await request(anonymousBase, '/api/exceptions/1', { method: 'DELETE' })).status).toBe(401)
    expect((await request(anonymousBase, '/api/summary')).status).toBe(200)
    const none = await request(base, '/api/summary')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe(challenge)
    for (const at of [base, anonymousBase]) {
      const wrong = await request(at, '/api/summary', { token: `${viewer}x` })
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer realm="plimsoll", error="invalid_token"/)
      const viewerChange = await post(at, viewer)
      expect(viewerChange.status).toBe(403)
      expect(viewerChange.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/)
    }
    const metrics = await request(base, '/metrics')
    expect(metrics.status).toBe(401)
    expect(metrics.headers.get('www-authenticate')).toBe(challenge)
  })

  it('refuse an exception replaced with an expiry in the past, as when it is added', async () => {
    const created = await request(base, '/api/exceptions', { method: 'POST', body: EXCEPTION, token: admin })
    expect(created.status).toBe(201)
    const id = created.body.id as number
    const past = JSON.stringify({ ...JSON.parse(EXCEPTION), expires: '2001-01-01' })
    const added = await request(base, '/api/exceptions', { method: 'POST', body: past, token: admin })
    const replaced = await request(base, `/api/exceptions/${id}`, { method: 'PUT', body: past, token: admin })
    expect(replaced.status).toBe(400)
    expect(replaced.body).toEqual(added.body)
    expect(replaced.body.details).toEqual([
      { in: 'body', path: '/expires', message: 'must be today or later' },
    ])
    expect((await request(base, `/api/exceptions/${id}`, { token: admin })).body.expires).toBe('2099-01-01')
    const later = JSON.stringify({ ...JSON.parse(EXCEPTION), expires: '2100-01-01' })
    const ok = await request(base, `/api/exceptions/${id}`, { method: 'PUT', body: later, token: admin })
    expect(ok.status).toBe(200)
    expect(ok.body.expires).toBe('2100-01-01')
  })
})
