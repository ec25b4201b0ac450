// The findings API under load: a SQLite store of 100,000 findings, and the explorer's requests (pages,
// filters, search, sorts) over HTTP keep-alive from this process. Prints p50/p95/p99 per request kind
// and overall. Target (docs/architecture.md): p99 <= 50 ms.
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { syntheticReport } from './lib/synthetic-report.mjs'

const { loadLibrary, BUILTIN_FRAMEWORKS_DIR } = await import('../dist/policy/library.js')
const { loadFrameworks } = await import('../dist/policy/frameworks.js')
const { openStore } = await import('../dist/store/connect.js')
const { recordRun } = await import('../dist/store/record-run.js')
const { createToken } = await import('../dist/store/tokens.js')
const { buildServer } = await import('../dist/server/app.js')

const N = Number(process.env.BENCH_FINDINGS ?? 100_000)
const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-api-'))
const store = await openStore(join(dir, 'bench.db'))
let t0 = performance.now()
await recordRun(store, syntheticReport(N, { namespaces: 40 }), {
  source: 'ci',
  target: 'estate',
  plimsollVersion: 'bench',
})
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}`)
console.log(
  `store: ${N} findings recorded in ${(performance.now() - t0).toFixed(0)} ms (SQLite, one transaction)`,
)
const { token } = await createToken(store, 'bench', 'viewer')
const library = loadLibrary({})
const app = await buildServer({
  store,
  checks: library.checks.map((c) => c.metadata),
  frameworks: [...loadFrameworks(BUILTIN_FRAMEWORKS_DIR).values()],
})
const base = await app.listen({ host: '127.0.0.1', port: 0 })

const kinds = {
  'first page, worst first': () => `/api/findings?limit=50&offset=0`,
  'deep page': (i) => `/api/findings?limit=50&offset=${(i * 997) % (N - 50)}`,
  'severity + namespace filter': (i) =>
    `/api/findings?severity=high,critical&namespace=team-${i % 40}&limit=50`,
  'check filter, newest first': (i) =>
    `/api/findings?check=memory-limit-missing&sort=last_seen&limit=50&offset=${(i * 50) % 5000}`,
  'text search': (i) => `/api/findings?q=workload-${i % 5000}&limit=50`,
}
const headers = { authorization: `Bearer ${token}` }
const all = []
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
for (const [name, url] of Object.entries(kinds)) {
  for (let i = 0; i < 20; i++) await (await fetch(base + url(i), { headers })).text() // warm-up
  const times = []
  for (let i = 0; i < 200; i++) {
    t0 = performance.now()
    const res = await fetch(base + url(i), { headers })
    await res.text()
    if (res.status !== 200) throw new Error(`${url(i)}: ${res.status}`)
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  all.push(...times)
  console.log(
    `${name.padEnd(30)} p50 ${pct(times, 50).toFixed(1)} ms  p95 ${pct(times, 95).toFixed(1)} ms  p99 ${pct(times, 99).toFixed(1)} ms`,
  )
}
all.sort((a, b) => a - b)
const p99 = pct(all, 99)
console.log(
  `all ${all.length} requests: p99 ${p99.toFixed(1)} ms   (target <= 50 ms)  ${p99 <= 50 ? 'OK' : 'MISSED'}`,
)
await app.close()
await store.close()
rmSync(dir, { recursive: true, force: true })
