/**
 * What an upgrade from v1.F to v1.T does to a set of objects: API versions that stop being served (or
 * are deprecated) on the way, features that break or become required (upgrade-features.yaml), and Pod
 * Security Standards controls whose verdict differs between the two versions. Knows nothing of where
 * the objects came from (files or a cluster) nor of how the answer is printed.
 */
import type { ApiLifecycle, ApiLifecycleEntry } from '../policy/api-lifecycle.js'
import type { CompiledCheck } from '../policy/compile.js'
import type { CheckResult } from '../policy/result.js'
import type { PodTemplateTable } from '../resources/pod-templates.js'
import type { PathSegment, Position } from '../resources/types.js'
import { formatPath, parsePath } from '../resources/types.js'
import { type UpgradeFeature, viewOf } from './features.js'

/** One object to judge, with what is known of where it came from. */
export interface UpgradeObject {
  object: Record<string, unknown>
  /** from a file: its name; the position of a field is `locate(path)` */
  file?: string
  locate?: (path: readonly PathSegment[]) => Position
  /**
   * From a cluster: the apiVersion the object was last applied with (kubectl's
   * last-applied-configuration), when it differs from the one it was read with. The server answers in
   * the version asked, so this is how an old manifest still in use shows.
   */
  appliedAs?: string
}

/** breaks: fails or stops working at the target; deprecated: warned about, still works there; changes: a verdict moves. */
export type Impact = 'breaks' | 'deprecated' | 'changes'
export type Area = 'api' | 'feature' | 'pod-security'

export interface ObjectRef {
  apiVersion: string
  kind: string
  name: string
  namespace?: string
}

export interface UpgradeFinding {
  area: Area
  impact: Impact
  /** `policy/v1beta1 PodDisruptionBudget`, a feature's id, or a Pod Security check's id */
  id: string
  title: string
  object: ObjectRef
  file?: string
  line?: number
  column?: number
  /** the field the finding is about */
  path?: string
  /** the release it happens in (v1.N -> N) */
  version: number
  message: string
  /** what to do instead */
  replacement?: string
  /** the field changes the move needs */
  notes?: string
}

export type PssLevelName = 'baseline' | 'restricted'

/** A level's checks evaluated at a minor version (policy/pod-security-engines). */
export type PodSecurityEvaluator = (
  level: PssLevelName,
  minor: number,
  object: Record<string, unknown>,
) => CheckResult[]

export interface UpgradeInputs {
  from: number
  to: number
  lifecycle: ApiLifecycle
  features: readonly UpgradeFeature[]
  podTemplates: PodTemplateTable
  podSecurity: PodSecurityEvaluator
}

/** A feature that manifests cannot show, whose version the upgrade reaches. */
export interface UnseenFeature {
  id: string
  title: string
  version: number
  instead: string
  cannotSee: string
}

export interface UpgradeAssessment {
  findings: UpgradeFinding[]
  unseen: UnseenFeature[]
  objects: number
}

const v = (minor: number) => `v1.${minor}`

function refOf(object: Record<string, unknown>): ObjectRef {
  const meta = (object.metadata ?? {}) as Record<string, unknown>
  const ref: ObjectRef = {
    apiVersion: String(object.apiVersion ?? ''),
    kind: String(object.kind ?? ''),
    name: String(meta.name ?? ''),
  }
  if (typeof meta.namespace === 'string') ref.namespace = meta.namespace
  return ref
}

function located(o: UpgradeObject, path: readonly PathSegment[]): Partial<UpgradeFinding> {
  const out: Partial<UpgradeFinding> = { path: formatPath(path) }
  if (o.file !== undefined) out.file = o.file
  if (o.locate) {
    const at = o.locate(path)
    out.line = at.line
    out.column = at.column
  }
  return out
}

function replacementOf(entry: ApiLifecycleEntry): string | undefined {
  return entry.replacement && `${entry.replacement} ${entry.replacementKind ?? entry.kind}`
}

function apiFinding(o: UpgradeObject, inputs: UpgradeInputs): UpgradeFinding | undefined {
  const ref = refOf(o.object)
  const apiVersion = o.appliedAs ?? ref.apiVersion
  const entry = inputs.lifecycle.lookup(apiVersion, ref.kind)
  if (!entry) return undefined
  const { from, to } = inputs
  const id = `${apiVersion} ${ref.kind}`
  const replacement = replacementOf(entry)
  const applied = o.appliedAs ? ` (last applied as ${o.appliedAs}, read as ${ref.apiVersion})` : ''
  let impact: Impact
  let version: number
  let message: string
  if (entry.removedIn !== undefined && entry.removedIn <= to) {
    impact = 'breaks'
    version = entry.removedIn
    message =
      entry.removedIn <= from
        ? `${id}${applied} is already not served at ${v(from)} (removed in ${v(entry.removedIn)})`
        : `${id}${applied} is no longer served from ${v(entry.removedIn)}`
    if (entry.replacementSince !== undefined && entry.replacementSince > from && replacement)
      message += `; ${replacement} is served from ${v(entry.replacementSince)}: move after upgrading to it, before ${v(entry.removedIn)}`
  } else if (entry.deprecatedIn !== undefined && entry.deprecatedIn <= to) {
    impact = 'deprecated'
    version = entry.deprecatedIn
    message = `${id}${applied} is deprecated since ${v(entry.deprecatedIn)}${
      entry.removedIn !== undefined ? ` and removed in ${v(entry.removedIn)}` : ', still served'
    }`
  } else {
    return undefined
  }
  const finding: UpgradeFinding = {
    area: 'api',
    impact,
    id,
    title: impact === 'breaks' ? 'API version no longer served' : 'API version deprecated',
    object: ref,
    ...located(o, ['apiVersion']),
    version,
    message,
  }
  if (replacement) finding.replacement = replacement
  if (entry.notes) finding.notes = entry.notes
  return finding
}

function featureFindings(o: UpgradeObject, inputs: UpgradeInputs): UpgradeFinding[] {
  const view = viewOf(o.object, inputs.podTemplates)
  const out: UpgradeFinding[] = []
  for (const feature of inputs.features) {
    if (!feature.detect) continue
    let impact: Impact
    let version: number
    if (feature.breaksIn !== undefined && feature.breaksIn <= inputs.to) {
      impact = 'breaks'
      version = feature.breaksIn
    } else if (feature.deprecatedIn !== undefined && feature.deprecatedIn <= inputs.to) {
      impact = 'deprecated'
      version = feature.deprecatedIn
    } else continue
    for (const use of feature.detect(view)) {
      const when =
        impact === 'deprecated'
          ? `deprecated since ${v(version)}${feature.breaksIn !== undefined ? `, stops working in ${v(feature.breaksIn)}` : ''}`
          : version <= inputs.from
            ? `in effect since ${v(version)}, already at ${v(inputs.from)}`
            : `from ${v(version)}`
      out.push({
        area: 'feature',
        impact,
        id: feature.id,
        title: feature.title,
        object: refOf(o.object),
        ...located(o, use.path),
        version,
        message: `${use.found}: ${feature.title} (${when})`,
        replacement: feature.instead,
      })
    }
  }
  return out
}

/** Which level a check belongs to: restricted if it implements a Restricted control, else baseline. */
function levelOfCheck(result: CheckResult): PssLevelName {
  return result.check.controls?.some((c) => c.framework === 'pss-restricted') ? 'restricted' : 'baseline'
}

/** The failing checks of a level, by check id (first failure of each). */
function failures(
  results: readonly CheckResult[],
  level: PssLevelName,
): { failing: Map<string, CheckResult>; inForce: Set<string> } {
  const failing = new Map<string, CheckResult>()
  const inForce = new Set<string>()
  for (const r of results) {
    if (levelOfCheck(r) !== level) continue
    inForce.add(r.check.id)
    if (r.status === 'fail' && !failing.has(r.check.id)) failing.set(r.check.id, r)
  }
  return { failing, inForce }
}

function pathOf(result: CheckResult): PathSegment[] {
  try {
    return result.path ? parsePath(result.path) : []
  } catch {
    return []
  }
}

/** Namespace -> the level and version Pod Security Admission enforces there, from the Namespaces given. */
export type Enforcement = Map<string, { level: string; version: string }>

export function enforcementOf(objects: readonly UpgradeObject[]): Enforcement {
  const out: Enforcement = new Map()
  for (const { object } of objects) {
    if (object.kind !== 'Namespace') continue
    const meta = (object.metadata ?? {}) as { name?: string; labels?: Record<string, string> }
    const level = meta.labels?.['pod-security.kubernetes.io/enforce']
    if (meta.name && level)
      out.set(meta.name, {
        level,
        version: meta.labels?.['pod-security.kubernetes.io/enforce-version'] ?? 'latest',
      })
  }
  return out
}

function podSecurityFindings(
  o: UpgradeObject,
  inputs: UpgradeInputs,
  enforcement: Enforcement,
): UpgradeFinding[] {
  if (!viewOf(o.object, inputs.podTemplates).pod) return []
  const ref = refOf(o.object)
  const enforced = ref.namespace === undefined ? undefined : enforcement.get(ref.namespace)
  const out: UpgradeFinding[] = []
  for (const level of ['baseline', 'restricted'] as const) {
    const { failing: before, inForce } = failures(inputs.podSecurity(level, inputs.from, o.object), level)
    const after = failures(inputs.podSecurity(level, inputs.to, o.object), level).failing
    // A namespace enforcing this level (or restricted, which includes baseline) at `latest` refuses
    // new pods that fail it once the cluster runs the target version.
    const refuses =
      enforced?.version === 'latest' &&
      (enforced.level === level || (enforced.level === 'restricted' && level === 'baseline'))
    for (const [id, result] of after) {
      if (before.has(id)) continue
      const finding: UpgradeFinding = {
        area: 'pod-security',
        impact: refuses ? 'breaks' : 'changes',
        id,
        title: `${level} control newly failing`,
        object: ref,
        ...located(o, pathOf(result)),
        version: inputs.to,
        message: `${id} (${level}) fails at ${v(inputs.to)}, ${inForce.has(id) ? 'passed' : 'was not part of the standard'} at ${v(inputs.from)}: ${result.message}${
          refuses
            ? `; namespace ${ref.namespace} enforces ${enforced?.level} at latest, so new pods are refused`
            : ''
        }`,
      }
      if (result.check.remediation) finding.replacement = result.check.remediation
      out.push(finding)
    }
    for (const [id, result] of before) {
      if (after.has(id)) continue
      out.push({
        area: 'pod-security',
        impact: 'changes',
        id,
        title: `${level} control newly passing`,
        object: ref,
        ...located(o, pathOf(result)),
        version: inputs.to,
        message: `${id} (${level}) failed at ${v(inputs.from)}, passes at ${v(inputs.to)}`,
      })
    }
  }
  return out
}

export function assessUpgrade(objects: readonly UpgradeObject[], inputs: UpgradeInputs): UpgradeAssessment {
  if (inputs.from > inputs.to)
    throw new Error(`cannot upgrade from ${v(inputs.from)} down to ${v(inputs.to)}`)
  const enforcement = enforcementOf(objects)
  const findings: UpgradeFinding[] = []
  for (const o of objects) {
    const api = apiFinding(o, inputs)
    if (api) findings.push(api)
    findings.push(...featureFindings(o, inputs), ...podSecurityFindings(o, inputs, enforcement))
  }
  const unseen: UnseenFeature[] = inputs.features.flatMap((f) => {
    const version = f.breaksIn ?? f.deprecatedIn
    if (!f.cannotSee || version === undefined || version <= inputs.from || version > inputs.to) return []
    return [{ id: f.id, title: f.title, version, instead: f.instead, cannotSee: f.cannotSee }]
  })
  return { findings, unseen, objects: objects.length }
}

/** A Pod Security Standards check whose rules change within the upgrade, whatever the objects. */
export interface StandardChange {
  id: string
  title: string
  level: PssLevelName
  /** the releases in (from, to] where a new version of its rules applies */
  versions: number[]
}

/** The PSS checks (by their framework controls) with a rule version in (from, to]. */
export function standardChanges(
  checks: readonly CompiledCheck[],
  from: number,
  to: number,
): StandardChange[] {
  return checks.flatMap((check) => {
    const frameworks = (check.metadata.controls ?? []).map((c) => c.framework)
    if (!frameworks.some((f) => f === 'pss-baseline' || f === 'pss-restricted')) return []
    const versions = check.ruleSets.map((rs) => rs.since).filter((since) => since > from && since <= to)
    if (versions.length === 0) return []
    return [
      {
        id: check.metadata.id,
        title: check.metadata.title,
        level: frameworks.includes('pss-restricted') ? 'restricted' : 'baseline',
        versions,
      },
    ]
  })
}
