/**
 * metadata.managedFields and server-side apply. Field sets are kept flat (one path per owned field,
 * plus "." markers for maps whose presence is owned) and written as FieldsV1 trees. The shapes follow
 * the API server's: Update entries own what a manager changed, Apply entries own what the applied
 * configuration names, keyed list items are `k:{...}`, and an apply that would change a field another
 * manager owns is a 409 naming every conflict. Struct-versus-map typing is approximated by field name
 * (see DOTTED), which is where a real server's fieldsV1 can differ in its "." markers.
 */
import type { ResourceType } from './catalog.js'
import { ApiError } from './status.js'
import { isObj, type Obj, objAt } from './types.js'

const SEP = '\u0001'
const DOT = '.'

/** Map-typed (or pointer-struct) built-in fields whose own presence is owned ("." in fieldsV1). */
const DOTTED = new Set([
  'labels',
  'annotations',
  'data',
  'binaryData',
  'stringData',
  'nodeSelector',
  'matchLabels',
  'limits',
  'requests',
  'capacity',
  'hard',
  'rollingUpdate',
  'conversion',
  'parameters',
  'resourceAttributes',
  'nonResourceAttributes',
  'clientConfig',
])
/** Keyed lists that own their own presence too (the webhooks of a webhook configuration). */
const DOTTED_LISTS = new Set(['webhooks', 'matchConditions'])
/** Built-in fields that are atomic (owned as a whole). */
const ATOMIC = new Set([
  'selector',
  'finalizers',
  'command',
  'args',
  'versions',
  // metav1.LabelSelector is a map-type atomic struct wherever it appears.
  'namespaceSelector',
  'objectSelector',
])

const SKIP_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
])

/** The key fields of a list item, or null for atomic lists. */
function listKey(items: unknown[]): ((item: Obj) => string) | null {
  if (items.length === 0 || !items.every(isObj)) return null
  const objs = items as Obj[]
  const all = (k: string) => objs.every((x) => x[k] !== undefined)
  if (all('containerPort'))
    return (x) => `k:${JSON.stringify({ containerPort: x.containerPort, protocol: x.protocol ?? 'TCP' })}`
  if (all('port') && !all('name'))
    return (x) => `k:${JSON.stringify({ port: x.port, protocol: x.protocol ?? 'TCP' })}`
  if (all('mountPath') && !all('name')) return (x) => `k:${JSON.stringify({ mountPath: x.mountPath })}`
  if (all('name')) return (x) => `k:${JSON.stringify({ name: x.name })}`
  if (all('uid')) return (x) => `k:${JSON.stringify({ uid: x.uid })}`
  if (all('type')) return (x) => `k:${JSON.stringify({ type: x.type })}`
  return null
}

export type Mode = 'update' | 'apply'

/** Flattened fields of an object: path -> JSON of the value there ("." markers map to ""). */
export function flatten(type: ResourceType, obj: Obj, mode: Mode, subresource = ''): Map<string, string> {
  const out = new Map<string, string>()
  const unstructured = Boolean(type.custom)
  const statusSub = type.subresources.some((s) => s.name === 'status')
  const walk = (value: unknown, path: string, fieldName: string, depth: number) => {
    // A zero metav1.Time (a pod template's `creationTimestamp: null`) is no field the server tracks.
    if (value === null && fieldName === 'creationTimestamp') return
    if (isObj(value)) {
      const keys = Object.keys(value)
      const atomic = !unstructured && ATOMIC.has(fieldName)
      // Go's omitempty: an empty map-typed field is not there at all.
      if (keys.length === 0 && !unstructured && DOTTED.has(fieldName)) return
      if (keys.length === 0 || atomic) {
        out.set(path, JSON.stringify(value))
        return
      }
      const dotted = mode === 'update' && (unstructured || DOTTED.has(fieldName))
      if (dotted) out.set(path + SEP + DOT, '')
      for (const k of keys) walk(value[k], `${path}${SEP}f:${k}`, k, depth + 1)
      return
    }
    if (Array.isArray(value)) {
      const key =
        unstructured && fieldName !== 'finalizers'
          ? listKey(value)
          : ATOMIC.has(fieldName)
            ? null
            : listKey(value)
      if (!key) {
        out.set(path, JSON.stringify(value))
        return
      }
      if (mode === 'update' && !unstructured && DOTTED_LISTS.has(fieldName)) out.set(path + SEP + DOT, '')
      for (const item of value as Obj[]) {
        const p = path + SEP + key(item)
        out.set(p + SEP + DOT, '')
        for (const k of Object.keys(item)) walk(item[k], `${p}${SEP}f:${k}`, k, depth + 1)
      }
      return
    }
    out.set(path, JSON.stringify(value))
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue
    // The status subresource's writers own status; everyone else owns the rest.
    if (subresource === 'status' ? k !== 'status' : k === 'status' && statusSub) continue
    if (k === 'metadata') {
      if (!isObj(v)) continue
      for (const [mk, mv] of Object.entries(v)) {
        if (SKIP_META.has(mk)) continue
        walk(mv, `f:metadata${SEP}f:${mk}`, mk, 1)
      }
      continue
    }
    walk(v, `f:${k}`, k, 0)
  }
  return out
}

/** A FieldsV1 tree from a set of flat paths. */
export function toFieldsV1(paths: Iterable<string>): Obj {
  const root: Obj = {}
  for (const p of paths) {
    let node = root
    for (const seg of p.split(SEP)) {
      let next = node[seg]
      if (!isObj(next)) {
        next = {}
        node[seg] = next
      }
      node = next as Obj
    }
  }
  return sortTree(root)
}

function sortTree(node: Obj): Obj {
  const out: Obj = {}
  const keys = Object.keys(node).sort((a, b) => (a === DOT ? -1 : b === DOT ? 1 : a < b ? -1 : a > b ? 1 : 0))
  for (const k of keys) out[k] = sortTree(node[k] as Obj)
  return out
}

/** Flat paths of a FieldsV1 tree. */
export function fromFieldsV1(tree: unknown): Set<string> {
  const out = new Set<string>()
  const walk = (node: unknown, path: string) => {
    if (!isObj(node)) return
    const keys = Object.keys(node)
    if (keys.length === 0 && path) {
      out.add(path)
      return
    }
    for (const k of keys) walk(node[k], path ? path + SEP + k : k)
  }
  walk(tree, '')
  return out
}

export interface ManagedEntry {
  manager: string
  operation: 'Apply' | 'Update'
  apiVersion: string
  /** Absent on the scale subresource's entries, which the API server writes without one. */
  time?: string
  fieldsType: 'FieldsV1'
  fieldsV1: Obj
  subresource?: string
}

function entriesOf(obj: Obj): ManagedEntry[] {
  const mf = objAt(obj, 'metadata')?.managedFields
  if (!Array.isArray(mf)) return []
  return mf.filter(isObj).map((e) => ({
    manager: String(e.manager ?? ''),
    operation: e.operation === 'Apply' ? 'Apply' : 'Update',
    apiVersion: String(e.apiVersion ?? ''),
    ...(typeof e.time === 'string' && e.time ? { time: e.time } : {}),
    fieldsType: 'FieldsV1',
    fieldsV1: isObj(e.fieldsV1) ? e.fieldsV1 : {},
    ...(typeof e.subresource === 'string' && e.subresource ? { subresource: e.subresource } : {}),
  }))
}

/** The server's order: Apply before Update, then by time, manager, apiVersion, subresource. */
function sortEntries(entries: ManagedEntry[]): ManagedEntry[] {
  return entries.sort((p, q) => {
    if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1
    const pt = Math.floor(Date.parse(p.time ?? '') / 1000) || 0
    const qt = Math.floor(Date.parse(q.time ?? '') / 1000) || 0
    if (pt !== qt) return pt - qt
    if (p.manager !== q.manager) return p.manager < q.manager ? -1 : 1
    if (p.apiVersion !== q.apiVersion) return p.apiVersion < q.apiVersion ? -1 : 1
    return (p.subresource ?? '') < (q.subresource ?? '')
      ? -1
      : (p.subresource ?? '') > (q.subresource ?? '')
        ? 1
        : 0
  })
}

export function nowTime(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Drops leaf paths no longer present, and "." markers whose map is gone. */
function restrict(set: Set<string>, present: Map<string, string>): Set<string> {
  const out = new Set<string>()
  for (const p of set) if (present.has(p)) out.add(p)
  return out
}

/**
 * Records a non-apply write (create, update, patch) by `manager` on managedFields of `next`:
 * the manager gains what changed, others lose it, and removed fields leave every set.
 */
export function recordUpdate(
  type: ResourceType,
  prev: Obj | null,
  next: Obj,
  manager: string,
  apiVersion: string,
  subresource = '',
  /** when the write happened (default: now) */
  at: string = nowTime(),
): void {
  const meta = (objAt(next, 'metadata') ?? {}) as Obj
  // A client-sent managedFields on create/update replaces the tracked ones only when it is valid; the
  // common case (echoing what it read) keeps ours.
  const entries = prev ? entriesOf(prev) : []
  const after = flatten(type, next, 'update', subresource)
  const before = prev ? flatten(type, prev, 'update', subresource) : new Map<string, string>()
  const changed = new Set<string>()
  for (const [p, v] of after) if (before.get(p) !== v) changed.add(p)
  if (changed.size === 0 && prev) {
    meta.managedFields = entries
    return
  }
  const out: ManagedEntry[] = []
  let mine: Set<string> = new Set()
  const all = subresource ? flatten(type, next, 'update') : after
  for (const [p, v] of flatten(type, next, 'update', 'status')) all.set(p, v)
  for (const e of entries) {
    const set = restrict(fromFieldsV1(e.fieldsV1), all)
    const isMine =
      e.manager === manager &&
      e.operation === 'Update' &&
      (e.subresource ?? '') === subresource &&
      e.apiVersion === apiVersion
    if (isMine) {
      mine = set
      continue
    }
    for (const p of changed) set.delete(p)
    if (set.size > 0) out.push({ ...e, fieldsV1: toFieldsV1(set) })
  }
  for (const p of changed) mine.add(p)
  if (mine.size > 0) {
    out.push({
      manager,
      operation: 'Update',
      apiVersion,
      ...(subresource === 'scale' ? {} : { time: at }),
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(mine),
      ...(subresource ? { subresource } : {}),
    })
  }
  meta.managedFields = sortEntries(out)
  next.metadata = meta
}

interface Conflict {
  manager: string
  path: string
}

/** ".data.color", ".spec.containers[name=\"c\"].image" */
export function displayPath(p: string): string {
  let out = ''
  for (const seg of p.split(SEP)) {
    if (seg.startsWith('f:')) out += `.${seg.slice(2)}`
    else if (seg.startsWith('k:')) {
      try {
        const k = JSON.parse(seg.slice(2)) as Obj
        out += `[${Object.entries(k)
          .map(([a, b]) => `${a}=${JSON.stringify(b)}`)
          .join(',')}]`
      } catch {
        out += `[${seg.slice(2)}]`
      }
    } else if (seg.startsWith('v:')) out += `[=${seg.slice(2)}]`
  }
  return out
}

function conflictError(conflicts: Conflict[]): ApiError {
  conflicts.sort((a, b) =>
    a.manager < b.manager ? -1 : a.manager > b.manager ? 1 : a.path < b.path ? -1 : 1,
  )
  let text: string
  if (conflicts.length === 1) {
    text = `conflict with ${JSON.stringify(conflicts[0]!.manager)}: ${displayPath(conflicts[0]!.path)}`
  } else {
    const by = new Map<string, string[]>()
    for (const c of conflicts) by.set(c.manager, [...(by.get(c.manager) ?? []), displayPath(c.path)])
    const lines: string[] = []
    for (const m of [...by.keys()].sort()) {
      lines.push(`conflicts with ${JSON.stringify(m)}:`)
      for (const p of by.get(m)!) lines.push(`- ${p}`)
    }
    text = lines.join('\n')
  }
  const n = conflicts.length
  return new ApiError(409, 'Conflict', `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${text}`, {
    causes: conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${JSON.stringify(c.manager)}`,
      field: displayPath(c.path),
    })),
  })
}

/** Merges an applied configuration into a live object: maps merge, keyed lists merge by key. */
function applyMerge(live: unknown, applied: unknown, fieldName: string, unstructured: boolean): unknown {
  if (isObj(applied) && isObj(live) && !(ATOMIC.has(fieldName) && !unstructured)) {
    const out: Obj = { ...live }
    for (const [k, v] of Object.entries(applied)) out[k] = applyMerge(live[k], v, k, unstructured)
    return out
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const key = listKey([...applied, ...live])
    if (key && !ATOMIC.has(fieldName)) {
      const out = (live as Obj[]).map((x) => x)
      for (const a of applied as Obj[]) {
        const i = out.findIndex((x) => key(x) === key(a))
        if (i >= 0) out[i] = applyMerge(out[i], a, '', unstructured) as Obj
        else out.push(a)
      }
      return out
    }
  }
  return structuredClone(applied)
}

/** Removes the field at a flat path from an object (fields an applier stopped naming). */
function removePath(obj: Obj, path: string): void {
  const segs = path.split(SEP).filter((s) => s !== DOT)
  let node: unknown = obj
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!
    const last = i === segs.length - 1
    if (seg.startsWith('f:') && isObj(node)) {
      const k = seg.slice(2)
      if (last) {
        delete node[k]
        return
      }
      node = node[k]
    } else if (seg.startsWith('k:') && Array.isArray(node)) {
      const idx = node.findIndex((x) => isObj(x) && listKey([x])?.(x) === seg)
      if (idx < 0) return
      if (last) {
        node.splice(idx, 1)
        return
      }
      node = node[idx]
    } else return
  }
}

/**
 * Server-side apply of `applied` by `manager` onto `live` (null: the object does not exist yet).
 * Returns the new object with managedFields set; throws the 409 conflict unless `force`.
 */
export function serverSideApply(
  type: ResourceType,
  live: Obj | null,
  applied: Obj,
  manager: string,
  apiVersion: string,
  force: boolean,
): Obj {
  const unstructured = Boolean(type.custom)
  const appliedFields = flatten(type, applied, 'apply')
  const entries = live ? entriesOf(live) : []
  const liveFields = live ? flatten(type, live, 'update') : new Map<string, string>()
  const conflicts: Conflict[] = []
  const others: { entry: ManagedEntry; set: Set<string> }[] = []
  let previous = new Set<string>()
  for (const e of entries) {
    const set = fromFieldsV1(e.fieldsV1)
    if (e.manager === manager && e.operation === 'Apply') {
      previous = set
      continue
    }
    others.push({ entry: e, set })
  }
  for (const o of others) {
    for (const [p, v] of appliedFields) {
      if (!o.set.has(p)) continue
      const current = liveFields.get(p)
      if (current !== undefined && current !== v) {
        if (force) o.set.delete(p)
        else conflicts.push({ manager: o.entry.manager, path: p })
      }
    }
  }
  if (conflicts.length > 0) throw conflictError(conflicts)
  const base: Obj = live ? structuredClone(live) : {}
  // Fields this manager applied before, no longer names, and nobody else owns are removed.
  for (const p of previous) {
    if (appliedFields.has(p) || p.endsWith(SEP + DOT)) continue
    if (others.some((o) => o.set.has(p))) continue
    removePath(base, p)
  }
  const merged = applyMerge(base, applied, '', unstructured) as Obj
  const meta = (objAt(merged, 'metadata') ?? {}) as Obj
  const out: ManagedEntry[] = []
  for (const o of others) if (o.set.size > 0) out.push({ ...o.entry, fieldsV1: toFieldsV1(o.set) })
  const mine: ManagedEntry = {
    manager,
    operation: 'Apply',
    apiVersion,
    time: nowTime(),
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(appliedFields.keys()),
  }
  const prevMine = entries.find((e) => e.manager === manager && e.operation === 'Apply')
  if (prevMine && JSON.stringify(prevMine.fieldsV1) === JSON.stringify(mine.fieldsV1))
    mine.time = prevMine.time
  if (appliedFields.size > 0) out.push(mine)
  meta.managedFields = sortEntries(out)
  merged.metadata = meta
  return merged
}

/** The default field manager for a request: the user agent up to its first "/", at most 128 chars. */
export function defaultManager(userAgent: string | undefined): string {
  const ua = userAgent ?? ''
  const slash = ua.indexOf('/')
  return (slash >= 0 ? ua.slice(0, slash) : ua).slice(0, 128)
}
