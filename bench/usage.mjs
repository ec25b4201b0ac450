#!/usr/bin/env node
// `plimsoll usage` end to end against a real Prometheus (issue 15's bench: 10,000 containers x 14 days,
// <= 60 s and <= 512 MiB RSS for Plimsoll). Generates a cluster (bench/lib/usage-series.mjs: pods of one
// container in Deployments of 2-3 pods over 200 namespaces, 20 pods a node; cAdvisor's container, pod
// cgroup and pause series, kube-state-metrics' requests, limits, restarts, owners, pod info, start time,
// labels, ReplicaSets, nodes, namespaces), written as OpenMetrics shard by shard (streamed) and turned
// into TSDB blocks by `promtool tsdb create-blocks-from openmetrics`, 2 at a time. One scrape every
// 5 minutes for everything, to keep the backfill feasible: the collector's rate window is
// max(step, 5m) at a 5-minute step, and Prometheus 2.x's range selectors include both ends, so
// rate(...[5m]) at a grid time sees the samples at t - 5m and t and gives the slot's rate exactly (at
// 1-minute scrapes it would see 6; the percentiles are the same, the TSDB 5x larger). The blocks are kept
// under the tmp dir, keyed by the parameters: a second run measures only `plimsoll usage`.
// Then Prometheus (/usr/bin/prometheus; `apt-get install --no-install-recommends prometheus`) on
// 127.0.0.1 over them, and `node bin/plimsoll.js usage ... --format json -o /dev/null` under
// /usr/bin/time -v, once per strategy, with Prometheus's RSS polled from /proc meanwhile.
// Usage: npx tsc -p . && node bench/usage.mjs [--containers 10000] [--days 14] [--keep] [--fresh]
//   [--timeout S] [--batch-size N] (passed on to `plimsoll usage`)
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { args, opt } from './lib/args.mjs'
import { clusterShape, DAY, writeShard } from './lib/usage-series.mjs'

const CONTAINERS = Number(opt('containers', '10000'))
const DAYS = Number(opt('days', '14'))
const SCRAPE_MS = 5 * 60_000
const END = Date.parse('2026-12-01T00:00:00Z')
const START = END - DAYS * DAY
const SHARD_CONTAINERS = 500
const PROMTOOLS = 2
const TARGET_S = 60
const TARGET_MIB = 512
const root = fileURLToPath(new URL('..', import.meta.url))
const PROMETHEUS = '/usr/bin/prometheus'
const PROMTOOL = '/usr/bin/promtool'
const MiB = 2 ** 20
// passed on to `plimsoll usage` when given (its defaults otherwise: --timeout 30, --batch-size 1000)
const PASS = ['timeout', 'batch-size'].flatMap((k) => (opt(k) === undefined ? [] : [`--${k}`, opt(k)]))

const fmt = (n) => Math.round(n).toLocaleString('en-US')
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
const ok = (pass) => (pass ? 'ok' : 'OVER')

for (const bin of [PROMETHEUS, PROMTOOL])
  if (!existsSync(bin)) {
    console.error(`${bin} is missing: apt-get install --no-install-recommends prometheus`)
    process.exit(2)
  }
if (!existsSync(join(root, 'dist/cli/usage.js'))) {
  console.error('dist/ is missing: npx tsc -p . first')
  process.exit(2)
}

console.log(`plimsoll usage against a real Prometheus: ${fmt(CONTAINERS)} containers x ${DAYS} days`)
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}; load ${load()}`)
if (PASS.length > 0) console.log(`plimsoll usage options: ${PASS.join(' ')}`)
console.log(`scrape interval: 5 minutes for every series (see the header: rate windows are 5m at a 5m step)`)

// --- history: generated and backfilled once per parameter set ---
const dir = join(tmpdir(), `plimsoll-bench-usage-${CONTAINERS}c-${DAYS}d-5m-v1`)
const data = join(dir, 'data')
const marker = join(dir, 'history.json')
if (args.includes('--fresh')) rmSync(dir, { recursive: true, force: true })
let history
if (existsSync(marker)) {
  history = JSON.parse(readFileSync(marker, 'utf8'))
  console.log(
    `history: reused ${dir} (made in ${history.genSeconds.toFixed(0)} s + promtool ${history.promtoolSeconds.toFixed(0)} s)`,
  )
} else {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const shape = clusterShape(CONTAINERS)
  const shards = Math.max(PROMTOOLS, Math.ceil(CONTAINERS / SHARD_CONTAINERS / PROMTOOLS) * PROMTOOLS)
  console.log(
    `cluster: ${fmt(shape.pods.length)} pods (1 container each) in ${fmt(shape.deployments)} Deployments, ${shape.namespaces} namespaces, ${fmt(shape.nodes.length)} nodes; ${shards} shards`,
  )
  const spanHours = Math.ceil((END - START) / 3_600_000) + 1
  let genSeconds = 0
  let promtoolSeconds = 0
  let series = 0
  let samples = 0
  let bytes = 0
  const promtool = (file) =>
    new Promise((resolve, reject) => {
      const child = spawn(
        PROMTOOL,
        [
          'tsdb',
          'create-blocks-from',
          'openmetrics',
          '--quiet',
          `--max-block-duration=${spanHours}h`,
          file,
          data,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      )
      let err = ''
      child.stderr.on('data', (d) => {
        err += d
      })
      child.on('error', reject)
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`promtool exited ${code}: ${err.slice(-2000)}`)),
      )
    })
  // rounds of PROMTOOLS shards: write their files (one process, interleaved), then one promtool each, at
  // once; the files are removed after each round (bounded disk: ~7 GB a 500-container shard)
  for (let round = 0; round < shards; round += PROMTOOLS) {
    const ids = Array.from({ length: Math.min(PROMTOOLS, shards - round) }, (_, k) => round + k)
    const files = ids.map((s) => join(dir, `shard-${s}.om`))
    const t0 = performance.now()
    const written = await Promise.all(
      ids.map((shard, k) =>
        writeShard({ shape, shard, shards, start: START, end: END, scrapeMs: SCRAPE_MS, file: files[k] }),
      ),
    )
    const t1 = performance.now()
    await Promise.all(files.map(promtool))
    const t2 = performance.now()
    for (const f of files) rmSync(f, { force: true })
    genSeconds += (t1 - t0) / 1000
    promtoolSeconds += (t2 - t1) / 1000
    for (const w of written) {
      series += w.series
      samples += w.samples
      bytes += w.bytes
    }
    console.log(
      `  shards ${ids.join(', ')}: ${fmt(written.reduce((n, w) => n + w.samples, 0))} samples written in ${((t1 - t0) / 1000).toFixed(1)} s, promtool ${((t2 - t1) / 1000).toFixed(1)} s; load ${load()}`,
    )
  }
  const du = spawnSync('du', ['-sb', data], { encoding: 'utf8' }).stdout.split('\t')[0]
  history = { series, samples, bytes, genSeconds, promtoolSeconds, shards, tsdbBytes: Number(du) }
  writeFileSync(marker, JSON.stringify(history))
}
console.log(
  `history: ${fmt(history.series)} series, ${fmt(history.samples)} samples (${(history.bytes / 2 ** 30).toFixed(1)} GiB of OpenMetrics); generation ${history.genSeconds.toFixed(1)} s (${fmt(history.samples / history.genSeconds)} samples/s); promtool ${history.promtoolSeconds.toFixed(1)} s, ${PROMTOOLS} at once (${fmt(history.samples / history.promtoolSeconds)} samples/s); TSDB ${(history.tsdbBytes / MiB).toFixed(0)} MiB`,
)

// --- Prometheus ---
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port
    s.close(() => resolve(p))
  })
})
const config = join(dir, 'prometheus.yml')
writeFileSync(config, 'global:\n  evaluation_interval: 1m\nscrape_configs: []\n')
const url = `http://127.0.0.1:${port}`
const tp = performance.now()
const prom = spawn(
  PROMETHEUS,
  [
    `--config.file=${config}`,
    `--storage.tsdb.path=${data}`,
    '--storage.tsdb.retention.time=90d',
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ],
  { stdio: ['ignore', 'ignore', 'pipe'] },
)
let promLog = ''
prom.stderr.on('data', (d) => {
  promLog = (promLog + d).slice(-5000)
})
const stopProm = () => {
  if (prom.exitCode === null) prom.kill('SIGTERM')
}
process.on('exit', stopProm)
for (;;) {
  if (prom.exitCode !== null) throw new Error(`Prometheus exited ${prom.exitCode}:\n${promLog}`)
  const ready = await fetch(`${url}/-/ready`).then(
    (r) => r.ok,
    () => false,
  )
  if (ready) break
  if (performance.now() - tp > 300_000) throw new Error(`Prometheus not ready in 300 s:\n${promLog}`)
  await new Promise((r) => setTimeout(r, 100))
}
const status = (pid) => {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (k) => Number(s.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? 0) * 1024
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
  } catch {
    return { rss: 0, hwm: 0 }
  }
}
console.log(
  `Prometheus ${PROMETHEUS} (${spawnSync(PROMETHEUS, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]}) ready in ${((performance.now() - tp) / 1000).toFixed(1)} s on ${url}; RSS ${(status(prom.pid).rss / MiB).toFixed(0)} MiB; --query.max-samples default`,
)

// --- plimsoll usage, once per strategy ---
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const results = []
for (const strategy of ['simple', 'vpa']) {
  const cli = [
    join(root, 'bin/plimsoll.js'),
    'usage',
    '--prometheus',
    url,
    '--cluster-name',
    'bench',
    '--end',
    new Date(END).toISOString(),
    '--days',
    String(DAYS),
    '--strategy',
    strategy,
    '--format',
    'json',
    '-o',
    '/dev/null',
    ...PASS,
  ]
  const before = status(prom.pid)
  let promPeak = before.rss
  let ownPeak = 0
  const t0 = performance.now()
  const child = timeBin
    ? spawn(timeBin, ['-v', process.execPath, ...cli], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(process.execPath, cli, { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d) => {
    err += d
  })
  const poll = setInterval(() => {
    promPeak = Math.max(promPeak, status(prom.pid).rss)
    if (!timeBin) ownPeak = Math.max(ownPeak, status(child.pid).hwm)
  }, 50)
  const code = await new Promise((resolve) => child.on('close', resolve))
  clearInterval(poll)
  const wall = (performance.now() - t0) / 1000
  promPeak = Math.max(promPeak, status(prom.pid).rss)
  if (timeBin) ownPeak = Number(err.match(/Maximum resident set size \(kbytes\): (\d+)/)?.[1] ?? 0) * 1024
  const summary = err.match(/plimsoll usage: .* in [\d.]+ s \((\d+) quer(?:y|ies), ([\d.]+) MB\)/)
  const line = err.split('\n').find((l) => /^plimsoll usage: .* from /.test(l)) ?? ''
  results.push({ strategy, wall, ownPeak, promPeak, code })
  console.log(`\nstrategy ${strategy}: exit ${code}${code === 0 ? '' : `\n${err.slice(-3000)}`}`)
  console.log(`  ${line}`)
  console.log(
    `  wall time           ${wall.toFixed(1)} s   (target <= ${TARGET_S} s: ${ok(wall <= TARGET_S)})`,
  )
  console.log(
    `  Plimsoll peak RSS   ${(ownPeak / MiB).toFixed(0)} MiB   (target <= ${TARGET_MIB} MiB: ${ok(ownPeak <= TARGET_MIB * MiB)}; ${timeBin ? '/usr/bin/time -v' : '/proc VmHWM'})`,
  )
  console.log(`  queries             ${summary?.[1] ?? '?'}, ${summary?.[2] ?? '?'} MB of answers`)
  console.log(
    `  Prometheus RSS      ${(before.rss / MiB).toFixed(0)} MiB before, peak ${(promPeak / MiB).toFixed(0)} MiB during the run (VmHWM since its start ${(status(prom.pid).hwm / MiB).toFixed(0)} MiB)`,
  )
}
stopProm()
await new Promise((r) => (prom.exitCode !== null ? r() : prom.on('close', r)))
if (!args.includes('--keep') && history.tsdbBytes > 2 ** 30) {
  // a TSDB over 1 GiB is not left in the tmp dir unless asked
  rmSync(dir, { recursive: true, force: true })
  console.log(
    `\nremoved ${dir} (${(history.tsdbBytes / 2 ** 30).toFixed(1)} GiB; --keep keeps it for the next run)`,
  )
}
console.log(`\nload after: ${load()}`)
if (results.some((r) => r.code !== 0)) process.exitCode = 1
