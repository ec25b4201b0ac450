/**
 * Auditing as kube-apiserver does it (k8s.io/apiserver pkg/endpoints/filters/audit.go and
 * pkg/audit): every request the control plane answers is checked against an audit policy
 * (audit-policy.ts) and, unless its level is None, produces audit.k8s.io/v1 Events: RequestReceived
 * when it arrives, ResponseStarted when a long-running request (watch, exec, attach, portforward,
 * proxy, log) sends its head, ResponseComplete when the answer is done. The events go to the webhook
 * backend (audit-webhook.ts), which POSTs them in EventList batches, and to an optional `sink`.
 *
 * An event is built the way the recorded server builds it (shared/corpus/kube-apiserver/06-audit):
 * - `auditID` is the request's Audit-Id header if it sent one, else a new UUID; the response's
 *   Audit-Id header carries it;
 * - `user` is the authenticated user (the impersonator when Impersonate-User is sent, the
 *   impersonated one in `impersonatedUser`); a request that fails authentication gets one
 *   ResponseStarted event with `"user": {}` and nothing else, as the server's failed-authentication
 *   handler writes it;
 * - `objectRef` comes from the request path (with `metadata.name` of an exact field selector as the
 *   name of a list or watch), completed from the request body's metadata (a create's name);
 * - `responseStatus` is the Status the server answered, without kind and apiVersion, or
 *   `{metadata: {}, code}` for any other answer;
 * - `requestObject` (level Request and above) is the object as decoded (the body with the server's
 *   defaults, as the API server logs it after decoding), the patch itself for a PATCH, and the
 *   DeleteOptions of a DELETE (apiVersion meta.k8s.io/__internal, as the server logs them); none for
 *   requests that authorization refused, for reads and for exec/attach/portforward;
 * - `responseObject` (level RequestResponse) is the JSON body answered (none for watches);
 * - annotations: `authorization.k8s.io/decision` and `authorization.k8s.io/reason` (the reason is
 *   left empty: this control plane's authorizer does not say which binding allowed a request), the
 *   audit annotations admission returned (every `beforeWrite` verdict's, denials included), the
 *   PodSecurity plugin's `pod-security.kubernetes.io/enforce-policy` for created pods and ephemeral
 *   containers (read from the namespace's labels; this control plane runs no PodSecurity checks, so
 *   there is no `audit-violations`), and the TokenRequest's
 *   `authentication.kubernetes.io/issued-credential-id`;
 * - timestamps in microseconds, as the server's MicroTime.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { load } from 'js-yaml'
import { authorizationReason } from './audit-authz.js'
import {
  type AuditAttributes,
  type AuditLevel,
  type AuditPolicy,
  type AuditStage,
  evaluatePolicy,
  levelAtLeast,
  parseAuditPolicy,
  type RequestAuditConfig,
} from './audit-policy.js'
import {
  type AuditBatchOptions,
  AuditWebhookBackend,
  type AuditWebhookTarget,
  parseWebhookKubeconfig,
} from './audit-webhook.js'
import { ANONYMOUS } from './auth.js'
import type { Shared } from './context.js'
import { applyDefaults } from './defaults.js'
import type { AdmissionAttributes, AuditRecord, ControlPlaneHooks } from './hooks.js'
import { objectOf } from './objects.js'
import { decodeProtobuf, isProtobuf } from './protobuf.js'
import { requestAttributes } from './rbac.js'
import { parseRoute } from './request.js'
import { clone, isObj, type Obj, objAt, strAt, stringMap, type UserInfo } from './types.js'

export interface AuditOptions extends AuditBatchOptions {
  /** The audit.k8s.io/v1 Policy: YAML or JSON text, or the object. */
  readonly policy: string | Obj | AuditPolicy
  /**
   * The webhook backend's receiver: a target, or a webhook kubeconfig (YAML text, a path, or the
   * object), as --audit-webhook-config-file. Without it events only go to `sink`.
   */
  readonly webhook?: AuditWebhookTarget | { readonly kubeconfig: string | Obj }
  /** Called with every event as it is produced (e.g. a test's log backend). */
  readonly sink?: (event: Obj) => void
}

/** The per-request audit context (what the server's audit.AuditContext holds). */
interface RequestState {
  readonly auditID: string
  readonly config: RequestAuditConfig
  readonly received: string
  readonly requestURI: string
  readonly verb: string
  readonly user: UserInfo | undefined
  readonly impersonatedUser: UserInfo | undefined
  readonly sourceIPs: readonly string[]
  readonly userAgent: string
  readonly objectRef: Record<string, string> | undefined
  readonly longRunning: boolean
  readonly annotations: Record<string, string>
  readonly allowed: boolean
  requestBody: Buffer[] | undefined
  /** As sent (the handler rewrites it to JSON once it decoded a protobuf body). */
  readonly requestContentType: string
  responseBody: Buffer[] | undefined
  responseBytes: number
  startedEmitted: boolean
  completed: boolean
}

const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward'])
const CONNECT_SUBRESOURCES = new Set(['attach', 'exec', 'portforward', 'proxy'])
/** Bodies bigger than this are not kept for responseObject (the event would be too). */
const MAX_CAPTURE = 4 * 1024 * 1024

/** Now, to the microsecond, as metav1.MicroTime is written: 2006-01-02T15:04:05.000000Z. */
export function microTime(epochMs: number = performance.timeOrigin + performance.now()): string {
  const micros = Math.floor(epochMs * 1000)
  const seconds = Math.floor(micros / 1_000_000)
  const frac = String(micros - seconds * 1_000_000).padStart(6, '0')
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${frac}Z`
}

function userJson(u: UserInfo): Obj {
  const out: Obj = { username: u.username }
  if (u.uid) out.uid = u.uid
  if (u.groups.length > 0) out.groups = [...u.groups]
  if (u.extra && Object.keys(u.extra).length > 0)
    out.extra = Object.fromEntries(Object.entries(u.extra).map(([k, v]) => [k, [...v]]))
  return out
}

function sourceIp(req: IncomingMessage): string[] {
  const out: string[] = []
  const forwarded = req.headers['x-forwarded-for']
  if (typeof forwarded === 'string') for (const ip of forwarded.split(',')) if (ip.trim()) out.push(ip.trim())
  const real = req.headers['x-real-ip']
  if (typeof real === 'string' && real.trim() && !out.includes(real.trim())) out.push(real.trim())
  const remote = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')
  if (remote && !out.includes(remote)) out.push(remote)
  return out
}

function omitManagedFields(value: unknown): unknown {
  if (!isObj(value)) return value
  const meta = objAt(value, 'metadata')
  if (meta && 'managedFields' in meta) delete meta.managedFields
  if (Array.isArray(value.items)) for (const item of value.items) omitManagedFields(item)
  return value
}

function parseBody(text: string, contentType: string): unknown {
  if (!text.trim()) return undefined
  try {
    return /yaml/i.test(contentType) ? load(text) : JSON.parse(text)
  } catch {
    return undefined
  }
}

export class Auditor {
  private readonly policy: AuditPolicy
  private readonly backend: AuditWebhookBackend | undefined
  private readonly als = new AsyncLocalStorage<RequestState>()
  /** The `afterWrite` hook through which admission's audit annotations arrive. */
  readonly hooks: ControlPlaneHooks

  constructor(
    private readonly shared: Shared,
    private readonly options: AuditOptions,
    private readonly anonymous: boolean,
  ) {
    this.policy = parseAuditPolicy(options.policy)
    const webhook = options.webhook
    if (webhook) {
      const target = 'kubeconfig' in webhook ? parseWebhookKubeconfig(webhook.kubeconfig) : webhook
      this.backend = new AuditWebhookBackend(target, options)
    }
    this.hooks = { afterWrite: (record) => this.afterWrite(record) }
  }

  /**
   * Takes admission's audit annotations from every `beforeWrite` verdict, denials included (the
   * `afterWrite` record only follows writes that went through): the hooks in `hooks`, and those
   * pushed to it later, are replaced by proxies that pass each verdict's `auditAnnotations` to the
   * request's event before returning it unchanged.
   */
  observeAdmission(hooks: ControlPlaneHooks[]): void {
    const wrapped = new WeakSet<ControlPlaneHooks>()
    const wrap = (hook: ControlPlaneHooks): ControlPlaneHooks => {
      if (!hook.beforeWrite || wrapped.has(hook) || hook === this.hooks) return hook
      const als = this.als
      const proxy = new Proxy(hook, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown
          if (key !== 'beforeWrite' || typeof value !== 'function') return value
          return async (attributes: AdmissionAttributes) => {
            const verdict = await (value as NonNullable<ControlPlaneHooks['beforeWrite']>).call(
              target,
              attributes,
            )
            const state = als.getStore()
            if (state && verdict?.auditAnnotations) Object.assign(state.annotations, verdict.auditAnnotations)
            return verdict
          }
        },
      })
      wrapped.add(proxy)
      return proxy
    }
    for (let i = 0; i < hooks.length; i++) hooks[i] = wrap(hooks[i] as ControlPlaneHooks)
    const push = hooks.push.bind(hooks)
    const unshift = hooks.unshift.bind(hooks)
    hooks.push = (...items: ControlPlaneHooks[]) => push(...items.map(wrap))
    hooks.unshift = (...items: ControlPlaneHooks[]) => unshift(...items.map(wrap))
  }

  /** Sends what the webhook backend has buffered and waits for it. */
  async flush(): Promise<void> {
    await this.backend?.flush()
  }

  /** Flushes and stops the webhook backend (events produced later are dropped). */
  async stop(): Promise<void> {
    await this.backend?.stop()
  }

  /** What each POST came to (events, attempts, success). */
  get sends(): readonly { events: number; attempts: number; ok: boolean; error?: string }[] {
    return this.backend?.results ?? []
  }

  private emit(event: Obj): void {
    this.options.sink?.(event)
    this.backend?.process([event])
  }

  /** Admission's audit annotations and the PodSecurity plugin's level for a write that went through. */
  private afterWrite(record: AuditRecord): void {
    const state = this.als.getStore()
    if (!state) return
    Object.assign(state.annotations, record.annotations ?? {})
    // PodSecurity evaluates pod creates and ephemeral-container updates (05-admission cases 07, 11).
    const podSecurity =
      record.type.storageKey === '/pods' &&
      ((record.verb === 'create' && !record.subresource) || record.subresource === 'ephemeralcontainers')
    if (podSecurity && levelAtLeast(state.config.level, 'Metadata')) {
      state.annotations['pod-security.kubernetes.io/enforce-policy'] = this.enforcePolicy(record.namespace)
    }
  }

  /** `<level>:<version>` of the namespace's pod-security.kubernetes.io/enforce labels (privileged:latest). */
  private enforcePolicy(namespace: string): string {
    const nsType = this.shared.registry.lookup('', 'v1', 'namespaces')
    const stored = nsType ? this.shared.store.get(nsType.storageKey, '', namespace) : undefined
    const labels =
      stored && nsType ? stringMap(objAt(objAt(objectOf(nsType, stored), 'metadata'), 'labels')) : {}
    const level = labels['pod-security.kubernetes.io/enforce'] || 'privileged'
    const version = labels['pod-security.kubernetes.io/enforce-version'] || 'latest'
    return `${level}:${version}`
  }

  /**
   * Audits one request around `next`, the control plane's handler. It authenticates and authorizes
   * the request the way the handler will (both are pure lookups), so the policy sees the same user
   * and the decision annotation the same answer.
   */
  handle(req: IncomingMessage, res: ServerResponse, next: () => Promise<void>): void {
    const received = microTime()
    const headerId = req.headers['audit-id']
    const auditID = typeof headerId === 'string' && headerId.trim() ? headerId.trim() : randomUUID()
    const method = req.method ?? 'GET'
    const requestURI = req.url ?? '/'
    let url: URL
    try {
      url = new URL(requestURI, 'https://127.0.0.1')
    } catch {
      void next()
      return
    }
    const auth = this.shared.users.authenticate(req)
    const user: UserInfo | undefined =
      auth === 'anonymous' ? (this.anonymous ? ANONYMOUS : undefined) : auth.ok ? auth.user : undefined

    const route = parseRoute(method, url.pathname, url.searchParams)
    const authz = requestAttributes(method, route, url.pathname)
    let attrs: AuditAttributes
    let objectRef: Record<string, string> | undefined
    let longRunning = false
    if (route.kind === 'resource') {
      let name = route.name
      if (!name && (route.verb === 'list' || route.verb === 'watch')) {
        const m = /^metadata\.name==?([^,]+)$/.exec(url.searchParams.get('fieldSelector') ?? '')
        if (m?.[1]) name = m[1]
      }
      attrs = {
        kind: 'resource',
        user,
        verb: route.verb,
        group: route.group,
        resource: route.resource,
        subresource: route.subresource,
        namespace: route.namespace,
        name,
      }
      objectRef = { resource: route.resource }
      if (route.namespace) objectRef.namespace = route.namespace
      if (name) objectRef.name = name
      if (route.group) objectRef.apiGroup = route.group
      objectRef.apiVersion = route.version
      if (route.subresource) objectRef.subresource = route.subresource
      longRunning =
        route.verb === 'watch' || route.verb === 'proxy' || LONG_RUNNING_SUBRESOURCES.has(route.subresource)
    } else {
      attrs = { kind: 'nonResource', user, verb: method.toLowerCase(), path: url.pathname }
    }
    const config = evaluatePolicy(this.policy, attrs)
    if (config.level === 'None') {
      void next()
      return
    }

    let impersonatedUser: UserInfo | undefined
    const asUser = req.headers['impersonate-user']
    if (user && typeof asUser === 'string' && asUser) {
      const raw = req.headers['impersonate-group']
      const groups = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
      impersonatedUser = { username: asUser, groups: [...groups, 'system:authenticated'] }
    }
    let allowed = false
    if (user) {
      try {
        allowed = this.shared.authorizer.allowed(impersonatedUser ?? user, authz)
      } catch {
        allowed = false
      }
    }

    const state: RequestState = {
      auditID,
      config,
      received,
      requestURI,
      verb: attrs.verb,
      user,
      impersonatedUser,
      sourceIPs: sourceIp(req),
      userAgent: req.headers['user-agent'] ?? '',
      objectRef,
      longRunning,
      annotations: {},
      allowed,
      requestBody: undefined,
      requestContentType: String(req.headers['content-type'] ?? 'application/json'),
      responseBody: undefined,
      responseBytes: 0,
      startedEmitted: false,
      completed: false,
    }
    if (user) {
      state.annotations['authorization.k8s.io/decision'] = allowed ? 'allow' : 'forbid'
      let reason = ''
      if (allowed) {
        try {
          reason = authorizationReason(this.shared, impersonatedUser ?? user, authz)
        } catch {
          reason = ''
        }
      }
      state.annotations['authorization.k8s.io/reason'] = reason
    }

    // The request body, tapped as the handler reads it (without changing how the stream flows).
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE'
    if (user && hasBody && (levelAtLeast(config.level, 'Request') || route.kind === 'resource')) {
      const chunks: Buffer[] = []
      state.requestBody = chunks
      const emit = req.emit.bind(req) as (event: string | symbol, ...args: unknown[]) => boolean
      req.emit = ((event: string | symbol, ...args: unknown[]) => {
        if (event === 'data' && Buffer.isBuffer(args[0])) chunks.push(args[0])
        return emit(event, ...args)
      }) as typeof req.emit
    }

    this.tapResponse(res, state)

    if (user && !config.omitStages.includes('RequestReceived'))
      this.emit(this.event(state, 'RequestReceived', received, res))

    const complete = () => {
      if (state.completed) return
      state.completed = true
      const now = microTime()
      if (!user) {
        // The failed-authentication handler: one ResponseStarted event, no user.
        if (!config.omitStages.includes('ResponseStarted'))
          this.emit(this.event(state, 'ResponseStarted', now, res))
        return
      }
      if (longRunning && !state.startedEmitted && res.headersSent) this.started(state, res)
      if (!config.omitStages.includes('ResponseComplete'))
        this.emit(this.event(state, 'ResponseComplete', now, res))
    }
    res.once('finish', complete)
    res.once('close', complete)
    res.once('audit-started', () => {
      if (user && longRunning) this.started(state, res)
    })
    this.als.run(state, () => {
      void next()
    })
  }

  private started(state: RequestState, res: ServerResponse): void {
    if (state.startedEmitted) return
    state.startedEmitted = true
    if (!state.config.omitStages.includes('ResponseStarted'))
      this.emit(this.event(state, 'ResponseStarted', microTime(), res))
  }

  /** Sets Audit-Id to the event's ID, keeps the body written, and notices when the head goes out. */
  private tapResponse(res: ServerResponse, state: RequestState): void {
    const setHeader = res.setHeader.bind(res)
    res.setHeader = ((name: string, value: number | string | readonly string[]) =>
      setHeader(name, name.toLowerCase() === 'audit-id' ? state.auditID : value)) as typeof res.setHeader
    setHeader('Audit-Id', state.auditID)
    const keep = (chunk: unknown, encoding?: unknown) => {
      if (state.verb === 'watch' || chunk === undefined || chunk === null || typeof chunk === 'function')
        return
      const buf = Buffer.isBuffer(chunk)
        ? chunk
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk)
          : typeof chunk === 'string'
            ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
            : undefined
      if (!buf) return
      state.responseBytes += buf.length
      if (state.responseBytes > MAX_CAPTURE) {
        state.responseBody = undefined
        return
      }
      state.responseBody ??= []
      state.responseBody.push(buf)
    }
    const write = res.write.bind(res) as (...args: unknown[]) => boolean
    res.write = ((...args: unknown[]) => {
      if (state.responseBytes <= MAX_CAPTURE) keep(args[0], args[1])
      return write(...args)
    }) as typeof res.write
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
    res.end = ((...args: unknown[]) => {
      if (state.responseBytes <= MAX_CAPTURE) keep(args[0], args[1])
      return end(...args)
    }) as typeof res.end
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse
    res.writeHead = ((...args: unknown[]) => {
      const out = writeHead(...args)
      if (state.longRunning) queueMicrotask(() => res.emit('audit-started'))
      return out
    }) as typeof res.writeHead
  }

  private responseText(state: RequestState): string | undefined {
    if (!state.responseBody) return undefined
    return Buffer.concat(state.responseBody).toString('utf8')
  }

  private event(state: RequestState, stage: AuditStage, stageTimestamp: string, res: ServerResponse): Obj {
    const level: AuditLevel = state.config.level
    const e: Obj = {
      level,
      auditID: state.auditID,
      stage,
      requestURI: state.requestURI,
      verb: state.verb,
      user: state.user ? userJson(state.user) : {},
    }
    if (state.impersonatedUser) e.impersonatedUser = userJson(state.impersonatedUser)
    if (state.sourceIPs.length > 0) e.sourceIPs = [...state.sourceIPs]
    if (state.userAgent) e.userAgent = state.userAgent
    const ref = state.objectRef ? { ...state.objectRef } : undefined
    let requestObject: unknown
    let responseObject: unknown
    let responseStatus: Obj | undefined
    if (stage !== 'RequestReceived') {
      const contentType = String(res.getHeader('content-type') ?? '')
      const text = /^application\/json/i.test(contentType) ? this.responseText(state) : undefined
      // Below RequestResponse only a Status answer (and a TokenRequest's) is read.
      const tokenRequest = state.objectRef?.subresource === 'token'
      const read =
        text !== undefined &&
        (levelAtLeast(level, 'RequestResponse') || tokenRequest || text.startsWith('{"kind":"Status"'))
      const body = read ? parseBody(text, contentType) : undefined
      if (
        isObj(body) &&
        body.kind === 'Status' &&
        (body.apiVersion === 'v1' || body.apiVersion === undefined)
      ) {
        // The server writes the HTTP code into the Status it logs (a delete's Success has none).
        const { kind: _k, apiVersion: _a, ...status } = body
        responseStatus = { metadata: {}, ...status, code: res.statusCode }
      } else responseStatus = { metadata: {}, code: res.statusCode }
      if (state.user && state.allowed && state.requestBody && ref) {
        const decoded = this.requestObject(state)
        if (decoded !== undefined) {
          const meta = objAt(decoded.forRef, 'metadata')
          if (meta && !ref.subresource) {
            const fill = (key: string, from: string) => {
              const v = strAt(meta, from)
              if (v && !ref[key]) ref[key] = v
            }
            fill('namespace', 'namespace')
            fill('name', 'name')
            fill('uid', 'uid')
            fill('resourceVersion', 'resourceVersion')
          }
          if (levelAtLeast(level, 'Request')) requestObject = decoded.logged
        }
      }
      if (levelAtLeast(level, 'RequestResponse') && body !== undefined && state.verb !== 'watch')
        responseObject = body
      if (
        state.objectRef?.resource === 'serviceaccounts' &&
        state.objectRef.subresource === 'token' &&
        res.statusCode === 201 &&
        isObj(body)
      ) {
        const jti = this.credentialId(strAt(objAt(body, 'status'), 'token'))
        if (jti) state.annotations['authentication.kubernetes.io/issued-credential-id'] = jti
      }
    }
    if (ref) e.objectRef = orderRef(ref)
    if (responseStatus) e.responseStatus = responseStatus
    if (requestObject !== undefined)
      e.requestObject = state.config.omitManagedFields
        ? omitManagedFields(clone(requestObject))
        : requestObject
    if (responseObject !== undefined)
      e.responseObject = state.config.omitManagedFields
        ? omitManagedFields(clone(responseObject))
        : responseObject
    e.requestReceivedTimestamp = state.received
    e.stageTimestamp = stageTimestamp
    if (stage !== 'RequestReceived' && state.user) {
      const keys = Object.keys(state.annotations).sort()
      if (keys.length > 0) e.annotations = Object.fromEntries(keys.map((k) => [k, state.annotations[k]]))
    }
    return e
  }

  /** The user a TokenRequest's token authenticates as: its credential id (JTI=...). */
  private credentialId(token: string | undefined): string | undefined {
    if (!token) return undefined
    const fake = { socket: {}, headers: { authorization: `Bearer ${token}` } } as unknown as IncomingMessage
    const r = this.shared.users.authenticate(fake)
    if (r === 'anonymous' || !r.ok) return undefined
    return r.user.extra?.['authentication.kubernetes.io/credential-id']?.[0]
  }

  /**
   * The request body as the server decodes it: `forRef` for objectRef's name and namespace, `logged`
   * for requestObject (undefined for reads and CONNECT requests, which log no request object).
   */
  private requestObject(state: RequestState): { forRef: unknown; logged: unknown } | undefined {
    const ref = state.objectRef
    if (!ref || !state.requestBody) return undefined
    if (CONNECT_SUBRESOURCES.has(ref.subresource ?? '')) return undefined
    const contentType = state.requestContentType
    const raw = Buffer.concat(state.requestBody)
    const ct = contentType.split(';')[0]?.trim().toLowerCase() ?? ''
    const body = isProtobuf(ct) ? decodeProtobuf(raw) : parseBody(raw.toString('utf8'), contentType)
    if (state.verb === 'patch') return body === undefined ? undefined : { forRef: undefined, logged: body }
    if (state.verb === 'delete' || state.verb === 'deletecollection') {
      const opts: Obj = { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/__internal' }
      const source = isObj(body) ? body : {}
      for (const [k, v] of Object.entries(source)) if (k !== 'kind' && k !== 'apiVersion') opts[k] = v
      const q = new URL(state.requestURI, 'https://127.0.0.1').searchParams
      const grace = q.get('gracePeriodSeconds')
      if (grace !== null && opts.gracePeriodSeconds === undefined && /^-?\d+$/.test(grace))
        opts.gracePeriodSeconds = Number(grace)
      const propagation = q.get('propagationPolicy')
      if (propagation && opts.propagationPolicy === undefined) opts.propagationPolicy = propagation
      const dry = q.getAll('dryRun')
      if (dry.length > 0 && opts.dryRun === undefined) opts.dryRun = dry
      return { forRef: undefined, logged: opts }
    }
    if (!isObj(body)) return undefined
    const logged = clone(body)
    const type = this.shared.registry.lookup(ref.apiGroup ?? '', ref.apiVersion ?? '', ref.resource ?? '')
    if (type && !type.traits.virtual) {
      try {
        applyDefaults(type, logged)
      } catch {
        // A body the handler will refuse is logged as sent.
      }
      // Go writes the decoded object back: a zero creationTimestamp is null, an empty status {}.
      const meta = objAt(logged, 'metadata')
      if (meta && !('creationTimestamp' in meta)) meta.creationTimestamp = null
      if (type.subresources.some((x) => x.name === 'status') && !('status' in logged)) logged.status = {}
    }
    return { forRef: body, logged }
  }
}

function orderRef(ref: Record<string, string>): Obj {
  const out: Obj = {}
  for (const k of [
    'resource',
    'namespace',
    'name',
    'uid',
    'apiGroup',
    'apiVersion',
    'resourceVersion',
    'subresource',
  ])
    if (ref[k]) out[k] = ref[k]
  return out
}
