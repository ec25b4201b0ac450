/**
 * The data `{{ }}` expressions read: Kyverno's JSON context for one rule and one resource. Values given
 * by the user (a kyverno-test values file) are merged in by their dotted names, as `kyverno test` does:
 * `request.operation: UPDATE` replaces the operation.
 */
import { imagesOf } from './images.js'
import type { RequestUser } from './match.js'

type Json = Record<string, unknown>

export interface RequestData {
  object: Json
  oldObject: Json | null
  operation: string
  user: RequestUser
}

function serviceAccount(username: string): { name: string; namespace: string } {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username)
  return m ? { namespace: m[1] ?? '', name: m[2] ?? '' } : { namespace: '', name: '' }
}

export function baseContext(req: RequestData): Json {
  const meta = (req.object.metadata ?? {}) as Json
  const sa = serviceAccount(req.user.username)
  return {
    request: {
      operation: req.operation,
      object: req.object,
      oldObject: req.oldObject,
      namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
      name: typeof meta.name === 'string' ? meta.name : '',
      // As the API server serializes it: empty fields are left out (no user info file: `{}`).
      userInfo: {
        ...(req.user.username ? { username: req.user.username } : {}),
        ...(req.user.groups.length > 0 ? { groups: req.user.groups } : {}),
      },
      roles: req.user.roles,
      clusterRoles: req.user.clusterRoles,
    },
    serviceAccountName: sa.name,
    serviceAccountNamespace: sa.namespace,
    images: imagesOf(req.object),
  }
}

/** Sets `a.b.c` in a context, creating maps on the way (and replacing non-maps). */
export function setDotted(context: Json, dotted: string, value: unknown): void {
  const keys = dotted.split('.')
  let at = context
  for (const key of keys.slice(0, -1)) {
    const next = at[key]
    if (next && typeof next === 'object' && !Array.isArray(next)) at = next as Json
    else {
      const created: Json = {}
      at[key] = created
      at = created
    }
  }
  at[keys.at(-1) ?? dotted] = value
}

/** A shallow-per-level copy along the paths the values touch, so the request data stays shared. */
export function withValues(context: Json, values: Json | undefined): Json {
  if (!values || Object.keys(values).length === 0) return context
  const out = structuredClone(context)
  for (const [k, v] of Object.entries(values)) setDotted(out, k, v)
  return out
}
