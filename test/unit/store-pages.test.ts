/**
 * The store's lists page by cursor: every row exactly once, in the list's order, for every sort and
 * both directions, with and without filters, on SQLite and on a real PostgreSQL server (the same tests
 * against each). Also: what search finds, totals after a new run, and the exceptions register's pages.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FINDING_SORTS, type FindingRow, type FindingState, type Severity } from '../../src/api-types.js'
import type { ScanReport } from '../../src/scan/scan.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { CursorError } from '../../src/store/cursor.js'
import { createException, pageExceptions } from '../../src/store/exceptions.js'
import { type FindingFilter, listFindings, type PageOptions } from '../../src/store/queries.js'
import { recordRun } from '../../src/store/record-run.js'
import { freshDatabase } from '../helpers/postgres.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-store-pages-'))

const backends: [string, (name: string) => Promise<string>][] = [
  ['sqlite', async (name) => join(tmp, `${name}.db`)],
  ['postgres', (name) => freshDatabase(name)],
]

const CHECKS: [string, Severity][] = [
  ['pss-privileged', 'critical'],
  ['host-path', 'high'],
  ['memory-limit', 'medium'],
  ['liveness-probe', 'low'],
  ['team_owner-label', 'info'],
]

/** A run of `count` findings with many ties in every sort key: few checks, namespaces and resources. */
function report(count: number, daysAgo: number, keep: (i: number) => boolean = () => true): ScanReport {
  const findings: ScanReport['findings'] = []
  for (let i = 0; i < count; i++) {
    if (!keep(i)) continue
    const [checkId, severity] = CHECKS[i % CHECKS.length]!
    // Names that sort differently by code point and by a locale's rules (case, dash, digits).
    const name = ['api', 'Api', 'api-2', 'api2', 'web', 'web-10', 'web-9', 'zeta'][Math.floor(i / 5) % 8]!
    findings.push({
      checkId,
      title: checkId,
      severity,
      category: 'security',
      status: 'fail',
      message: `container c${i % 3} of ${name}: ${checkId} 100%_sure`,
      resource: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name,
        namespace: `ns-${Math.floor(i / 40) % 4}`,
      },
      container: { name: `c${i % 3}`, type: 'containers' },
      path: `spec.containers[${i % 3}].f${i}`,
      location: { file: 'deploy.yaml', line: i + 1, column: 3, documentIndex: 0 },
      ...(i % 11 === 4
        ? {
            excepted: {
              source: 'file' as const,
              file: 'exceptions.yaml',
              index: 0,
              owner: 'ops',
              reason: 'test',
              expires: '2099-01-01',
            },
          }
        : {}),
    })
  }
  return {
    policyVersion: 'latest',
    startedAt: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
    durationMs: 10,
    summary: {
      files: 1,
      resources: 40,
      checks: CHECKS.length,
      passed: 0,
      findings: findings.length,
      bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
      errors: 0,
      skipped: 0,
      excepted: 0,
    },
    findings,
    errors: [],
    skipped: [],
    skippedCharts: [],
    checks: [],
    checkStats: {},
    namespaceStats: {},
    staleExceptions: [],
  }
}

const options = { source: 'ci' as const, target: 'pages', plimsollVersion: '0.0.0-test' }

/** Three runs: first_seen, last_seen and state then differ between findings. */
async function fill(store: Store) {
  await recordRun(store, report(150, 3), options)
  await recordRun(store, report(260, 2), options)
  // Every seventh is gone (resolved); every eleventh from the fifth on is excepted.
  await recordRun(
    store,
    report(260, 1, (i) => i % 7 !== 0),
    options,
  )
}

const STATE_SETS: FindingState[][] = [['open'], ['open', 'excepted', 'resolved'], ['excepted', 'resolved']]
const FILTERS: [string, FindingFilter][] = [
  ['no filter', {}],
  ['severity', { severity: ['critical', 'low'] }],
  ['namespace and check', { namespace: ['ns-1', 'ns-2'], check: ['memory-limit', 'pss-privileged'] }],
  ['search', { q: 'API-2 c1' }],
]

const words = (q: string) => q.toLowerCase().split(/\s+/).filter(Boolean)
/** What search looks in: record-run.ts's search text, from the finding as the list gives it. */
const textOf = (f: FindingRow) =>
  `${f.message} ${f.checkId} ${f.resource.kind}/${f.resource.namespace}/${f.resource.name} ${f.path}`.toLowerCase()

/** Every page of a list, by cursor, 23 at a time. */
async function allPages(store: Store, filter: FindingFilter, sort: Pick<PageOptions, 'sort' | 'descending'>) {
  const rows: FindingRow[] = []
  let cursor: string | undefined
  do {
    const page = await listFindings(store, filter, {
      ...sort,
      limit: 23,
      offset: 0,
      ...(cursor ? { cursor } : {}),
    })
    rows.push(...page.items)
    cursor = page.next ?? undefined
  } while (cursor)
  return rows
}

for (const [backend, location] of backends) {
  describe(`store pages on ${backend}`, () => {
    let store: Store
    beforeAll(async () => {
      store = await openStore(await location('pages'))
      await fill(store)
    })
    afterAll(() => store?.close())

    it('pages by cursor through every row exactly once, in order, for every sort and direction', async () => {
      let combinations = 0
      for (const sort of FINDING_SORTS)
        for (const descending of [true, false])
          for (const state of STATE_SETS)
            for (const [, extra] of FILTERS) {
              const filter = { ...extra, state }
              // The whole list in one page is the order the cursor pages must follow.
              const whole = await listFindings(store, filter, { sort, descending, limit: 500, offset: 0 })
              expect(whole.next).toBeNull()
              const ids: number[] = []
              let cursor: string | undefined
              let pages = 0
              do {
                const page = await listFindings(store, filter, {
                  sort,
                  descending,
                  limit: 17,
                  offset: 0,
                  ...(cursor ? { cursor } : {}),
                })
                expect(page.total).toBe(whole.total)
                ids.push(...page.items.map((f) => f.id))
                cursor = page.next ?? undefined
                pages++
              } while (cursor && pages < 100)
              expect(ids).toEqual(whole.items.map((f) => f.id))
              expect(new Set(ids).size).toBe(whole.total)
              // Offsets page the same list, in order or not (a deep one starts where an earlier one ended).
              for (const offset of [34, 17, 51, 40, 0, 200, 119, 68])
                expect(
                  (await listFindings(store, filter, { sort, descending, limit: 17, offset })).items.map(
                    (f) => f.id,
                  ),
                ).toEqual(ids.slice(offset, offset + 17))
              // After a cursor, an offset skips on from it.
              const first = await listFindings(store, filter, { sort, descending, limit: 17, offset: 0 })
              if (first.next)
                expect(
                  (
                    await listFindings(store, filter, {
                      sort,
                      descending,
                      limit: 17,
                      offset: 5,
                      cursor: first.next,
                    })
                  ).items.map((f) => f.id),
                ).toEqual(ids.slice(22, 39))
              if (whole.total > 0) combinations++
            }
      expect(combinations).toBeGreaterThan(100)
    })

    it('finds every offset right, however many pages by offset were read before', async () => {
      const filter = { state: ['open', 'excepted', 'resolved'] as FindingState[] }
      const sorted = { sort: 'resource' as const, descending: false }
      const ids = (await allPages(store, filter, sorted)).map((f) => f.id)
      // Far more offsets than the list keeps points to start from, in an order that is not the list's.
      for (let i = 0; i < ids.length; i++) {
        const offset = (i * 97) % ids.length
        const page = await listFindings(store, filter, { ...sorted, limit: 1, offset })
        expect(page.items.map((f) => f.id)).toEqual([ids[offset]])
      }
    })

    it('orders each sort by its key, ties by id in the same direction', async () => {
      const rank = ['critical', 'high', 'medium', 'low', 'info']
      const all = { state: ['open', 'excepted', 'resolved'] as FindingState[] }
      const key = {
        severity: (f: { severity: string }) => rank.indexOf(f.severity),
        first_seen: (f: { firstSeen: string }) => f.firstSeen,
        last_seen: (f: { lastSeen: string }) => f.lastSeen,
      }
      const worst = await listFindings(store, all, {
        sort: 'severity',
        descending: true,
        limit: 500,
        offset: 0,
      })
      const pairs = worst.items.map((f) => [key.severity(f), f.id] as const)
      expect(pairs).toEqual([...pairs].sort((a, b) => a[0] - b[0] || a[1] - b[1]))
      for (const sort of ['first_seen', 'last_seen'] as const) {
        const newest = await listFindings(store, all, { sort, descending: true, limit: 500, offset: 0 })
        const seen = newest.items.map((f) => [key[sort](f), f.id] as const)
        expect(seen).toEqual([...seen].sort((a, b) => b[0].localeCompare(a[0]) || b[1] - a[1]))
        expect(new Set(seen.map((s) => s[0])).size).toBeGreaterThan(1)
      }
    })

    it('finds what search names: every word, anywhere in the text, however short, wildcards literal', async () => {
      const all = await listFindings(
        store,
        { state: ['open', 'excepted', 'resolved'] },
        { sort: 'severity', descending: true, limit: 500, offset: 0 },
      )
      for (const q of [
        'api-2',
        'API',
        'c1 web-9',
        'f1',
        '0%_s',
        '%',
        '_',
        'team_owner',
        'ns-3/zeta',
        'nothing-like-it',
      ]) {
        const found = await listFindings(
          store,
          { state: ['open', 'excepted', 'resolved'], q },
          { sort: 'severity', descending: true, limit: 500, offset: 0 },
        )
        const expected = all.items
          .filter((f) => words(q).every((w) => textOf(f).includes(w)))
          .map((f) => f.id)
        expect(
          found.items.map((f) => f.id),
          q,
        ).toEqual(expected)
        expect(found.total, q).toBe(expected.length)
      }
    })

    it('pages a search that matches thousands of findings as one that matches a few', async () => {
      const many = await openStore(await location('search-many'))
      try {
        await recordRun(many, report(2600, 1), options)
        const sorted = { sort: 'check' as const, descending: false }
        const everything = await allPages(many, { state: ['open', 'excepted', 'resolved'] }, sorted)
        expect(everything).toHaveLength(2600)
        // "container" is in every finding's text (thousands of matches), "web-9" in an eighth (a few hundred).
        for (const q of ['container c1', 'web-9 c1', 'container web-9'])
          for (const state of [['open'], ['open', 'excepted']] as FindingState[][]) {
            const expected = everything
              .filter((f) => state.includes(f.state) && words(q).every((w) => textOf(f).includes(w)))
              .map((f) => f.id)
            expect(expected.length).toBeGreaterThan(50)
            const found = await allPages(many, { state, q }, sorted)
            expect(found.map((f) => f.id)).toEqual(expected)
            const deep = await listFindings(many, { state, q }, { ...sorted, limit: 23, offset: 46 })
            expect(deep.total).toBe(expected.length)
            expect(deep.items.map((f) => f.id)).toEqual(expected.slice(46, 69))
          }
      } finally {
        await many.close()
      }
    })

    it('finds deep offsets right when the walk to them leaves anchors on its way', async () => {
      const deep = await openStore(await location('deep-offsets'))
      try {
        await recordRun(deep, report(2600, 1), options)
        for (const [sort, descending] of [
          ['check', false],
          ['severity', true],
          ['resource', true],
        ] as const) {
          const filter = { state: ['open', 'excepted'] as FindingState[] }
          const ids = (await allPages(deep, filter, { sort, descending })).map((f) => f.id)
          expect(ids).toHaveLength(2600)
          // Deeper than a stride of the walk, then at, around and between the anchors it left.
          for (const offset of [2570, 1000, 999, 1001, 2000, 1500, 2599, 2600, 0, 1999, 2001, 17])
            expect(
              (await listFindings(deep, filter, { sort, descending, limit: 23, offset })).items.map(
                (f) => f.id,
              ),
              `${sort} offset ${offset}`,
            ).toEqual(ids.slice(offset, offset + 23))
        }
      } finally {
        await deep.close()
      }
    })

    it('counts again after a new run', async () => {
      const where = await location('recount')
      const other = await openStore(where)
      try {
        await recordRun(other, report(50, 2), options)
        const before = await listFindings(
          other,
          { state: ['open'] },
          { sort: 'severity', descending: true, limit: 5, offset: 0 },
        )
        // five of the fifty are excepted
        expect(before.total).toBe(45)
        await recordRun(
          other,
          report(50, 1, (i) => i % 2 === 0),
          options,
        )
        const after = await listFindings(
          other,
          { state: ['open'] },
          { sort: 'severity', descending: true, limit: 5, offset: 0 },
        )
        expect(after.total).toBe(22)
        const resolved = await listFindings(
          other,
          { state: ['resolved'] },
          { sort: 'severity', descending: true, limit: 5, offset: 0 },
        )
        expect(resolved.total).toBe(25)
      } finally {
        await other.close()
      }
    })

    it('refuses a cursor made for another sort or direction, and a malformed one', async () => {
      const page = await listFindings(
        store,
        { state: ['open'] },
        { sort: 'check', descending: false, limit: 5, offset: 0 },
      )
      const cursor = page.next!
      await expect(
        listFindings(
          store,
          { state: ['open'] },
          { sort: 'resource', descending: false, limit: 5, offset: 0, cursor },
        ),
      ).rejects.toThrow(CursorError)
      await expect(
        listFindings(
          store,
          { state: ['open'] },
          { sort: 'check', descending: true, limit: 5, offset: 0, cursor },
        ),
      ).rejects.toThrow(CursorError)
      for (const bad of ['x', 'eyJ9', Buffer.from('["check","asc",[1,2]]').toString('base64url')])
        await expect(
          listFindings(
            store,
            { state: ['open'] },
            { sort: 'check', descending: false, limit: 5, offset: 0, cursor: bad },
          ),
        ).rejects.toThrow(CursorError)
    })

    it('pages the exceptions register by cursor and offset, soonest expiry first, with filters', async () => {
      const where = await location('register')
      const reg = await openStore(where)
      try {
        const today = new Date().toISOString().slice(0, 10)
        const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)
        for (let i = 0; i < 40; i++)
          await createException(
            reg,
            {
              checks: i % 3 === 0 ? ['pss-privileged', 'host-*'] : ['memory-limit'],
              namespaces: [`ns-${i % 4}`],
              owner: `team-${i % 5}@example.com`,
              reason: i % 8 === 0 ? 'Vendor image (PAY-123)' : 'until the migration',
              expires: inDays((i * 7) % 60),
            },
            'test',
          )
        // Expired ones cannot be created through the API; the register may hold them all the same.
        await reg.db
          .updateTable('exceptions')
          .set({ expires: '2001-01-01' })
          .where('id', 'in', [3, 9, 27])
          .execute()
        const whole = await pageExceptions(reg, {}, { limit: 500, offset: 0 })
        expect(whole.total).toBe(40)
        const order = whole.items.map((e) => [e.expires, e.id] as const)
        expect(order).toEqual([...order].sort((a, b) => a[0].localeCompare(b[0]) || a[1] - b[1]))
        for (const filter of [
          {},
          { state: 'expired' as const },
          { state: 'active' as const },
          { state: 'expiring' as const },
          { owner: 'team-2@example.com' },
          { check: 'pss-privileged' },
          { check: 'host-*' },
          { q: 'pay-123' },
          { q: 'ns-1 migration' },
        ]) {
          const all = await pageExceptions(reg, filter, { limit: 500, offset: 0 })
          const ids: number[] = []
          let cursor: string | undefined
          do {
            const page = await pageExceptions(reg, filter, {
              limit: 3,
              offset: 0,
              ...(cursor ? { cursor } : {}),
            })
            expect(page.total).toBe(all.total)
            ids.push(...page.items.map((e) => e.id))
            cursor = page.next ?? undefined
          } while (cursor)
          expect(ids, JSON.stringify(filter)).toEqual(all.items.map((e) => e.id))
          const byOffset = await pageExceptions(reg, filter, { limit: 3, offset: 3 })
          expect(byOffset.items.map((e) => e.id)).toEqual(ids.slice(3, 6))
        }
        const expired = await pageExceptions(reg, { state: 'expired' }, { limit: 500, offset: 0 })
        expect(expired.items.map((e) => e.id)).toEqual([3, 9, 27])
        const expiring = await pageExceptions(reg, { state: 'expiring' }, { limit: 500, offset: 0 })
        expect(expiring.total).toBeGreaterThan(0)
        for (const e of expiring.items) expect(e.expires >= today && e.expires <= inDays(14)).toBe(true)
        const active = await pageExceptions(reg, { state: 'active' }, { limit: 500, offset: 0 })
        expect(active.total).toBe(37)
        const owner = await pageExceptions(reg, { owner: 'team-2@example.com' }, { limit: 500, offset: 0 })
        expect(owner.items.map((e) => e.id)).toEqual(
          whole.items.filter((e) => e.owner === 'team-2@example.com').map((e) => e.id),
        )
        const check = await pageExceptions(reg, { check: 'pss-privileged' }, { limit: 500, offset: 0 })
        expect(check.total).toBe(14)
        const inNs1 = await pageExceptions(reg, { q: 'ns-1 migration' }, { limit: 500, offset: 0 })
        expect(inNs1.items.map((e) => e.id)).toEqual(
          whole.items
            .filter((e) => e.namespaces[0] === 'ns-1' && e.reason.includes('migration'))
            .map((e) => e.id),
        )
      } finally {
        await reg.close()
      }
    })
  })
}
