/**
 * The counts `plimsoll kyverno test` ends with: tests passed, and the expected results by what they are
 * about (validate, mutate, generate...), since Plimsoll runs validations and reports the others as not
 * yet supported.
 */
import { RESULT_KINDS, type ResultKind } from './result-kind.js'
import type { TestReport } from './run.js'

export interface KindTally {
  total: number
  /** reproduced */
  matched: number
  unsupported: number
  /** a policy or rule that could not be loaded */
  error: number
  /** mismatched or missing: Plimsoll reached another verdict, or none */
  failed: number
}

export interface Summary {
  tests: number
  passed: number
  /** tests without expected results, which kyverno test does not run */
  skipped: number
  byKind: Partial<Record<ResultKind, KindTally>>
  total: number
  matched: number
  unsupported: number
}

export function testPassed(r: TestReport): boolean {
  return !r.skipped && r.entries.length > 0 && r.entries.every((e) => e.outcome === 'matched')
}

export function summarize(reports: readonly TestReport[]): Summary {
  const byKind: Partial<Record<ResultKind, KindTally>> = {}
  for (const e of reports.flatMap((r) => r.entries)) {
    const t = byKind[e.kind] ?? { total: 0, matched: 0, unsupported: 0, error: 0, failed: 0 }
    byKind[e.kind] = t
    t.total++
    if (e.outcome === 'matched') t.matched++
    else if (e.outcome === 'unsupported') t.unsupported++
    else if (e.outcome === 'error') t.error++
    else t.failed++
  }
  const tallies = Object.values(byKind)
  const sum = (key: keyof KindTally) => tallies.reduce((n, t) => n + t[key], 0)
  return {
    tests: reports.length,
    passed: reports.filter(testPassed).length,
    skipped: reports.filter((r) => r.skipped).length,
    byKind,
    total: sum('total'),
    matched: sum('matched'),
    unsupported: sum('unsupported'),
  }
}

const percent = (n: number, of: number) => (of === 0 ? '' : ` (${((100 * n) / of).toFixed(1)}%)`)

/** One line per kind of result present, in a fixed order. */
export function formatSummary(s: Summary): string {
  const notRun = s.skipped > 0 ? `, ${s.skipped} without expected results (not run)` : ''
  const lines = [`${s.tests} tests: ${s.passed} passed, ${s.tests - s.passed - s.skipped} not${notRun}`]
  for (const kind of RESULT_KINDS) {
    const t = s.byKind[kind]
    if (!t) continue
    lines.push(
      `  ${kind}: ${t.matched} of ${t.total} expected results reproduced${percent(t.matched, t.total)}, ` +
        `${t.unsupported} unsupported, ${t.failed} not reproduced, ${t.error} errors`,
    )
  }
  return lines.join('\n')
}
