#!/usr/bin/env node
// The cluster watcher at scale, against the local control plane (its own process, so that RSS figures
// are each side's own): 50,000 generated objects (pods, deployments, replicasets, services, configmaps,
// service accounts and RBAC, with realistic managedFields; src/control-plane/seed-objects.ts).
// 1. Initial sync: from start to every finding stored (SQLite), with the watcher's peak RSS.
// 2. Live: 200 watch events a second (merge patches that make a Deployment privileged, then not), each
//    timed from the patch sent to its findings committed in the store; p50, p95, p99.
// Targets (issue 11): sync <= 30 s, p99 <= 100 ms, peak RSS <= 400 MB.
// Usage: node bench/watch.mjs [--objects 50000] [--rate 200] [--seconds 15] [--trace-memory] [--dist DIR]   (after `npm run build`)
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { dist, mod, opt } from './lib/args.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const count = Number(opt('objects', '50000'))
const rate = Number(opt('rate', '200'))
const seconds = Number(opt('seconds', '15'))
const traceMemory = process.argv.includes('--trace-memory')
const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-watch-'))
const kubeconfig = join(dir, 'kubeconfig')
console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, load average ${loadavg()[0].toFixed(1)}`,
)

// The control plane: bench/control-plane.mjs in its server mode (generates, loads, writes the kubeconfig).
const child = spawn(
  process.execPath,
  [join(here, 'control-plane.mjs'), '--server', String(count), kubeconfig, '--dist', dist],
  { stdio: ['pipe', 'pipe', 'inherit'] },
)
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
const ready = JSON.parse((await lines.next()).value)
console.log(
  `control plane: ${count} objects loaded in ${ready.loadMs.toFixed(0)} ms; its RSS ${mb(ready.rss)}`,
)

const { ApiClient, loadKubeConfig } = await mod('cluster/client.js')
const { startWatcher } = await mod('cluster/run.js')
const { loadLibrary } = await mod('policy/library.js')
const { LATEST_VERSION } = await mod('policy/engine.js')
const { openStore } = await mod('store/connect.js')

const rssBefore = process.memoryUsage().rss
const store = await openStore(join(dir, 'watch.db'), { writerThread: true })
const kc = loadKubeConfig({ kubeconfig })
const client = new ApiClient(kc)
let peakRss = 0
let samples = 0
const sampler = setInterval(() => {
  const m = process.memoryUsage()
  peakRss = Math.max(peakRss, m.rss)
  // --trace-memory: where the memory is, each second (heap, outside it, the whole process).
  if (traceMemory && samples++ % 10 === 0)
    console.log(
      `  memory at ${((performance.now() - t0) / 1000).toFixed(0)} s: heap ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)}, RSS ${mb(m.rss)}`,
    )
}, 100)
const t0 = performance.now()
const running = startWatcher({
  client,
  library: loadLibrary({}),
  version: LATEST_VERSION,
  target: 'bench',
  fileRules: [],
  store,
  // The sync's summary only: one line per finding changed would time the console, not the watcher.
  log: (line) => {
    if (line.startsWith('synced') || line.startsWith('cannot')) console.log(`  watch: ${line}`)
  },
})
const summary = await running.synced
const mu = process.memoryUsage()
console.log(
  `after the sync: heap ${mb(mu.heapUsed)} of ${mb(mu.heapTotal)}, external ${mb(mu.external)} (array buffers ${mb(mu.arrayBuffers)}), RSS ${mb(mu.rss)}`,
)
const syncSeconds = (performance.now() - t0) / 1000
const findings = await store.db
  .selectFrom('findings')
  .select((eb) => eb.fn.countAll().as('n'))
  .where('state', '<>', 'resolved')
  .executeTakeFirstOrThrow()
console.log(
  `initial sync: ${summary.objects} objects of ${summary.kinds} kinds, ${findings.n} findings stored in ${syncSeconds.toFixed(1)} s (target <= 30 s); peak RSS ${mb(peakRss)} (this process, before the watcher ${mb(rssBefore)}; target <= 400 MB)`,
)

// Live: patches at `rate` a second, each timed to its commit.
const deployments = (await client.get('/apis/apps/v1/deployments', { limit: 200 })).items
const opts = await client.connectionOptions()
const agent = new Agent({ keepAlive: true, maxSockets: 8, ca: opts.ca, cert: opts.cert, key: opts.key })
const headers = {
  ...opts.headers,
  'content-type': 'application/merge-patch+json',
  accept: 'application/json',
}
const pending = new Map()
const latencies = []
let failed = 0
const keyOf = (d) => `apps\u0000Deployment\u0000${d.metadata.namespace}\u0000${d.metadata.name}`
const previous = running.recorder.options.onCommit
running.recorder.options.onCommit = (changes, waits) => {
  previous?.(changes, waits)
  const now = performance.now()
  for (const c of changes) {
    const sent = pending.get(c.key)
    if (sent !== undefined) {
      latencies.push(now - sent)
      pending.delete(c.key)
    }
  }
}
function patch(d, privileged) {
  const containers = d.spec.template.spec.containers.map((c, i) =>
    i === 0 ? { ...c, securityContext: { ...(c.securityContext ?? {}), privileged } } : c,
  )
  const body = JSON.stringify({ spec: { template: { spec: { containers } } } })
  const path = `/apis/apps/v1/namespaces/${d.metadata.namespace}/deployments/${d.metadata.name}`
  pending.set(keyOf(d), performance.now())
  const req = request(`${client.server}${path}`, { method: 'PATCH', agent, headers }, (res) => {
    res.resume()
    if (res.statusCode !== 200) failed++
  })
  req.on('error', () => failed++)
  req.end(body)
}
const total = rate * seconds
let sent = 0
const tick = 50
const perTick = Math.max(1, Math.round((rate * tick) / 1000))
await new Promise((done) => {
  const timer = setInterval(() => {
    for (let i = 0; i < perTick && sent < total; i++, sent++) {
      const d = deployments[sent % deployments.length]
      // Each round flips the flag, so each patch changes the object's findings.
      patch(d, Math.floor(sent / deployments.length) % 2 === 0)
    }
    if (sent >= total) {
      clearInterval(timer)
      done()
    }
  }, tick)
})
const deadline = Date.now() + 10_000
while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
clearInterval(sampler)
latencies.sort((a, b) => a - b)
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]?.toFixed(1)
console.log(
  `live: ${sent} patches at ${rate}/s over ${seconds} s; ${latencies.length} committed, ${pending.size} not seen, ${failed} failed; patch to finding stored: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, p99 ${q(0.99)} ms (target p99 <= 100 ms)`,
)
console.log(`peak RSS of the watcher's process over both phases: ${mb(peakRss)}`)
await running.stop()
await store.close()
agent.destroy()
child.stdin.end()
await new Promise((r) => child.on('exit', r))
rmSync(dir, { recursive: true, force: true })
