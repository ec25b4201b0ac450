/**
 * The JSON report. Its shape is a public contract (docs/output.md): fields are only ever added, and
 * `schemaVersion` changes if one is removed or changes meaning.
 */
import type { ScanReport } from '../scan/scan.js'
import { toolInfo } from '../version.js'

export const JSON_SCHEMA_VERSION = 1

/** Findings per piece: large enough that a piece is cheap to write, small enough to stay a few MB. */
const FINDINGS_PER_PIECE = 1000

/** Stands for the findings in the report's skeleton; a JSON string no finding's text can produce. */
const FINDINGS_MARK = '\u0000findings\u0000'

/**
 * The report in pieces, the same bytes as `JSON.stringify(report, null, 2)`: a large scan's report is
 * tens of megabytes, and as one string it (and its encoding on the way out) doubled the scan's memory.
 */
export function* renderJsonPieces(report: ScanReport): Generator<string> {
  // Check metadata and raw statistics are for other reports; the JSON schema stays what docs/output.md says.
  const { checks: _checks, checkStats: _stats, namespaceStats: _ns, ...rest } = report
  const { findings } = report
  const skeleton = JSON.stringify(
    { schemaVersion: JSON_SCHEMA_VERSION, tool: toolInfo(), ...rest, findings: FINDINGS_MARK },
    null,
    2,
  )
  // `findings` keeps its place among the keys (a spread key set again stays where it was). Its key is at
  // the top level, so their value is indented by one level (two spaces), each
  // finding by two.
  const [before, after] = skeleton.split(JSON.stringify(FINDINGS_MARK)) as [string, string]
  if (findings.length === 0) {
    yield `${before}[]${after}\n`
    return
  }
  yield `${before}[\n`
  // Stringified where they sit in the report, a top-level key's items, so that JSON.stringify indents
  // them: re-indenting each finding's text cost twice as much as stringifying it.
  const open = '{\n  "findings": [\n'
  const close = '\n  ]\n}'
  for (let i = 0; i < findings.length; i += FINDINGS_PER_PIECE) {
    const wrapped = JSON.stringify({ findings: findings.slice(i, i + FINDINGS_PER_PIECE) }, null, 2)
    const piece = wrapped.slice(open.length, wrapped.length - close.length)
    yield i + FINDINGS_PER_PIECE < findings.length ? `${piece},\n` : piece
  }
  yield `\n  ]${after}\n`
}

export function renderJson(report: ScanReport): string {
  return [...renderJsonPieces(report)].join('')
}
