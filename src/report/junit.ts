/**
 * JUnit XML, the report every CI system shows as tests: one test suite per check, one failing test case
 * per finding, and one passing case for a check that applied and found nothing.
 */
import type { ScanReport } from '../scan/scan.js'
import { groupBy } from './group.js'

function xml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  )
}

export function renderJunit(report: ScanReport): string {
  const byCheck = groupBy(
    report.findings.filter((f) => !f.excepted),
    (f) => f.checkId,
  )
  const suites: string[] = []
  let tests = 0
  let failures = 0
  for (const check of report.checks) {
    const found = byCheck.get(check.id) ?? []
    const applied = report.checkStats[check.id]?.applied ?? 0
    if (applied === 0 && found.length === 0) continue
    const cases = found.map((f) => {
      const r = f.resource
      const name = `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}${f.container ? ` (${f.container.name})` : ''}`
      const where = `${f.location.file}:${f.location.line}:${f.location.column}`
      return (
        `    <testcase classname="${xml(f.location.file)}" name="${xml(name)}">\n` +
        `      <failure message="${xml(f.message)}" type="${f.severity}">${xml(`${where} ${f.path}\n${f.message}`)}</failure>\n` +
        '    </testcase>'
      )
    })
    if (cases.length === 0) {
      const label = applied === 1 ? '1 resource passes' : `${applied} resources pass`
      cases.push(`    <testcase classname="plimsoll" name="${label}"/>`)
    }
    tests += cases.length
    failures += found.length
    suites.push(
      `  <testsuite name="${xml(check.id)}" tests="${cases.length}" failures="${found.length}" errors="0" skipped="0">\n` +
        `    <properties><property name="severity" value="${check.severity}"/><property name="title" value="${xml(check.title)}"/></properties>\n` +
        `${cases.join('\n')}\n  </testsuite>`,
    )
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="plimsoll" tests="${tests}" failures="${failures}" errors="0" time="${(report.durationMs / 1000).toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`
}
