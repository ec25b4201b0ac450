// The findings API under load: a SQLite store of 100,000 findings (open, excepted and resolved, over three
// runs), and the requests the dashboard's explorer makes: first pages in every sort, deep pages (by offset,
// as the explorer's page numbers ask, and by cursor), filters by severity, check, namespace and state, and
// search. Each kind alone first (one request at a time), then all of them mixed at concurrency 32 from a
// worker thread over HTTP keep-alive. Target (docs/architecture.md): p99 <= 100 ms at concurrency 32.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { syntheticReport } from './lib/synthetic-report.mjs'

const { loadLibrary, BUILTIN_FRAMEWORKS_DIR } = await import('../dist/policy/library.js')
const { loadFrameworks } = await import('../dist/policy/frameworks.js')
const { openStore } = await import('../dist/store/connect.js')
const { recordRun } = await import('../dist/store/record-run.js')
const { createToken } = await import('../dist/store/tokens.js')
const { buildServer } = await import('../dist/server/app.js')

const N = Number(process.env.BENCH_FINDINGS ?? 100_000)
const CONCURRENCY = 32
const MIXED_REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000)
// The load generator's client: node:http (keep-alive), or fetch as the figures before it were taken.
const CLIENT = process.env.BENCH_CLIENT === 'fetch' ? 'fetch' : 'node:http'
const TARGET_P99 = 100
// The same mix against the code before keyset pages and per-sort indexes (commit b71ffa7), this machine,
// with other work on it (load average 3.2), as the figures after are usually taken.
const BEFORE =
  'before (b71ffa7, same mix, client fetch, load average 3.2): 13 req/s, p50 2,272 ms, p95 3,649 ms, p99 5,198 ms;' +
  ' server event loop busy 74.5 ms per request'

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-api-'))
const store = await openStore(join(dir, 'bench.db'))
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}`)

// Three runs, a day apart: the first finds 70% of the findings, the second all of them, the third drops
// every tenth (resolved) and excepts every twentieth: first_seen, last_seen and state then vary.
const report = syntheticReport(N, { namespaces: 40 })
const day = 86_400_000
const runOf = (findings, daysAgo) => ({
  ...report,
  startedAt: new Date(Date.now() - daysAgo * day).toISOString(),
  findings,
})
const exception = {
  source: 'file',
  file: 'store#1',
  index: 1,
  owner: 'ops',
  reason: 'bench',
  expires: '2099-01-01',
}
let t0 = performance.now()
for (const [findings, daysAgo] of [
  [report.findings.slice(0, Math.floor(N * 0.7)), 2],
  [report.findings, 1],
  [
    report.findings
      .filter((_, i) => i % 10 !== 0)
      .map((f, i) => (i % 20 === 5 ? { ...f, excepted: exception } : f)),
    0,
  ],
])
  await recordRun(store, runOf(findings, daysAgo), {
    source: 'ci',
    target: 'estate',
    plimsollVersion: 'bench',
  })
console.log(
  `store: ${N} findings recorded over 3 runs in ${(performance.now() - t0).toFixed(0)} ms (SQLite, a transaction each)`,
)
const { token } = await createToken(store, 'bench', { role: 'viewer' })
const library = loadLibrary({})
const app = await buildServer({
  store,
  checks: library.checks.map((c) => c.metadata),
  frameworks: [...loadFrameworks(BUILTIN_FRAMEWORKS_DIR).values()],
})
const base = await app.listen({ host: '127.0.0.1', port: 0 })
const headers = { authorization: `Bearer ${token}` }
const getJson = async (url) => {
  const res = await fetch(base + url, { headers })
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  return res.json()
}

// Each sort in the order the explorer first shows it (worst and newest first, names A to Z).
const SORTS = [
  ['severity', 'desc'],
  ['check', 'asc'],
  ['resource', 'asc'],
  ['first_seen', 'desc'],
  ['last_seen', 'desc'],
]
const CHECKS = ['pss-privileged', 'memory-limit-missing', 'liveness-probe-missing', 'priority-class-missing']
const open = (await getJson('/api/findings?state=open&limit=1')).total

// Cursors deep into each sort, gathered by paging through it as a client does. Servers without cursors
// (the "before" code) are asked for the same depth by offset.
const deep = new Map()
for (const [sort, order] of SORTS) {
  const cursors = []
  let next = (await getJson(`/api/findings?state=open&sort=${sort}&order=${order}&limit=500`)).next
  while (next && cursors.length < Math.floor(open / 500) - 1) {
    cursors.push(next)
    next = (await getJson(`/api/findings?state=open&sort=${sort}&order=${order}&limit=500&cursor=${next}`))
      .next
  }
  deep.set(sort, cursors)
}
const cursorsAvailable = [...deep.values()].every((c) => c.length > 0)

// A deterministic spread of parameters: request i of a kind.
const pick = (xs, i) => xs[(i * 7919) % xs.length]
const sortOf = (i) => pick(SORTS, i)
const kinds = {
  'first page, worst first': () => '/api/findings?state=open&limit=50',
  'first page, each sort': (i) => {
    const [sort, order] = sortOf(i)
    return `/api/findings?state=open&sort=${sort}&order=${order === 'asc' && i % 2 ? 'desc' : order}&limit=50`
  },
  'deep page by offset': (i) => {
    const [sort, order] = sortOf(i)
    return `/api/findings?state=open&sort=${sort}&order=${order}&limit=50&offset=${50 * ((i * 331) % Math.floor(open / 50))}`
  },
  'deep page by cursor': (i) => {
    const [sort, order] = sortOf(i)
    const cursors = deep.get(sort)
    const page = (i * 331) % Math.max(1, cursors.length)
    return cursorsAvailable
      ? `/api/findings?state=open&sort=${sort}&order=${order}&limit=50&cursor=${cursors[page]}`
      : `/api/findings?state=open&sort=${sort}&order=${order}&limit=50&offset=${500 * (page + 1)}`
  },
  'severity filter, pages 1-5': (i) =>
    `/api/findings?state=open&severity=${pick(['critical', 'high,critical', 'medium', 'low,info'], i)}&limit=50&offset=${50 * (i % 5)}`,
  'check filter, newest first': (i) =>
    `/api/findings?state=open&check=${pick(CHECKS, i)}&sort=last_seen&limit=50&offset=${50 * (i % 10)}`,
  'namespace + severity filter': (i) =>
    `/api/findings?state=open&namespace=team-${i % 40}&severity=${pick(['high,critical', 'medium', 'low'], i)}&limit=50`,
  'excepted / resolved / any state': (i) => {
    const [sort, order] = sortOf(i)
    return `/api/findings?state=${pick(['excepted', 'resolved', 'open,excepted,resolved'], i)}&sort=${sort}&order=${order}&limit=50&offset=${50 * (i % 3)}`
  },
  'text search': (i) =>
    `/api/findings?state=open&q=${pick([`workload-${(i * 37) % 10000}`, `app-${i % 10} team-${i % 40}`, 'privileged', `x${(i * 13) % 10000}`], i)}&limit=50`,
}

/**
 * CPU time of this thread (the server's event loop) so far, in ms, from Linux's /proc (clock ticks of
 * 10 ms); undefined elsewhere. Other work on the machine inflates it far less than the time the loop is
 * busy, which counts waiting for a core too.
 */
function serverCpuMs() {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
const ms = (x) => `${x.toFixed(1)} ms`

console.log(
  `\none at a time (${open} open findings; cursors: ${cursorsAvailable ? 'yes' : 'no, offsets instead'})`,
)
for (const [name, url] of Object.entries(kinds)) {
  for (let i = 0; i < 10; i++) await getJson(url(i)) // warm-up
  const times = []
  for (let i = 0; i < 60; i++) {
    t0 = performance.now()
    await getJson(url(i))
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  console.log(`  ${name.padEnd(32)} p50 ${ms(pct(times, 50))}  p99 ${ms(pct(times, 99))}`)
}

// The mix: the kinds in turn, each with its own spread of parameters.
const names = Object.keys(kinds)
const requests = Array.from({ length: MIXED_REQUESTS }, (_, i) => {
  const kind = names[i % names.length]
  return { kind, url: kinds[kind](Math.floor(i / names.length) + 1000) }
})
// Other work on the machine slows every request alike: its load is printed with the figures, and so is
// how long the server's event loop was busy per request, which that load inflates less.
const load = loadavg()[0]
const busyBefore = performance.eventLoopUtilization()
const cpuBefore = serverCpuMs()
const result = await new Promise((resolve, reject) => {
  const worker = new Worker(new URL('./lib/http-load.mjs', import.meta.url), {
    workerData: { base, token, requests, concurrency: CONCURRENCY, client: CLIENT },
  })
  worker.once('message', resolve)
  worker.once('error', reject)
})
if (result.failure) throw new Error(result.failure)
const busy = performance.eventLoopUtilization(busyBefore)
const cpu = cpuBefore === undefined ? undefined : serverCpuMs() - cpuBefore
console.log(
  `\n${MIXED_REQUESTS} requests of the ${names.length} kinds mixed, concurrency ${CONCURRENCY}, client ${CLIENT}` +
    ` (load average ${load.toFixed(1)} on ${cpus().length} cores before it)`,
)
for (const name of names) {
  const times = [...result.times.filter((_, i) => requests[i].kind === name)].sort((a, b) => a - b)
  console.log(`  ${name.padEnd(32)} p50 ${ms(pct(times, 50))}  p99 ${ms(pct(times, 99))}`)
}
const all = [...result.times].sort((a, b) => a - b)
const rate = MIXED_REQUESTS / (result.elapsed / 1000)
const p99 = pct(all, 99)
console.log(
  `all: ${rate.toFixed(0)} req/s, p50 ${ms(pct(all, 50))}, p95 ${ms(pct(all, 95))}, p99 ${ms(p99)}` +
    `   (target p99 <= ${TARGET_P99} ms at concurrency ${CONCURRENCY})  ${p99 <= TARGET_P99 ? 'OK' : 'MISSED'}`,
)
console.log(
  `server event loop busy ${ms(busy.active / MIXED_REQUESTS)} per request` +
    (cpu === undefined ? '' : `, on the CPU ${ms(cpu / MIXED_REQUESTS)}`) +
    ` (the load generator's loop busy ${ms(result.busy / MIXED_REQUESTS)})`,
)
console.log(BEFORE)
await app.close()
await store.close()
rmSync(dir, { recursive: true, force: true })
