/**
 * The API client: the JSON of `plimsoll serve` as types (defined once, in src/api-types.ts), the
 * endpoints the dashboard reads, and the exceptions register's changes. The token, if any, lives in
 * sessionStorage and goes out as `Authorization: Bearer`; a 401 is announced so the app can ask for one.
 */

import type {
  AdmissionDecision,
  AdmissionOutcome,
  AdmissionSummary,
  AlertGroups,
  AssessmentAnswersRequest,
  AssessmentAnswerView,
  AssessmentQuestionView,
  AssessmentSummaryView,
  AssessmentView,
  AuditDetection,
  AuditDetectionDetail,
  AuditPriority,
  AuditSummary,
  CheckMetadata,
  ClusterDetail,
  ClusterEvent,
  ClusterSummary,
  ComplianceReport,
  Control,
  CursorPage,
  EnforcementPlan,
  Exception,
  ExceptionInput,
  ExceptionState,
  FindingRow,
  FindingSort,
  FindingState,
  Order,
  Page,
  PlannableCluster,
  Problem,
  RegisterSummary,
  ResourceDetail,
  RightsizingQuery,
  Severity,
  SilenceRequest,
  SilenceView,
  StoredExceptionView,
  Summary,
  TrendPoint,
  UpgradeArea,
  UpgradeCheckSummaryView,
  UpgradeCheckView,
  UpgradeImpact,
  UsageCost,
  UsageCostGroup,
  UsageRightsizing,
  UsageSnapshotView,
  UsageUtilisation,
  VulnerabilityGrouping,
  VulnerabilityGroupView,
  VulnerabilitySummaryView,
  VulnerabilityView,
} from '../../src/api-types.js'

// The API's JSON has one definition, shared with the server (types only: nothing of src/ is bundled).
export type * from '../../src/api-types.js'

// The dashboard's names for some of them.
/** A check's metadata, as `/api/checks` lists it. */
export type Check = CheckMetadata
export type ControlRef = Control
export type Finding = FindingRow
export type FindingException = Exception
/** An exception of the register. */
export type DebtException = StoredExceptionView

/** Worst first: the order the dashboard lists and filters them in. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const satisfies readonly Severity[]

export { entryName, FINDING_SORTS, FINDING_STATES, isUnaccounted, PSS_LEVELS } from '../../src/api-types.js'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: Problem[] = [],
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

// --- the token ---------------------------------------------------------------------------------

const TOKEN_KEY = 'plimsoll.token'
/** Sent on window when the server answered 401: the app shows the sign-in dialog. */
export const UNAUTHORIZED_EVENT = 'plimsoll:unauthorized'

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token)
    else sessionStorage.removeItem(TOKEN_KEY)
  } catch {
    // storage blocked: the token lasts as long as the page
  }
}

// --- requests ----------------------------------------------------------------------------------

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE'
  body?: unknown
  signal?: AbortSignal
  /** use this token instead of the stored one (signing in checks it first) */
  token?: string | null
  /** a 401 is the caller's business: do not announce it */
  quiet?: boolean
}

function isProblem(p: unknown): p is Problem {
  return typeof p === 'object' && p !== null && typeof (p as Problem).message === 'string'
}

async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  const token = options.token === undefined ? getToken() : options.token
  if (token) headers.authorization = `Bearer ${token}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  })
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  if (!res.ok) {
    const b = (typeof body === 'object' && body !== null ? body : {}) as {
      error?: unknown
      details?: unknown
    }
    const message = typeof b.error === 'string' ? b.error : `${res.status} ${res.statusText}`
    const details = Array.isArray(b.details) ? b.details.filter(isProblem) : []
    if (res.status === 401 && !options.quiet) window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT))
    throw new ApiError(res.status, message, details)
  }
  return body as T
}

/** Anything thrown while talking to the API, as an ApiError (a network failure is status 0). */
export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e
  return new ApiError(0, e instanceof Error ? `the server did not answer (${e.message})` : String(e))
}

// --- what the dashboard reads --------------------------------------------------------------------

/** A GET route and the type of its answer. */
export interface Endpoint<T> {
  readonly path: string
  /** never set: carries T */
  readonly answer?: T
}

function endpoint<T>(path: string, query: Record<string, string | number | undefined> = {}): Endpoint<T> {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(key, String(value))
  const qs = params.toString()
  return { path: qs ? `${path}?${qs}` : path }
}

export interface FindingQuery {
  target?: string
  state?: readonly FindingState[]
  severity?: readonly Severity[]
  check?: readonly string[]
  namespace?: readonly string[]
  kind?: readonly string[]
  resource?: number
  q?: string
  sort?: FindingSort
  order?: Order
  limit?: number
  offset?: number
}

const list = (values: readonly string[] | undefined) => (values?.length ? values.join(',') : undefined)

/** The filters of `/api/vulnerabilities` and its summary and groups. */
export interface VulnerabilityQuery {
  target?: string
  image?: string
  advisory?: string
  fixable?: boolean
  severity?: Severity[]
  limit?: number
  offset?: number
}

const vulnerabilityParams = (q: VulnerabilityQuery) => ({
  target: q.target,
  image: q.image,
  advisory: q.advisory,
  fixable: q.fixable === undefined ? undefined : String(q.fixable),
  severity: list(q.severity),
  limit: q.limit,
  offset: q.offset,
})

export {
  ADMISSION_OUTCOMES,
  ASSESSMENT_ANSWERS,
  ASSESSMENT_ASPECTS,
  AUDIT_PRIORITIES,
  ENFORCEMENT_MODES,
  ENFORCEMENT_STEPS,
  EXCEPTION_STATES,
  EXPIRING_WITHIN_DAYS,
  FIX_STATES,
  SILENCE_STATES,
  UPGRADE_AREAS,
  UPGRADE_IMPACTS,
  USAGE_CONFIDENCES,
  USAGE_COST_GROUPS,
} from '../../src/api-types.js'

/** The webhook's decisions (`GET /api/admissions`), newest first; `before` is an id, for the next page. */
export interface AdmissionQuery {
  cluster?: string
  outcome?: AdmissionOutcome
  namespace?: string
  /** ISO time: decisions at or after it */
  since?: string
  before?: number
  limit?: number
}

/** The audit rules' detections (`GET /api/audit/detections`), newest first; `before` is an id. */
export interface DetectionQuery {
  cluster?: string
  rule?: string
  priority?: AuditPriority
  since?: string
  before?: number
  limit?: number
}

/** Who the dashboard speaks as (`GET /api/me`): what it offers to change depends on it. */
export interface Me {
  role: 'viewer' | 'admin'
  name: string | null
  anonymous: boolean
}

/** A page of the exceptions register (`GET /api/exceptions`). */
export interface ExceptionQuery {
  state?: ExceptionState
  owner?: string
  check?: string
  q?: string
  limit?: number
  offset?: number
}

export const endpoints = {
  summary: (target?: string) => endpoint<Summary>('/api/summary', { target }),
  trends: (days: number, target?: string) => endpoint<TrendPoint[]>('/api/trends', { days, target }),
  findings: (q: FindingQuery) =>
    endpoint<Page<Finding>>('/api/findings', {
      target: q.target,
      state: list(q.state),
      severity: list(q.severity),
      check: list(q.check),
      namespace: list(q.namespace),
      kind: list(q.kind),
      resource: q.resource,
      q: q.q?.trim() || undefined,
      sort: q.sort,
      order: q.order,
      limit: q.limit,
      offset: q.offset,
    }),
  resource: (id: number) => endpoint<ResourceDetail>(`/api/resources/${id}`),
  checks: () => endpoint<Check[]>('/api/checks'),
  check: (id: string) => endpoint<Check>(`/api/checks/${encodeURIComponent(id)}`),
  compliance: (framework: string, target?: string) =>
    endpoint<ComplianceReport>(`/api/compliance/${encodeURIComponent(framework)}`, { target }),
  exceptions: (q: ExceptionQuery) =>
    endpoint<CursorPage<DebtException>>('/api/exceptions', {
      state: q.state,
      owner: q.owner,
      check: q.check,
      q: q.q?.trim() || undefined,
      limit: q.limit,
      offset: q.offset,
    }),
  exceptionSummary: () => endpoint<RegisterSummary>('/api/exceptions/summary'),
  vulnerabilities: (q: VulnerabilityQuery) =>
    endpoint<Page<VulnerabilityView>>('/api/vulnerabilities', vulnerabilityParams(q)),
  vulnerabilitySummary: (q: VulnerabilityQuery) =>
    endpoint<VulnerabilitySummaryView>('/api/vulnerabilities/summary', vulnerabilityParams(q)),
  vulnerabilityGroups: (by: VulnerabilityGrouping, q: VulnerabilityQuery) =>
    endpoint<Page<VulnerabilityGroupView>>(`/api/vulnerabilities/by/${by}`, vulnerabilityParams(q)),
  targets: () => endpoint<string[]>('/api/targets'),
  clusters: () => endpoint<ClusterSummary[]>('/api/clusters'),
  /** clusters with a cluster scan or recorded admissions: what the admissions and enforcement pages choose from */
  admissionClusters: () => endpoint<PlannableCluster[]>('/api/enforcement/clusters'),
  cluster: (name: string) => endpoint<ClusterDetail>(`/api/clusters/${encodeURIComponent(name)}`),
  admissions: (q: AdmissionQuery) =>
    endpoint<AdmissionDecision[]>('/api/admissions', {
      cluster: q.cluster,
      outcome: q.outcome,
      namespace: q.namespace,
      since: q.since,
      before: q.before,
      limit: q.limit,
    }),
  admissionSummary: (q: { cluster?: string; since?: string } = {}) =>
    endpoint<AdmissionSummary>('/api/admissions/summary', { cluster: q.cluster, since: q.since }),
  me: () => endpoint<Me>('/api/me'),
  detections: (q: DetectionQuery) =>
    endpoint<AuditDetection[]>('/api/audit/detections', {
      cluster: q.cluster,
      rule: q.rule,
      priority: q.priority,
      since: q.since,
      before: q.before,
      limit: q.limit,
    }),
  detection: (id: number) => endpoint<AuditDetectionDetail>(`/api/audit/detections/${id}`),
  auditSummary: (q: { cluster?: string; since?: string } = {}) =>
    endpoint<AuditSummary>('/api/audit/summary', { cluster: q.cluster, since: q.since }),
  alertGroups: (cluster?: string) => endpoint<AlertGroups>('/api/audit/alerts', { cluster }),
  silences: (state?: 'all') => endpoint<SilenceView[]>('/api/audit/silences', { state }),
  /** without a cluster: the store's only one (a 400 when it holds none, or several) */
  enforcementPlan: (cluster: string | undefined, days: number) =>
    endpoint<EnforcementPlan>('/api/enforcement/plan', { cluster, days }),
  usageSnapshots: (q: { cluster?: string; limit?: number } = {}) =>
    endpoint<UsageSnapshotView[]>('/api/usage/snapshots', { cluster: q.cluster, limit: q.limit }),
  usageUtilisation: (q: { cluster?: string; namespace?: string; since?: string }) =>
    endpoint<UsageUtilisation>('/api/usage/utilisation', {
      cluster: q.cluster,
      namespace: q.namespace,
      since: q.since,
    }),
  usageRightsizing: (q: RightsizingQuery) =>
    endpoint<UsageRightsizing>('/api/usage/rightsizing', {
      cluster: q.cluster,
      namespace: q.namespace,
      team: q.team,
      workload: q.workload,
      confidence: q.confidence,
      limit: q.limit,
      offset: q.offset,
    }),
  usageCost: (q: { cluster?: string; by?: UsageCostGroup; since?: string }) =>
    endpoint<UsageCost>('/api/usage/cost', { cluster: q.cluster, by: q.by, since: q.since }),
  /** oldest first */
  assessments: () => endpoint<AssessmentSummaryView[]>('/api/assessments'),
  assessment: (id: number) => endpoint<AssessmentView>(`/api/assessments/${id}`),
  assessmentQuestions: () => endpoint<AssessmentQuestionView[]>('/api/assessments/questions'),
  /** the latest check of each target to each release */
  upgradeChecks: () => endpoint<UpgradeCheckSummaryView[]>('/api/upgrade-checks'),
  upgradeCheck: (id: number, q: { impact?: UpgradeImpact[]; area?: UpgradeArea[] } = {}) =>
    endpoint<UpgradeCheckView>(`/api/upgrade-checks/${id}`, { impact: list(q.impact), area: list(q.area) }),
}

export function get<T>(e: Endpoint<T>, signal?: AbortSignal): Promise<T> {
  return request<T>(e.path, signal ? { signal } : {})
}

/**
 * Reads a cluster's live events (`GET /api/clusters/{name}/events`, newline-delimited JSON) and hands
 * each to `onEvent` as it comes. EventSource cannot send the Authorization header, hence fetch and a
 * stream reader. Resolves when the server ends the stream, rejects with an ApiError when it refuses it
 * (404: not watched by this server) or the connection fails; aborting `signal` ends it quietly. A 401 is
 * not announced: the page's other requests do that.
 */
export async function streamClusterEvents(
  name: string,
  onEvent: (event: ClusterEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const headers: Record<string, string> = { accept: 'application/x-ndjson' }
  const token = getToken()
  if (token) headers.authorization = `Bearer ${token}`
  try {
    const res = await fetch(`/api/clusters/${encodeURIComponent(name)}/events`, { headers, signal })
    if (!res.ok || !res.body) {
      let message = `${res.status} ${res.statusText}`
      try {
        const b = (await res.json()) as { error?: unknown }
        if (typeof b.error === 'string') message = b.error
      } catch {
        // not JSON: the status says it
      }
      throw new ApiError(res.status, message)
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffered = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buffered += value
      // A chunk may end inside a line: keep the rest for the next one.
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        if (!line.trim()) continue
        let event: ClusterEvent
        try {
          event = JSON.parse(line) as ClusterEvent
        } catch {
          continue // a line cut short by a dropped connection: the next connection starts afresh
        }
        onEvent(event)
      }
    }
  } catch (e) {
    if (signal.aborted) return
    throw asApiError(e)
  }
}

/**
 * A file the API makes (a report), fetched with the token as every other request is: a plain link
 * would go without the Authorization header. A 401 is announced (the sign-in dialog opens).
 */
export async function fetchFile(path: string): Promise<Blob> {
  const headers: Record<string, string> = {}
  const token = getToken()
  if (token) headers.authorization = `Bearer ${token}`
  let res: Response
  try {
    res = await fetch(path, { headers })
  } catch (e) {
    throw asApiError(e)
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`
    try {
      const b = (await res.json()) as { error?: unknown }
      if (typeof b.error === 'string') message = b.error
    } catch {
      // not JSON: the status says it
    }
    if (res.status === 401) window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT))
    throw new ApiError(res.status, message)
  }
  return res.blob()
}

/** Checks a token before keeping it: undefined if the server takes it, else why not. */
export async function verifyToken(token: string): Promise<string | undefined> {
  try {
    await request<string[]>('/api/targets', { token, quiet: true })
    return undefined
  } catch (e) {
    return asApiError(e).message
  }
}

// --- the exceptions register (admin) -------------------------------------------------------------
// A change refused for want of a token (401) is the form's to explain, with its own "Sign in as admin";
// the sign-in dialog opening by itself would stand over the form.

export function createException(input: ExceptionInput): Promise<DebtException> {
  return request<DebtException>('/api/exceptions', { method: 'POST', body: input, quiet: true })
}

export function deleteException(id: number): Promise<void> {
  return request<void>(`/api/exceptions/${id}`, { method: 'DELETE', quiet: true })
}

// --- the audit alerts' silences (admin) ---------------------------------------------------------

export function createSilence(input: SilenceRequest): Promise<SilenceView> {
  return request<SilenceView>('/api/audit/silences', { method: 'POST', body: input, quiet: true })
}

export function expireSilence(id: string): Promise<SilenceView> {
  return request<SilenceView>(`/api/audit/silences/${encodeURIComponent(id)}`, {
    method: 'DELETE',
    quiet: true,
  })
}

// --- the maturity questionnaire (admin) ---------------------------------------------------------

/** Answers questions: recorded as self-reported by the token's name; the answers saved, all of them. */
export function saveAssessmentAnswers(input: AssessmentAnswersRequest): Promise<AssessmentAnswerView[]> {
  return request<AssessmentAnswerView[]>('/api/assessments/answers', {
    method: 'PUT',
    body: input,
    quiet: true,
  })
}
