/**
 * The wire details every answer shares: headers in the API server's order, Go's framing (bodies over
 * 2,048 bytes go out chunked, smaller ones with Content-Length, as net/http's response buffer does),
 * content negotiation, and reading request bodies with a size limit.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError } from './status.js'

/** net/http buffers this much of a handler's output before it switches to chunked encoding. */
export const GO_BUFFER = 2048
const MAX_BODY = 3 * 1024 * 1024

/** Per-server constants that every answer carries (priority-and-fairness UIDs are fixed per server). */
export interface WireIdentity {
  readonly flowSchemaUid: string
  readonly priorityLevelUid: string
}

export function newWireIdentity(): WireIdentity {
  return { flowSchemaUid: randomUUID(), priorityLevelUid: randomUUID() }
}

export interface ReplyOptions {
  readonly contentType: string
  readonly cacheControl?: string
  readonly warnings?: readonly string[]
  readonly nosniff?: boolean
  readonly extra?: readonly [string, string][]
  /** Always chunked (watch streams), regardless of size. */
  readonly stream?: boolean
  /** Long-running requests (exec, attach, port-forward) bypass priority and fairness: no Pf headers. */
  readonly exemptFromFairness?: boolean
}

/** Writes the head in the recorded order: Audit-Id, Cache-Control, Content-Type, extras, Warning, ... */
export function writeHead(res: ServerResponse, wire: WireIdentity, status: number, o: ReplyOptions): void {
  res.statusCode = status
  res.setHeader('Audit-Id', randomUUID())
  res.setHeader('Cache-Control', o.cacheControl ?? 'no-cache, private')
  if (o.contentType) res.setHeader('Content-Type', o.contentType)
  for (const [k, v] of o.extra ?? []) res.setHeader(k, v)
  if (o.warnings && o.warnings.length > 0) res.setHeader('Warning', [...o.warnings])
  if (o.nosniff) res.setHeader('X-Content-Type-Options', 'nosniff')
  if (o.exemptFromFairness) return
  res.setHeader('X-Kubernetes-Pf-Flowschema-Uid', wire.flowSchemaUid)
  res.setHeader('X-Kubernetes-Pf-Prioritylevel-Uid', wire.priorityLevelUid)
}

/** Sends a whole body with Go's framing. */
export function reply(
  res: ServerResponse,
  wire: WireIdentity,
  status: number,
  body: string,
  o: ReplyOptions,
): void {
  writeHead(res, wire, status, o)
  if (res.req.method === 'HEAD') {
    res.end()
    return
  }
  if (Buffer.byteLength(body) > GO_BUFFER) {
    res.write(body)
    res.end()
  } else {
    res.setHeader('Content-Length', Buffer.byteLength(body))
    res.end(body)
  }
}

/** A warning header value as the server words it: `299 - "text"`. */
export function warning(text: string): string {
  return `299 - ${JSON.stringify(text)}`
}

/** Go's http.Error / NotFound handler answer. */
export function plainNotFound(res: ServerResponse, wire: WireIdentity): void {
  reply(res, wire, 404, '404 page not found\n', { contentType: 'text/plain; charset=utf-8', nosniff: true })
}

export function replyError(
  res: ServerResponse,
  wire: WireIdentity,
  err: ApiError,
  warnings?: readonly string[],
): void {
  const headers: [string, string][] = Object.entries(err.extra.headers ?? {})
  // The 406 (like /version) is the one indented Status, and it has no trailing newline.
  const body = err.extra.indented
    ? JSON.stringify(err.status(), null, 2)
    : `${JSON.stringify(err.status())}\n`
  reply(res, wire, err.code, body, {
    contentType: 'application/json',
    extra: headers,
    nosniff: err.code === 403,
    ...(warnings ? { warnings } : err.extra.warnings ? { warnings: err.extra.warnings } : {}),
    ...(err.extra.exemptFromFairness ? { exemptFromFairness: true } : {}),
  })
}

export interface MediaRange {
  readonly type: string
  readonly params: Readonly<Record<string, string>>
  readonly q: number
}

/** Parses an Accept header into media ranges, best first (stable for equal q). */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header?.trim()) return []
  const out: MediaRange[] = []
  for (const part of header.split(',')) {
    const [type, ...rest] = part.split(';')
    const params: Record<string, string> = {}
    let q = 1
    for (const p of rest) {
      const eq = p.indexOf('=')
      if (eq < 0) continue
      const k = p.slice(0, eq).trim().toLowerCase()
      const v = p
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '')
      if (k === 'q') q = Number(v) || 0
      else params[k] = v
    }
    const t = (type ?? '').trim().toLowerCase()
    if (t) out.push({ type: t, params, q })
  }
  return out
    .map((m, i) => ({ m, i }))
    .sort((a, b) => b.m.q - a.m.q || a.i - b.i)
    .map((x) => x.m)
    .filter((m) => m.q > 0)
}

/** What a client asked an object or list endpoint for. */
export type Representation =
  | { readonly as: 'json' }
  | { readonly as: 'yaml' }
  | { readonly as: 'table' }
  | { readonly as: 'partial' }

const NOT_ACCEPTABLE_MESSAGE =
  '406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, application/vnd.kubernetes.protobuf'

export function notAcceptable(): ApiError {
  return new ApiError(406, 'NotAcceptable', NOT_ACCEPTABLE_MESSAGE, {}, { indented: true })
}

/** Negotiates an object/list representation; 406 when nothing offered is servable. */
export function negotiate(accept: string | undefined): Representation {
  const ranges = parseAccept(accept)
  if (ranges.length === 0) return { as: 'json' }
  for (const r of ranges) {
    if (r.type === 'application/json') {
      const as = r.params.as
      if (!as) return { as: 'json' }
      if (r.params.g === 'meta.k8s.io' && (r.params.v === 'v1' || r.params.v === 'v1beta1')) {
        if (as === 'Table') return { as: 'table' }
        if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return { as: 'partial' }
      }
      continue
    }
    if (r.type === 'application/yaml') return { as: 'yaml' }
    if (r.type === '*/*' || r.type === 'application/*') return { as: 'json' }
  }
  throw notAcceptable()
}

/** Aggregated discovery version requested by an Accept header, if any (else the legacy form). */
export function aggregatedDiscovery(accept: string | undefined): 'v2' | 'v2beta1' | null {
  for (const r of parseAccept(accept)) {
    if (
      r.type === 'application/json' &&
      r.params.as === 'APIGroupDiscoveryList' &&
      r.params.g === 'apidiscovery.k8s.io'
    ) {
      if (r.params.v === 'v2' || r.params.v === 'v2beta1') return r.params.v
    }
    if (r.type === 'application/json' && !r.params.as) return null
    if (r.type === '*/*' || r.type === 'application/*') return null
  }
  return null
}

/** Reads a request body (up to 3 MiB, as the API server's limit). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}
