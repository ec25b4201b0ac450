/**
 * What checks see of a workload's observed usage: CEL's `usage` (docs/cel.md#observed-usage). A scan
 * given a usage report (`plimsoll scan --usage report.json`, the JSON of `plimsoll usage --format json`)
 * matches each workload of the input to the report's containers by namespace, kind and name, and checks
 * can then compare what a manifest asks for with what its containers were seen to use.
 *
 * Without a report, or for a workload the report does not know, `usage` is null: checks over it skip.
 * The value is made once per workload and shared (CEL never changes a value); figures are doubles (CPU
 * in cores, memory in bytes, times in seconds), counts ints.
 */
import type { Resource } from '../resources/types.js'
import type {
  ContainerUsage,
  HistoryExtent,
  ResourceUsage,
  UsageReport,
  UsageStats,
  WorkloadKind,
} from '../usage/types.js'
import { Quantity } from './cel/quantity.js'

/** What the engine asks for a resource's `usage`: a CEL value, or null when none is known. */
export interface UsageSource {
  usageOf(resource: Pick<Resource, 'group' | 'kind' | 'namespace' | 'name'>): unknown
}

/** The API groups each workload kind of a usage report is served in. */
const KIND_GROUPS: Record<WorkloadKind, readonly string[]> = {
  Deployment: ['apps', 'extensions'],
  StatefulSet: ['apps'],
  DaemonSet: ['apps', 'extensions'],
  ReplicaSet: ['apps', 'extensions'],
  Job: ['batch'],
  CronJob: ['batch'],
  Pod: [''],
}

function isWorkloadKind(kind: string): kind is WorkloadKind {
  return Object.hasOwn(KIND_GROUPS, kind)
}

const key = (kind: string, namespace: string, name: string) => `${kind}\u0000${namespace}\u0000${name}`

/** A report's window and state, which every workload's value carries. */
interface ReportFacts {
  cluster: string
  from: string
  to: string
  partial: boolean
}

/** The usage of one report's workloads, by kind, namespace and name; values made on first use. */
export class UsageIndex implements UsageSource {
  /** key -> the workload's containers, and the report they came from */
  private readonly byWorkload = new Map<string, { facts: ReportFacts; containers: ContainerUsage[] }>()
  /** kind and name -> the namespaces that have such a workload (for manifests without a namespace) */
  private readonly namespacesOf = new Map<string, Set<string>>()
  private readonly values = new Map<string, unknown>()

  /**
   * The reports' workloads; with `cluster`, only that cluster's. A workload (namespace, kind, name) that
   * two clusters report is ambiguous: a UsageDataError that asks for `cluster`.
   */
  constructor(reports: readonly UsageReport[], cluster?: string) {
    const clusterOf = new Map<string, string>()
    for (const report of reports) {
      const facts: ReportFacts = {
        cluster: report.cluster,
        from: report.from,
        to: report.to,
        partial: report.gaps.length > 0,
      }
      for (const c of report.containers) {
        const w = c.workload
        const from = w.cluster || report.cluster
        if (cluster !== undefined && from !== cluster) continue
        const k = key(w.kind, w.namespace, w.name)
        const seen = clusterOf.get(k)
        if (seen !== undefined && seen !== from)
          throw new UsageDataError(
            '',
            `${w.kind} ${w.namespace}/${w.name} is in the usage of clusters '${seen}' and '${from}': choose one (--usage-cluster)`,
          )
        clusterOf.set(k, from)
        let entry = this.byWorkload.get(k)
        if (!entry) {
          entry = { facts: { ...facts, cluster: from }, containers: [] }
          this.byWorkload.set(k, entry)
          const byName = `${w.kind}\u0000${w.name}`
          let namespaces = this.namespacesOf.get(byName)
          if (!namespaces) {
            namespaces = new Set()
            this.namespacesOf.set(byName, namespaces)
          }
          namespaces.add(w.namespace)
        }
        entry.containers.push(c)
      }
    }
  }

  /** How many workloads the index knows. */
  get size(): number {
    return this.byWorkload.size
  }

  /**
   * The usage of a workload of the input: its namespace, kind and name in the report. A manifest that
   * names no namespace (left to `kubectl -n`) matches the one workload of that kind and name in the
   * report, if only one namespace has it.
   */
  usageOf(resource: Pick<Resource, 'group' | 'kind' | 'namespace' | 'name'>): unknown {
    const { kind, name } = resource
    if (!isWorkloadKind(kind) || !KIND_GROUPS[kind].includes(resource.group)) return null
    let namespace = resource.namespace
    if (namespace === undefined || namespace === '') {
      const namespaces = this.namespacesOf.get(`${kind}\u0000${name}`)
      if (namespaces?.size !== 1) return null
      namespace = [...namespaces][0]!
    }
    const k = key(kind, namespace, name)
    let value = this.values.get(k)
    if (value === undefined) {
      const entry = this.byWorkload.get(k)
      value = entry ? workloadValue(entry.facts, { kind, namespace, name }, entry.containers) : null
      this.values.set(k, value)
    }
    return value
  }
}

/** One value for every resource: a check's example. */
export class FixedUsage implements UsageSource {
  constructor(private readonly value: unknown) {}

  usageOf(): unknown {
    return this.value
  }
}

function statsValue(s: UsageStats): Record<string, unknown> {
  const out: Record<string, unknown> = { p50: s.p50, p95: s.p95, p99: s.p99, max: s.max }
  if (s.mean !== undefined) out.mean = s.mean
  return out
}

function resourceValue(r: ResourceUsage): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (r.usage) out.usage = statsValue(r.usage)
  if (r.request !== undefined) out.request = r.request
  if (r.limit !== undefined) out.limit = r.limit
  return out
}

function historyValue(h: HistoryExtent): Record<string, unknown> {
  const seconds = (Date.parse(h.to) - Date.parse(h.from)) / 1000
  return {
    from: h.from,
    to: h.to,
    samples: BigInt(h.samples),
    seconds: Number.isFinite(seconds) && seconds > 0 ? seconds : 0,
  }
}

/** A container's usage as CEL sees it (docs/cel.md#observed-usage): plain maps, doubles and ints. */
export function containerValue(c: ContainerUsage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: c.container,
    pods: BigInt(c.pods),
    maxReplicas: BigInt(c.maxReplicas),
    cpu: resourceValue(c.cpu),
    memory: resourceValue(c.memory),
    restarts: BigInt(c.restarts),
    oomKills: c.oomKills.map((k) => ({ at: k.at, memory: k.memory })),
    runningSeconds: c.runningSeconds,
    history: historyValue(c.history),
  }
  if (c.team !== undefined) out.team = c.team
  if (c.cpuThrottled !== undefined) out.cpuThrottled = c.cpuThrottled
  if (c.startedAt !== undefined) out.startedAt = c.startedAt
  if (c.hpa)
    out.hpa = {
      resources: [...c.hpa.resources],
      minReplicas: BigInt(c.hpa.minReplicas),
      maxReplicas: BigInt(c.hpa.maxReplicas),
    }
  return out
}

function workloadValue(
  facts: ReportFacts,
  workload: { kind: string; namespace: string; name: string },
  containers: readonly ContainerUsage[],
): Record<string, unknown> {
  const byName: Record<string, unknown> = {}
  for (const c of containers) byName[c.container] = containerValue(c)
  return {
    cluster: facts.cluster,
    from: facts.from,
    to: facts.to,
    partial: facts.partial,
    workload: { ...workload },
    containers: byName,
  }
}

/* -------------------------------------------------------------------------------------------------
 * Reading usage written by hand (a check's example) or by `plimsoll usage --format json` (a file).
 * ------------------------------------------------------------------------------------------------- */

/** A problem in usage data, with the path to the offending field (`containers[2].cpu.usage.p95`). */
export class UsageDataError extends Error {
  constructor(
    readonly at: string,
    readonly problem: string,
  ) {
    super(at ? `${at}: ${problem}` : problem)
    this.name = 'UsageDataError'
  }
}

type Raw = Record<string, unknown>

function isMap(v: unknown): v is Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

const join = (at: string, field: string | number) =>
  typeof field === 'number' ? `${at}[${field}]` : at ? `${at}.${field}` : field

function mapAt(v: unknown, at: string): Raw {
  if (!isMap(v)) throw new UsageDataError(at, `expected a map, got ${describe(v)}`)
  return v
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v
}

/**
 * A number: JSON's, or (for examples, written by hand) a quantity such as `900Mi` or `250m`; `bigint`
 * for YAML's integers as the check loader may give them.
 */
function numberAt(v: unknown, at: string, quantities: boolean): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'bigint') return Number(v)
  if (quantities && typeof v === 'string') {
    const q = Quantity.parse(v)
    if (q) return q.asApproximateFloat()
  }
  throw new UsageDataError(
    at,
    `expected a number${quantities ? ' or a quantity (900Mi, 250m)' : ''}, got ${describe(v)}${typeof v === 'string' ? ` '${v}'` : ''}`,
  )
}

function optionalNumber(obj: Raw, field: string, at: string, quantities: boolean): number | undefined {
  const v = obj[field]
  return v === undefined || v === null ? undefined : numberAt(v, join(at, field), quantities)
}

function stringAt(obj: Raw, field: string, at: string, fallback?: string): string {
  const v = obj[field]
  if (typeof v === 'string') return v
  if (v === undefined && fallback !== undefined) return fallback
  throw new UsageDataError(join(at, field), `expected a string, got ${describe(v)}`)
}

function readStats(v: unknown, at: string, quantities: boolean): UsageStats {
  const s = mapAt(v, at)
  const stats: { p50: number; p95: number; p99: number; max: number; mean?: number } = {
    p50: numberAt(s.p50, join(at, 'p50'), quantities),
    p95: numberAt(s.p95, join(at, 'p95'), quantities),
    p99: numberAt(s.p99, join(at, 'p99'), quantities),
    max: numberAt(s.max, join(at, 'max'), quantities),
  }
  const mean = optionalNumber(s, 'mean', at, quantities)
  if (mean !== undefined) stats.mean = mean
  return stats
}

function readResource(v: unknown, at: string, quantities: boolean): ResourceUsage {
  if (v === undefined || v === null) return { usage: undefined, request: undefined, limit: undefined }
  const r = mapAt(v, at)
  return {
    usage:
      r.usage === undefined || r.usage === null
        ? undefined
        : readStats(r.usage, join(at, 'usage'), quantities),
    request: optionalNumber(r, 'request', at, quantities),
    limit: optionalNumber(r, 'limit', at, quantities),
  }
}

const EPOCH = '1970-01-01T00:00:00.000Z'

/**
 * One container of a report, in the shape of ContainerUsage (src/usage/types.ts). Fields an example
 * leaves out take neutral values: one pod, no restarts, no OOM kill, no history.
 */
function readContainer(
  raw: unknown,
  at: string,
  workload: ContainerUsage['workload'],
  quantities: boolean,
): ContainerUsage {
  const c = mapAt(raw, at)
  const lenient = quantities
  const count = (field: string, fallback: number) => {
    const n = optionalNumber(c, field, at, false)
    if (n === undefined) {
      if (lenient) return fallback
      throw new UsageDataError(join(at, field), 'expected a number, got undefined')
    }
    if (!Number.isInteger(n) || n < 0)
      throw new UsageDataError(join(at, field), 'expected a whole number >= 0')
    return n
  }
  const oomRaw = c.oomKills ?? (lenient ? [] : undefined)
  if (!Array.isArray(oomRaw))
    throw new UsageDataError(join(at, 'oomKills'), `expected a list, got ${describe(oomRaw)}`)
  const oomKills = oomRaw.map((k, i) => {
    const kat = join(join(at, 'oomKills'), i)
    const kill = mapAt(k, kat)
    return {
      at: stringAt(kill, 'at', kat, EPOCH),
      memory: numberAt(kill.memory, join(kat, 'memory'), quantities),
    }
  })
  const historyRaw = c.history ?? (lenient ? {} : undefined)
  const h = mapAt(historyRaw, join(at, 'history'))
  const hat = join(at, 'history')
  const samples = optionalNumber(h, 'samples', hat, false)
  const history: HistoryExtent = {
    from: stringAt(h, 'from', hat, lenient ? EPOCH : undefined),
    to: stringAt(h, 'to', hat, lenient ? EPOCH : undefined),
    samples: samples ?? (lenient ? 0 : numberAt(undefined, join(hat, 'samples'), false)),
  }
  // An example may give the history as a length: `history: {days: 14}`.
  if (lenient && h.days !== undefined) {
    const days = numberAt(h.days, join(hat, 'days'), false)
    const to = Date.parse('2026-01-01T00:00:00Z')
    Object.assign(history, {
      from: new Date(to - days * 86_400_000).toISOString(),
      to: new Date(to).toISOString(),
      samples: samples ?? Math.round((days * 86_400) / 300),
    })
  }
  const out: {
    -readonly [K in keyof ContainerUsage]: ContainerUsage[K]
  } = {
    workload,
    container: stringAt(c, 'container', at),
    pods: count('pods', 1),
    maxReplicas: count('maxReplicas', 1),
    cpu: readResource(c.cpu, join(at, 'cpu'), quantities),
    memory: readResource(c.memory, join(at, 'memory'), quantities),
    restarts: count('restarts', 0),
    oomKills,
    runningSeconds: optionalNumber(c, 'runningSeconds', at, false) ?? 0,
    history,
  }
  if (typeof c.team === 'string') out.team = c.team
  const throttled = optionalNumber(c, 'cpuThrottled', at, false)
  if (throttled !== undefined) out.cpuThrottled = throttled
  if (typeof c.startedAt === 'string') out.startedAt = c.startedAt
  if (c.hpa !== undefined && c.hpa !== null) {
    const hpaAt = join(at, 'hpa')
    const hpa = mapAt(c.hpa, hpaAt)
    const resources = hpa.resources ?? []
    if (!Array.isArray(resources) || resources.some((r) => r !== 'cpu' && r !== 'memory'))
      throw new UsageDataError(join(hpaAt, 'resources'), "expected a list of 'cpu' and 'memory'")
    out.hpa = {
      resources: resources as ('cpu' | 'memory')[],
      minReplicas: optionalNumber(hpa, 'minReplicas', hpaAt, false) ?? 1,
      maxReplicas: optionalNumber(hpa, 'maxReplicas', hpaAt, false) ?? 1,
    }
  }
  return out
}

const WORKLOAD_KINDS = Object.keys(KIND_GROUPS)

function readWorkload(v: unknown, at: string, cluster: string): ContainerUsage['workload'] {
  const w = mapAt(v, at)
  const kind = stringAt(w, 'kind', at)
  if (!isWorkloadKind(kind))
    throw new UsageDataError(join(at, 'kind'), `expected one of: ${WORKLOAD_KINDS.join(', ')}`)
  return {
    cluster: stringAt(w, 'cluster', at, cluster),
    namespace: stringAt(w, 'namespace', at),
    kind,
    name: stringAt(w, 'name', at),
  }
}

/**
 * A usage report from parsed JSON, in any of the shapes Plimsoll writes: the JSON of `plimsoll usage
 * --format json` (each container's figures under `usage`, beside its recommendation and cost), a
 * UsageReport itself, or `{report: UsageReport}`. Throws UsageDataError naming the offending field.
 */
export function readUsageReport(json: unknown): UsageReport {
  const top = mapAt(json, '')
  const body = isMap(top.report) && Array.isArray(top.report.containers) ? top.report : top
  const at = body === top ? '' : 'report'
  if (!Array.isArray(body.containers))
    throw new UsageDataError(
      join(at, 'containers'),
      'expected a list of containers: this is not the JSON of `plimsoll usage --format json`',
    )
  const cluster = stringAt(body, 'cluster', at, '')
  const containers = body.containers.map((raw, i) => {
    const cat = join(join(at, 'containers'), i)
    const row = mapAt(raw, cat)
    const workload = readWorkload(row.workload, join(cat, 'workload'), cluster)
    // `plimsoll usage --format json`: {workload, container, usage: {...}, recommendation, cost}
    const flat = isMap(row.usage) && row.cpu === undefined ? { ...row.usage, container: row.container } : row
    return readContainer(
      flat,
      isMap(row.usage) && row.cpu === undefined ? join(cat, 'usage') : cat,
      workload,
      false,
    )
  })
  const gaps = Array.isArray(body.gaps) ? (body.gaps as UsageReport['gaps']) : []
  return {
    cluster,
    from: stringAt(body, 'from', at, ''),
    to: stringAt(body, 'to', at, ''),
    containers,
    nodes: [],
    gaps: body.partial === true && gaps.length === 0 ? [{ what: 'report', message: 'partial' }] : gaps,
    queries: { count: 0, bytes: 0 },
  }
}

/**
 * A check example's `usage` (docs/check-format.md#observed-usage): the containers of the example's
 * workload, each `{container, cpu, memory, ...}` as in a usage report, with quantities allowed
 * (`p99: 900Mi`) and neutral defaults for what is left out. Returns the value CEL sees as `usage`.
 */
export function exampleUsageValue(
  raw: unknown,
  resource: Pick<Resource, 'kind' | 'namespace' | 'name'>,
): Record<string, unknown> {
  const containers = Array.isArray(raw) ? raw : mapAt(raw, 'usage').containers
  if (!Array.isArray(containers)) throw new UsageDataError('usage', 'expected a list of containers')
  const workload = {
    cluster: 'example',
    namespace: resource.namespace ?? 'default',
    kind: (isWorkloadKind(resource.kind) ? resource.kind : 'Pod') as WorkloadKind,
    name: resource.name,
  }
  const list = containers.map((c, i) => readContainer(c, join('usage', i), workload, true))
  const partial = isMap(raw) && raw.partial === true
  return workloadValue(
    {
      cluster: workload.cluster,
      from: list[0]?.history.from ?? EPOCH,
      to: list[0]?.history.to ?? EPOCH,
      partial,
    },
    workload,
    list,
  )
}
