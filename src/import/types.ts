/**
 * What every importer turns another tool's report into: findings of that tool, in Plimsoll's terms.
 * The importers (one module per format) only read; recording is record.ts's job.
 */
import type { FixState } from '../api-types.js'
import type { Severity } from '../policy/check.js'
import type { Finding } from '../scan/scan-file.js'

export const IMPORT_FORMATS = [
  'trivy',
  'grype',
  'kubescape',
  'polaris',
  'kube-linter',
  'policy-report',
  'sarif',
] as const
export type ImportFormat = (typeof IMPORT_FORMATS)[number]

/** A fix state as Grype names it; Trivy's statuses are mapped onto these. */
export type { FixState }

export interface Vulnerability {
  /** CVE, GHSA, RHSA... as the tool reports it */
  id: string
  package: string
  installedVersion: string
  /** absent when no fixed version is known */
  fixedVersion?: string
  fixState: FixState
  /** the other ids the report gives for the same advisory (Grype's related vulnerabilities), sorted */
  aliases: string[]
  /** the package's ecosystem as the tool names it (apk, deb, rpm, gem, jar...), when stated */
  packageType?: string
  /** the image or artifact the package is in: the scanned image, or the image a `trivy k8s` result names */
  artifact: string
}

/**
 * A finding as Plimsoll's own are, but: `checkId` namespaced by the tool (`trivy:KSV-0001`; Plimsoll's
 * own ids never hold a colon), `status` `error` where the tool could not evaluate (a PolicyReport's
 * `error` result), and `resource` the Kubernetes object, or `Image/<ref>` for an image's vulnerability,
 * `File/<path>` for a file.
 */
export interface ImportedFinding
  extends Pick<Finding, 'checkId' | 'title' | 'severity' | 'category' | 'status' | 'message' | 'resource'> {
  /** the tool that found it, lower case: `trivy`, `grype`, `kubescape`... */
  tool: string
  container?: string
  /**
   * What tells two findings of one check on one resource apart, and nothing that drifts between runs
   * of the same state (no line, no timestamp): a field path, or `package <name>` for a vulnerability.
   */
  path: string
  file?: string
  line?: number
  vulnerability?: Vulnerability
}

export interface ImportedReport {
  format: ImportFormat
  /** the tools that wrote it (a SARIF file may hold several runs) and their versions when stated */
  tools: { name: string; version?: string }[]
  findings: ImportedFinding[]
}

/** A report that is not what its format says: names the file and what was expected. */
export class ImportError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`)
    this.name = 'ImportError'
  }
}

export type Json = Record<string, unknown>

export function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The array, or [] for null/absent (kube-linter writes `"Reports": null` for a clean run). */
export function arrayOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}

/** The other ids of advisory `id` among `ids` (non-text ones dropped): unique and sorted. */
export function aliasesOf(id: string, ids: readonly unknown[]): string[] {
  const out = new Set<string>()
  for (const x of ids) {
    const t = text(x)
    if (t !== undefined && t !== id) out.add(t)
  }
  return [...out].sort()
}

export function objects(v: unknown): Json[] {
  return arrayOf(v).filter(isObject)
}

export function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return undefined
}

/** A tool's word for severity, when it uses Plimsoll's five (any case); UNKNOWN and NEGLIGIBLE are info. */
export function severityWord(v: unknown): Severity | undefined {
  const s = text(v)?.toLowerCase()
  if (s === 'critical' || s === 'high' || s === 'medium' || s === 'low' || s === 'info') return s
  if (s === 'moderate') return 'medium'
  if (s === 'negligible' || s === 'unknown' || s === 'informational' || s === 'none') return 'info'
  return undefined
}

/** A CVSS-like 0-10 score, banded as CVSS v3 bands it (and as GitHub reads SARIF's security-severity). */
export function severityOfScore(score: number): Severity {
  if (score >= 9) return 'critical'
  if (score >= 7) return 'high'
  if (score >= 4) return 'medium'
  if (score > 0) return 'low'
  return 'info'
}

/**
 * The container a message names (`Container 'app' of Deployment...`, `container "server" is...`): the
 * tools that give no container field still say it, and two containers failing one check are two findings.
 */
export function containerInMessage(message: string): string | undefined {
  return /\bcontainer ['"]([^'"]+)['"]/i.exec(message)?.[1]
}

/** The group/version for a Kubernetes object from its group and version parts. */
export function apiVersionOf(group: string | undefined, version: string | undefined): string {
  return group ? `${group}/${version ?? ''}` : (version ?? '')
}
