/**
 * GitHub Actions workflow commands: each finding becomes an annotation on the pull request's diff,
 * at its file and line. critical/high are errors, medium warnings, low/info notices.
 */
import type { Severity } from '../policy/check.js'
import type { ScanReport } from '../scan/scan.js'

const LEVEL: Record<Severity, string> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'notice',
  info: 'notice',
}

function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C')
}

export function renderGithub(report: ScanReport): string {
  const lines = report.findings
    // Known findings (in the baseline) are not news on a pull request; SARIF keeps them, marked unchanged.
    .filter((f) => !f.excepted && !f.inBaseline)
    .map((f) => {
      const props = [
        `file=${escapeProperty(f.location.file)}`,
        `line=${f.location.line}`,
        `col=${f.location.column}`,
        `title=${escapeProperty(`${f.checkId} (${f.severity})`)}`,
      ]
      return `::${LEVEL[f.severity]} ${props.join(',')}::${escapeData(f.message)}`
    })
  for (const e of report.errors) {
    const at = e.position ? `,line=${e.position.line},col=${e.position.column}` : ''
    lines.push(
      `::error file=${escapeProperty(e.file)}${at},title=plimsoll input error::${escapeData(e.message)}`,
    )
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : ''
}
