/**
 * `--as-server v1.N`: a pod, or a built-in workload's pod template, as an API server of release v1.N
 * stores it on creation: legacy seccomp and AppArmor annotations synced with their fields, procMount reset
 * while its gate is off. The facts (which release does what, and why we believe it) are data,
 * policies/data/server-defaulting.yaml; this module holds one function per change id and applies those of
 * one release. An object nothing changes is returned as it is; one that changes is copied only along the
 * paths that change (a scan of thousands of resources copies almost nothing).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUILTIN_DATA_DIR, versionField } from '../policy/api-lifecycle.js'
import { ConfigReader, loadYamlConfig, type Raw, YamlConfigError } from '../policy/yaml-fields.js'
import type { PodTemplateTable } from './pod-templates.js'
import { formatPath, type KubeObject, type PathSegment } from './types.js'

export const BUILTIN_SERVER_DEFAULTING = join(BUILTIN_DATA_DIR, 'server-defaulting.yaml')

export class ServerDefaultingError extends YamlConfigError {}

/** The kinds whose registries drop disabled fields from their pod template (DropDisabledTemplateFields). */
const BUILTIN_TEMPLATE_KINDS = new Set([
  '/PodTemplate',
  '/ReplicationController',
  ...['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'].map((k) => `apps/${k}`),
  ...['Deployment', 'ReplicaSet', 'DaemonSet'].map((k) => `extensions/${k}`),
  'batch/Job',
  'batch/CronJob',
])

/** One change the server made, for the reports. Paths are in `spec.containers[0].x` form. */
export interface ServerChange {
  /** the id of the change in server-defaulting.yaml */
  change: string
  path: string
  value: unknown
  /** the value before, when there was one */
  was?: unknown
  /** the field the value was copied from (an annotation), when it was copied */
  from?: string
}

export interface GateStage {
  since: number
  stage: string
  default: boolean
}

export interface ServerDefaultingEntry {
  id: string
  title: string
  objects: ('Pod' | 'PodTemplate')[]
  from?: number
  until?: number
  gate?: { name: string; stages: GateStage[] }
  what: string
  source: string[]
  /** where the entry is in the data file */
  line: number
}

export interface ServerDefaultingTable {
  file: string
  oldest: number
  newest: number
  entries: ServerDefaultingEntry[]
}

/** Whether a release makes the change: within from..until, and with the entry's gate (if any) off by default. */
export function appliesAt(entry: ServerDefaultingEntry, minor: number): boolean {
  if (entry.from !== undefined && minor < entry.from) return false
  if (entry.until !== undefined && minor >= entry.until) return false
  if (!entry.gate) return true
  return !gateDefault(entry.gate.stages, minor)
}

/** A gate's default at a release: that of the latest stage since then (off before its first). */
export function gateDefault(stages: readonly GateStage[], minor: number): boolean {
  let on = false
  for (const s of stages) if (s.since <= minor) on = s.default
  return on
}

/** What the server does to one pod spec and its metadata; paths are relative to the resource. */
interface PodSite {
  spec: KubeObject
  meta: KubeObject | undefined
  specPath: PathSegment[]
  metaPath: PathSegment[]
  edit: CopyOnWrite
  changes: ServerChange[]
  id: string
}

type Transform = (site: PodSite) => void

const SECCOMP_POD = 'seccomp.security.alpha.kubernetes.io/pod'
const SECCOMP_CONTAINER = 'container.seccomp.security.alpha.kubernetes.io/'
const APPARMOR_CONTAINER = 'container.apparmor.security.beta.kubernetes.io/'

const TRANSFORMS: Record<string, Transform> = {
  'seccomp-annotation-to-field': (site) => {
    const annotations = annotationsOf(site)
    const pod = annotations[SECCOMP_POD]
    if (typeof pod === 'string' && fieldOf(site.spec, 'seccompProfile') == null) {
      const profile = seccompFromAnnotation(pod)
      if (profile)
        setField(
          site,
          [...site.specPath, 'securityContext', 'seccompProfile'],
          profile,
          annotationPath(site, SECCOMP_POD),
        )
    }
    for (const c of containers(site)) {
      const key = SECCOMP_CONTAINER + c.name
      const value = annotations[key]
      if (typeof value !== 'string' || fieldOf(c.container, 'seccompProfile') != null) continue
      const profile = seccompFromAnnotation(value)
      if (profile)
        setField(site, [...c.path, 'securityContext', 'seccompProfile'], profile, annotationPath(site, key))
    }
  },
  'seccomp-field-to-annotation': (site) => {
    const annotations = annotationsOf(site)
    const pod = fieldOf(site.spec, 'seccompProfile')
    if (pod != null && annotations[SECCOMP_POD] === undefined) {
      const value = seccompToAnnotation(pod)
      if (value) setField(site, annotationPath(site, SECCOMP_POD), value)
    }
    for (const c of containers(site)) {
      const key = SECCOMP_CONTAINER + c.name
      const profile = fieldOf(c.container, 'seccompProfile')
      if (profile == null || annotations[key] !== undefined) continue
      const value = seccompToAnnotation(profile)
      if (value) setField(site, annotationPath(site, key), value)
    }
  },
  'apparmor-annotation-to-field': (site) => {
    if (isWindows(site.spec)) return
    const annotations = annotationsOf(site)
    const podProfile = fieldOf(site.spec, 'appArmorProfile')
    for (const c of containers(site)) {
      const key = APPARMOR_CONTAINER + c.name
      const value = annotations[key]
      if (typeof value !== 'string' || fieldOf(c.container, 'appArmorProfile') != null) continue
      const profile = appArmorFromAnnotation(value)
      // A container's field equal to the pod's would say nothing more: the server leaves it unset.
      if (profile && !sameProfile(profile, podProfile))
        setField(site, [...c.path, 'securityContext', 'appArmorProfile'], profile, annotationPath(site, key))
    }
  },
  'apparmor-field-to-annotation': (site) => {
    if (isWindows(site.spec)) return
    const annotations = annotationsOf(site)
    const podProfile = fieldOf(site.spec, 'appArmorProfile')
    for (const c of containers(site)) {
      const key = APPARMOR_CONTAINER + c.name
      if (annotations[key] !== undefined) continue
      const profile = fieldOf(c.container, 'appArmorProfile') ?? podProfile
      const value = profile == null ? undefined : appArmorToAnnotation(profile)
      if (value) setField(site, annotationPath(site, key), value)
    }
  },
  'procmount-default-while-gate-off': (site) => {
    for (const c of containers(site)) {
      const procMount = fieldOf(c.container, 'procMount')
      if (procMount == null || procMount === 'Default') continue
      setField(site, [...c.path, 'securityContext', 'procMount'], 'Default', undefined, procMount)
    }
  },
}

/**
 * The changes of one release, ready to apply to many resources. Build it once per scan (and per worker
 * thread) with `serverDefaulting`.
 */
export class ServerDefaulting {
  private readonly podChanges: { id: string; apply: Transform }[]
  private readonly templateChanges: { id: string; apply: Transform }[]

  constructor(
    /** the release (v1.N -> N) */
    readonly minor: number,
    readonly entries: readonly ServerDefaultingEntry[],
  ) {
    const active = entries.filter((e) => appliesAt(e, minor))
    const compiled = (kind: 'Pod' | 'PodTemplate') =>
      active.filter((e) => e.objects.includes(kind)).map((e) => ({ id: e.id, apply: TRANSFORMS[e.id]! }))
    this.podChanges = compiled('Pod')
    this.templateChanges = compiled('PodTemplate')
  }

  /**
   * The object as the server would store it, and what changed; undefined when nothing does (the object
   * is then not copied). The object given is never modified.
   */
  apply(
    resource: { group: string; kind: string; object: KubeObject },
    podTemplates: PodTemplateTable,
  ):
    | {
        object: KubeObject
        changes: ServerChange[]
        locatedAt(path: readonly PathSegment[]): PathSegment[] | undefined
      }
    | undefined {
    const isPod = resource.group === '' && resource.kind === 'Pod'
    const changes = isPod ? this.podChanges : this.templateChanges
    if (changes.length === 0) return undefined
    if (!isPod && !BUILTIN_TEMPLATE_KINDS.has(`${resource.group}/${resource.kind}`)) return undefined
    const where = podTemplates.lookup(resource.group, resource.kind)
    if (!where) return undefined
    const edit = new CopyOnWrite(resource.object)
    const found: ServerChange[] = []
    const copiedFrom: { path: PathSegment[]; from: PathSegment[] }[] = []
    for (const { id, apply } of changes) {
      // Read afresh for each change: a change sees what the ones before it did, as the server's do.
      const spec = at(edit.root, where.podSpec)
      if (!isMap(spec)) return undefined
      const meta = at(edit.root, where.podMetadata)
      const site: PodSite = {
        spec,
        meta: isMap(meta) ? meta : undefined,
        specPath: where.podSpec,
        metaPath: where.podMetadata,
        edit,
        changes: found,
        id,
      }
      apply(site)
    }
    if (found.length === 0) return undefined
    for (const c of found) {
      const from = edit.sourceOf(c.path)
      if (from) copiedFrom.push(from)
    }
    return {
      object: edit.root,
      changes: found,
      // A finding on a field copied from an annotation points at the annotation, the line that caused it.
      locatedAt: (path) => {
        for (const c of copiedFrom) if (startsWith(path, c.path)) return c.from
        return undefined
      },
    }
  }
}

/** A document edited by copying only the mappings and lists along the paths it sets. */
class CopyOnWrite {
  root: KubeObject
  private readonly own = new Set<object>()
  private readonly sources = new Map<string, { path: PathSegment[]; from: PathSegment[] }>()

  constructor(original: KubeObject) {
    this.root = original
  }

  /** Sets `path`, making the mappings it lacks; false (and nothing set) when a scalar is in the way. */
  set(path: readonly PathSegment[], value: unknown, from?: PathSegment[]): boolean {
    const parents: unknown[] = [this.root]
    for (let i = 0; i < path.length - 1; i++) {
      const next = (parents[i] as Record<PathSegment, unknown>)[path[i]!]
      if (next != null && typeof next !== 'object') return false
      parents.push(next ?? {})
    }
    // Copy from the root down, each node once per document.
    let node = this.owned(this.root) as Record<PathSegment, unknown>
    this.root = node as KubeObject
    for (let i = 0; i < path.length - 1; i++) {
      const child = this.owned(parents[i + 1] as object)
      node[path[i]!] = child
      node = child as Record<PathSegment, unknown>
    }
    node[path[path.length - 1]!] = value
    if (from) this.sources.set(formatPath(path), { path: [...path], from })
    return true
  }

  sourceOf(path: string): { path: PathSegment[]; from: PathSegment[] } | undefined {
    return this.sources.get(path)
  }

  private owned(node: object): object {
    if (this.own.has(node)) return node
    const copy = Array.isArray(node) ? [...node] : { ...node }
    this.own.add(copy)
    return copy
  }
}

function setField(
  site: PodSite,
  path: PathSegment[],
  value: unknown,
  from?: PathSegment[],
  was?: unknown,
): void {
  if (!site.edit.set(path, value, from)) return
  const change: ServerChange = { change: site.id, path: formatPath(path), value }
  if (was !== undefined) change.was = was
  if (from) change.from = formatPath(from)
  site.changes.push(change)
}

function annotationsOf(site: PodSite): Record<string, unknown> {
  const a = site.meta?.annotations
  return isMap(a) ? a : {}
}

function annotationPath(site: PodSite, key: string): PathSegment[] {
  return [...site.metaPath, 'annotations', key]
}

/** The securityContext field of a pod spec or a container; null when absent. */
function fieldOf(holder: KubeObject, field: string): unknown {
  const sc = holder.securityContext
  return isMap(sc) ? (sc[field] ?? null) : null
}

function* containers(site: PodSite): Generator<{ container: KubeObject; name: string; path: PathSegment[] }> {
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    const items = site.spec[list]
    if (!Array.isArray(items)) continue
    for (let i = 0; i < items.length; i++) {
      const c = items[i]
      if (isMap(c) && typeof c.name === 'string')
        yield { container: c, name: c.name, path: [...site.specPath, list, i] }
    }
  }
}

function isWindows(spec: KubeObject): boolean {
  const os = spec.os
  return isMap(os) && os.name === 'windows'
}

function seccompFromAnnotation(value: string): KubeObject | undefined {
  if (value === 'unconfined') return { type: 'Unconfined' }
  if (value === 'runtime/default' || value === 'docker/default') return { type: 'RuntimeDefault' }
  return localhost(value)
}

function appArmorFromAnnotation(value: string): KubeObject | undefined {
  if (value === 'unconfined') return { type: 'Unconfined' }
  if (value === 'runtime/default') return { type: 'RuntimeDefault' }
  return localhost(value)
}

function localhost(value: string): KubeObject | undefined {
  if (!value.startsWith('localhost/')) return undefined
  const profile = value.slice('localhost/'.length)
  return profile === '' ? undefined : { type: 'Localhost', localhostProfile: profile }
}

/** The annotation value of a seccomp or AppArmor profile field; undefined for one it cannot express. */
function profileAnnotation(profile: unknown): string | undefined {
  if (!isMap(profile)) return undefined
  if (profile.type === 'Unconfined') return 'unconfined'
  if (profile.type === 'RuntimeDefault') return 'runtime/default'
  if (profile.type === 'Localhost' && typeof profile.localhostProfile === 'string')
    return `localhost/${profile.localhostProfile}`
  return undefined
}

const seccompToAnnotation = profileAnnotation
const appArmorToAnnotation = profileAnnotation

function sameProfile(a: KubeObject, b: unknown): boolean {
  return isMap(b) && a.type === b.type && (a.localhostProfile ?? null) === (b.localhostProfile ?? null)
}

function isMap(v: unknown): v is KubeObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function at(obj: unknown, path: readonly PathSegment[]): unknown {
  let cur = obj
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<PathSegment, unknown>)[seg]
  }
  return cur
}

function startsWith(path: readonly PathSegment[], prefix: readonly PathSegment[]): boolean {
  if (path.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (path[i] !== prefix[i]) return false
  return true
}

// ---- the data file

const ROOT_FIELDS = ['apiVersion', 'kind', 'oldest', 'newest', 'changes']
const ENTRY_FIELDS = ['id', 'title', 'objects', 'from', 'until', 'gate', 'what', 'source']

/** Parses a defaulting table; a ServerDefaultingError names the file, line and field of any mistake. */
export function parseServerDefaulting(file: string, text: string): ServerDefaultingTable {
  const { doc, at: line } = loadYamlConfig(file, text, ServerDefaultingError)
  const r: ConfigReader = new ConfigReader(file, line, ServerDefaultingError)
  const root = r.object(doc, [], ROOT_FIELDS)
  if (root.kind !== 'ServerDefaulting') r.fail(['kind'], "expected 'ServerDefaulting'")
  const oldest = versionField(r, root, 'oldest', [])
  const newest = versionField(r, root, 'newest', [])
  if (oldest === undefined || newest === undefined)
    r.fail([], "needs 'oldest' and 'newest' (the releases covered, like 'v1.16' and 'v1.35')")
  if (!Array.isArray(root.changes)) r.fail(['changes'], 'expected a list')
  const seen = new Set<string>()
  const entries = root.changes.map((raw, i): ServerDefaultingEntry => {
    const p = ['changes', i]
    const e = r.object(raw, p, ENTRY_FIELDS)
    const id = e.id
    if (typeof id !== 'string' || !Object.hasOwn(TRANSFORMS, id))
      r.fail(
        [...p, 'id'],
        `expected one of the changes Plimsoll can make: ${Object.keys(TRANSFORMS).join(', ')}`,
      )
    if (seen.has(id)) r.fail([...p, 'id'], `'${id}' is listed twice`)
    seen.add(id)
    const objects = e.objects
    if (
      !Array.isArray(objects) ||
      objects.length === 0 ||
      objects.some((o) => o !== 'Pod' && o !== 'PodTemplate')
    )
      r.fail([...p, 'objects'], 'expected a list of Pod and/or PodTemplate')
    for (const key of ['title', 'what'])
      if (typeof e[key] !== 'string' || (e[key] as string).trim() === '')
        r.fail([...p, key], 'expected a non-empty string')
    const source = e.source
    if (
      !Array.isArray(source) ||
      source.length === 0 ||
      source.some((s) => typeof s !== 'string' || !s.startsWith('https://'))
    )
      r.fail([...p, 'source'], 'expected a list of links (https://...) to where the fact was read')
    const from = versionField(r, e, 'from', p)
    const until = versionField(r, e, 'until', p)
    if (from !== undefined && until !== undefined && until <= from)
      r.fail([...p, 'until'], 'is not after from')
    const gate = e.gate === undefined ? undefined : gateOf(r, e.gate as Raw, [...p, 'gate'])
    if (from === undefined && !gate) r.fail(p, "needs 'from' or a 'gate'")
    const entry: ServerDefaultingEntry = {
      id,
      title: e.title as string,
      objects: objects as ('Pod' | 'PodTemplate')[],
      what: e.what as string,
      source: source as string[],
      line: line(p),
    }
    if (from !== undefined) entry.from = from
    if (until !== undefined) entry.until = until
    if (gate) entry.gate = gate
    return entry
  })
  return { file, oldest, newest, entries }
}

function gateOf(r: ConfigReader, raw: Raw, p: (string | number)[]): { name: string; stages: GateStage[] } {
  const g = r.object(raw, p, ['name', 'stages'])
  if (typeof g.name !== 'string' || g.name === '') r.fail([...p, 'name'], 'expected the feature gate name')
  if (!Array.isArray(g.stages) || g.stages.length === 0) r.fail([...p, 'stages'], 'expected a list of stages')
  let last = -1
  const stages = g.stages.map((s, i) => {
    const sp = [...p, 'stages', i]
    const stage = r.object(s, sp, ['since', 'stage', 'default'])
    const since = versionField(r, stage, 'since', sp)
    if (since === undefined || since <= last)
      r.fail([...sp, 'since'], 'expected a version after the stage before')
    last = since
    if (!['alpha', 'beta', 'ga', 'deprecated'].includes(stage.stage as string))
      r.fail([...sp, 'stage'], 'expected alpha, beta, ga or deprecated')
    if (typeof stage.default !== 'boolean') r.fail([...sp, 'default'], 'expected true or false')
    return { since, stage: stage.stage as string, default: stage.default }
  })
  return { name: g.name, stages }
}

let builtin: ServerDefaultingTable | undefined

/** The built-in table, read on first use. */
export function builtinServerDefaulting(): ServerDefaultingTable {
  builtin ??= parseServerDefaulting(
    BUILTIN_SERVER_DEFAULTING,
    readFileSync(BUILTIN_SERVER_DEFAULTING, 'utf8'),
  )
  return builtin
}

/** `v1.N` as a release the table covers, or what is wrong with it (for the flag's error). */
export function asServerRelease(
  text: string,
  table: ServerDefaultingTable = builtinServerDefaulting(),
): number | string {
  const m = /^v?1\.(\d+)$/.exec(text.trim())
  const range = `v1.${table.oldest} to v1.${table.newest}`
  if (!m) return `expected a Kubernetes release like v1.26 (${range}), got '${text}'`
  const minor = Number(m[1])
  if (minor < table.oldest || minor > table.newest)
    return `v1.${minor} is not covered: the releases known are ${range} (policies/data/server-defaulting.yaml)`
  return minor
}

/** The changes of release v1.`minor`, compiled once. */
export function serverDefaulting(
  minor: number,
  table: ServerDefaultingTable = builtinServerDefaulting(),
): ServerDefaulting {
  return new ServerDefaulting(minor, table.entries)
}
