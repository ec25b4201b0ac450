/**
 * GET of a collection and of one object: resourceVersion / resourceVersionMatch semantics (unset =
 * consistent read, 0 = any, NotOlderThan, Exact, legacy rv+limit = Exact), paging with limit and
 * continue tokens (base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"<last key>\u0000"}) served from the
 * revision of the first page, remainingItemCount, 410 Expired for tokens and revisions that were
 * compacted, label and field selectors, and the Table / PartialObjectMetadata / YAML representations.
 */
import { dump } from 'js-yaml'
import type { ResourceType } from './catalog.js'
import type { Ctx } from './context.js'
import { negotiate, type Representation, reply } from './http.js'
import { objectJson, objectOf, type StoredObject, TooOldError } from './objects.js'
import { parseIntOption } from './request.js'
import {
  type FieldRequirement,
  type LabelSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js'
import { orderMetadata } from './serialize.js'
import { ApiError, badRequest, EXPIRED_CONTINUE_MESSAGE, invalidOptions, notFound } from './status.js'
import { type IncludeObject, partialJson, rowJson, tableJson } from './tables.js'
import { type Obj, objAt } from './types.js'

interface ContinueToken {
  readonly rv: number
  readonly start: string
}

export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url')
}

function goQuoteChar(code: number): string {
  if (code >= 0x20 && code < 0x7f) return `'${String.fromCharCode(code)}'`
  return `'\\u${code.toString(16).padStart(4, '0')}'`
}

export function decodeContinue(token: string): ContinueToken {
  const bytes = Buffer.from(token.replace(/=+$/, ''), 'base64url')
  const text = bytes.toString('latin1')
  let parsed: unknown
  try {
    parsed = JSON.parse(bytes.toString('utf8'))
  } catch {
    const first = text.search(/\S/)
    const code = first < 0 ? 0 : text.charCodeAt(first)
    const detail =
      first < 0
        ? 'unexpected end of JSON input'
        : `invalid character ${goQuoteChar(code)} looking for beginning of value`
    throw badRequest(`invalid continue token: continue key is not valid: ${detail}`)
  }
  const o = parsed as { v?: unknown; rv?: unknown; start?: unknown }
  if (o === null || typeof o !== 'object' || o.v !== 'meta.k8s.io/v1')
    throw badRequest(
      'invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    )
  if (typeof o.rv !== 'number' || typeof o.start !== 'string' || o.rv === 0)
    throw badRequest(
      'invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    )
  return { rv: o.rv, start: o.start }
}

export interface Filters {
  readonly labels: LabelSelector
  readonly fields: readonly FieldRequirement[]
}

export function parseFilters(ctx: Ctx): Filters {
  const ls = ctx.query.get('labelSelector')
  const fs = ctx.query.get('fieldSelector')
  return {
    labels: ls ? parseLabelSelector(ls) : [],
    fields: fs ? parseFieldSelector(fs, ctx.type) : [],
  }
}

export function matches(f: Filters, o: StoredObject): boolean {
  return matchesLabels(f.labels, o.labels) && matchesFields(f.fields, o)
}

function parseRv(raw: string): number {
  if (!/^\d+$/.test(raw)) throw badRequest(`invalid resource version: ${raw}`)
  return Number(raw)
}

/** Waits (up to the server's 3 s) for the store to reach `rv`; 504 Too large resource version. */
export async function waitForRevision(ctx: Ctx, rv: number): Promise<void> {
  const { store, timing } = ctx.shared
  const deadline = Date.now() + timing.tooLargeWaitMs
  while (store.revision < rv) {
    if (Date.now() >= deadline) {
      throw new ApiError(
        504,
        'Timeout',
        `Timeout: Too large resource version: ${rv}, current: ${store.revision}`,
        {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        },
        { headers: { 'Retry-After': '1' } },
      )
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The key prefix of a list request: "ns/" inside a namespace, "" for all namespaces. */
function prefixOf(ctx: Ctx): string {
  return ctx.type.namespaced && ctx.route.namespace ? `${ctx.route.namespace}/` : ''
}

export async function handleList(ctx: Ctx): Promise<void> {
  const { store } = ctx.shared
  const q = ctx.query
  const rep = negotiate(ctx.req.headers.accept)
  const limit = parseIntOption(q, 'limit')
  const rvRaw = q.get('resourceVersion') ?? ''
  const match = q.get('resourceVersionMatch') ?? ''
  const cont = q.get('continue') ?? ''
  const causes = []
  if (match && !rvRaw)
    causes.push({
      reason: 'FieldValueForbidden',
      message: 'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
      field: 'resourceVersionMatch',
    })
  if (match && match !== 'Exact' && match !== 'NotOlderThan')
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan"`,
      field: 'resourceVersionMatch',
    })
  if (q.has('sendInitialEvents'))
    causes.push({
      reason: 'FieldValueForbidden',
      message: 'Forbidden: sendInitialEvents is forbidden for list',
      field: 'sendInitialEvents',
    })
  if (causes.length) throw invalidOptions('ListOptions', causes)
  if (cont && rvRaw) throw badRequest('specifying resource version is not allowed when using continue')
  const filters = parseFilters(ctx)
  const prefix = prefixOf(ctx)

  let atRv = store.revision
  let after: string | undefined
  let useLimit = limit !== undefined && limit > 0
  if (cont) {
    const token = decodeContinue(cont)
    after = prefix + (token.start.endsWith('\u0000') ? token.start.slice(0, -1) : token.start)
    if (token.rv > 0) {
      if (token.rv < store.oldestServable(ctx.type.storageKey)) {
        throw new ApiError(410, 'Expired', EXPIRED_CONTINUE_MESSAGE, undefined, {
          metadata: { continue: encodeContinue(-1, token.start) },
        })
      }
      atRv = token.rv
    }
  } else if (rvRaw) {
    const rv = parseRv(rvRaw)
    if (rv === 0) {
      // "Any" version: served from the watch cache, which ignores limit.
      useLimit = false
    } else if (match === 'Exact' || (match === '' && useLimit)) {
      if (rv > store.revision) await waitForRevision(ctx, rv)
      if (rv < store.oldestServable(ctx.type.storageKey))
        throw new ApiError(410, 'Expired', 'The resourceVersion for the provided list is too old.')
      atRv = rv
    } else {
      await waitForRevision(ctx, rv)
      atRv = store.revision
    }
  }

  const items: StoredObject[] = []
  let more = false
  let lastKey = ''
  let remaining: number | undefined
  const selecting = filters.labels.length > 0 || filters.fields.length > 0
  try {
    const it = store.scan(ctx.type.storageKey, { atRv, prefix, ...(after !== undefined ? { after } : {}) })
    for (const o of it) {
      if (!matches(filters, o)) continue
      if (useLimit && items.length >= limit!) {
        more = true
        if (!selecting) {
          // remainingItemCount: objects after the last returned one (without selectors only).
          remaining = 1
          if (atRv === store.revision) remaining = store.countAfter(ctx.type.storageKey, prefix, lastKey)
          else for (const _ of it) remaining++
        }
        break
      }
      items.push(o)
      lastKey = o.key
    }
  } catch (e) {
    if (e instanceof TooOldError)
      throw new ApiError(410, 'Expired', 'The resourceVersion for the provided list is too old.')
    throw e
  }
  const listMeta: Obj = { resourceVersion: String(atRv) }
  if (more) {
    listMeta.continue = encodeContinue(atRv, `${lastKey.slice(prefix.length)}\u0000`)
    if (remaining !== undefined) listMeta.remainingItemCount = remaining
  }
  sendList(ctx, rep, listMeta, items)
}

function sendList(ctx: Ctx, rep: Representation, listMeta: Obj, items: readonly StoredObject[]): void {
  const t = ctx.type
  const { wire } = ctx.shared
  let body: string
  if (rep.as === 'table') {
    const now = Date.now()
    const include = includeObject(ctx)
    body = `${tableJson(
      t,
      listMeta,
      items.map((o) => rowOf(t, o, include, now)),
    )}\n`
  } else if (rep.as === 'partial') {
    const parts = items.map((o) => partialJson(metaOrdered(objectOf(t, o))))
    body = `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(listMeta)},"items":[${parts.join(',')}]}\n`
  } else if (rep.as === 'yaml') {
    const doc = {
      apiVersion: t.apiVersion,
      items: items.map((o) => objectOf(t, o)),
      kind: t.listKind,
      metadata: listMeta,
    }
    reply(ctx.res, wire, 200, yamlOf(doc), { contentType: 'application/yaml' })
    return
  } else {
    const head = `{"kind":${JSON.stringify(t.listKind)},"apiVersion":${JSON.stringify(t.apiVersion)},"metadata":${JSON.stringify(listMeta)},"items":[`
    const parts = t.custom ? items.map((o) => objectJson(t, o)) : items.map((o) => o.body)
    body = `${head}${parts.join(',')}]}\n`
  }
  reply(ctx.res, wire, 200, body, { contentType: 'application/json' })
}

function metaOrdered(o: Obj): Obj {
  const m = objAt(o, 'metadata')
  if (m) o.metadata = orderMetadata(m)
  return o
}

export function includeObject(ctx: Ctx): IncludeObject {
  const v = ctx.query.get('includeObject')
  return v === 'None' || v === 'Object' ? v : 'Metadata'
}

export function rowOf(t: ResourceType, o: StoredObject, include: IncludeObject, now: number): string {
  return rowJson(t, metaOrdered(objectOf(t, o)), objectJson(t, o), include, now)
}

export function yamlOf(doc: unknown): string {
  return dump(doc, { sortKeys: true, seqNoIndent: true, quoteStyle: 'double', lineWidth: -1 })
}

/** GET of one object (or its status subresource). */
export function handleGet(ctx: Ctx): void {
  const { store, wire } = ctx.shared
  const rep = negotiate(ctx.req.headers.accept)
  const o = store.get(ctx.type.storageKey, ctx.type.namespaced ? ctx.route.namespace : '', ctx.route.name)
  if (!o) throw notFound(ctx.type, ctx.route.name)
  const t = ctx.type
  if (rep.as === 'table') {
    const body = `${tableJson(t, { resourceVersion: String(o.rv) }, [rowOf(t, o, includeObject(ctx), Date.now())])}\n`
    reply(ctx.res, wire, 200, body, { contentType: 'application/json' })
  } else if (rep.as === 'partial') {
    reply(ctx.res, wire, 200, `${partialJson(metaOrdered(objectOf(t, o)))}\n`, {
      contentType: 'application/json',
    })
  } else if (rep.as === 'yaml') {
    reply(ctx.res, wire, 200, yamlOf(objectOf(t, o)), { contentType: 'application/yaml' })
  } else {
    reply(ctx.res, wire, 200, `${objectJson(t, o)}\n`, { contentType: 'application/json' })
  }
}
