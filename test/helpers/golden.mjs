// The scan's findings as the golden test pins them: one JSON line per finding, exactly as the JSON report
// writes it, with file paths relative to the scanned folder (so the lines do not depend on where it is).
// Also run by hand to record a new expectation when a change of findings is intended:
//   node test/helpers/golden.mjs <report.json> <scanned-folder> > expected.jsonl
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'

/** @param {{ findings: { location: { file: string } }[] }} report @param {string} root */
export function findingLines(report, root) {
  return report.findings.map((f) =>
    JSON.stringify({ ...f, location: { ...f.location, file: relative(root, f.location.file) } }),
  )
}

/** @param {string[]} lines */
export function digest(lines) {
  return createHash('sha256').update(lines.join('\n')).digest('hex')
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [report, root] = process.argv.slice(2)
  const lines = findingLines(JSON.parse(readFileSync(report, 'utf8')), root)
  process.stdout.write(`${lines.join('\n')}\n`)
}
