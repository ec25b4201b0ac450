/**
 * The fields a k8s_audit condition or output can read: every `ka.*` field of the k8saudit plugin
 * (plugins/k8saudit/README.md), the json plugin's `json.*`/`jevt.*` fields, the legacy `jevt.time`
 * fields of Falco's built-in k8s audit support, and the generic `evt.time`/`evt.rawtime`/`evt.source`.
 *
 * Extraction follows the plugins' semantics: a value is a string (JSON that is not a string is written
 * as compact JSON); list fields give a list of strings; a field the event does not carry is *missing*
 * (undefined), and so is a list field with no values. Every `ka.*` field is missing on a JSON that has
 * no `auditID` (the plugin discards it as not an audit event). A missing field makes every comparison
 * false (so `not <comparison>` true) and `exists` false; the output prints it as `<NA>`.
 */

/** A cache slot not filled yet (undefined is a value: the field is missing). */
export const UNSET: unique symbol = Symbol('unset')

/** What one evaluation reads: the event, its time, and a per-event cache of extracted fields. */
export class EvalCtx {
  private ns: string | undefined
  readonly cache: unknown[]

  constructor(
    readonly ev: Readonly<Record<string, unknown>>,
    slots: number,
    private readonly now: () => number,
  ) {
    this.cache = new Array(slots).fill(UNSET)
  }

  /** the event's time, ns since the epoch, as a decimal string (stageTimestamp, else now); computed once */
  get rawtime(): string {
    if (this.ns === undefined) {
      this.ns =
        timeToNs(this.ev.stageTimestamp) ??
        timeToNs(this.ev.requestReceivedTimestamp) ??
        (BigInt(Math.trunc(this.now())) * 1_000_000n).toString()
    }
    return this.ns
  }

  /** the event's time, ISO 8601 (ms) */
  get iso(): string {
    return nsToIsoMs(this.rawtime)
  }
}

function nsToIsoMs(ns: string): string {
  return new Date(Number(ns.length > 6 ? ns.slice(0, -6) : '0')).toISOString()
}

export type FieldValue = string | readonly string[] | undefined

type ArgMode = 'none' | 'key' | 'index'
type Extractor = (ev: Readonly<Record<string, unknown>>, arg: string | undefined, index: number) => FieldValue

type FieldDef =
  | { readonly list: boolean; readonly arg: ArgMode; readonly audit: true; readonly extract: Extractor }
  | {
      readonly list: boolean
      readonly arg: ArgMode
      readonly audit: false
      readonly make: (arg: string | undefined) => (ctx: EvalCtx) => FieldValue
    }

/** A field ready to read: compile.ts calls `read` through its cache slot. */
export interface ResolvedField {
  readonly key: string
  readonly list: boolean
  readonly read: (ctx: EvalCtx) => FieldValue
}

const NA = Symbol('not available')
type Json = unknown
const NO_INDEX = -1

function getKey(v: Json, k: string): Json {
  if (v === null || typeof v !== 'object') return undefined
  if (Array.isArray(v)) {
    if (!/^[0-9]+$/.test(k)) return undefined
    return v[Number(k)]
  }
  return Object.hasOwn(v, k) ? (v as Record<string, Json>)[k] : undefined
}

function getPath(v: Json, ...keys: string[]): Json {
  let cur = v
  for (const k of keys) {
    cur = getKey(cur, k)
    if (cur === undefined) return undefined
  }
  return cur
}

/** A JSON value as the plugins write it: strings as they are, anything else as compact JSON. */
export function jsonAsString(v: Json): string {
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/**
 * The plugin's getValuesRecursive: walks `keys`, fanning out over arrays met on the way (or taking
 * element `index` of them). An element without the rest of the path contributes an `undefined`.
 */
function valuesRecursive(v: Json, index: number, keys: readonly string[], from = 0): Json[] | typeof NA {
  let cur = v
  for (let i = from; i < keys.length; i++) {
    if (Array.isArray(cur)) {
      if (index === NO_INDEX) {
        const res: Json[] = []
        for (const item of cur) {
          const r = valuesRecursive(item, index, keys, i)
          if (r === NA) res.push(undefined)
          else res.push(...r)
        }
        return res
      }
      if (index >= cur.length) return NA
      cur = cur[index]
    }
    const k = keys[i]!
    if (k !== '') cur = getKey(cur, k)
    if (cur === undefined) return NA
  }
  return [cur]
}

function skipNil(values: Json[]): string[] {
  const out: string[] = []
  for (const v of values) if (v !== undefined) out.push(jsonAsString(v))
  return out
}

function nonEmpty(values: string[] | undefined): readonly string[] | undefined {
  return values === undefined || values.length === 0 ? undefined : values
}

/** the plugin's extractFromKeys, for a scalar field */
function scalarAt(...keys: string[]): Extractor {
  return (ev) => {
    const v = getPath(ev, ...keys)
    return v === undefined ? undefined : jsonAsString(v)
  }
}

/** the plugin's extractFromKeys, for a list field: the value must be an array */
function listAt(...keys: string[]): Extractor {
  return (ev) => {
    const v = getPath(ev, ...keys)
    if (!Array.isArray(v)) return undefined
    return nonEmpty(v.map(jsonAsString))
  }
}

function strictStrings(values: Json[]): string[] | undefined {
  const out: string[] = []
  for (const v of values) {
    if (v === undefined) return undefined
    out.push(jsonAsString(v))
  }
  return out
}

function containerValues(ev: Json, list: string, index: number, ...sub: string[]): Json[] | typeof NA {
  return valuesRecursive(ev, index, ['requestObject', 'spec', list, ...sub])
}

function containerImages(ev: Json, list: string, index: number): string[] | undefined {
  const arr = containerValues(ev, list, index, 'image')
  return arr === NA ? undefined : strictStrings(arr)
}

function repository(image: string): string {
  return image.split(':')[0]!.split('@')[0]!
}

function joinedArrays(ev: Json, list: string, index: number, key: string): readonly string[] | undefined {
  const arr = containerValues(ev, list, index, key)
  if (arr === NA) return undefined
  const out: string[] = []
  for (const v of arr) {
    if (v === undefined) continue
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return undefined
    out.push(v.join(' '))
  }
  return nonEmpty(out)
}

function containerField(list: string, field: string): Extractor {
  const plain = (...sub: string[]): Extractor => {
    return (ev, _arg, index) => {
      const arr = containerValues(ev, list, index, ...sub)
      return arr === NA ? undefined : nonEmpty(skipNil(arr))
    }
  }
  // as documented: the container's securityContext value, else the pod's, else 0 (the plugin's code
  // reads spec.<key> and <container>.<key>, which no Pod has)
  const effective = (key: string): Extractor => {
    return (ev, _arg, index) => {
      const pod = getPath(ev, 'requestObject', 'spec', 'securityContext', key)
      const podId = pod === undefined ? '0' : jsonAsString(pod)
      const arr = containerValues(ev, list, index, 'securityContext', key)
      if (arr === NA) return undefined
      return nonEmpty(arr.map((v) => (v === undefined ? podId : jsonAsString(v))))
    }
  }
  switch (field) {
    case 'args':
      return (ev, _a, index) => joinedArrays(ev, list, index, 'args')
    case 'command':
      return (ev, _a, index) => joinedArrays(ev, list, index, 'command')
    case 'name':
      return (ev, _a, index) => {
        const arr = containerValues(ev, list, index, 'name')
        return arr === NA ? undefined : nonEmpty(strictStrings(arr))
      }
    case 'image':
      return (ev, _a, index) => nonEmpty(containerImages(ev, list, index))
    case 'image.repository':
      return (ev, _a, index) => nonEmpty(containerImages(ev, list, index)?.map(repository))
    case 'host_port':
      return (ev, _a, index) => {
        const arr = containerValues(ev, list, index, 'ports')
        if (arr === NA) return undefined
        const out: string[] = []
        for (const ports of arr) {
          if (ports === undefined) continue
          if (!Array.isArray(ports)) return undefined
          for (const port of ports) {
            const hp = getKey(port, 'hostPort')
            const cp = getKey(port, 'containerPort')
            if (hp !== undefined) out.push(jsonAsString(hp))
            else if (cp !== undefined) out.push(jsonAsString(cp))
          }
        }
        return nonEmpty(out)
      }
    case 'privileged':
      return plain('securityContext', 'privileged')
    case 'allow_privilege_escalation':
      return plain('securityContext', 'allowPrivilegeEscalation')
    case 'read_only_fs':
      return plain('securityContext', 'readOnlyRootFilesystem')
    case 'run_as_user':
      return plain('securityContext', 'runAsUser')
    case 'eff_run_as_user':
      return effective('runAsUser')
    case 'run_as_group':
      return plain('securityContext', 'runAsGroup')
    case 'eff_run_as_group':
      return effective('runAsGroup')
    case 'proc_mount':
      return plain('securityContext', 'procMount')
    case 'add_capabilities':
      return plain('securityContext', 'capabilities', 'add')
    default:
      throw new Error(`unknown container field ${field}`)
  }
}

function subjectNames(kind: string, namespaced = false): Extractor {
  return (ev) => {
    const subjects = getPath(ev, 'requestObject', 'subjects')
    if (!Array.isArray(subjects)) return undefined
    const out: string[] = []
    for (const s of subjects) {
      const k = getKey(s, 'kind')
      const n = getKey(s, 'name')
      if (k === undefined || n === undefined || jsonAsString(k) !== kind) continue
      if (namespaced) {
        const ns = getKey(s, 'namespace')
        if (ns === undefined) continue
        out.push(`${jsonAsString(ns)}:${jsonAsString(n)}`)
      } else out.push(jsonAsString(n))
    }
    return nonEmpty(out)
  }
}

function rulesField(...keys: string[]): Extractor {
  return (ev, _arg, index) => {
    const arr = valuesRecursive(ev, index, keys)
    if (arr === NA) return undefined
    const out: string[] = []
    for (const v of arr) if (Array.isArray(v)) out.push(...skipNil(v))
    return nonEmpty(out)
  }
}

/** RFC 3339 time to ns since the epoch, as a decimal string; undefined when it does not parse. */
export function timeToNs(ts: unknown): string | undefined {
  if (typeof ts !== 'string') return undefined
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(ts)
  if (m === null) return undefined
  const ms = Date.parse(`${m[1]}${m[3]}`)
  if (Number.isNaN(ms)) return undefined
  const frac = (m[2] ?? '').padEnd(9, '0')
  return (BigInt(ms / 1000) * 1_000_000_000n + BigInt(frac)).toString()
}

function nsToClock(ns: string): string {
  const big = BigInt(ns)
  const d = new Date(Number(big / 1_000_000n))
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  const frac = (big % 1_000_000_000n).toString().padStart(9, '0')
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${frac}`
}

function nsToIso(ns: string): string {
  const big = BigInt(ns)
  const d = new Date(Number(big / 1_000_000n))
  const frac = (big % 1_000_000_000n).toString().padStart(9, '0')
  return `${d.toISOString().slice(0, 19)}.${frac}Z`
}

/** The json plugin's JSON pointer (RFC 6901, `~1` is '/', `~0` is '~'), split once. */
function jsonPointer(arg: string | undefined): (ev: Json) => FieldValue {
  if (arg === undefined || arg.length === 0) return (ev) => JSON.stringify(ev)
  const p = arg.startsWith('/') ? arg.slice(1) : arg
  const keys = p.split('/').map((raw) => raw.replaceAll('~1', '/').replaceAll('~0', '~'))
  return (ev) => {
    let cur: Json = ev
    for (const k of keys) {
      cur = getKey(cur, k)
      if (cur === undefined) return undefined
    }
    return jsonAsString(cur)
  }
}

const FIELDS = new Map<string, FieldDef>()

function ka(name: string, extract: Extractor, opts: { list?: boolean; arg?: ArgMode } = {}): void {
  FIELDS.set(name, { list: opts.list ?? false, arg: opts.arg ?? 'none', audit: true, extract })
}
/** a field read from the evaluation context; `make` builds the reader for an argument, once */
function ctxField(
  name: string,
  make: (arg: string | undefined) => (ctx: EvalCtx) => FieldValue,
  arg: ArgMode = 'none',
) {
  FIELDS.set(name, { list: false, arg, audit: false, make })
}
ka('ka.auditid', scalarAt('auditID'))
ka('ka.stage', scalarAt('stage'))
ka('ka.auth.decision', scalarAt('annotations', 'authorization.k8s.io/decision'))
ka('ka.auth.reason', scalarAt('annotations', 'authorization.k8s.io/reason'))
ka('ka.auth.openshift.decision', scalarAt('annotations', 'authentication.openshift.io/decision'))
ka('ka.auth.openshift.username', scalarAt('annotations', 'authentication.openshift.io/username'))
ka(
  'ka.validations.admission.policy.failure',
  scalarAt('annotations', 'validation.policy.admission.k8s.io/validation_failure'),
)
ka('ka.security.pod.violations', scalarAt('annotations', 'pod-security.kubernetes.io/audit-violations'))
ka('ka.user.name', scalarAt('user', 'username'))
ka('ka.user.groups', listAt('user', 'groups'), { list: true })
ka('ka.impuser.name', scalarAt('impersonatedUser', 'username'))
ka('ka.verb', scalarAt('verb'))
ka('ka.uri', scalarAt('requestURI'))
ka(
  'ka.uri.param',
  (ev, arg) => {
    const uri = getKey(ev, 'requestURI')
    if (uri === undefined || arg === undefined) return undefined
    try {
      const v = new URL(jsonAsString(uri), 'http://localhost').searchParams.get(arg)
      return v ?? undefined
    } catch {
      return undefined
    }
  },
  { arg: 'key' },
)
ka('ka.target.name', scalarAt('objectRef', 'name'))
ka('ka.target.namespace', scalarAt('objectRef', 'namespace'))
ka('ka.target.resource', scalarAt('objectRef', 'resource'))
ka('ka.target.subresource', scalarAt('objectRef', 'subresource'))
ka('ka.target.pod.name', (ev) => {
  const ref = getKey(ev, 'objectRef')
  if (getKey(ref, 'resource') !== 'pods') return undefined
  const sub = getKey(ref, 'subresource')
  if (typeof sub === 'string' && sub !== '') return undefined
  return scalarAt('responseObject', 'metadata', 'name')(ev, undefined, NO_INDEX)
})
ka('ka.req.binding.subjects', listAt('requestObject', 'subjects'), { list: true })
ka('ka.req.binding.subjects.user_names', subjectNames('User'), { list: true })
ka('ka.req.binding.subjects.serviceaccount_names', subjectNames('ServiceAccount'), { list: true })
ka('ka.req.binding.subjects.serviceaccount_ns_names', subjectNames('ServiceAccount', true), { list: true })
ka('ka.req.binding.subjects.group_names', subjectNames('Group'), { list: true })
ka('ka.req.binding.role', scalarAt('requestObject', 'roleRef', 'name'))
// deprecated: the plugin always answers "true"
ka('ka.req.binding.subject.has_name', () => 'true', { arg: 'key' })
ka('ka.req.configmap.name', scalarAt('objectRef', 'name'))
ka('ka.req.configmap.obj', scalarAt('requestObject', 'data'))
ka('ka.req.container.image', (ev) => containerImages(ev, 'containers', 0)?.[0])
ka('ka.req.container.image.repository', (ev) => {
  const first = containerImages(ev, 'containers', 0)?.[0]
  return first === undefined ? undefined : repository(first)
})
ka('ka.req.pod.host_ipc', scalarAt('requestObject', 'spec', 'hostIPC'))
ka('ka.req.pod.host_network', scalarAt('requestObject', 'spec', 'hostNetwork'))
ka('ka.req.container.host_network', scalarAt('requestObject', 'spec', 'hostNetwork'))
ka('ka.req.pod.host_pid', scalarAt('requestObject', 'spec', 'hostPID'))
ka('ka.req.container.privileged', (ev) => {
  const arr = containerValues(ev, 'containers', NO_INDEX, 'securityContext', 'privileged')
  if (arr === NA) return undefined
  return arr.some((v) => v === true) ? 'true' : 'false'
})
ka('ka.req.pod.run_as_user', scalarAt('requestObject', 'spec', 'securityContext', 'runAsUser'))
ka('ka.req.pod.run_as_group', scalarAt('requestObject', 'spec', 'securityContext', 'runAsGroup'))
ka('ka.req.role.rules', listAt('requestObject', 'rules'), { list: true })
for (const k of ['apiGroups', 'nonResourceURLs', 'verbs', 'resources']) {
  ka(`ka.req.role.rules.${k}`, rulesField('requestObject', 'rules', k), { list: true, arg: 'index' })
}
ka('ka.req.pod.fs_group', scalarAt('requestObject', 'spec', 'securityContext', 'fsGroup'))
ka(
  'ka.req.pod.supplemental_groups',
  listAt('requestObject', 'spec', 'securityContext', 'supplementalGroups'),
  {
    list: true,
  },
)
ka('ka.req.service.type', scalarAt('requestObject', 'spec', 'type'))
ka(
  'ka.req.service.ports',
  (ev, _a, index) => {
    const arr = valuesRecursive(ev, index, ['requestObject', 'spec', 'ports'])
    return arr === NA ? undefined : nonEmpty(skipNil(arr))
  },
  { list: true, arg: 'index' },
)
ka(
  'ka.req.pod.volumes.hostpath',
  (ev, _a, index) => {
    const arr = valuesRecursive(ev, index, ['requestObject', 'spec', 'volumes', 'hostPath', 'path'])
    return arr === NA ? undefined : nonEmpty(skipNil(arr))
  },
  { list: true, arg: 'index' },
)
// deprecated: "true" when a hostPath volume is the argument, or starts with it when it ends in '*'
ka(
  'ka.req.volume.hostpath',
  (ev, arg) => {
    const arr = valuesRecursive(ev, NO_INDEX, ['requestObject', 'spec', 'volumes', 'hostPath', 'path'])
    if (arr === NA || arg === undefined) return undefined
    const prefix = arg.endsWith('*') ? arg.slice(0, -1) : undefined
    for (const v of skipNil(arr)) {
      if ((prefix !== undefined && v.startsWith(prefix)) || v === arg) return 'true'
    }
    return 'false'
  },
  { arg: 'key' },
)
ka(
  'ka.req.pod.volumes.flexvolume_driver',
  (ev, _a, index) => {
    const arr = valuesRecursive(ev, index, ['requestObject', 'spec', 'volumes', 'flexVolume', 'driver'])
    return arr === NA ? undefined : nonEmpty(skipNil(arr))
  },
  { list: true, arg: 'index' },
)
ka(
  'ka.req.pod.volumes.volume_type',
  (ev, _a, index) => {
    const arr = valuesRecursive(ev, index, ['requestObject', 'spec', 'volumes', ''])
    if (arr === NA) return undefined
    const out: string[] = []
    for (const v of arr) {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        for (const k of Object.keys(v)) if (k !== 'name') out.push(k)
      }
    }
    return nonEmpty(out)
  },
  { list: true, arg: 'index' },
)
ka('ka.resp.name', scalarAt('responseObject', 'metadata', 'name'))
ka('ka.response.code', scalarAt('responseStatus', 'code'))
ka('ka.response.reason', scalarAt('responseStatus', 'reason'))
ka('ka.useragent', scalarAt('userAgent'))
ka(
  'ka.sourceips',
  (ev, _a, index) => {
    const ips = getKey(ev, 'sourceIPs')
    if (!Array.isArray(ips)) return undefined
    if (index === NO_INDEX) return nonEmpty(skipNil(ips))
    return index < ips.length ? nonEmpty(skipNil([ips[index]])) : undefined
  },
  { list: true, arg: 'index' },
)
ka('ka.cluster.name', scalarAt('annotations', 'cluster_name'))

const CONTAINER_FIELDS = [
  'args',
  'command',
  'name',
  'image',
  'image.repository',
  'privileged',
  'allow_privilege_escalation',
  'read_only_fs',
  'run_as_user',
  'eff_run_as_user',
  'run_as_group',
  'eff_run_as_group',
  'proc_mount',
  'add_capabilities',
]
for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
  const fields = list === 'ephemeralContainers' ? CONTAINER_FIELDS : [...CONTAINER_FIELDS, 'host_port']
  for (const f of fields) {
    ka(`ka.req.pod.${list}.${f}`, containerField(list, f), { list: true, arg: 'index' })
  }
}

for (const prefix of ['json', 'jevt']) {
  ctxField(
    `${prefix}.value`,
    (arg) => {
      const get = jsonPointer(arg)
      return (ctx) => get(ctx.ev)
    },
    'key',
  )
  ctxField(`${prefix}.obj`, () => (ctx) => JSON.stringify(ctx.ev, null, 2))
  ctxField(`${prefix}.rawtime`, () => (ctx) => ctx.rawtime)
}
// Falco's built-in k8s audit support (before the plugins) had these; kept for old rules files
ctxField('jevt.time', () => (ctx) => nsToClock(ctx.rawtime))
ctxField('jevt.time.iso8601', () => (ctx) => nsToIso(ctx.rawtime))
ctxField('evt.time', () => (ctx) => nsToClock(ctx.rawtime))
ctxField('evt.time.iso8601', () => (ctx) => nsToIso(ctx.rawtime))
ctxField('evt.rawtime', () => (ctx) => ctx.rawtime)
ctxField('evt.source', () => () => 'k8s_audit')

/** Every field name this engine knows. */
export function fieldNames(): string[] {
  return [...FIELDS.keys()]
}

export function isField(name: string): boolean {
  return FIELDS.has(name)
}

/** The field `name[arg]` ready to read, or why it cannot be read (as Falco words it). */
export function resolveField(name: string, arg: string | undefined): ResolvedField | string {
  const def = FIELDS.get(name)
  if (def === undefined) return `filter_check called with nonexistent field ${name}`
  let index = NO_INDEX
  if (def.arg === 'none' && arg !== undefined) return `filter ${name} does not accept an argument`
  if (def.arg === 'key' && (arg === undefined || arg === '')) return `filter ${name} requires an argument`
  if (def.arg === 'index' && arg !== undefined) {
    if (!/^[0-9]+$/.test(arg)) return `filter ${name} needs a numeric index argument, got '${arg}'`
    index = Number(arg)
  }
  const key = arg === undefined ? name : `${name}[${arg}]`
  let read: (ctx: EvalCtx) => FieldValue
  if (!def.audit) read = def.make(arg)
  else {
    const f = def.extract
    read = (ctx) => (ctx.ev.auditID === undefined ? undefined : f(ctx.ev, arg, index))
  }
  return { key, list: def.list, read }
}
