#!/usr/bin/env node
// Scan benchmark: builds a 10,000-resource input by replicating ../shared/corpus/real-manifests with
// renamed copies, then measures (1) the bare YAML parse of that input and (2) a full `scan` with the
// whole built-in library, each in a fresh process so peak RSS is that work's own.
// Usage: npm run bench [-- --resources 10000] [-- --corpus DIR]
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : dflt
}
const target = Number(opt('resources', '10000'))
const corpus = resolve(
  opt('corpus', process.env.PLIMSOLL_CORPUS ?? join(here, '..', '..', 'shared', 'corpus')),
  'real-manifests',
)

if (process.argv[2] === '--child') {
  // Child modes: measured in their own process.
  const [, , , mode, dir] = process.argv
  const { expandInputs, readSource } = await import('../dist/resources/inputs.js')
  const t0 = performance.now()
  let resources = 0
  if (mode === 'parse') {
    const { load } = await import('js-yaml')
    const { splitDocuments } = await import('../dist/resources/split.js')
    const { KUBERNETES_YAML_SCHEMA } = await import('../dist/resources/yaml-schema.js')
    const { files } = await expandInputs([dir])
    for (const f of files) {
      for (const chunk of splitDocuments(await readSource(f))) {
        const v = load(chunk.text, { schema: KUBERNETES_YAML_SCHEMA })
        if (v && typeof v === 'object') resources += Array.isArray(v.items) ? v.items.length : 1
      }
    }
  } else {
    const { loadLibrary } = await import('../dist/policy/library.js')
    const { scan } = await import('../dist/scan/scan.js')
    const jobs = mode === 'scan' ? undefined : 1
    // The Pod Security Standards two ways: our native checks, and Kyverno's pod-security policies
    // (kyverno/policies, from the corpus) run through the Kyverno adapter.
    const library =
      mode === 'pss-native'
        ? loadLibrary({ framework: 'pss-restricted' })
        : mode === 'pss-kyverno'
          ? loadLibrary({
              builtin: false,
              policies: [join(corpus, '..', 'kyverno-policies', 'pod-security')],
            })
          : loadLibrary()
    const report = await scan({ inputs: [dir], library, ...(jobs ? { jobs } : {}) })
    resources = report.summary.resources
    process.stderr.write(`findings=${report.summary.findings} checks=${report.summary.checks}\n`)
  }
  const ms = performance.now() - t0
  process.stdout.write(JSON.stringify({ ms, resources, rss: process.resourceUsage().maxRSS * 1024 }))
  process.exit(0)
}

// Build the input: copies of every corpus manifest, each resource renamed per copy.
const { expandInputs } = await import('../dist/resources/inputs.js')
const { parseSource } = await import('../dist/resources/parse.js')
const { files } = await expandInputs([corpus])
const sources = files.map((f) => ({ f, text: readFileSync(f, 'utf8') }))
const perCopy = sources.reduce((n, s) => n + parseSource(s.f, s.text).resources.length, 0)
const copies = Math.ceil(target / perCopy)
const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-'))
for (let c = 0; c < copies; c++) {
  const sub = join(dir, `copy-${c}`)
  mkdirSync(sub)
  sources.forEach(({ text }, i) => {
    writeFileSync(
      join(sub, `${i}.yaml`),
      text.replace(/^(\s+name:\s*)([A-Za-z0-9][-A-Za-z0-9.]*)\s*$/gm, `$1$2-c${c}`),
    )
  })
}

const child = (mode) => {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, dir], {
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}
// Warm the file cache, then take the best of three runs of each.
child('parse')
const best = (mode) => [child(mode), child(mode), child(mode)].sort((a, b) => a.ms - b.ms)[0]
const parse = best('parse')
const scan1 = best('scan-1')
const scan = best('scan')
const pssNative = best('pss-native')
const pssKyverno = best('pss-kyverno')
const { defaultJobs } = await import('../dist/scan/scan.js')
rmSync(dir, { recursive: true, force: true })

const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`
const rate = scan.resources / (scan.ms / 1000)
const ratio = scan.ms / parse.ms
console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${mb(totalmem())} RAM, node ${process.version}`,
)
console.log(
  `input: ${scan.resources} resources (${copies} renamed copies of ${files.length} real-manifests files)`,
)
console.log(`parse only: ${parse.ms.toFixed(0)} ms, peak RSS ${mb(parse.rss)}`)
console.log(`scan, 1 thread (full built-in library): ${scan1.ms.toFixed(0)} ms, peak RSS ${mb(scan1.rss)}`)
console.log(
  `scan, ${defaultJobs()} worker threads (the default): ${scan.ms.toFixed(0)} ms, peak RSS ${mb(scan.rss)}`,
)
console.log(
  `throughput: ${rate.toFixed(0)} resources/s (1 thread: ${(scan1.resources / (scan1.ms / 1000)).toFixed(0)})   (target >= 5000)  ${rate >= 5000 ? 'OK' : 'MISSED'}`,
)
console.log(
  `scan / parse time, both 1 thread: ${(scan1.ms / parse.ms).toFixed(2)}x (default threads: ${ratio.toFixed(2)}x)   (target <= 2.0)  ${scan1.ms / parse.ms <= 2 ? 'OK' : 'MISSED'}`,
)
// Evaluation time: the scan's time beyond the bare parse of the same input.
const evalRate = (r) => (r.resources / Math.max(1, r.ms - parse.ms)) * 1000
console.log(
  `PSS, 1 thread: native checks ${pssNative.ms.toFixed(0)} ms (${evalRate(pssNative).toFixed(0)} resources/s beyond parse), ` +
    `Kyverno pod-security policies ${pssKyverno.ms.toFixed(0)} ms (${evalRate(pssKyverno).toFixed(0)} resources/s beyond parse): ` +
    `native ${((pssKyverno.ms - parse.ms) / Math.max(1, pssNative.ms - parse.ms)).toFixed(1)}x faster`,
)
const peak = Math.max(scan.rss, scan1.rss)
console.log(`peak RSS: ${mb(peak)}   (target <= 300 MB)  ${peak <= 300 * 1024 * 1024 ? 'OK' : 'MISSED'}`)
