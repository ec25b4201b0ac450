/**
 * Imported vulnerabilities as data, on SQLite and PostgreSQL: the real Trivy and Grype reports of the
 * corpus imported with `plimsoll import`, their facts kept beside the findings (and in step with them
 * through a newer report and back), and read by image, by advisory, fixable or not and by age through
 * the API.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runImport } from '../../src/cli/import.js'
import { buildServer } from '../../src/server/app.js'
import { openStore } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import {
  listVulnerabilities,
  vulnerabilityPosture,
  vulnerabilitySummary,
} from '../../src/store/vulnerabilities.js'
import { corpusPath } from '../helpers/corpus.js'
import { freshDatabase } from '../helpers/postgres.js'
import { tempFiles } from '../helpers/temp-files.js'

const report = (path: string) => join(corpusPath('tool-reports'), path)
const ALPINE = 'testdata/fixtures/images/alpine-310.tar.gz'
const DAY_MS = 86_400_000

async function importInto(db: string, file: string, target: string): Promise<void> {
  const errors: string[] = []
  const code = await runImport(
    [file],
    { format: 'auto', target, store: db },
    () => {},
    (l) => errors.push(l),
  )
  expect(errors).toEqual([])
  expect(code).toBe(0)
}

describe('imported vulnerabilities', () => {
  const tmp = tempFiles('plimsoll-vulns-')

  for (const backend of ['sqlite', 'postgres'] as const)
    it(`${backend}: kept beside their findings, in step through a newer report, read by image, advisory, fix and age`, async () => {
      const db = backend === 'sqlite' ? tmp.file('store.db', '') : await freshDatabase('vulns')
      const alpine = report('trivy/alpine-310.json.golden')
      await importInto(db, alpine, 'alpine/trivy')
      await importInto(db, report('grype/chainguard-ruby-test.json'), 'ruby/grype')
      await importInto(db, report('grype/many_vulns_with_epss_values.json'), 'busybox/grype')
      await importInto(db, report('grype/keycloak-test.json'), 'keycloak/grype')

      const store = await openStore(db)
      const app = await buildServer({ store, checks: [], frameworks: [] })
      try {
        const { token } = await createToken(store, 'viewer', { role: 'viewer' })
        const get = async (url: string) => {
          const res = await app.inject({ url, headers: { authorization: `Bearer ${token}` } })
          expect(res.statusCode, res.body).toBe(200)
          return res.json()
        }

        // One row per finding, under the finding's own key and first seen.
        const findings = await store.db
          .selectFrom('findings')
          .select(['fingerprint', 'first_seen'])
          .where('target', '=', 'alpine/trivy')
          .execute()
        const rows = await store.db
          .selectFrom('vulnerabilities')
          .selectAll()
          .where('target', '=', 'alpine/trivy')
          .execute()
        expect(rows.map((r) => [r.fingerprint, r.first_seen]).sort()).toEqual(
          findings.map((f) => [f.fingerprint, f.first_seen]).sort(),
        )
        expect(rows.find((r) => r.package === 'libssl1.1' && r.advisory === 'CVE-2019-1549')).toMatchObject({
          tool: 'trivy',
          package_type: 'alpine',
          installed_version: '1.1.1c-r0',
          fixed_version: '1.1.1d-r0',
          fix_state: 'fixed',
          artifact: ALPINE,
          aliases: '[]',
        })

        // CVE-2019-1549 in libssl1.1 and libcrypto1.1, both fixed in 1.1.1d-r0.
        const cve = await get('/api/vulnerabilities?advisory=CVE-2019-1549')
        expect(cve.total).toBe(2)
        expect(
          cve.items
            .map((v: Record<string, unknown>) => [v.package, v.fixedVersion, v.fixable, v.image])
            .sort(),
        ).toEqual([
          ['libcrypto1.1', '1.1.1d-r0', true, ALPINE],
          ['libssl1.1', '1.1.1d-r0', true, ALPINE],
        ])
        expect(cve.items[0]).toMatchObject({
          target: 'alpine/trivy',
          severity: 'medium',
          state: 'open',
          resource: { kind: 'Image', name: ALPINE },
          ageDays: 0,
        })

        // An advisory is found where it is an alias too: the GHSA Grype relates to CVE-2023-28755.
        const ruby = await get('/api/vulnerabilities?advisory=CVE-2023-28755')
        expect(
          ruby.items
            .map((v: Record<string, unknown>) => [v.advisory, v.package, v.fixState, v.fixedVersion])
            .sort(),
        ).toEqual([
          ['CVE-2023-28755', 'ruby-3.0', 'fixed', '3.0.6-r0'],
          ['CVE-2023-28755', 'uri', 'unknown', null],
          ['GHSA-hv5j-3h9f-99c2', 'uri', 'fixed', '0.10.2'],
        ])

        // 4 (alpine: medium, all fixed) + 3 (ruby: high, 2 fixed) + 15 (busybox: 1 critical, 10 high,
        // 2 medium, 2 low; 1 fixed) + 6 (keycloak: low, won't fix)
        const summary = await get('/api/vulnerabilities/summary')
        expect(summary).toMatchObject({
          count: 28,
          fixable: 7,
          notFixable: 21,
          byFixState: { fixed: 7, 'not-fixed': 0, 'wont-fix': 6, unknown: 15 },
          bySeverity: { critical: 1, high: 13, medium: 6, low: 8, info: 0 },
        })
        expect(summary.age[0]).toMatchObject({ label: 'under 7 days', count: 28, fixable: 7 })
        // busybox has the one critical: the worst image first
        expect(summary.images.total).toBe(4)
        expect(summary.images.items[0]).toMatchObject({
          key: 'busybox:1.32.1',
          count: 15,
          fixable: 1,
          severity: 'critical',
          bySeverity: { critical: 1, high: 10, medium: 2, low: 2, info: 0 },
          packages: 1,
          targets: 1,
        })
        const keycloak = await get('/api/vulnerabilities/by/advisory?advisory=CVE-2020-12413')
        expect(keycloak.items).toEqual([
          expect.objectContaining({
            key: 'CVE-2020-12413',
            count: 6,
            fixable: 0,
            severity: 'low',
            packages: 6,
          }),
        ])
        const notFixable = await get('/api/vulnerabilities?image=busybox:1.32.1&fixable=false&limit=5')
        expect(notFixable.total).toBe(14)
        expect(notFixable.items).toHaveLength(5)
        expect(notFixable.items[0]).toMatchObject({ advisory: 'CVE-2022-48174', severity: 'critical' })
        expect(
          (await get('/api/vulnerabilities?severity=critical,high&target=busybox/grype&fixable=true')).total,
        ).toBe(0)

        // In the posture each image is one evaluation: only ruby has a critical or high with a fix
        // (its two highs), so one of four images fails, in a category of its own and in the score.
        const posture = await get('/api/summary')
        expect(posture.vulnerabilities).toEqual({
          images: 4,
          failingImages: 1,
          open: 28,
          fixable: 7,
          overdue: 0,
          overdueDays: 30,
        })
        expect(posture.byCategory).toEqual([
          { category: 'vulnerabilities', applied: 4, failed: 1, score: 75 },
        ])
        expect(posture).toMatchObject({ score: 75, applied: 4, failed: 1 })
        // The top checks are the tools' ids, with their findings' severity
        expect(posture.topChecks.slice(0, 2)).toEqual([
          { checkId: 'grype:CVE-2020-12413', title: 'grype:CVE-2020-12413', severity: 'low', open: 6 },
          { checkId: 'grype:CVE-2023-28755', title: 'grype:CVE-2023-28755', severity: 'high', open: 2 },
        ])
        expect((await get('/api/summary?target=ruby/grype')).vulnerabilities).toMatchObject({
          images: 1,
          failingImages: 1,
          open: 3,
        })
        expect((await get('/api/summary?target=alpine/trivy')).score).toBe(100)

        // An imported check has a page, known from its findings; an id nothing carries has none.
        expect(await get(`/api/checks/${encodeURIComponent('grype:CVE-2022-48174')}`)).toMatchObject({
          id: 'grype:CVE-2022-48174',
          severity: 'critical',
          category: 'vulnerability',
          controls: [],
          external: { tool: 'grype', findings: 1, open: 1 },
        })
        const missing = await app.inject({
          url: `/api/checks/${encodeURIComponent('grype:CVE-1999-0001')}`,
          headers: { authorization: `Bearer ${token}` },
        })
        expect(missing.statusCode).toBe(404)
        expect(missing.json().error).toBe("check 'grype:CVE-1999-0001' not found")

        // 40 days on, the same vulnerabilities are a month old
        const later = new Date(Date.now() + 40 * DAY_MS)
        // and ruby's two fixable highs are overdue
        expect(await vulnerabilityPosture(store, undefined, later)).toMatchObject({
          overdue: 2,
          failingImages: 1,
        })
        const aged = await vulnerabilitySummary(store, {}, 10, later)
        expect(aged.age.map((b) => b.count)).toEqual([0, 0, 28, 0, 0])
        expect(aged.age[2]!.fixable).toBe(7)
        expect(aged.images.items[0]!.oldestDays).toBe(40)
        const listed = await listVulnerabilities(
          store,
          { target: 'alpine/trivy' },
          { limit: 1, offset: 0 },
          later,
        )
        expect(listed.items[0]!.ageDays).toBe(40)
      } finally {
        await app.close()
        await store.close()
      }

      // A newer report: libssl1.1 upgraded (its two CVEs gone), libcrypto1.1's fix known later.
      const doc = JSON.parse(readFileSync(alpine, 'utf8'))
      const result = doc.Results[0]
      result.Vulnerabilities = result.Vulnerabilities.filter(
        (v: { PkgName: string }) => v.PkgName !== 'libssl1.1',
      )
      for (const v of result.Vulnerabilities)
        if (v.VulnerabilityID === 'CVE-2019-1551') v.FixedVersion = '1.1.1g-r0'
      await importInto(db, tmp.file('alpine-newer.json', JSON.stringify(doc)), 'alpine/trivy')
      const after = await openStore(db)
      try {
        const open = await listVulnerabilities(after, { target: 'alpine/trivy' }, { limit: 10, offset: 0 })
        expect(open.items.map((v) => [v.advisory, v.package, v.fixedVersion]).sort()).toEqual([
          ['CVE-2019-1549', 'libcrypto1.1', '1.1.1d-r0'],
          ['CVE-2019-1551', 'libcrypto1.1', '1.1.1g-r0'],
        ])
        const resolved = await listVulnerabilities(
          after,
          { target: 'alpine/trivy', state: ['resolved'] },
          { limit: 10, offset: 0 },
        )
        expect(resolved.items.map((v) => [v.advisory, v.package, v.state]).sort()).toEqual([
          ['CVE-2019-1549', 'libssl1.1', 'resolved'],
          ['CVE-2019-1551', 'libssl1.1', 'resolved'],
        ])
        expect((await vulnerabilitySummary(after, { target: 'alpine/trivy' })).count).toBe(2)
      } finally {
        await after.close()
      }

      // The original again: libssl1.1's are reopened, with the rows they had.
      await importInto(db, alpine, 'alpine/trivy')
      const reopened = await openStore(db)
      try {
        const open = await listVulnerabilities(
          reopened,
          { advisory: 'CVE-2019-1549' },
          { limit: 10, offset: 0 },
        )
        expect(open.items.map((v) => [v.package, v.state, v.fixedVersion]).sort()).toEqual([
          ['libcrypto1.1', 'open', '1.1.1d-r0'],
          ['libssl1.1', 'open', '1.1.1d-r0'],
        ])
      } finally {
        await reopened.close()
      }
    })

  it('refuses an advisory that is not an id, naming the parameter', async () => {
    const store = await openStore(tmp.file('refuse.db', ''))
    const app = await buildServer({ store, checks: [], frameworks: [] })
    try {
      const { token } = await createToken(store, 'viewer', { role: 'viewer' })
      const res = await app.inject({
        url: '/api/vulnerabilities?advisory=CVE-%25&fixable=maybe',
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.statusCode).toBe(400)
      const paths = (res.json().details as { path: string }[]).map((d) => d.path)
      expect(paths).toEqual(expect.arrayContaining(['/advisory', '/fixable']))
      expect((await app.inject({ url: '/api/vulnerabilities' })).statusCode).toBe(401)
    } finally {
      await app.close()
      await store.close()
    }
  })
})
