/**
 * Plimsoll's Prometheus client against a real Prometheus (Debian's 2.42) over 15 days of backfilled
 * cAdvisor and kube-state-metrics history (test/helpers/usage-cluster.ts) whose percentiles are known:
 * instant and range queries give the backfilled values; quantile_over_time over rate subqueries gives the
 * true percentiles; a bad query, a Prometheus that is down, one that is slow, credentials (bearer token
 * and tenant through a Mimir-like HTTPS proxy under /prometheus; basic auth, TLS and a client
 * certificate with Prometheus's own --web.config.file) and the bound on queries in flight.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { PrometheusClient } from '../../src/usage/prometheus/client.js'
import { writeCertificates } from '../../src/webhook/certificates.js'
import { delayingTcpProxy, listenLocal } from '../helpers/delaying-proxy.js'
import {
  type Cleanups,
  failure,
  type RunningPrometheus,
  startBackfilledPrometheus,
  startPrometheus,
} from '../helpers/prometheus.js'
import type { BackfillResult } from '../helpers/prometheus-backfill.js'
import { freePort } from '../helpers/tcp-proxy.js'
import {
  API_REPLICASET,
  apiPod,
  CPU_PROFILE,
  CPU_TRUTH,
  clusterSeries,
  DAY,
  HOUR,
  MEMORY_PROFILE,
  MEMORY_TRUTH,
  MINUTE,
  NODE_A,
  podUid,
  profileAt,
  promQuantile,
  SLOT_MS,
  subqueryPoints,
  workerPod,
} from '../helpers/usage-cluster.js'

const MiB = 1024 * 1024
/** The history: 15 days to a UTC midnight, so that a 14-day window at its end is full. */
const END = Math.floor(Date.now() / DAY) * DAY - DAY
const START = END - 15 * DAY
/** The worker's container is OOM-killed once, 10 days in. */
const OOM_AT = START + 10 * DAY + 3 * HOUR

const api = apiPod({ start: START - 3 * DAY })
const worker = workerPod(START + 2 * DAY, OOM_AT)

let history: BackfillResult
let prometheus: RunningPrometheus
const cleanups: Cleanups = []

beforeAll(async () => {
  const series = clusterSeries({
    start: START,
    end: END,
    nodes: [{ ...NODE_A, region: 'eu-west-1', providerId: 'aws:///eu-west-1a/i-0a1b2c3d4e5f60718' }],
    replicaSets: [API_REPLICASET],
    pods: [api, worker],
  })
  ;({ history, prometheus } = await startBackfilledPrometheus(series, cleanups, {
    prefix: 'plimsoll-usage-tsdb-',
  }))
  console.log(
    `backfill: ${history.series} series, ${history.samples} samples (${(history.bytes / MiB).toFixed(0)} MiB of OpenMetrics) written in ${history.writeSeconds.toFixed(1)} s, blocks made by ${history.promtools} promtools at once in ${history.promtoolSeconds.toFixed(1)} s; Prometheus ready in ${prometheus.startSeconds.toFixed(1)} s`,
  )
}, 300_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const client = (options: Partial<ConstructorParameters<typeof PrometheusClient>[0]> = {}) => {
  const c = new PrometheusClient({ url: prometheus.url, ...options })
  cleanups.push(() => c.close())
  return c
}

describe('queries over the backfilled history', () => {
  test('an instant query gives the backfilled values and labels exactly', async () => {
    const c = client()
    const at = END - 7 * DAY + 15 * HOUR + 2 * MINUTE
    const requests = await c.queryVector(
      'kube_pod_container_resource_requests{namespace="shop", container="api"}',
      at,
    )
    expect(requests.warnings).toEqual([])
    const byResource = Object.fromEntries(requests.data.map((s) => [s.labels.resource, s]))
    expect(byResource.cpu?.value).toBe(0.5)
    expect(byResource.memory?.value).toBe(512 * MiB)
    expect(byResource.memory?.time).toBe(at)
    expect(byResource.memory?.labels).toEqual({
      __name__: 'kube_pod_container_resource_requests',
      namespace: 'shop',
      pod: api.name,
      uid: podUid(api),
      container: 'api',
      node: 'node-a',
      resource: 'memory',
      unit: 'byte',
      job: 'kube-state-metrics',
      instance: '10.244.0.12:8080',
    })

    const memory = await c.queryVector('container_memory_working_set_bytes{container="api"}', at)
    expect(memory.data).toHaveLength(1)
    expect(memory.data[0]!.value).toBe(profileAt(MEMORY_PROFILE, at))
    expect(memory.data[0]!.labels).toMatchObject({
      image: api.containers[0]!.image,
      namespace: 'shop',
      pod: api.name,
    })

    // The OOM kill: a restart counted, the reason kept, and a new cAdvisor series for the new container.
    const after = OOM_AT + HOUR
    const oom = await c.queryVector(
      'kube_pod_container_status_last_terminated_reason{container="worker", reason="OOMKilled"} == 1',
      after,
    )
    expect(oom.data.map((s) => s.labels.pod)).toEqual(['worker-0'])
    const restarts = await c.queryVector(
      'kube_pod_container_status_restarts_total{container="worker"}',
      after,
    )
    expect(restarts.data.map((s) => s.value)).toEqual([1])
    const instances = await c.queryVector(
      'count(count_over_time(container_memory_working_set_bytes{container="worker"}[2h])) by (name)',
      after,
    )
    expect(instances.data).toHaveLength(2)
    // The killed container's working set reached its limit (320 MiB) before the kill; the new one's did not.
    const peaks = await c.queryVector(
      'max by (name) (max_over_time(container_memory_working_set_bytes{container="worker"}[14d]))',
      END,
    )
    expect(peaks.data.map((s) => s.value).sort((x, y) => x - y)).toEqual([MEMORY_TRUTH.max * 0.75, 320 * MiB])

    const started = await c.queryVector('kube_pod_start_time{namespace="shop"}', at)
    expect(Object.fromEntries(started.data.map((s) => [s.labels.pod, s.value]))).toEqual({
      [api.name]: api.start / 1000,
      [worker.name]: worker.start / 1000,
    })

    const scalar = await c.query('scalar(kube_node_status_allocatable{resource="cpu"})', at)
    expect(scalar.data).toEqual({ resultType: 'scalar', result: { time: at, value: 3.92 } })
    // Prometheus writes +Inf, -Inf and NaN as strings: numbers again here.
    const infinite = await c.query('vector(1/0) or label_replace(vector(-1/0), "sign", "-", "", "")', at)
    expect(infinite.data).toEqual({
      resultType: 'vector',
      result: [
        { labels: {}, time: at, value: Number.POSITIVE_INFINITY },
        { labels: { sign: '-' }, time: at, value: Number.NEGATIVE_INFINITY },
      ],
    })
    const nan = await c.query('scalar(vector(0/0))', at)
    expect(nan.data.resultType === 'scalar' && Number.isNaN(nan.data.result.value)).toBe(true)
    expect((await c.query('"a string"', at)).data).toEqual({
      resultType: 'string',
      result: { time: at, value: 'a string' },
    })
  })

  test('a range query gives every backfilled point, and rate() the usage profile exactly', async () => {
    const c = client()
    const start = END - 3 * DAY + 14 * HOUR
    const memory = await c.queryRange('container_memory_working_set_bytes{container="api"}', {
      start,
      end: start + 2 * HOUR,
      stepMs: MINUTE,
    })
    expect(memory.data).toHaveLength(1)
    const points = memory.data[0]!.points
    expect(points).toHaveLength(121)
    expect(points).toEqual(points.map(([t]) => [t, profileAt(MEMORY_PROFILE, t)]))
    expect(new Set(points.map(([, v]) => v)).size).toBeGreaterThan(1)

    const cpu = await c.queryRange('rate(container_cpu_usage_seconds_total{container="api"}[5m])', {
      start: END - DAY,
      end: END,
      stepMs: SLOT_MS,
    })
    expect(cpu.data).toHaveLength(1)
    expect(cpu.data[0]!.points).toHaveLength(289)
    for (const [t, v] of cpu.data[0]!.points) expect(v).toBeCloseTo(profileAt(CPU_PROFILE, t), 9)
    // Prometheus compresses what it sends (gzip): the client counts both.
    expect(c.stats.queries).toBe(2)
    expect(c.stats.bytesReceived).toBeLessThan(c.stats.bytesDecoded)

    // Throttling, where the container has a CPU limit (1 core): the generator throttles half the CFS
    // periods while usage is at 90% of it or more (the 1.6-core spike), none otherwise.
    const throttled = await c.queryRange(
      `rate(container_cpu_cfs_throttled_periods_total{container="api"}[5m])
         / rate(container_cpu_cfs_periods_total{container="api"}[5m])`,
      { start: END - DAY, end: END, stepMs: SLOT_MS },
    )
    const shares = throttled.data[0]!.points.map(([t, v]) => [profileAt(CPU_PROFILE, t), v] as const)
    expect(shares.filter(([cores]) => cores >= 0.9)).toHaveLength(2) // the spike, at both midnights
    for (const [cores, share] of shares) expect(share).toBe(cores >= 0.9 ? 0.5 : 0)
  })

  test('quantile_over_time over a 14-day rate subquery gives the true percentiles', async () => {
    const c = client()
    const cpu = (fn: string, q = '') =>
      `${fn}(${q}rate(container_cpu_usage_seconds_total{namespace="shop", container="api", image!=""}[5m])[14d:5m])`
    const points = subqueryPoints(CPU_PROFILE, END, 14 * DAY, START)
    expect(points).toHaveLength(14 * 288 + 1)
    for (const [q, truth] of [
      [0.5, CPU_TRUTH.p50],
      [0.9, CPU_TRUTH.p90],
      [0.95, CPU_TRUTH.p95],
      [0.99, CPU_TRUTH.p99],
    ] as const) {
      const answer = await c.queryVector(cpu('quantile_over_time', `${q}, `), END)
      expect(answer.data).toHaveLength(1)
      expect(answer.data[0]!.value).toBeCloseTo(truth, 9)
      expect(answer.data[0]!.value).toBeCloseTo(promQuantile(q, points), 9)
    }
    const max = await c.queryVector(cpu('max_over_time'), END)
    expect(max.data[0]!.value).toBeCloseTo(CPU_TRUTH.max, 9)

    // Memory over the raw samples (one a minute): the same plateaus, exactly.
    for (const [q, truth] of [
      [0.5, MEMORY_TRUTH.p50],
      [0.95, MEMORY_TRUTH.p95],
      [0.99, MEMORY_TRUTH.p99],
    ] as const) {
      const answer = await c.queryVector(
        `quantile_over_time(${q}, container_memory_working_set_bytes{container="api", image!=""}[14d])`,
        END,
      )
      expect(answer.data[0]!.value).toBe(truth)
    }
    const memMax = await c.queryVector(
      'max_over_time(container_memory_working_set_bytes{container="api"}[14d])',
      END,
    )
    expect(memMax.data[0]!.value).toBe(MEMORY_TRUTH.max)

    // The worker's history is 13 days (it started 2 days in) and two containers (the OOM kill): per
    // container name, the percentiles of its profile still.
    const workerP95 = await c.queryVector(
      'max by (namespace, pod, container) (quantile_over_time(0.95, rate(container_cpu_usage_seconds_total{container="worker"}[5m])[14d:5m]))',
      END,
    )
    expect(workerP95.data[0]!.value).toBeCloseTo(CPU_TRUTH.p95 * 0.5, 9)
  })

  test('a 1-minute subquery step mixes slots at their edges: percentiles inside a plateau stay exact', async () => {
    // rate(x[5m]) at a time off the 5-minute grid spans two slots, and gives a value between theirs:
    // 4 of every 5 points next to each of the 5 slot changes a day (20 of 1,440). The p50, p90 and p95
    // ranks lie farther than that from their plateau's edges, so they stay exact; p99 (0.8 for 7 slots,
    // next to the 1.6 spike) moves, but stays between its neighbours 0.5 and 1.6.
    const c = client()
    const q = (p: number) =>
      `quantile_over_time(${p}, rate(container_cpu_usage_seconds_total{container="api"}[5m])[14d:1m])`
    const at = END - 2 * MINUTE
    expect((await c.queryVector(q(0.5), at)).data[0]!.value).toBeCloseTo(CPU_TRUTH.p50, 9)
    expect((await c.queryVector(q(0.9), at)).data[0]!.value).toBeCloseTo(CPU_TRUTH.p90, 9)
    expect((await c.queryVector(q(0.95), at)).data[0]!.value).toBeCloseTo(CPU_TRUTH.p95, 9)
    const p99 = (await c.queryVector(q(0.99), at)).data[0]!.value
    expect(p99).toBeGreaterThanOrEqual(CPU_TRUTH.p95)
    expect(p99).toBeLessThanOrEqual(CPU_TRUTH.max)
  })

  test('cAdvisor series join kube-state-metrics on namespace and pod (the owners, the node)', async () => {
    const c = client()
    const answer = await c.queryVector(
      `sum by (namespace, owner_kind, owner_name, node) (
         rate(container_cpu_usage_seconds_total{container!="", image!=""}[5m])
         * on (namespace, pod) group_left (owner_kind, owner_name) kube_pod_owner
         * on (namespace, pod) group_left (node) kube_pod_info
       )`,
      END,
    )
    const rows = answer.data.map((s) => ({ ...s.labels, value: s.value }))
    expect(rows).toHaveLength(2)
    expect(rows).toContainEqual({
      namespace: 'shop',
      owner_kind: 'ReplicaSet',
      owner_name: 'api-7d9c8b7f5',
      node: 'node-a',
      value: expect.closeTo(profileAt(CPU_PROFILE, END), 9),
    })
    const deployment = await c.queryVector(
      'kube_replicaset_owner{namespace="shop", replicaset="api-7d9c8b7f5"}',
      END,
    )
    expect(deployment.data[0]!.labels).toMatchObject({ owner_kind: 'Deployment', owner_name: 'api' })
  })
})

describe('failures name the Prometheus and the query', () => {
  test("a bad query gives Prometheus's error", async () => {
    const c = client()
    const bad = 'sum(rate(container_cpu_usage_seconds_total[5m])'
    const err = await failure(c.query(bad, END))
    expect(err.kind).toBe('query')
    expect(err.details).toMatchObject({ status: 400, errorType: 'bad_data', query: bad })
    expect(err.message).toBe(
      `Prometheus at ${prometheus.url} could not run \`${bad}\`: bad_data: ${err.details.error}`,
    )
    expect(err.details.error).toMatch(/parse error/)

    const tooFine = await failure(
      c.queryRange('kube_node_info', { start: END - 14 * DAY, end: END, stepMs: 1000 }),
    )
    expect(tooFine.kind).toBe('query')
    expect(tooFine.message).toMatch(
      /could not run `kube_node_info`: bad_data: exceeded maximum resolution of 11,000 points/,
    )
    expect(c.stats).toMatchObject({ queries: 2, failed: 2 })
  })

  test('a query over too many samples: Prometheus refuses to run it (what batching must stay under)', async () => {
    // --query.max-samples (default 50 million) bounds the samples one query holds at once; a 14-day
    // subquery at 5 minutes holds 4,033 points per series: 10,000 containers in one query is 40 million.
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-prom-small-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    cpSync(history.dir, join(dir, 'data'), { recursive: true, filter: (src) => !src.endsWith('lock') })
    const small = await startPrometheus({ dataDir: join(dir, 'data'), args: ['--query.max-samples=10000'] })
    cleanups.push(() => small.stop())
    const c = client({ url: small.url })
    const query =
      'quantile_over_time(0.95, rate(container_cpu_usage_seconds_total{container!="", image!=""}[5m])[14d:5m])'
    const err = await failure(c.query(query, END))
    expect(err.kind).toBe('query')
    expect(err.details).toMatchObject({ status: 422, errorType: 'execution' })
    expect(err.message).toBe(
      `Prometheus at ${small.url} could not run \`${query}\`: execution: query processing would load too many samples into memory in query execution`,
    )
    // One container's: 4,033 points, under the bound.
    const one = await c.queryVector(query.replace('container!=""', 'container="api"'), END)
    expect(one.data[0]!.value).toBeCloseTo(CPU_TRUTH.p95, 9)
  })

  test('a Prometheus that is down: cannot reach', async () => {
    const port = await freePort()
    const c = new PrometheusClient({ url: `http://127.0.0.1:${port}/` })
    cleanups.push(() => c.close())
    const err = await failure(c.query('up', END))
    expect(err.kind).toBe('unreachable')
    expect(err.message).toBe(`cannot reach Prometheus at http://127.0.0.1:${port}: connection refused`)
  })

  test('sends a timeout of any milliseconds in a form Prometheus parses (it refuses `1.5s`)', async () => {
    const c = client({ timeoutMs: 1500 })
    const answer = await c.queryVector(
      'max_over_time(container_memory_working_set_bytes{container="api"}[14d])',
      END,
    )
    expect(answer.data.length).toBeGreaterThan(0)
  })

  test('a slow Prometheus: the query times out with a clear message; a longer timeout waits for it', async () => {
    const slow = await delayingTcpProxy(prometheus.port, 1500)
    cleanups.push(() => slow.close())
    const c = client({ url: `http://127.0.0.1:${slow.port}`, timeoutMs: 300 })
    const query = 'max_over_time(container_memory_working_set_bytes{container="api"}[14d])'
    const err = await failure(c.query(query, END))
    expect(err.kind).toBe('timeout')
    expect(err.message).toBe(
      `Prometheus at http://127.0.0.1:${slow.port} did not answer \`${query}\` within 300ms`,
    )
    // A caller's signal cancels a query in flight.
    const controller = new AbortController()
    const cancelled = failure(
      client({ url: `http://127.0.0.1:${slow.port}` }).query(query, END, { signal: controller.signal }),
    )
    controller.abort()
    const abort = await cancelled
    expect(abort.kind).toBe('aborted')
    expect(abort.message).toBe(
      `the query \`${query}\` to Prometheus at http://127.0.0.1:${slow.port} was cancelled`,
    )

    const patient = client({ url: `http://127.0.0.1:${slow.port}`, timeoutMs: 30_000 })
    const answer = await patient.queryVector(query, END)
    expect(answer.data[0]!.value).toBe(MEMORY_TRUTH.max)
  })
})

describe('credentials', () => {
  const TOKEN = 'plimsoll-reader-token'
  let mimir: MimirLikeProxy
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plimsoll-prom-auth-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const certs = writeCertificates({
      dir,
      service: 'prometheus',
      namespace: 'monitoring',
      extraNames: ['127.0.0.1'],
      client: 'plimsoll',
    })
    mimir = await mimirLikeProxy(prometheus.port, {
      token: TOKEN,
      cert: readFileSync(certs.certFile, 'utf8'),
      key: readFileSync(certs.keyFile, 'utf8'),
    })
    cleanups.push(() => mimir.close())
  })

  test('a bearer token and a tenant, through an HTTPS proxy that serves the API under /prometheus', async () => {
    const ca = join(dir, 'ca.crt')
    const url = `https://127.0.0.1:${mimir.port}/prometheus`
    const c = client({
      url,
      bearerToken: TOKEN,
      tenant: 'team-a',
      tls: { caFile: ca },
      params: { partial_response: 'false' },
    })
    const query = 'kube_pod_container_resource_requests{container="api", resource="cpu"}'
    const answer = await c.queryVector(query, END)
    expect(answer.data[0]!.value).toBe(0.5)
    // POSTed as a form, with the time in seconds, the timeout and the extra parameters (Thanos's).
    const sent = mimir.seen.at(-1)!
    expect(sent).toMatchObject({ method: 'POST', path: '/prometheus/api/v1/query', tenant: 'team-a' })
    expect(Object.fromEntries(sent.form)).toEqual({
      query,
      time: String(END / 1000),
      timeout: '30s',
      partial_response: 'false',
    })

    const tokenFile = join(dir, 'token')
    writeFileSync(tokenFile, `${TOKEN}\n`)
    const fromFile = client({ url, bearerTokenFile: tokenFile, tenant: 'team-a', tls: { caFile: ca } })
    expect((await fromFile.queryVector('kube_node_info', END)).data).toHaveLength(1)
    // The file is read for every query: a rotated (here, wrong) token is what the next query sends.
    writeFileSync(tokenFile, 'another-token')
    const refused = await failure(fromFile.queryVector('kube_node_info', END))
    expect(refused.kind).toBe('auth')
    expect(refused.message).toBe(`Prometheus at ${url} refused the credentials (401): invalid bearer token`)

    const noTenant = await failure(
      client({ url, bearerToken: TOKEN, tls: { caFile: ca } }).query('kube_node_info', END),
    )
    expect(noTenant.kind).toBe('auth')
    expect(noTenant.message).toBe(`Prometheus at ${url} refused the credentials (401): no org id`)

    const noPrefix = await failure(
      client({
        url: `https://127.0.0.1:${mimir.port}`,
        bearerToken: TOKEN,
        tenant: 'team-a',
        tls: { caFile: ca },
      }).query('kube_node_info', END),
    )
    expect(noPrefix.message).toBe(
      `Prometheus at https://127.0.0.1:${mimir.port} has no /api/v1/ (404): is the path prefix right? (Mimir serves the API under /prometheus)`,
    )

    const untrusted = await failure(client({ url, bearerToken: TOKEN, tenant: 'team-a' }).query('up', END))
    expect(untrusted.kind).toBe('unreachable')
    expect(untrusted.message).toMatch(
      new RegExp(
        `^cannot reach Prometheus at ${url}: its TLS certificate is signed by an authority not trusted here`,
      ),
    )
    const insecure = client({ url, bearerToken: TOKEN, tenant: 'team-a', tls: { insecureSkipVerify: true } })
    expect((await insecure.queryVector('kube_node_info', END)).data).toHaveLength(1)
  })

  test("basic auth, TLS and a client certificate with Prometheus's own web config", async () => {
    // A second Prometheus over a copy of the history (two cannot share a TSDB directory), serving
    // HTTPS with basic auth: the user's bcrypt hash (cost 10) of "correct horse", made once with
    // Python's crypt (libxcrypt); Prometheus checks it.
    const copy = join(dir, 'tsdb-copy')
    cpSync(history.dir, copy, { recursive: true, filter: (src) => !src.endsWith('lock') })
    const secured = await startPrometheus({
      dataDir: copy,
      removeDir: true,
      webConfig: [
        'tls_server_config:',
        `  cert_file: ${join(dir, 'tls.crt')}`,
        `  key_file: ${join(dir, 'tls.key')}`,
        `  client_ca_file: ${join(dir, 'ca.crt')}`,
        '  client_auth_type: VerifyClientCertIfGiven',
        'basic_auth_users:',
        `  plimsoll: ${BCRYPT_CORRECT_HORSE}`,
        '',
      ].join('\n'),
    })
    cleanups.push(() => secured.stop())
    expect(secured.url).toMatch(/^https:/)
    const tls = { caFile: join(dir, 'ca.crt') }
    const query = 'kube_pod_container_resource_limits{container="api", resource="memory"}'

    const basic = client({
      url: secured.url,
      basicAuth: { username: 'plimsoll', password: 'correct horse' },
      tls,
    })
    expect((await basic.queryVector(query, END)).data[0]!.value).toBe(1024 * MiB)

    const inUrl = client({ url: `https://plimsoll:correct%20horse@127.0.0.1:${secured.port}/`, tls })
    expect(inUrl.url).toBe(`https://127.0.0.1:${secured.port}`)
    expect((await inUrl.queryVector(query, END)).data[0]!.value).toBe(1024 * MiB)

    const withCert = client({
      url: secured.url,
      basicAuth: { username: 'plimsoll', password: 'correct horse' },
      tls: { ...tls, certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') },
    })
    expect((await withCert.queryVector(query, END)).data[0]!.value).toBe(1024 * MiB)

    const wrong = await failure(
      client({
        url: secured.url,
        basicAuth: { username: 'plimsoll', password: 'battery staple' },
        tls,
      }).query(query, END),
    )
    expect(wrong.kind).toBe('auth')
    expect(wrong.message).toMatch(new RegExp(`^Prometheus at ${secured.url} refused the credentials \\(401`))

    const plain = await failure(client({ url: secured.url.replace('https:', 'http:') }).query(query, END))
    expect(plain.kind).toBe('http')
    expect(plain.message).toMatch(/answered `.*` with 400/)
  })

  test('at most N queries in flight, whatever the caller asks at once', async () => {
    const url = `https://127.0.0.1:${mimir.port}/prometheus`
    const tls = { caFile: join(dir, 'ca.crt') }
    for (const concurrency of [undefined, 2]) {
      mimir.holdMs = 100
      mimir.peak = 0
      const c = client({ url, bearerToken: TOKEN, tenant: 'team-a', tls, concurrency })
      const queries = Array.from({ length: 20 }, (_, i) =>
        c.queryVector(`max_over_time(container_memory_working_set_bytes{container="api"}[${i + 1}h])`, END),
      )
      const answers = await Promise.all(queries)
      expect(answers.every((a) => a.data.length === 1)).toBe(true)
      const limit = concurrency ?? 4
      expect(mimir.peak).toBe(limit)
      expect(c.stats.peakInFlight).toBe(limit)
      expect(c.stats.queries).toBe(20)
      expect(c.stats.failed).toBe(0)
      expect(c.stats.bytesDecoded).toBeGreaterThan(20 * 100)
      expect(c.stats.bytesReceived).toBeGreaterThan(0)
    }
    mimir.holdMs = 0
  })
})

/** bcrypt (cost 10) of "correct horse". */
const BCRYPT_CORRECT_HORSE = '$2b$10$f4LxXakawBAXvbkEdzSWGev/rf3qacN.xDOrDSXDzjLVJJxiMqeAy'

interface MimirLikeProxy {
  port: number
  /** requests passed on: method, path, tenant and form */
  seen: Array<{ method: string; path: string; tenant: string; form: URLSearchParams }>
  /** requests in flight at most so far (settable) */
  peak: number
  /** how long to hold each request before passing it on */
  holdMs: number
  close(): Promise<void>
}

/**
 * An HTTPS reverse proxy in front of a Prometheus, as Mimir's gateway is: the API under /prometheus,
 * a bearer token required (401 "invalid bearer token"), a tenant required (401 "no org id", as Mimir
 * says), 404 elsewhere. It counts requests in flight.
 */
async function mimirLikeProxy(
  targetPort: number,
  options: { token: string; cert: string; key: string },
): Promise<MimirLikeProxy> {
  let inFlight = 0
  const state: MimirLikeProxy = {
    port: 0,
    seen: [],
    peak: 0,
    holdMs: 0,
    close: async () => {},
  }
  const server: HttpsServer = createHttpsServer({ cert: options.cert, key: options.key }, (req, res) => {
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain' })
      res.end(`${text}\n`)
    }
    const path = (req.url ?? '').split('?')[0]!
    if (!path.startsWith('/prometheus/api/v1/')) return reply(404, '404 page not found')
    if (req.headers.authorization !== `Bearer ${options.token}`) return reply(401, 'invalid bearer token')
    const tenant = req.headers['x-scope-orgid']
    if (typeof tenant !== 'string') return reply(401, 'no org id')
    const seen = { method: req.method ?? '', path, tenant, form: new URLSearchParams() }
    state.seen.push(seen)
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => {
      seen.form = new URLSearchParams(body)
    })
    inFlight++
    if (inFlight > state.peak) state.peak = inFlight
    const forward = () => {
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: targetPort,
          method: req.method,
          path: (req.url ?? '').slice('/prometheus'.length),
          headers: { ...req.headers, host: `127.0.0.1:${targetPort}` },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
          answer.on('end', () => inFlight--)
        },
      )
      upstream.on('error', () => {
        inFlight--
        reply(502, 'bad gateway')
      })
      req.pipe(upstream)
    }
    if (state.holdMs > 0) {
      req.pause()
      setTimeout(() => {
        req.resume()
        forward()
      }, state.holdMs)
    } else forward()
  })
  const local = await listenLocal(server)
  state.port = local.port
  state.close = local.close
  return state
}
