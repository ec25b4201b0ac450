/**
 * The least privilege the watcher needs: get, list and watch on exactly the kinds it reads (what
 * selectKinds picks for the loaded policies), plus CustomResourceDefinitions so that it sees new kinds
 * come. Nothing to write (but its own PolicyReports, with --policy-reports), no Secrets unless a
 * policy reads them, no exec, no proxy.
 */
import { dump } from 'js-yaml'
import type { ApiResource } from './discovery.js'

export interface RbacOptions {
  /** the name of the ClusterRole, the binding and the ServiceAccount */
  name: string
  /** the namespace the watcher runs in */
  namespace: string
  /** with watch --leader-elect: the Lease it takes, which a Role in its namespace lets it read and write */
  lease?: { name: string; namespace: string }
}

export interface PolicyRule {
  apiGroups: string[]
  resources: string[]
  resourceNames?: string[]
  verbs: string[]
}

/**
 * What `watch --leader-elect` needs, in the Lease's namespace only: get and update on its Lease by
 * name; create on leases (a create cannot be restricted by name: the object does not exist yet).
 */
export function leaseRules(leaseName: string): PolicyRule[] {
  return [
    {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      resourceNames: [leaseName],
      verbs: ['get', 'update'],
    },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  ]
}

const READ = ['get', 'list', 'watch']

/**
 * What `watch --policy-reports` adds: server-side apply is a patch, and a create when the report is new;
 * delete for a namespace whose findings are all resolved; list to find the reports an earlier run left.
 */
export const POLICY_REPORT_RULE: PolicyRule = {
  apiGroups: ['wgpolicyk8s.io'],
  resources: ['clusterpolicyreports', 'policyreports'],
  verbs: ['create', 'delete', 'list', 'patch'],
}

/** One rule per API group, its resources sorted: what a reviewer reads at a glance. */
export function readRules(resources: readonly Pick<ApiResource, 'group' | 'resource'>[]): PolicyRule[] {
  const byGroup = new Map<string, Set<string>>()
  const add = (group: string, resource: string) => {
    const set = byGroup.get(group) ?? new Set<string>()
    set.add(resource)
    byGroup.set(group, set)
  }
  for (const r of resources) add(r.group, r.resource)
  add('apiextensions.k8s.io', 'customresourcedefinitions')
  return [...byGroup]
    .sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))
    .map(([group, set]) => ({ apiGroups: [group], resources: [...set].sort(), verbs: READ }))
}

/** ServiceAccount, ClusterRole and ClusterRoleBinding, as objects (`plimsoll install` adds to them). */
export function rbacObjects(rules: readonly PolicyRule[], options: RbacOptions): Record<string, unknown>[] {
  const labels = { 'app.kubernetes.io/name': 'plimsoll', 'app.kubernetes.io/component': 'watcher' }
  const documents: Record<string, unknown>[] = [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: options.name, namespace: options.namespace, labels },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: options.name, labels },
      rules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: options.name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: options.name },
      subjects: [{ kind: 'ServiceAccount', name: options.name, namespace: options.namespace }],
    },
  ]
  if (options.lease) {
    // watch --leader-elect: a Role in the Lease's namespace only, not a cluster-wide grant.
    const meta = { name: `${options.name}-leader-election`, namespace: options.lease.namespace, labels }
    documents.push(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta,
        rules: leaseRules(options.lease.name),
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: meta.name },
        subjects: [{ kind: 'ServiceAccount', name: options.name, namespace: options.namespace }],
      },
    )
  }
  return documents
}

/** ServiceAccount, ClusterRole and ClusterRoleBinding, as one YAML stream for `kubectl apply -f -`. */
export function rbacManifests(rules: readonly PolicyRule[], options: RbacOptions): string {
  return rbacObjects(rules, options)
    .map((d) => dump(d, { lineWidth: -1, noRefs: true }))
    .join('---\n')
}
