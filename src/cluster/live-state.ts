/**
 * A cluster's objects as the watcher keeps them, and their findings kept current. No I/O here: the
 * reflectors hand objects in, `evaluateDirty` hands changes out (to the store, to the dashboard).
 *
 * What a change makes dirty, and so evaluated again:
 * - the object itself;
 * - when its inventory record changed (labels, selector, pod template labels, service account): the
 *   cross-resource subjects of its namespace, and the Namespace object of that name. The library's
 *   cross-resource checks read only records of the subject's own namespace (a Namespace reads those of
 *   the namespace it names); test/unit/live-state.test.ts holds the library to that;
 * - when a Namespace's labels changed and a policy selects namespaces by label: every object in it.
 */
import type { NamespaceObjects } from '../policy/adapters/foreign-checks.js'
import type { Severity } from '../policy/check.js'
import { SEVERITIES } from '../policy/check.js'
import type { Engine } from '../policy/engine.js'
import type { CheckStats } from '../policy/frameworks.js'
import { Inventory, type InventoryRecord, inventoryRecord } from '../policy/inventory.js'
import type { KubeObject } from '../resources/types.js'
import { fingerprint } from '../scan/baseline.js'
import type { ExceptionContext, Finding, Tally } from '../scan/scan-file.js'
import { tallyResults } from '../scan/scan-file.js'
import { manifestWithheld } from '../store/manifests.js'
import type { ApiResource } from './discovery.js'
import { ObjectCodec } from './object-codec.js'
import { identityOf, isSecretKind, LiveResource, objectKey, strip } from './objects.js'
import { TextArena, type TextRef } from './text-arena.js'

/** How much of a kind the watcher keeps. */
export type KeepMode =
  /** the whole object (stripped), evaluated by the engine */
  | 'evaluate'
  /** only its inventory record: a custom resource, listed as metadata to know a namespace holds one */
  | 'inventory'

/** A finding as a change remembers it once it is gone: enough to say which, and to count it. */
export interface FindingMark {
  fingerprint: string
  checkId: string
  severity: Severity
  message: string
  path: string
  excepted: boolean
}

/**
 * What changed in one object's findings since it was last evaluated: the store writes only this, so
 * that an object evaluated again with the same findings costs it nothing.
 */
export interface ObjectChange {
  key: string
  resource: { apiVersion: string; kind: string; group: string; namespace: string; name: string }
  /** findings new to the object */
  opened: Finding[]
  /** findings it had, changed (message, severity, position, exception) */
  updated: Finding[]
  /** findings it no longer has (all of them when it is gone) */
  resolved: FindingMark[]
  /** the object as YAML, which findings' lines count in (not for Secrets, nor for credentials) */
  manifest?: string
  /** true when the object was deleted (or left the namespaces watched) */
  gone: boolean
}

/**
 * FNV-1a, 32 bits: cheap; a collision would only skip rewriting something that looks unchanged. Signed,
 * so that V8 keeps it in the field itself rather than as a number object of its own.
 */
function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h | 0
}

/** What identifies a finding's content: a change of any of it is written again. */
function signature(f: Finding): number {
  return fnv1a(
    `${f.severity}\u0000${f.message}\u0000${f.location.line}:${f.location.column}\u0000${
      f.excepted ? JSON.stringify(f.excepted) : ''
    }\u0000${f.exceptionExpired ? JSON.stringify(f.exceptionExpired) : ''}`,
  )
}

/** A dictionary-mode object (Object.create(null) is one): its keys are V8's own strings. */
const keys: Record<string, 0> = Object.create(null)

/**
 * V8's own copy of a string: equal strings kept this way are one string, however many objects hold
 * them (a message shared by the pods of a Deployment, the same label value on each), and no longer
 * the pieces a concatenation or a slice left. The copy goes when nothing holds it any more. (A key of
 * a dictionary, added and taken out: an object literal's computed key did the same at six times the
 * cost, each new key a new hidden class.)
 */
function internal(text: string): string {
  keys[text] = 0
  for (const key in keys) {
    delete keys[key]
    return key
  }
  return text
}

/**
 * An object's finding as kept between evaluations (as JSON, in the state's TextArena): fingerprint, a
 * signature of its content, check, severity, excepted, path, message.
 */
type KeptFinding = [string, number, string, Severity, boolean, string, string]

function markOf([fingerprint, , checkId, severity, excepted, path, message]: KeptFinding): FindingMark {
  return { fingerprint, checkId, severity, message, path, excepted }
}

/** The sums a run records, kept as objects come and go. */
export interface LiveTotals {
  resources: number
  passed: number
  findings: number
  excepted: number
  bySeverity: Record<Severity, number>
  checkStats: CheckStats
  namespaceStats: CheckStats
}

/** What an evaluation counted; one object for every evaluation that counted the same (see outcomeOf). */
interface Outcome {
  readonly passed: number
  readonly applied: string[]
  readonly failed: string[]
  readonly open: Severity[]
  readonly excepted: number
}

interface Kept {
  resource: ApiResource
  namespace: string
  name: string
  /** stripped object as JSON, in the state's TextArena; undefined for inventory-only kinds */
  json: TextRef | undefined
  record: InventoryRecord | undefined
  /** hash of the record, to tell a changed record from the same one */
  recordHash: number | undefined
  subject: boolean
  outcome: Outcome | undefined
  /**
   * Its findings at the last evaluation (absent when it had none), as JSON of KeptFinding[] in the
   * state's TextArena. As objects (a Map and two objects a finding) they took 560 bytes each, and a
   * first sync of 50,000 objects keeps 100,000; and made while the heap filled with the changes on
   * their way to the store, they left it full of holes that no collection could give back.
   */
  findings: TextRef | undefined
  /**
   * The kept JSON the manifest last handed out was written from (the manifest is a function of it): a
   * changed object's manifest is handed out again, an unchanged one's is not.
   */
  manifestOf: TextRef | undefined
  /** seen since the current list of its kind started */
  listGeneration: number
}

export interface LiveStateOptions {
  /** the cluster's name: findings' file, and the store's target */
  target: string
  exceptions?: ExceptionContext
  /** namespaces to keep; every one when undefined */
  includeNamespace?: (namespace: string) => boolean
}

export class LiveState {
  private readonly objects = new Map<string, Kept>()
  private readonly byNamespace = new Map<string, Set<string>>()
  private readonly subjectsByNamespace = new Map<string, Set<string>>()
  readonly inventory = new Inventory()
  /** the kept objects' JSON (compressed by `codec`) and findings */
  private readonly texts = new TextArena()
  private readonly codec = new ObjectCodec()
  private readonly namespaceObjects = new Map<string, KubeObject>()
  private readonly dirty = new Set<string>()
  /** keys removed since the last evaluateDirty, with what is needed to say so */
  private readonly removed = new Map<string, ObjectChange>()
  private readonly listGeneration = new Map<ApiResource, number>()
  readonly totals: LiveTotals = {
    resources: 0,
    passed: 0,
    findings: 0,
    excepted: 0,
    bySeverity: Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>,
    checkStats: {},
    namespaceStats: {},
  }
  private evaluatedOnce = false
  /** pass results per namespace ('' for cluster-scoped objects): a PolicyReport's summary counts them */
  private readonly passedByNamespace = new Map<string, number>()
  /**
   * Lists of check ids and of severities, one copy each: thousands of objects of a kind share the same
   * few lists.
   */
  private readonly lists = new Map<string, string[]>()

  private interned<T extends string>(ids: T[]): T[] {
    const key = ids.join('\u0000')
    const known = this.lists.get(key)
    if (known) return known as T[]
    this.lists.set(key, ids)
    return ids
  }
  private readonly outcomes = new Map<string, Outcome>()
  /** exceptions-file and register rules that matched a finding */
  readonly matchedExceptions = new Set<string>()

  /** findings' file: one string for all of them */
  private readonly fileName: string

  constructor(
    private readonly engine: Engine,
    private options: LiveStateOptions,
  ) {
    this.fileName = internal(`cluster:${options.target}`)
  }

  get size(): number {
    return this.objects.size
  }

  /** Every finding the kept objects have now (excepted ones marked): the watcher's own view. */
  *findingMarks(): IterableIterator<FindingMark> {
    for (const kept of this.objects.values()) for (const f of this.keptFindings(kept)) yield markOf(f)
  }

  private objectText(resource: ApiResource, json: TextRef): string {
    return this.codec.decode(kindKey(resource), this.texts.view(json))
  }

  private keptFindings(kept: Kept): KeptFinding[] {
    return kept.findings ? (JSON.parse(this.texts.get(kept.findings)) as KeptFinding[]) : []
  }

  /**
   * One Outcome for all the evaluations that counted the same (the pods of a Deployment, most
   * ConfigMaps): no object made by each evaluation outlives it.
   */
  private outcomeOf(o: Outcome): Outcome {
    const key = `${o.passed}\u0001${o.excepted}\u0001${o.applied.join()}\u0001${o.failed.join()}\u0001${o.open.join()}`
    const known = this.outcomes.get(key)
    if (known) return known
    this.outcomes.set(key, o)
    return o
  }

  get pending(): number {
    return this.dirty.size + this.removed.size
  }

  /** Namespace objects by name (their labels say what Pod Security Admission enforces there). */
  get namespaces(): NamespaceObjects {
    return this.namespaceObjects
  }

  /** New exception rules or a new day: every finding is judged again. */
  setExceptions(exceptions: ExceptionContext | undefined): void {
    this.options = { ...this.options, ...(exceptions ? { exceptions } : { exceptions: undefined }) }
    for (const [key, kept] of this.objects) if (kept.json !== undefined) this.dirty.add(key)
  }

  /**
   * Every kept object of a namespace ('' for cluster-scoped ones), optionally of one kind: its key,
   * kind and kept JSON text (a caller that caches by the text parses only what changed).
   */
  *objectsIn(
    namespace: string,
    kind?: { group: string; kind: string },
  ): Iterable<{ key: string; resource: ApiResource; json: string }> {
    for (const key of this.byNamespace.get(namespace) ?? []) {
      const kept = this.objects.get(key)
      if (kept?.json === undefined) continue
      if (kind && (kept.resource.group !== kind.group || kept.resource.kind !== kind.kind)) continue
      yield { key, resource: kept.resource, json: this.objectText(kept.resource, kept.json) }
    }
  }

  /** How many results passed in a namespace ('' for cluster-scoped objects), over its kept objects. */
  passedIn(namespace: string): number {
    return this.passedByNamespace.get(namespace) ?? 0
  }

  /** The names of the namespaces that hold kept objects, or have a Namespace object. */
  namespaceNames(): string[] {
    const names = new Set([...this.byNamespace.keys(), ...this.namespaceObjects.keys()])
    names.delete('')
    return [...names].sort()
  }

  listStarted(resource: ApiResource): void {
    this.listGeneration.set(resource, (this.listGeneration.get(resource) ?? 0) + 1)
  }

  /** The list is whole: what it did not hold is gone. */
  listEnded(resource: ApiResource): void {
    const generation = this.listGeneration.get(resource) ?? 0
    for (const [key, kept] of this.objects)
      if (kept.resource === resource && kept.listGeneration !== generation) this.remove(key)
  }

  /** A kind stopped being served (its CRD deleted): its objects are gone. */
  forget(resource: ApiResource): void {
    for (const [key, kept] of this.objects) if (kept.resource === resource) this.remove(key)
    this.listGeneration.delete(resource)
  }

  upsert(resource: ApiResource, object: KubeObject, mode: KeepMode): void {
    const identity = identityOf(object)
    const id = { namespace: internal(identity.namespace), name: identity.name }
    // A template literal's key is a chain of its pieces, which hashing does not flatten.
    const key = internal(objectKey(resource, id.namespace, id.name))
    const namespaceOfKey = resource.namespaced ? id.namespace : ''
    // A Namespace object belongs to the namespace it is: outside the namespaces watched, it is not kept.
    const isNamespace = resource.group === '' && resource.kind === 'Namespace'
    const scope = resource.namespaced ? id.namespace : isNamespace ? id.name : undefined
    if (scope !== undefined && this.options.includeNamespace && !this.options.includeNamespace(scope)) {
      if (this.objects.has(key)) this.remove(key)
      return
    }
    strip(object)
    if (isSecretKind(resource)) blankSecretValues(object)
    const live = new LiveResource(object, resource, id, this.file)
    const record = compactRecord(inventoryRecord(live, this.engine.podTemplates), id)
    const recordHash = fnv1a(JSON.stringify(record))
    const before = this.objects.get(key)
    const text = mode === 'evaluate' ? JSON.stringify(object) : undefined
    // The same text keeps its place (and so the manifest handed out for it stays handed out).
    const encoded = text === undefined ? undefined : this.codec.encode(kindKey(resource), text)
    const same =
      encoded !== undefined && before?.json !== undefined && this.texts.equalBytes(before.json, encoded)
    if (before?.json && !same) this.texts.free(before.json)
    const json = same ? before?.json : encoded === undefined ? undefined : this.texts.putBytes(encoded)
    const kept: Kept = {
      resource,
      namespace: namespaceOfKey,
      name: id.name,
      json,
      record,
      recordHash,
      subject: mode === 'evaluate' && this.engine.isCrossResourceSubject(live),
      outcome: before?.outcome,
      findings: before?.findings,
      manifestOf: before?.manifestOf,
      listGeneration: this.listGeneration.get(resource) ?? 0,
    }
    this.objects.set(key, kept)
    this.removed.delete(key)
    index(this.byNamespace, namespaceOfKey, key)
    if (kept.subject) index(this.subjectsByNamespace, namespaceOfKey, key)
    else unindex(this.subjectsByNamespace, namespaceOfKey, key)
    if (before?.record) this.inventory.remove(before.record)
    this.inventory.add(record)
    if (isNamespace) this.namespaceChanged(id.name, object)
    if (json !== undefined && !same) this.dirty.add(key)
    if (before?.recordHash !== recordHash) this.recordChanged(namespaceOfKey, id.name)
  }

  delete(resource: ApiResource, object: KubeObject): void {
    const id = identityOf(object)
    const key = objectKey(resource, id.namespace, id.name)
    if (this.objects.has(key)) this.remove(key)
  }

  private get file(): string {
    return this.fileName
  }

  private remove(key: string): void {
    const kept = this.objects.get(key)
    if (!kept) return
    this.objects.delete(key)
    this.dirty.delete(key)
    unindex(this.byNamespace, kept.namespace, key)
    unindex(this.subjectsByNamespace, kept.namespace, key)
    if (kept.record) this.inventory.remove(kept.record)
    if (kept.json) this.texts.free(kept.json)
    const resolved = this.keptFindings(kept).map(markOf)
    if (kept.findings) this.texts.free(kept.findings)
    if (kept.outcome) {
      this.account(kept.outcome, kept.namespace, -1)
      this.totals.resources--
    }
    const { group, version, kind } = kept.resource
    if (group === '' && kind === 'Namespace') this.namespaceChanged(kept.name, undefined)
    this.recordChanged(kept.namespace, kept.name)
    if (kept.json !== undefined)
      this.removed.set(key, {
        key,
        resource: {
          apiVersion: group === '' ? version : `${group}/${version}`,
          kind,
          group,
          namespace: kept.namespace,
          name: kept.name,
        },
        opened: [],
        updated: [],
        resolved,
        gone: true,
      })
  }

  private namespaceChanged(name: string, object: KubeObject | undefined): void {
    const before = this.namespaceObjects.get(name)
    if (object) this.namespaceObjects.set(name, object)
    else this.namespaceObjects.delete(name)
    const labels = (o: KubeObject | undefined) =>
      JSON.stringify((o?.metadata as { labels?: unknown } | undefined)?.labels ?? {})
    if (this.engine.readsNamespaceLabels && labels(before) !== labels(object))
      for (const key of this.byNamespace.get(name) ?? []) if (this.objects.get(key)?.json) this.dirty.add(key)
  }

  /** A record of `namespace` changed: the cross-resource subjects that may read it are dirty. */
  private recordChanged(namespace: string, name: string): void {
    // Before the first evaluation every object is dirty already (the first sync's lists).
    if (!this.engine.hasCrossResourceChecks || !this.evaluatedOnce) return
    if (namespace !== '') for (const key of this.subjectsByNamespace.get(namespace) ?? []) this.dirty.add(key)
    // A Namespace (cluster-scoped) reads the records of the namespace it names.
    const named = namespace === '' ? name : namespace
    for (const key of this.subjectsByNamespace.get('') ?? [])
      if (this.objects.get(key)?.name === named) this.dirty.add(key)
  }

  /**
   * Evaluates what is dirty, at most `limit` objects and until `until` (performance.now() ms) at the
   * latest (a caller yields to its event loop between calls); returns what changed: the findings each
   * object gained, changed or lost, and the objects gone.
   */
  evaluateDirty(limit = Number.POSITIVE_INFINITY, until = Number.POSITIVE_INFINITY): ObjectChange[] {
    this.evaluatedOnce = true
    const out: ObjectChange[] = [...this.removed.values()]
    this.removed.clear()
    let n = 0
    for (const key of this.dirty) {
      if (n++ >= limit || (n > 1 && performance.now() >= until)) break
      this.dirty.delete(key)
      const change = this.evaluate(key)
      if (change) out.push(change)
    }
    return out
  }

  private evaluate(key: string): ObjectChange | undefined {
    const kept = this.objects.get(key)
    if (!kept?.json) return undefined
    const object = JSON.parse(this.objectText(kept.resource, kept.json)) as KubeObject
    const live = new LiveResource(object, kept.resource, kept, this.file)
    const results = this.engine.evaluate(live, {
      ...(kept.subject ? { inventory: this.inventory } : {}),
      namespaces: this.namespaceObjects,
    })
    const tally: Tally = { passed: 0, findings: [], checkStats: {}, namespaceStats: {} }
    tallyResults(tally, results, this.options.exceptions, this.matchedExceptions)
    const outcome = this.outcomeOf({
      passed: tally.passed,
      applied: this.interned(Object.keys(tally.checkStats)),
      failed: this.interned(
        Object.entries(tally.checkStats)
          .filter(([, s]) => s.failed > 0)
          .map(([id]) => id),
      ),
      open: this.interned(tally.findings.filter((f) => !f.excepted).map((f) => f.severity)),
      excepted: tally.findings.filter((f) => f.excepted).length,
    })
    if (kept.outcome) this.account(kept.outcome, kept.namespace, -1)
    else this.totals.resources++
    kept.outcome = outcome
    this.account(outcome, kept.namespace, 1)
    const change: ObjectChange = {
      key,
      resource: {
        apiVersion: live.apiVersion,
        kind: live.kind,
        group: live.group,
        namespace: kept.namespace,
        name: kept.name,
      },
      opened: [],
      updated: [],
      resolved: [],
      gone: false,
    }
    const before = new Map(this.keptFindings(kept).map((f) => [f[0], f]))
    const now = new Map<string, KeptFinding>()
    for (const f of tally.findings) {
      const fp = fingerprint(f)
      if (now.has(fp)) continue // a check that reports the same field twice: one finding
      const entry: KeptFinding = [fp, signature(f), f.checkId, f.severity, !!f.excepted, f.path, f.message]
      now.set(fp, entry)
      const was = before.get(fp)
      if (!was) change.opened.push(f)
      else if (was[1] !== entry[1]) change.updated.push(f)
    }
    for (const [fp, was] of before) if (!now.has(fp)) change.resolved.push(markOf(was))
    const text = now.size > 0 ? JSON.stringify([...now.values()]) : undefined
    if (kept.findings && (text === undefined || !this.texts.equals(kept.findings, text))) {
      this.texts.free(kept.findings)
      kept.findings = undefined
    }
    if (text !== undefined && kept.findings === undefined) kept.findings = this.texts.put(text)
    let manifestChanged = false
    const withheld =
      isSecretKind(kept.resource) ||
      manifestWithheld(
        kept.resource.kind,
        tally.findings.map((f) => f.checkId),
      )
    if (tally.findings.length > 0 && !withheld) {
      change.manifest = live.manifest
      manifestChanged = kept.manifestOf !== kept.json
      kept.manifestOf = kept.json
    } else kept.manifestOf = undefined
    const same = change.opened.length === 0 && change.updated.length === 0 && change.resolved.length === 0
    return same && !manifestChanged ? undefined : change
  }

  private account(o: Outcome, namespace: string, sign: 1 | -1): void {
    const t = this.totals
    t.passed += sign * o.passed
    const passed = (this.passedByNamespace.get(namespace) ?? 0) + sign * o.passed
    if (passed === 0) this.passedByNamespace.delete(namespace)
    else this.passedByNamespace.set(namespace, passed)
    t.findings += sign * o.open.length
    t.excepted += sign * o.excepted
    for (const s of o.open) t.bySeverity[s] += sign
    const failed = new Set(o.failed)
    for (const id of o.applied) {
      const stat = t.checkStats[id] ?? { applied: 0, failed: 0 }
      t.checkStats[id] = stat
      stat.applied += sign
      if (failed.has(id)) stat.failed += sign
      if (stat.applied === 0) delete t.checkStats[id]
    }
    if (o.applied.length > 0) {
      const stat = t.namespaceStats[namespace] ?? { applied: 0, failed: 0 }
      t.namespaceStats[namespace] = stat
      stat.applied += sign * o.applied.length
      stat.failed += sign * failed.size
      if (stat.applied === 0) delete t.namespaceStats[namespace]
    }
  }
}

/** The codec's dictionaries are per kind: objects of a kind are alike. */
function kindKey(resource: ApiResource): string {
  return `${resource.group}/${resource.kind}`
}

/**
 * A record kept for every object, its strings shared: the object's name and namespace (the record had
 * copies of its own), the rest internal() (label values and selectors repeat from object to object).
 */
function compactRecord(record: InventoryRecord, id: { namespace: string; name: string }): InventoryRecord {
  const fields = record as unknown as Record<string, unknown>
  for (const [k, v] of Object.entries(fields))
    if (k !== 'name' && k !== 'namespace') fields[k] = internalStrings(v)
  if (record.name === id.name) record.name = id.name
  if (record.namespace === id.namespace) record.namespace = id.namespace
  return record
}

function internalStrings<T>(value: T): T {
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) value[i] = internalStrings(value[i])
  else if (typeof value === 'string') return internal(value) as T
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) (value as Record<string, unknown>)[k] = internalStrings(v)
  return value
}

/** Keeps a Secret's keys (policies may ask which exist) but never its values. */
function blankSecretValues(object: KubeObject): void {
  for (const field of ['data', 'stringData']) {
    const map = object[field]
    if (map && typeof map === 'object' && !Array.isArray(map))
      for (const k of Object.keys(map)) (map as Record<string, unknown>)[k] = ''
  }
}

function index(map: Map<string, Set<string>>, namespace: string, key: string): void {
  let set = map.get(namespace)
  if (!set) {
    set = new Set()
    map.set(namespace, set)
  }
  set.add(key)
}

function unindex(map: Map<string, Set<string>>, namespace: string, key: string): void {
  const set = map.get(namespace)
  if (!set) return
  set.delete(key)
  if (set.size === 0) map.delete(namespace)
}
