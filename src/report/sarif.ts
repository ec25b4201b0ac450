/**
 * SARIF 2.1.0, the format code-scanning services read (GitHub code scanning, GitLab, Azure DevOps).
 * One rule per check that ran, with its rationale, remediation and help URI; one result per finding at
 * the key its path names. Fingerprints are the baseline's, so a service that tracks results across
 * commits sees the same identity Plimsoll's own baseline does. Input errors become tool notifications.
 */
import { pathToFileURL } from 'node:url'
import type { CheckMetadata, Severity } from '../policy/check.js'
import { fingerprint } from '../scan/baseline.js'
import type { Finding, ScanReport } from '../scan/scan.js'
import { toolInfo } from '../version.js'
import { projectSegments } from './project-path.js'

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json'

type Level = 'error' | 'warning' | 'note'

const LEVEL: Record<Severity, Level> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
}

/**
 * GitHub ranks security results by this property (a CVSS-like score as a string): over 9.0 is
 * critical, 7.0-8.9 high, 4.0-6.9 medium, under 4.0 low.
 */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '1.0',
}

/**
 * A relative path stays relative (to the directory the scan ran in, %SRCROOT% to code scanning), with
 * forward slashes and each segment percent-encoded; an absolute one inside the working directory is made
 * relative, one outside it becomes a file: URI.
 */
function artifactLocation(file: string, cwd: string): { uri: string; uriBaseId?: string } {
  const segments = projectSegments(file, cwd)
  if (!segments) return { uri: pathToFileURL(file).href }
  const uri = segments
    .filter((s) => s !== '.')
    .map((s) => encodeURIComponent(s))
    .join('/')
  return { uri, uriBaseId: '%SRCROOT%' }
}

function pascalCase(id: string): string {
  return id.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase())
}

function rule(check: CheckMetadata) {
  const help = [check.rationale, check.remediation && `Fix: ${check.remediation}`].filter(Boolean)
  const helpText = help.length > 0 ? help.join('\n\n') : check.title
  const controls = check.controls.map((c) => `${c.framework}:${c.id}`)
  return {
    id: check.id,
    name: pascalCase(check.id),
    shortDescription: { text: check.title },
    fullDescription: { text: check.rationale ?? check.title },
    help: {
      text: helpText,
      markdown: [
        check.rationale ?? check.title,
        check.remediation ? `**Fix:** ${check.remediation}` : '',
        controls.length > 0 ? `**Controls:** ${controls.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    },
    ...(check.docs ? { helpUri: check.docs } : {}),
    defaultConfiguration: { level: LEVEL[check.severity] },
    properties: {
      tags: ['kubernetes', check.category, ...controls],
      precision: 'very-high',
      'security-severity': SECURITY_SEVERITY[check.severity],
      severity: check.severity,
    },
  }
}

function resourceName(f: Finding): string {
  const r = f.resource
  return `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`
}

function messageText(f: Finding): string {
  const text = f.status === 'error' ? `${f.checkId} could not be evaluated: ${f.message}` : f.message
  return f.location.template ? `${text} (rendered by ${f.location.file}, line ${f.location.line})` : text
}

function result(f: Finding, ruleIndex: number, cwd: string, baseline: boolean) {
  const logical = `${resourceName(f)}${f.container ? `/${f.container.name}` : ''}`
  const out: Record<string, unknown> = {
    ruleId: f.checkId,
    ruleIndex,
    level: f.status === 'error' ? 'error' : LEVEL[f.severity],
    message: { text: messageText(f) },
    locations: [
      {
        physicalLocation: f.location.template
          ? // Rendered Helm output exists nowhere on disk; the template it came from does (lines differ).
            { artifactLocation: artifactLocation(f.location.template, cwd), region: { startLine: 1 } }
          : {
              artifactLocation: artifactLocation(f.location.file, cwd),
              region: { startLine: f.location.line, startColumn: f.location.column },
            },
        logicalLocations: [{ fullyQualifiedName: f.path ? `${logical}:${f.path}` : logical, kind: 'object' }],
      },
    ],
    partialFingerprints: { 'plimsoll/v1': fingerprint(f) },
    properties: {
      severity: f.severity,
      resource: f.resource,
      ...(f.path ? { path: f.path } : {}),
      ...(f.container ? { container: f.container } : {}),
      ...(f.exceptionExpired ? { exceptionExpired: f.exceptionExpired } : {}),
    },
  }
  if (baseline) out.baselineState = f.inBaseline ? 'unchanged' : 'new'
  if (f.excepted) {
    const e = f.excepted
    out.suppressions = [
      e.source === 'annotation'
        ? {
            kind: 'inSource',
            status: 'accepted',
            justification:
              e.owner === undefined && e.expires === undefined
                ? e.reason
                : `${e.reason} (owner ${e.owner ?? 'none'}, expires ${e.expires ?? 'never'})`,
          }
        : {
            kind: 'external',
            status: 'accepted',
            justification: `${e.reason} (owner ${e.owner}, expires ${e.expires})`,
            location: { physicalLocation: { artifactLocation: artifactLocation(e.file, cwd) } },
          },
    ]
  }
  return out
}

export function renderSarif(report: ScanReport, cwd: string = process.cwd()): string {
  const { name, version } = toolInfo()
  const ruleIndex = new Map(report.checks.map((c, i) => [c.id, i]))
  const notifications = report.errors.map((e) => ({
    level: 'error',
    message: { text: e.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: artifactLocation(e.file, cwd),
          ...(e.position ? { region: { startLine: e.position.line, startColumn: e.position.column } } : {}),
        },
      },
    ],
  }))
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'Plimsoll',
            semanticVersion: version,
            version,
            rules: report.checks.map(rule),
          },
        },
        automationDetails: { id: `${name}/scan/` },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(`${cwd}/`).href } },
        invocations: [
          {
            executionSuccessful: true,
            startTimeUtc: report.startedAt,
            toolExecutionNotifications: notifications,
          },
        ],
        results: report.findings
          .filter((f) => ruleIndex.has(f.checkId))
          .map((f) => result(f, ruleIndex.get(f.checkId)!, cwd, report.baseline !== undefined)),
        properties: {
          policyVersion: report.policyVersion,
          ...(report.asServer ? { asServer: report.asServer.version } : {}),
          summary: report.summary,
        },
      },
    ],
  }
  return `${JSON.stringify(log, null, 2)}\n`
}
