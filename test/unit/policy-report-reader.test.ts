/**
 * `plimsoll watch --read-policy-reports` against the local control plane, with the real Kyverno
 * PolicyReports of the corpus (tool-reports/kyverno, read from PLIMSOLL_CORPUS) created in it as a
 * cluster holds them: their findings recorded as an import of '<cluster>/policy-report', the same ones
 * `plimsoll import` takes out of the same files; a report deleted and a result taken out resolved after
 * the debounce, an unchanged set recording nothing; Plimsoll's own reports (written by the same watcher
 * with --policy-reports) never read back; only v1beta1 served; the CRDs absent (said once, the watcher
 * goes on, reports read once they come, resolved once the CRDs are deleted); a 403 on the reports (said once, the watcher goes on, read once granted); and
 * `plimsoll watch --once --read-policy-reports`, `watch rbac --read-policy-reports` as a user runs them.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadAll } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiClient, loadKubeConfig } from '../../src/cluster/client.js'
import { discover } from '../../src/cluster/discovery.js'
import { selectKinds } from '../../src/cluster/kinds.js'
import {
  POLICY_REPORT_READ_RULE,
  type PolicyReportReaderOptions,
  policyReportTarget,
  readPolicyReports,
} from '../../src/cluster/policy-report-reader.js'
import { policyReports } from '../../src/cluster/policy-report-writer.js'
import { readRules } from '../../src/cluster/rbac.js'
import { type RunningWatcher, startWatcher } from '../../src/cluster/run.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { readReport } from '../../src/import/read.js'
import { importReport } from '../../src/import/record.js'
import { Engine, LATEST_VERSION } from '../../src/policy/engine.js'
import { loadLibrary } from '../../src/policy/library.js'
import { fingerprint } from '../../src/scan/baseline.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { runAsync } from '../helpers/cli.js'
import { corpusPath } from '../helpers/corpus.js'
import { create, deployment, kube, patch, remove } from '../helpers/kube.js'
import { policyReportCrds } from '../helpers/policy-report-crds.js'
import { serve, stopped } from '../helpers/serve.js'
import { until } from '../helpers/until.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-policy-report-reader-'))
const library = loadLibrary({})
const kyverno = corpusPath('tool-reports', 'kyverno')
const files = readdirSync(kyverno)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(kyverno, f))

type Obj = Record<string, unknown>

/**
 * The corpus's reports as objects to create: each one, or the items of a List, less what the API server
 * sets and refuses on a create (uid, resourceVersion, creationTimestamp, generation).
 */
function corpusReports(): Obj[] {
  return files
    .flatMap((file) => loadAll(readFileSync(file, 'utf8')) as Obj[])
    .flatMap((d) => (d.kind === 'List' ? (d.items as Obj[]) : [d]))
    .map((d) => {
      const { uid, resourceVersion, creationTimestamp, generation, ...metadata } = d.metadata as Obj
      return { ...d, metadata }
    })
}

const nameOf = (o: Obj) => (o.metadata as { name: string }).name
const namespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })

async function installCrds(cp: ControlPlane): Promise<void> {
  for (const crd of policyReportCrds()) await create(cp, crd)
  await until(
    'the PolicyReport kinds served',
    async () => (await kube(cp, 'GET', '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports')).status === 200,
  )
}

interface Session {
  running: RunningWatcher
  store: Store
  logs: string[]
  /** the import's target */
  target: string
}

const INTERVAL_MS = 500

async function watch(
  cp: ControlPlane,
  name: string,
  options: { user?: string; writeReports?: boolean; reader?: Partial<PolicyReportReaderOptions> } = {},
): Promise<Session> {
  const kubeconfig = cp.kubeconfig(
    join(tmp, `${name}.kubeconfig`),
    options.user ? { user: options.user } : undefined,
  )
  const client = new ApiClient(loadKubeConfig({ kubeconfig }))
  const store = await openStore(join(tmp, `${name}.db`))
  const logs: string[] = []
  const log = (line: string) => logs.push(line)
  const target = policyReportTarget(name)
  const running = startWatcher({
    client,
    library,
    version: LATEST_VERSION,
    target: name,
    fileRules: [],
    store,
    log,
    attach: [
      ...(options.writeReports ? [policyReports({ client, log, intervalMs: 200, settleMs: 20 })] : []),
      readPolicyReports({
        client,
        store,
        target,
        log,
        exceptions: async () => [],
        intervalMs: INTERVAL_MS,
        settleMs: 50,
        rediscoverMs: 300,
        reflector: { forbiddenRetryMs: 300 },
        ...options.reader,
      }),
    ],
  })
  await running.synced
  return { running, store, logs, target }
}

async function stop(s: Session | undefined): Promise<void> {
  if (!s) return
  await s.running.stop()
  await s.store.close()
}

/** The import's open findings, as `check kind namespace/name severity`. */
async function open(s: Session): Promise<string[]> {
  const rows = await s.store.db
    .selectFrom('findings')
    .select(['check_id', 'kind', 'namespace', 'resource_name', 'severity'])
    .where('target', '=', s.target)
    .where('state', '<>', 'resolved')
    .execute()
  return rows.map((r) => `${r.check_id} ${r.kind} ${r.namespace}/${r.resource_name} ${r.severity}`).sort()
}

async function runs(s: Session) {
  return s.store.db
    .selectFrom('runs')
    .select(['id', 'source', 'policy_version', 'started_at', 'complete'])
    .where('target', '=', s.target)
    .orderBy('id')
    .execute()
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const HOST_NAMESPACES =
  'kyverno:disallow-host-namespaces/host-namespaces Pod kube-system/kube-apiserver-kind-control-plane medium'
const VAP_REPLICAS =
  'validatingadmissionpolicy:check-deployment-replicas Deployment staging-ns/deployment-3 medium'
const CLI_REPLICAS = 'kyverno:check-deployment-replicas Deployment staging/nginx-1 medium'

describe('watch --read-policy-reports: the Kyverno reports of the corpus in a cluster', () => {
  let cp: ControlPlane
  let s: Session | undefined
  const reports = corpusReports()
  const report = (name: string) => reports.find((r) => nameOf(r).startsWith(name))!

  beforeAll(async () => {
    cp = await startControlPlane()
    await installCrds(cp)
    cp.load([namespace('staging-ns'), namespace('shop'), deployment('web', 'shop', true)])
    for (const r of reports) await create(cp, r)
    // The same watcher writes Plimsoll's own reports, which it must not read back as another tool's.
    s = await watch(cp, 'prod', { writeReports: true })
  }, 30_000)

  afterAll(async () => {
    await stop(s)
    await cp?.stop()
  })

  it("records their findings under '<cluster>/policy-report', as `plimsoll import` reads the same files", async () => {
    expect(reports).toHaveLength(4)
    const first = await until('the first record', async () => (await runs(s!))[0])
    expect(first.source).toBe('import')
    expect(first.policy_version).toBe('import:policy-report kyverno+validatingadmissionpolicy')
    expect(Number(first.complete)).toBe(1)
    // Passes are not findings: one fail in each report that has one (deployment-4's report passes).
    expect(await open(s!)).toEqual([HOST_NAMESPACES, CLI_REPLICAS, VAP_REPLICAS].sort())
    const rows = await s!.store.db
      .selectFrom('findings')
      .select(['fingerprint', 'message'])
      .where('target', '=', s!.target)
      .execute()
    const fromFiles = importReport(files.map((file) => ({ file, report: readReport(file, 'policy-report') })))
    expect(new Set(rows.map((r) => r.fingerprint))).toEqual(
      new Set(fromFiles.findings.map((f) => fingerprint(f))),
    )
    expect(rows.map((r) => r.message)).toContainEqual(
      expect.stringContaining('Sharing the host namespaces is disallowed'),
    )
    // The cluster's own findings stay under its own target, a scan of Plimsoll's.
    const own = await s!.store.db
      .selectFrom('runs')
      .select('source')
      .where('target', '=', 'prod')
      .executeTakeFirstOrThrow()
    expect(own.source).toBe('cluster')
    expect(s!.logs).toContainEqual(
      expect.stringMatching(
        /^PolicyReports: 4 reports of other tools recorded as run \d+ of 'prod\/policy-report': 3 open, 3 new/,
      ),
    )
  })

  it("resolves a deleted report's findings after the debounce, and never reads Plimsoll's own back", async () => {
    // Plimsoll's report of shop is in the cluster before the deletion, in the same watch stream.
    await until('Plimsoll wrote its report of shop', async () => {
      const answer = await kube(
        cp,
        'GET',
        '/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports/plimsoll',
      )
      return answer.status === 200
    })
    const before = await runs(s!)
    await remove(cp, report('0b2d730e'))
    await until('the deleted report resolved', async () => !(await open(s!)).includes(VAP_REPLICAS))
    expect(await open(s!)).toEqual([HOST_NAMESPACES, CLI_REPLICAS].sort())
    const after = await runs(s!)
    expect(after).toHaveLength(before.length + 1)
    // At most one record per interval.
    const at = after.map((r) => Date.parse(r.started_at))
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(INTERVAL_MS - 5)
    const ours = await s!.store.db
      .selectFrom('findings')
      .select('check_id')
      .where('target', '=', s!.target)
      .where('check_id', 'like', 'plimsoll:%')
      .execute()
    expect(ours).toEqual([])
    const resolved = await s!.store.db
      .selectFrom('findings')
      .select(['check_id', 'resolved_at'])
      .where('target', '=', s!.target)
      .where('state', '=', 'resolved')
      .execute()
    expect(resolved.map((r) => r.check_id)).toEqual(['validatingadmissionpolicy:check-deployment-replicas'])
  })

  it('resolves a result taken out of a report; a report rewritten the same records nothing', async () => {
    const pod = report('487df031')
    const passing = (pod.results as Obj[]).filter((r) => r.result === 'pass')
    const count = (await runs(s!)).length
    // Kyverno rewriting a report without a change of results (a label, a new timestamp): nothing new.
    await patch(cp, pod, { metadata: { labels: { rescanned: 'yes' } } })
    await sleep(INTERVAL_MS + 300)
    expect(await runs(s!)).toHaveLength(count)
    await patch(cp, pod, { results: passing, summary: { pass: 1, fail: 0 } })
    await until('the failing result resolved', async () => !(await open(s!)).includes(HOST_NAMESPACES))
    expect(await open(s!)).toEqual([CLI_REPLICAS])
    expect(await runs(s!)).toHaveLength(count + 1)
  })
})

describe('watch --read-policy-reports when the cluster serves wgpolicyk8s.io/v1beta1 only', () => {
  it('reads the same reports through v1beta1, recording nothing new for the change of version', async () => {
    const cp = await startControlPlane()
    let s: Session | undefined
    try {
      // Both versions served, as the CRDs Kyverno's chart installs; the reports stored as v1alpha2.
      const crds = policyReportCrds().map((crd) => {
        const v1alpha2 = crd.spec.versions[0]!
        return {
          ...crd,
          spec: { ...crd.spec, versions: [v1alpha2, { ...v1alpha2, name: 'v1beta1', storage: false }] },
        }
      })
      for (const crd of crds) await create(cp, crd)
      await until(
        'the PolicyReport kinds served',
        async () =>
          (await kube(cp, 'GET', '/apis/wgpolicyk8s.io/v1beta1/clusterpolicyreports')).status === 200,
      )
      cp.load([namespace('staging-ns')])
      for (const r of corpusReports()) await create(cp, r)
      s = await watch(cp, 'beta')
      await until('the first record', async () => (await open(s!)).length === 3)
      const lists: string[] = []
      cp.hooks.push({
        onRequest(req) {
          if (req.method === 'GET' && req.url.startsWith('/apis/wgpolicyk8s.io/v1'))
            lists.push(req.url.split('?')[0]!)
          return undefined
        },
      })
      // v1alpha2 no longer served: the reader moves to v1beta1.
      for (const crd of crds)
        await patch(cp, crd, {
          spec: { versions: [{ ...crd.spec.versions[0]!, served: false }, crd.spec.versions[1]!] },
        })
      await until('both kinds read through v1beta1', () =>
        ['policyreports', 'clusterpolicyreports'].every((r) =>
          lists.includes(`/apis/wgpolicyk8s.io/v1beta1/${r}`),
        ),
      )
      await sleep(INTERVAL_MS + 300)
      expect(await runs(s)).toHaveLength(1)
      expect(await open(s)).toEqual([HOST_NAMESPACES, CLI_REPLICAS, VAP_REPLICAS].sort())
      // Watched through v1beta1: a deletion there resolves.
      expect(
        (await kube(cp, 'DELETE', '/apis/wgpolicyk8s.io/v1beta1/clusterpolicyreports/merged')).status,
      ).toBe(200)
      await until('the deleted report resolved', async () => !(await open(s!)).includes(CLI_REPLICAS))
      expect(await runs(s)).toHaveLength(2)
    } finally {
      await stop(s)
      await cp.stop()
    }
  })
})

describe('watch --read-policy-reports when the cluster cannot give them', () => {
  it('says once that the CRDs are absent, watches the rest, reads the reports once they come, resolves them once gone', async () => {
    const cp = await startControlPlane()
    let s: Session | undefined
    try {
      cp.load([namespace('shop'), deployment('web', 'shop', true)])
      s = await watch(cp, 'no-crds')
      expect(s.running.watcher.refusedKinds()).toEqual([])
      expect(s.running.state.totals.findings).toBeGreaterThan(0)
      await sleep(700) // looked again, not said again
      const absent = s.logs.filter((l) => l.includes('does not serve wgpolicyk8s.io'))
      expect(absent).toHaveLength(1)
      expect(await runs(s)).toEqual([])

      await installCrds(cp)
      await create(cp, corpusReports().find((r) => r.kind === 'ClusterPolicyReport')!)
      await until('the report read once served', async () => (await open(s!)).length > 0)
      expect(await open(s)).toEqual([CLI_REPLICAS])
      expect(s.logs).toContain('PolicyReports: wgpolicyk8s.io is served now; reading it')
      // The CRDs deleted, their reports with them: what they held is resolved.
      for (const crd of policyReportCrds()) await remove(cp, crd)
      await until('the reports resolved with their CRDs', async () => (await open(s!)).length === 0)
      expect(s.running.watcher.refusedKinds()).toEqual([])
    } finally {
      await stop(s)
      await cp.stop()
    }
  })

  it('says a 403 once, keeps watching, and reads the reports once granted', async () => {
    const cp = await startControlPlane()
    let s: Session | undefined
    try {
      await installCrds(cp)
      cp.load([namespace('staging-ns'), namespace('shop'), deployment('web', 'shop', true)])
      for (const r of corpusReports()) await create(cp, r)
      // The watcher's least-privilege role, as `watch rbac` makes it: the reports left out.
      const admin = new ApiClient(
        loadKubeConfig({ kubeconfig: cp.kubeconfig(join(tmp, 'admin.kubeconfig')) }),
      )
      const engine = new Engine(
        library.checks,
        library.podTemplates,
        { version: LATEST_VERSION },
        library.foreign,
      )
      const rules = readRules(selectKinds(engine, (await discover(admin)).resources).map((k) => k.resource))
      const role = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'plimsoll-watcher' },
        rules,
      }
      await create(cp, role)
      await create(cp, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'plimsoll-watcher' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'plimsoll-watcher' },
        subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'watchers' }],
      })
      cp.user('watcher', { groups: ['watchers'] })
      s = await watch(cp, 'denied', { user: 'watcher' })
      // The watcher itself is whole: every kind it reads is listed, its findings recorded.
      expect(s.running.watcher.refusedKinds()).toEqual([])
      const own = await s.store.db
        .selectFrom('findings')
        .select('check_id')
        .where('target', '=', 'denied')
        .where('check_id', '=', 'pss-privileged')
        .execute()
      expect(own).toHaveLength(1)
      await until('both refusals said', () => s!.logs.filter((l) => l.includes('cannot read')).length === 2)
      await sleep(700) // tried again, not said again
      const refusals = s.logs.filter((l) => l.startsWith('PolicyReports: cannot read'))
      expect(refusals).toHaveLength(2)
      expect(refusals.join('\n')).toMatch(
        /cannot read PolicyReports \(wgpolicyk8s.io\): policyreports.wgpolicyk8s.io is forbidden: User "watcher" cannot list resource "policyreports"/,
      )
      expect(refusals[0]).toContain('plimsoll watch rbac --read-policy-reports')
      expect(await runs(s)).toEqual([])

      // PolicyReports granted, ClusterPolicyReports not yet: what is read is recorded, as incomplete.
      await patch(cp, role, {
        rules: [...rules, { ...POLICY_REPORT_READ_RULE, resources: ['policyreports'] }],
      })
      await until('the PolicyReports read', async () => (await runs(s!)).length === 1)
      expect(Number((await runs(s))[0]!.complete)).toBe(0)
      expect(await open(s)).toEqual([HOST_NAMESPACES, VAP_REPLICAS].sort())
      expect(s.logs).toContainEqual(
        expect.stringContaining('(incomplete: ClusterPolicyReport refused, nothing resolved)'),
      )
      await patch(cp, role, { rules: [...rules, POLICY_REPORT_READ_RULE] })
      await until('the reports read once granted', async () => (await open(s!)).length === 3)
      expect(await open(s)).toEqual([HOST_NAMESPACES, CLI_REPLICAS, VAP_REPLICAS].sort())
      expect(Number((await runs(s)).at(-1)!.complete)).toBe(1)
    } finally {
      await stop(s)
      await cp.stop()
    }
  })
})

describe('plimsoll watch --read-policy-reports from the command line', () => {
  it('--once records the reports before it exits; watch rbac grants what it reads', async () => {
    const cp = await startControlPlane()
    try {
      await installCrds(cp)
      cp.load([namespace('staging-ns')])
      for (const r of corpusReports()) await create(cp, r)
      const kubeconfig = cp.kubeconfig(join(tmp, 'cli.kubeconfig'))
      const db = join(tmp, 'cli.db')
      const [watched, rbac, refused] = await Promise.all([
        runAsync([
          'watch',
          '--once',
          '--read-policy-reports',
          '--kubeconfig',
          kubeconfig,
          '--cluster-name',
          'lab',
          '--store',
          db,
        ]),
        runAsync(['watch', 'rbac', '--read-policy-reports', '--kubeconfig', kubeconfig]),
        runAsync(['watch', '--read-policy-reports', '--no-store', '--kubeconfig', kubeconfig]),
      ])
      expect(watched.stderr).toMatch(/recorded as run \d+ of 'lab\/policy-report': 3 open, 3 new/)
      expect(watched.code).toBe(0)
      const store = await openStore(db)
      try {
        const rows = await store.db
          .selectFrom('findings')
          .select('check_id')
          .where('target', '=', 'lab/policy-report')
          .where('state', '=', 'open')
          .execute()
        expect(rows.map((r) => r.check_id).sort()).toEqual([
          'kyverno:check-deployment-replicas',
          'kyverno:disallow-host-namespaces/host-namespaces',
          'validatingadmissionpolicy:check-deployment-replicas',
        ])
      } finally {
        await store.close()
      }
      expect(rbac.code).toBe(0)
      const role = (loadAll(rbac.stdout) as Obj[]).find((d) => d.kind === 'ClusterRole')!
      expect(role.rules).toContainEqual(POLICY_REPORT_READ_RULE)
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain('--read-policy-reports records in the store')
    } finally {
      await cp.stop()
    }
  })
  it('serve --cluster --read-policy-reports keeps them in the store it serves', async () => {
    const cp = await startControlPlane()
    try {
      await installCrds(cp)
      cp.load([namespace('staging-ns')])
      for (const r of corpusReports()) await create(cp, r)
      const db = join(tmp, 'serve.db')
      const served = await serve([
        '--db',
        db,
        '--cluster',
        '--kubeconfig',
        cp.kubeconfig(join(tmp, 'serve.kubeconfig')),
        '--cluster-name',
        'lab',
        '--read-policy-reports',
        '--read-policy-report-interval',
        '1',
      ])
      try {
        const store = await openStore(db)
        try {
          const open = () =>
            store.db
              .selectFrom('findings')
              .select('check_id')
              .where('target', '=', 'lab/policy-report')
              .where('state', '=', 'open')
              .execute()
          await until('the served store holds the 3 results', async () => (await open()).length === 3)
        } finally {
          await store.close()
        }
      } finally {
        expect(await stopped(served.child)).toBe(0)
      }
    } finally {
      await cp.stop()
    }
  })
})
