/**
 * GitLab Code Quality (the Code Climate issue format): a JSON array that GitLab shows inline in a merge
 * request's diff and in its Code Quality widget, comparing the merge request's findings with the target
 * branch's. Paths are relative to the project directory, as GitLab expects.
 */
import type { Severity } from '../policy/check.js'
import { fingerprint } from '../scan/baseline.js'
import type { Finding, ScanReport } from '../scan/scan.js'
import { projectSegments } from './project-path.js'

const SEVERITY: Record<Severity, string> = {
  info: 'info',
  low: 'minor',
  medium: 'major',
  high: 'critical',
  critical: 'blocker',
}

/** Code Climate's categories; GitLab shows them. */
function categoryOf(category: string): string {
  if (category === 'efficiency') return 'Performance'
  if (category === 'reliability' || category === 'governance') return 'Bug Risk'
  return 'Security'
}

function projectPath(file: string, cwd: string): string {
  return projectSegments(file, cwd)?.join('/') ?? file
}

function location(f: Finding, cwd: string) {
  // Rendered Helm output is nowhere in the repository; its template is.
  if (f.location.template) return { path: projectPath(f.location.template, cwd), lines: { begin: 1 } }
  return { path: projectPath(f.location.file, cwd), lines: { begin: f.location.line } }
}

export function renderCodeQuality(report: ScanReport, cwd: string = process.cwd()): string {
  const seen = new Map<string, number>()
  const issues = report.findings
    .filter((f) => !f.excepted)
    .map((f) => {
      // The baseline's fingerprint (no line numbers, so an edit elsewhere does not make an issue new),
      // numbered when one resource has the same finding twice: GitLab needs them unique.
      const base = fingerprint(f)
      const n = seen.get(base) ?? 0
      seen.set(base, n + 1)
      return {
        type: 'issue',
        check_name: f.checkId,
        description: `${f.resource.kind} ${f.resource.namespace ? `${f.resource.namespace}/` : ''}${f.resource.name}: ${f.message}`,
        categories: [categoryOf(f.category)],
        severity: SEVERITY[f.severity],
        fingerprint: n === 0 ? base : `${base}-${n}`,
        location: location(f, cwd),
      }
    })
  return `${JSON.stringify(issues, null, 2)}\n`
}
