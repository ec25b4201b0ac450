#!/usr/bin/env node
// Mutate benchmark: Kyverno's pod-security and best-practices policies (../shared/corpus/kyverno-policies:
// those category folders and their *-mpol twins, whichever exist) over the scan bench's 10,000-resource
// workload input (renamed copies of five install manifests, bench/lib/inputs.mjs). Prints the policies
// loaded, then resources/s, one thread, in process:
// - mutate: read, parse, mutate every resource and write the changed documents anew, as `plimsoll mutate`;
// - validate: `scan` with the same policies' validate rules only (the resources as written);
// - scan: `scan` with both, each resource mutated and then checked, as `plimsoll scan --policy` runs them;
// beside the bare read and parse of the same input. Each runs in a fresh process, best of three (with the
// spread), and the load average when the runs began: the machine is often shared.
// Usage: node bench/mutate.mjs [--resources 10000] [--corpus DIR] [--dist DIR]
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { args, dist, mod, opt } from './lib/args.mjs'
import { WORKLOAD_FILES, WORKLOAD_RESOURCES_PER_COPY, writeCopies } from './lib/inputs.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const CATEGORIES = ['pod-security', 'best-practices']

const corpusRoot = resolve(
  opt('corpus', process.env.PLIMSOLL_CORPUS ?? join(here, '..', '..', 'shared', 'corpus')),
)

/** The policy files of the categories and their -mpol twins: the YAML files outside their test folders. */
function policyFiles() {
  const out = []
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.')) continue
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (/\.ya?ml$/.test(name)) out.push(path)
    }
  }
  for (const category of CATEGORIES.flatMap((c) => [c, `${c}-mpol`])) {
    const dir = join(corpusRoot, 'kyverno-policies', category)
    if (existsSync(dir)) walk(dir)
  }
  return out
}

if (args[0] === '--child') {
  const out = await child(args[1], args[2])
  process.stderr.write(`\n@@${JSON.stringify({ ...out, rss: process.resourceUsage().maxRSS * 1024 })}\n`)
  process.exit(0)
} else {
  await main()
}

async function child(mode, dir) {
  const { loadLibrary } = await mod('policy/library.js')
  const { expandInputs, readSource } = await mod('resources/inputs.js')
  const { DEFAULT_LIMITS, parseSource } = await mod('resources/parse.js')
  const { scan } = await mod('scan/scan.js')
  const { mutateSource } = await mod('scan/mutate.js')
  const library = loadLibrary({ builtin: false, policies: policyFiles() })
  const { files } = await expandInputs([dir])
  const t0 = performance.now()
  if (mode === 'parse') {
    let resources = 0
    for (const f of files) resources += parseSource(f, await readSource(f)).resources.length
    return { ms: performance.now() - t0, resources }
  }
  if (mode === 'mutate') {
    let resources = 0
    let changed = 0
    let bytes = 0
    for (const f of files) {
      const r = mutateSource(library.mutator, f, await readSource(f), DEFAULT_LIMITS)
      resources += r.resources
      for (const d of r.documents) {
        changed += d.mutations.length
        bytes += d.text.length
      }
    }
    return { ms: performance.now() - t0, resources, changed, bytes }
  }
  if (mode === 'validate') delete library.mutator
  const report = await scan({ inputs: [dir], library, jobs: 1 })
  return {
    ms: performance.now() - t0,
    resources: report.summary.resources,
    findings: report.summary.findings,
    mutated: report.summary.mutated ?? 0,
  }
}

function run(mode, dir) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, dir, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  const line = r.stderr.split('\n').find((l) => l.startsWith('@@'))
  if (r.status !== 0 || !line) throw new Error(`${mode} failed (${r.status}): ${r.stderr.slice(-2000)}`)
  return JSON.parse(line.slice(2))
}

/** The best of three runs, with the spread of the three. */
function best(mode, dir) {
  const runs = [run(mode, dir), run(mode, dir), run(mode, dir)].sort((a, b) => a.ms - b.ms)
  return { ...runs[0], spread: `${(runs[0].ms / 1000).toFixed(2)}-${(runs[2].ms / 1000).toFixed(2)} s` }
}

async function main() {
  const corpus = join(corpusRoot, 'real-manifests')
  const target = Number(opt('resources', '10000'))
  const copies = Math.ceil(target / WORKLOAD_RESOURCES_PER_COPY)
  const { loadLibrary } = await mod('policy/library.js')
  const files = policyFiles()
  const library = loadLibrary({ builtin: false, policies: files })
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`)
  console.log(`build: ${dist}`)
  console.log(
    `policies: ${files.length} files from kyverno-policies/{${CATEGORIES.map((c) => `${c},${c}-mpol`).join(',')}}`,
  )
  const mutating = library.mutator?.policies ?? []
  console.log(
    `  mutate (${mutating.length}): ${mutating.map((p) => `${p.kind} ${p.name}`).join(', ') || 'none'}`,
  )
  const checks = library.foreign?.checks ?? []
  const validating = [...new Set(checks.map((c) => c.id.split(':')[0]))]
  console.log(`  validate (${validating.length} policies, ${checks.length} rules): ${validating.join(', ')}`)
  for (const w of library.policyWarnings) console.log(`  ${w.replace(/^.*kyverno-policies\//, '')}`)

  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-mutate-'))
  writeCopies(corpus, dir, copies, WORKLOAD_FILES)
  run('parse', dir) // warm the file cache
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
  const parse = best('parse', dir)
  const mutate = best('mutate', dir)
  const validate = best('validate', dir)
  const both = best('scan', dir)
  rmSync(dir, { recursive: true, force: true })
  const n = parse.resources
  const rate = (r) => `${(n / (r.ms / 1000)).toFixed(0)} resources/s`
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`
  console.log(
    `\nworkload: ${n} resources (${copies} renamed copies of ${WORKLOAD_FILES.length} files), load average ${load}; 1 thread, in process, best of 3 (spread)`,
  )
  console.log(`  read + parse:                ${s(parse.ms)} (${parse.spread}): ${rate(parse)}`)
  console.log(
    `  mutate (plimsoll mutate):    ${s(mutate.ms)} (${mutate.spread}): ${rate(mutate)}; ${mutate.changed} resources changed`,
  )
  console.log(
    `  validate (validate rules):   ${s(validate.ms)} (${validate.spread}): ${rate(validate)}; ${validate.findings} findings`,
  )
  console.log(
    `  scan (mutate, then validate): ${s(both.ms)} (${both.spread}): ${rate(both)}; ${both.mutated} resources mutated, ${both.findings} findings`,
  )
  console.log(
    `  mutation's own cost: ${s(mutate.ms - parse.ms)} over the parse; in a scan ${s(both.ms - validate.ms)} over validate alone`,
  )
}
