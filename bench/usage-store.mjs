#!/usr/bin/env node
// Recording a usage snapshot (`plimsoll usage --store`): 10,000 containers in 200 namespaces and 25 teams
// on 500 nodes, recommended by the `simple` strategy and costed at OpenCost's default prices, written in
// one transaction to a fresh SQLite file (and to PostgreSQL when PLIMSOLL_BENCH_PG names a server: a
// database is created there). Prints the time to record, to read a namespace back, and the file's size.
// Usage: npx tsc -p . && node bench/usage-store.mjs
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchDatabase } from './lib/bench-pg.mjs'

const { openStore } = await import('../dist/store/connect.js')
const { recordUsageSnapshot, latestContainers } = await import('../dist/store/usage.js')
const { recommendAll } = await import('../dist/usage/recommend/index.js')
const { costReport } = await import('../dist/usage/cost/allocate.js')
const { defaultPriceSheet } = await import('../dist/usage/cost/prices.js')

const CONTAINERS = 10_000
const NODES = 500
const DAY = 86_400_000
const to = Date.parse('2026-12-01T00:00:00Z')
const from = to - 14 * DAY
const iso = (ms) => new Date(ms).toISOString()
const MiB = 2 ** 20

const containers = Array.from({ length: CONTAINERS }, (_, i) => {
  const load = 0.5 + (i % 7) / 7
  return {
    workload: { cluster: 'big', namespace: `ns-${i % 200}`, kind: 'Deployment', name: `app-${i}` },
    container: 'app',
    team: `team-${i % 25}`,
    pods: 2,
    maxReplicas: 3,
    cpu: {
      usage: { p50: 0.1 * load, p95: 0.3 * load, p99: 0.4 * load, max: 0.6 * load, mean: 0.12 * load },
      request: 0.5,
      limit: 1,
    },
    memory: {
      usage: {
        p50: 200 * MiB * load,
        p95: 260 * MiB * load,
        p99: 300 * MiB * load,
        max: 320 * MiB * load,
        mean: 210 * MiB * load,
      },
      request: 512 * MiB,
      limit: 1024 * MiB,
    },
    restarts: i % 50 === 0 ? 1 : 0,
    oomKills: i % 500 === 0 ? [{ at: iso(to - 2 * DAY), memory: 1024 * MiB }] : [],
    runningSeconds: 2 * 14 * 86_400,
    startedAt: iso(from),
    history: { from: iso(from), to: iso(to), samples: 4033 },
  }
})
const nodes = Array.from({ length: NODES }, (_, i) => ({
  cluster: 'big',
  name: `node-${i}`,
  instanceType: i % 2 ? 'm5.xlarge' : 'm5.2xlarge',
  capacityType: i % 10 === 0 ? 'spot' : 'on-demand',
  capacity: { cpu: 8, memory: 32 * 1024 * MiB },
  allocatable: { cpu: 7.8, memory: 30 * 1024 * MiB },
  requested: { cpu: 20, memory: 20 * 512 * MiB },
  used: { cpu: 3, memory: 10 * 1024 * MiB },
  runningSeconds: 14 * 86_400,
}))
const report = {
  cluster: 'big',
  from: iso(from),
  to: iso(to),
  containers,
  nodes,
  gaps: [],
  queries: { count: 75, bytes: 0 },
}

const t0 = performance.now()
const recommendations = recommendAll(containers, 'simple', { now: new Date(to) })
const costs = costReport(defaultPriceSheet(), containers, nodes)
const prepared = performance.now() - t0

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`,
)
console.log(
  `input: ${CONTAINERS.toLocaleString('en')} containers, ${NODES} nodes; recommend + cost in ${prepared.toFixed(0)} ms (not recorded below)`,
)

async function measure(name, location, cleanup) {
  const store = await openStore(location)
  try {
    const times = []
    for (let run = 0; run < 3; run++) {
      const started = performance.now()
      await recordUsageSnapshot(store, {
        report,
        recommendations,
        strategy: 'simple',
        costs,
        takenAt: iso(to + run * DAY),
      })
      times.push(performance.now() - started)
    }
    const readStarted = performance.now()
    const page = await latestContainers(store, { cluster: 'big', namespace: 'ns-7', limit: 500 })
    const read = performance.now() - readStarted
    console.log(
      `  ${name}: record ${times.map((t) => `${t.toFixed(0)} ms`).join(', ')} (3 snapshots, one transaction each); read one namespace's ${page.total} containers ${read.toFixed(0)} ms`,
    )
  } finally {
    await store.close()
    cleanup?.()
  }
}

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-usage-'))
const file = join(dir, 'usage.db')
await measure('sqlite', file, () => {
  console.log(`  sqlite file after 3 snapshots: ${(statSync(file).size / MiB).toFixed(1)} MiB`)
  rmSync(dir, { recursive: true, force: true })
})
const pgUrl = await benchDatabase('plimsoll_bench_usage')
if (pgUrl) await measure('postgres', pgUrl)
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`,
)
