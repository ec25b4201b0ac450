/**
 * JUnit XML, the report every CI system shows as tests: one test suite per check, one test case per
 * finding, and one passing case for a check that applied and found nothing.
 */
import type { Severity } from '../policy/check.js'
import { type Finding, gatingFindings, type ScanReport } from '../scan/scan.js'
import { groupBy } from './group.js'

function xml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  )
}

/** Why a finding that does not fail the gate does not. */
function whyNotGating(f: Finding, failOn: Severity | undefined): string {
  if (f.inBaseline) return 'known finding, recorded in the baseline'
  return failOn === undefined ? 'not gating: --fail-on none' : `${f.severity}, below --fail-on ${failOn}`
}

/**
 * A test fails exactly when its finding fails the run's gate (`--fail-on`, the baseline), so the test
 * report a CI system shows agrees with the job's status; the other findings are listed as skipped tests.
 */
export function renderJunit(report: ScanReport, failOn: Severity | undefined): string {
  const byCheck = groupBy(
    report.findings.filter((f) => !f.excepted),
    (f) => f.checkId,
  )
  const gating = new Set(failOn ? gatingFindings(report.findings, failOn) : [])
  const suites: string[] = []
  let tests = 0
  let failures = 0
  let skipped = 0
  for (const check of report.checks) {
    const found = byCheck.get(check.id) ?? []
    const applied = report.checkStats[check.id]?.applied ?? 0
    if (applied === 0 && found.length === 0) continue
    let suiteFailures = 0
    let suiteSkipped = 0
    const cases = found.map((f) => {
      const r = f.resource
      const name = `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}${f.container ? ` (${f.container.name})` : ''}`
      const where = `${f.location.file}:${f.location.line}:${f.location.column}`
      const detail = xml(`${where} ${f.path}\n${f.message}`)
      const why = gating.has(f) ? undefined : whyNotGating(f, failOn)
      if (why) suiteSkipped++
      else suiteFailures++
      const body = why
        ? `      <skipped message="${xml(`${why}: ${f.message}`)}"/>\n      <system-out>${detail}</system-out>\n`
        : `      <failure message="${xml(f.message)}" type="${f.severity}">${detail}</failure>\n`
      return `    <testcase classname="${xml(f.location.file)}" name="${xml(name)}">\n${body}    </testcase>`
    })
    if (cases.length === 0) {
      const label = applied === 1 ? '1 resource passes' : `${applied} resources pass`
      cases.push(`    <testcase classname="plimsoll" name="${label}"/>`)
    }
    tests += cases.length
    failures += suiteFailures
    skipped += suiteSkipped
    suites.push(
      `  <testsuite name="${xml(check.id)}" tests="${cases.length}" failures="${suiteFailures}" errors="0" skipped="${suiteSkipped}">\n` +
        `    <properties><property name="severity" value="${check.severity}"/><property name="title" value="${xml(check.title)}"/></properties>\n` +
        `${cases.join('\n')}\n  </testsuite>`,
    )
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="plimsoll" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${(report.durationMs / 1000).toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`
}
