/**
 * The admission request a policy sees as `request`, built offline for a manifest: what the API server
 * would send for creating (or updating, deleting) that object.
 */
import {
  type GroupVersionKind,
  type GroupVersionResource,
  kindInfo,
  type Operation,
  parseApiVersion,
  type Scope,
} from './resources.js'

export interface UserInfo {
  username: string
  uid?: string
  groups: string[]
  extra?: Record<string, string[]>
}

export interface AdmissionRequestInfo {
  operation: Operation
  kind: GroupVersionKind
  resource: GroupVersionResource
  /** '' for the resource itself */
  subResource: string
  name: string
  /** '' for a cluster-scoped resource */
  namespace: string
  scope: Scope
  userInfo: UserInfo
  dryRun: boolean
}

/**
 * A request as an API server sent it (an admission webhook's review), for policies to see instead of
 * the one made up for a manifest: its operation, user, subresource and old object are the real ones.
 */
export interface LiveAdmission {
  readonly request: AdmissionRequestInfo
  readonly oldObject: Record<string, unknown> | null
}

/**
 * Whether Plimsoll's own checks judge this request. They judge an object as it would be stored: a
 * CREATE or UPDATE of the object itself, or of its ephemeral containers (which Pod Security judges
 * too). A DELETE or CONNECT stores nothing, and a status or scale write is not the object's spec: only
 * policies that ask for those (Kyverno's, admission policies') see them.
 */
export function judgesStoredObject(
  request: Pick<AdmissionRequestInfo, 'operation' | 'subResource'>,
): boolean {
  return (
    (request.operation === 'CREATE' || request.operation === 'UPDATE') &&
    (request.subResource === '' || request.subResource === 'ephemeralcontainers')
  )
}

export interface RequestOptions {
  operation?: Operation
  userInfo?: UserInfo
  /** Where a namespaced object that names no namespace goes, as `kubectl apply` puts it: `default`. */
  defaultNamespace?: string
  dryRun?: boolean
}

const OPTIONS_KIND: Record<Operation, string> = {
  CREATE: 'CreateOptions',
  UPDATE: 'UpdateOptions',
  DELETE: 'DeleteOptions',
  CONNECT: '',
}

function stringField(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

/** The request for `object` (for DELETE, the object being deleted). */
export function requestFor(
  object: Record<string, unknown>,
  options: RequestOptions = {},
): AdmissionRequestInfo {
  const { group, version } = parseApiVersion(stringField(object.apiVersion))
  const kind = stringField(object.kind)
  const meta = (object.metadata ?? {}) as Record<string, unknown>
  const written = stringField(meta.namespace)
  const { resource, scope } = kindInfo(group, kind, written !== '')
  const name = stringField(meta.name)
  let namespace = ''
  // The API server gives a Namespace itself as the request's namespace.
  if (group === '' && kind === 'Namespace') namespace = name
  else if (scope === 'Namespaced') namespace = written || (options.defaultNamespace ?? 'default')
  return {
    operation: options.operation ?? 'CREATE',
    kind: { group, version, kind },
    resource: { group, version, resource },
    subResource: '',
    name,
    namespace,
    scope,
    userInfo: options.userInfo ?? { username: '', groups: [] },
    dryRun: options.dryRun ?? false,
  }
}

/**
 * `request` as CEL sees it: the API server's AdmissionRequest converted to JSON, so fields that are empty
 * are absent (`omitempty`), as they are in a cluster.
 */
export function celRequest(info: AdmissionRequestInfo): Record<string, unknown> {
  const userInfo: Record<string, unknown> = {}
  if (info.userInfo.username) userInfo.username = info.userInfo.username
  if (info.userInfo.uid) userInfo.uid = info.userInfo.uid
  if (info.userInfo.groups.length > 0) userInfo.groups = info.userInfo.groups
  if (info.userInfo.extra && Object.keys(info.userInfo.extra).length > 0) userInfo.extra = info.userInfo.extra
  const request: Record<string, unknown> = {
    kind: info.kind,
    resource: info.resource,
    requestKind: info.kind,
    requestResource: info.resource,
    operation: info.operation,
    userInfo,
    dryRun: info.dryRun,
  }
  if (info.subResource) {
    request.subResource = info.subResource
    request.requestSubResource = info.subResource
  }
  if (info.name) request.name = info.name
  if (info.namespace) request.namespace = info.namespace
  const optionsKind = OPTIONS_KIND[info.operation]
  if (optionsKind) request.options = { apiVersion: 'meta.k8s.io/v1', kind: optionsKind }
  return request
}
