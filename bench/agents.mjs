#!/usr/bin/env node
// Scale-out (issue 17): simulated cluster agents push their first sync to two (--replicas) `plimsoll serve`
// replicas (processes of their own, HTTPS) sharing one PostgreSQL store.
// - PostgreSQL: $PLIMSOLL_BENCH_PG (a postgres:// URL: a fresh database on that server, dropped
//   afterwards), else a throwaway server on 127.0.0.1 started the way the tests start theirs
//   (test/setup/postgres.ts; note it runs with fsync and synchronous_commit off).
// - Each agent's cluster: generateObjects(--objects, seed) evaluated by the watcher's LiveState (before
//   the clock starts); pushed by the agent's LiveRecorder and RemoteWriter (bench/lib/simulated-agent.mjs)
//   through a line to both replicas: it starts on one (agents alternate), moves to the other mid-run,
//   loses every --lose-every-th answer (the message goes again, to the other replica), and sends every
//   --twin-every-th message to both replicas at once. It reports its health every 5 s.
// - Then the store is checked: every finding each agent saw, stored once; one session and one run a
//   cluster; nothing reopened. Printed: ingest rate, per-message push latency, each replica's memory,
//   and how many clusters each replica shows live.
// Usage: node bench/agents.mjs [--agents 20] [--objects 5000] [--replicas 2] [--lose-every 5] [--twin-every 7] [--cpu-prof DIR] [--dist DIR]
//        (after `npm run build`)
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dist, mod, opt } from './lib/args.mjs'
import { evaluateCluster, pushCluster, ServiceLine, verifyClusters } from './lib/simulated-agent.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const agentCount = Number(opt('agents', '20'))
const objectCount = Number(opt('objects', '5000'))
const loseEvery = Number(opt('lose-every', '5'))
const twinEvery = Number(opt('twin-every', '7'))
/** --cpu-prof DIR: each replica writes a V8 CPU profile there when it stops (where its time goes) */
const cpuProf = opt('cpu-prof', undefined)
const REPLICAS = Number(opt('replicas', '2'))
const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`
const cleanups = []
const cleanup = async () => {
  while (cleanups.length > 0)
    await cleanups
      .pop()()
      .catch((err) => console.error(err.message))
}

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, load average ${loadavg()[0].toFixed(1)}`,
)
console.log(
  `${agentCount} agents x ${objectCount} objects -> ${REPLICAS} replica${REPLICAS === 1 ? '' : 's'} of plimsoll serve on PostgreSQL; every ${loseEvery}th answer lost${REPLICAS > 1 ? `, every ${twinEvery}th message sent to two replicas at once, each agent moved to another replica mid-run` : ''}`,
)

try {
  await main()
} catch (err) {
  console.error(err)
  process.exitCode = 1
} finally {
  await cleanup()
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-agents-'))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  const dbUrl = await database()

  const { Pki } = await mod('control-plane/certs.js')
  const pki = new Pki()
  const cert = join(dir, 'central.crt')
  const key = join(dir, 'central.key')
  writeFileSync(cert, pki.server.cert)
  writeFileSync(key, pki.server.key, { mode: 0o600 })

  // Both replicas start at once on the empty database, as a Deployment's pods do: migrations run once.
  const replicas = await Promise.all(
    Array.from({ length: REPLICAS }, () => serve(['--db', dbUrl, '--tls-cert', cert, '--tls-key', key])),
  )
  console.log(`replicas: ${replicas.map((r) => `${r.url} (pid ${r.child.pid})`).join(', ')}`)

  const { openStore } = await mod('store/connect.js')
  const { createToken } = await mod('store/tokens.js')
  const store = await openStore(dbUrl)
  cleanups.push(() => store.close())
  const clusters = Array.from({ length: agentCount }, (_, i) => `bench-${String(i + 1).padStart(2, '0')}`)
  const tokens = []
  for (const cluster of clusters)
    tokens.push((await createToken(store, `${cluster}-agent`, { role: 'agent', cluster })).token)
  const viewer = (await createToken(store, 'bench-viewer', { role: 'viewer' })).token

  // The clusters, evaluated before the clock starts: the bench times the push, not the engine.
  const m = {
    ...(await mod('policy/engine.js')),
    ...(await mod('cluster/live-state.js')),
    ...(await mod('control-plane/seed-objects.js')),
    ...(await mod('cluster/recorder.js')),
    ...(await mod('agent/remote-writer.js')),
    ...(await mod('agent/central.js')),
    ...(await mod('cluster/backoff.js')),
  }
  const { loadLibrary } = await mod('policy/library.js')
  const library = loadLibrary({})
  const engine = new m.Engine(
    library.checks,
    library.podTemplates,
    { version: m.LATEST_VERSION },
    library.foreign,
  )
  const te = performance.now()
  const evaluated = clusters.map((cluster, i) => evaluateCluster(m, engine, cluster, objectCount, i + 1))
  const findings = evaluated.reduce((n, e) => n + e.fingerprints.size, 0)
  const objects = evaluated.reduce((n, e) => n + e.objects, 0)
  console.log(
    `evaluated: ${objects} objects, ${findings} findings (${(findings / objects).toFixed(1)} an object) in ${((performance.now() - te) / 1000).toFixed(1)} s`,
  )

  // Each replica's memory, sampled while the agents push.
  const peak = replicas.map(() => 0)
  const sampler = setInterval(() => {
    replicas.forEach((r, i) => {
      peak[i] = Math.max(peak[i], rssOf(r.child.pid))
    })
  }, 200)
  const logs = clusters.map(() => [])
  const lines = clusters.map(
    (_, i) =>
      new ServiceLine(m, {
        urls: replicas.map((r) => r.url),
        token: tokens[i],
        ca: pki.serverCa.cert,
        first: i,
        // Half-way through its messages (1,000 changes each, plus the opening and the sync's).
        switchAfter: Math.max(2, Math.ceil(evaluated[i].changes.length / 1000 / 2) + 1),
        loseEvery,
        twinEvery,
      }),
  )
  const t0 = performance.now()
  const pushed = await Promise.all(
    evaluated.map((e, i) =>
      pushCluster(m, e, lines[i], { log: (line) => logs[i].push(line) }).finally(() => lines[i].close()),
    ),
  )
  const seconds = (performance.now() - t0) / 1000
  clearInterval(sampler)

  const latencies = lines.flatMap((l) => l.latencies).sort((a, b) => a - b)
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(0)
  const served = replicas.map((_, r) => lines.reduce((n, l) => n + l.served[r], 0))
  const sum = (f) => lines.reduce((n, l) => n + f(l), 0)
  const duplicates = pushed.reduce((n, p) => n + p.sent.duplicates, 0)
  console.log(
    `\npushed in ${seconds.toFixed(1)} s (the slowest agent; the fastest took ${(Math.min(...pushed.map((p) => p.ms)) / 1000).toFixed(1)} s)`,
  )
  console.log(
    `  ingest: ${(findings / seconds).toFixed(0)} findings/s, ${(objects / seconds).toFixed(0)} objects/s (${findings} findings of ${objects} objects)`,
  )
  console.log(
    `  push latency per message try (${latencies.length} tries of up to 1,000 changes): p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, p99 ${q(0.99)} ms, max ${latencies.at(-1).toFixed(0)} ms`,
  )
  console.log(
    `  requests served: ${served.map((n, r) => `replica ${r + 1} ${n}`).join(', ')}; answers lost ${sum((l) => l.lost)}, messages sent to both ${sum((l) => l.twins)}, moves between replicas ${sum((l) => l.switches)}; answered as duplicates ${duplicates}`,
  )
  replicas.forEach((r, i) => {
    console.log(
      `  replica ${i + 1} memory: RSS peak ${mb(peak[i])} while pushed (high-water mark ${mb(hwmOf(r.child.pid))})`,
    )
  })

  const check = await verifyClusters(store.db, evaluated)
  const bad = check.clusters.filter(
    (c) =>
      c.stored !== c.expected || c.missing || c.unexpected || c.reopened || c.sessions !== 1 || c.runs !== 1,
  )
  console.log(
    `\nstore: ${check.clusters.reduce((n, c) => n + c.stored, 0)} findings stored of ${findings} expected; (cluster, fingerprint) stored more than once: ${check.duplicated}; clusters not exactly as their agent saw them: ${bad.length}`,
  )
  for (const c of bad) console.log(`  ${JSON.stringify(c)}`)
  for (const [i, l] of logs.entries())
    if (bad.some((c) => c.cluster === clusters[i]))
      console.log(`  ${clusters[i]}'s agent said:\n    ${l.join('\n    ')}`)

  // The dashboard's live view of the agents' clusters, as each replica has it.
  const { Central } = m
  for (const [i, r] of replicas.entries()) {
    const c = new Central({ url: r.url, token: viewer, ca: pki.serverCa.cert })
    const answer = await c.request('GET', '/api/clusters')
    c.close()
    const live = Array.isArray(answer.body)
      ? answer.body.filter((s) => s.live).length
      : `? (${answer.status})`
    console.log(`  replica ${i + 1} shows ${live} of ${agentCount} clusters live`)
  }
  console.log(check.ok ? '\nOK: every finding stored exactly once' : '\nFAILED: see above')
  if (!check.ok) process.exitCode = 1
}

/** The database measured: a fresh one on $PLIMSOLL_BENCH_PG's server, or a throwaway server's. */
async function database() {
  const pgUrl = process.env.PLIMSOLL_BENCH_PG
  if (pgUrl) {
    const { default: pg } = await import('pg')
    const name = `plimsoll_bench_agents_${randomBytes(5).toString('hex')}`
    const admin = async (sql) => {
      const c = new pg.Client({ connectionString: pgUrl })
      await c.connect()
      try {
        await c.query(sql(c))
      } finally {
        await c.end()
      }
    }
    await admin((c) => `CREATE DATABASE ${c.escapeIdentifier(name)}`)
    cleanups.push(() => admin((c) => `DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`))
    const url = new URL(pgUrl)
    url.pathname = `/${name}`
    console.log(`PostgreSQL: database ${name} on ${url.host}`)
    return url.href
  }
  // The tests' own throwaway server (TypeScript, loaded through Vite's module runner).
  const { runnerImport } = await import('vite')
  const { module } = await runnerImport(join(root, 'test/setup/postgres.ts'), {
    configFile: false,
    root,
    logLevel: 'silent',
  })
  let url
  await module.setup({ provide: (_key, value) => (url = value) })
  cleanups.push(async () => module.teardown())
  return url
}

/** `plimsoll serve` of the measured build on a free loopback port; resolves once it listens. */
function serve(args) {
  const profile = cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : []
  const child = spawn(
    process.execPath,
    [...profile, join(dist, '../bin/plimsoll.js'), 'serve', '--port', '0', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  cleanups.push(
    () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  )
  let out = ''
  return new Promise((resolve, reject) => {
    const said = (d) => {
      out += d
      const m = /^plimsoll serve: (https?:\/\/\S+) over/m.exec(out)
      if (m) resolve({ child, url: m[1] })
    }
    child.stdout.on('data', said)
    child.stderr.on('data', said)
    child.on('exit', (code) => reject(new Error(`plimsoll serve exited ${code}: ${out}`)))
  })
}

/** A process's resident memory now, and its high-water mark (bytes), from /proc. */
function statusField(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}
function rssOf(pid) {
  return statusField(pid, 'VmRSS')
}
function hwmOf(pid) {
  return statusField(pid, 'VmHWM')
}
