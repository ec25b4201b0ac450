/** The work of one file: parse, evaluate every resource, keep the findings. Runs inline or in a worker. */
import type { Mutator } from '../policy/adapters/mutator.js'
import type { Severity } from '../policy/check.js'
import type { Engine } from '../policy/engine.js'
import { exceptionIndex } from '../policy/exception-index.js'
import {
  annotationException,
  type Exception,
  type ExceptionRule,
  isExpired,
  utcToday,
} from '../policy/exceptions.js'
import type { CheckStats } from '../policy/frameworks.js'
import { type Inventory, type InventoryRecord, inventoryRecord } from '../policy/inventory.js'
import type { CheckResult } from '../policy/result.js'
import type { ServerDefaulting } from '../resources/as-server.js'
import { attach, type ParseLimits, parseSourceEach } from '../resources/parse.js'
import type { DetachedResource, LoadError } from '../resources/types.js'
import { mutateForScan, type ResourceMutations } from './mutate.js'
import { defaultForScan, type ServerDefaultedResource } from './server-defaulting.js'

/** A finding as reports and stores see it: plain data, no reference to the parsed resource. */
export interface Finding {
  checkId: string
  title: string
  severity: Severity
  category: string
  status: 'fail' | 'error'
  message: string
  resource: { apiVersion: string; kind: string; name: string; namespace?: string }
  container?: { name: string; type: string }
  /** Field path within the resource, e.g. `spec.template.spec.containers[0].securityContext.privileged`. */
  path: string
  location: {
    file: string
    line: number
    column: number
    documentIndex: number
    /** Rendered Helm output: the chart template the resource came from (a path under the chart with --helm). */
    template?: string
  }
  /** Present when an exception covers the finding: it is then hidden and does not fail the gate. */
  excepted?: Exception
  /** With --baseline: the finding was already recorded, so it does not fail the gate. */
  inBaseline?: true
  /** An exception (annotation, file or register) matched, but it has expired: the finding counts again. */
  exceptionExpired?: Exception
}

/** Exceptions-file rules and the date they are judged at. Plain data, so workers receive it too. */
export interface ExceptionContext {
  rules: ExceptionRule[]
  /** YYYY-MM-DD */
  today: string
}

export interface FileResult {
  resources: number
  passed: number
  findings: Finding[]
  errors: LoadError[]
  /** the file parsed, but holds no Kubernetes objects */
  notKubernetes?: boolean
  checkStats: CheckStats
  namespaceStats: CheckStats
  /** `file#index` of every exceptions-file rule that matched a finding here */
  matchedExceptions: string[]
  /** With cross-resource checks: this file's part of the inventory, and the resources they will check. */
  cross?: CrossResourceInput
  /** With mutating policies: what they changed, per resource changed */
  mutations?: ResourceMutations[]
  /** With `--as-server`: what the API server changed, per resource changed */
  serverChanges?: ServerDefaultedResource[]
}

export interface CrossResourceInput {
  records: InventoryRecord[]
  /** The resources the cross-resource checks apply to; kept by the thread that read them (pool.ts). */
  subjects?: DetachedResource[]
}

/** One file's results of the cross-resource checks, and the exceptions-file rules they matched. */
export interface CrossTally extends Tally {
  matchedExceptions: string[]
}

/** The cross-resource checks on one file's subjects, once the inventory of the whole input is known. */
export function crossResults(
  engine: Engine,
  subjects: readonly DetachedResource[],
  inventory: Inventory,
  exceptions: ExceptionContext | undefined,
): CrossTally {
  const tally: Tally = { passed: 0, findings: [], checkStats: {}, namespaceStats: {} }
  const matched = new Set<string>()
  for (const subject of subjects)
    tallyResults(tally, engine.evaluateCross(attach(subject), inventory), exceptions, matched)
  return { ...tally, matchedExceptions: [...matched] }
}

export function ruleKey(rule: ExceptionRule): string {
  return `${rule.file}#${rule.index}`
}

/** One failing (or erring) result as a finding, marked excepted when an exception holds. */
export function toFinding(
  r: CheckResult,
  exceptions: ExceptionContext | undefined,
  matched: Set<string>,
): Finding {
  const { resource } = r
  const f: Finding = {
    checkId: r.check.id,
    title: r.check.title,
    severity: r.check.severity,
    category: r.check.category,
    status: r.status as 'fail' | 'error',
    message: r.message ?? r.check.title,
    resource: { apiVersion: resource.apiVersion, kind: resource.kind, name: resource.name },
    path: r.path ?? '',
    location: {
      file: resource.source.file,
      line: r.position?.line ?? resource.source.position.line,
      column: r.position?.column ?? 1,
      documentIndex: resource.source.documentIndex,
    },
  }
  if (resource.namespace !== undefined) f.resource.namespace = resource.namespace
  if (resource.source.template) f.location.template = resource.source.template
  if (r.container) f.container = { name: r.container.name, type: r.container.type }
  applyExceptions(f, r, exceptions, matched)
  return f
}

/** Marks a finding excepted by an annotation or a rule that holds; else notes the one that has expired. */
function applyExceptions(
  f: Finding,
  { resource, check }: CheckResult,
  exceptions: ExceptionContext | undefined,
  matched: Set<string>,
): void {
  const annotated = annotationException(resource.object, check.id)
  if (annotated && !isExpired(annotated, exceptions?.today ?? utcToday())) {
    f.excepted = annotated
    return
  }
  // An expired annotation leaves the finding to the rules; when none holds either, it is what expired.
  const meta = (resource.object.metadata ?? {}) as Record<string, unknown>
  const rule =
    exceptions && exceptions.rules.length > 0
      ? exceptionIndex(exceptions.rules).find({
          checkId: check.id,
          kind: resource.kind,
          namespace: resource.namespace ?? '',
          name: resource.name,
          labels: (meta.labels ?? {}) as Record<string, unknown>,
        })
      : undefined
  if (!exceptions || !rule) {
    if (annotated) f.exceptionExpired = annotated
    return
  }
  matched.add(ruleKey(rule))
  const { owner, reason, expires } = rule
  const ruled: Exception = { source: 'file', file: rule.file, index: rule.index, owner, reason, expires }
  if (!isExpired(rule, exceptions.today)) f.excepted = ruled
  else f.exceptionExpired = annotated ?? ruled
}

/** What a set of results adds up to: passes, findings (exceptions applied), per-check and per-namespace counts. */
export interface Tally {
  passed: number
  findings: Finding[]
  checkStats: CheckStats
  /** check × resource evaluations per namespace ('' for cluster-scoped and unset), for posture by namespace */
  namespaceStats: CheckStats
}

/** Adds counts into a total, key by key. */
export function addStats(total: CheckStats, part: CheckStats): void {
  for (const [key, stat] of Object.entries(part)) {
    const t = total[key] ?? { applied: 0, failed: 0 }
    t.applied += stat.applied
    t.failed += stat.failed
    total[key] = t
  }
}

/** Adds one resource's results to a tally. */
export function tallyResults(
  out: Tally,
  results: readonly CheckResult[],
  exceptions: ExceptionContext | undefined,
  matched: Set<string>,
): void {
  if (results.length === 0) return
  // The checks that applied, in the order they came, each with whether it failed (excepted findings aside).
  const applied = new Map<string, boolean>()
  for (const result of results) {
    const id = result.check.id
    if (result.status === 'pass') {
      out.passed++
      if (!applied.has(id)) applied.set(id, false)
      continue
    }
    const finding = toFinding(result, exceptions, matched)
    if (!finding.excepted) applied.set(id, true)
    else if (!applied.has(id)) applied.set(id, false)
    out.findings.push(finding)
  }
  let failed = 0
  for (const [id, checkFailed] of applied) {
    const stat = out.checkStats[id] ?? { applied: 0, failed: 0 }
    stat.applied++
    if (checkFailed) {
      stat.failed++
      failed++
    }
    out.checkStats[id] = stat
  }
  const ns = results[0]!.resource.namespace ?? ''
  const stat = out.namespaceStats[ns] ?? { applied: 0, failed: 0 }
  stat.applied += applied.size
  stat.failed += failed
  out.namespaceStats[ns] = stat
}

export function scanText(
  engine: Engine,
  file: string,
  text: string,
  limits: ParseLimits,
  exceptions?: ExceptionContext,
  mutator?: Mutator,
  server?: ServerDefaulting,
): FileResult {
  const out: FileResult = {
    resources: 0,
    passed: 0,
    findings: [],
    errors: [],
    checkStats: {},
    namespaceStats: {},
    matchedExceptions: [],
  }
  const matched = new Set<string>()
  const cross = engine.hasCrossResourceChecks
    ? { records: [] as InventoryRecord[], subjects: [] as DetachedResource[] }
    : undefined
  // Document by document: a document's resources (and its parser events) are let go once evaluated.
  const loaded = parseSourceEach(file, text, limits, (resources) => {
    for (const written of resources) {
      // Checked as admission would store it: mutated, when a mutating policy changes it.
      let resource = written
      if (mutator) {
        const mutated = mutateForScan(mutator, written)
        resource = mutated.resource
        if (mutated.mutations) {
          out.mutations ??= []
          out.mutations.push(mutated.mutations)
        }
      }
      // Then as the API server's own changes on creation would leave it (`--as-server`).
      if (server) {
        const stored = defaultForScan(server, resource, engine.podTemplates)
        resource = stored.resource
        if (stored.changed) {
          out.serverChanges ??= []
          out.serverChanges.push(stored.changed)
        }
      }
      tallyResults(out, engine.evaluate(resource), exceptions, matched)
      if (cross) {
        cross.records.push(inventoryRecord(resource, engine.podTemplates))
        if (engine.isCrossResourceSubject(resource))
          cross.subjects.push(resource.detach(engine.crossResourcePaths(resource)))
      }
    }
  })
  out.resources = loaded.resources
  out.errors = loaded.errors
  if (loaded.notKubernetes) out.notKubernetes = true
  if (cross) out.cross = cross
  out.matchedExceptions = [...matched]
  return out
}
