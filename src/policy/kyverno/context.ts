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

/**
 * A values key as Kyverno's `AddVariable` splits it (pkg/engine/context/context.go): fields separated by
 * dots, a field in double quotes may hold dots (`"app.kubernetes.io/name".x`).
 */
export function valueKeyPath(key: string): string[] {
  const fields: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < key.length; i++) {
    const c = key[i]
    if (c === '"' && quoted && key[i + 1] === '"') {
      field += '"'
      i++
    } else if (c === '"' && (quoted || field === '')) quoted = !quoted
    else if (c === '.' && !quoted) {
      fields.push(field)
      field = ''
    } else field += c
  }
  fields.push(field)
  return fields
}

/** Whether the values give the variable `name`, whole (`saMap`) or in part (`saMap.data.busybox`). */
export function valuesGive(values: Json | undefined, name: string): boolean {
  return values !== undefined && Object.keys(values).some((k) => valueKeyPath(k)[0] === name)
}

const isMap = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Kyverno's mergeMaps: maps merge key by key, anything else replaces what was there. */
function merge(into: Json, from: Json): void {
  for (const [k, v] of Object.entries(from)) {
    const there = into[k]
    if (isMap(v) && isMap(there)) {
      const copy = { ...there }
      merge(copy, v)
      into[k] = copy
    } else into[k] = v
  }
}

/** Adds a value under a dotted key, as `AddVariable` does: built into nested maps, then merged. */
export function addVariable(context: Json, key: string, value: unknown): void {
  const path = valueKeyPath(key)
  const nested = path.reduceRight<unknown>((inner, field) => ({ [field]: inner }), value) as Json
  merge(context, nested)
}

/**
 * The context with the values added, as `kyverno test` adds them (dotted keys or nested maps, merged
 * into what is there). Maps on the way are copied, so the request data stays shared.
 */
export function withValues(context: Json, values: Json | undefined): Json {
  if (!values || Object.keys(values).length === 0) return context
  const out = { ...context }
  for (const [k, v] of Object.entries(values)) addVariable(out, k, v)
  return out
}
