#!/usr/bin/env node
// Scan benchmark, on two 10,000-resource inputs made from ../shared/corpus/real-manifests:
// - workload: ordinary Deployments, Services, StatefulSets, RBAC and ConfigMaps (141 renamed copies of
//   five install manifests, 7 MB), the input most teams have;
// - crd-heavy: renamed copies of the whole corpus (CRDs included, 11 KB a resource), where the parse
//   dominates.
// For each: the bare YAML parse, `plimsoll scan` end to end (a process, as a user runs it) on one thread
// and with the default threads, resources/s, scan/parse, peak RSS, and a per-phase breakdown (read,
// parse, evaluate and locate findings, cross-resource pass, report). Then the per-object cost of the
// engine on a typical Deployment with the whole library, as the cluster watcher and the admission
// webhook will call it. Each measurement runs in a fresh process, so peak RSS is that work's own.
// The machine is often shared: each process measurement runs three times, and the best is printed with
// the spread of the three (best-worst), beside the load average when the input's runs began.
// Usage: npm run bench [-- --resources 10000] [-- --corpus DIR] [-- --dist DIR (another build, for a before/after)]
//        [-- --input workload|crd-heavy (only that one)]
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { args, dist, mod, opt } from './lib/args.mjs'
import { WORKLOAD_FILES, WORKLOAD_RESOURCES_PER_COPY, writeCopies } from './lib/inputs.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))

if (args[0] === '--child') {
  const [, mode, dir] = args
  const rss = () => process.resourceUsage().maxRSS * 1024
  if (mode === 'cli') {
    // The command a user runs, in this process: its time from here to the end, and its peak RSS.
    const jobs = args[3]
    const t0 = performance.now()
    process.argv = [
      process.argv[0],
      'plimsoll',
      'scan',
      dir,
      '--fail-on',
      'none',
      '--format',
      'json',
      '-o',
      '/dev/null',
      '-j',
      jobs,
    ]
    process.on('exit', () => {
      process.stderr.write(`\n@@${JSON.stringify({ ms: performance.now() - t0, rss: rss() })}\n`)
    })
    await mod('cli/main.js')
  } else {
    const out = await child(mode, dir)
    process.stderr.write(`\n@@${JSON.stringify({ ...out, rss: rss() })}\n`)
    process.exit(0)
  }
} else {
  await main()
}

async function child(mode, dir) {
  const { expandInputs, readSource } = await mod('resources/inputs.js')
  const { files } = await expandInputs([dir])
  if (mode === 'parse') {
    // The bare parse: read every file, split it into documents, and js-yaml each one.
    const { load } = await import('js-yaml')
    const { splitDocuments } = await mod('resources/split.js')
    const { KUBERNETES_YAML_SCHEMA } = await mod('resources/yaml-schema.js')
    const t0 = performance.now()
    let resources = 0
    for (const f of files) {
      for (const chunk of splitDocuments(await readSource(f))) {
        const v = load(chunk.text, { schema: KUBERNETES_YAML_SCHEMA })
        if (v && typeof v === 'object') resources += Array.isArray(v.items) ? v.items.length : 1
      }
    }
    return { ms: performance.now() - t0, resources }
  }
  if (mode === 'scan-1') {
    // The scan itself, in one thread, in this process: compiling the library, reading, parsing,
    // evaluating, the cross-resource pass (the CLI adds module loading and writing the report).
    const t0 = performance.now()
    const { loadLibrary } = await mod('policy/library.js')
    const { scan } = await mod('scan/scan.js')
    const report = await scan({ inputs: [dir], library: loadLibrary(), jobs: 1 })
    return { ms: performance.now() - t0, resources: report.summary.resources }
  }
  const { loadLibrary } = await mod('policy/library.js')
  const { Engine, LATEST_VERSION } = await mod('policy/engine.js')
  const { parseSource, attach } = await mod('resources/parse.js')
  const { Inventory, inventoryRecord } = await mod('policy/inventory.js')
  const library = loadLibrary()
  const engine = new Engine(
    library.checks,
    library.podTemplates,
    { version: LATEST_VERSION },
    library.foreign,
  )
  const time = (fn) => {
    const t0 = performance.now()
    const value = fn()
    return [performance.now() - t0, value]
  }
  if (mode === 'phases') {
    // One thread, every phase on its own over the whole input (so the input is held in memory here,
    // unlike a scan, which drops each file when it is done).
    const t0 = performance.now()
    const texts = []
    for (const f of files) texts.push(await readSource(f))
    const read = performance.now() - t0
    const [parse, loaded] = time(() => files.map((f, i) => parseSource(f, texts[i])))
    const resources = loaded.flatMap((l) => l.resources)
    for (const r of resources) engine.evaluate(r) // warm up: compile, inline caches
    // Evaluation includes locating the findings: they are located where they are made.
    const [evaluate, results] = time(() => resources.map((r) => engine.evaluate(r)))
    const [cross] = time(() => {
      const inventory = new Inventory(resources.map((r) => inventoryRecord(r, engine.podTemplates)))
      for (const r of resources)
        if (engine.isCrossResourceSubject(r))
          engine.evaluateCross(attach(r.detach(engine.crossResourcePaths?.(r))), inventory)
    })
    const { scan } = await mod('scan/scan.js')
    const { renderJson } = await mod('report/json.js')
    const report = await scan({ inputs: [dir], library, jobs: 1 })
    const [render] = time(() => renderJson(report).length)
    return {
      resources: resources.length,
      findings: results.reduce((n, r) => n + r.filter((x) => x.status !== 'pass').length, 0),
      read,
      parse,
      evaluate,
      cross,
      render,
    }
  }
  if (mode === 'pss-native' || mode === 'pss-kyverno') {
    // The Pod Security Standards two ways: our native checks, and Kyverno's pod-security policies
    // (kyverno/policies, from the corpus) run through the Kyverno adapter.
    const { scan } = await mod('scan/scan.js')
    const pss =
      mode === 'pss-native'
        ? loadLibrary({ framework: 'pss-restricted' })
        : loadLibrary({
            builtin: false,
            policies: [join(opt('corpus-dir', ''), '..', 'kyverno-policies', 'pod-security')],
          })
    const t0 = performance.now()
    const report = await scan({ inputs: [dir], library: pss, jobs: 1 })
    return { ms: performance.now() - t0, resources: report.summary.resources }
  }
  if (mode === 'per-object') {
    // A typical Deployment (microservices-demo's frontend: one container, probes, resources, a
    // security context), evaluated again and again with the whole library; then with the cross-resource
    // checks too, against the inventory of the whole input, as a cluster watcher holds it.
    const corpusFile = join(opt('corpus-dir', ''), WORKLOAD_FILES[0])
    const { resources } = parseSource(corpusFile, readFileSync(corpusFile, 'utf8'))
    const deployment = resources.find((r) => r.kind === 'Deployment' && r.name === 'frontend')
    const all = files.flatMap((f) => parseSource(f, readFileSync(f, 'utf8')).resources)
    const inventory = new Inventory(all.map((r) => inventoryRecord(r, engine.podTemplates)))
    const sample = (fn) => {
      for (let i = 0; i < 2000; i++) fn() // warm up: compile, inline caches
      const ms = []
      for (let i = 0; i < 20000; i++) {
        const t0 = performance.now()
        fn()
        ms.push(performance.now() - t0)
      }
      ms.sort((a, b) => a - b)
      return { median: ms[ms.length >> 1], p99: ms[Math.floor(ms.length * 0.99)] }
    }
    return {
      results: engine.evaluate(deployment).length,
      single: sample(() => engine.evaluate(deployment)),
      withCross: sample(() => {
        engine.evaluate(deployment)
        engine.evaluateCross(deployment, inventory)
      }),
    }
  }
  throw new Error(`unknown mode ${mode}`)
}

function run(mode, dir, ...rest) {
  const t0 = performance.now()
  const r = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--child', mode, dir, ...rest, ...args],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  )
  const wall = performance.now() - t0
  const line = r.stderr.split('\n').find((l) => l.startsWith('@@'))
  if (r.status !== 0 || !line) throw new Error(`${mode} failed (${r.status}): ${r.stderr.slice(-2000)}`)
  return { wall, ...JSON.parse(line.slice(2)) }
}

async function main() {
  const corpus = resolve(
    opt('corpus', process.env.PLIMSOLL_CORPUS ?? join(here, '..', '..', 'shared', 'corpus')),
    'real-manifests',
  )
  args.push('--corpus-dir', corpus)
  const target = Number(opt('resources', '10000'))
  const { expandInputs } = await mod('resources/inputs.js')
  const { parseSource } = await mod('resources/parse.js')
  const { defaultJobs } = await mod('scan/scan.js')
  const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`
  const verdict = (ok) => (ok ? 'OK' : 'MISSED')

  // The whole corpus, as a directory walk finds it (so the copies hold what `scan` of it reads).
  const { files: corpusFiles } = await expandInputs([corpus])
  const allFiles = corpusFiles.map((f) => relative(corpus, f))
  const perCopy = corpusFiles.reduce(
    (n, f) => n + parseSource(f, readFileSync(f, 'utf8')).resources.length,
    0,
  )
  const inputs = [
    { name: 'workload', files: WORKLOAD_FILES, copies: Math.ceil(target / WORKLOAD_RESOURCES_PER_COPY) },
    { name: 'crd-heavy', files: allFiles, copies: Math.ceil(target / perCopy) },
  ]
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${mb(totalmem())} RAM, node ${process.version}`,
  )
  console.log(`build: ${dist}`)
  let workloadDir
  const only = opt('input', undefined)
  for (const input of inputs) {
    if (only && input.name !== only) continue
    const dir = mkdtempSync(join(tmpdir(), `plimsoll-bench-${input.name}-`))
    writeCopies(corpus, dir, input.copies, input.files)
    run('parse', dir) // warm the file cache
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')
    /** The best of three runs, with the others' spread: `ms` (in process) or `wall` (the process). */
    const best = (...a) => {
      const runs = [run(...a), run(...a), run(...a)]
      const key = a[0] === 'cli' ? 'wall' : 'ms'
      runs.sort((x, y) => x[key] - y[key])
      return { ...runs[0], spread: `${s(runs[0][key])}-${s(runs[2][key])}` }
    }
    const parse = best('parse', dir)
    const inProcess = best('scan-1', dir)
    const one = best('cli', dir, '1')
    const many = defaultJobs() === 1 ? one : best('cli', dir, String(defaultJobs()))
    // Two threads as well, where the default is one: the workers' path stays measured.
    const two = defaultJobs() === 2 ? many : best('cli', dir, '2')
    const phases = run('phases', dir)
    const n = phases.resources
    console.log(
      `\n${input.name}: ${n} resources (${input.copies} renamed copies of ${input.files.length} files), load average ${load}`,
    )
    console.log(
      `  bare parse (read + js-yaml, 1 thread): ${s(parse.ms)} (${parse.spread}), peak RSS ${mb(parse.rss)}`,
    )
    console.log(
      `  scan end to end, 1 thread: ${s(one.wall)} (${one.spread}; ${(n / (one.wall / 1000)).toFixed(0)} resources/s), peak RSS ${mb(one.rss)}`,
    )
    console.log(
      `  scan end to end, ${defaultJobs()} thread(s) (the default): ${s(many.wall)} (${many.spread}; ${(n / (many.wall / 1000)).toFixed(0)} resources/s), peak RSS ${mb(many.rss)}`,
    )
    if (two !== many)
      console.log(
        `  scan end to end, 2 threads (-j 2): ${s(two.wall)} (${two.spread}; ${(n / (two.wall / 1000)).toFixed(0)} resources/s), peak RSS ${mb(two.rss)}`,
      )
    console.log(
      `  phases, 1 thread: read ${s(phases.read)}, parse ${s(phases.parse)}, ` +
        `evaluate and locate ${phases.findings} findings ${s(phases.evaluate)}, cross-resource pass ${s(phases.cross)}, JSON report ${s(phases.render)}`,
    )
    const ratio = inProcess.ms / parse.ms
    const rate = n / (many.wall / 1000)
    const peak = Math.max(one.rss, many.rss, two.rss)
    console.log(
      `  throughput, default threads: ${rate.toFixed(0)} resources/s   (target >= 5000)  ${verdict(rate >= 5000)}`,
    )
    console.log(
      `  scan / bare parse, 1 thread, both in process: ${s(inProcess.ms)} (${inProcess.spread}) / ${s(parse.ms)} = ${ratio.toFixed(2)}x ` +
        `(the CLI end to end: ${(one.wall / parse.ms).toFixed(2)}x)   (target <= 3.0)  ${verdict(ratio <= 3)}`,
    )
    console.log(`  peak RSS: ${mb(peak)}   (target <= 250 MB)  ${verdict(peak <= 250 * 1024 * 1024)}`)
    if (input.name === 'workload') {
      workloadDir = dir
      continue
    }
    const pssNative = best('pss-native', dir)
    const pssKyverno = best('pss-kyverno', dir)
    // Both read and parse the same input in the same way, so the difference is the policies' own.
    console.log(
      `  PSS, 1 thread, in process: native checks ${s(pssNative.ms)} (${pssNative.spread}), ` +
        `Kyverno pod-security policies ${s(pssKyverno.ms)} (${pssKyverno.spread}): ` +
        `Kyverno's take ${s(pssKyverno.ms - pssNative.ms)} more`,
    )
    rmSync(dir, { recursive: true, force: true })
  }
  if (!workloadDir) return
  const per = run('per-object', workloadDir)
  rmSync(workloadDir, { recursive: true, force: true })
  const us = (ms) => `${(ms * 1000).toFixed(0)} µs`
  console.log(`\nper object, a typical Deployment (${per.results} results), whole library:`)
  console.log(
    `  single-resource checks: median ${us(per.single.median)}, p99 ${us(per.single.p99)}   (targets <= 300 µs, <= 1000 µs)  ${verdict(per.single.median <= 0.3 && per.single.p99 <= 1)}`,
  )
  console.log(
    `  with the cross-resource checks against a 10k inventory: median ${us(per.withCross.median)}, p99 ${us(per.withCross.p99)}`,
  )
}
