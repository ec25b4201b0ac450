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
 * policy names them, with rbac.ts's rules; a rule is matched as rbac.ts matches it (ruleAllows). The API server visits bindings in its informer cache's order, which is not
 * defined; here they are visited by name, which for /version as an authenticated user gives
 * system:discovery, as recorded.
 */
import type { Shared } from './context.js'
import { objectOf } from './objects.js'
import {
  type Attributes,
  BASIC_USER,
  DISCOVERY,
  ISSUER_DISCOVERY,
  PUBLIC_INFO,
  ruleAllows,
  toRules,
} from './rbac.js'
import { isObj, type Obj, objAt, type PolicyRule, strAt, type UserInfo } from './types.js'

interface Binding {
  readonly kind: 'ClusterRoleBinding' | 'RoleBinding'
  readonly name: string
  readonly namespace: string
  readonly roleKind: string
  readonly roleName: string
  readonly subjects: readonly Obj[]
  /** Built-in rules (bootstrap bindings), else looked up from the role. */
  readonly rules?: readonly PolicyRule[]
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
    rules: BASIC_USER,
  },
  {
    kind: 'ClusterRoleBinding',
    name: 'system:discovery',
    namespace: '',
    roleKind: 'ClusterRole',
    roleName: 'system:discovery',
    subjects: [{ kind: 'Group', name: 'system:authenticated' }],
    rules: [DISCOVERY],
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
    rules: [PUBLIC_INFO],
  },
  {
    kind: 'ClusterRoleBinding',
    name: 'system:service-account-issuer-discovery',
    namespace: '',
    roleKind: 'ClusterRole',
    roleName: 'system:service-account-issuer-discovery',
    subjects: [{ kind: 'Group', name: 'system:authenticated' }],
    rules: [ISSUER_DISCOVERY],
  },
]

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
      toRules(
        b.roleKind === 'ClusterRole'
          ? stored(shared, 'clusterroles', '', b.roleName)
          : stored(shared, 'roles', b.namespace, b.roleName),
      )
    if (!rules.some((r) => ruleAllows(r, a))) continue
    return b.kind === 'ClusterRoleBinding'
      ? `RBAC: allowed by ClusterRoleBinding ${JSON.stringify(b.name)} of ClusterRole ${JSON.stringify(b.roleName)} to ${subject}`
      : `RBAC: allowed by RoleBinding ${JSON.stringify(`${b.name}/${b.namespace}`)} of ${b.roleKind} ${JSON.stringify(b.roleName)} to ${subject}`
  }
  return ''
}
