/**
 * The API's JSON as types (docs/api.md): what `plimsoll serve` answers and takes. One definition for
 * both sides: the server's modules (src/policy, src/store, src/server) use and re-export these, and the
 * dashboard imports them (web/src/api.ts). Types, and the few value lists the wire format enumerates;
 * no import and no Node types, so that the web's typecheck and bundle can take this file as it is.
 */

// --- checks ------------------------------------------------------------------------------------

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical'

/** A framework control a check implements (`metadata.controls`). */
export interface Control {
  framework: string
  id: string
}

/** A check's metadata (docs/check-format.md), as `GET /api/checks` lists it. */
export interface CheckMetadata {
  id: string
  title: string
  severity: Severity
  category: string
  rationale?: string
  remediation?: string
  docs?: string
  controls: Control[]
}

// --- findings and resources --------------------------------------------------------------------

export const FINDING_STATES = ['open', 'excepted', 'resolved'] as const
export type FindingState = (typeof FINDING_STATES)[number]

export const FINDING_SORTS = ['severity', 'check', 'resource', 'first_seen', 'last_seen'] as const
export type FindingSort = (typeof FINDING_SORTS)[number]

export type Order = 'asc' | 'desc'

/** What excepts a finding: an annotation on the resource, or an exceptions file's (or the register's) entry. */
export type Exception =
  | { source: 'annotation'; reason: string }
  | { source: 'file'; file: string; index: number; owner: string; reason: string; expires: string }

export interface ResourceRef {
  id: number
  kind: string
  namespace: string
  name: string
  group: string
}

export interface FindingRow {
  id: number
  target: string
  checkId: string
  severity: Severity
  category: string
  message: string
  state: FindingState
  path: string
  container: string | null
  file: string
  line: number
  column: number
  firstSeen: string
  lastSeen: string
  resolvedAt: string | null
  reopened: number
  exception: Exception | null
  resource: ResourceRef
}

/** A page of a list: `{total, limit, offset, items}`. */
export interface Page<T> {
  total: number
  limit: number
  offset: number
  items: T[]
}

/** A resource where it was last seen. */
export interface Resource {
  id: number
  target: string
  group: string
  kind: string
  namespace: string
  name: string
  file: string
  firstSeen: string
  lastSeen: string
  /** the resource's YAML document; null when not stored (Secrets, credentials); absent on older servers */
  manifest?: string | null
  /** 1-based line of the manifest's first line in `file` */
  manifestLine?: number | null
}

/** `GET /api/resources/:id`: the resource and all its findings. */
export interface ResourceDetail extends Resource {
  findings: FindingRow[]
}

// --- posture -----------------------------------------------------------------------------------

export interface Scored {
  /** share of check × resource evaluations that pass, in percent, to a tenth */
  score: number
  applied: number
  failed: number
}

/** `GET /api/summary`: the posture now. */
export interface Summary extends Scored {
  /** open findings by severity; a severity without any is absent */
  open: Partial<Record<Severity, number>>
  byCategory: (Scored & { category: string })[]
  byFramework: { id: string; title: string; score: number }[]
  byNamespace: (Scored & { namespace: string })[]
  topChecks: { checkId: string; title: string; severity: Severity; open: number }[]
  topNamespaces: { namespace: string; open: number }[]
  targets: string[]
}

/** One day of `GET /api/trends`. */
export interface TrendPoint {
  /** YYYY-MM-DD */
  day: string
  open: number
  excepted: number
  bySeverity: Record<Severity, number>
}

export type ControlStatus = 'pass' | 'fail' | 'not-applicable'

export interface ControlResult {
  framework: string
  id: string
  title: string
  status: ControlStatus
  checks: string[]
  /** failures: (check, resource) pairs among the control's checks where the check failed */
  failed: number
}

/** `GET /api/compliance/:framework` (and a scan's compliance section). */
export interface ComplianceReport {
  framework: string
  title: string
  controls: ControlResult[]
  /** passing controls as a percentage of the applicable ones; 100 when none applies */
  score: number
}

// --- the exceptions register -------------------------------------------------------------------

/** What `POST /api/exceptions` and `PUT /api/exceptions/:id` take. */
export interface ExceptionInput {
  checks: string[]
  kinds?: string[]
  namespaces?: string[]
  names?: string[]
  labels?: Record<string, string>
  owner: string
  reason: string
  /** YYYY-MM-DD, today or later; the exception holds through that day */
  expires: string
}

/** An exception of the register, as the API answers it. */
export interface StoredExceptionView extends Required<ExceptionInput> {
  id: number
  createdBy: string
  createdAt: string
  expired: boolean
}

// --- errors ------------------------------------------------------------------------------------

/** One problem with a request, as a 400 lists them. */
export interface Problem {
  /** the part of the request: body, querystring, params */
  in: string
  /** JSON pointer into the part (`/owner`, `/checks/0`) */
  path: string
  message: string
}
