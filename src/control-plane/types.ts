/**
 * Shared shapes of the local control plane. Objects travel as plain JSON (`Obj`); the few places that
 * read a field narrow it with the helpers below, so a malformed body can never crash a handler.
 */

/** A JSON object as decoded from a request body or the store. */
export type Obj = Record<string, unknown>

export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `value[key]` when it is an object, else undefined. */
export function objAt(value: unknown, key: string): Obj | undefined {
  if (!isObj(value)) return undefined
  const v = value[key]
  return isObj(v) ? v : undefined
}

/** `value[key]` when it is a string, else undefined. */
export function strAt(value: unknown, key: string): string | undefined {
  if (!isObj(value)) return undefined
  const v = value[key]
  return typeof v === 'string' ? v : undefined
}

/** A string-to-string map (labels, annotations); anything else yields an empty map. */
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (!isObj(value)) return out
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v
  return out
}

/** Deep copy of JSON data (structuredClone keeps prototypes we never have; JSON data is all we store). */
export function clone<T>(value: T): T {
  return structuredClone(value)
}

/** The verbs the authorizer and discovery speak of. */
export type Verb =
  | 'get'
  | 'list'
  | 'watch'
  | 'create'
  | 'update'
  | 'patch'
  | 'delete'
  | 'deletecollection'
  | 'impersonate'
  | string

/** Who is asking, after authentication (and impersonation). */
export interface UserInfo {
  readonly username: string
  readonly uid?: string
  readonly groups: readonly string[]
  readonly extra?: Readonly<Record<string, readonly string[]>>
}

/**
 * An RBAC-style rule: the union of Role/ClusterRole rule fields, plus `namespaces`, which limits a
 * rule given directly to a user (`controlPlane.user(name, {rules})`) to some namespaces; a rule
 * without `namespaces` applies everywhere, like a ClusterRole bound by a ClusterRoleBinding.
 */
export interface PolicyRule {
  readonly verbs: readonly string[]
  readonly apiGroups?: readonly string[]
  readonly resources?: readonly string[]
  readonly resourceNames?: readonly string[]
  readonly nonResourceURLs?: readonly string[]
  readonly namespaces?: readonly string[]
}
