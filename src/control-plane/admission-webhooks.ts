/**
 * The MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins of kube-apiserver, as a
 * `beforeWrite` hook: every write is checked against the Mutating- and ValidatingWebhookConfigurations
 * stored in this control plane, and the webhooks that select it are called over HTTPS with an
 * AdmissionReview, the way the recorded v1.32 server calls them (shared/corpus/kube-apiserver/
 * 05-admission):
 *
 * - mutating webhooks first, configurations by name and webhooks in order, each JSONPatch applied
 *   before the next is asked; a webhook with reinvocationPolicy IfNeeded is asked once more when a
 *   later one changed the object. They see the object before the server fills in uid,
 *   creationTimestamp, generation and a generated name, as the real server's mutating phase does;
 * - the mutated object is defaulted and validated again, then the validating webhooks are all called
 *   at once, and the first error to come back answers the request;
 * - failurePolicy decides what a timeout, an unreachable or misbehaving webhook, or a matchCondition
 *   that does not evaluate means; denials, warnings and audit annotations reach the client and the
 *   audit hook as the real server words them.
 *
 * Admission of the webhook configurations (and admission policies) themselves is exempt, as there.
 * The control plane enables this hook by default: a kube-apiserver always runs both plugins, and
 * with no configuration stored the hook costs two map lookups per write.
 */
import { randomUUID } from 'node:crypto'
import { request as httpsRequest } from 'node:https'
import { isDeepStrictEqual } from 'node:util'
import { gunzipSync } from 'node:zlib'
import {
  denialStatus,
  type GroupVersionKind,
  type GroupVersionResource,
  type ReviewResult,
  type ReviewVersion,
  reviewBody,
  reviewVersionFor,
  verifyReview,
} from './admission-review.js'
import type { ResourceType } from './catalog.js'
import type { Shared } from './context.js'
import { applyDefaults } from './defaults.js'
import type { AdmissionAttributes, AdmissionVerdict, ControlPlaneHooks } from './hooks.js'
import { objectOf } from './objects.js'
import { jsonPatch } from './patch.js'
import { encodeBody, fullJson } from './serialize.js'
import type { StatusDetails } from './status.js'
import { clone, isObj, type Obj, objAt, strAt } from './types.js'
import { validateObject } from './validation.js'
import { type AuthorizerQuery, compileMatchCondition, evaluateCondition } from './webhook-cel.js'
import {
  isNamespaceResource,
  type MatchRequest,
  matchesNamespaceSelector,
  matchesObjectSelector,
  matchRules,
} from './webhook-selection.js'
import { scaleFromObject, scaleIntoObject } from './writes.js'

export interface WebhookAdmissionOptions {
  /**
   * Where a `clientConfig.service` reference is served, as `https://host:port` (there is no cluster
   * network). The TLS server name stays `<name>.<namespace>.svc`, as the API server dials it.
   */
  readonly serviceAddress?: (namespace: string, name: string, port: number) => string | undefined
}

const MUTATING_KEY = 'admissionregistration.k8s.io/mutatingwebhookconfigurations'
const VALIDATING_KEY = 'admissionregistration.k8s.io/validatingwebhookconfigurations'
const EXEMPT_KINDS = new Set([
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
])

interface Hook {
  /** configuration/webhook/n, unique even when a configuration repeats a webhook name. */
  readonly uid: string
  readonly configuration: string
  readonly spec: Obj
  readonly name: string
}

/** A failure to get a usable answer; failurePolicy decides whether it fails the request. */
class CallingError extends Error {}

/** An answer for the client that ends admission (a denial, a 4xx/5xx of the server's own). */
class Rejection extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message)
  }
}

function internalError(message: string): Rejection {
  return new Rejection(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ reason: '', message }],
  })
}

/** The kind a request for `type` (and subresource) carries. */
function kindOf(type: ResourceType, subresource: string): GroupVersionKind {
  const sub = subresource ? type.subresources.find((s) => s.name === subresource) : undefined
  if (sub?.groupVersion) {
    const [group, version] = sub.groupVersion.includes('/')
      ? sub.groupVersion.split('/')
      : ['', sub.groupVersion]
    return { group: group ?? '', version: version ?? '', kind: sub.kind }
  }
  return { group: type.group, version: type.version, kind: sub?.kind ?? type.kind }
}

function resourceOf(type: ResourceType): GroupVersionResource {
  return { group: type.group, version: type.version, resource: type.resource }
}

/** The object as JSON in `type`'s version and the server's field order. */
function asServed(type: ResourceType, obj: Obj | null, subresource: string): Obj | null {
  if (!obj) return null
  if (subresource === 'scale' || strAt(obj, 'kind') !== type.kind) return obj
  const copy = clone(obj)
  copy.apiVersion = type.apiVersion
  return JSON.parse(fullJson(type, encodeBody(type, copy))) as Obj
}

function metaOf(obj: Obj): Obj {
  const m = objAt(obj, 'metadata') ?? {}
  obj.metadata = m
  return m
}

function specOf(o: Obj): Obj {
  const { metadata: _m, status: _s, ...rest } = o
  return rest
}

interface Call {
  readonly hook: Hook
  readonly mutating: boolean
  readonly invokedAs: ResourceType
  readonly object: Obj | null
  readonly oldObject: Obj | null
}

export function webhookAdmission(shared: Shared, options: WebhookAdmissionOptions = {}): ControlPlaneHooks {
  const { store, registry } = shared

  function hooksOf(storageKey: string): Hook[] {
    if (store.count(storageKey) === 0) return []
    const type = registry.byResource('admissionregistration.k8s.io', storageKey.split('/')[1]!)
    if (!type) return []
    const configs = [...store.scan(storageKey, { prefix: '' })]
      .map((o) => objectOf(type, o))
      .sort((a, b) => {
        const x = strAt(objAt(a, 'metadata'), 'name') ?? ''
        const y = strAt(objAt(b, 'metadata'), 'name') ?? ''
        return x < y ? -1 : x > y ? 1 : 0
      })
    const out: Hook[] = []
    for (const c of configs) {
      const configuration = strAt(objAt(c, 'metadata'), 'name') ?? ''
      const seen = new Map<string, number>()
      for (const spec of Array.isArray(c.webhooks) ? c.webhooks.filter(isObj) : []) {
        const name = typeof spec.name === 'string' ? spec.name : ''
        const n = seen.get(name) ?? 0
        seen.set(name, n + 1)
        out.push({ uid: `${configuration}/${name}/${n}`, configuration, spec, name })
      }
    }
    return out
  }

  function namespaceLabels(name: string): Record<string, string> | undefined {
    const ns = store.get('/namespaces', '', name)
    return ns ? { ...ns.labels } : undefined
  }

  function authorizerFor(a: AdmissionAttributes) {
    return (q: AuthorizerQuery): boolean =>
      q.path !== undefined
        ? shared.authorizer.allowed(a.user, { kind: 'nonResource', verb: q.verb, path: q.path })
        : shared.authorizer.allowed(a.user, {
            kind: 'resource',
            verb: q.verb,
            group: q.group,
            resource: q.resource,
            subresource: q.subresource,
            namespace: q.namespace,
            name: q.name,
          })
  }

  /** The `request` variable of matchConditions: the AdmissionRequest as the webhook would get it. */
  function celRequest(a: AdmissionAttributes, invokedAs: ResourceType, namespace: string, name: string): Obj {
    const kind = kindOf(invokedAs, a.subresource)
    return {
      kind,
      resource: resourceOf(invokedAs),
      subResource: a.subresource,
      requestKind: kindOf(a.type, a.subresource),
      requestResource: resourceOf(a.type),
      requestSubResource: a.subresource,
      name,
      namespace,
      operation: a.operation,
      userInfo: {
        username: a.user.username,
        uid: a.user.uid ?? '',
        groups: [...a.user.groups],
        extra: a.user.extra ?? {},
      },
      dryRun: a.dryRun,
      options: a.options,
    }
  }

  /**
   * Whether `hook` is called, and as which resource; throws a Rejection where the real server
   * answers instead (unknown namespace, a matchCondition error under failurePolicy Fail).
   */
  function select(
    hook: Hook,
    a: AdmissionAttributes,
    r: MatchRequest,
    name: string,
  ): ResourceType | undefined {
    const ns = matchesNamespaceSelector(hook.spec, r, namespaceLabels)
    if (ns === false) return undefined
    if (!matchesObjectSelector(hook.spec, r)) return undefined
    const invocation = matchRules(hook.spec, r, registry)
    if (!invocation) return undefined
    if (ns === 'namespace-not-found')
      throw new Rejection(404, 'NotFound', `namespaces ${JSON.stringify(r.namespace)} not found`, {
        name: r.namespace,
        kind: 'namespaces',
      })
    const conditions = Array.isArray(hook.spec.matchConditions) ? hook.spec.matchConditions.filter(isObj) : []
    if (conditions.length === 0) return invocation.type
    const failOpen = hook.spec.failurePolicy === 'Ignore'
    const input = {
      object: asServed(invocation.type, r.object, a.subresource),
      oldObject: asServed(invocation.type, r.oldObject, a.subresource),
      request: celRequest(a, invocation.type, r.namespace, name),
      authorizer: authorizerFor(a),
    }
    const errors: string[] = []
    for (const c of conditions) {
      const expression = String(c.expression ?? '')
      const result = evaluateCondition(compileMatchCondition(expression.trim()), input)
      if ('error' in result) errors.push(`expression '${expression}' resulted in error: ${result.error}`)
      // Only false skips the webhook; any other value counts as a match, as in the API server.
      else if (result.value === false) return undefined
    }
    if (errors.length === 0) return invocation.type
    if (failOpen) return undefined
    const group = a.type.group ? `${a.type.resource}.${a.type.group}` : a.type.resource
    const text = errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`
    throw new Rejection(403, 'Forbidden', `${group} ${JSON.stringify(name)} is forbidden: ${text}`, {
      name,
      ...(a.type.group ? { group: a.type.group } : {}),
      kind: a.type.resource,
    })
  }

  /** Where to POST, the TLS server name for a service, and the URL as the API server names it. */
  function endpoint(
    hook: Hook,
    timeoutSeconds: number,
  ): { url: URL; servername?: string; shown: string; host: string } {
    const cc = objAt(hook.spec, 'clientConfig') ?? {}
    const query = `?timeout=${timeoutSeconds}s`
    const direct = strAt(cc, 'url')
    if (direct) {
      const url = new URL(direct)
      url.search = query
      return { url, shown: url.toString(), host: url.host }
    }
    const svc = objAt(cc, 'service') ?? {}
    const namespace = strAt(svc, 'namespace') ?? ''
    const name = strAt(svc, 'name') ?? ''
    const port = typeof svc.port === 'number' ? svc.port : 443
    const path = strAt(svc, 'path') ?? ''
    const host = `${name}.${namespace}.svc`
    const shown = `https://${host}:${port}${path}${query}`
    const base = options.serviceAddress?.(namespace, name, port)
    if (!base)
      throw new CallingError(
        `failed to call webhook: Post ${JSON.stringify(shown)}: dial tcp: lookup ${host}: no such host`,
      )
    const url = new URL(base)
    url.pathname = path || '/'
    url.search = query
    return { url, servername: host, shown, host: `${host}:${port}` }
  }

  /** POSTs the review; resolves to the parsed answer, or throws a CallingError in the API server's words. */
  function post(hook: Hook, body: string): Promise<unknown> {
    const timeoutSeconds = typeof hook.spec.timeoutSeconds === 'number' ? hook.spec.timeoutSeconds : 10
    const { url, servername, shown, host } = endpoint(hook, timeoutSeconds)
    const cc = objAt(hook.spec, 'clientConfig') ?? {}
    const caBundle = strAt(cc, 'caBundle')
    const ca = caBundle ? Buffer.from(caBundle, 'base64').toString('utf8') : undefined
    const fail = (detail: string) =>
      new CallingError(`failed to call webhook: Post ${JSON.stringify(shown)}: ${detail}`)
    return new Promise((resolve, reject) => {
      const payload = Buffer.from(body)
      const req = httpsRequest(
        url,
        {
          method: 'POST',
          ...(ca ? { ca } : {}),
          ...(servername ? { servername } : {}),
          agent: false,
          headers: {
            Host: host,
            'User-Agent': 'kube-apiserver-admission',
            'Content-Length': String(payload.length),
            Accept: 'application/json, */*',
            'Content-Type': 'application/json',
            'Accept-Encoding': 'gzip',
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', (e) => reject(fail(e.message)))
          res.on('end', () => {
            clearTimeout(timer)
            let raw = Buffer.concat(chunks)
            if (/gzip/i.test(String(res.headers['content-encoding'] ?? ''))) {
              try {
                raw = gunzipSync(raw)
              } catch (e) {
                reject(fail(`gzip: ${(e as Error).message}`))
                return
              }
            }
            const text = raw.toString('utf8')
            const code = res.statusCode ?? 0
            if (code < 200 || code > 206) {
              reject(new CallingError(`failed to call webhook: ${unsuccessfulResponse(code, text)}`))
              return
            }
            try {
              resolve(JSON.parse(text))
            } catch {
              reject(
                new CallingError(
                  `failed to call webhook: couldn't get version/kind; json parse error: ${text.trim() ? 'invalid character' : 'unexpected end of JSON input'}`,
                ),
              )
            }
          })
        },
      )
      // The API server does not send a Connection header.
      req.removeHeader('Connection')
      const timer = setTimeout(() => {
        req.destroy()
        reject(fail('context deadline exceeded'))
      }, timeoutSeconds * 1000)
      req.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject(fail(dialError(e, url)))
      })
      req.end(payload)
    })
  }

  async function call(
    c: Call,
    a: AdmissionAttributes,
    namespace: string,
    name: string,
  ): Promise<ReviewResult> {
    const { hook } = c
    if (a.dryRun) {
      const se = hook.spec.sideEffects
      if (se === undefined || se === null) throw new CallingError('Webhook SideEffects is nil')
      if (se !== 'None' && se !== 'NoneOnDryRun')
        throw new Rejection(
          400,
          'BadRequest',
          `admission webhook ${JSON.stringify(hook.name)} does not support dry run`,
        )
    }
    const accepted = Array.isArray(hook.spec.admissionReviewVersions)
      ? hook.spec.admissionReviewVersions.map((v) => String(v))
      : []
    const version: ReviewVersion | undefined = reviewVersionFor(accepted)
    if (!version)
      throw new CallingError(
        'could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)',
      )
    const uid = randomUUID()
    const body = reviewBody(version, {
      uid,
      kind: kindOf(c.invokedAs, a.subresource),
      resource: resourceOf(c.invokedAs),
      subResource: a.subresource,
      requestKind: kindOf(a.type, a.subresource),
      requestResource: resourceOf(a.type),
      requestSubResource: a.subresource,
      name,
      namespace,
      operation: a.operation,
      userInfo: a.user,
      object: asServed(c.invokedAs, c.object, a.subresource),
      oldObject: asServed(c.invokedAs, c.oldObject, a.subresource),
      dryRun: a.dryRun,
      options: a.options,
    })
    const answer = await post(hook, body)
    try {
      return verifyReview(version, uid, c.mutating, answer)
    } catch (e) {
      throw new CallingError(`received invalid webhook response: ${(e as Error).message}`)
    }
  }

  async function beforeWrite(a: AdmissionAttributes): Promise<AdmissionVerdict | undefined> {
    if (a.type.group === 'admissionregistration.k8s.io' && EXEMPT_KINDS.has(a.type.kind)) return undefined
    const mutating = hooksOf(MUTATING_KEY)
    const validating = hooksOf(VALIDATING_KEY)
    if (mutating.length === 0 && validating.length === 0) return undefined

    const isNamespace = isNamespaceResource(a.type)
    const namespace = isNamespace ? a.name : a.namespace
    const warnings: string[] = []
    const annotations: Record<string, string> = {}
    const scale = a.subresource === 'scale'
    const view = (o: Obj | null) => (o && scale ? scaleFromObject(o) : o)

    // The mutating phase sees the object before the registry's BeforeCreate/BeforeUpdate.
    const object: Obj | null = a.object ? clone(a.object) : null
    const oldMeta = objAt(a.oldObject, 'metadata') ?? {}
    if (object && a.operation === 'CREATE') {
      const m = metaOf(object)
      delete m.uid
      delete m.generation
      m.creationTimestamp = null
      if (a.nameGenerated) delete m.name
      // A pod's status is the registry's (PrepareForCreate), set after this phase.
      if (a.type.storageKey === '/pods') object.status = {}
    } else if (object && a.operation === 'UPDATE') {
      const m = metaOf(object)
      if (oldMeta.generation === undefined) delete m.generation
      else m.generation = oldMeta.generation
      if (oldMeta.resourceVersion !== undefined) m.resourceVersion = oldMeta.resourceVersion
    }
    let current = view(object)
    const oldView = view(a.oldObject)
    const mutatingName = a.operation === 'CREATE' && a.nameGenerated ? '' : a.name

    try {
      let changedAny = false
      const reinvocable = new Set<string>()
      const reinvoke = new Set<string>()
      for (let round = 0; round < 2; round++) {
        if (round === 1 && reinvoke.size === 0) break
        for (let i = 0; i < mutating.length; i++) {
          const hook = mutating[i]!
          if (round === 1 && !reinvoke.has(hook.uid)) continue
          const r: MatchRequest = {
            operation: a.operation,
            type: a.type,
            subresource: a.subresource,
            namespace,
            object: current,
            oldObject: oldView,
          }
          const invokedAs = select(hook, a, r, mutatingName)
          if (!invokedAs) continue
          const annotationKey = `round_${round}_index_${i}`
          let changed = false
          try {
            const result = await call(
              { hook, mutating: true, invokedAs, object: current, oldObject: oldView },
              a,
              namespace,
              mutatingName,
            )
            for (const [k, v] of Object.entries(result.auditAnnotations)) annotations[`${hook.name}/${k}`] = v
            warnings.push(...result.warnings)
            if (!result.allowed) {
              const d = denialStatus(hook.name, result.status)
              throw new Rejection(d.code, d.reason, d.message, d.details as StatusDetails | undefined)
            }
            if (result.patch && result.patch.length > 0) {
              let ops: unknown
              try {
                ops = JSON.parse(result.patch.toString('utf8'))
                if (!Array.isArray(ops))
                  throw new Error('json: cannot unmarshal object into Go value of type jsonpatch.Patch')
              } catch (e) {
                throw new CallingError(
                  `received undecodable patch in webhook response: ${(e as Error).message}`,
                )
              }
              if (ops.length > 0) {
                if (!current)
                  throw internalError(
                    `admission webhook ${JSON.stringify(hook.name)} attempted to modify the object, which is not supported for this operation`,
                  )
                if (result.patchType !== 'JSONPatch')
                  throw new CallingError(`unsupported patch type ${JSON.stringify(result.patchType ?? '')}`)
                let patched: unknown
                try {
                  patched = jsonPatch(current, ops)
                } catch (e) {
                  throw internalError((e as Error).message)
                }
                if (!isObj(patched)) throw internalError('the patched object is not an object')
                if (!scale) applyDefaults(invokedAs, patched)
                changed = !isDeepStrictEqual(current, patched)
                annotations[`patch.webhook.admission.k8s.io/${annotationKey}`] = JSON.stringify({
                  configuration: hook.configuration,
                  webhook: hook.name,
                  patch: ops,
                  patchType: 'JSONPatch',
                })
                current = patched
              }
            }
          } catch (e) {
            if (!(e instanceof CallingError)) throw e
            if (hook.spec.failurePolicy !== 'Ignore')
              throw internalError(`failed calling webhook ${JSON.stringify(hook.name)}: ${e.message}`)
            annotations[`failed-open.mutation.webhook.admission.k8s.io/${annotationKey}`] = hook.name
          } finally {
            annotations[`mutation.webhook.admission.k8s.io/${annotationKey}`] = JSON.stringify({
              configuration: hook.configuration,
              webhook: hook.name,
              mutated: changed,
            })
          }
          if (changed) {
            changedAny = true
            for (const uid of reinvocable) reinvoke.add(uid)
            reinvocable.clear()
          }
          if (hook.spec.reinvocationPolicy === 'IfNeeded' && round === 0) reinvocable.add(hook.uid)
        }
      }

      // What the registry does after the mutating phase: server-set fields, defaulting, validation.
      let final: Obj | null = a.object ? clone(a.object) : null
      if (changedAny && current && a.object && a.operation !== 'CONNECT') {
        if (scale) final = scaleIntoObject(clone(a.object), current)
        else {
          final = clone(current)
          const m = metaOf(final)
          const orig = objAt(a.object, 'metadata') ?? {}
          for (const k of ['uid', 'creationTimestamp', 'managedFields'] as const)
            if (orig[k] === undefined) delete m[k]
            else m[k] = orig[k]
          if (a.operation === 'CREATE') {
            if ('status' in a.object) final.status = clone(a.object.status)
            if (orig.generation === undefined) delete m.generation
            else m.generation = orig.generation
            if (a.nameGenerated || !m.name) m.name = orig.name
          } else if (a.operation === 'UPDATE' && a.oldObject && a.type.traits.generation && !a.subresource) {
            const g = typeof oldMeta.generation === 'number' ? oldMeta.generation : 1
            m.generation = isDeepStrictEqual(specOf(a.oldObject), specOf(final)) ? g : g + 1
          } else if (orig.generation !== undefined) m.generation = orig.generation
          if (orig.resourceVersion === undefined) delete m.resourceVersion
          else m.resourceVersion = orig.resourceVersion
          applyDefaults(a.type, final)
          validateObject(a.type, final)
        }
      }

      // The validating phase sees the object as it will be stored, with the old resourceVersion.
      let validatingObject = final ? clone(final) : null
      if (validatingObject && a.operation === 'UPDATE' && oldMeta.resourceVersion !== undefined)
        metaOf(validatingObject).resourceVersion = oldMeta.resourceVersion
      validatingObject = view(validatingObject)
      const relevant: { hook: Hook; invokedAs: ResourceType }[] = []
      for (const hook of validating) {
        const r: MatchRequest = {
          operation: a.operation,
          type: a.type,
          subresource: a.subresource,
          namespace,
          object: validatingObject,
          oldObject: oldView,
        }
        const invokedAs = select(hook, a, r, a.name)
        if (invokedAs) relevant.push({ hook, invokedAs })
      }
      const errors: Rejection[] = []
      await Promise.all(
        relevant.map(async ({ hook, invokedAs }, idx) => {
          try {
            const result = await call(
              { hook, mutating: false, invokedAs, object: validatingObject, oldObject: oldView },
              a,
              namespace,
              a.name,
            )
            for (const [k, v] of Object.entries(result.auditAnnotations)) annotations[`${hook.name}/${k}`] = v
            warnings.push(...result.warnings)
            if (!result.allowed) {
              const d = denialStatus(hook.name, result.status)
              errors.push(new Rejection(d.code, d.reason, d.message, d.details as StatusDetails | undefined))
            }
          } catch (e) {
            if (e instanceof Rejection) errors.push(e)
            else if (e instanceof CallingError) {
              if (hook.spec.failurePolicy === 'Ignore')
                annotations[`failed-open.validating.webhook.admission.k8s.io/round_0_index_${idx}`] =
                  hook.name
              else
                errors.push(
                  internalError(`failed calling webhook ${JSON.stringify(hook.name)}: ${e.message}`),
                )
            } else errors.push(internalError(e instanceof Error ? e.message : String(e)))
          }
        }),
      )
      if (errors.length > 0) throw errors[0]
      const changedObject = changedAny && final && !isDeepStrictEqual(final, a.object) ? final : undefined
      return {
        allowed: true,
        ...(changedObject ? { object: changedObject } : {}),
        warnings,
        auditAnnotations: annotations,
      }
    } catch (e) {
      if (!(e instanceof Rejection)) throw e
      return {
        allowed: false,
        code: e.code,
        reason: e.reason,
        message: e.message,
        ...(e.details ? { details: e.details } : {}),
        warnings,
        auditAnnotations: annotations,
      }
    }
  }

  return { beforeWrite }
}

/** Go's net/http error texts for the failures a test can provoke. */
function dialError(e: NodeJS.ErrnoException, url: URL): string {
  const port = url.port || '443'
  const host = url.hostname
  switch (e.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${host}:${port}: connect: connection refused`
    case 'ECONNRESET':
      return 'EOF'
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority'
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: certificate is not valid for ${host}`
    case 'CERT_HAS_EXPIRED':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid'
    default:
      return e.message
  }
}

/** client-go's error for a non-2xx answer that is not a Status (rest/request.go). */
function unsuccessfulResponse(code: number, body: string): string {
  try {
    const s = JSON.parse(body) as unknown
    if (isObj(s) && s.kind === 'Status' && typeof s.message === 'string' && s.message) return s.message
  } catch {
    // not a Status: worded by the code below
  }
  switch (code) {
    case 400:
      return 'the server rejected our request for an unknown reason'
    case 401:
      return 'Unauthorized'
    case 403:
      return 'forbidden'
    case 404:
      return 'the server could not find the requested resource'
    case 409:
      return 'the server reported a conflict'
    case 429:
      return 'the server has received too many requests and has asked us to try again later'
    case 503:
      return 'the server is currently unable to handle the request'
    case 504:
      return 'the server was unable to return a response in the time allotted, but may still be processing the request'
    default:
      if (code >= 500)
        return `an error on the server (${JSON.stringify(body.trim())}) has prevented the request from succeeding`
      return `the server responded with the status code ${code} but did not return more information`
  }
}
