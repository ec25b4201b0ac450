/** A Markdown summary for pull-request comments and job summaries: counts, then the findings, worst first. */
import { SEVERITIES, severityRank } from '../policy/check.js'
import type { ScanReport } from '../scan/scan.js'
import { plural } from './plural.js'

const MAX_ROWS = 100

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function renderMarkdown(report: ScanReport): string {
  const s = report.summary
  const counts = [...SEVERITIES].reverse().map((sev) => `${s.bySeverity[sev]} ${sev}`)
  const lines = [
    '## Plimsoll',
    '',
    `${plural(s.resources, 'resource')} in ${plural(s.files, 'file')}, ${s.checks} checks (policy version ${report.policyVersion}): ` +
      `**${s.findings} findings** (${counts.join(', ')})${s.excepted ? `, ${s.excepted} excepted` : ''}${s.errors ? `, **${s.errors} input errors**` : ''}.`,
    '',
  ]
  const findings = report.findings
    .filter((f) => !f.excepted)
    .sort(
      (a, b) =>
        severityRank(b.severity) - severityRank(a.severity) ||
        a.location.file.localeCompare(b.location.file) ||
        a.location.line - b.location.line,
    )
  if (findings.length > 0) {
    lines.push('| severity | where | resource | finding | check |', '|---|---|---|---|---|')
    for (const f of findings.slice(0, MAX_ROWS)) {
      const r = f.resource
      lines.push(
        `| ${f.severity} | \`${cell(f.location.file)}:${f.location.line}\` | ${cell(`${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`)} | ${cell(f.message)} | \`${f.checkId}\` |`,
      )
    }
    if (findings.length > MAX_ROWS)
      lines.push('', `…and ${findings.length - MAX_ROWS} more (see the full report).`)
  }
  for (const e of report.errors)
    lines.push(
      '',
      `- input error: \`${cell(e.file)}${e.position ? `:${e.position.line}` : ''}\` ${cell(e.message)}`,
    )
  return `${lines.join('\n')}\n`
}
