/**
 * Upgrade checks in the store, on SQLite and PostgreSQL: `plimsoll upgrade-check --store` over the
 * corpus's real manifests records what its JSON report says (counts, findings with their replacements,
 * the Pod Security Standards changes), keeps every check, and the API answers the latest per target
 * and release, and one check's findings by impact and area, to viewers only.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { UpgradeCheckSummaryView, UpgradeCheckView, UpgradeFindingView } from '../../src/api-types.js'
import { runUpgradeCheck } from '../../src/cli/upgrade-check.js'
import { VERSION_INFO } from '../../src/control-plane/discovery.js'
import { startControlPlane } from '../../src/control-plane/server.js'
import { buildServer } from '../../src/server/app.js'
import { openStore } from '../../src/store/connect.js'
import { createToken } from '../../src/store/tokens.js'
import { getUpgradeCheck, listUpgradeChecks } from '../../src/store/upgrade-checks.js'
import { corpusPath } from '../helpers/corpus.js'
import { create } from '../helpers/kube.js'
import { freshDatabase } from '../helpers/postgres.js'
import { tempFiles } from '../helpers/temp-files.js'

const tmp = tempFiles('plimsoll-upgrade-store-')
const examples = corpusPath('real-manifests', 'kubernetes__examples', '_archived')
const cockroach = join(examples, 'cockroachdb', 'cockroachdb-statefulset.yaml')

let reports = 0
let stderr: string[] = []

beforeEach(() => {
  stderr = []
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk))
    return true
  })
})
afterEach(() => {
  vi.restoreAllMocks()
})

/** The command as a user runs it, its JSON report written to a file and read back. */
async function check(inputs: string[], flags: Record<string, string | boolean>) {
  const output = join(tmp.dir, `report-${++reports}.json`)
  const code = await runUpgradeCheck(inputs, {
    format: 'json',
    color: false,
    output,
    namespace: [],
    excludeNamespace: [],
    ...flags,
  })
  const report =
    code === 2 && !stderr.join('').includes('recorded')
      ? undefined
      : (JSON.parse(readFileSync(output, 'utf8')) as { findings: UpgradeFindingView[] })
  return { code, report }
}

const key = (f: UpgradeFindingView) =>
  `${f.impact} ${f.area} ${f.id} ${f.object.kind} ${f.object.name} ${f.file}:${f.line}`

describe('upgrade checks in the store', () => {
  for (const backend of ['sqlite', 'postgres'] as const)
    it(`${backend}: recorded as the report says, kept, the latest per target and release served`, async () => {
      const db = backend === 'sqlite' ? join(tmp.dir, 'store.db') : await freshDatabase('upgrade_checks')

      const first = await check([examples], { from: 'v1.24', to: 'v1.25', store: db, target: 'examples' })
      expect(first.code).toBe(1)
      expect(stderr.join('')).toMatch(
        /recorded check \d+ of 'examples' \(v1\.24 to v1\.25: 4 breaking, \d+ Pod Security changes, \d+ deprecated\)/,
      )
      // The same target again, fewer files: the newer check is the one listed; and one to v1.24.
      expect(
        (await check([cockroach], { from: 'v1.24', to: 'v1.25', store: db, target: 'examples' })).code,
      ).toBe(1)
      const older = await check([cockroach], { from: 'v1.23', to: 'v1.24', store: db, target: 'examples' })
      expect(older.code).toBe(0)
      // Without --target: the inputs as given.
      expect((await check([cockroach], { to: 'v1.25', store: db })).code).toBe(1)

      const store = await openStore(db)
      const app = await buildServer({ store, checks: [], frameworks: [] })
      try {
        const { token } = await createToken(store, 'viewer', { role: 'viewer' })
        const get = async <T>(url: string, status = 200) => {
          const res = await app.inject({ url, headers: { authorization: `Bearer ${token}` } })
          expect(res.statusCode, res.body).toBe(status)
          return res.json() as T
        }

        const list = await get<UpgradeCheckSummaryView[]>('/api/upgrade-checks')
        expect(
          list.map((c) => [c.target, c.from, c.to, c.checks, c.counts.breaks, c.counts.deprecated]),
        ).toEqual([
          [cockroach, 'v1.24', 'v1.25', 1, 1, 0],
          ['examples', 'v1.23', 'v1.24', 1, 0, 1],
          ['examples', 'v1.24', 'v1.25', 2, 1, 0],
        ])
        expect(list[0]?.fromSource).toBe('default')
        expect(list[2]).toMatchObject({
          fromSource: 'flag',
          objects: 4,
          files: 1,
          errors: 0,
          clusterVersion: null,
          byArea: { api: { breaks: 1, changes: 0, deprecated: 0 } },
        })
        expect(await get('/api/upgrade-checks?target=examples')).toEqual(list.slice(1))

        // The first check, whole: found by id though no longer the latest, its findings the report's.
        const ids = (await store.db.selectFrom('upgrade_checks').select('id').orderBy('id').execute()).map(
          (r) => r.id,
        )
        const whole = await get<UpgradeCheckView>(`/api/upgrade-checks/${ids[0]}`)
        expect(whole).toMatchObject({ target: 'examples', from: 'v1.24', to: 'v1.25', checks: 2 })
        expect(whole.findings.total).toBe(first.report?.findings.length)
        expect(whole.findings.items.map(key).sort()).toEqual(first.report?.findings.map(key).sort())
        expect(whole.findings.items.find((f) => f.id === 'policy/v1beta1 PodDisruptionBudget')).toEqual(
          first.report?.findings.find((f) => f.id === 'policy/v1beta1 PodDisruptionBudget'),
        )
        expect(whole.podSecurityStandardChanges.map((c) => `${c.id} ${c.versions}`)).toEqual([
          'pss-capabilities-restricted v1.25',
          'pss-privilege-escalation v1.25',
          'pss-seccomp-restricted v1.25',
        ])
        // Grouped as the text report: breaks first, then Pod Security changes, then deprecations.
        const impacts = whole.findings.items.map((f) => f.impact)
        expect(impacts).toEqual([...impacts].sort((a, b) => order(a) - order(b)))

        const breaking = await get<UpgradeCheckView>(`/api/upgrade-checks/${ids[0]}?impact=breaks&area=api`)
        expect(breaking.findings.items.map((f) => `${f.id} -> ${f.replacement}`)).toEqual([
          'extensions/v1beta1 DaemonSet -> apps/v1 DaemonSet',
          'policy/v1beta1 PodDisruptionBudget -> policy/v1 PodDisruptionBudget',
        ])
        const paged = await get<UpgradeCheckView>(`/api/upgrade-checks/${ids[0]}?limit=1&offset=1`)
        expect(paged.findings).toMatchObject({ total: whole.findings.total, limit: 1, offset: 1 })
        expect(paged.findings.items).toEqual(whole.findings.items.slice(1, 2))

        await get('/api/upgrade-checks/99999', 404)
        await get('/api/upgrade-checks/1?impact=explodes', 400)
        expect((await app.inject({ url: '/api/upgrade-checks' })).statusCode).toBe(401)
      } finally {
        await app.close()
        await store.close()
      }
    }, 60_000)

  it('names a cluster check as watch names the cluster, with its version and the APIs it serves', async () => {
    const cp = await startControlPlane()
    try {
      const kubeconfig = cp.kubeconfig(join(tmp.dir, 'kubeconfig'))
      await create(cp, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'docs', namespace: 'default' },
        spec: {
          containers: [{ name: 'app', image: 'nginx' }],
          volumes: [{ name: 'src', gitRepo: { repository: 'https://example.com/docs.git' } }],
        },
      })
      const db = join(tmp.dir, 'cluster.db')
      expect((await check([], { cluster: true, kubeconfig, to: 'v1.33', store: db })).code).toBe(1)
      const context = (load(readFileSync(kubeconfig, 'utf8')) as { 'current-context': string })[
        'current-context'
      ]
      const store = await openStore(db)
      try {
        const [latest] = await listUpgradeChecks(store)
        expect(latest).toMatchObject({
          target: context,
          from: 'v1.32',
          fromSource: 'cluster',
          clusterVersion: VERSION_INFO.gitVersion,
          files: 0,
          counts: { breaks: 1 },
        })
        const whole = (await getUpgradeCheck(store, latest!.id))!
        expect(whole.findings.items).toEqual([
          expect.objectContaining({
            id: 'volume-git-repo',
            impact: 'breaks',
            version: 'v1.33',
            object: { apiVersion: 'v1', kind: 'Pod', name: 'docs', namespace: 'default' },
            path: 'spec.volumes[0].gitRepo',
          }),
        ])
        expect(whole.findings.items[0]!.file).toBeUndefined()
        expect(whole.servedAtRisk).toContainEqual({
          apiVersion: 'v1',
          kind: 'Endpoints',
          deprecatedIn: 'v1.33',
          replacement: 'discovery.k8s.io/v1 EndpointSlice',
        })
      } finally {
        await store.close()
      }
    } finally {
      await cp.stop()
    }
  })

  it('says what is wrong with --store and --target, with exit 2', async () => {
    expect((await check([cockroach], { to: 'v1.25', target: 'x' })).code).toBe(2)
    expect(stderr.join('')).toContain('--target names the check in the store: give --store too')
    stderr = []
    const blocked = tmp.file('not-a-dir', '')
    expect((await check([cockroach], { to: 'v1.25', store: join(blocked, 'store.db') })).code).toBe(2)
    expect(stderr.join('')).toMatch(/plimsoll upgrade-check: .*not-a-dir/)
  })
})

const order = (impact: string) => ['breaks', 'changes', 'deprecated'].indexOf(impact)
