/**
 * The API client: types mirroring the JSON of `plimsoll serve` (docs/api.md, src/server/api/*.ts), the
 * endpoints the dashboard reads, and the exceptions register's changes. The token, if any, lives in
 * sessionStorage and goes out as `Authorization: Bearer`; a 401 is announced so the app can ask for one.
 */

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const
export type Severity = (typeof SEVERITIES)[number]

export const FINDING_STATES = ['open', 'excepted', 'resolved'] as const
export type FindingState = (typeof FINDING_STATES)[number]

export const FINDING_SORTS = ['severity', 'check', 'resource', 'first_seen', 'last_seen'] as const
export type FindingSort = (typeof FINDING_SORTS)[number]

export type Order = 'asc' | 'desc'

export interface Scored {
  score: number
  applied: number
  failed: number
}

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

export interface TrendPoint {
  /** YYYY-MM-DD */
  day: string
  open: number
  excepted: number
  bySeverity: Record<Severity, number>
}

export interface ResourceRef {
  id: number
  kind: string
  namespace: string
  name: string
  group: string
}

export type FindingException =
  | { source: 'annotation'; reason: string }
  | { source: 'file'; file: string; index: number; owner: string; reason: string; expires: string }

export interface Finding {
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
  exception: FindingException | null
  resource: ResourceRef
}

export interface Page<T> {
  total: number
  limit: number
  offset: number
  items: T[]
}

export interface ControlRef {
  framework: string
  id: string
}

export interface Check {
  id: string
  title: string
  severity: Severity
  category: string
  rationale?: string
  remediation?: string
  docs?: string
  controls: ControlRef[]
}

export interface ResourceDetail {
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
  findings: Finding[]
}

export type ControlStatus = 'pass' | 'fail' | 'not-applicable'

export interface ControlResult {
  framework: string
  id: string
  title: string
  status: ControlStatus
  checks: string[]
  failed: number
}

export interface ComplianceReport {
  framework: string
  title: string
  controls: ControlResult[]
  score: number
}

export interface ExceptionInput {
  checks: string[]
  kinds?: string[]
  namespaces?: string[]
  names?: string[]
  labels?: Record<string, string>
  owner: string
  reason: string
  /** YYYY-MM-DD, today or later */
  expires: string
}

export interface DebtException extends Required<ExceptionInput> {
  id: number
  createdBy: string
  createdAt: string
  expired: boolean
}

/** One problem with a request, as a 400 lists them. */
export interface Problem {
  in: string
  /** JSON pointer into the part (`/owner`, `/checks/0`) */
  path: string
  message: string
}

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
  exceptions: () => endpoint<DebtException[]>('/api/exceptions'),
  targets: () => endpoint<string[]>('/api/targets'),
}

export function get<T>(e: Endpoint<T>, signal?: AbortSignal): Promise<T> {
  return request<T>(e.path, signal ? { signal } : {})
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

export function createException(input: ExceptionInput): Promise<DebtException> {
  return request<DebtException>('/api/exceptions', { method: 'POST', body: input })
}

export function deleteException(id: number): Promise<void> {
  return request<void>(`/api/exceptions/${id}`, { method: 'DELETE' })
}
