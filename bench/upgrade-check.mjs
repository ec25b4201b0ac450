#!/usr/bin/env node
// Upgrade check benchmark (`plimsoll upgrade-check`, src/upgrade), on ../shared/corpus/real-manifests:
// every manifest there (the real install manifests of a dozen projects, CRDs included), and `--copies`
// renamed copies of them (as bench/scan.mjs makes its inputs) for a bigger estate. Prints, for two
// upgrades (v1.24 to v1.25, which removes a lot, and v1.32 to v1.33):
// - the evaluation alone (API lifecycle, features, Pod Security at both releases) in objects/s, the
//   best of three runs with the spread; the read and parse before it, once, for scale;
// - the store write of the v1.16 to v1.33 check with its findings (`--store`), three times, into a
//   fresh SQLite file, and into PostgreSQL when PLIMSOLL_BENCH_PG names a server (a database is created).
// Usage: npx tsc -p . && node bench/upgrade-check.mjs [--copies 20] [--corpus DIR] [--dist DIR]
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { mod, opt } from './lib/args.mjs'
import { benchDatabase } from './lib/bench-pg.mjs'
import { renamed } from './lib/inputs.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const corpus = resolve(
  opt('corpus', process.env.PLIMSOLL_CORPUS ?? join(here, '..', '..', 'shared', 'corpus')),
  'real-manifests',
)
const COPIES = Number(opt('copies', '20'))
if (!(Number.isInteger(COPIES) && COPIES >= 1))
  throw new Error(`--copies: expected a whole number >= 1, got ${COPIES}`)

const { expandInputs } = await mod('resources/inputs.js')
const { judgeUpgrade, loadUpgradeTables, objectsOfSource } = await mod('upgrade/judge.js')
const { counts } = await mod('upgrade/report.js')
const { openStore } = await mod('store/connect.js')
const { recordUpgradeCheck } = await mod('store/upgrade-checks.js')

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')
console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${load()}`,
)

const tables = loadUpgradeTables()
const { files } = await expandInputs([corpus])
const texts = files.map((file) => ({ file, text: readFileSync(file, 'utf8') }))
const bytes = texts.reduce((n, t) => n + t.text.length, 0)

/** Every object of the corpus and of its renamed copies, each locating its fields, and the parse time. */
function read(copies) {
  const t0 = performance.now()
  const objects = []
  for (let copy = 0; copy < copies; copy++)
    for (const { file, text } of texts) {
      const loaded = objectsOfSource(file, copy === 0 ? text : renamed(text, copy))
      if (!loaded.notKubernetes) objects.push(...loaded.objects)
    }
  return { objects, ms: performance.now() - t0 }
}

function evaluate(objects, from, to) {
  const times = []
  let report
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now()
    report = judgeUpgrade(tables, objects, { from, to, fromSource: 'flag', files: 0, errors: [], notes: [] })
    times.push(performance.now() - t0)
  }
  const best = Math.min(...times)
  const n = counts(report)
  console.log(
    `  v1.${from} -> v1.${to}: ${Math.round(objects.length / (best / 1000)).toLocaleString('en')} objects/s ` +
      `(best ${best.toFixed(0)} ms of 3, spread ${(Math.max(...times) - best).toFixed(0)} ms); ` +
      `${n.breaks} breaking, ${n.changes} Pod Security changes, ${n.deprecated} deprecated`,
  )
  return report
}

let report
for (const copies of [1, COPIES]) {
  const { objects, ms } = read(copies)
  console.log(
    `input: ${copies === 1 ? 'the corpus' : `${copies} renamed copies of the corpus`}: ${objects.length.toLocaleString('en')} objects from ${(files.length * copies).toLocaleString('en')} files, ${((bytes * copies) / 2 ** 20).toFixed(1)} MiB; read and parsed in ${ms.toFixed(0)} ms (not in the figures below)`,
  )
  evaluate(objects, 24, 25)
  evaluate(objects, 32, 33)
  const widest = evaluate(objects, 16, 33)
  if (copies === COPIES) report = widest
}

async function measure(name, location) {
  const store = await openStore(location)
  try {
    const times = []
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now()
      await recordUpgradeCheck(store, { report, target: 'bench', plimsollVersion: 'bench' })
      times.push(performance.now() - t0)
    }
    console.log(
      `  ${name}: ${times.map((t) => `${t.toFixed(0)} ms`).join(', ')} (3 checks of ${report.assessment.findings.length.toLocaleString('en')} findings, one transaction each)`,
    )
  } finally {
    await store.close()
  }
}

console.log(`store write of the v1.16 -> v1.33 check of ${COPIES} copies (--store):`)
const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-upgrade-'))
try {
  const file = join(dir, 'upgrade.db')
  await measure('sqlite', file)
  console.log(`  sqlite file after 3 checks: ${(statSync(file).size / 2 ** 20).toFixed(1)} MiB`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
const pgUrl = await benchDatabase('plimsoll_bench_upgrade')
if (pgUrl) await measure('postgres', pgUrl)
console.log(`load average after: ${load()}`)
