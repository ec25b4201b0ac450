/**
 * `plimsoll usage` end to end: the built CLI (bin/plimsoll.js over dist) against a real Prometheus
 * (Debian's 2.42) with 15 days of backfilled cAdvisor and kube-state-metrics history whose percentiles
 * are known (test/helpers/usage-cluster.ts): the table shows the known truths and KRR's
 * recommendations from them, the JSON parses and has them, the CSV has the table's columns, and the
 * patches it writes are applied by kubectl to a real Deployment manifest. Then what goes wrong: a
 * Prometheus that is down, credentials refused, a Prometheus without cAdvisor series (exit 2, said
 * clearly), one whose batch queries all time out (exit 2, --timeout named), one without kube-state-metrics
 * (partial: printed with its gaps, a warning, exit 0), and a --prices file with a mistake (its file:line).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { openStore } from '../../src/store/connect.js'
import { latestContainers, latestUsageSnapshots } from '../../src/store/usage.js'
import { CSV_COLUMNS } from '../../src/usage/output/csv.js'
import type { UsageJson } from '../../src/usage/output/json.js'
import { runAsync as run } from '../helpers/cli.js'
import { delayingHttpProxy } from '../helpers/delaying-proxy.js'
import { type Cleanups, type RunningPrometheus, startBackfilledPrometheus } from '../helpers/prometheus.js'
import { freePort } from '../helpers/tcp-proxy.js'
import {
  API_REPLICASET,
  apiPod,
  type ClusterSpec,
  CPU_TRUTH,
  clusterSeries,
  DAY,
  HOUR,
  MEMORY_TRUTH,
  NODE_A,
  workerPod,
} from '../helpers/usage-cluster.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
/** The history: 15 days to a UTC midnight; the window: its last 14 days (whole days: the truths hold). */
const END = Math.floor(Date.now() / DAY) * DAY - DAY
const START = END - 15 * DAY
const END_ISO = new Date(END).toISOString()
/** The worker is OOM-killed 10 days in. */
const OOM_AT = START + 10 * DAY + 3 * HOUR

const api = apiPod({
  start: START - 3 * DAY,
  requests: { cpu: 1, memory: GiB },
  limits: { cpu: 2, memory: GiB },
})
const worker = workerPod(START + 2 * DAY, OOM_AT)
const CLUSTER: ClusterSpec = {
  start: START,
  end: END,
  nodes: [NODE_A],
  namespaces: [{ name: 'shop', labels: { team: 'storefront' } }],
  replicaSets: [API_REPLICASET],
  pods: [api, worker],
}

/** bcrypt (cost 10) of "correct horse" (as in usage-prometheus-client.test.ts). */
const BCRYPT_CORRECT_HORSE = '$2b$10$f4LxXakawBAXvbkEdzSWGev/rf3qacN.xDOrDSXDzjLVJJxiMqeAy'

let dir: string
let prometheus: RunningPrometheus
const cleanups: Cleanups = []

async function startWith(spec: ClusterSpec, name: string, webConfig?: string): Promise<RunningPrometheus> {
  const { prometheus: p } = await startBackfilledPrometheus(clusterSeries(spec), cleanups, {
    dir: join(dir, name),
    ...(webConfig ? { webConfig } : {}),
  })
  return p
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-cli-usage-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  prometheus = await startWith(CLUSTER, 'main')
}, 300_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

/** The CLI in its own process, asynchronously: a user's run. */

/** Each run collects up to 14 days from a real Prometheus: seconds each, more on a loaded machine. */
const SLOW = { timeout: 180_000 }

const usage = (...more: string[]) =>
  run(['usage', '--prometheus', prometheus.url, '--cluster-name', 'prod', '--end', END_ISO, ...more])

describe('plimsoll usage over a real Prometheus', SLOW, () => {
  test('the table: the known truths, KRR simple from them, costs, totals and the nodes', async () => {
    const r = await usage()
    expect(r.stderr).not.toMatch(/warning/)
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe(
      `Cluster prod: 2 containers, 1 node, 14 days from ${new Date(END - 14 * DAY).toISOString()} to ${END_ISO}; strategy simple`,
    )
    // api: CPU p95 500m and max 1600m, memory p95 256Mi and max 340Mi (CPU_TRUTH, MEMORY_TRUTH); KRR
    // simple: CPU request at p95 (500m), no CPU limit, memory = limit = 340Mi x 1.15 = 391Mi.
    expect(CPU_TRUTH).toMatchObject({ p95: 0.5, max: 1.6 })
    expect(MEMORY_TRUTH).toMatchObject({ p95: 256 * MiB, max: 340 * MiB })
    const apiRow = lines.find((l) => l.startsWith('shop ') && l.includes('Deployment/api'))
    expect(apiRow).toMatch(
      /^shop +Deployment\/api +api +1000m -> 500m +2000m -> none +1Gi -> 391Mi +1Gi -> 391Mi +500m\/1600m +256Mi\/340Mi +0 +high +\$[\d.]+ +\$[\d.]+$/,
    )
    // worker: OOM-killed at its 320Mi limit: memory 320Mi x 1.25 = 400Mi; CPU at its p95, 250m.
    const workerRow = lines.find((l) => l.includes('StatefulSet/worker'))
    expect(workerRow).toMatch(
      /^shop +StatefulSet\/worker +worker +200m -> 250m +- +256Mi -> 400Mi +320Mi -> 400Mi +250m\/800m +\S+\/320Mi +1 +high /,
    )
    expect(r.stdout).toMatch(/^shop +2 +\$[\d.]+ +\$[\d.]+ +\$[\d.]+ +\$[\d.]+$/m)
    expect(r.stdout).toMatch(/^storefront +2 /m)
    expect(r.stdout).toMatch(
      /^node-a +m5\.xlarge +3920m +1200m \(31%\) +\S+ \(\d+%\) +15Gi +\S+ \(\d+%\) +\S+ \(\d+%\)$/m,
    )
    expect(r.stdout).toMatch(/^Idle capacity: CPU 2720m not requested \(69%\)/m)
    expect(r.stdout).toMatch(/^Cost per month \(USD, OpenCost's model, 730 hours\): nodes \$/m)
    expect(r.stdout).not.toMatch(/PARTIAL/)
    expect(r.stderr).toMatch(
      new RegExp(
        `^plimsoll usage: 2 containers of 2 workloads, 1 node from ${prometheus.url} in [\\d.]+ s \\(\\d+ queries, [\\d.]+ MB\\)\\n$`,
      ),
    )
  })

  test('JSON: the whole report, with the recommendations, costs and waste', async () => {
    const r = await usage('--format', 'json')
    expect(r.code).toBe(0)
    const json = JSON.parse(r.stdout) as UsageJson
    expect(json).toMatchObject({
      version: 1,
      cluster: 'prod',
      to: END_ISO,
      windowHours: 336,
      strategy: 'simple',
      partial: false,
      gaps: [],
    })
    expect(json.queries.count).toBeGreaterThan(0)
    const apiC = json.containers.find((x) => x.container === 'api')!
    expect(apiC.workload).toEqual({ cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'api' })
    expect(apiC.usage.team).toBe('storefront')
    expect(apiC.usage.cpu.usage?.p95).toBeCloseTo(CPU_TRUTH.p95, 9)
    expect(apiC.usage.memory.usage?.max).toBe(MEMORY_TRUTH.max)
    expect(apiC.recommendation).toMatchObject({
      strategy: 'simple',
      confidence: 'high',
      cpu: { request: 0.5 },
      memory: { request: 391 * MiB, limit: 391 * MiB },
    })
    expect(apiC.recommendation.cpu.limit).toBeUndefined()
    expect(apiC.cost.cpu).toMatchObject({ request: 1, charged: 'request' })
    expect(apiC.waste?.savingsMonthly.total).toBeGreaterThan(0)
    const workerC = json.containers.find((x) => x.container === 'worker')!
    expect(workerC.usage.oomKills).toHaveLength(1)
    expect(workerC.recommendation.memory.request).toBe(400 * MiB)
    expect(json.nodes.map((n) => n.name)).toEqual(['node-a'])
    expect(json.totals.teams.map((t) => t.team)).toEqual(['storefront'])
  })

  test('JSON with the vpa strategy, to a file', async () => {
    const out = join(dir, 'out', 'vpa.json')
    const r = await usage('--strategy', 'vpa', '-f', 'json', '-o', out)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    const json = JSON.parse(readFileSync(out, 'utf8')) as UsageJson
    expect(json.strategy).toBe('vpa')
    const apiC = json.containers.find((x) => x.container === 'api')!
    expect(apiC.recommendation.strategy).toBe('vpa')
    // never below what it used: the p95 CPU, the largest working set
    expect(apiC.recommendation.cpu.request).toBeGreaterThanOrEqual(CPU_TRUTH.p95)
    expect(apiC.recommendation.memory.request).toBeGreaterThanOrEqual(MEMORY_TRUTH.max)
    expect(apiC.recommendation.cpu.reasons.join(' ')).toMatch(/bounds: /)
  })

  test('--store: the report recorded as a snapshot, its recommendations read back as the dashboard reads them', async () => {
    const db = join(dir, 'usage.db')
    const r = await usage('--store', db, '-f', 'json', '-o', join(dir, 'out', 'stored.json'))
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/recorded as snapshot 1 in /)
    const store = await openStore(db)
    try {
      const [snapshot] = await latestUsageSnapshots(store, { cluster: 'prod' })
      expect(snapshot).toMatchObject({ id: 1, cluster: 'prod', strategy: 'simple' })
      const api = (await latestContainers(store, { cluster: 'prod', limit: 100 })).items.find(
        (c) => c.container === 'api',
      )!
      expect(api.cpu.recommended).toMatchObject({ request: 0.5, limit: null })
      expect(api.memory.recommended).toMatchObject({ request: 391 * MiB, limit: 391 * MiB })
    } finally {
      await store.close()
    }
    const bad = await usage('--store', join(db, 'inside-a-file.db'))
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--store: /)
  })

  test('CSV: one row per container, the columns of the table', async () => {
    const r = await usage('--format', 'csv', '-n', 'shop')
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split('\r\n')
    const header = lines[0]!.split(',')
    expect(header).toEqual([...CSV_COLUMNS])
    expect(lines).toHaveLength(3)
    const row = Object.fromEntries(lines[1]!.split(',').map((v, i) => [header[i], v]))
    expect(row).toMatchObject({
      cluster: 'prod',
      namespace: 'shop',
      kind: 'Deployment',
      workload: 'api',
      container: 'api',
      team: 'storefront',
      cpu_request_cores: '1',
      cpu_request_recommended_cores: '0.5',
      cpu_limit_cores: '2',
      cpu_limit_recommended_cores: '',
      memory_request_recommended_bytes: String(391 * MiB),
      memory_max_bytes: String(MEMORY_TRUTH.max),
      confidence: 'high',
      currency: 'USD',
    })
    expect(Number(row.cpu_p95_cores)).toBeCloseTo(CPU_TRUTH.p95, 9)
    expect(row.cost_monthly).toMatch(/^\d+(\.\d{1,2})?$/)
  })

  test('--patch: kubectl patches that kubectl applies to the real Deployment', async () => {
    const patches = join(dir, 'patches')
    const r = await usage('--patch', patches, '-f', 'json', '-o', join(dir, 'out', 'with-patch.json'))
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(
      /plimsoll usage: 2 workloads to patch, 2 containers, kubectl files in .*patches\n/,
    )
    expect(readdirSync(join(patches, 'shop')).sort()).toEqual([
      'deployment-api.yaml',
      'statefulset-worker.yaml',
    ])
    expect(readFileSync(join(patches, 'apply.sh'), 'utf8')).toContain(
      'kubectl patch deployment api -n shop --patch-file shop/deployment-api.yaml\n',
    )
    const manifest = join(dir, 'api.yaml')
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'api', namespace: 'shop' },
        spec: {
          selector: { matchLabels: { app: 'api' } },
          template: {
            metadata: { labels: { app: 'api' } },
            spec: {
              containers: [
                {
                  name: 'api',
                  image: 'registry.example.com/shop/api:1.4.2',
                  resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } },
                },
              ],
            },
          },
        },
      }),
    )
    const applied = spawnSync(
      'kubectl',
      [
        'patch',
        '--local',
        '-f',
        manifest,
        '--patch-file',
        join(patches, 'shop', 'deployment-api.yaml'),
        '-o',
        'yaml',
      ],
      { encoding: 'utf8' },
    )
    expect(applied.stderr).toBe('')
    expect(applied.status).toBe(0)
    const patched = load(applied.stdout) as {
      spec: { template: { spec: { containers: Array<{ image: string; resources: unknown }> } } }
    }
    expect(patched.spec.template.spec.containers).toEqual([
      {
        name: 'api',
        image: 'registry.example.com/shop/api:1.4.2',
        resources: { requests: { cpu: '500m', memory: '391Mi' }, limits: { memory: '391Mi' } },
      },
    ])
    // At high confidence only, as a Kustomize Component.
    const component = join(dir, 'component')
    const k = await usage(
      '--patch',
      component,
      '--patch-format',
      'kustomize',
      '--min-confidence',
      'high',
      '-f',
      'csv',
    )
    expect(k.code).toBe(0)
    expect(load(readFileSync(join(component, 'kustomization.yaml'), 'utf8'))).toMatchObject({
      kind: 'Component',
      patches: [
        {
          path: 'patches/shop-deployment-api.yaml',
          target: { kind: 'Deployment', name: 'api', namespace: 'shop' },
        },
        { path: 'patches/shop-statefulset-worker.yaml' },
      ],
    })
  })
})

describe('what goes wrong, said clearly', SLOW, () => {
  test('a Prometheus that is down: exit 2, cannot reach it', async () => {
    const port = await freePort()
    const r = await run(['usage', '--prometheus', `http://127.0.0.1:${port}`, '--cluster-name', 'prod'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `plimsoll usage: cannot reach Prometheus at http://127.0.0.1:${port}: connection refused\n`,
    )
  })

  test('a --prices file with a mistake: its file and line, before any query', async () => {
    const prices = join(dir, 'prices.yaml')
    writeFileSync(prices, 'currency: EUR\ndefaults:\n  cpu: 0.03\n  ram: cheap\n')
    const port = await freePort()
    const r = await run([
      'usage',
      '--prometheus',
      `http://127.0.0.1:${port}`,
      '--cluster-name',
      'prod',
      '--prices',
      prices,
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      `plimsoll usage: --prices: ${prices}:4: defaults.ram: expected a price (a number >= 0, $ per hour), got "cheap"\n`,
    )
    // A good one prices the report.
    writeFileSync(prices, 'currency: EUR\ndefaults:\n  cpu: 0.05\n  ram: 0.005\n')
    const ok = await usage('--prices', prices, '-f', 'json')
    expect(ok.code).toBe(0)
    expect((JSON.parse(ok.stdout) as UsageJson).currency).toBe('EUR')
  })

  test('usage errors: a bad flag value, flags that go together', async () => {
    const bad = await run([
      'usage',
      '--prometheus',
      prometheus.url,
      '--cluster-name',
      'prod',
      '--strategy',
      'best',
    ])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(
      /option '--strategy <name>' argument 'best' is invalid\. expected one of: simple, vpa/,
    )
    const half = await run([
      'usage',
      '--prometheus',
      prometheus.url,
      '--cluster-name',
      'prod',
      '--client-cert',
      'c.pem',
    ])
    expect(half.code).toBe(2)
    expect(half.stderr).toBe('plimsoll usage: --client-cert and --client-key go together\n')
    const none = await run(['usage', '--cluster-name', 'prod'])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/required option '--prometheus <url>' not specified/)
  })

  test('no cAdvisor series: exit 2, saying what is missing', async () => {
    const noCadvisor = await startWith(
      { ...CLUSTER, start: END - 2 * DAY, pods: [{ ...api, start: END - 3 * DAY }], cadvisor: false },
      'no-cadvisor',
    )
    const r = await run([
      'usage',
      '--prometheus',
      noCadvisor.url,
      '--cluster-name',
      'prod',
      '--end',
      END_ISO,
      '--days',
      '1',
    ])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(
      new RegExp(
        `^plimsoll usage: Prometheus at ${noCadvisor.url} has no cAdvisor series from \\S+ to ${END_ISO} \\(container_cpu_usage_seconds_total, container_memory_working_set_bytes`,
      ),
    )
    expect(r.stderr).toMatch(/\n {2}cAdvisor: no container_memory_working_set_bytes series/)
  })

  test('every batch times out: exit 2, saying the cAdvisor series are there and the queries took longer than --timeout', async () => {
    // Only the batches' CPU rate query (a range query over every container of the batch) is held,
    // longer than --timeout: the inventory and the cluster-wide queries answer.
    const cpuRate = 'rate(container_cpu_usage_seconds_total{container!="", image!=""'
    const slow = await delayingHttpProxy(prometheus.port, cpuRate, 60_000)
    cleanups.push(() => slow.close())
    const url = `http://127.0.0.1:${slow.port}`
    const args = ['usage', '--prometheus', url, '--cluster-name', 'prod', '--end', END_ISO, '--days', '1']
    const timedOut = (scope: string, containers: string) =>
      `  batch: ${scope}: Prometheus at ${url} did not answer \`${cpuRate.replace(/[(){}[\]|]/g, '\\$&')}, namespace="shop"[^\n]*\` within 2s: the ${containers} of ${scope} ${containers.startsWith('1 ') ? 'is' : 'are'} left out of this report`
    const says = (batches: string, batchSize: string) =>
      `^plimsoll usage: Prometheus at ${url} has cAdvisor series, but the queries of ${batches} failed, so no usage could be read: a query took longer than --timeout 2 s; give a longer --timeout, or a smaller --batch-size \\(now ${batchSize} a batch\\) for lighter queries\n`

    const one = await run([...args, '--timeout', '2'])
    expect(one.code).toBe(2)
    expect(one.stdout).toBe('')
    expect(one.stderr).toMatch(
      new RegExp(
        `${says('the only batch', '1000 containers')}${timedOut('namespace shop', '2 containers')}\n$`,
      ),
    )
    expect(slow.delayed).toBe(1)

    // Each pod a batch: both fail.
    const two = await run([...args, '--timeout', '2', '--batch-size', '1'])
    expect(two.code).toBe(2)
    expect(two.stdout).toBe('')
    expect(two.stderr).toMatch(new RegExp(`${says('all 2 batches', '1 container')}(  batch: [^\n]+\n){2}$`))
    const lines = two.stderr.split('\n').slice(1, 3).sort()
    expect(lines[0]).toMatch(
      new RegExp(`^${timedOut(`1 pod of namespace shop \\(${api.name}\\)`, '1 container')}$`),
    )
    expect(lines[1]).toMatch(
      new RegExp(`^${timedOut(`1 pod of namespace shop \\(${worker.name}\\)`, '1 container')}$`),
    )
    expect(slow.delayed).toBe(3)
  })

  test('no kube-state-metrics: partial results, printed with their gaps, a warning, exit 0; credentials refused: exit 2', async () => {
    const partial = await startWith(
      {
        ...CLUSTER,
        start: END - 2 * DAY,
        pods: [{ ...api, start: END - 3 * DAY }],
        kubeStateMetrics: false,
      },
      'no-ksm',
      `basic_auth_users:\n  plimsoll: ${BCRYPT_CORRECT_HORSE}\n`,
    )
    const password = join(dir, 'password')
    writeFileSync(password, 'correct horse\n')
    const args = [
      'usage',
      '--prometheus',
      partial.url,
      '--cluster-name',
      'prod',
      '--end',
      END_ISO,
      '--days',
      '1',
    ]
    const r = await run([...args, '--basic-auth-user', 'plimsoll', '--basic-auth-password-file', password])
    expect(r.code).toBe(0)
    // Without kube-state-metrics: no owner (the pod stands for its workload), no request or limit now.
    expect(r.stdout).toMatch(
      /^shop +Pod\/api-7d9c8b7f5-q2x7z +api +none -> 500m +- +none -> 391Mi +none -> 391Mi +500m\/1600m +256Mi\/340Mi /m,
    )
    expect(r.stdout).toMatch(/^No nodes were read: no bin-packing view and no idle cost\.$/m)
    expect(r.stdout).toMatch(
      /PARTIAL: \d+ gaps? in what was read:\n {2}kube-state-metrics: no kube_pod_container_resource_requests series/,
    )
    expect(r.stderr).toMatch(
      /plimsoll usage: warning: partial results: \d+ gaps? in what was read; the figures that depend on them are missing:\n {2}kube-state-metrics: /,
    )
    const json = await run([
      ...args,
      '-f',
      'json',
      '--basic-auth-user',
      'plimsoll',
      '--basic-auth-password-file',
      password,
    ])
    expect(json.code).toBe(0)
    const parsed = JSON.parse(json.stdout) as UsageJson
    expect(parsed.partial).toBe(true)
    expect(parsed.gaps.map((g) => g.what)).toContain('kube-state-metrics')

    writeFileSync(password, 'battery staple\n')
    const refused = await run([
      ...args,
      '--basic-auth-user',
      'plimsoll',
      '--basic-auth-password-file',
      password,
    ])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(
      new RegExp(`^plimsoll usage: Prometheus at ${partial.url} refused the credentials \\(401\\)`),
    )
    const anonymous = await run(args)
    expect(anonymous.code).toBe(2)
    expect(anonymous.stderr).toMatch(/refused the credentials \(401\)/)
  })
})
