/**
 * The findings list's answers, byte for byte: every sort in both orders, every filter, search (short
 * words, a few matches, thousands), every state, pages by offset and by cursor, an empty page, and every
 * finding once in a whole page, over HTTP from a SQLite store of fixed runs. Strings hold what JSON must
 * escape (quotes, backslashes, control characters, NUL, U+2028) and what it must not (accents, emoji).
 * The expected answers (test/data/api-findings-pages.jsonl) were recorded with the code before the list
 * was serialized in SQLite: any change to a byte of them is a change of the API.
 * Record anew (only for an intended change of the API): npx vitest run test/unit/api-findings-json.test.ts -u
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Severity } from '../../src/api-types.js'
import type { ScanReport } from '../../src/scan/scan.js'
import { buildServer } from '../../src/server/app.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { recordRun } from '../../src/store/record-run.js'
import { createToken } from '../../src/store/tokens.js'

type Finding = ScanReport['findings'][number]

const CHECKS: [string, Severity, string][] = [
  ['pss-privileged', 'critical', 'security'],
  ['host-path', 'high', 'security'],
  ['memory-limit', 'medium', 'efficiency'],
  ['liveness-probe', 'low', 'reliability'],
  ['team_owner-label', 'info', 'hygiene'],
]

const RESOURCES: Finding['resource'][] = [
  { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'ns-a' },
  { apiVersion: 'apps/v1', kind: 'Deployment', name: 'Api', namespace: 'ns-a' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'api-2', namespace: 'ns-b' },
  { apiVersion: 'v1', kind: 'Pod', name: 'zéta-😀', namespace: 'ns-b' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'admin"ish' },
  { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', namespace: 'ns\\c' },
]

/** What JSON escapes, and what it leaves alone. */
const TRICKY = [
  'plain',
  'says "hi"',
  'back\\slash',
  'tab\there',
  'line\nbreak\r\n',
  'bell\u0007 and del\u007f',
  'nul\u0000byte',
  'é, ß and 漢字',
  'emoji 😀',
  'separators\u2028and\u2029',
  '</script><b>&amp;',
  "it's 100%_sure",
]

const exception = (i: number) =>
  i % 2
    ? ({
        source: 'file',
        file: 'debt "2".yaml',
        index: i,
        owner: 'ops\\team',
        reason: TRICKY[i % TRICKY.length]!,
        expires: '2099-01-01',
      } as const)
    : ({ source: 'annotation', reason: `annotated ${TRICKY[(i + 3) % TRICKY.length]}` } as const)

function finding(i: number, extra: Partial<Finding> = {}): Finding {
  const [checkId, severity, category] = CHECKS[i % CHECKS.length]!
  const resource = RESOURCES[Math.floor(i / 3) % RESOURCES.length]!
  return {
    checkId,
    title: checkId,
    severity,
    category,
    status: 'fail',
    message: `finding ${i}: ${TRICKY[i % TRICKY.length]}`,
    resource,
    ...(i % 4 === 3
      ? {}
      : { container: { name: `c-${TRICKY[(i + 1) % TRICKY.length]}`, type: 'containers' } }),
    path: `spec.containers[${i % 3}].f${i}`,
    location: { file: `deploy/${resource.name}.yaml`, line: i + 1, column: (i % 7) + 1, documentIndex: 0 },
    ...extra,
  }
}

function report(startedAt: string, findings: Finding[]): ScanReport {
  return {
    policyVersion: 'latest',
    startedAt,
    durationMs: 1234,
    summary: {
      files: 1,
      resources: RESOURCES.length,
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

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

let store: Store
let app: FastifyInstance
let base: string
let token: string

beforeAll(async () => {
  store = await openStore(join(mkdtempSync(join(tmpdir(), 'plimsoll-api-findings-json-')), 'api.db'))
  const record = (target: string, startedAt: string, findings: Finding[]) =>
    recordRun(store, report(startedAt, findings), { source: 'ci', target, plimsollVersion: 'test' })
  // Three runs of one target: some findings come later, some go (resolved), some come back (reopened),
  // some are excepted, and on some an exception matched that has expired.
  await record(
    'estate',
    '2024-03-01T10:00:00.000Z',
    range(60).map((i) => finding(i)),
  )
  await record(
    'estate',
    '2024-03-02T10:00:00.000Z',
    range(72)
      .filter((i) => i % 5 !== 2)
      .map((i) => finding(i)),
  )
  await record(
    'estate',
    '2024-03-03T10:00:00.000Z',
    range(72)
      .filter((i) => i % 7 !== 1)
      .map((i) =>
        finding(
          i,
          i % 6 === 4 ? { excepted: exception(i) } : i % 9 === 8 ? { exceptionExpired: exception(i) } : {},
        ),
      ),
  )
  // Another target, and one whose words the search index finds thousands of times.
  await record('other', '2024-03-02T12:00:00.000Z', [finding(100), finding(101)])
  await record(
    'bulk',
    '2024-03-01T12:00:00.000Z',
    range(2100).map((i) => finding(200 + i, { message: `bulk finding ${i}` })),
  )
  token = (await createToken(store, 'val', { role: 'viewer' })).token
  app = await buildServer({ store, checks: [], frameworks: [] })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app?.close()
  await store?.close()
})

async function get(path: string) {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
}

const SORTS = ['severity', 'check', 'resource', 'first_seen', 'last_seen']

it('answers every kind of findings page exactly as it did', async () => {
  const paths: string[] = []
  for (const sort of SORTS)
    for (const order of ['desc', 'asc']) {
      paths.push(`/api/findings?target=estate&sort=${sort}&order=${order}&limit=4`)
      paths.push(
        `/api/findings?target=estate&state=open,excepted,resolved&sort=${sort}&order=${order}&limit=5&offset=7`,
      )
    }
  paths.push(
    '/api/findings',
    '/api/findings?limit=3&offset=2000',
    '/api/findings?target=estate&severity=high,critical&limit=6',
    '/api/findings?target=estate&severity=low&sort=check&order=asc&limit=6&offset=3',
    '/api/findings?check=host-path,memory-limit&sort=last_seen&limit=6',
    '/api/findings?namespace=ns-a&severity=medium,critical&limit=6',
    '/api/findings?namespace=ns-b,ns%5Cc&sort=resource&order=asc&limit=6',
    '/api/findings?kind=ClusterRole&state=open,resolved&limit=6',
    '/api/findings?resource=3&state=open,excepted,resolved&limit=500',
    '/api/findings?target=other&limit=6',
    '/api/findings?target=estate&state=excepted&limit=6',
    '/api/findings?target=estate&state=resolved&sort=first_seen&order=asc&limit=6',
    '/api/findings?target=estate&state=open,excepted&sort=check&order=desc&limit=6&offset=11',
    '/api/findings?q=hi&limit=6',
    '/api/findings?q=script&state=open,excepted,resolved&limit=6',
    `/api/findings?q=${encodeURIComponent('EMOJI 😀')}&state=open,excepted,resolved&limit=6`,
    '/api/findings?q=bulk%20finding&sort=check&order=asc&limit=4&offset=30',
    '/api/findings?q=100%25_sure&limit=6',
    '/api/findings?q=nothing-like-it',
    '/api/findings?target=nobody',
    '/api/findings?target=estate&state=open,excepted,resolved&sort=check&order=asc&limit=500',
  )
  const lines: string[] = []
  const record = async (path: string) => {
    const r = await get(path)
    expect(r.type, path).toBe('application/json; charset=utf-8')
    // The answer's own bytes, unparsed: a line each.
    lines.push(`{"path":${JSON.stringify(path)},"status":${r.status},"body":${r.text}}`)
    return JSON.parse(r.text) as { next: string | null }
  }
  for (const path of paths) await record(path)
  // Three pages by cursor in every sort, and an offset after a cursor.
  for (const sort of SORTS) {
    let next = (await record(`/api/findings?target=estate&sort=${sort}&limit=3`)).next
    for (let page = 0; page < 2 && next; page++)
      next = (await record(`/api/findings?target=estate&sort=${sort}&limit=3&cursor=${next}`)).next
    if (next) await record(`/api/findings?target=estate&sort=${sort}&limit=3&offset=4&cursor=${next}`)
  }
  // A cursor that cannot be used; one finding and one resource, which share the list's rows.
  for (const path of [
    '/api/findings?sort=check&cursor=WyJmaW5kaW5nczpzZXZlcml0eTpkZXNjIiwwLDYxXQ',
    '/api/findings?cursor=bm90IGEgY3Vyc29y',
    '/api/findings/5',
    '/api/findings/70',
    '/api/resources/5',
  ])
    await record(path)
  await expect(`${lines.join('\n')}\n`).toMatchFileSnapshot('../data/api-findings-pages.jsonl')
})
