/**
 * The create-only review resources: SelfSubjectAccessReview (kubectl auth can-i, Plimsoll's RBAC
 * self-check), SelfSubjectRulesReview (can-i --list), SelfSubjectReview (whoami), SubjectAccessReview
 * and LocalSubjectAccessReview (for another user), TokenReview, and the ServiceAccount TokenRequest.
 * They are answered from the same authorizer that guards every request, never stored.
 */
import type { Ctx } from './context.js'
import { reply } from './http.js'
import { defaultManager, nowTime, recordUpdate } from './managed-fields.js'
import type { Attributes } from './rbac.js'
import { badRequest, notFound } from './status.js'
import type { PolicyRule } from './types.js'
import { clone, isObj, type Obj, objAt, strAt, type UserInfo } from './types.js'

function decode(text: string): Obj {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    throw badRequest(
      "the object provided is unrecognized: couldn't get version/kind; json parse error: unexpected end of JSON input",
    )
  }
  if (!isObj(v)) throw badRequest('the object provided is unrecognized')
  return v
}

function attributesOf(spec: Obj): Attributes | null {
  const ra = objAt(spec, 'resourceAttributes')
  if (ra) {
    return {
      kind: 'resource',
      verb: strAt(ra, 'verb') ?? '',
      group: strAt(ra, 'group') ?? '',
      resource: strAt(ra, 'resource') ?? '',
      subresource: strAt(ra, 'subresource') ?? '',
      namespace: strAt(ra, 'namespace') ?? '',
      name: strAt(ra, 'name') ?? '',
    }
  }
  const nra = objAt(spec, 'nonResourceAttributes')
  if (nra) return { kind: 'nonResource', verb: strAt(nra, 'verb') ?? '', path: strAt(nra, 'path') ?? '' }
  return null
}

function answer(ctx: Ctx, doc: Obj): void {
  const t = ctx.type
  const manager = ctx.query.get('fieldManager') ?? defaultManager(ctx.req.headers['user-agent'])
  const meta: Obj = { creationTimestamp: null }
  doc.metadata = meta
  // The writer owns what it sent (the spec); the status is the server's answer.
  const tracked: Obj = { spec: clone(doc.spec ?? {}), metadata: meta }
  recordUpdate(t, null, tracked, manager, t.apiVersion)
  const { kind: _k, apiVersion: _a, metadata, ...rest } = doc
  const out = { kind: t.kind, apiVersion: t.apiVersion, metadata, ...rest }
  reply(ctx.res, ctx.shared.wire, 201, `${JSON.stringify(out)}\n`, { contentType: 'application/json' })
}

function userOf(spec: Obj): UserInfo {
  const groups = Array.isArray(spec.groups)
    ? spec.groups.filter((g): g is string => typeof g === 'string')
    : []
  return { username: strAt(spec, 'user') ?? '', groups }
}

function ruleJson(r: PolicyRule): Obj {
  if (r.nonResourceURLs && !r.resources) return { verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }
  return {
    verbs: r.verbs,
    apiGroups: r.apiGroups ?? [],
    resources: r.resources ?? [],
    ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
  }
}

/** Handles POST to a virtual resource; false when `ctx` is not one. */
export function handleReview(ctx: Ctx, text: string): boolean {
  const { authorizer } = ctx.shared
  const key = ctx.type.storageKey
  if (
    key === 'authorization.k8s.io/selfsubjectaccessreviews' ||
    key === 'authorization.k8s.io/subjectaccessreviews' ||
    key === 'authorization.k8s.io/localsubjectaccessreviews'
  ) {
    const body = decode(text)
    const spec = objAt(body, 'spec') ?? {}
    const attrs = attributesOf(spec)
    const who = key.endsWith('/selfsubjectaccessreviews') ? ctx.user : userOf(spec)
    const allowed = attrs ? authorizer.allowed(who, attrs) : false
    answer(ctx, { spec, status: { allowed } })
    return true
  }
  if (key === 'authorization.k8s.io/selfsubjectrulesreviews') {
    const body = decode(text)
    const spec = objAt(body, 'spec') ?? {}
    const namespace = strAt(spec, 'namespace') ?? ''
    const rules = ctx.user.groups.includes('system:masters')
      ? [
          { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
          { verbs: ['*'], nonResourceURLs: ['*'] },
        ]
      : authorizer
          .rulesFor(ctx.user, namespace)
          .filter((r) => !r.namespaces || r.namespaces.includes(namespace) || r.namespaces.includes('*'))
    const resourceRules = rules.filter((r) => r.resources).map(ruleJson)
    const nonResourceRules = rules.filter((r) => r.nonResourceURLs && !r.resources).map(ruleJson)
    answer(ctx, { spec, status: { resourceRules, nonResourceRules, incomplete: false } })
    return true
  }
  if (key === 'authentication.k8s.io/selfsubjectreviews') {
    const u = ctx.user
    const doc = {
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: nowTime() },
      status: {
        userInfo: {
          username: u.username,
          ...(u.uid ? { uid: u.uid } : {}),
          groups: u.groups,
          ...(u.extra ? { extra: u.extra } : {}),
        },
      },
    }
    reply(ctx.res, ctx.shared.wire, 201, `${JSON.stringify(doc)}\n`, { contentType: 'application/json' })
    return true
  }
  if (key === 'authentication.k8s.io/tokenreviews') {
    const body = decode(text)
    const spec = objAt(body, 'spec') ?? {}
    const token = strAt(spec, 'token') ?? ''
    const fake = { headers: { authorization: `Bearer ${token}` }, socket: {} } as unknown as Parameters<
      typeof ctx.shared.users.authenticate
    >[0]
    const r = ctx.shared.users.authenticate(fake)
    const status =
      r !== 'anonymous' && r.ok
        ? { authenticated: true, user: { username: r.user.username, groups: r.user.groups } }
        : { user: {} }
    answer(ctx, { spec, status })
    return true
  }
  return false
}

/** POST serviceaccounts/{name}/token. */
export function handleTokenRequest(ctx: Ctx, text: string): void {
  const body = text.trim() ? decode(text) : {}
  const sa = ctx.shared.registry.lookup('', 'v1', 'serviceaccounts')!
  const stored = ctx.shared.store.get(sa.storageKey, ctx.route.namespace, ctx.route.name)
  if (!stored) throw notFound(sa, ctx.route.name)
  const spec = objAt(body, 'spec') ?? {}
  const seconds = typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : 3600
  const token = ctx.shared.users.serviceAccountToken(ctx.route.namespace, ctx.route.name, stored.uid)
  const created = nowTime()
  const manager = ctx.query.get('fieldManager') ?? defaultManager(ctx.req.headers['user-agent'])
  const doc: Obj = {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: ctx.route.name, namespace: ctx.route.namespace, creationTimestamp: created },
    spec: {
      audiences: ['https://kubernetes.default.svc.cluster.local'],
      expirationSeconds: seconds,
      boundObjectRef: null,
    },
    status: {
      token,
      expirationTimestamp: new Date(Date.parse(created) + seconds * 1000)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
    },
  }
  // What the writer owns: the spec it sent, recorded against the token subresource.
  const tracked: Obj = { spec: clone(objAt(body, 'spec') ?? {}), metadata: {} }
  recordUpdate({ ...ctx.type, subresources: [] }, null, tracked, manager, 'authentication.k8s.io/v1', 'token')
  const meta = objAt(doc, 'metadata')
  if (meta) meta.managedFields = objAt(tracked, 'metadata')?.managedFields
  reply(ctx.res, ctx.shared.wire, 201, `${JSON.stringify(doc)}\n`, { contentType: 'application/json' })
}
