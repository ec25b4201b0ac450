/**
 * PolicyReports of `plimsoll watch --policy-reports`: the builder on synthetic findings (summary,
 * cap, severities, exceptions), the index that follows the watcher's changes, and the writer against
 * the local control plane (the CRDs installed as kubectl would): a report per namespace with failures
 * and a ClusterPolicyReport, updated as objects change, deleted when all is resolved, at most one write
 * per report per interval, the cap said in an annotation, an older CRD's severities, the CRDs absent
 * (said once, the watcher goes on, reports once they come), RBAC refused (said once) then granted by
 * `watch rbac --policy-reports`, and `watch --once --policy-reports` from the command line.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { loadAll } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiClient, loadKubeConfig } from '../../src/cluster/client.js'
import type { ObjectChange } from '../../src/cluster/live-state.js'
import { type PolicyReportOptions, policyReports } from '../../src/cluster/policy-report-writer.js'
import {
  buildPolicyReport,
  CAPPED_ANNOTATION,
  fitSeverity,
  type PolicyReportObject,
  type ReportEntry,
  ReportIndex,
} from '../../src/cluster/policy-reports.js'
import { POLICY_REPORT_RULE } from '../../src/cluster/rbac.js'
import { type RunningWatcher, startWatcher } from '../../src/cluster/run.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { SEVERITIES, type Severity } from '../../src/policy/check.js'
import { LATEST_VERSION } from '../../src/policy/engine.js'
import { loadLibrary } from '../../src/policy/library.js'
import { REPORT_SEVERITY } from '../../src/report/policy-report.js'
import type { Finding } from '../../src/scan/scan-file.js'
import { BIN } from '../helpers/cli.js'
import { create, deployment, kube, patch, remove } from '../helpers/kube.js'
import { policyReportCrds } from '../helpers/policy-report-crds.js'
import { until } from '../helpers/until.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-policy-reports-'))
const execFileAsync = promisify(execFile)
const library = loadLibrary({})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ------------------------------------------------------------------------------------------- builder

let seq = 0
function entry(over: Partial<ReportEntry> = {}): ReportEntry {
  seq++
  return {
    checkId: `check-${seq}`,
    severity: 'medium',
    category: 'security',
    status: 'fail',
    message: `finding ${seq}`,
    path: `spec.field${seq}`,
    since: 1_700_000_000 + seq,
    resource: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: `app-${seq}` },
    ...over,
  }
}

const options = { maxResults: 200 }

describe('buildPolicyReport', () => {
  it('summarises every result, lists the failing ones worst first, with the v1alpha2 fields', () => {
    const entries = [
      entry({ severity: 'low' }),
      entry({ severity: 'critical', container: 'app' }),
      entry({ severity: 'high', status: 'error' }),
      entry({ severity: 'medium' }),
    ]
    const report = buildPolicyReport('shop', entries, 7, options)!
    expect(report.kind).toBe('PolicyReport')
    expect(report.apiVersion).toBe('wgpolicyk8s.io/v1alpha2')
    expect(report.metadata).toEqual({
      name: 'plimsoll',
      namespace: 'shop',
      labels: { 'app.kubernetes.io/managed-by': 'plimsoll' },
    })
    expect(report.summary).toEqual({ pass: 7, fail: 3, warn: 0, error: 1, skip: 0 })
    expect(report.results.map((r) => r.severity)).toEqual(['critical', 'high', 'medium', 'low'])
    const critical = entries[1]!
    expect(report.results[0]).toEqual({
      source: 'plimsoll',
      policy: critical.checkId,
      rule: critical.checkId,
      result: 'fail',
      severity: 'critical',
      category: 'security',
      message: critical.message,
      scored: true,
      timestamp: { seconds: critical.since, nanos: 0 },
      resources: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: critical.resource.name, namespace: 'shop' },
      ],
      properties: { path: critical.path, container: 'app' },
    })
    expect(report.results[1]!.result).toBe('error')
    expect(report.metadata.annotations).toBeUndefined()
  })

  it('is the same report whatever order the findings come in', () => {
    const entries = Array.from({ length: 30 }, (_, i) =>
      entry({
        severity: SEVERITIES[i % SEVERITIES.length]!,
        resource: { ...entry().resource, name: `n${i % 4}` },
      }),
    )
    const a = JSON.stringify(buildPolicyReport('shop', entries, 0, options))
    const b = JSON.stringify(buildPolicyReport('shop', [...entries].reverse(), 0, options))
    expect(a).toBe(b)
  })

  it('caps the results, keeps the worst, counts them all and says so', () => {
    const entries = [
      ...Array.from({ length: 10 }, () => entry({ severity: 'info' })),
      ...Array.from({ length: 3 }, () => entry({ severity: 'high' })),
      ...Array.from({ length: 4 }, () =>
        entry({ severity: 'low', exception: { source: 'annotation', reason: 'ok' } }),
      ),
    ]
    const report = buildPolicyReport('shop', entries, 0, { maxResults: 5 })!
    expect(report.results).toHaveLength(5)
    expect(report.results.map((r) => r.severity)).toEqual(['high', 'high', 'high', 'info', 'info'])
    expect(report.summary).toEqual({ pass: 0, fail: 13, warn: 0, error: 0, skip: 4 })
    expect(report.metadata.annotations).toEqual({
      [CAPPED_ANNOTATION]: 'listed 5 of 17 results, failing and worst severity first',
    })
    // Exactly at the cap: nothing left out, nothing said.
    expect(buildPolicyReport('shop', entries, 0, { maxResults: 17 })!.metadata.annotations).toBeUndefined()
  })

  it('counts excepted findings as skip, not failures, and lists them after the failing ones', () => {
    const excepted = entry({
      severity: 'critical',
      exception: {
        source: 'file',
        file: 'debt.yaml',
        index: 2,
        owner: 'team-a',
        reason: 'legacy',
        expires: '2099-01-01',
      },
    })
    const failing = entry({ severity: 'low' })
    const report = buildPolicyReport('shop', [excepted, failing], 2, options)!
    expect(report.summary).toEqual({ pass: 2, fail: 1, warn: 0, error: 0, skip: 1 })
    expect(report.results.map((r) => [r.policy, r.result])).toEqual([
      [failing.checkId, 'fail'],
      [excepted.checkId, 'skip'],
    ])
    expect(report.results[1]!.properties).toEqual({
      path: excepted.path,
      exception: 'debt.yaml #3',
      reason: 'legacy',
      owner: 'team-a',
      expires: '2099-01-01',
    })
    // Nothing failing (only excepted findings, or none): no report at all.
    expect(buildPolicyReport('shop', [excepted], 5, options)).toBeUndefined()
    expect(buildPolicyReport('shop', [], 5, options)).toBeUndefined()
  })

  it("makes the ClusterPolicyReport of cluster-scoped objects (namespace '')", () => {
    const report = buildPolicyReport(
      '',
      [
        entry({
          resource: {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRole',
            namespace: '',
            name: 'all',
          },
        }),
      ],
      0,
      options,
    )!
    expect(report.kind).toBe('ClusterPolicyReport')
    expect(report.metadata.namespace).toBeUndefined()
    expect(report.results[0]!.resources).toEqual([
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'all' },
    ])
  })

  it("maps Plimsoll's severities onto the report's, and onto an older CRD's three", () => {
    for (const s of SEVERITIES) expect(REPORT_SEVERITY[s]).toBe(s)
    const old = new Set(['high', 'medium', 'low'])
    const fitted = Object.fromEntries(SEVERITIES.map((s) => [s, fitSeverity(s, old)]))
    expect(fitted).toEqual({ info: 'low', low: 'low', medium: 'medium', high: 'high', critical: 'high' })
    expect(fitSeverity('critical')).toBe('critical')
    const report = buildPolicyReport(
      'shop',
      [entry({ severity: 'critical' }), entry({ severity: 'info' })],
      0,
      {
        maxResults: 10,
        severities: old,
      },
    )!
    expect(report.results.map((r) => r.severity)).toEqual(['high', 'low'])
  })
})

// --------------------------------------------------------------------------------------------- index

function finding(checkId: string, over: Partial<Finding> = {}): Finding {
  return {
    checkId,
    title: checkId,
    severity: 'high' as Severity,
    category: 'security',
    status: 'fail',
    message: `${checkId} failed`,
    resource: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' },
    path: 'spec.template.spec.containers[0]',
    location: { file: 'cluster:test', line: 1, column: 1, documentIndex: 0 },
    ...over,
  }
}

function change(over: Partial<ObjectChange>): ObjectChange {
  return {
    key: 'apps/Deployment/shop/web',
    resource: { apiVersion: 'apps/v1', kind: 'Deployment', group: 'apps', namespace: 'shop', name: 'web' },
    opened: [],
    updated: [],
    resolved: [],
    gone: false,
    ...over,
  }
}

describe('ReportIndex', () => {
  it("follows the watcher's changes: opened, updated (first seen kept), resolved, gone", async () => {
    const { fingerprint } = await import('../../src/scan/baseline.js')
    const index = new ReportIndex()
    const a = finding('a')
    const b = finding('b')
    expect([...index.apply([change({ opened: [a, b] })], 1_000_000)]).toEqual(['shop'])
    expect([...index.entries('shop')].map((e) => [e.checkId, e.since])).toEqual([
      ['a', 1000],
      ['b', 1000],
    ])
    // An update (now excepted) keeps when it was first seen.
    index.apply(
      [change({ updated: [{ ...a, excepted: { source: 'annotation', reason: 'fine' } }] })],
      5_000_000,
    )
    const updated = [...index.entries('shop')].find((e) => e.checkId === 'a')!
    expect(updated.since).toBe(1000)
    expect(updated.exception).toEqual({ source: 'annotation', reason: 'fine' })
    const mark = (f: Finding) => ({
      fingerprint: fingerprint(f),
      checkId: f.checkId,
      severity: f.severity,
      message: f.message,
      path: f.path,
      excepted: false,
    })
    index.apply([change({ resolved: [mark(b)] })])
    expect([...index.entries('shop')].map((e) => e.checkId)).toEqual(['a'])
    // Another object elsewhere, then the first one gone.
    index.apply([
      change({
        key: 'core/ConfigMap/ops/c',
        resource: { apiVersion: 'v1', kind: 'ConfigMap', group: '', namespace: 'ops', name: 'c' },
        opened: [
          finding('c', { resource: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'ops' } }),
        ],
      }),
    ])
    expect(index.namespaces().sort()).toEqual(['ops', 'shop'])
    expect([...index.apply([change({ resolved: [mark(a)], gone: true })])]).toEqual(['shop'])
    expect(index.namespaces()).toEqual(['ops'])
    // A change that touches nothing the index holds says so.
    expect(index.apply([change({ resolved: [mark(a)] })]).size).toBe(0)
  })
})

// ------------------------------------------------------------------------------ against a cluster

const namespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })

async function installCrds(cp: ControlPlane, severities?: readonly string[]): Promise<void> {
  for (const crd of policyReportCrds(severities)) await create(cp, crd)
  await until(
    'the PolicyReport kinds served',
    async () => (await kube(cp, 'GET', '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports')).status === 200,
  )
}

const reportPath = (ns: string) =>
  ns
    ? `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${ns}/policyreports/plimsoll`
    : '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/plimsoll'

async function report(cp: ControlPlane, ns: string): Promise<PolicyReportObject | undefined> {
  const answer = await kube(cp, 'GET', reportPath(ns))
  if (answer.status === 404) return undefined
  expect(answer.status).toBe(200)
  return answer.body as unknown as PolicyReportObject
}

/** `check name` of each result, for asserting which findings a report lists. */
const listed = (r: PolicyReportObject | undefined) =>
  (r?.results ?? []).map((x) => `${x.policy} ${x.resources[0]?.name} ${x.result}`)

interface Session {
  running: RunningWatcher
  logs: string[]
}

async function watch(
  cp: ControlPlane,
  name: string,
  reports: Omit<PolicyReportOptions, 'client' | 'log'>,
  user?: string,
): Promise<Session> {
  const kubeconfig = cp.kubeconfig(join(tmp, `${name}.kubeconfig`), user ? { user } : undefined)
  const client = new ApiClient(loadKubeConfig({ kubeconfig }))
  const logs: string[] = []
  const log = (line: string) => logs.push(line)
  const running = startWatcher({
    client,
    library,
    version: LATEST_VERSION,
    target: name,
    fileRules: [],
    log,
    attach: [policyReports({ client, log, ...reports })],
  })
  await running.synced
  return { running, logs }
}

/** Counts the writes (apply, delete) of one report, with when they came. */
function countWrites(cp: ControlPlane, ns: string): number[] {
  const times: number[] = []
  const path = reportPath(ns)
  cp.hooks.push({
    onRequest(req) {
      if ((req.method === 'PATCH' || req.method === 'DELETE') && req.url.split('?')[0] === path)
        times.push(Date.now())
      return undefined
    },
  })
  return times
}

const INTERVAL_MS = 2000

describe('plimsoll watch --policy-reports against the local control plane', () => {
  let cp: ControlPlane
  let main: Session | undefined

  beforeAll(async () => {
    cp = await startControlPlane()
    await installCrds(cp)
    cp.load([
      namespace('shop'),
      namespace('quiet'),
      namespace('excused'),
      namespace('ops'),
      deployment('web', 'shop', true),
      deployment('agent', 'ops', false),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'orphan', namespace: 'ops' },
        spec: { selector: { app: 'gone' }, ports: [{ port: 80 }] },
      },
      deployment('api', 'shop', false),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'quiet' },
        data: { a: 'b' },
      },
      deployment('legacy', 'excused', true, {
        'plimsoll.dev/except.pss-privileged': 'vendor image, replaced in Q3',
      }),
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'everything' },
        rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
      },
    ])
    main = await watch(cp, 'main', { intervalMs: INTERVAL_MS, settleMs: 20, retryMs: 500 })
  }, 60_000)

  afterAll(async () => {
    await main?.running.stop()
    await cp?.stop()
  })

  it("writes each namespace's PolicyReport with its failing results after the first sync, by server-side apply", async () => {
    const shop = await until('the report of shop', () => report(cp, 'shop'))
    expect(shop.kind).toBe('PolicyReport')
    expect(shop.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'plimsoll' })
    expect(listed(shop)).toContain('pss-privileged web fail')
    expect(listed(shop)).not.toContain('pss-privileged api fail')
    const privileged = shop.results.find((r) => r.policy === 'pss-privileged')!
    expect(privileged).toMatchObject({
      source: 'plimsoll',
      rule: 'pss-privileged',
      severity: 'critical',
      category: 'security',
      scored: true,
      resources: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' }],
    })
    expect(Number.isInteger(privileged.timestamp.seconds)).toBe(true)
    // Worst first, and the summary counts what the watcher counts.
    const ranks = shop.results.map((r) => SEVERITIES.indexOf(r.severity as Severity))
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a))
    expect(shop.summary.fail).toBe(shop.results.filter((r) => r.result === 'fail').length)
    expect(shop.summary.pass).toBe(main!.running.state.passedIn('shop'))
    expect(shop.summary.pass).toBeGreaterThan(0)
    const managed = (shop.metadata as { managedFields?: { manager: string; operation: string }[] })
      .managedFields
    expect(managed?.map((m) => `${m.manager} ${m.operation}`)).toEqual(['plimsoll Apply'])
    // Nothing fails in quiet: no report there.
    expect(await report(cp, 'quiet')).toBeUndefined()
    expect(main!.logs.filter((l) => /^PolicyReports: wrote \d+ reports$/.test(l))).toHaveLength(1)
  })

  it("does not count its own reports as a namespace's custom resources (they make no pods)", async () => {
    // Cross-resource checks withdraw "selects nothing" where custom resources might make pods: a
    // report written into ops must not withdraw the finding it reports.
    const ops = await until('the report of ops', () => report(cp, 'ops'))
    expect(listed(ops)).toContain('service-selects-nothing orphan fail')
    await sleep(INTERVAL_MS + 500)
    expect(listed(await report(cp, 'ops'))).toContain('service-selects-nothing orphan fail')
    expect(main!.running.watcher.health().kinds.map((k) => k.kind)).not.toContain('PolicyReport')
  })

  it('keeps one ClusterPolicyReport for cluster-scoped objects', async () => {
    const cluster = await until('the ClusterPolicyReport', () => report(cp, ''))
    expect(cluster.kind).toBe('ClusterPolicyReport')
    expect(listed(cluster)).toContain('rbac-wildcard everything fail')
    expect(cluster.results.every((r) => r.resources[0]!.namespace === undefined)).toBe(true)
  })

  it('counts an excepted finding as skip, not as a failure', async () => {
    const excused = await until('the report of excused', () => report(cp, 'excused'))
    expect(listed(excused)).toContain('pss-privileged legacy skip')
    expect(listed(excused)).not.toContain('pss-privileged legacy fail')
    expect(excused.summary.skip).toBe(1)
    expect(excused.results.find((r) => r.result === 'skip')!.properties).toMatchObject({
      exception: 'annotation',
      reason: 'vendor image, replaced in Q3',
    })
  })

  it('updates the report when a bad Deployment comes and when it is fixed', async () => {
    const bad = deployment('intruder', 'shop', true)
    await create(cp, bad)
    await until('the intruder reported', async () =>
      listed(await report(cp, 'shop')).includes('pss-privileged intruder fail'),
    )
    await patch(cp, bad, {
      spec: {
        template: {
          spec: {
            containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged: false } }],
          },
        },
      },
    })
    const fixed = await until('the fix reported', async () => {
      const r = await report(cp, 'shop')
      return !listed(r).includes('pss-privileged intruder fail') && r
    })
    // Its other findings stay; the one fixed is gone.
    expect(listed(fixed).some((l) => l.includes(' intruder '))).toBe(true)
    expect(listed(fixed)).toContain('pss-privileged web fail')
  })

  it('deletes the report of a namespace whose findings are all resolved', async () => {
    await create(cp, namespace('temp'))
    const bad = deployment('temporary', 'temp', true)
    await create(cp, bad)
    await until('the report of temp', () => report(cp, 'temp'))
    await remove(cp, bad)
    await until('the report of temp deleted', async () => (await report(cp, 'temp')) === undefined)
  })

  it('writes a report at most once per interval: changes that come faster are gathered', async () => {
    await create(cp, namespace('burst'))
    const writes = countWrites(cp, 'burst')
    await create(cp, deployment('burst-0', 'burst', true))
    await until('the first write', () => writes.length === 1)
    // Five more changes right after it, well within the interval.
    for (let i = 1; i <= 5; i++) await create(cp, deployment(`burst-${i}`, 'burst', true))
    const all = await until('all six reported', async () => {
      const r = await report(cp, 'burst')
      return listed(r).filter((l) => l.startsWith('pss-privileged burst-')).length === 6 && r
    })
    expect(writes).toHaveLength(2)
    expect(writes[1]! - writes[0]!).toBeGreaterThanOrEqual(INTERVAL_MS - 50)
    expect(all.summary.fail).toBeGreaterThan(6)
    // Nothing changes any more: nothing more is written.
    await sleep(INTERVAL_MS + 500)
    expect(writes).toHaveLength(2)
  })
})

describe('PolicyReports and the cluster around them', () => {
  it('without the CRDs: says so once, watches on, and writes the reports once they are installed', async () => {
    const cp = await startControlPlane()
    let s: Session | undefined
    try {
      cp.load([namespace('shop'), deployment('web', 'shop', true)])
      s = await watch(cp, 'absent', { intervalMs: 500, settleMs: 20, retryMs: 200 })
      const before = s.running.state.totals.findings
      await create(cp, deployment('late', 'shop', true))
      await until('the watcher still at work', () => s!.running.state.totals.findings > before)
      await sleep(1000) // several looks for the CRDs
      const said = s.logs.filter((l) => l.startsWith('PolicyReports: the cluster does not serve'))
      expect(said).toEqual([
        'PolicyReports: the cluster does not serve PolicyReport nor ClusterPolicyReport (wgpolicyk8s.io/v1alpha2): ' +
          'no reports are written; install the CRDs with `kubectl create -f ' +
          'https://github.com/kubernetes-sigs/wg-policy-prototypes/raw/master/policy-report/crd/v1alpha2/wgpolicyk8s.io_policyreports.yaml ' +
          '-f https://github.com/kubernetes-sigs/wg-policy-prototypes/raw/master/policy-report/crd/v1alpha2/wgpolicyk8s.io_clusterpolicyreports.yaml` ' +
          '(looking again every 200 ms)',
      ])
      await installCrds(cp)
      const shop = await until('the report once the CRDs are there', () => report(cp, 'shop'))
      expect(listed(shop)).toEqual(
        expect.arrayContaining(['pss-privileged web fail', 'pss-privileged late fail']),
      )
      // said once both kinds are looked at: a namespace's report may be written before that
      const served = 'PolicyReports: wgpolicyk8s.io/v1alpha2 is served now; writing the reports'
      await until('the watcher to say the CRDs are served', () => s!.logs.includes(served))
    } finally {
      await s?.running.stop()
      await cp.stop()
    }
  })

  it('writes what an older CRD accepts: critical as high', async () => {
    const cp = await startControlPlane()
    let s: Session | undefined
    try {
      await installCrds(cp, ['high', 'low', 'medium'])
      cp.load([namespace('shop'), deployment('web', 'shop', true)])
      s = await watch(cp, 'old-crd', { intervalMs: 500, settleMs: 20 })
      const shop = await until('the report of shop', () => report(cp, 'shop'))
      expect(shop.results.find((r) => r.policy === 'pss-privileged')!.severity).toBe('high')
      expect(new Set(shop.results.map((r) => r.severity))).toEqual(new Set(['high', 'medium', 'low']))
      expect(s.logs.filter((l) => l.includes('refused'))).toEqual([])
    } finally {
      await s?.running.stop()
      await cp.stop()
    }
  })

  it('says once what RBAC it lacks, and writes with the role `watch rbac --policy-reports` prints', async () => {
    const cp = await startControlPlane()
    let s: Session | undefined
    try {
      await installCrds(cp)
      cp.load([namespace('shop'), deployment('web', 'shop', true)])
      const kubeconfig = cp.kubeconfig(join(tmp, 'rbac-admin.kubeconfig'))
      const roleOf = async (...flags: string[]) => {
        const { stdout } = await execFileAsync(process.execPath, [
          BIN,
          'watch',
          'rbac',
          '--kubeconfig',
          kubeconfig,
          ...flags,
        ])
        return (loadAll(stdout) as Record<string, unknown>[]).find((d) => d.kind === 'ClusterRole')!
      }
      const readOnly = await roleOf()
      const withReports = await roleOf('--policy-reports')
      expect(withReports.rules).toEqual([...(readOnly.rules as unknown[]), POLICY_REPORT_RULE])
      // The watcher's account, bound to the read-only role first.
      cp.user('reporter', { groups: ['reporters'] })
      await create(cp, { ...readOnly, metadata: { name: 'plimsoll-watcher' } })
      await create(cp, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'plimsoll-watcher' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'plimsoll-watcher' },
        subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'reporters' }],
      })
      s = await watch(cp, 'rbac', { intervalMs: 500, settleMs: 20, retryMs: 300, maxResults: 13 }, 'reporter')
      expect(s.running.watcher.refusedKinds()).toEqual([])
      await until('the refusal said', () => s!.logs.some((l) => l.startsWith('PolicyReports: not allowed')))
      await sleep(1000) // tried again, not said again
      const refusals = s.logs.filter((l) => l.startsWith('PolicyReports: not allowed'))
      expect(refusals).toHaveLength(1)
      expect(refusals[0]).toContain(
        'cannot list resource "policyreports" in API group "wgpolicyk8s.io" at the cluster scope',
      )
      expect(refusals[0]).toContain('plimsoll watch rbac --policy-reports')
      expect(await report(cp, 'shop')).toBeUndefined()

      await patch(cp, { ...readOnly, metadata: { name: 'plimsoll-watcher' } }, { rules: withReports.rules })
      const shop = await until('the report written once granted', () => report(cp, 'shop'))
      // 14 findings, 13 listed: the info one is left out, and the report says so.
      expect(shop.summary.fail).toBe(14)
      expect(shop.results).toHaveLength(13)
      expect(listed(shop)).not.toContain('priority-class-missing web fail')
      expect(shop.metadata.annotations?.[CAPPED_ANNOTATION]).toBe(
        'listed 13 of 14 results, failing and worst severity first',
      )
      // Fixed down to 13 (not privileged, NET_RAW dropped): all listed, and the annotation is gone
      // (server-side apply removes what the manager no longer applies).
      await patch(cp, deployment('web', 'shop', true), {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'nginx:1.27',
                  securityContext: { privileged: false, capabilities: { drop: ['NET_RAW'] } },
                },
              ],
            },
          },
        },
      })
      const uncapped = await until('the report without the cap', async () => {
        const r = await report(cp, 'shop')
        return r?.summary.fail === 13 && r
      })
      expect(uncapped.results).toHaveLength(13)
      expect(uncapped.metadata.annotations?.[CAPPED_ANNOTATION]).toBeUndefined()
    } finally {
      await s?.running.stop()
      await cp.stop()
    }
  })

  it('needs create as well as patch to make a report by server-side apply (as the API server does)', async () => {
    const cp = await startControlPlane()
    try {
      await installCrds(cp)
      cp.load([namespace('shop')])
      const patcher = cp.user('patcher', {
        rules: [{ apiGroups: ['wgpolicyk8s.io'], resources: ['policyreports'], verbs: ['patch'] }],
      })
      const body = {
        apiVersion: 'wgpolicyk8s.io/v1alpha2',
        kind: 'PolicyReport',
        metadata: { name: 'plimsoll', namespace: 'shop' },
        summary: { pass: 1, fail: 0, warn: 0, error: 0, skip: 0 },
      }
      const apply = (token: string) =>
        kube(cp, 'PATCH', `${reportPath('shop')}?fieldManager=plimsoll`, body, {
          token,
          contentType: 'application/apply-patch+yaml',
        })
      const refused = await apply(patcher.token)
      expect(refused.status).toBe(403)
      expect(refused.body).toMatchObject({
        reason: 'Forbidden',
        message: 'policyreports.wgpolicyk8s.io "plimsoll" is forbidden: ',
        details: { name: 'plimsoll', group: 'wgpolicyk8s.io', kind: 'policyreports' },
      })
      expect((await apply(cp.admin.token)).status).toBe(201)
      // Once it exists, patch alone updates it.
      expect((await apply(patcher.token)).status).toBe(200)
    } finally {
      await cp.stop()
    }
  })

  it('refuses a report its CRD does not allow, as the API server does (422 with every cause)', async () => {
    const cp = await startControlPlane()
    try {
      await installCrds(cp, ['high', 'low', 'medium'])
      cp.load([namespace('shop')])
      const answer = await kube(cp, 'POST', '/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports', {
        apiVersion: 'wgpolicyk8s.io/v1alpha2',
        kind: 'PolicyReport',
        metadata: { name: 'bad' },
        summary: { fail: 'one' },
        results: [
          { severity: 'critical', result: 'fail', properties: { line: 3 }, timestamp: { seconds: 1 } },
        ],
      })
      expect(answer.status).toBe(422)
      expect(answer.body.reason).toBe('Invalid')
      const causes = (answer.body.details as { causes: { reason: string; field: string; message: string }[] })
        .causes
      expect(causes).toEqual(
        expect.arrayContaining([
          {
            reason: 'FieldValueNotSupported',
            field: 'results[0].severity',
            message: 'Unsupported value: "critical": supported values: "high", "low", "medium"',
          },
          {
            reason: 'FieldValueTypeInvalid',
            field: 'results[0].properties.line',
            message: 'Invalid value: results[0].properties.line in body must be of type string: "integer"',
          },
          { reason: 'FieldValueRequired', field: 'results[0].timestamp.nanos', message: 'Required value' },
          { reason: 'FieldValueRequired', field: 'results[0].policy', message: 'Required value' },
          {
            reason: 'FieldValueTypeInvalid',
            field: 'summary.fail',
            message: 'Invalid value: summary.fail in body must be of type integer: "string"',
          },
        ]),
      )
      expect(causes).toHaveLength(5)
      expect(String(answer.body.message)).toMatch(/^PolicyReport\.wgpolicyk8s\.io "bad" is invalid: \[/)
    } finally {
      await cp.stop()
    }
  })

  it('plimsoll watch --once --policy-reports writes the reports before it exits, and removes stale ones', async () => {
    const cp = await startControlPlane()
    try {
      await installCrds(cp)
      cp.load([namespace('shop'), namespace('old'), deployment('web', 'shop', true)])
      // A report an earlier run left in a namespace where nothing fails any more.
      await kube(cp, 'POST', '/apis/wgpolicyk8s.io/v1alpha2/namespaces/old/policyreports', {
        apiVersion: 'wgpolicyk8s.io/v1alpha2',
        kind: 'PolicyReport',
        metadata: { name: 'plimsoll', labels: { 'app.kubernetes.io/managed-by': 'plimsoll' } },
        summary: { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 },
      })
      expect(await report(cp, 'old')).toBeDefined()
      const kubeconfig = cp.kubeconfig(join(tmp, 'once.kubeconfig'))
      const { stderr } = await execFileAsync(process.execPath, [
        BIN,
        'watch',
        '--once',
        '--no-store',
        '--policy-reports',
        '--kubeconfig',
        kubeconfig,
      ])
      expect(stderr).toMatch(/PolicyReports: wrote \d+ reports/)
      expect(listed(await report(cp, 'shop'))).toContain('pss-privileged web fail')
      expect(await report(cp, 'old')).toBeUndefined()
    } finally {
      await cp.stop()
    }
  })
})
