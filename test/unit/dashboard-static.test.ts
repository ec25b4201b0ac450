/** The dashboard's files as the server sends them: types, caching, the app's routes, and the fences. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildServer } from '../../src/server/app.js'
import { openStore, type Store } from '../../src/store/connect.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-static-'))
const web = join(tmp, 'web')
let store: Store
let app: FastifyInstance
let base: string

beforeAll(async () => {
  mkdirSync(join(web, 'assets'), { recursive: true })
  writeFileSync(
    join(web, 'index.html'),
    '<!doctype html><title>Plimsoll</title><script src="/assets/app-1a2b.js"></script>',
  )
  writeFileSync(join(web, 'assets', 'app-1a2b.js'), 'console.log(1)')
  writeFileSync(join(tmp, 'secret.txt'), 'outside the web directory')
  store = await openStore(join(tmp, 's.db'))
  app = await buildServer({ store, checks: [], frameworks: [], webDir: web })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app.close()
  await store.close()
})

describe('the dashboard', () => {
  it('serves the page for every app URL, never cached, with a strict content security policy', async () => {
    for (const path of ['/', '/findings?severity=high', '/resources/12', '/debt']) {
      const res = await fetch(base + path)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
      expect(res.headers.get('cache-control')).toBe('no-cache')
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(await res.text()).toContain('<title>Plimsoll</title>')
    }
  })

  it('serves hashed assets with their type, cached for good', async () => {
    const res = await fetch(`${base}/assets/app-1a2b.js`)
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect(res.headers.get('cache-control')).toMatch(/immutable/)
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404)
  })

  it('gives nothing outside its directory, and JSON 404s for unknown API routes', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const res = await fetch(base + path)
      expect(await res.text()).not.toContain('outside the web directory')
    }
    const api = await fetch(`${base}/api/nothing-here`)
    expect(api.status).toBe(404)
    expect(await api.json()).toEqual({ error: 'no route for GET /api/nothing-here' })
  })
})
