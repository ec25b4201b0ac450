/**
 * Watches: a 200 chunked stream of `{"type":...,"object":...}\n`, one event per chunk. The start point
 * follows resourceVersion (unset or 0: synthetic ADDED events for the current state first; N: every
 * event after N; a compacted N: one ERROR event with 410 Expired, then the end), label and field
 * selectors turn relabelling into DELETED/ADDED, BOOKMARKs come with allowWatchBookmarks (2 s
 * before a timeoutSeconds deadline, and every bookmarkIntervalMs), sendInitialEvents=true streams the
 * initial state then a BOOKMARK annotated k8s.io/initial-events-end, and timeoutSeconds ends the
 * body normally. dropWatches() cuts every stream without a terminating chunk.
 */
import type { ResourceType } from './catalog.js'
import type { Ctx } from './context.js'
import { negotiate, writeHead } from './http.js'
import { includeObject, matches, parseFilters, rowOf, waitForRevision } from './lists.js'
import { objectJson, objectOf, type StoredObject, type StoreEvent, TooOldError } from './objects.js'
import { parseBoolOption, parseIntOption } from './request.js'
import { encodeBody, fullJson } from './serialize.js'
import { invalidOptions, statusBody } from './status.js'
import { tableJson } from './tables.js'
import { objAt } from './types.js'

/** The JSON of an event object, computed once per stored version and shared by all watchers. */
const jsonCache = new WeakMap<StoredObject, string>()

function bookmarkJson(t: ResourceType, rv: number, annotations?: Record<string, string>): string {
  const meta = {
    resourceVersion: String(rv),
    ...(t.custom ? {} : { creationTimestamp: null }),
    ...(annotations ? { annotations } : {}),
  }
  if (t.custom) return JSON.stringify({ apiVersion: t.apiVersion, kind: t.kind, metadata: meta })
  return JSON.stringify({ kind: t.kind, apiVersion: t.apiVersion, metadata: meta })
}

export async function handleWatch(ctx: Ctx): Promise<void> {
  const { store, timing } = ctx.shared
  const q = ctx.query
  const t = ctx.type
  const rep = negotiate(ctx.req.headers.accept)
  const timeoutSeconds = parseIntOption(q, 'timeoutSeconds')
  const bookmarks = parseBoolOption(q, 'allowWatchBookmarks')
  const sendInitialRaw = q.get('sendInitialEvents')
  const sendInitial = sendInitialRaw === null ? undefined : parseBoolOption(q, 'sendInitialEvents')
  const match = q.get('resourceVersionMatch') ?? ''
  const rvRaw = q.get('resourceVersion') ?? ''
  if (sendInitial !== undefined && match !== 'NotOlderThan') {
    throw invalidOptions('ListOptions', [
      {
        reason: 'FieldValueForbidden',
        message: 'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
        field: 'resourceVersionMatch',
      },
    ])
  }
  const filters = parseFilters(ctx)
  const prefix = t.namespaced && ctx.route.namespace ? `${ctx.route.namespace}/` : ''
  let startRv: number | null = null
  if (rvRaw && rvRaw !== '0') {
    if (!/^\d+$/.test(rvRaw))
      throw invalidOptions('ListOptions', [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(rvRaw)}: must be a number`,
          field: 'resourceVersion',
        },
      ])
    startRv = Number(rvRaw)
  }
  const initial = sendInitial === true || (sendInitial === undefined && startRv === null)
  if (sendInitial === true && startRv !== null) await waitForRevision(ctx, startRv)

  const res = ctx.res
  writeHead(res, ctx.shared.wire, 200, { contentType: 'application/json' })
  res.flushHeaders()
  ctx.shared.watches.add(res)

  let first = true
  const asTable = rep.as === 'table'
  const include = includeObject(ctx)
  const write = (type: string, object: string) => {
    if (!res.writableEnded) res.write(`{"type":"${type}","object":${object}}\n`)
  }
  const objectText = (o: StoredObject): string => {
    if (asTable) {
      const row = rowOf(t, o, include, Date.now())
      const text = tableJson(t, { resourceVersion: String(o.rv) }, [row], first)
      first = false
      return text
    }
    if (t.custom) return objectJson(t, o)
    let s = jsonCache.get(o)
    if (!s) {
      s = fullJson(t, o.body)
      jsonCache.set(o, s)
    }
    return s
  }
  /** The previous state relabelled out of the selector, carrying the event's resourceVersion. */
  const asDeleted = (prev: StoredObject, rv: number): StoredObject => {
    const obj = objectOf(t, prev)
    const meta = objAt(obj, 'metadata')
    if (meta) meta.resourceVersion = String(rv)
    return { ...prev, rv, body: encodeBody(t, obj) }
  }
  const deliver = (e: StoreEvent) => {
    if (!e.object.key.startsWith(prefix)) return
    if (e.type === 'ADDED') {
      if (matches(filters, e.object)) write('ADDED', objectText(e.object))
    } else if (e.type === 'DELETED') {
      if (matches(filters, e.object)) write('DELETED', objectText(e.object))
    } else {
      const now = matches(filters, e.object)
      const before = e.prev ? matches(filters, e.prev) : false
      if (now && before) write('MODIFIED', objectText(e.object))
      else if (now) write('ADDED', objectText(e.object))
      else if (before && e.prev) write('DELETED', objectText(asDeleted(e.prev, e.rv)))
    }
  }

  const timers: NodeJS.Timeout[] = []
  let unsubscribe = () => {}
  const finish = () => {
    for (const x of timers) clearTimeout(x)
    unsubscribe()
    ctx.shared.watches.delete(res)
    if (!res.writableEnded) res.end()
  }
  res.on('close', finish)

  // Replay and subscription happen in one synchronous step: no event can fall between them.
  let backlog: StoreEvent[] = []
  let threshold = store.revision
  if (startRv !== null && !initial) {
    try {
      backlog = store.eventsAfter(t.storageKey, startRv)
    } catch (e) {
      if (e instanceof TooOldError) {
        write('ERROR', JSON.stringify(statusBody(410, 'Expired', e.message)))
        finish()
        return
      }
      throw e
    }
    threshold = Math.max(store.revision, startRv)
  }
  if (initial) {
    for (const o of store.scan(t.storageKey, { prefix }))
      if (matches(filters, o)) write('ADDED', objectText(o))
    if (sendInitial === true && bookmarks) {
      const blueprint = Buffer.from(
        `${JSON.stringify({ kind: t.listKind, apiVersion: t.apiVersion, metadata: {}, items: null })}\n`,
      ).toString('base64')
      write(
        'BOOKMARK',
        bookmarkJson(t, store.revision, {
          'k8s.io/initial-events-end': 'true',
          'kubernetes.io/initial-events-list-blueprint': blueprint,
        }),
      )
    }
  }
  for (const e of backlog) deliver(e)
  unsubscribe = store.subscribe(t.storageKey, (e) => {
    if (e.rv > threshold) deliver(e)
  })

  // The API server times a watch out after timeoutSeconds, or a random 30-60 min when unset.
  const timeoutMs =
    timeoutSeconds !== undefined && timeoutSeconds > 0
      ? timeoutSeconds * 1000
      : (1800 + Math.random() * 1800) * 1000
  timers.push(setTimeout(finish, timeoutMs))
  if (bookmarks) {
    const bookmark = () => write('BOOKMARK', bookmarkJson(t, store.revision))
    if (timeoutMs > 2000) timers.push(setTimeout(bookmark, timeoutMs - 2000))
    const every = () => {
      bookmark()
      timers.push(setTimeout(every, timing.bookmarkIntervalMs))
    }
    timers.push(setTimeout(every, timing.bookmarkIntervalMs))
  }
}
