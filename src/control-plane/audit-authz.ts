/**
 * The `authorization.k8s.io/reason` audit annotation of an allowed request, worded as the RBAC
 * authorizer does (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac): the first binding whose role
 * allows the request, ClusterRoleBindings first, then the RoleBindings of the request's namespace:
 *
 *   RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated"
 *   RBAC: allowed by RoleBinding "reader-secret-reader/audit-demo" of Role "secret-reader" to ServiceAccount "reader/audit-demo"
 *
 * system:masters is allowed by the privileged-group authorizer, which gives no reason (""), and so is
 * a rule given directly to a user with controlPlane.user() (no binding exists for it).
 *
 * The bootstrap bindings the control plane's authorizer builds in (rbac.ts: basic-user, discovery,
 * public-info-viewer, service-account-issuer-discovery) are named as the API server's bootstrap
 * policy names them. The API server visits bindings in its informer cache's order, which is not
 * defined; here they are visited by name, which for /version as an authenticated user gives
 * system:discovery, as recorded.
 */
import type { Shared } from './context.js'
import { objectOf } from './objects.js'
import type { Attributes } from './rbac.js'
import { isObj, type Obj, objAt, strAt, type UserInfo } from './types.js'

interface Rule {
  readonly verbs: readonly string[]
  readonly apiGroups?: readonly string[]
  readonly resources?: readonly string[]
  readonly resourceNames?: readonly string[]
  readonly nonResourceURLs?: readonly string[]
}

interface Binding {
  readonly kind: 'ClusterRoleBinding' | 'RoleBinding'
  readonly name: string
  readonly namespace: string
  readonly roleKind: string
  readonly roleName: string
  readonly subjects: readonly Obj[]
  /** Built-in rules (bootstrap bindings), else looked up from the role. */
  readonly rules?: readonly Rule[]
}

const RBAC = 'rbac.authorization.k8s.io'

const BOOTSTRAP: readonly Binding[] = [
  {
    kind: 'ClusterRoleBinding',
    name: 'system:basic-user',
    namespace: '',
    roleKind: 'ClusterRole',
    roleName: 'system:basic-user',
    subjects: [{ kind: 'Group', name: 'system:authenticated' }],
    rules: [
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
      {
        verbs: ['create'],
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
      },
    ],
  },
  {
    kind: 'ClusterRoleBinding',
    name: 'system:discovery',
    namespace: '',
    roleKind: 'ClusterRole',
    roleName: 'system:discovery',
    subjects: [{ kind: 'Group', name: 'system:authenticated' }],
    rules: [
      {
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
      },
    ],
  },
  {
    kind: 'ClusterRoleBinding',
    name: 'system:public-info-viewer',
    namespace: '',
    roleKind: 'ClusterRole',
    roleName: 'system:public-info-viewer',
    subjects: [
      { kind: 'Group', name: 'system:authenticated' },
      { kind: 'Group', name: 'system:unauthenticated' },
    ],
    rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }],
  },
  {
    kind: 'ClusterRoleBinding',
    name: 'system:service-account-issuer-discovery',
    namespace: '',
    roleKind: 'ClusterRole',
    roleName: 'system:service-account-issuer-discovery',
    subjects: [{ kind: 'Group', name: 'system:authenticated' }],
    rules: [
      {
        verbs: ['get'],
        nonResourceURLs: [
          '/.well-known/*',
          '/.well-known/openid-configuration/',
          '/.well-known/openid-configuration',
          '/.well-known',
          '/openid/v1/jwks/',
          '/openid/v1/jwks',
        ],
      },
    ],
  },
]

function has(list: readonly string[] | undefined, value: string): boolean {
  return !!list && (list.includes('*') || list.includes(value))
}

function allows(rule: Rule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false
  if (a.kind === 'nonResource') {
    for (const u of rule.nonResourceURLs ?? []) {
      if (u === '*' || u === a.path) return true
      if (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))) return true
    }
    return false
  }
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
  return !rule.resourceNames || rule.resourceNames.length === 0 || rule.resourceNames.includes(a.name)
}

function rulesOf(obj: Obj | undefined): Rule[] {
  const rules = Array.isArray(obj?.rules) ? obj.rules.filter(isObj) : []
  const strs = (v: unknown) =>
    Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined
  return rules.map((r) => {
    const out: { -readonly [K in keyof Rule]: Rule[K] } = { verbs: strs(r.verbs) ?? [] }
    const groups = strs(r.apiGroups)
    if (groups) out.apiGroups = groups
    const resources = strs(r.resources)
    if (resources) out.resources = resources
    const names = strs(r.resourceNames)
    if (names) out.resourceNames = names
    const urls = strs(r.nonResourceURLs)
    if (urls) out.nonResourceURLs = urls
    return out
  })
}

/** `User "x"`, `Group "x"`, `ServiceAccount "name/namespace"`, as the authorizer describes subjects. */
function matchingSubject(
  subjects: readonly Obj[],
  user: UserInfo,
  bindingNamespace: string,
): string | undefined {
  for (const s of subjects) {
    const kind = strAt(s, 'kind')
    const name = strAt(s, 'name') ?? ''
    if (kind === 'User' && name === user.username) return `User ${JSON.stringify(name)}`
    if (kind === 'Group' && user.groups.includes(name)) return `Group ${JSON.stringify(name)}`
    if (kind === 'ServiceAccount') {
      const ns = strAt(s, 'namespace') || bindingNamespace
      if (user.username === `system:serviceaccount:${ns}:${name}`)
        return `ServiceAccount ${JSON.stringify(`${name}/${ns}`)}`
    }
  }
  return undefined
}

function list(shared: Shared, resource: string): Obj[] {
  const type = shared.registry.byResource(RBAC, resource)
  if (!type) return []
  return [...shared.store.scan(type.storageKey)].map((o) => objectOf(type, o))
}

function stored(shared: Shared, resource: string, namespace: string, name: string): Obj | undefined {
  const type = shared.registry.byResource(RBAC, resource)
  const o = type ? shared.store.get(type.storageKey, namespace, name) : undefined
  return o && type ? objectOf(type, o) : undefined
}

function bindingOf(o: Obj, kind: Binding['kind']): Binding {
  const meta = objAt(o, 'metadata')
  const ref = objAt(o, 'roleRef')
  return {
    kind,
    name: strAt(meta, 'name') ?? '',
    namespace: kind === 'RoleBinding' ? (strAt(meta, 'namespace') ?? '') : '',
    roleKind: strAt(ref, 'kind') ?? '',
    roleName: strAt(ref, 'name') ?? '',
    subjects: Array.isArray(o.subjects) ? o.subjects.filter(isObj) : [],
  }
}

/** The reason annotation for a request `user` is allowed to make (see the file comment). */
export function authorizationReason(shared: Shared, user: UserInfo, a: Attributes): string {
  if (user.groups.includes('system:masters')) return ''
  const byName = (x: Binding, y: Binding) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)
  const storedClusterBindings = list(shared, 'clusterrolebindings').map((o) =>
    bindingOf(o, 'ClusterRoleBinding'),
  )
  const clusterBindings = [
    ...BOOTSTRAP.filter((b) => !storedClusterBindings.some((c) => c.name === b.name)),
    ...storedClusterBindings,
  ].sort(byName)
  const namespace = a.kind === 'resource' ? a.namespace : ''
  const roleBindings = namespace
    ? list(shared, 'rolebindings')
        .map((o) => bindingOf(o, 'RoleBinding'))
        .filter((b) => b.namespace === namespace)
        .sort(byName)
    : []
  for (const b of [...clusterBindings, ...roleBindings]) {
    const subject = matchingSubject(b.subjects, user, b.namespace)
    if (!subject) continue
    const rules =
      b.rules ??
      rulesOf(
        b.roleKind === 'ClusterRole'
          ? stored(shared, 'clusterroles', '', b.roleName)
          : stored(shared, 'roles', b.namespace, b.roleName),
      )
    if (!rules.some((r) => allows(r, a))) continue
    return b.kind === 'ClusterRoleBinding'
      ? `RBAC: allowed by ClusterRoleBinding ${JSON.stringify(b.name)} of ClusterRole ${JSON.stringify(b.roleName)} to ${subject}`
      : `RBAC: allowed by RoleBinding ${JSON.stringify(`${b.name}/${b.namespace}`)} of ${b.roleKind} ${JSON.stringify(b.roleName)} to ${subject}`
  }
  return ''
}
