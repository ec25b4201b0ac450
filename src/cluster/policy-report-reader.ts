/**
 * Other tools' PolicyReports and ClusterPolicyReports (Kyverno, Kubescape, Trivy's adapters...), read
 * from a watched cluster and recorded in the store as an import (source `import`, format
 * policy-report), exactly as `plimsoll import --format policy-report` records a file of them: the same
 * parser, the same run recorder, so the same lifecycle. `plimsoll watch --read-policy-reports`.
 *
 * - Which version: wgpolicyk8s.io/v1alpha2 when served, else v1beta1 (the same results); looked up in
 *   discovery at the start and every `rediscoverMs`, so CRDs installed or deleted later are followed.
 *   Not served at all: said once, and the watcher goes on.
 * - How: one Reflector per kind (list, then watch from its resourceVersion, bookmarks, a relist on
 *   410), on the watcher's own client. A 403 is said once, with the role to grant; the kind is tried
 *   again by the reflector, and while it is refused nothing is resolved (absence proves nothing).
 * - Plimsoll's own reports (`watch --policy-reports`, marked by POLICY_REPORT_LABELS) are skipped: they
 *   are the watcher's findings already, under the cluster's own target.
 * - When: after the first lists, then at most once every `intervalMs` (reports churn: Kyverno rewrites
 *   its per-resource reports on every background scan), and only when the parsed set of findings (or
 *   what the exceptions register makes of it) differs from the one recorded last. A result gone from
 *   the cluster is resolved by the next record, as a newer file resolves what it no longer has.
 */
import { createHash } from 'node:crypto'
import { parsePolicyReports } from '../import/policy-report.js'
import {
  type ImportScanReport,
  importReport,
  importVersion,
  recordImport,
  targetConflict,
} from '../import/record.js'
import type { ImportedReport } from '../import/types.js'
import type { ExceptionRule } from '../policy/exceptions.js'
import { POLICY_REPORT_LABELS } from '../report/policy-report.js'
import type { Store } from '../store/connect.js'
import { toolInfo } from '../version.js'
import { type ApiClient, ApiError } from './client.js'
import type { ApiResource } from './discovery.js'
import { errorText } from './policy-report-writer.js'
import type { PolicyRule } from './rbac.js'
import {
  type KindHealth,
  type KubeObject,
  Reflector,
  type ReflectorOptions,
  type ReflectorSink,
} from './reflector.js'
import type { Attachment, RunningWatcher } from './run.js'

const GROUP = 'wgpolicyk8s.io'
/** The versions read, the first served one wins: v1alpha2 is what Kyverno and the adapters write. */
const VERSIONS = ['v1alpha2', 'v1beta1'] as const
const RESOURCES: ReadonlySet<string> = new Set(['policyreports', 'clusterpolicyreports'])

/** What `--read-policy-reports` adds to the watcher's role (`watch rbac --read-policy-reports`). */
export const POLICY_REPORT_READ_RULE: PolicyRule = {
  apiGroups: [GROUP],
  resources: ['clusterpolicyreports', 'policyreports'],
  verbs: ['get', 'list', 'watch'],
}

/** The import target of a cluster's PolicyReports: `prod/policy-report`, as `plimsoll import` suggests. */
export function policyReportTarget(clusterTarget: string): string {
  return `${clusterTarget}/policy-report`
}

export interface PolicyReportReaderOptions {
  client: ApiClient
  store: Store
  /** the import's target (policyReportTarget of the cluster's) */
  target: string
  log: (line: string) => void
  /** the exceptions that apply (the --exceptions files' and the store's register), read at each record */
  exceptions: () => Promise<ExceptionRule[]>
  /** at most one record this often, ms (default 30 s) */
  intervalMs?: number
  /** a change waits this long for the ones that come with it, ms (default 500) */
  settleMs?: number
  /** discovery read again (kinds come and go), and the exceptions looked at again, this often, ms (default 1 minute) */
  rediscoverMs?: number
  /** reports in namespaces not watched are left alone */
  includeNamespace?: (namespace: string) => boolean
  /** watch timeouts, backoff, the wait after a 403 (tests tune them) */
  reflector?: ReflectorOptions
  /** how long stopping waits for the first lists, to record them, ms (default 10 s) */
  stopTimeoutMs?: number
}

interface ReadKind {
  resource: ApiResource
  reflector: Reflector
  /** listed once at least */
  listed: boolean
  /** the last answer was a 401/403 */
  refused?: string
  /** the keys of the objects listed since the list began (what a relist did not see is gone) */
  listing?: Set<string>
}

function isOurs(object: KubeObject): boolean {
  const labels = ((object.metadata as { labels?: Record<string, string> } | undefined)?.labels ??
    {}) as Record<string, string>
  return Object.entries(POLICY_REPORT_LABELS).every(([k, v]) => labels[k] === v)
}

/** What differs between two records of the same reports: the findings, how they are excepted, completeness. */
function digest(report: ImportScanReport): string {
  const h = createHash('sha1')
  h.update(report.policyVersion)
  h.update(JSON.stringify(report.errors))
  for (const f of report.findings)
    h.update(
      JSON.stringify([
        f.checkId,
        f.resource,
        f.path,
        f.container?.name,
        f.severity,
        f.status,
        f.message,
        f.category,
        f.location.file,
        f.excepted ?? null,
        f.exceptionExpired ?? null,
      ]),
    )
  return h.digest('base64')
}

export class PolicyReportReader {
  /** by `resource/namespace/name`: the report's findings, parsed on arrival (passes are not kept) */
  private readonly reports = new Map<string, { file: string; report: ImportedReport }>()
  /** by resource (policyreports, clusterpolicyreports) */
  private readonly kinds = new Map<string, ReadKind>()
  private readonly said = new Set<string>()
  private dirty = true
  private lastRecordAt = Number.NEGATIVE_INFINITY
  private lastDigest: string | undefined
  private timer: NodeJS.Timeout | undefined
  private probeTimer: NodeJS.Timeout | undefined
  private recording: Promise<void> | undefined
  private probing: Promise<void> = Promise.resolve()
  private stopped = false
  /** kinds being swapped (a version no longer served): the set is half the old one meanwhile */
  private swapping = false
  /** discovery read once: until then nothing is known, not even that no report is served */
  private probed = false
  private readonly intervalMs: number
  private readonly settleMs: number
  private readonly rediscoverMs: number
  /** resolved when every served kind has been listed or refused once (or none is served) */
  private readyResolve!: () => void
  readonly ready = new Promise<void>((r) => {
    this.readyResolve = r
  })
  /** the first record is said whatever it did; later ones when they opened or resolved something */
  private recordedOnce = false

  constructor(private readonly options: PolicyReportReaderOptions) {
    this.intervalMs = options.intervalMs ?? 30_000
    this.settleMs = options.settleMs ?? 500
    this.rediscoverMs = options.rediscoverMs ?? 60_000
  }

  start(): void {
    this.probing = this.probe()
    this.probeTimer = setInterval(() => {
      this.probing = this.probing.then(() => this.probe())
      // The register may have changed, or an exception expired: judged again, recorded if it differs.
      this.dirty = true
      this.schedule()
    }, this.rediscoverMs)
    this.probeTimer.unref()
  }

  /** Stops reading; records what changed since the last record (waiting a little for the first lists). */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.probeTimer)
    clearTimeout(this.timer)
    let timeout: NodeJS.Timeout | undefined
    await Promise.race([
      this.probing.then(() => this.ready),
      new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, this.options.stopTimeoutMs ?? 10_000)
      }),
    ])
    clearTimeout(timeout)
    await Promise.all([...this.kinds.values()].map((k) => k.reflector.stop()))
    await this.recording
    if (this.dirty && this.canRecord()) await this.record()
  }

  private sayOnce(key: string, line: string): void {
    if (this.said.has(key)) return
    this.said.add(key)
    this.options.log(line)
  }

  /** The served version's report kinds; reflectors started for new ones, stopped for those gone. */
  private async probe(): Promise<void> {
    if (this.stopped) return
    let served: ApiResource[]
    try {
      served = await this.servedKinds()
    } catch (err) {
      this.sayOnce(
        'discovery',
        `PolicyReports: cannot read the discovery of ${GROUP}: ${errorText(err)}; trying again`,
      )
      return
    }
    this.said.delete('discovery')
    const wanted = new Map(served.map((r) => [r.resource, r]))
    this.swapping = true
    try {
      for (const [name, kind] of this.kinds) {
        const now = wanted.get(name)
        if (now && now.path === kind.resource.path) continue
        // Its CRD deleted (its objects with it) or another version preferred: what it held is gone.
        this.kinds.delete(name)
        await kind.reflector.stop()
        this.forget(name)
      }
    } finally {
      this.swapping = false
    }
    this.probed = true
    if (served.length === 0)
      this.sayOnce(
        'absent',
        `PolicyReports: the cluster does not serve ${GROUP} (${VERSIONS.join(' nor ')}): no other tool's reports to read; looking again every ${Math.round(this.rediscoverMs / 1000)} s`,
      )
    else if (this.said.delete('absent')) this.options.log(`PolicyReports: ${GROUP} is served now; reading it`)
    for (const resource of served) {
      if (this.kinds.has(resource.resource) || this.stopped) continue
      const kind: ReadKind = {
        resource,
        listed: false,
        reflector: new Reflector(this.options.client, resource, this.sinkOf(resource.resource), {
          forbiddenRetryMs: 60_000,
          ...this.options.reflector,
        }),
      }
      this.kinds.set(resource.resource, kind)
      kind.reflector.start()
    }
    this.checkReady()
  }

  private async servedKinds(): Promise<ApiResource[]> {
    let versions: string[]
    try {
      const group = await this.options.client.get<{ versions?: { version: string }[] }>(`/apis/${GROUP}`)
      versions = (group.versions ?? []).map((v) => v.version)
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return []
      throw err
    }
    const version = VERSIONS.find((v) => versions.includes(v))
    if (!version) return []
    const base = `/apis/${GROUP}/${version}`
    const list = await this.options.client.get<{
      resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[]
    }>(base)
    return (list.resources ?? [])
      .filter((r) => RESOURCES.has(r.name) && r.verbs?.includes('list') && r.verbs.includes('watch'))
      .map((r) => ({
        group: GROUP,
        version,
        kind: r.kind,
        resource: r.name,
        namespaced: r.namespaced,
        path: `${base}/${r.name}`,
        custom: true,
      }))
  }

  private sinkOf(name: string): ReflectorSink {
    const keyOf = (object: KubeObject) => {
      const meta = (object.metadata ?? {}) as { name?: string; namespace?: string }
      return { key: `${name}/${meta.namespace ?? ''}/${meta.name ?? ''}`, meta }
    }
    /** Parses and keeps a report (or drops it: ours, outside the namespaces watched, unreadable). */
    const keep = (object: KubeObject): void => {
      const { key, meta } = keyOf(object)
      const namespace = meta.namespace ?? ''
      if (isOurs(object) || (namespace && this.options.includeNamespace?.(namespace) === false)) {
        this.drop(key)
        return
      }
      const file = `cluster:${this.options.target}/${name}/${namespace ? `${namespace}/` : ''}${meta.name ?? ''}`
      try {
        this.reports.set(key, { file, report: parsePolicyReports(file, [object]) })
      } catch (err) {
        // Not a report after all (a kind of the same name that is not one): said, left out.
        this.sayOnce(`unreadable ${key}`, `PolicyReports: ${errorText(err)}`)
        this.drop(key)
        return
      }
      this.touch()
    }
    return {
      listStarted: () => {
        const kind = this.kinds.get(name)
        if (kind) kind.listing = new Set()
      },
      listed: (_, object) => {
        keep(object)
        this.kinds.get(name)?.listing?.add(keyOf(object).key)
      },
      listEnded: () => {
        const kind = this.kinds.get(name)
        if (!kind) return
        const seen = kind.listing ?? new Set()
        for (const key of [...this.reports.keys()])
          if (key.startsWith(`${name}/`) && !seen.has(key)) this.drop(key)
        kind.listing = undefined
        kind.listed = true
        this.touch()
        this.checkReady()
      },
      changed: (_, type, object) => {
        if (type === 'DELETED') this.drop(keyOf(object).key)
        else keep(object)
      },
      health: (_, health) => this.health(name, health),
    }
  }

  private health(name: string, health: KindHealth): void {
    const kind = this.kinds.get(name)
    if (!kind) return
    // A list that failed part-way is not going on: what it saw so far is kept until the next one ends.
    if (health.state === 'forbidden' || health.state === 'backoff') kind.listing = undefined
    if (health.state === 'forbidden') {
      const first = kind.refused === undefined
      kind.refused = health.error ?? 'forbidden'
      if (first)
        this.options.log(
          `PolicyReports: cannot read ${kind.resource.kind}s (${GROUP}): ${kind.refused}; other tools' ` +
            `${kind.resource.kind}s are not recorded, and none of their findings is resolved meanwhile ` +
            '(grant get, list and watch on them: `plimsoll watch rbac --read-policy-reports`)',
        )
      this.touch()
      this.checkReady()
    } else if (health.state === 'watching' && kind.refused !== undefined) {
      kind.refused = undefined
      this.options.log(`PolicyReports: reading ${kind.resource.kind}s now`)
      this.touch()
    }
  }

  private drop(key: string): void {
    if (this.reports.delete(key)) this.touch()
  }

  private forget(name: string): void {
    for (const key of [...this.reports.keys()]) if (key.startsWith(`${name}/`)) this.reports.delete(key)
    this.touch()
  }

  private checkReady(): void {
    for (const kind of this.kinds.values()) if (!kind.listed && kind.refused === undefined) return
    this.readyResolve()
    this.schedule()
  }

  private touch(): void {
    this.dirty = true
    this.schedule()
  }

  /** Something to record: every served kind listed or refused, and one of them listed (else nothing is known). */
  private canRecord(): boolean {
    if (this.swapping || !this.probed) return false
    const kinds = [...this.kinds.values()]
    // Mid-list (a relist after a 410), the set is the old one and part of the new: wait for its end.
    if (kinds.some((k) => (!k.listed && k.refused === undefined) || k.listing)) return false
    // No kind served is an empty set: it resolves what the reports had (their CRDs were deleted).
    return kinds.length === 0 || kinds.some((k) => k.listed)
  }

  private schedule(): void {
    if (this.stopped || this.recording || !this.dirty || !this.canRecord()) return
    const due = Math.max(Date.now() + this.settleMs, this.lastRecordAt + this.intervalMs)
    if (this.timer) return
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        // Became unready meanwhile (a relist began, kinds are being swapped): its end schedules again.
        if (!this.canRecord()) return
        this.recording = this.record().finally(() => {
          this.recording = undefined
          this.schedule()
        })
      },
      Math.max(0, due - Date.now()),
    )
    this.timer.unref()
  }

  /** Whether the target has runs: an earlier watcher's, whose findings an empty set resolves. */
  private async recordedBefore(): Promise<boolean> {
    const run = await this.options.store.db
      .selectFrom('runs')
      .select('id')
      .where('target', '=', this.options.target)
      .limit(1)
      .executeTakeFirst()
    return run !== undefined
  }

  /** The import the reports make now; recorded unless it is the one recorded last. */
  private async record(): Promise<void> {
    this.dirty = false
    const { store, target } = this.options
    try {
      const keys = [...this.reports.keys()].sort()
      const parts = keys.map((k) => this.reports.get(k)!)
      const rules = await this.options.exceptions()
      const report = importReport(parts, rules)
      // No report in the cluster is still an import of PolicyReports: its target keeps its format.
      if (parts.length === 0)
        report.policyVersion = importVersion([{ format: 'policy-report', tools: [], findings: [] }])
      const refused = [...this.kinds.values()].filter((k) => k.refused !== undefined)
      report.errors = refused.map((k) => ({ file: k.resource.path, message: k.refused! }))
      report.summary.errors = report.errors.length
      const d = digest(report)
      if (d === this.lastDigest) return
      if (parts.length === 0 && this.lastDigest === undefined && !(await this.recordedBefore())) {
        // Nothing to read and nothing to resolve: no empty target made in the store.
        this.lastDigest = d
        return
      }
      const conflict = await targetConflict(store, target, report)
      if (conflict) {
        this.sayOnce('conflict', `PolicyReports: not recorded: ${conflict}`)
        return
      }
      const r = await recordImport(store, report, target, toolInfo().version)
      this.lastDigest = d
      this.lastRecordAt = Date.now()
      this.said.delete('store')
      const first = !this.recordedOnce
      this.recordedOnce = true
      if (r.opened + r.reopened + r.resolved > 0 || first)
        this.options.log(
          `PolicyReports: ${parts.length} report${parts.length === 1 ? '' : 's'} of other tools recorded as run ${r.runId} of '${target}': ` +
            `${report.summary.findings} open, ${r.opened} new, ${r.reopened} reopened, ${r.resolved} resolved` +
            (r.complete
              ? ''
              : ` (incomplete: ${refused.map((k) => k.resource.kind).join(', ')} refused, nothing resolved)`),
        )
    } catch (err) {
      // The store away or busy: tried again at the next turn, with whatever the reports are then.
      this.dirty = true
      this.lastRecordAt = Date.now()
      this.sayOnce(
        'store',
        `PolicyReports: cannot record in ${store.location}: ${errorText(err)}; trying again`,
      )
    }
  }
}

/** What a watcher's command line knows: its connection, its store, its --exceptions files. */
export interface ClusterReaderSetup {
  client: ApiClient
  /** the cluster's own target: the reports go under policyReportTarget of it */
  target: string
  includeNamespace?: (namespace: string) => boolean
  store: Store
  fileRules: readonly ExceptionRule[]
  log: (line: string) => void
  /** --read-policy-report-interval, seconds */
  intervalSeconds: number
}

/** The reader of `watch --read-policy-reports` and `serve --cluster --read-policy-reports`. */
export function readClusterPolicyReports(
  setup: ClusterReaderSetup,
): (running: RunningWatcher) => PolicyReportReaderAttachment {
  const { store } = setup
  return readPolicyReports({
    client: setup.client,
    store,
    target: policyReportTarget(setup.target),
    log: setup.log,
    exceptions: async () => [
      ...setup.fileRules,
      ...(await (await import('../store/exceptions.js')).exceptionRules(store)),
    ],
    intervalMs: setup.intervalSeconds * 1000,
    ...(setup.includeNamespace ? { includeNamespace: setup.includeNamespace } : {}),
  })
}

export interface PolicyReportReaderAttachment extends Attachment {
  readonly reader: PolicyReportReader
}

/**
 * The attachment `plimsoll watch --read-policy-reports` gives its watcher (WatcherSetup.attach): it
 * reads while the watcher runs (under --leader-elect, only on the leader), and stops with it.
 */
export function readPolicyReports(
  options: PolicyReportReaderOptions,
): (running: RunningWatcher) => PolicyReportReaderAttachment {
  return () => {
    const reader = new PolicyReportReader(options)
    reader.start()
    return { reader, stop: () => reader.stop() }
  }
}
