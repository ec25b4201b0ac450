/**
 * `plimsoll usage --patch DIR`: what to apply, per workload, for the containers whose recommendation
 * is sure enough (--min-confidence) and changes something.
 *
 * - `kubectl`: a strategic merge patch per workload, `<namespace>/<kind>-<name>.yaml`, with the
 *   containers' changed resources under the pod template, and `apply.sh` with the `kubectl patch`
 *   commands (`kubectl patch deployment web -n shop --patch-file shop/deployment-web.yaml`).
 * - `kustomize`: a Kustomize Component (`kustomization.yaml`, kind Component) whose `patches` target
 *   each workload, with the same strategic merge patches (and their apiVersion, kind and metadata) in
 *   `patches/`; an overlay takes it with `components: [<dir>]`.
 * - `helm`: a values snippet per workload, `<namespace>/<kind>-<name>.values.yaml`, in the layout
 *   `helm create` gives a chart: `resources:` at the top for a workload with one container; one key per
 *   container name, each with its `resources:`, for a workload with several (charts differ there: move
 *   them where the chart reads them).
 *
 * Only what changes is written: a request or limit recommended at its current value is left out, so the
 * patch never touches what the strategy holds (a resource an HPA scales on). A limit set now that the
 * strategy leaves unset (the `simple` strategy's CPU limit, KRR's view: a CPU limit only throttles) is
 * removed: `null` in a strategic merge patch deletes the key, and in Helm values it deletes the
 * chart's default. Jobs and bare Pods get none (their pod template cannot be changed: change what
 * creates them), nor does a skipped container.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { dump } from 'js-yaml'
import type { Confidence, ResourceName, WorkloadKind, WorkloadRef } from '../types.js'
import {
  atLeast,
  type ContainerRow,
  changeOf,
  changes,
  containerRows,
  type UsageAnalysis,
} from './analysis.js'
import { humanCpu, humanMemory, kubeCpu, kubeMemory } from './units.js'

export const PATCH_FORMATS = ['kubectl', 'kustomize', 'helm'] as const
export type PatchFormat = (typeof PATCH_FORMATS)[number]

export interface PatchOptions {
  readonly format: PatchFormat
  /** containers below this confidence get no patch (default medium) */
  readonly minConfidence: Confidence
}

/** A file to write, relative to the patch directory. */
export interface PatchFile {
  readonly path: string
  readonly text: string
}

export interface PatchPlan {
  readonly files: readonly PatchFile[]
  /** the workloads patched, and their containers */
  readonly workloads: ReadonlyArray<{
    readonly workload: WorkloadRef
    readonly containers: readonly string[]
  }>
  /** containers left out, and why (`shop/Deployment/web/app: confidence low, below medium`) */
  readonly left: ReadonlyArray<{ readonly container: string; readonly reason: string }>
}

/** Where each kind keeps its pod template's spec, and its apiVersion. */
const PATCHABLE: Partial<Record<WorkloadKind, { apiVersion: string; podSpec: readonly string[] }>> = {
  Deployment: { apiVersion: 'apps/v1', podSpec: ['spec', 'template', 'spec'] },
  StatefulSet: { apiVersion: 'apps/v1', podSpec: ['spec', 'template', 'spec'] },
  DaemonSet: { apiVersion: 'apps/v1', podSpec: ['spec', 'template', 'spec'] },
  ReplicaSet: { apiVersion: 'apps/v1', podSpec: ['spec', 'template', 'spec'] },
  CronJob: { apiVersion: 'batch/v1', podSpec: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
}

type Resources = { requests?: Record<string, string>; limits?: Record<string, string | null> }

/** The container's changed resources as a manifest writes them; undefined when nothing changes. */
export function resourcesPatch(row: ContainerRow): Resources | undefined {
  const requests: Record<string, string> = {}
  const limits: Record<string, string | null> = {}
  for (const resource of ['cpu', 'memory'] as ResourceName[]) {
    const change = changeOf(row, resource)
    const quantity = resource === 'cpu' ? kubeCpu : kubeMemory
    if (change.request !== undefined) requests[resource] = quantity(change.request)
    if (change.limit !== undefined) limits[resource] = quantity(change.limit)
    else if (change.removeLimit) limits[resource] = null
  }
  const out: Resources = {
    ...(Object.keys(requests).length > 0 ? { requests } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  }
  return out.requests || out.limits ? out : undefined
}

const fileName = (w: WorkloadRef) => `${w.kind.toLowerCase()}-${w.name}`
const rowKey = (row: ContainerRow) =>
  `${row.usage.workload.namespace}/${row.usage.workload.kind}/${row.usage.workload.name}/${row.usage.container}`

function nest(path: readonly string[], leaf: unknown): Record<string, unknown> {
  let value = leaf
  for (let i = path.length - 1; i >= 0; i--) value = { [path[i]!]: value }
  return value as Record<string, unknown>
}

const yaml = (value: unknown) => dump(value, { lineWidth: -1, noRefs: true })

/** What changes and why, as comments a reviewer reads above the patch. */
function evidence(a: UsageAnalysis, rows: readonly ContainerRow[]): string {
  const lines = [
    `Plimsoll usage: strategy ${a.strategy}, ${a.report.from} to ${a.report.to}, cluster ${a.report.cluster}`,
  ]
  for (const row of rows) {
    const u = row.usage
    const r = row.recommendation
    const show = (resource: ResourceName, fmt: (v: number | undefined) => string) => {
      const c = changeOf(row, resource)
      const parts: string[] = []
      const was = (v: number | undefined) => (v === undefined ? 'none' : fmt(v))
      if (c.request !== undefined) parts.push(`request ${was(u[resource].request)} -> ${fmt(c.request)}`)
      if (c.limit !== undefined) parts.push(`limit ${was(u[resource].limit)} -> ${fmt(c.limit)}`)
      if (c.removeLimit) parts.push(`limit ${fmt(u[resource].limit)} -> none`)
      return parts.length > 0 ? `${resource === 'cpu' ? 'CPU' : 'memory'} ${parts.join(', ')}` : undefined
    }
    const what = [show('cpu', humanCpu), show('memory', humanMemory)].filter(Boolean).join('; ')
    lines.push(
      `${u.container}: ${what} (confidence ${r.confidence}; used p95 ${humanCpu(u.cpu.usage?.p95)} CPU, max ${humanMemory(u.memory.usage?.max)} memory)`,
    )
  }
  return `${lines.map((l) => `# ${l}`).join('\n')}\n`
}

/** The patch plan: which workloads, which files. Pure: writePatches writes them. */
export function planPatches(a: UsageAnalysis, options: PatchOptions): PatchPlan {
  const byWorkload = new Map<string, { workload: WorkloadRef; rows: ContainerRow[] }>()
  const left: Array<{ container: string; reason: string }> = []
  for (const row of containerRows(a)) {
    const r = row.recommendation
    const key = rowKey(row)
    if (r.skipped !== undefined) {
      left.push({ container: key, reason: 'skipped: no usage to recommend from' })
      continue
    }
    if (!changes(changeOf(row, 'cpu')) && !changes(changeOf(row, 'memory'))) continue
    if (!atLeast(r.confidence, options.minConfidence)) {
      left.push({ container: key, reason: `confidence ${r.confidence}, below ${options.minConfidence}` })
      continue
    }
    const w = row.usage.workload
    if (!PATCHABLE[w.kind]) {
      left.push({
        container: key,
        reason: `a ${w.kind}'s pod template cannot be changed: change what creates it`,
      })
      continue
    }
    const wk = `${w.cluster}/${w.namespace}/${w.kind}/${w.name}`
    const entry = byWorkload.get(wk) ?? { workload: w, rows: [] }
    entry.rows.push(row)
    byWorkload.set(wk, entry)
  }

  const files: PatchFile[] = []
  const kustomizePatches: Array<{ path: string; target: Record<string, string> }> = []
  const commands: string[] = []
  for (const { workload: w, rows } of byWorkload.values()) {
    const kind = PATCHABLE[w.kind]!
    const containers = rows.map((row) => ({ name: row.usage.container, resources: resourcesPatch(row)! }))
    const head = evidence(a, rows)
    if (options.format === 'helm') {
      const values =
        containers.length === 1
          ? { resources: containers[0]!.resources }
          : Object.fromEntries(containers.map((c) => [c.name, { resources: c.resources }]))
      const note =
        containers.length === 1
          ? `# Helm values for ${w.kind} ${w.namespace}/${w.name}: \`resources:\` at the top, as \`helm create\` lays a chart out\n`
          : `# Helm values for ${w.kind} ${w.namespace}/${w.name}: one key per container; move each \`resources:\` where the chart reads it\n`
      files.push({ path: `${w.namespace}/${fileName(w)}.values.yaml`, text: head + note + yaml(values) })
      continue
    }
    const spec = nest(kind.podSpec, { containers })
    if (options.format === 'kubectl') {
      const path = `${w.namespace}/${fileName(w)}.yaml`
      files.push({ path, text: head + yaml(spec) })
      commands.push(
        `kubectl patch ${w.kind.toLowerCase()} ${shellWord(w.name)} -n ${shellWord(w.namespace)} --patch-file ${shellWord(path)}`,
      )
      continue
    }
    const path = `patches/${w.namespace}-${fileName(w)}.yaml`
    files.push({
      path,
      text:
        head +
        yaml({
          apiVersion: kind.apiVersion,
          kind: w.kind,
          metadata: { name: w.name, namespace: w.namespace },
          ...spec,
        }),
    })
    kustomizePatches.push({ path, target: { kind: w.kind, name: w.name, namespace: w.namespace } })
  }
  if (options.format === 'kubectl' && commands.length > 0)
    files.push({
      path: 'apply.sh',
      text: `#!/bin/sh\n# The recommended resources of cluster ${a.report.cluster} (plimsoll usage, strategy ${a.strategy}): review, then run with kubectl's context on that cluster.\nset -e\ncd "$(dirname "$0")"\n${commands.join('\n')}\n`,
    })
  if (options.format === 'kustomize')
    files.push({
      path: 'kustomization.yaml',
      text:
        `# The recommended resources of cluster ${a.report.cluster} (plimsoll usage, strategy ${a.strategy}).\n` +
        '# A Kustomize Component: add it to an overlay with `components: [<this directory>]`.\n' +
        yaml({
          apiVersion: 'kustomize.config.k8s.io/v1alpha1',
          kind: 'Component',
          patches: kustomizePatches,
        }),
    })
  return {
    files,
    workloads: [...byWorkload.values()].map(({ workload, rows }) => ({
      workload,
      containers: rows.map((r) => r.usage.container),
    })),
    left,
  }
}

/** A word for sh: as it is when safe, else in single quotes. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9._/:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

/** Writes the plan's files under `dir` (created as needed); apply.sh is made executable. */
export function writePatches(dir: string, plan: PatchPlan): string[] {
  const written: string[] = []
  for (const f of plan.files) {
    const path = join(dir, f.path)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, f.text, f.path.endsWith('.sh') ? { mode: 0o755 } : {})
    written.push(path)
  }
  return written
}
