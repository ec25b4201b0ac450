/**
 * An upgrade check's report: the assessment with what it was run on, as JSON (stable field names, for
 * CI) and as text grouped by what happens (breaks, Pod Security verdicts, deprecations), each group by
 * API version or feature with its replacement once and the objects under it.
 */
import pc from 'picocolors'
import type { ApiLifecycle } from '../policy/api-lifecycle.js'
import type { LoadError } from '../resources/types.js'
import type { Area, Impact, StandardChange, UpgradeAssessment, UpgradeFinding } from './evaluate.js'

/** Where the starting version came from: --from, the cluster's /version, or the default. */
export type FromSource = 'flag' | 'cluster' | 'default'

/** A kind of an API version the cluster serves that the upgrade removes or deprecates: clients may still call it. */
export interface ServedAtRisk {
  apiVersion: string
  kind: string
  deprecatedIn?: number
  removedIn?: number
  /** the apiVersion and kind to use instead */
  replacement?: string
}

export interface UpgradeReport {
  from: number
  to: number
  fromSource: FromSource
  /** the newest release the data knows */
  newestKnown: number
  assessment: UpgradeAssessment
  /** the Pod Security Standards checks whose rules change between the two releases */
  standardChanges: StandardChange[]
  /** files read, when files were given */
  files: number
  errors: LoadError[]
  /** notes on how the run was set up (a defaulted --from, a target past the data) */
  notes: string[]
  cluster?: {
    gitVersion: string
    servedAtRisk: ServedAtRisk[]
    notRead: { what: string; message: string }[]
  }
}

/**
 * The lifecycle entries a server serves and the upgrade deprecates or removes. `servedKinds`
 * (`apiVersion/kind`, from discovery) rules out a kind its group-version does not serve, where discovery
 * listed that group-version's kinds (each group's preferred version); for the others, the group-version
 * being served is what is known.
 */
export function servedAtRisk(
  served: readonly string[],
  servedKinds: readonly string[],
  lifecycle: ApiLifecycle,
  to: number,
): ServedAtRisk[] {
  const servedSet = new Set(served)
  const kinds = new Set(servedKinds)
  const listed = new Set(servedKinds.map((k) => k.slice(0, k.lastIndexOf('/'))))
  return lifecycle.entries.flatMap((e) => {
    const reached =
      (e.removedIn !== undefined && e.removedIn <= to) ||
      (e.deprecatedIn !== undefined && e.deprecatedIn <= to)
    if (!servedSet.has(e.apiVersion) || !reached) return []
    if (listed.has(e.apiVersion) && !kinds.has(`${e.apiVersion}/${e.kind}`)) return []
    const risk: ServedAtRisk = { apiVersion: e.apiVersion, kind: e.kind }
    if (e.deprecatedIn !== undefined) risk.deprecatedIn = e.deprecatedIn
    if (e.removedIn !== undefined) risk.removedIn = e.removedIn
    if (e.replacement) risk.replacement = `${e.replacement} ${e.replacementKind ?? e.kind}`
    return [risk]
  })
}

/** Whether anything breaks at the target: what the exit code says. */
export function breaks(report: UpgradeReport): boolean {
  return report.assessment.findings.some((f) => f.impact === 'breaks')
}

export function counts(report: UpgradeReport): Record<Impact, number> {
  const out: Record<Impact, number> = { breaks: 0, deprecated: 0, changes: 0 }
  for (const f of report.assessment.findings) out[f.impact]++
  return out
}

const v = (minor: number) => `v1.${minor}`
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

export function renderJson(report: UpgradeReport): string {
  const { assessment, ...rest } = report
  return `${JSON.stringify(
    {
      from: v(rest.from),
      to: v(rest.to),
      fromSource: rest.fromSource,
      newestKnown: v(rest.newestKnown),
      objects: assessment.objects,
      files: rest.files,
      summary: counts(report),
      findings: assessment.findings.map((f) => ({ ...f, version: v(f.version) })),
      notVisibleInManifests: assessment.unseen.map((u) => ({ ...u, version: v(u.version) })),
      podSecurityStandardChanges: rest.standardChanges.map((c) => ({ ...c, versions: c.versions.map(v) })),
      ...(rest.cluster
        ? {
            cluster: {
              ...rest.cluster,
              servedAtRisk: rest.cluster.servedAtRisk.map((s) => ({
                ...s,
                ...(s.deprecatedIn !== undefined ? { deprecatedIn: v(s.deprecatedIn) } : {}),
                ...(s.removedIn !== undefined ? { removedIn: v(s.removedIn) } : {}),
              })),
            },
          }
        : {}),
      notes: rest.notes,
      errors: rest.errors,
    },
    null,
    2,
  )}\n`
}

function where(f: UpgradeFinding): string {
  const ns = f.object.namespace ? `${f.object.namespace}/` : ''
  const object = `${f.object.kind} ${ns}${f.object.name}`
  if (f.file === undefined) return object
  const at = f.line !== undefined ? `:${f.line}:${f.column ?? 1}` : ''
  return `${f.file}${at}  ${object}`
}

const AREA_TITLES: Record<Area, string> = {
  api: 'API versions',
  feature: 'Features',
  'pod-security': 'Pod Security Standards',
}

const IMPACT_TITLES: Record<Impact, (to: string) => string> = {
  breaks: (to) => `Breaks at ${to}`,
  changes: (to) => `Pod Security verdicts that change at ${to}`,
  deprecated: (to) => `Deprecated, still working at ${to}`,
}

export function renderText(report: UpgradeReport, color: boolean): string {
  const c = pc.createColors(color)
  const lines: string[] = []
  const to = v(report.to)
  const fromWhy =
    report.fromSource === 'cluster'
      ? `the cluster runs ${report.cluster?.gitVersion ?? v(report.from)}`
      : report.fromSource === 'flag'
        ? '--from'
        : 'assumed: give --from'
  lines.push(
    c.bold(`Upgrade from ${v(report.from)} (${fromWhy}) to ${to}`) +
      `: ${plural(report.assessment.objects, 'object')}${report.files ? ` from ${plural(report.files, 'file')}` : ''}`,
  )
  for (const note of report.notes) lines.push(c.dim(`note: ${note}`))
  for (const impact of ['breaks', 'changes', 'deprecated'] as const) {
    const findings = report.assessment.findings.filter((f) => f.impact === impact)
    if (findings.length === 0) continue
    const paint = impact === 'breaks' ? c.red : impact === 'changes' ? c.yellow : c.cyan
    lines.push('', paint(c.bold(`${IMPACT_TITLES[impact](to)} (${findings.length})`)))
    for (const area of ['api', 'feature', 'pod-security'] as const) {
      const inArea = findings.filter((f) => f.area === area)
      if (inArea.length === 0) continue
      lines.push(`  ${c.bold(AREA_TITLES[area])}`)
      const groups = new Map<string, UpgradeFinding[]>()
      for (const f of inArea) groups.set(f.id, [...(groups.get(f.id) ?? []), f])
      for (const [id, group] of groups) {
        const first = group[0]!
        const head =
          area === 'feature' ? `${id}: ${first.title}` : area === 'api' ? id : `${id}: ${first.title}`
        lines.push(
          `    ${c.bold(head)}${first.replacement && area === 'api' ? ` -> ${first.replacement}` : ''}`,
        )
        if (first.replacement && area !== 'api') lines.push(`      instead: ${first.replacement}`)
        if (first.notes) lines.push(`      changes: ${first.notes}`)
        for (const f of group) lines.push(`      ${where(f)}`, `        ${c.dim(f.message)}`)
      }
    }
  }
  if (report.standardChanges.length > 0) {
    lines.push('', c.bold(`Pod Security Standards controls that change between ${v(report.from)} and ${to}`))
    for (const s of report.standardChanges)
      lines.push(`    ${s.id} (${s.level}, ${s.versions.map(v).join(', ')}): ${s.title}`)
  }
  if (report.assessment.unseen.length > 0) {
    lines.push('', c.bold('Not visible in manifests, reached by this upgrade'))
    for (const u of report.assessment.unseen) {
      lines.push(`    ${c.bold(`${u.id}: ${u.title}`)} (${v(u.version)})`)
      lines.push(`      look: ${u.cannotSee}`, `      instead: ${u.instead}`)
    }
  }
  if (report.cluster) {
    if (report.cluster.servedAtRisk.length > 0) {
      lines.push('', c.bold('API versions the cluster serves that clients may still call'))
      for (const s of report.cluster.servedAtRisk) {
        const fate =
          s.removedIn !== undefined
            ? `removed in ${v(s.removedIn)}`
            : `deprecated in ${v(s.deprecatedIn ?? 0)}`
        lines.push(`    ${s.apiVersion} ${s.kind}: ${fate}${s.replacement ? `; use ${s.replacement}` : ''}`)
      }
      lines.push(
        c.dim(
          "    (the API server's apiserver_requested_deprecated_apis metric says which are requested; audit events annotated k8s.io/deprecated say by whom)",
        ),
      )
    }
    for (const n of report.cluster.notRead) lines.push(c.yellow(`not read: ${n.what}: ${n.message}`))
  }
  for (const e of report.errors) {
    const at = e.position ? `:${e.position.line}:${e.position.column}` : ''
    lines.push(c.red(`error: ${e.file}${at}: ${e.message}`))
  }
  const n = counts(report)
  lines.push(
    '',
    `${n.breaks} breaking, ${n.changes} Pod Security changes, ${n.deprecated} deprecated` +
      (n.breaks > 0 ? ` (exit 1: something stops working at ${to})` : ''),
  )
  return `${lines.join('\n')}\n`
}
