/**
 * Pages over HTTP: the findings list's cursor, bounds on offset, and the exceptions register as a paged,
 * filtered list (with its summary for the debt page). A real SQLite store filled by a real scan.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FindingRow, Problem, StoredExceptionView } from '../../src/api-types.js'
import { loadFrameworks } from '../../src/policy/frameworks.js'
import { BUILTIN_FRAMEWORKS_DIR, loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'
import { buildServer } from '../../src/server/app.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { createException } from '../../src/store/exceptions.js'
import { recordRun } from '../../src/store/record-run.js'
import { createToken } from '../../src/store/tokens.js'

const library = loadLibrary({})
let store: Store
let app: FastifyInstance
let base: string
let viewer: string

interface Answer<T = unknown> {
  status: number
  body: { total: number; limit: number; offset: number; next: string | null; items: T[] } & {
    error?: string
    details?: Problem[]
  } & Record<string, unknown>
}

async function get<T = unknown>(path: string): Promise<Answer<T>> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${viewer}` } })
  return { status: res.status, body: (await res.json()) as Answer<T>['body'] }
}

const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)

beforeAll(async () => {
  store = await openStore(join(mkdtempSync(join(tmpdir(), 'plimsoll-api-pages-')), 'api.db'))
  const report = await scan({ inputs: ['examples/'], library, jobs: 1, showExcepted: true })
  await recordRun(store, report, { source: 'ci', target: 'examples', plimsollVersion: 'test' })
  viewer = (await createToken(store, 'val', { role: 'viewer' })).token
  // A register of 120 exceptions: more than a default page.
  for (let i = 0; i < 120; i++)
    await createException(
      store,
      {
        checks: [i % 2 ? 'pss-privileged' : 'memory-limit-missing'],
        owner: `team-${i % 3}@example.com`,
        reason: i === 7 ? 'Vendor image needs it until 3.0 (PAY-123)' : `reason ${i}`,
        expires: day(i % 40),
      },
      'alice',
    )
  await store.db.updateTable('exceptions').set({ expires: '2001-02-03' }).where('id', 'in', [5, 6]).execute()
  // Added before the run, which they matched nothing in: stale.
  await store.db
    .updateTable('exceptions')
    .set({ created_at: '2001-01-01T00:00:00.000Z' })
    .where('id', 'in', [10, 11])
    .execute()
  app = await buildServer({
    store,
    checks: library.checks.map((c) => c.metadata),
    frameworks: [...loadFrameworks(BUILTIN_FRAMEWORKS_DIR).values()],
  })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app.close()
  await store.close()
})

describe('offset', () => {
  it('is 400, naming the parameter and what it must be, when it is huge, negative or not an integer', async () => {
    for (const route of ['/api/findings', '/api/runs', '/api/exceptions'])
      for (const offset of ['1e300', '12345678901234567890', '100001', '-1', '1.5', 'abc']) {
        const r = await get(`${route}?offset=${offset}`)
        expect(r.status, `${route} offset=${offset}`).toBe(400)
        expect(r.body.error).toBe('invalid request')
        expect(r.body.details).toHaveLength(1)
        expect(r.body.details![0]).toMatchObject({ in: 'querystring', path: '/offset' })
        expect(r.body.details![0]!.message).toMatch(/integer|<= 100000|>= 0/)
      }
    expect((await get('/api/findings?offset=100000')).status).toBe(200)
    expect((await get('/api/runs?offset=100000')).body.items).toEqual([])
  })
})

describe('the findings cursor', () => {
  it('pages through every open finding once, the same as offsets do', async () => {
    const byOffset: number[] = []
    const first = await get<FindingRow>('/api/findings?limit=500&sort=resource&order=asc')
    byOffset.push(...first.body.items.map((f) => f.id))
    expect(first.body.next).toBeNull()
    const ids: number[] = []
    let next: string | null = null
    do {
      const page: Answer<FindingRow> = await get<FindingRow>(
        `/api/findings?limit=9&sort=resource&order=asc${next ? `&cursor=${next}` : ''}`,
      )
      expect(page.status).toBe(200)
      expect(page.body).toMatchObject({ total: first.body.total, limit: 9, offset: 0 })
      ids.push(...page.body.items.map((f) => f.id))
      next = page.body.next
    } while (next)
    expect(ids).toEqual(byOffset)
  })

  it('is 400 when malformed, made for another sort, or combined with an offset', async () => {
    const { next } = (await get('/api/findings?limit=2&sort=check')).body
    for (const path of [
      '/api/findings?cursor=not-a-cursor',
      `/api/findings?sort=resource&cursor=${next}`,
      `/api/findings?sort=check&offset=10&cursor=${next}`,
      `/api/findings?cursor=${'a'.repeat(2000)}`,
    ]) {
      const r = await get(path)
      expect(r.status, path).toBe(400)
      expect(r.body.details?.[0]).toMatchObject({ in: 'querystring', path: expect.stringMatching(/cursor/) })
    }
  })
})

describe('the exceptions register', () => {
  it('comes in pages, soonest expiry first, 50 by default and at most 500', async () => {
    const first = await get<StoredExceptionView>('/api/exceptions')
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({ total: 120, limit: 50, offset: 0 })
    expect(first.body.items).toHaveLength(50)
    expect(first.body.items.slice(0, 2).map((e) => [e.id, e.expired])).toEqual([
      [5, true],
      [6, true],
    ])
    const seen: StoredExceptionView[] = []
    let next: string | null = null
    do {
      const page: Answer<StoredExceptionView> = await get<StoredExceptionView>(
        `/api/exceptions?limit=45${next ? `&cursor=${next}` : ''}`,
      )
      seen.push(...page.body.items)
      next = page.body.next
    } while (next)
    expect(seen.map((e) => e.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1))
    const order = seen.map((e) => `${e.expires}#${String(e.id).padStart(4, '0')}`)
    expect(order).toEqual([...order].sort())
    const third = await get<StoredExceptionView>('/api/exceptions?limit=45&offset=90')
    expect(third.body.items.map((e) => e.id)).toEqual(seen.slice(90).map((e) => e.id))
    expect((await get('/api/exceptions?limit=501')).status).toBe(400)
  })

  it('filters by state, owner, check and words', async () => {
    const ids = async (query: string) =>
      (await get<StoredExceptionView>(`/api/exceptions?limit=500&${query}`)).body.items.map((e) => e.id)
    expect(await ids('state=expired')).toEqual([5, 6])
    expect((await ids('state=active')).length).toBe(118)
    const expiring = (await get<StoredExceptionView>('/api/exceptions?limit=500&state=expiring')).body.items
    expect(expiring.length).toBeGreaterThan(0)
    for (const e of expiring) expect(!e.expired && e.expires <= day(14)).toBe(true)
    expect((await ids('owner=team-1@example.com')).length).toBe(40)
    expect((await ids('check=pss-privileged')).length).toBe(60)
    expect(await ids('q=pay-123')).toEqual([8])
    expect((await ids('state=stale')).sort()).toEqual([10, 11])
    expect(await ids('state=stale&owner=team-1@example.com')).toEqual([11])
    expect((await get('/api/exceptions?state=stale-ish')).status).toBe(400)
  })

  it('sums the whole register up for the debt page: states, expiries in force, owners', async () => {
    const r = await get('/api/exceptions/summary')
    expect(r.status).toBe(200)
    const s = r.body as unknown as {
      total: number
      active: number
      expired: number
      expiring: number
      stale: number
      expiringWithinDays: number
      inForce: { expires: string; count: number }[]
      owners: { owner: string; count: number }[]
    }
    expect(s).toMatchObject({ total: 120, active: 118, expired: 2, stale: 2, expiringWithinDays: 14 })
    expect(s.inForce.reduce((n, e) => n + e.count, 0)).toBe(118)
    expect(s.inForce.map((e) => e.expires)).toEqual([...s.inForce.map((e) => e.expires)].sort())
    expect(s.owners).toEqual([
      { owner: 'team-0@example.com', count: 40 },
      { owner: 'team-1@example.com', count: 40 },
      { owner: 'team-2@example.com', count: 40 },
    ])
  })
})
