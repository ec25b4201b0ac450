/**
 * The local control plane: an HTTPS server on 127.0.0.1 that speaks the Kubernetes API as a
 * kube-apiserver v1.32 does on the wire (see the corpus in shared/corpus/kube-apiserver), for tests,
 * benches and the demo. It makes its own PKI, an admin user (kube-admin in system:masters, as the
 * recorded server's admin), users on demand with certificates and tokens, and kubeconfig files.
 *
 *   const cp = await startControlPlane()
 *   cp.kubeconfig('/tmp/kubeconfig')         // kubectl --kubeconfig /tmp/kubeconfig get pods -A
 *   cp.user('jane', { rules: [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }] })
 *   cp.compact(); cp.dropWatches()           // test controls: 410 Gone, dropped connections
 *   await cp.stop()
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { type WebhookAdmissionOptions, webhookAdmission } from './admission-webhooks.js'
import { type AuditOptions, Auditor } from './audit.js'
import {
  ANONYMOUS,
  type Credentials,
  type KubeconfigEntry,
  type UserSpec,
  Users,
  writeKubeconfig,
} from './auth.js'
import type { ResourceType } from './catalog.js'
import { Pki } from './certs.js'
import { handleConnect, isConnectSubresource } from './connect.js'
import type { Ctx, Shared } from './context.js'
import { admitOnCreate, applyDefaults, ClusterIpAllocator } from './defaults.js'
import { Discovery, healthBody, versionBody } from './discovery.js'
import type { ControlPlaneHooks } from './hooks.js'
import {
  aggregatedDiscovery,
  newWireIdentity,
  plainNotFound,
  readBody,
  reply,
  replyError,
  writeHead,
} from './http.js'
import { namespaceCreated, systemCreate } from './lifecycle.js'
import { handleGet, handleList } from './lists.js'
import { recordUpdate } from './managed-fields.js'
import { ObjectStore } from './objects.js'
import { OPENAPI_V2_JSON, OPENAPI_V2_PROTOBUF, OPENAPI_V3_ROOT, wantsProtobuf } from './openapi.js'
import { decodeProtobuf, isProtobuf } from './protobuf.js'
import { type Attributes, Authorizer, requestAttributes } from './rbac.js'
import { ResourceRegistry } from './registry.js'
import { parseRoute, type ResourceRoute } from './request.js'
import { handleReview, handleTokenRequest } from './reviews.js'
import { extractFields } from './selectors.js'
import { ApiError, methodNotAllowed, resourceNotFound } from './status.js'
import { isObj, type Obj, objAt, strAt, type UserInfo } from './types.js'
import { handleWatch } from './watch.js'
import {
  handleCreate,
  handleDelete,
  handleDeleteCollection,
  handleGetScale,
  handlePatch,
  handleUpdate,
} from './writes.js'

export interface ControlPlaneOptions {
  /** Port on 127.0.0.1 (default: a free one). */
  readonly port?: number
  /** Serve requests without credentials as system:anonymous (default true, as kube-apiserver); false: 401. */
  readonly anonymous?: boolean
  /** Events kept per resource for watches and consistent reads (default 200,000). */
  readonly historyLimit?: number
  /** Period of BOOKMARK events on long watches (default 60 s, the API server's). */
  readonly bookmarkIntervalMs?: number
  /** Wait before a 504 "Too large resource version" (default 3 s, the API server's). */
  readonly tooLargeWaitMs?: number
  /** How long a deleted namespace stays Terminating before it and its objects are gone (default 500 ms). */
  readonly namespaceFinalizeMs?: number
  readonly hooks?: readonly ControlPlaneHooks[]
  /**
   * Admission webhooks (Mutating/ValidatingWebhookConfigurations stored here are honoured, as by a
   * kube-apiserver, which always runs both plugins). `false` turns them off; `serviceAddress` says where
   * a `clientConfig.service` is served, there being no cluster network.
   */
  readonly webhooks?: false | WebhookAdmissionOptions
  /**
   * Audit events as kube-apiserver's webhook backend sends them (audit.ts): a policy, the receiver
   * (a target or a webhook kubeconfig), batch size and wait. Off by default.
   */
  readonly audit?: AuditOptions
}

export interface ControlPlane {
  /** https://127.0.0.1:PORT */
  readonly url: string
  readonly port: number
  /** PEM of the CA that signed the serving certificate. */
  readonly ca: string
  /** The admin: kube-admin in system:masters. */
  readonly admin: Credentials
  /** The current global revision (resourceVersion of the last write). */
  readonly revision: number
  /** Admission and audit extension points; push to add. */
  readonly hooks: ControlPlaneHooks[]
  /** Creates (or replaces) a user with groups and directly granted rules; returns its credentials. */
  user(name: string, spec?: UserSpec): Credentials
  /**
   * Writes a kubeconfig for one user (default: the admin) or several contexts (the first is current);
   * returns the path.
   */
  kubeconfig(path: string, who?: string | KubeconfigEntry | readonly KubeconfigEntry[]): string
  /**
   * Stores objects directly (no HTTP, no hooks): for seeding. Namespaces are created as needed. With
   * `asCreated`, each object is defaulted, gets managedFields and built-in admission as if created
   * by `manager` (default kubectl-create); otherwise it is stored as given (e.g. generated objects).
   */
  load(objects: Iterable<Obj>, options?: { asCreated?: boolean; manager?: string }): number
  /** Forgets history up to `revision` (default: now): older watches and continue tokens get 410. */
  compact(revision?: number): void
  /** Cuts every open watch connection abruptly (no terminating chunk); returns how many. */
  dropWatches(): number
  /** The auditor when `audit` was given: `flush()` sends what is buffered. */
  readonly auditor?: Auditor
  /** Stops serving, then flushes the audit backend (when auditing). */
  stop(): Promise<void>
}

const ADMIN = 'kube-admin'

class Router {
  readonly discovery: Discovery

  constructor(
    readonly shared: Shared,
    private readonly anonymous: boolean,
    address: () => string,
  ) {
    this.discovery = new Discovery(shared.registry, address)
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { wire } = this.shared
    try {
      await this.dispatch(req, res)
    } catch (e) {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (e instanceof ApiError) replyError(res, wire, e)
      else {
        const message = e instanceof Error ? e.message : String(e)
        replyError(
          res,
          wire,
          new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
            causes: [{ reason: 'UnexpectedServerResponse', message }],
          }),
        )
      }
    }
  }

  private authenticate(req: IncomingMessage): UserInfo {
    const r = this.shared.users.authenticate(req)
    if (r === 'anonymous') {
      if (!this.anonymous) throw new ApiError(401, 'Unauthorized', 'Unauthorized')
      return ANONYMOUS
    }
    if (!r.ok) throw new ApiError(401, 'Unauthorized', 'Unauthorized')
    return r.user
  }

  /** Impersonate-User / Impersonate-Group, allowed by the impersonate verb. */
  private impersonate(req: IncomingMessage, user: UserInfo): UserInfo {
    const asUser = req.headers['impersonate-user']
    if (typeof asUser !== 'string' || !asUser) return user
    const check = (resource: string, name: string) => {
      const a: Attributes = {
        kind: 'resource',
        verb: 'impersonate',
        group: '',
        resource,
        subresource: '',
        namespace: '',
        name,
      }
      if (!this.shared.authorizer.allowed(user, a)) throw Authorizer.forbidden(user, a)
    }
    check('users', asUser)
    const raw = req.headers['impersonate-group']
    const groups = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
    for (const g of groups) check('groups', g)
    return { username: asUser, groups: [...groups, 'system:authenticated'] }
  }

  private authorize(user: UserInfo, a: Attributes): void {
    if (!this.shared.authorizer.allowed(user, a)) throw Authorizer.forbidden(user, a)
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { wire } = this.shared
    const receivedAt = new Date()
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'https://127.0.0.1')
    } catch {
      throw new ApiError(400, 'BadRequest', 'malformed request URL')
    }
    const method = req.method ?? 'GET'
    const user = this.impersonate(req, this.authenticate(req))
    for (const hook of this.shared.hooks) {
      const verdict = hook.onRequest?.({
        method,
        url: req.url ?? '',
        user,
        userAgent: req.headers['user-agent'] ?? '',
        sourceIp: req.socket.remoteAddress ?? '',
      })
      if (verdict) throw new ApiError(verdict.code, verdict.reason, verdict.message)
    }
    const route = parseRoute(method, url.pathname, url.searchParams)
    this.authorize(user, requestAttributes(method, route, url.pathname))
    if (route.kind !== 'resource') {
      this.nonResource(req, res, route, url)
      return
    }
    const { registry } = this.shared
    if (!registry.servesGroupVersion(route.group, route.version)) {
      plainNotFound(res, wire)
      return
    }
    const type = registry.lookup(route.group, route.version, route.resource)
    if (!type || (!type.namespaced && route.namespace && route.resource !== 'namespaces'))
      throw resourceNotFound()
    const ctx: Ctx = {
      shared: this.shared,
      req,
      res,
      url,
      query: url.searchParams,
      route,
      type,
      user,
      receivedAt,
    }
    await this.resource(ctx, route, type)
  }

  private nonResource(
    req: IncomingMessage,
    res: ServerResponse,
    route: ReturnType<typeof parseRoute>,
    url: URL,
  ): void {
    const { wire } = this.shared
    const accept = req.headers.accept
    if (route.kind === 'apiRoot') {
      const agg = aggregatedDiscovery(accept)
      if (!agg) {
        const body = route.prefix === 'api' ? this.discovery.legacyApi() : this.discovery.legacyApis()
        reply(res, wire, 200, body, { contentType: 'application/json' })
        return
      }
      const d = this.discovery.aggregated(route.prefix, agg)
      const headers: [string, string][] = [
        ['Etag', d.etag ?? ''],
        ['Vary', 'Accept'],
      ]
      if (req.headers['if-none-match'] === d.etag) {
        writeHead(res, wire, 304, { contentType: '', cacheControl: 'public', extra: headers })
        res.end()
        return
      }
      reply(res, wire, 200, d.body, {
        contentType: `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`,
        cacheControl: 'public',
        extra: headers,
      })
      return
    }
    if (route.kind === 'group') {
      const body = this.discovery.group(route.group)
      if (!body) plainNotFound(res, wire)
      else reply(res, wire, 200, body, { contentType: 'application/json' })
      return
    }
    if (route.kind === 'groupVersion') {
      const body = this.discovery.resourceList(route.group, route.version)
      if (!body) plainNotFound(res, wire)
      else reply(res, wire, 200, body, { contentType: 'application/json' })
      return
    }
    const path = url.pathname
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plainNotFound(res, wire)
      return
    }
    if (path === '/version' || path === '/version/') {
      reply(res, wire, 200, versionBody(), { contentType: 'application/json' })
    } else if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      const body = healthBody(path, url.searchParams.has('verbose'))
      reply(res, wire, 200, body, { contentType: 'text/plain; charset=utf-8', nosniff: true })
    } else if (/^\/(healthz|livez|readyz)\/[a-z/-]+$/.test(path)) {
      reply(res, wire, 200, 'ok', { contentType: 'text/plain; charset=utf-8', nosniff: true })
    } else if (path === '/openapi/v2') {
      if (wantsProtobuf(req.headers.accept)) {
        writeHead(res, wire, 200, {
          contentType: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
        })
        res.setHeader('Content-Length', OPENAPI_V2_PROTOBUF.length)
        res.end(OPENAPI_V2_PROTOBUF)
      } else reply(res, wire, 200, OPENAPI_V2_JSON, { contentType: 'application/json' })
    } else if (path === '/openapi/v3') {
      reply(res, wire, 200, OPENAPI_V3_ROOT, { contentType: 'application/json' })
    } else {
      plainNotFound(res, wire)
    }
  }

  /** The request body as text; protobuf bodies of the kinds kubectl posts are decoded to JSON. */
  private async bodyText(ctx: Ctx): Promise<string> {
    const raw = await readBody(ctx.req)
    const ct = (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (!isProtobuf(ct)) return raw.toString('utf8')
    const obj = raw.length ? decodeProtobuf(raw) : {}
    if (!obj)
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
      )
    ctx.req.headers['content-type'] = 'application/json'
    return JSON.stringify(obj)
  }

  private async resource(ctx: Ctx, route: ResourceRoute, type: ResourceType): Promise<void> {
    const method = ctx.req.method ?? 'GET'
    const sub = route.subresource
    const hasSub = (name: string) => type.subresources.some((s) => s.name === name)
    if (sub && !hasSub(sub)) throw resourceNotFound()
    switch (route.verb) {
      case 'get':
        if (!type.verbs.includes('get')) throw methodNotAllowed()
        if (sub === 'scale') return handleGetScale(ctx)
        if (isConnectSubresource(sub) && type.storageKey === '/pods') return handleConnect(ctx)
        if (sub && sub !== 'status') throw resourceNotFound()
        return handleGet(ctx)
      case 'list':
        if (!type.verbs.includes('list')) throw methodNotAllowed()
        return handleList(ctx)
      case 'watch':
        if (!type.verbs.includes('watch')) throw methodNotAllowed()
        return handleWatch(ctx)
      case 'create': {
        if (route.name && isConnectSubresource(sub) && type.storageKey === '/pods') return handleConnect(ctx)
        const text = await this.bodyText(ctx)
        if (route.name && sub === 'token' && type.storageKey === '/serviceaccounts')
          return handleTokenRequest(ctx, text)
        if (route.name) throw methodNotAllowed()
        if (type.traits.virtual) {
          if (handleReview(ctx, text)) return
          throw methodNotAllowed()
        }
        return handleCreate(ctx, text)
      }
      case 'update':
      case 'patch': {
        if (!route.name) throw methodNotAllowed()
        const ephemeral = sub === 'ephemeralcontainers' && type.storageKey === '/pods'
        if (sub && sub !== 'status' && sub !== 'scale' && !ephemeral) throw resourceNotFound()
        const text = await this.bodyText(ctx)
        return method === 'PUT' ? handleUpdate(ctx, text) : handlePatch(ctx, text)
      }
      case 'delete':
        if (sub) throw methodNotAllowed()
        return handleDelete(ctx, await this.bodyText(ctx))
      case 'deletecollection':
        return handleDeleteCollection(ctx, await this.bodyText(ctx))
      default:
        throw methodNotAllowed()
    }
  }
}

function bootstrap(shared: Shared, caPem: string): void {
  const { registry } = shared
  const ns = registry.lookup('', 'v1', 'namespaces')!
  for (const name of ['default', 'kube-node-lease', 'kube-public', 'kube-system']) {
    systemCreate(
      shared,
      ns,
      {
        kind: 'Namespace',
        apiVersion: 'v1',
        metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      },
      'kube-apiserver',
    )
    namespaceCreated(shared, name, caPem)
  }
  const cr = registry.lookup('rbac.authorization.k8s.io', 'v1', 'clusterroles')!
  const crb = registry.lookup('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings')!
  const bootstrapLabels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' }
  systemCreate(
    shared,
    cr,
    {
      kind: 'ClusterRole',
      apiVersion: 'rbac.authorization.k8s.io/v1',
      metadata: {
        name: 'cluster-admin',
        labels: bootstrapLabels,
        annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
      },
      rules: [
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
        { verbs: ['*'], nonResourceURLs: ['*'] },
      ],
    },
    'kube-apiserver',
  )
  systemCreate(
    shared,
    crb,
    {
      kind: 'ClusterRoleBinding',
      apiVersion: 'rbac.authorization.k8s.io/v1',
      metadata: {
        name: 'cluster-admin',
        labels: bootstrapLabels,
        annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
      },
      subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:masters' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    },
    'kube-apiserver',
  )
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const pki = new Pki()
  const registry = new ResourceRegistry()
  const store = new ObjectStore(
    options.historyLimit !== undefined ? { historyLimit: options.historyLimit } : {},
  )
  const users = new Users(pki)
  const hooks: ControlPlaneHooks[] = [...(options.hooks ?? [])]
  const shared: Shared = {
    store,
    registry,
    users,
    authorizer: new Authorizer(store, registry, users),
    wire: newWireIdentity(),
    hooks,
    ips: new ClusterIpAllocator(),
    timing: {
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
      tooLargeWaitMs: options.tooLargeWaitMs ?? 3000,
      namespaceFinalizeMs: options.namespaceFinalizeMs ?? 500,
    },
    caPem: pki.serverCa.cert,
    watches: new Set(),
  }
  // After the hooks the caller gave (built-in admission comes before the webhook plugins); hooks
  // pushed to controlPlane.hooks later run after it.
  if (options.webhooks !== false) hooks.push(webhookAdmission(shared, options.webhooks ?? {}))
  users.define(ADMIN, { groups: ['system:masters'] })
  bootstrap(shared, pki.serverCa.cert)
  let auditor: Auditor | undefined
  try {
    auditor = options.audit ? new Auditor(shared, options.audit, options.anonymous ?? true) : undefined
  } catch (e) {
    // An invalid policy or webhook kubeconfig: nothing was started yet but the PKI.
    pki.dispose()
    throw e
  }
  if (auditor) {
    hooks.push(auditor.hooks)
    auditor.observeAdmission(hooks)
  }

  let port = 0
  const router = new Router(shared, options.anonymous ?? true, () => `127.0.0.1:${port}`)
  const server: Server = createServer(
    {
      key: pki.server.key,
      cert: pki.server.cert,
      ca: [pki.clientCa.cert],
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    },
    (req, res) => {
      if (auditor) auditor.handle(req, res, () => router.handle(req, res))
      else void router.handle(req, res)
    },
  )
  // A request that does not parse gets Go's plain 400, then the connection is closed.
  server.on('clientError', (_err, socket) => {
    if (socket.writable)
      socket.end(
        'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request',
      )
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  port = (server.address() as AddressInfo).port
  const url = `https://127.0.0.1:${port}`

  const load = (objects: Iterable<Obj>, opts: { asCreated?: boolean; manager?: string } = {}): number => {
    let n = 0
    const nsType = registry.lookup('', 'v1', 'namespaces')!
    for (const obj of objects) {
      if (!isObj(obj)) continue
      const type = registry.byKind(String(obj.apiVersion ?? ''), String(obj.kind ?? ''))
      if (!type || type.traits.virtual)
        throw new Error(`cannot load ${String(obj.apiVersion)} ${String(obj.kind)}: not served`)
      const meta = objAt(obj, 'metadata') ?? {}
      obj.metadata = meta
      if (type.namespaced) {
        const ns = strAt(meta, 'namespace') ?? 'default'
        meta.namespace = ns
        if (!store.get(nsType.storageKey, '', ns)) {
          systemCreate(
            shared,
            nsType,
            {
              kind: 'Namespace',
              apiVersion: 'v1',
              metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } },
              spec: { finalizers: ['kubernetes'] },
              status: { phase: 'Active' },
            },
            'kube-apiserver',
          )
          namespaceCreated(shared, ns, pki.serverCa.cert)
        }
      }
      meta.creationTimestamp ??= new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
      meta.uid ??= randomUUID()
      if (opts.asCreated) {
        if (type.traits.generation) meta.generation ??= 1
        applyDefaults(type, obj)
        recordUpdate(type, null, obj, opts.manager ?? 'kubectl-create', type.apiVersion)
        admitOnCreate(type, obj, shared.ips)
      }
      store.put(type, obj, (o) => extractFields(type, o))
      if (type.storageKey === '/namespaces') namespaceCreated(shared, String(meta.name), pki.serverCa.cert)
      n++
    }
    return n
  }

  const cp: ControlPlane = {
    url,
    port,
    ca: pki.serverCa.cert,
    admin: users.credentials(ADMIN),
    get revision() {
      return store.revision
    },
    hooks,
    ...(auditor ? { auditor } : {}),
    user(name, spec) {
      users.define(name, spec)
      return users.credentials(name)
    },
    kubeconfig(path, who = ADMIN) {
      const list: readonly KubeconfigEntry[] =
        typeof who === 'string' ? [{ user: who }] : Array.isArray(who) ? who : [who as KubeconfigEntry]
      return writeKubeconfig(
        path,
        url,
        pki.serverCa.cert,
        list.map((e) => ({ ...e, credentials: users.credentials(e.user ?? ADMIN) })),
      )
    },
    load,
    compact(revision) {
      store.compact(revision)
    },
    dropWatches() {
      const n = shared.watches.size
      for (const res of [...shared.watches]) {
        shared.watches.delete(res)
        res.socket?.destroy()
      }
      return n
    },
    async stop() {
      cp.dropWatches()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await auditor?.stop()
      pki.dispose()
    },
  }
  return cp
}

export type { WebhookAdmissionOptions } from './admission-webhooks.js'
export type { AuditOptions, Auditor } from './audit.js'
export type { Credentials, KubeconfigEntry, UserSpec } from './auth.js'
export type { ControlPlaneHooks } from './hooks.js'
