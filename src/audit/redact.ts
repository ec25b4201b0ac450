/**
 * What of an audit event may be shown: a copy with every credential value replaced by a marker that
 * says only its size (`<redacted: 24 bytes>`). An audit policy at `Request` or `RequestResponse` level
 * for secrets puts their values in the event (the request's object, the response's object, a list's
 * items, and the `last-applied-configuration` annotation `kubectl apply` writes, which holds the whole
 * Secret again); the dashboard shows events to every viewer, so none of that may leave the server.
 *
 * Redacted, wherever they are under `requestObject` and `responseObject` (at any depth: a SecretList's
 * items, which have no kind of their own, a List's, a Table's rows): a Secret's `data` and `stringData`, and its last-applied configuration (parsed and
 * redacted the same way, or replaced whole when it cannot be parsed); a TokenRequest's `status.token`.
 * A request on the `secrets` resource whose body has no kind (a merge or strategic patch) has its
 * `data`, `stringData` and annotation redacted as a Secret's; a JSON patch (a list of operations) has the
 * `value` of every operation on `/data`, `/stringData` or the annotation redacted.
 */
import type { AuditEvent } from './types.js'

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'

type Json = unknown
type Obj = Record<string, Json>

const isObject = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The marker for a value: its size in bytes (decoded, for a Secret's base64 `data`). */
export function marker(value: Json, base64 = false): string {
  if (typeof value !== 'string') return '<redacted>'
  const bytes = base64 ? Buffer.from(value, 'base64').length : Buffer.byteLength(value, 'utf8')
  return `<redacted: ${bytes} byte${bytes === 1 ? '' : 's'}>`
}

/** A copy of `event` with every Secret's values (and service account tokens) replaced by markers. */
export function redactAuditEvent(event: AuditEvent): AuditEvent {
  const secretsResource = event.objectRef?.resource === 'secrets' && !event.objectRef.apiGroup
  const out: Record<string, unknown> = { ...event }
  if ('requestObject' in event) out.requestObject = redactBody(event.requestObject, secretsResource)
  if ('responseObject' in event) out.responseObject = redactBody(event.responseObject, secretsResource)
  return out as AuditEvent
}

/** A request or response body: kindless ones on the secrets resource are patches of a Secret. */
function redactBody(body: Json, secretsResource: boolean): Json {
  if (secretsResource && Array.isArray(body) && body.every((op) => isObject(op) && 'op' in op))
    return body.map((op) => redactJsonPatchOp(op as Obj))
  if (secretsResource && isObject(body) && body.kind === undefined) return redactSecret(body)
  return redactDeep(body)
}

/** Walks any JSON: every object that is a Secret or a TokenRequest is redacted, everything else copied. */
function redactDeep(value: Json): Json {
  if (Array.isArray(value)) return value.map(redactDeep)
  if (!isObject(value)) return value
  if (value.kind === 'Secret') return redactSecret(value)
  // A list's items carry no kind of their own (the API server leaves it to the list's).
  if (value.kind === 'SecretList' && Array.isArray(value.items))
    return { ...value, items: value.items.map((i) => (isObject(i) ? redactSecret(i) : redactDeep(i))) }
  const out: Obj = {}
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v)
  if (value.kind === 'TokenRequest' && isObject(out.status) && 'token' in out.status)
    out.status = { ...out.status, token: marker(out.status.token) }
  return out
}

function redactSecret(secret: Obj): Obj {
  const out: Obj = { ...secret }
  if (isObject(secret.data)) out.data = mapValues(secret.data, (v) => marker(v, true))
  else if (secret.data != null) out.data = marker(JSON.stringify(secret.data))
  if (isObject(secret.stringData)) out.stringData = mapValues(secret.stringData, (v) => marker(v))
  else if (secret.stringData != null) out.stringData = marker(JSON.stringify(secret.stringData))
  const metadata = secret.metadata
  if (isObject(metadata) && isObject(metadata.annotations) && LAST_APPLIED in metadata.annotations)
    out.metadata = {
      ...metadata,
      annotations: {
        ...metadata.annotations,
        [LAST_APPLIED]: redactLastApplied(metadata.annotations[LAST_APPLIED]),
      },
    }
  return out
}

/** The annotation's JSON, redacted as a Secret (it is the Secret as applied); unreadable: all of it. */
function redactLastApplied(text: Json): Json {
  if (typeof text !== 'string') return marker(text)
  try {
    const parsed: Json = JSON.parse(text)
    if (!isObject(parsed)) return marker(text)
    // It may end with a newline, as kubectl writes it: keep the shape, for a faithful view.
    return JSON.stringify(redactSecret(parsed)) + (text.endsWith('\n') ? '\n' : '')
  } catch {
    return marker(text)
  }
}

/** RFC 6902 operations on a Secret: values written under /data, /stringData or the annotation go. */
function redactJsonPatchOp(op: Obj): Obj {
  const path = typeof op.path === 'string' ? op.path : ''
  if (!('value' in op)) return op
  const annotation = `/metadata/annotations/${LAST_APPLIED.replaceAll('~', '~0').replaceAll('/', '~1')}`
  if (path === '/data' || path === '/stringData') {
    const base64 = path === '/data'
    return {
      ...op,
      value: isObject(op.value) ? mapValues(op.value, (v) => marker(v, base64)) : marker(op.value, base64),
    }
  }
  if (path.startsWith('/data/')) return { ...op, value: marker(op.value, true) }
  if (path.startsWith('/stringData/')) return { ...op, value: marker(op.value) }
  if (path === annotation) return { ...op, value: redactLastApplied(op.value) }
  if (path === '/metadata/annotations' && isObject(op.value) && LAST_APPLIED in op.value)
    return { ...op, value: { ...op.value, [LAST_APPLIED]: redactLastApplied(op.value[LAST_APPLIED]) } }
  if (path === '' || path === '/')
    return { ...op, value: isObject(op.value) ? redactSecret(op.value) : op.value }
  return op
}

function mapValues(o: Obj, f: (v: Json) => Json): Obj {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]))
}
