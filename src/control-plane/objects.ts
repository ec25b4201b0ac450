/**
 * The object store: an etcd-like keyspace with one global revision. Every write takes the next
 * revision (the objects' resourceVersion), is kept in its collection's event history for watches and
 * consistent reads at older revisions, and is told to subscribers (the open watches).
 *
 * Objects are kept as their encoded JSON body (see serialize.ts) plus the few fields that selectors
 * read, never as parsed trees: 50,000 realistic objects then cost about their JSON size in memory,
 * and a list writes cached strings instead of re-encoding.
 */
import { randomUUID } from 'node:crypto'
import type { ResourceType } from './catalog.js'
import { decodeBody, encodeBody, fullJson } from './serialize.js'
import { type Obj, objAt, stringMap } from './types.js'

/** One version of one object, immutable once stored. */
export interface StoredObject {
  /** "namespace/name" for namespaced resources, "name" for cluster-scoped ones (etcd key order). */
  readonly key: string
  readonly namespace: string
  readonly name: string
  readonly rv: number
  readonly uid: string
  readonly labels: Readonly<Record<string, string>>
  /** Values of the selectable fields (see selectors.ts), extracted once. */
  readonly fields: Readonly<Record<string, string>>
  /** Encoded body (see serialize.ts). */
  readonly body: string
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface StoreEvent {
  readonly type: EventType
  readonly rv: number
  readonly storageKey: string
  /** The new state; for DELETED, the last state carrying the deletion's resourceVersion. */
  readonly object: StoredObject
  /** The state before, for MODIFIED and DELETED (label-selector watches need it). */
  readonly prev: StoredObject | null
}

export type FieldExtractor = (obj: Obj) => Record<string, string>

/** Thrown for reads at a revision the store no longer has. */
export class TooOldError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`too old resource version: ${requested} (${oldest})`)
  }
}

class Collection {
  readonly objects = new Map<string, StoredObject>()
  /** Keys in etcd order; rebuilt lazily after creates and deletes (updates keep it). */
  private sortedKeys: string[] | null = []
  readonly history: StoreEvent[] = []
  /** Every event with rv > windowStart is in `history`. */
  windowStart = 0
  /** Revision of the last write to this collection. */
  lastWrite = 0

  sorted(): string[] {
    if (!this.sortedKeys) this.sortedKeys = [...this.objects.keys()].sort(compareKeys)
    return this.sortedKeys
  }

  invalidate(): void {
    this.sortedKeys = null
  }
}

export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** First index in `sorted` whose key is >= `key`. */
export function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

export interface StoreOptions {
  /** Events kept per collection before the oldest are dropped (like the watch cache's window). */
  readonly historyLimit?: number
}

export class ObjectStore {
  private readonly collections = new Map<string, Collection>()
  private readonly listeners = new Map<string, Set<(e: StoreEvent) => void>>()
  private readonly historyLimit: number
  /** The global revision: the resourceVersion of the last write. */
  revision = 0
  /** Reads and watches from before this revision are gone (410). */
  compactedRevision = 0

  constructor(options: StoreOptions = {}) {
    this.historyLimit = options.historyLimit ?? 200_000
  }

  private collection(storageKey: string): Collection {
    let c = this.collections.get(storageKey)
    if (!c) {
      c = new Collection()
      // A collection created now has seen every event that concerns it.
      c.windowStart = this.compactedRevision
      this.collections.set(storageKey, c)
    }
    return c
  }

  static key(namespace: string, name: string): string {
    return namespace ? `${namespace}/${name}` : name
  }

  get(storageKey: string, namespace: string, name: string): StoredObject | undefined {
    return this.collections.get(storageKey)?.objects.get(ObjectStore.key(namespace, name))
  }

  /** Revision of the last write to a collection (0: never written). */
  lastWrite(storageKey: string): number {
    return this.collections.get(storageKey)?.lastWrite ?? 0
  }

  count(storageKey: string): number {
    return this.collections.get(storageKey)?.objects.size ?? 0
  }

  /**
   * Stores `obj` as the next revision. Sets metadata.resourceVersion (and uid on first write) on the
   * object passed in, so the caller answers with exactly what was stored. Returns the stored record.
   */
  put(type: ResourceType, obj: Obj, extract: FieldExtractor, storageType: ResourceType = type): StoredObject {
    const meta = objAt(obj, 'metadata') ?? {}
    obj.metadata = meta
    const namespace = type.namespaced ? String(meta.namespace ?? '') : ''
    const name = String(meta.name ?? '')
    const c = this.collection(type.storageKey)
    const key = ObjectStore.key(namespace, name)
    const prev = c.objects.get(key) ?? null
    const rv = ++this.revision
    meta.resourceVersion = String(rv)
    if (typeof meta.uid !== 'string') meta.uid = randomUUID()
    const record: StoredObject = {
      key,
      namespace,
      name,
      rv,
      uid: meta.uid as string,
      labels: stringMap(meta.labels),
      fields: extract(obj),
      body: encodeBody(storageType, obj),
    }
    c.objects.set(key, record)
    if (!prev) c.invalidate()
    this.record(c, {
      type: prev ? 'MODIFIED' : 'ADDED',
      rv,
      storageKey: type.storageKey,
      object: record,
      prev,
    })
    return record
  }

  /**
   * Deletes an object as the next revision. The DELETED event (and the returned object) carries the
   * deletion's resourceVersion, as the API server's do. `final` lets the caller set deletion metadata.
   */
  remove(type: ResourceType, namespace: string, name: string, final?: (obj: Obj) => void): Obj | undefined {
    const c = this.collections.get(type.storageKey)
    const key = ObjectStore.key(type.namespaced ? namespace : '', name)
    const prev = c?.objects.get(key)
    if (!c || !prev) return undefined
    const rv = ++this.revision
    const obj = decodeBody(type, prev.body)
    const meta = objAt(obj, 'metadata') ?? {}
    meta.resourceVersion = String(rv)
    final?.(obj)
    const record: StoredObject = { ...prev, rv, body: encodeBody(type, obj) }
    c.objects.delete(key)
    c.invalidate()
    this.record(c, { type: 'DELETED', rv, storageKey: type.storageKey, object: record, prev })
    return obj
  }

  private record(c: Collection, event: StoreEvent): void {
    c.lastWrite = event.rv
    c.history.push(event)
    if (c.history.length > this.historyLimit) {
      const drop = Math.ceil(this.historyLimit / 4)
      c.windowStart = c.history[drop - 1]!.rv
      c.history.splice(0, drop)
    }
    const ls = this.listeners.get(event.storageKey)
    if (ls) for (const l of ls) l(event)
  }

  subscribe(storageKey: string, listener: (e: StoreEvent) => void): () => void {
    let set = this.listeners.get(storageKey)
    if (!set) {
      set = new Set()
      this.listeners.set(storageKey, set)
    }
    set.add(listener)
    return () => set.delete(listener)
  }

  /** The oldest revision from which a watch or a consistent read of this collection can be served. */
  oldestServable(storageKey: string): number {
    const c = this.collections.get(storageKey)
    return Math.max(this.compactedRevision, c?.windowStart ?? this.compactedRevision)
  }

  /** Events of a collection after `rv`, oldest first; TooOldError if some are gone. */
  eventsAfter(storageKey: string, rv: number): StoreEvent[] {
    const oldest = this.oldestServable(storageKey)
    if (rv < oldest) throw new TooOldError(rv, oldest)
    const c = this.collections.get(storageKey)
    if (!c) return []
    const h = c.history
    let lo = 0
    let hi = h.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (h[mid]!.rv <= rv) lo = mid + 1
      else hi = mid
    }
    return h.slice(lo)
  }

  /**
   * The objects of a collection as they were at revision `atRv` (the current state when undefined),
   * in key order, starting after `after` and restricted to keys beginning with `prefix`.
   */
  *scan(
    storageKey: string,
    options: { atRv?: number; prefix?: string; after?: string } = {},
  ): Generator<StoredObject> {
    const c = this.collections.get(storageKey)
    const prefix = options.prefix ?? ''
    const after = options.after
    if (options.atRv !== undefined && options.atRv < this.revision) {
      const overlay = this.overlayAt(storageKey, options.atRv)
      if (overlay.size > 0) {
        yield* this.scanWithOverlay(c, overlay, prefix, after)
        return
      }
    }
    if (!c) return
    const keys = c.sorted()
    let i = lowerBound(keys, after !== undefined && after >= prefix ? after : prefix)
    if (after !== undefined && keys[i] === after) i++
    for (; i < keys.length; i++) {
      const k = keys[i]!
      if (!k.startsWith(prefix)) break
      const o = c.objects.get(k)
      if (o) yield o
    }
  }

  /** How many keys in the current state lie after `after` within `prefix` (for remainingItemCount). */
  countAfter(storageKey: string, prefix: string, after: string): number {
    const c = this.collections.get(storageKey)
    if (!c) return 0
    const keys = c.sorted()
    let start = lowerBound(keys, after >= prefix ? after : prefix)
    if (keys[start] === after) start++
    const end = prefix ? lowerBound(keys, `${prefix}\uffff`) : keys.length
    return Math.max(0, end - start)
  }

  /** key -> state at `atRv` (null: absent) for every key written after `atRv`. */
  private overlayAt(storageKey: string, atRv: number): Map<string, StoredObject | null> {
    const events = this.eventsAfter(storageKey, atRv)
    const overlay = new Map<string, StoredObject | null>()
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i]!
      overlay.set(e.object.key, e.type === 'ADDED' ? null : e.prev)
    }
    return overlay
  }

  private *scanWithOverlay(
    c: Collection | undefined,
    overlay: Map<string, StoredObject | null>,
    prefix: string,
    after: string | undefined,
  ): Generator<StoredObject> {
    const keys = new Set<string>(c ? c.objects.keys() : [])
    for (const k of overlay.keys()) keys.add(k)
    const sorted = [...keys]
      .filter((k) => k.startsWith(prefix) && (after === undefined || k > after))
      .sort(compareKeys)
    for (const k of sorted) {
      const o = overlay.has(k) ? overlay.get(k) : c?.objects.get(k)
      if (o) yield o
    }
  }

  /** Forgets history up to `rv` (default: now): older reads and watches get 410 Gone. */
  compact(rv = this.revision): void {
    this.compactedRevision = Math.max(this.compactedRevision, Math.min(rv, this.revision))
    for (const c of this.collections.values()) {
      let drop = 0
      while (drop < c.history.length && c.history[drop]!.rv <= this.compactedRevision) drop++
      c.history.splice(0, drop)
      c.windowStart = Math.max(c.windowStart, this.compactedRevision)
    }
  }

  /** Keys of a collection in one namespace (for cascading namespace deletion). */
  namesIn(storageKey: string, namespace: string): string[] {
    const c = this.collections.get(storageKey)
    if (!c) return []
    const out: string[] = []
    for (const o of c.objects.values()) if (o.namespace === namespace) out.push(o.name)
    return out
  }

  storageKeys(): string[] {
    return [...this.collections.keys()]
  }
}

/** The full JSON of a stored object as served by `type`. */
export function objectJson(type: ResourceType, o: StoredObject): string {
  return fullJson(type, o.body)
}

/** Parses a stored object (as `type`). */
export function objectOf(type: ResourceType, o: StoredObject): Obj {
  return decodeBody(type, o.body)
}
