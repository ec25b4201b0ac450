/**
 * The PolicyReports of a live cluster (wgpolicyk8s.io/v1alpha2), as `plimsoll watch --policy-reports`
 * keeps them: one PolicyReport per namespace and one ClusterPolicyReport (cluster-scoped objects), never
 * one object per resource (Kyverno's per-resource reports are what fill etcd). No I/O here: the index
 * follows the watcher's changes, the builder turns a namespace into its report, and
 * policy-report-writer.ts decides when to write it.
 *
 * Bounded: a report holds a summary of every result and lists at most `maxResults` of them (failing
 * first, worst severity first, then excepted ones as skip), and says so in an annotation when it had to
 * leave some out. A namespace with nothing failing has no report (the writer deletes it).
 */
import { type Exception, entryName } from '../api-types.js'
import { type Severity, severityRank } from '../policy/check.js'
import {
  POLICY_REPORT_API_VERSION,
  POLICY_REPORT_LABELS,
  POLICY_REPORT_NAME,
  REPORT_SEVERITY,
  type ReportResult,
  type ReportSeverity,
  type ReportStatus,
  type ReportSummary,
  reportResult,
} from '../report/policy-report.js'
import { fingerprint } from '../scan/baseline.js'
import type { Finding } from '../scan/scan-file.js'
import type { ObjectChange } from './live-state.js'

/** Said on a report that lists fewer results than it counts. */
export const CAPPED_ANNOTATION = 'plimsoll.dev/results-capped'
/** Results a report lists at most, by default: a report stays far below etcd's 1.5 MB object limit. */
export const DEFAULT_MAX_RESULTS = 200

export type PolicyReportKind = 'PolicyReport' | 'ClusterPolicyReport'

export interface PolicyReportObject {
  apiVersion: string
  kind: PolicyReportKind
  metadata: {
    name: string
    namespace?: string
    labels: Record<string, string>
    annotations?: Record<string, string>
  }
  summary: ReportSummary
  results: ReportResult[]
}

/** One finding of one object, as much of it as its result needs. */
export interface ReportEntry {
  checkId: string
  severity: Severity
  category: string
  status: 'fail' | 'error'
  message: string
  path: string
  container?: string
  /** what excepts it (then it is a skip, not a failure) */
  exception?: Exception
  /** when this watcher first saw it, seconds since the epoch: a result's timestamp, stable across writes */
  since: number
  resource: { apiVersion: string; kind: string; namespace: string; name: string }
}

/**
 * The findings of the cluster by namespace ('' for cluster-scoped objects), kept from the watcher's
 * changes (the same stream the store is written from, so it holds what the store holds).
 */
export class ReportIndex {
  /** namespace -> object key -> fingerprint -> entry */
  private readonly byNamespace = new Map<string, Map<string, Map<string, ReportEntry>>>()

  /** Takes in a batch of changes; returns the namespaces whose findings changed. */
  apply(changes: readonly ObjectChange[], nowMs = Date.now()): Set<string> {
    const touched = new Set<string>()
    const now = Math.floor(nowMs / 1000)
    for (const change of changes) {
      const { namespace } = change.resource
      let objects = this.byNamespace.get(namespace)
      let entries = objects?.get(change.key)
      if (change.gone) {
        if (entries) touched.add(namespace)
        objects?.delete(change.key)
      } else {
        for (const mark of change.resolved) if (entries?.delete(mark.fingerprint)) touched.add(namespace)
        for (const f of [...change.opened, ...change.updated]) {
          if (!objects) {
            objects = new Map()
            this.byNamespace.set(namespace, objects)
          }
          if (!entries) {
            entries = new Map()
            objects.set(change.key, entries)
          }
          const fp = fingerprint(f)
          entries.set(fp, entryOf(f, change.resource, entries.get(fp)?.since ?? now))
          touched.add(namespace)
        }
        if (entries?.size === 0) objects?.delete(change.key)
      }
      if (objects?.size === 0) this.byNamespace.delete(namespace)
    }
    return touched
  }

  /** The namespaces that hold findings ('' for cluster-scoped objects). */
  namespaces(): string[] {
    return [...this.byNamespace.keys()]
  }

  *entries(namespace: string): Iterable<ReportEntry> {
    for (const entries of this.byNamespace.get(namespace)?.values() ?? []) yield* entries.values()
  }
}

function entryOf(f: Finding, resource: ObjectChange['resource'], since: number): ReportEntry {
  return {
    checkId: f.checkId,
    severity: f.severity,
    category: f.category,
    status: f.status,
    message: f.message,
    path: f.path,
    ...(f.container ? { container: f.container.name } : {}),
    ...(f.excepted ? { exception: f.excepted } : {}),
    since,
    resource: {
      apiVersion: resource.apiVersion,
      kind: resource.kind,
      namespace: resource.namespace,
      name: resource.name,
    },
  }
}

const REPORT_SEVERITIES: readonly ReportSeverity[] = ['info', 'low', 'medium', 'high', 'critical']

/**
 * A severity the cluster's CRD accepts: its own, else the nearest it lists (the CRDs of before 2022
 * know only high, medium and low: critical is written high, info low).
 */
export function fitSeverity(severity: Severity, accepted?: ReadonlySet<string>): ReportSeverity {
  const wanted = REPORT_SEVERITY[severity]
  if (!accepted || accepted.has(wanted)) return wanted
  const at = REPORT_SEVERITIES.indexOf(wanted)
  for (let d = 1; d < REPORT_SEVERITIES.length; d++)
    for (const i of [at + d, at - d]) {
      const s = REPORT_SEVERITIES[i]
      if (s && accepted.has(s)) return s
    }
  return wanted
}

export interface ReportOptions {
  /** results listed at most; the summary counts every one */
  maxResults: number
  /** the severities the cluster's PolicyReport CRD accepts (undefined: all five) */
  severities?: ReadonlySet<string>
}

/** Failing before excepted, then worst severity first, then a stable order (the same report, the same bytes). */
function compareEntries(a: ReportEntry, b: ReportEntry): number {
  return (
    Number(a.exception !== undefined) - Number(b.exception !== undefined) ||
    severityRank(b.severity) - severityRank(a.severity) ||
    cmp(a.resource.kind, b.resource.kind) ||
    cmp(a.resource.name, b.resource.name) ||
    cmp(a.checkId, b.checkId) ||
    cmp(a.container ?? '', b.container ?? '') ||
    cmp(a.path, b.path)
  )
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function exceptionProperties(e: Exception): Record<string, string> {
  return {
    exception: e.source === 'annotation' ? 'annotation' : entryName(e.file, e.index),
    reason: e.reason,
    ...(e.owner ? { owner: e.owner } : {}),
    ...(e.expires ? { expires: e.expires } : {}),
  }
}

function resultOf(e: ReportEntry, options: ReportOptions): ReportResult {
  const status: ReportStatus = e.exception ? 'skip' : e.status
  return reportResult(
    {
      checkId: e.checkId,
      severity: e.severity,
      category: e.category,
      result: status,
      message: e.message,
      resource: {
        apiVersion: e.resource.apiVersion,
        kind: e.resource.kind,
        name: e.resource.name,
        ...(e.resource.namespace ? { namespace: e.resource.namespace } : {}),
      },
      properties: {
        path: e.path,
        ...(e.container ? { container: e.container } : {}),
        ...(e.exception ? exceptionProperties(e.exception) : {}),
      },
    },
    e.since,
    (s) => fitSeverity(s, options.severities),
  )
}

/**
 * The report of a namespace ('' makes the ClusterPolicyReport) from its findings and the number of
 * results that passed there; undefined when nothing fails in it (no report: it is deleted).
 */
export function buildPolicyReport(
  namespace: string,
  entries: Iterable<ReportEntry>,
  passed: number,
  options: ReportOptions,
): PolicyReportObject | undefined {
  const all = [...entries]
  const summary: ReportSummary = { pass: passed, fail: 0, warn: 0, error: 0, skip: 0 }
  for (const e of all) summary[e.exception ? 'skip' : e.status]++
  if (summary.fail + summary.error === 0) return undefined
  all.sort(compareEntries)
  const listed = all.slice(0, Math.max(0, options.maxResults))
  const capped = listed.length < all.length
  return {
    apiVersion: POLICY_REPORT_API_VERSION,
    kind: namespace ? 'PolicyReport' : 'ClusterPolicyReport',
    metadata: {
      name: POLICY_REPORT_NAME,
      ...(namespace ? { namespace } : {}),
      labels: { ...POLICY_REPORT_LABELS },
      ...(capped
        ? {
            annotations: {
              [CAPPED_ANNOTATION]: `listed ${listed.length} of ${all.length} results, failing and worst severity first`,
            },
          }
        : {}),
    },
    summary,
    results: listed.map((e) => resultOf(e, options)),
  }
}
