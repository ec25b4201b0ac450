/**
 * Authorization: system:masters may do anything; everyone else gets the union of the rules given to
 * them with controlPlane.user(), the bootstrap roles every authenticated user has (discovery,
 * basic-user, public-info-viewer), and the Roles/ClusterRoles bound to them by RoleBindings and
 * ClusterRoleBindings stored in the control plane, exactly as the RBAC authorizer evaluates them.
 * Denials are worded like the API server's.
 */

import type { Users } from './auth.js'
import type { ObjectStore } from './objects.js'
import { objectOf } from './objects.js'
import type { ResourceRegistry } from './registry.js'
import type { Route } from './request.js'
import { ApiError } from './status.js'
import { isObj, type Obj, objAt, type PolicyRule, strAt, type UserInfo } from './types.js'

export interface ResourceAttributes {
  readonly verb: string
  readonly group: string
  readonly resource: string
  readonly subresource: string
  readonly namespace: string
  readonly name: string
}

export type Attributes =
  | ({ readonly kind: 'resource' } & ResourceAttributes)
  | { readonly kind: 'nonResource'; readonly verb: string; readonly path: string }

/** What the authorizer is asked about a request: its resource route's attributes, else its path. */
export function requestAttributes(method: string, route: Route, path: string): Attributes {
  if (route.kind !== 'resource')
    return {
      kind: 'nonResource',
      verb: method === 'GET' || method === 'HEAD' ? 'get' : method.toLowerCase(),
      path,
    }
  return {
    kind: 'resource',
    verb: route.verb,
    group: route.group,
    resource: route.resource,
    subresource: route.subresource,
    namespace: route.namespace,
    name: route.name,
  }
}

// The rules of the bootstrap ClusterRoles every user is bound to (system:public-info-viewer,
// system:discovery, system:service-account-issuer-discovery, system:basic-user); audit-authz.ts names
// the bindings that give them.
export const PUBLIC_INFO: PolicyRule = {
  verbs: ['get'],
  nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'],
}
export const DISCOVERY: PolicyRule = {
  verbs: ['get'],
  nonResourceURLs: [
    '/api',
    '/api/*',
    '/apis',
    '/apis/*',
    '/healthz',
    '/livez',
    '/openapi',
    '/openapi/*',
    '/readyz',
    '/version',
    '/version/',
  ],
}
export const ISSUER_DISCOVERY: PolicyRule = {
  verbs: ['get'],
  nonResourceURLs: [
    '/.well-known/*',
    '/.well-known/openid-configuration/',
    '/.well-known/openid-configuration',
    '/.well-known',
    '/openid/v1/jwks/',
    '/openid/v1/jwks',
  ],
}
export const BASIC_USER: readonly PolicyRule[] = [
  { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
  {
    verbs: ['create'],
    apiGroups: ['authorization.k8s.io'],
    resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
  },
]

const RBAC = 'rbac.authorization.k8s.io'

interface Binding {
  readonly subjects: readonly Obj[]
  readonly roleKind: string
  readonly roleName: string
  /** '' for ClusterRoleBindings. */
  readonly namespace: string
}

interface Index {
  readonly version: string
  readonly clusterRoles: Map<string, PolicyRule[]>
  readonly roles: Map<string, PolicyRule[]>
  readonly bindings: Binding[]
}

/** The rules of a stored Role or ClusterRole (none for a missing one). */
export function toRules(obj: Obj | undefined): PolicyRule[] {
  const rules = Array.isArray(obj?.rules) ? obj.rules.filter(isObj) : []
  const strs = (v: unknown) =>
    Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined
  return rules.map((r) => ({
    verbs: strs(r.verbs) ?? [],
    ...(strs(r.apiGroups) ? { apiGroups: strs(r.apiGroups)! } : {}),
    ...(strs(r.resources) ? { resources: strs(r.resources)! } : {}),
    ...(strs(r.resourceNames) ? { resourceNames: strs(r.resourceNames)! } : {}),
    ...(strs(r.nonResourceURLs) ? { nonResourceURLs: strs(r.nonResourceURLs)! } : {}),
  }))
}

function has(list: readonly string[] | undefined, value: string): boolean {
  return !!list && (list.includes('*') || list.includes(value))
}

function resourceMatches(rule: PolicyRule, a: ResourceAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false
  if (!has(rule.apiGroups, a.group)) return false
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource
  const resources = rule.resources ?? []
  const ok =
    resources.includes('*') ||
    resources.includes(combined) ||
    (a.subresource
      ? resources.includes(`*/${a.subresource}`) || resources.includes(`${a.resource}/*`)
      : false)
  if (!ok) return false
  if (rule.resourceNames && rule.resourceNames.length > 0 && !rule.resourceNames.includes(a.name))
    return false
  if (rule.namespaces && !rule.namespaces.includes(a.namespace) && !rule.namespaces.includes('*'))
    return false
  return true
}

function nonResourceMatches(rule: PolicyRule, verb: string, path: string): boolean {
  if (!has(rule.verbs, verb)) return false
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true
  }
  return false
}

/** Whether `rule` allows the request, as the RBAC authorizer matches one rule. */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  return a.kind === 'nonResource' ? nonResourceMatches(rule, a.verb, a.path) : resourceMatches(rule, a)
}

export class Authorizer {
  private index: Index | null = null

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly users: Users,
  ) {}

  private currentIndex(): Index {
    const keys = ['clusterroles', 'roles', 'clusterrolebindings', 'rolebindings'].map((r) => `${RBAC}/${r}`)
    const version = keys.map((k) => this.store.lastWrite(k)).join(',')
    if (this.index?.version === version) return this.index
    const read = (resource: string) => {
      const type = this.registry.byResource(RBAC, resource)
      if (!type) return []
      return [...this.store.scan(type.storageKey)].map((o) => objectOf(type, o))
    }
    const clusterRoles = new Map<string, PolicyRule[]>()
    for (const o of read('clusterroles'))
      clusterRoles.set(strAt(objAt(o, 'metadata'), 'name') ?? '', toRules(o))
    const roles = new Map<string, PolicyRule[]>()
    for (const o of read('roles')) {
      const m = objAt(o, 'metadata')
      roles.set(`${strAt(m, 'namespace') ?? ''}/${strAt(m, 'name') ?? ''}`, toRules(o))
    }
    const bindings: Binding[] = []
    for (const [resource, namespaced] of [
      ['clusterrolebindings', false],
      ['rolebindings', true],
    ] as const) {
      for (const o of read(resource)) {
        const ref = objAt(o, 'roleRef') ?? {}
        bindings.push({
          subjects: Array.isArray(o.subjects) ? o.subjects.filter(isObj) : [],
          roleKind: strAt(ref, 'kind') ?? '',
          roleName: strAt(ref, 'name') ?? '',
          namespace: namespaced ? (strAt(objAt(o, 'metadata'), 'namespace') ?? '') : '',
        })
      }
    }
    this.index = { version, clusterRoles, roles, bindings }
    return this.index
  }

  private subjectMatches(s: Obj, user: UserInfo, bindingNamespace: string): boolean {
    const kind = strAt(s, 'kind')
    const name = strAt(s, 'name')
    if (kind === 'User') return name === user.username
    if (kind === 'Group') return !!name && user.groups.includes(name)
    if (kind === 'ServiceAccount') {
      const ns = strAt(s, 'namespace') ?? bindingNamespace
      return user.username === `system:serviceaccount:${ns}:${name}`
    }
    return false
  }

  /**
   * Every rule that applies to `user` in `namespace` ('' = cluster scope only), grouped as the
   * SelfSubjectRulesReview lists them.
   */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    const out: PolicyRule[] = []
    const authenticated = user.groups.includes('system:authenticated')
    if (authenticated) out.push(...BASIC_USER, DISCOVERY, ISSUER_DISCOVERY)
    out.push(PUBLIC_INFO)
    for (const r of this.users.rulesOf(user.username)) {
      if (!r.namespaces || r.namespaces.includes('*') || (namespace && r.namespaces.includes(namespace)))
        out.push(r)
    }
    const idx = this.currentIndex()
    for (const b of idx.bindings) {
      if (b.namespace && b.namespace !== namespace) continue
      if (!b.subjects.some((s) => this.subjectMatches(s, user, b.namespace))) continue
      const rules =
        b.roleKind === 'ClusterRole'
          ? idx.clusterRoles.get(b.roleName)
          : idx.roles.get(`${b.namespace}/${b.roleName}`)
      if (rules) out.push(...rules)
    }
    return out
  }

  allowed(user: UserInfo, a: Attributes): boolean {
    if (user.groups.includes('system:masters')) return true
    if (a.kind === 'nonResource')
      return this.rulesFor(user, '').some((r) => nonResourceMatches(r, a.verb, a.path))
    const rules = this.rulesFor(user, a.namespace)
    return rules.some((r) => {
      // Rules given directly with namespaces apply there only; others (ClusterRole-like) everywhere.
      if (r.nonResourceURLs && !r.resources) return false
      return resourceMatches(r, a)
    })
  }

  /** The API server's 403 for a denied request. */
  static forbidden(user: UserInfo, a: Attributes): ApiError {
    if (a.kind === 'nonResource') {
      return new ApiError(
        403,
        'Forbidden',
        `forbidden: User ${JSON.stringify(user.username)} cannot ${a.verb} path ${JSON.stringify(a.path)}`,
        {},
      )
    }
    const qualified = a.group ? `${a.resource}.${a.group}` : a.resource
    const subject = a.name ? `${qualified} ${JSON.stringify(a.name)}` : qualified
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource
    const scope = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : 'at the cluster scope'
    const message = `${subject} is forbidden: User ${JSON.stringify(user.username)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.group)} ${scope}`
    return new ApiError(403, 'Forbidden', message, {
      ...(a.name ? { name: a.name } : {}),
      ...(a.group ? { group: a.group } : {}),
      kind: a.resource,
    })
  }
}
