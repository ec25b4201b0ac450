/**
 * The human report: findings grouped by file, then by resource, worst first within a resource; load
 * errors where they occurred; one closing summary line. Colour only when asked (the CLI asks on a TTY).
 */
import { createColors } from 'picocolors'
import { entryName } from '../api-types.js'
import { SEVERITIES, type Severity, severityRank } from '../policy/check.js'
import { type Exception, isExpiryDate } from '../policy/exceptions.js'
import type { ComplianceReport } from '../policy/frameworks.js'
import type { LoadError } from '../resources/types.js'
import type { ResourceMutations } from '../scan/mutate.js'
import { type Finding, gatingFindings, type ScanReport } from '../scan/scan.js'
import { resourceLabel, type UnaccountedException } from './exception-warnings.js'
import { groupBy } from './group.js'
import { stepLines } from './mutations.js'
import { plural } from './plural.js'

export interface TextOptions {
  color: boolean
  /** The --fail-on threshold, to say in the summary how many findings fail the gate. */
  failOn?: Severity
  /**
   * Exceptions without owner or expiry. The CLI finds them among all findings, excepted ones included,
   * which the report leaves out unless --show-excepted.
   */
  unaccounted?: readonly UnaccountedException[]
}

const LABEL: Record<Severity, string> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  medium: 'MEDIUM',
  low: 'LOW',
  info: 'INFO',
}

export function renderText(report: ScanReport, options: TextOptions): string {
  const c = createColors(options.color)
  const paint: Record<Severity, (s: string) => string> = {
    critical: (s) => c.bold(c.red(s)),
    high: c.red,
    medium: c.yellow,
    low: c.cyan,
    info: c.dim,
  }
  const byFile = new Map<
    string,
    { findings: Finding[]; errors: LoadError[]; mutations: Map<string, ResourceMutations> }
  >()
  const entry = (file: string) => {
    let e = byFile.get(file)
    if (!e) {
      e = { findings: [], errors: [], mutations: new Map() }
      byFile.set(file, e)
    }
    return e
  }
  for (const f of report.findings) entry(f.location.file).findings.push(f)
  for (const e of report.errors) entry(e.file).errors.push(e)
  for (const m of report.mutations ?? [])
    entry(m.location.file).mutations.set(resourceKey(m.location.documentIndex, m.resource), m)

  const lines: string[] = []
  const width = Math.max(...SEVERITIES.map((s) => LABEL[s].length))
  for (const [file, { findings, errors, mutations }] of byFile) {
    lines.push(c.bold(c.underline(file)))
    for (const e of errors) {
      const where = e.position ? `${e.position.line}:${e.position.column}` : '-'
      lines.push(`  ${c.magenta('ERROR'.padEnd(width))}  ${where.padEnd(8)} ${e.message}`)
    }
    const byResource = groupBy(findings, (f) => resourceKey(f.location.documentIndex, f.resource))
    // Resources a policy mutated and no check faults take their place in document order.
    const groups: { key: string; group: Finding[]; at: ResourceMutations['location'] }[] = [
      ...byResource,
    ].map(([key, group]) => ({ key, group, at: group[0]!.location }))
    for (const [key, m] of mutations)
      if (!byResource.has(key)) groups.push({ key, group: [], at: m.location })
    if (mutations.size > 0) groups.sort((a, b) => a.at.documentIndex - b.at.documentIndex)
    for (const { key, group, at } of groups) {
      const mutated = mutations.get(key)
      const template = at.template
      const from = template ? c.dim(`  from ${template}`) : ''
      lines.push(`  ${c.bold(resourceLabel(group[0]?.resource ?? mutated!.resource))}${from}`)
      for (const step of mutated?.mutations ?? []) {
        const [head, ...changes] = stepLines(step, '    ')
        lines.push(step.status === 'pass' ? c.blue(head!) : c.magenta(head!), ...changes.map(c.dim))
      }
      group.sort(
        (a, b) => severityRank(b.severity) - severityRank(a.severity) || a.location.line - b.location.line,
      )
      for (const f of group) {
        const label = f.excepted
          ? c.dim('EXCEPTED'.padEnd(width))
          : f.status === 'error'
            ? c.magenta('ERROR'.padEnd(width))
            : paint[f.severity](LABEL[f.severity].padEnd(width))
        const why = f.excepted
          ? c.dim(` (excepted: ${f.excepted.reason}; ${ownerOf(f.excepted)}, ${untilOf(f.excepted)})`)
          : f.exceptionExpired
            ? c.yellow(` (${expiredOf(f.exceptionExpired)}; ${ownerOf(f.exceptionExpired)})`)
            : f.inBaseline
              ? c.dim(' (in baseline)')
              : ''
        const where = `${f.location.line}:${f.location.column}`.padEnd(8)
        // Most messages name their container already; add it only where the message does not.
        const c0 = f.container
        const container =
          c0 && !f.message.includes(c0.name)
            ? `${c0.type === 'containers' ? 'container' : c0.type.replace(/s$/, '')} "${c0.name}": `
            : ''
        lines.push(`    ${label}  ${c.dim(where)} ${container}${f.message}${why}  ${c.dim(`[${f.checkId}]`)}`)
      }
    }
    lines.push('')
  }
  for (const stale of report.staleExceptions) {
    lines.push(
      c.yellow(
        `Stale exception ${entryName(stale.file, stale.index)} (${stale.checks.join(', ')}; owner ${stale.owner}) matches no finding: remove it or fix its matchers.`,
      ),
    )
  }
  if (report.staleExceptions.length > 0) lines.push('')
  for (const u of options.unaccounted ?? []) {
    lines.push(
      c.yellow(
        `Exception without owner or expiry: ${u.annotation} on ${resourceLabel(u.resource)} (${u.file}): add ${u.annotation}.owner and .expires annotations.`,
      ),
    )
  }
  if ((options.unaccounted ?? []).length > 0) lines.push('')
  if (report.compliance) lines.push(...complianceLines(report.compliance, c), '')
  lines.push(summaryLine(report, options, c))
  return `${lines.join('\n')}\n`
}

function resourceKey(
  documentIndex: number,
  r: { kind: string; name: string; namespace?: string | undefined },
): string {
  return `${documentIndex}\u0000${r.kind}\u0000${r.namespace ?? ''}\u0000${r.name}`
}

const ownerOf = (e: Exception) => (e.owner === undefined ? 'no owner' : `owner ${e.owner}`)
const untilOf = (e: Exception) => (e.expires === undefined ? 'no expiry' : `until ${e.expires}`)

function expiredOf(e: Exception): string {
  const expires = e.expires ?? ''
  return isExpiryDate(expires)
    ? `exception expired ${expires}`
    : `exception's expiry '${expires}' is not a date like 2027-01-31`
}

function complianceLines(report: ComplianceReport, c: ReturnType<typeof createColors>): string[] {
  const applicable = report.controls.filter((x) => x.status !== 'not-applicable')
  const passed = applicable.filter((x) => x.status === 'pass').length
  const head = `${report.title}: ${passed} of ${applicable.length} applicable controls pass (score ${report.score}%)`
  const label = { pass: c.green('PASS'), fail: c.red('FAIL'), 'not-applicable': c.dim('N/A ') }
  const width = Math.max(...report.controls.map((x) => x.id.length))
  return [
    c.bold(head),
    ...report.controls.map((x) => {
      const detail = x.status === 'fail' ? ` — ${plural(x.failed, 'failure')}` : ''
      const checks = x.checks.length > 0 ? c.dim(` [${x.checks.join(', ')}]`) : c.dim(' [no check yet]')
      return `  ${label[x.status]}  ${x.id.padEnd(width)}  ${x.title}${detail}${checks}`
    }),
  ]
}

/** With --as-server: which release's API server the resources were judged as, and how many it changed. */
function asServer(report: ScanReport): string {
  const a = report.asServer
  return a ? `, as ${a.version} would store them: ${plural(a.changed.length, 'resource')} changed` : ''
}

function summaryLine(report: ScanReport, options: TextOptions, c: ReturnType<typeof createColors>): string {
  const s = report.summary
  const parts = [...SEVERITIES]
    .reverse()
    .filter((sev) => s.bySeverity[sev] > 0)
    .map((sev) => `${s.bySeverity[sev]} ${sev}`)
  const scanned = `Scanned ${plural(s.resources, 'resource')} in ${plural(s.files, 'file')} against ${plural(s.checks, 'check')} (policy version ${report.policyVersion}${asServer(report)})`
  const found =
    s.findings === 0 ? c.green('no findings') : `${plural(s.findings, 'finding')} (${parts.join(', ')})`
  const errs = s.errors > 0 ? `, ${c.magenta(plural(s.errors, 'input error'))}` : ''
  const excepted = s.excepted > 0 ? `, ${s.excepted} excepted` : ''
  const mutated = s.mutated ? `, ${plural(s.mutated, 'resource')} mutated by policies` : ''
  const b = report.baseline
  const baseline = b ? `; baseline: ${b.new} new, ${b.existing} known, ${b.fixed} fixed` : ''
  const skips = [
    s.skipped > 0 ? `${plural(s.skipped, 'file')} with no Kubernetes objects` : '',
    report.skippedCharts.length > 0
      ? `${plural(report.skippedCharts.length, 'Helm chart')} [${report.skippedCharts.join(', ')}; scan with --helm]`
      : '',
  ].filter(Boolean)
  const skipped = skips.length > 0 ? ` (skipped ${skips.join(' and ')})` : ''
  let gate = ''
  if (options.failOn) {
    const failing = gatingFindings(report.findings, options.failOn).length
    gate =
      failing > 0
        ? `; ${c.red(`${failing} at or above ${options.failOn}`)}`
        : `; none at or above ${options.failOn}`
  }
  return `${scanned}${skipped}: ${found}${excepted}${mutated}${errs}${baseline}${gate} in ${report.durationMs} ms.`
}
