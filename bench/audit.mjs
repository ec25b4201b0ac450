#!/usr/bin/env node
// The audit door under load (issue: ">= 10,000 events/s per core through the full rule set, and a
// 400-event batch acknowledged durably in <= 50 ms p99").
// 1. Rules throughput on one core (this process): Falco's default k8saudit rules (the corpus's
//    k8s_audit_rules.yaml, loaded unchanged) and Plimsoll's built-in audit rules (policies/audit-rules),
//    over a realistic mix: the kube-apiserver corpus's webhook batches (~2,100 events of a real v1.32
//    server) plus Falco's 2018 test traces, cycled to --events. Measured: each rule set on parsed events;
//    JSON.parse + the full set (as the consumer does: events are stored and read back as text); and that
//    plus the anomaly baselines. Figures per wall second and per CPU second (this process's own time, so
//    that a busy machine shows as a gap between the two).
// 2. Durable acknowledgement: the audit receiver in a process of its own (this script with --receiver,
//    as it runs beside the API server), over a SQLite store in a temp dir (and PostgreSQL when
//    $PLIMSOLL_BENCH_PG is a postgres:// URL: a fresh database on that server, dropped afterwards), with
//    a bearer token and a self-signed serving certificate; a real 400-event batch (0002.json, its
//    auditIDs new for every POST) POSTed sequentially over TLS keep-alive; client-side time to the 200,
//    the receiver's own histogram, and the queue's count checked against what was sent.
// 3. Beside them, the anchors: the API server's audit webhook backend defaults and what Falco's k8saudit
//    plugin publishes.
// Prints figures only, no assertions; the machine's load average before and after.
// Usage: node bench/audit.mjs [--quick] [--events 100000] [--rounds 200] [--warmup 20] [--corpus DIR] [--dist DIR]
//        (--quick: 20,000 events a run, 40 POSTs after 5 warm-up ones; a few seconds)
//        (after `npm run build`; PLIMSOLL_CORPUS or --corpus for the corpus, PLIMSOLL_BENCH_PG for PostgreSQL)
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { args, dist, mod, opt } from './lib/args.mjs'
import { histogram, quantile } from './lib/histogram.mjs'

// --receiver <store> <certFile> <keyFile> <token>: the child, the receiver alone in its process.
if (args[0] === '--receiver') {
  const [, location, certFile, keyFile, token] = args
  const { openStore } = await mod('store/connect.js')
  const { startAuditReceiver } = await mod('audit/ingest/receiver.js')
  const store = await openStore(location)
  const receiver = await startAuditReceiver({
    host: '127.0.0.1',
    port: 0,
    certFile,
    keyFile,
    tokens: [token],
    store,
    log: (line) => process.stderr.write(`${line}\n`),
  })
  process.stdout.write(`listening ${receiver.url}\n`)
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await receiver.stop()
    await store.close()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  // The parent gone (its end of stdin closed): stop too, never left behind.
  process.stdin.on('end', stop)
  process.stdin.resume()
} else {
  await main()
}

async function main() {
  const here = fileURLToPath(new URL('.', import.meta.url))
  const quick = args.includes('--quick')
  const corpus = resolve(
    opt('corpus', process.env.PLIMSOLL_CORPUS ?? join(here, '..', '..', 'shared', 'corpus')),
  )
  const target = Number(opt('events', quick ? '20000' : '100000'))
  const rounds = Number(opt('rounds', quick ? '40' : '200'))
  const warmup = Number(opt('warmup', quick ? '5' : '20'))
  const pgUrl = process.env.PLIMSOLL_BENCH_PG
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')
  const loadBefore = load()
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, load average ${loadBefore} (1, 5, 15 min)${quick ? '; --quick' : ''}`,
  )

  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-audit-'))
  let child
  let dropDatabase
  // Interrupted: the receiver (in our process group) has the signal too; the temp dir and database go.
  process.once('SIGINT', async () => {
    child?.kill('SIGTERM')
    await dropDatabase?.().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
    process.exit(130)
  })
  try {
    await rulesThroughput(corpus, target)
    await durableAck(
      corpus,
      dir,
      rounds,
      warmup,
      pgUrl,
      (c) => (child = c),
      (d) => (dropDatabase = d),
    )
    anchors()
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await new Promise((r) => child.on('exit', r))
    }
    if (dropDatabase)
      await dropDatabase().catch((e) => console.log(`could not drop the bench database: ${e.message}`))
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(`load average: ${loadBefore} before, ${load()} after`)
}

// ---- 1. Rules throughput ------------------------------------------------------------------------------

async function rulesThroughput(corpus, target) {
  const { loadFalcoRules, parseAuditLines } = await mod('audit/falco/index.js')
  const { Baselines } = await mod('audit/anomaly/baselines.js')

  // The event mix: every kube-apiserver batch (EventList items), and the Falco traces (one event a line).
  const batchesDir = join(corpus, 'kube-apiserver', '06-audit', 'batches')
  const apiserver = []
  for (const name of readdirSync(batchesDir).sort())
    if (/^\d+\.json$/.test(name))
      apiserver.push(...JSON.parse(readFileSync(join(batchesDir, name), 'utf8')).items)
  const tracesDir = join(corpus, 'falco-k8saudit', 'falcosecurity-falco', 'test', 'trace_files', 'k8s_audit')
  const traces = []
  const skipped = []
  for (const name of readdirSync(tracesDir).sort()) {
    if (!name.endsWith('.json')) continue
    const parsed = parseAuditLines(readFileSync(join(tracesDir, name), 'utf8'))
    if (parsed.errors.length > 0) skipped.push(`${name} (${parsed.errors[0].message})`)
    else traces.push(...parsed.events)
  }
  const base = [...apiserver, ...traces]
  const texts = base.map((e) => JSON.stringify(e))
  const bytes = texts.reduce((n, t) => n + t.length, 0)
  const verbs = new Map()
  for (const e of base) verbs.set(e.verb, (verbs.get(e.verb) ?? 0) + 1)
  const topVerbs = [...verbs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([v, n]) => `${v} ${((100 * n) / base.length).toFixed(0)}%`)
    .join(', ')
  console.log(
    `\n1. rules throughput, one core. events: ${apiserver.length} from the kube-apiserver batches + ${traces.length} from Falco's traces (${skipped.length} trace file skipped: ${skipped.join('; ') || 'none'}); ${base.length} distinct, mean ${(bytes / base.length).toFixed(0)} B of JSON; ${topVerbs}; cycled to ${target.toLocaleString('en')} events a run. events/s of wall time, and per CPU second of this process (V8's GC threads included)`,
  )

  // The rule sets.
  const falcoFile = join(
    corpus,
    ...['falco-k8saudit', 'falcosecurity-plugins', 'plugins', 'k8saudit', 'rules', 'k8s_audit_rules.yaml'],
  )
  const falco = loadFalcoRules([{ name: 'k8s_audit_rules.yaml', text: readFileSync(falcoFile, 'utf8') }])
  const falcoActive = falco.rules.filter((r) => r.enabled).length
  console.log(
    `Falco's default rules: ${falco.rules.length} k8s_audit rules compiled (${falcoActive} enabled), ${falco.errors.length} errors, ${falco.warnings.length} warnings; first-match, as Falco's default`,
  )
  let builtin
  let builtinErrors = 0
  const rulesModule = join(dist, 'audit', 'rules', 'index.js')
  if (existsSync(rulesModule)) {
    const m = await mod('audit/rules/index.js')
    if (typeof m.loadAuditRules === 'function') {
      builtin = m.loadAuditRules({ onError: () => builtinErrors++ })
      console.log(
        `built-in rules: ${builtin.rules.length} Plimsoll audit rules from ${m.BUILTIN_AUDIT_RULES_DIR ?? 'policies/audit-rules'}`,
      )
    }
  }
  if (!builtin) console.log('built-in rules: not present in this build')

  const detectors = builtin ? [falco, builtin] : [falco]
  const full = (event) => {
    let n = 0
    for (const d of detectors) n += d.evaluate(event).length
    return n
  }

  // One run: `fn(i)` for i in [0, target), returns detections; timed in wall and CPU time, after a warm-up.
  const figures = []
  const run = (label, fn) => {
    const warm = Math.min(base.length * 2, target)
    for (let i = 0; i < warm; i++) fn(i)
    globalThis.gc?.()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    let detections = 0
    for (let i = 0; i < target; i++) detections += fn(i)
    const wall = (performance.now() - t0) / 1000
    const cpuUsed = process.cpuUsage(cpu0)
    const cpu = (cpuUsed.user + cpuUsed.system) / 1e6
    const perWall = target / wall
    const perCpu = target / cpu
    figures.push({ label, perWall, perCpu })
    console.log(
      `  ${label.padEnd(52)} ${Math.round(perWall).toLocaleString('en').padStart(9)} events/s (${Math.round(perCpu).toLocaleString('en').padStart(9)}/CPU s), ${detections.toLocaleString('en')} detections in ${target.toLocaleString('en')} events (${wall.toFixed(2)} s)`,
    )
    return perWall
  }
  const n = base.length
  run("Falco's rules, parsed events", (i) => falco.evaluate(base[i % n]).length)
  if (builtin) run('built-in rules, parsed events', (i) => builtin.evaluate(base[i % n]).length)
  run(`full set${builtin ? ' (Falco + built-in)' : " (Falco's only)"}, parsed events`, (i) =>
    full(base[i % n]),
  )
  run('JSON.parse + full set (events arriving as text)', (i) => full(JSON.parse(texts[i % n])))
  const baselines = new Baselines()
  run('JSON.parse + full set + anomaly baselines', (i) => {
    const event = JSON.parse(texts[i % n])
    return full(event) + baselines.observe(event, 'bench').length
  })
  // What was found, in one pass over the distinct events: the rules that fire most.
  const byRule = new Map()
  for (const e of base)
    for (const d of detectors)
      for (const x of d.evaluate(e)) byRule.set(x.rule, (byRule.get(x.rule) ?? 0) + 1)
  console.log(
    `  detections per pass over the ${n} distinct events: ${[...byRule.values()].reduce((a, b) => a + b, 0)}, by ${byRule.size} rules; most: ${[
      ...byRule.entries(),
    ]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([r, c]) => `${r} ${c}`)
      .join(', ')}`,
  )
  if (builtinErrors > 0)
    console.log(`  (built-in rules: ${builtinErrors} condition evaluation errors counted)`)
  const pipeline = figures.find((f) => f.label.startsWith('JSON.parse + full set ('))
  console.log(
    `  target: >= 10,000 events/s per core through the full rule set; JSON.parse + full set: ${Math.round(pipeline.perWall).toLocaleString('en')}/s wall, ${Math.round(pipeline.perCpu).toLocaleString('en')} per CPU second`,
  )
}

// ---- 2. Durable acknowledgement ------------------------------------------------------------------------

async function durableAck(corpus, dir, rounds, warmup, pgUrl, setChild, setDrop) {
  const { writeCertificates } = await mod('webhook/certificates.js')
  const { openStore } = await mod('store/connect.js')
  const { auditQueueStats } = await mod('store/audit-queue.js')
  const certs = writeCertificates({
    dir: join(dir, 'certs'),
    service: 'plimsoll-audit',
    namespace: 'plimsoll',
    extraNames: ['127.0.0.1'],
  })
  const ca = readFileSync(certs.caFile)
  const token = randomBytes(16).toString('hex')

  // A real 400-event batch (0002.json), its auditIDs made new for every POST so that none is a duplicate.
  const recorded = readFileSync(join(corpus, 'kube-apiserver', '06-audit', 'batches', '0002.json'), 'utf8')
  const items = JSON.parse(recorded).items.length
  const batchNumber = (k) =>
    recorded.replace(
      /"auditID":"([0-9a-f]{8})/g,
      (_, id) => `"auditID":"${id.slice(0, 3)}${k.toString(16).padStart(5, '0')}`,
    )
  console.log(
    `\n2. durable acknowledgement: batch 0002.json, ${items} events, ${(Buffer.byteLength(recorded) / 1024).toFixed(0)} KiB; ${warmup} warm-up POSTs, then ${rounds} sequential POSTs over TLS keep-alive (bearer token), the receiver in a process of its own`,
  )

  const stores = [['sqlite', async () => join(dir, 'audit.db')]]
  if (pgUrl && /^postgres(ql)?:\/\//.test(pgUrl))
    stores.push([
      'postgres',
      async () => {
        const { default: pg } = await import('pg')
        const name = `plimsoll_bench_audit_${randomBytes(5).toString('hex')}`
        const admin = new pg.Client({ connectionString: pgUrl })
        await admin.connect()
        await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`)
        await admin.end()
        setDrop(async () => {
          const c = new pg.Client({ connectionString: pgUrl })
          await c.connect()
          try {
            await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)}`)
          } finally {
            await c.end()
          }
        })
        const url = new URL(pgUrl)
        url.pathname = `/${name}`
        return url.href
      },
    ])
  else
    console.log(
      `  PostgreSQL: not measured (set PLIMSOLL_BENCH_PG to a postgres:// URL of a server to create a database on)`,
    )

  for (const [name, location] of stores) {
    const where = await location()
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(import.meta.url),
        '--receiver',
        where,
        certs.certFile,
        certs.keyFile,
        token,
        '--dist',
        dist,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    )
    setChild(child)
    let said = ''
    const url = await new Promise((resolveUrl, reject) => {
      child.stdout.on('data', (d) => {
        said += d
        const m = /^listening (\S+)$/m.exec(said)
        if (m) resolveUrl(m[1])
      })
      child.stderr.on('data', (d) => {
        said += d
      })
      child.on('exit', (code) => reject(new Error(`the receiver exited (${code}): ${said}`)))
    })
    const { hostname, port } = new URL(url)
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca })
    const send = (method, path, body) =>
      new Promise((done, fail) => {
        const req = request(
          {
            agent,
            hostname,
            port,
            path,
            method,
            headers: body
              ? {
                  'Content-Type': 'application/json',
                  'Content-Length': Buffer.byteLength(body),
                  Authorization: `Bearer ${token}`,
                }
              : {},
          },
          (res) => {
            const chunks = []
            res.on('data', (c) => chunks.push(c))
            res.on('end', () =>
              done({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }),
            )
          },
        )
        req.on('error', fail)
        req.end(body)
      })
    const bodies = Array.from({ length: warmup + rounds }, (_, k) => batchNumber(k))
    const times = []
    let failed = 0
    const loadAt = loadavg()[0].toFixed(2)
    let before
    let cpuBefore
    for (const [k, body] of bodies.entries()) {
      if (k === warmup) {
        before = histogram((await send('GET', '/metrics')).body, 'plimsoll_audit_batch_seconds')
        cpuBefore = cpuMs(child.pid)
      }
      const t0 = performance.now()
      const answer = await send('POST', '/audit', body)
      const ms = performance.now() - t0
      if (answer.status !== 200) failed++
      if (k >= warmup) times.push(ms)
    }
    const after = histogram((await send('GET', '/metrics')).body, 'plimsoll_audit_batch_seconds')
    const receiverCpu = (cpuMs(child.pid) - cpuBefore) / rounds
    agent.destroy()
    child.kill('SIGTERM')
    const code = await new Promise((r) => child.on('exit', (c, s) => r(c ?? s)))
    setChild(undefined)

    times.sort((a, b) => a - b)
    const q = (p) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)].toFixed(1)
    const mean = times.reduce((a, b) => a + b, 0) / times.length
    const server = (p) => {
      const v = quantile(before, after, p)
      return typeof v === 'number' ? v.toFixed(1) : v
    }
    console.log(
      `  ${name}: time to the 200, client-side: p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms over ${times.length} POSTs (target p99 <= 50 ms); ${failed} not 200; load average ${loadAt} -> ${loadavg()[0].toFixed(2)}`,
    )
    console.log(
      `  ${name}: mean ${mean.toFixed(1)} ms: ${(1000 / mean).toFixed(0)} batches/s, ${Math.round((1000 / mean) * items).toLocaleString('en')} events/s acknowledged one batch at a time (the API server sends at most 10 batches/s by default)`,
    )
    console.log(
      `  ${name}: the receiver's own histogram (body read -> stored and answered, interpolated in its buckets): p50 ${server(0.5)} ms, p99 ${server(0.99)} ms; its CPU time ${receiverCpu.toFixed(1)} ms a batch (all its threads; the rest of a wall-clock figure is waiting: disk sync, the CPU taken by others)`,
    )
    const store = await openStore(where)
    try {
      const stats = await auditQueueStats(store)
      const sent = bodies.length * items
      console.log(
        `  ${name}: queue holds ${stats.pending.toLocaleString('en')} pending events of ${sent.toLocaleString('en')} sent (${stats.pending === sent ? 'every one' : `${sent - stats.pending} MISSING`}); receiver exited ${code}`,
      )
    } finally {
      await store.close()
    }
  }
}

/** A process's CPU time so far (user + system, all its threads), ms, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux)
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return Number.NaN
  }
}

// ---- 3. Anchors ----------------------------------------------------------------------------------------

function anchors() {
  console.log('\n3. beside them:')
  console.log(
    "  the API server's audit webhook backend (batch mode, the default): batches of at most 400 events, sent at the latest 30 s after the first, throttled to 10 batches/s with bursts of 15, buffer 10,000 events; so one API server sends at most ~4,000 events/s sustained by default (a burst of 15 batches: 6,000 events) (kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/server/options/audit.go: defaultBatchMaxSize, defaultBatchMaxWait, defaultBatchThrottleQPS, defaultBatchThrottleBurst, defaultBatchBufferSize; the flags --audit-webhook-batch-*)",
  )
  console.log(
    "  Falco's k8saudit plugin: no published throughput found (falco.org/blog/falco-performance-testing measures syscall events only and says k8saudit actions cannot be used for it). Its webhook answers 200 once the body is read, before it is parsed, and holds it in memory only (a channel of 50 payloads; falcosecurity/plugins plugins/k8saudit/pkg/k8saudit/source.go): not durable. Its limits: maxEventSize 256 KiB, webhookMaxBatchSize 12 MiB (plugins/k8saudit/README.md)",
  )
}
