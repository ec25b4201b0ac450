/**
 * Records imported reports as one run of their target (source `import`), through the scans' own run
 * recorder: the same lifecycle (new, seen again, reopened, resolved when a complete newer import no
 * longer has it), the same exceptions register, the same findings pages.
 */
import { SEVERITIES } from '../policy/check.js'
import { exceptionIndex } from '../policy/exception-index.js'
import { type ExceptionRule, isExpired, utcToday } from '../policy/exceptions.js'
import { fingerprint } from '../scan/baseline.js'
import type { Finding, ScanReport } from '../scan/scan.js'
import type { Store } from '../store/connect.js'
import { type RecordOutcome, recordRun } from '../store/record-run.js'
import { upsertVulnerabilities, type VulnerabilityFacts } from '../store/vulnerabilities.js'
import type { ImportedFinding, ImportedReport } from './types.js'

/** Marks `excepted` (or `exceptionExpired`) as a scan does; imported findings carry no annotations. */
function applyExceptions(findings: Finding[], rules: readonly ExceptionRule[], today: string): void {
  if (rules.length === 0) return
  const index = exceptionIndex(rules)
  for (const f of findings) {
    const rule = index.find({
      checkId: f.checkId,
      kind: f.resource.kind,
      namespace: f.resource.namespace ?? '',
      name: f.resource.name,
      labels: {},
    })
    if (!rule) continue
    const { owner, reason, expires } = rule
    const exception = { source: 'file' as const, file: rule.file, index: rule.index, owner, reason, expires }
    if (isExpired(rule, today)) f.exceptionExpired = exception
    else f.excepted = exception
  }
}

export function toFinding(f: ImportedFinding, reportFile: string): Finding {
  return {
    checkId: f.checkId,
    title: f.title,
    severity: f.severity,
    category: f.category,
    status: f.status,
    message: f.message,
    resource: f.resource,
    ...(f.container ? { container: { name: f.container, type: 'containers' } } : {}),
    path: f.path,
    location: { file: f.file ?? reportFile, line: f.line ?? 0, column: 0, documentIndex: 0 },
  }
}

/**
 * `import:trivy trivy@0.50.1`, `import:policy-report kyverno+validatingadmissionpolicy`: the formats,
 * then the tools and their versions, in the run's policy_version column.
 */
export function importVersion(reports: readonly ImportedReport[]): string {
  const formats = [...new Set(reports.map((r) => r.format))].sort()
  const tools = new Map<string, string | undefined>()
  for (const r of reports)
    for (const t of r.tools) if (!tools.has(t.name) || t.version) tools.set(t.name, t.version)
  const names = [...tools].sort(([a], [b]) => a.localeCompare(b))
  return `import:${formats.join('+')} ${names.map(([n, v]) => (v ? `${n}@${v}` : n)).join('+')}`.trim()
}

/** An import's ScanReport, and the vulnerabilities among its findings by their fingerprints. */
export interface ImportScanReport extends ScanReport {
  vulnerabilities: Map<string, VulnerabilityFacts>
}

/** The ScanReport a set of imported reports makes: what the run recorder and the summary read. */
export function importReport(
  reports: readonly { file: string; report: ImportedReport }[],
  rules: readonly ExceptionRule[] = [],
  now = new Date(),
  today = utcToday(),
): ImportScanReport {
  // One finding per fingerprint, as the store keeps them, so that the summary counts what is recorded.
  const unique = new Map<string, Finding>()
  const vulnerabilities = new Map<string, VulnerabilityFacts>()
  for (const { file, report } of reports)
    for (const f of report.findings) {
      const finding = toFinding(f, file)
      const fp = fingerprint(finding)
      if (unique.has(fp)) continue
      unique.set(fp, finding)
      if (f.vulnerability) vulnerabilities.set(fp, { tool: f.tool, vulnerability: f.vulnerability })
    }
  const findings = [...unique.values()]
  applyExceptions(findings, rules, today)
  const open = findings.filter((f) => !f.excepted)
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as ScanReport['summary']['bySeverity']
  for (const f of open) bySeverity[f.severity]++
  const resourceKeys = new Set(
    findings.map((f) => [f.resource.kind, f.resource.namespace ?? '', f.resource.name].join('\u0000')),
  )
  return {
    policyVersion: importVersion(reports.map((r) => r.report)),
    startedAt: now.toISOString(),
    durationMs: 0,
    summary: {
      files: reports.length,
      resources: resourceKeys.size,
      checks: new Set(findings.map((f) => f.checkId)).size,
      // Other tools' passes are not carried over: posture counts Plimsoll's own evaluations.
      passed: 0,
      findings: open.length,
      bySeverity,
      errors: 0,
      skipped: 0,
      excepted: findings.length - open.length,
    },
    findings,
    errors: [],
    skipped: [],
    skippedCharts: [],
    checks: [],
    checkStats: {},
    namespaceStats: {},
    staleExceptions: [],
    vulnerabilities,
  }
}

/** The formats of an import run's policy_version (`import:trivy trivy@dev` → trivy). */
function formatsOf(policyVersion: string): string {
  if (!policyVersion.startsWith('import:')) return ''
  return policyVersion.slice('import:'.length).split(' ')[0]!.split('+').join(', ')
}

/**
 * Why recording this import under `target` would resolve findings it has no say on, or undefined.
 * A complete run resolves every finding of its target that it does not report: a target scanned by
 * Plimsoll, or fed by another tool, would lose those findings to an import that never looked at them.
 */
export async function targetConflict(
  store: Store,
  target: string,
  report: ScanReport,
): Promise<string | undefined> {
  const last = await store.db
    .selectFrom('runs')
    .select(['source', 'policy_version'])
    .where('target', '=', target)
    .orderBy('id', 'desc')
    .executeTakeFirst()
  if (!last) return undefined
  const now = formatsOf(report.policyVersion)
  const suggestion = `'${target}/${now.split(', ')[0]}'`
  if (last.source !== 'import')
    return `target '${target}' holds ${last.source} scans by Plimsoll, which an import would resolve (it resolves whatever its target's last run found and it does not). Import under a target of its own, e.g. ${suggestion}`
  const before = formatsOf(last.policy_version)
  if (before !== now)
    return `target '${target}' holds ${before} imports, and this is ${now}: it would resolve their findings. Import each format under a target of its own, e.g. ${suggestion}`
  return undefined
}

export async function recordImport(
  store: Store,
  report: ImportScanReport,
  target: string,
  plimsollVersion: string,
): Promise<RecordOutcome> {
  return recordRun(store, report, {
    source: 'import',
    target,
    plimsollVersion,
    afterFindings: (trx, run) => upsertVulnerabilities(trx, target, run, report.vulnerabilities),
  })
}
