/**
 * Turns a request line into what the API server's RequestInfo resolver would: discovery paths,
 * non-resource paths, and resource requests with group, version, namespace, resource, name,
 * subresource and verb. Query options are parsed with the server's error texts.
 */
import { badRequest } from './status.js'

export type Route =
  | { readonly kind: 'nonResource'; readonly path: string }
  | { readonly kind: 'apiRoot'; readonly prefix: 'api' | 'apis' }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'groupVersion'; readonly group: string; readonly version: string }
  | ResourceRoute

export interface ResourceRoute {
  readonly kind: 'resource'
  readonly group: string
  readonly version: string
  /** '' when the request names no namespace (cluster-scoped or all namespaces). */
  readonly namespace: string
  readonly resource: string
  readonly name: string
  readonly subresource: string
  readonly verb: string
  /** The path segments after the version, for 404 decisions. */
  readonly parts: readonly string[]
}

function decode(seg: string): string {
  try {
    return decodeURIComponent(seg)
  } catch {
    return seg
  }
}

export function parseRoute(method: string, pathname: string, query: URLSearchParams): Route {
  const segs = pathname
    .split('/')
    .filter((s) => s.length > 0)
    .map(decode)
  if (segs[0] === 'api') {
    if (segs.length === 1) return { kind: 'apiRoot', prefix: 'api' }
    return resourceRoute(method, '', segs[1]!, segs.slice(2), query)
  }
  if (segs[0] === 'apis') {
    if (segs.length === 1) return { kind: 'apiRoot', prefix: 'apis' }
    if (segs.length === 2) return { kind: 'group', group: segs[1]! }
    return resourceRoute(method, segs[1]!, segs[2]!, segs.slice(3), query)
  }
  return { kind: 'nonResource', path: pathname }
}

function resourceRoute(
  method: string,
  group: string,
  version: string,
  rest: string[],
  query: URLSearchParams,
): Route {
  if (rest.length === 0) return { kind: 'groupVersion', group, version }
  let namespace = ''
  let parts = rest
  // /namespaces/{ns}/{resource}... is namespaced; /namespaces/{name}[/status|/finalize] is the namespace itself.
  if (parts[0] === 'namespaces' && parts.length >= 3 && parts[2] !== 'status' && parts[2] !== 'finalize') {
    namespace = parts[1]!
    parts = parts.slice(2)
  }
  const resource = parts[0] ?? ''
  const name = parts[1] ?? ''
  const subresource = parts.slice(2).join('/')
  const isWatch = query.get('watch') === '1' || query.get('watch') === 'true'
  let verb: string
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = name ? 'get' : isWatch ? 'watch' : 'list'
      break
    case 'POST':
      verb = 'create'
      break
    case 'PUT':
      verb = 'update'
      break
    case 'PATCH':
      verb = 'patch'
      break
    case 'DELETE':
      verb = name ? 'delete' : 'deletecollection'
      break
    default:
      verb = method.toLowerCase()
  }
  // A namespace named by a resource path of the namespaces resource: /api/v1/namespaces/{name}.
  if (!namespace && resource === 'namespaces' && name)
    return {
      kind: 'resource',
      group,
      version,
      namespace: name,
      resource,
      name,
      subresource,
      verb,
      parts: rest,
    }
  return { kind: 'resource', group, version, namespace, resource, name, subresource, verb, parts: rest }
}

/** Go's strconv.ParseInt error text, which the server returns for unparsable integer options. */
export function parseIntOption(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name)
  if (raw === null || raw === '') return undefined
  if (!/^[-+]?\d+$/.test(raw))
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`)
  const n = Number(raw)
  if (!Number.isSafeInteger(n))
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: value out of range`)
  return n
}

export function parseBoolOption(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name)
  if (raw === null) return false
  if (
    raw === '' ||
    raw === '1' ||
    raw === 't' ||
    raw === 'T' ||
    raw === 'true' ||
    raw === 'TRUE' ||
    raw === 'True'
  )
    return true
  if (raw === '0' || raw === 'f' || raw === 'F' || raw === 'false' || raw === 'FALSE' || raw === 'False')
    return false
  throw badRequest(`strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`)
}
