/**
 * Writes a watched cluster's PolicyReports (policy-reports.ts builds them) back into the cluster with
 * server-side apply, as field manager `plimsoll`, through the watcher's own ApiClient:
 *
 * - only after the first sync (a half-listed cluster would write half-true reports, then fix them);
 * - only what changed: each report's last written bytes are remembered (as a hash), and a report
 *   built the same is not written again;
 * - at most one write per report per `intervalMs` (10 s): changes that come faster are gathered into
 *   the next write, so a namespace under churn costs the API server one request per interval;
 * - a namespace with nothing failing has no report: the one there is deleted. Reports this watcher (or
 *   an earlier run) left behind are found at the start by their label and judged like the rest;
 * - when the cluster does not serve wgpolicyk8s.io/v1alpha2 (no CRDs), or the watcher may not write
 *   reports (403), it is said once, with what to do, and the watcher goes on without reports, looking
 *   again every `retryMs`.
 */
import { createHash } from 'node:crypto'
import { POLICY_REPORT_LABELS, POLICY_REPORT_NAME } from '../report/policy-report.js'
import { Backoff } from './backoff.js'
import { type ApiClient, ApiError } from './client.js'
import type { ObjectChange } from './live-state.js'
import {
  buildPolicyReport,
  DEFAULT_MAX_RESULTS,
  type PolicyReportKind,
  type ReportEntry,
  ReportIndex,
} from './policy-reports.js'
import { METADATA_ACCEPT } from './reflector.js'
import type { Attachment, RunningWatcher } from './run.js'

const GROUP_VERSION = '/apis/wgpolicyk8s.io/v1alpha2'
const FIELD_MANAGER = 'plimsoll'
const CRD_BASE =
  'https://github.com/kubernetes-sigs/wg-policy-prototypes/raw/master/policy-report/crd/v1alpha2'
/** How to install the CRDs, as the wg-policy prototypes' README says. */
export const INSTALL_CRDS = `kubectl create -f ${CRD_BASE}/wgpolicyk8s.io_policyreports.yaml -f ${CRD_BASE}/wgpolicyk8s.io_clusterpolicyreports.yaml`
export const REPORT_RBAC =
  'create, patch, delete and list on policyreports and clusterpolicyreports (wgpolicyk8s.io); `plimsoll watch rbac --policy-reports` prints the role'

const KINDS: readonly { kind: PolicyReportKind; resource: string }[] = [
  { kind: 'PolicyReport', resource: 'policyreports' },
  { kind: 'ClusterPolicyReport', resource: 'clusterpolicyreports' },
]

export interface PolicyReportOptions {
  /** the watcher's client: reports are written with the same credentials */
  client: ApiClient
  log: (line: string) => void
  /** results a report lists at most (default 200) */
  maxResults?: number
  /** at most one write per report this often, ms (default 10 s) */
  intervalMs?: number
  /** a change waits this long for the ones that come with it before its report is written, ms */
  settleMs?: number
  /** how soon to look again for the CRDs, or try again after a 403, ms (default 1 minute) */
  retryMs?: number
  /** the namespaces watched: reports found elsewhere are someone else's and left alone */
  includeNamespace?: (namespace: string) => boolean
  /** how long stopping may take to write what is pending, ms (default 10 s) */
  stopTimeoutMs?: number
}

/** What the writer reads of the watcher: a namespace's findings and how many results passed there. */
export interface ReportSource {
  entries(namespace: string): Iterable<ReportEntry>
  passed(namespace: string): number
  /** every namespace holding findings */
  namespaces(): string[]
}

interface Written {
  /** hash of the bytes last applied; undefined for a report found in the cluster (content unknown) */
  hash: string | undefined
  pass: number
}

interface Served {
  /** the severities the CRD's schema accepts (undefined: not known, all five assumed) */
  severities?: ReadonlySet<string>
}

const kindOf = (namespace: string): PolicyReportKind => (namespace ? 'PolicyReport' : 'ClusterPolicyReport')

function reportPath(namespace: string): string {
  return namespace
    ? `${GROUP_VERSION}/namespaces/${encodeURIComponent(namespace)}/policyreports/${POLICY_REPORT_NAME}`
    : `${GROUP_VERSION}/clusterpolicyreports/${POLICY_REPORT_NAME}`
}

/** A wait as people say it: 200 ms, 1 minute, 90 s. */
function every(ms: number): string {
  if (ms < 1000) return `${ms} ms`
  return ms % 60_000 === 0 ? `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}` : `${Math.round(ms / 1000)} s`
}

/** An error's message, whatever was thrown (a log line says it). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export class PolicyReportWriter {
  private readonly served = new Map<PolicyReportKind, Served>()
  /** reports that exist in the cluster, as far as this writer knows, by namespace ('' the cluster's) */
  private readonly written = new Map<string, Written>()
  private readonly lastWriteAt = new Map<string, number>()
  /** namespaces whose report may have changed, with when that began */
  private readonly dirty = new Map<string, number>()
  /** things said once (until they are over) */
  private readonly said = new Set<string>()
  private readonly backoff = new Backoff({ initialMs: 1000, maxMs: 60_000 })
  private blockedUntil = 0
  private nextSweepAt = 0
  private nextProbeAt = 0
  private timer: NodeJS.Timeout | undefined
  private timerAt = Number.POSITIVE_INFINITY
  private flushing: Promise<void> | undefined
  private starting: Promise<void> | undefined
  private started = false
  private stopped = false
  private firstFlush = true
  private readonly maxResults: number
  private readonly intervalMs: number
  private readonly settleMs: number
  private readonly retryMs: number

  private readonly client: ApiClient

  constructor(
    private readonly source: ReportSource,
    private readonly options: PolicyReportOptions,
  ) {
    this.client = options.client
    this.maxResults = options.maxResults ?? DEFAULT_MAX_RESULTS
    this.intervalMs = options.intervalMs ?? 10_000
    this.settleMs = options.settleMs ?? 250
    this.retryMs = options.retryMs ?? 60_000
  }

  /** A namespace's findings (or passes) changed: its report is written when its turn comes. */
  touch(namespace: string): void {
    if (!this.dirty.has(namespace)) this.dirty.set(namespace, Date.now())
    this.schedule()
  }

  /** The first sync is done: find what is served and what earlier runs left, then write. */
  start(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    this.starting ??= (async () => {
      await this.probe()
      this.started = true
      for (const namespace of this.source.namespaces()) this.touch(namespace)
      if (!this.stopped) await this.flush()
    })()
    return this.starting
  }

  /**
   * Writes what is pending, rate limit aside (this is the last chance: `watch --once` writes its reports
   * here), within stopTimeoutMs.
   */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.timer)
    const last = (async () => {
      await this.starting
      await this.flushing
      if (this.started) await this.flushDue(true)
    })()
    let timeout: NodeJS.Timeout | undefined
    await Promise.race([
      last,
      new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, this.options.stopTimeoutMs ?? 10_000)
      }),
    ])
    clearTimeout(timeout)
  }

  private sayOnce(key: string, line: string): void {
    if (this.said.has(key)) return
    this.said.add(key)
    this.options.log(line)
  }

  /**
   * Which of the two kinds the cluster serves (discovery, which every user may read), and the
   * severities its CRD accepts (older CRDs refuse critical and info). Newly served kinds: the reports
   * earlier runs left are found, and every namespace is written.
   */
  private async probe(): Promise<void> {
    this.nextProbeAt = Date.now() + this.retryMs
    let resources: string[]
    try {
      const list = await this.client.get<{ resources?: { name: string }[] }>(GROUP_VERSION)
      resources = (list.resources ?? []).map((r) => r.name)
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) {
        this.sayOnce('probe', `PolicyReports: cannot read ${GROUP_VERSION}: ${errorText(err)}; trying again`)
        return
      }
      resources = []
    }
    const missing: string[] = []
    for (const { kind, resource } of KINDS) {
      const was = this.served.has(kind)
      if (!resources.includes(resource)) {
        this.served.delete(kind)
        missing.push(kind)
        continue
      }
      if (was) continue
      // Served anew (the CRD installed, or installed again): what was written before is gone with it.
      for (const namespace of [...this.written.keys()])
        if (kindOf(namespace) === kind) this.written.delete(namespace)
      this.served.set(kind, { ...(await this.severities(resource)) })
      await this.adopt(kind, resource)
      for (const namespace of this.source.namespaces()) if (kindOf(namespace) === kind) this.touch(namespace)
    }
    if (missing.length > 0)
      this.sayOnce(
        'absent',
        `PolicyReports: the cluster does not serve ${missing.join(' nor ')} (wgpolicyk8s.io/v1alpha2): ` +
          `${missing.length === KINDS.length ? 'no reports are written' : `no ${missing.join(', ')} is written`}; ` +
          `install the CRDs with \`${INSTALL_CRDS}\` (looking again every ${every(this.retryMs)})`,
      )
    else if (this.said.delete('absent'))
      this.options.log('PolicyReports: wgpolicyk8s.io/v1alpha2 is served now; writing the reports')
  }

  /** The severity enum of the kind's v1alpha2 schema, when the CRD may be read. */
  private async severities(resource: string): Promise<Served> {
    try {
      const crd = await this.client.get<{
        spec?: { versions?: { name: string; schema?: { openAPIV3Schema?: unknown } }[] }
      }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${resource}.wgpolicyk8s.io`)
      const schema = crd.spec?.versions?.find((v) => v.name === 'v1alpha2')?.schema?.openAPIV3Schema
      const severity = (
        schema as {
          properties?: { results?: { items?: { properties?: { severity?: { enum?: unknown } } } } }
        }
      )?.properties?.results?.items?.properties?.severity
      const values = Array.isArray(severity?.enum) ? severity.enum.filter((s) => typeof s === 'string') : []
      return values.length > 0 ? { severities: new Set(values) } : {}
    } catch {
      return {} // a CRD we may not read: the five severities are assumed
    }
  }

  /** Reports of ours already in the cluster (an earlier run's): judged like the others, deleted if clean. */
  private async adopt(kind: PolicyReportKind, resource: string): Promise<void> {
    let token: string | undefined
    try {
      do {
        const page = await this.client.get<{
          metadata?: { continue?: string }
          items?: { metadata?: { name?: string; namespace?: string } }[]
        }>(
          `${GROUP_VERSION}/${resource}`,
          {
            labelSelector: Object.entries(POLICY_REPORT_LABELS)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
            limit: 500,
            continue: token,
          },
          METADATA_ACCEPT,
        )
        for (const item of page.items ?? []) {
          const namespace = kind === 'PolicyReport' ? (item.metadata?.namespace ?? '') : ''
          if (item.metadata?.name !== POLICY_REPORT_NAME) continue
          if (namespace && this.options.includeNamespace && !this.options.includeNamespace(namespace))
            continue
          if (!this.written.has(namespace)) this.written.set(namespace, { hash: undefined, pass: -1 })
          this.touch(namespace)
        }
        token = page.metadata?.continue || undefined
      } while (token)
    } catch (err) {
      if (err instanceof ApiError && (err.code === 401 || err.code === 403)) this.sayForbidden(err)
      else this.options.log(`PolicyReports: cannot list the ${kind}s already there: ${errorText(err)}`)
    }
  }

  /** When a namespace's report may be written next: settled, out of its interval, not held back. */
  private dueAt(namespace: string, since: number): number {
    return Math.max(
      since + this.settleMs,
      (this.lastWriteAt.get(namespace) ?? Number.NEGATIVE_INFINITY) + this.intervalMs,
      this.blockedUntil,
    )
  }

  private schedule(): void {
    if (!this.started || this.stopped || this.flushing) return
    let due = this.nextSweepAt
    for (const [namespace, since] of this.dirty)
      if (this.served.has(kindOf(namespace))) due = Math.min(due, this.dueAt(namespace, since))
    if (this.timer && this.timerAt <= due) return
    clearTimeout(this.timer)
    this.timerAt = due
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        this.timerAt = Number.POSITIVE_INFINITY
        void this.flush()
      },
      Math.max(0, due - Date.now()),
    )
    this.timer.unref()
  }

  private flush(): Promise<void> {
    this.flushing ??= this.flushDue(false).finally(() => {
      this.flushing = undefined
      this.schedule()
    })
    return this.flushing
  }

  /**
   * Every `intervalMs`: a report whose passes changed (objects that pass come and go without a change
   * of findings) is written again, and kinds not served are looked for again every `retryMs`.
   */
  private async sweep(now: number): Promise<void> {
    this.nextSweepAt = now + this.intervalMs
    for (const [namespace, w] of this.written)
      if (w.pass !== this.source.passed(namespace)) this.touch(namespace)
    if (this.served.size < KINDS.length && now >= this.nextProbeAt) await this.probe()
  }

  private async flushDue(all: boolean): Promise<void> {
    const now = Date.now()
    if (!all && now >= this.nextSweepAt) await this.sweep(now)
    let wrote = 0
    for (const [namespace, since] of [...this.dirty]) {
      if (!this.served.has(kindOf(namespace))) continue
      if (!all && this.dueAt(namespace, since) > Date.now()) continue
      this.dirty.delete(namespace)
      const outcome = await this.sync(namespace)
      if (outcome === 'retry') {
        // Held back (a 403, a server error): everything waits, this one keeps its place.
        if (!this.dirty.has(namespace)) this.dirty.set(namespace, since)
        if (all) return
        break
      }
      if (outcome === 'written') wrote++
    }
    // The first writes are said (how many), the rest are not: they follow every change.
    if (this.firstFlush && wrote > 0) {
      this.firstFlush = false
      this.options.log(`PolicyReports: wrote ${wrote} report${wrote === 1 ? '' : 's'}`)
    }
  }

  /** Writes (or deletes) one namespace's report if it changed. */
  private async sync(namespace: string): Promise<'written' | 'same' | 'retry'> {
    const kind = kindOf(namespace)
    const report = buildPolicyReport(
      namespace,
      this.source.entries(namespace),
      this.source.passed(namespace),
      {
        maxResults: this.maxResults,
        ...(this.served.get(kind)?.severities ? { severities: this.served.get(kind)!.severities! } : {}),
      },
    )
    const known = this.written.get(namespace)
    const body = report ? JSON.stringify(report) : undefined
    const hash = body ? createHash('sha1').update(body).digest('base64') : undefined
    // The same bytes as last written, or no report where there is none: nothing to do.
    if (report ? hash === known?.hash : !known) return 'same'
    try {
      if (report) {
        await this.client.apply(reportPath(namespace), report as unknown as Record<string, unknown>, {
          fieldManager: FIELD_MANAGER,
          force: true,
        })
        this.written.set(namespace, { hash, pass: report.summary.pass })
      } else {
        await this.client.delete(reportPath(namespace)).catch((err: unknown) => {
          if (!(err instanceof ApiError && err.code === 404 && err.reason === 'NotFound')) throw err
        })
        this.written.delete(namespace)
      }
    } catch (err) {
      return this.failed(err, namespace) ? 'retry' : 'same'
    }
    this.lastWriteAt.set(namespace, Date.now())
    this.backoff.reset()
    this.said.delete('forbidden')
    this.said.delete('error')
    return 'written'
  }

  private sayForbidden(err: ApiError): void {
    this.sayOnce(
      'forbidden',
      `PolicyReports: not allowed: ${err.message}; the watcher needs ${REPORT_RBAC} (trying again every ${every(this.retryMs)})`,
    )
  }

  /**
   * Says what went wrong, once, and whether to try again later (true) or let it be until the report
   * changes (false).
   */
  private failed(err: unknown, namespace?: string): boolean {
    const now = Date.now()
    if (err instanceof ApiError) {
      // The group's path unknown (plain 404, no Status): the CRDs were deleted. Looked for again later.
      if (err.code === 404 && err.reason !== 'NotFound') {
        this.served.clear()
        this.nextProbeAt = now
        return true
      }
      // Its namespace is gone, or going (no new objects in a terminating namespace): nothing to keep.
      if (err.code === 404 || (err.code === 403 && /being terminated/.test(err.message))) {
        if (namespace !== undefined) this.written.delete(namespace)
        return false
      }
      if (err.code === 401 || err.code === 403) {
        this.sayForbidden(err)
        this.blockedUntil = now + this.retryMs
        return true
      }
      // Refused as it is (a CRD stricter than this one knows): said once, tried again when it changes,
      // at the pace of a write.
      if (err.code === 422 || err.code === 400) {
        if (namespace !== undefined) this.lastWriteAt.set(namespace, now)
        this.sayOnce(
          `refused ${err.message}`,
          `PolicyReports: the ${kindOf(namespace ?? '')} of ${namespace || 'the cluster'} was refused: ${err.message}`,
        )
        return false
      }
    }
    this.sayOnce('error', `PolicyReports: cannot write: ${errorText(err)}; trying again`)
    this.blockedUntil = now + this.backoff.next()
    return true
  }
}

export interface PolicyReportAttachment extends Attachment {
  readonly writer: PolicyReportWriter
}

/**
 * The attachment `plimsoll watch --policy-reports` gives its watcher (WatcherSetup.attach): follows
 * its changes from the start, writes from the first sync on, writes what is pending when stopped.
 */
export function policyReports(
  options: PolicyReportOptions,
): (running: RunningWatcher) => PolicyReportAttachment {
  return (running) => {
    const index = new ReportIndex()
    const writer = new PolicyReportWriter(
      {
        entries: (namespace) => index.entries(namespace),
        passed: (namespace) => running.state.passedIn(namespace),
        namespaces: () => index.namespaces(),
      },
      options,
    )
    const onChanges = (changes: readonly ObjectChange[]) => {
      for (const namespace of index.apply(changes)) writer.touch(namespace)
    }
    running.watcher.on('changes', onChanges)
    running.synced.then(
      () => void writer.start(),
      () => {}, // no sync, no reports: the watcher says why
    )
    return {
      writer,
      async stop() {
        running.watcher.off('changes', onChanges)
        await writer.stop()
      },
    }
  }
}
