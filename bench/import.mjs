#!/usr/bin/env node
// `plimsoll import` on every real report of the corpus (../shared/corpus/tool-reports: Trivy, Grype,
// Kubescape, Polaris, kube-linter, Kyverno's PolicyReports, SARIF): for each, the time to parse it
// (median of repeats) and to record it into a fresh SQLite store, first and then again (a re-import, which
// changes nothing), and at the end the time of the posture's vulnerability counts over everything
// imported. Prints findings/s; a report is a few hundred findings at most, so the figures are per-report
// latencies, not a throughput ceiling.
// Usage: npx tsc -p . && node bench/import.mjs [--repeats 30]
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '30' } } })
const REPEATS = Number(values.repeats)

const { readReport } = await import('../dist/import/read.js')
const { importReport, recordImport } = await import('../dist/import/record.js')
const { openStore } = await import('../dist/store/connect.js')
const { vulnerabilityPosture, vulnerabilitySummary } = await import('../dist/store/vulnerabilities.js')

const corpus = resolve(process.env.PLIMSOLL_CORPUS ?? join(import.meta.dirname, '../../shared/corpus'))
const reportsDir = join(corpus, 'tool-reports')

/** Every report file under the corpus's tool-reports, its licences and notes left out. */
function reports(dir) {
  const out = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) {
      if (name !== 'LICENSES') out.push(...reports(p))
    } else if (!name.endsWith('.md')) out.push(p)
  }
  return out
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (t0) => performance.now() - t0

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-import-'))
const store = await openStore(join(dir, 'bench.db'))
console.log(
  `import bench: ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}, ${REPEATS} parses each, node ${process.version}`,
)
console.log('report'.padEnd(62), 'findings  parse ms  record ms  again ms')
let totalFindings = 0
let totalParse = 0
let totalRecord = 0
try {
  for (const [i, file] of reports(reportsDir).entries()) {
    const name = relative(reportsDir, file)
    let parsed
    const parses = []
    for (let r = 0; r < REPEATS; r++) {
      const t0 = performance.now()
      parsed = readReport(file, 'auto')
      parses.push(ms(t0))
    }
    const target = `bench/${i}`
    const record = async () => {
      const t0 = performance.now()
      await recordImport(store, importReport([{ file, report: parsed }]), target, 'bench')
      return ms(t0)
    }
    const first = await record()
    const again = await record()
    const n = parsed.findings.length
    totalFindings += n
    totalParse += median(parses)
    totalRecord += first
    console.log(
      name.padEnd(62),
      String(n).padStart(8),
      median(parses).toFixed(2).padStart(9),
      first.toFixed(1).padStart(10),
      again.toFixed(1).padStart(9),
    )
  }
  const t0 = performance.now()
  const posture = await vulnerabilityPosture(store, undefined)
  const summary = await vulnerabilitySummary(store, {})
  const postureMs = ms(t0)
  console.log(
    `\nall: ${totalFindings} findings; parse ${Math.round(totalFindings / (totalParse / 1000))} findings/s, record (first import) ${Math.round(totalFindings / (totalRecord / 1000))} findings/s`,
  )
  console.log(
    `posture and summary over ${summary.count} vulnerabilities in ${posture.images} images: ${postureMs.toFixed(1)} ms`,
  )
} finally {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
}
