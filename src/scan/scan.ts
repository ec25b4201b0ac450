/**
 * `scan`: read manifests one file at a time, evaluate every resource, keep the findings. Resources are
 * dropped as soon as their file is done, so memory grows with findings, not with input size. Large
 * inputs are spread over worker threads (see pool.ts); the report is the same either way.
 */
import { stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import type { CheckMetadata, Severity } from '../policy/check.js'
import { SEVERITIES, severityRank } from '../policy/check.js'
import { Engine, LATEST_VERSION } from '../policy/engine.js'
import type { CheckStats, ComplianceReport } from '../policy/frameworks.js'
import type { Library } from '../policy/library.js'
import { expandInputs, STDIN } from '../resources/inputs.js'
import { DEFAULT_LIMITS, type ParseLimits } from '../resources/parse.js'
import { type RenderedSource, templateFile } from '../resources/render.js'
import type { LoadError } from '../resources/types.js'
import type { UsageReport } from '../usage/types.js'
import type { BaselineComparison } from './baseline.js'
import type { ResourceMutations } from './mutate.js'
import { type CrossPart, type FileOutcome, ScanPool } from './pool.js'
import { addStats, type ExceptionContext, type Finding, ruleKey, scanText, type Tally } from './scan-file.js'
import type { ServerDefaultedResource } from './server-defaulting.js'
import { type UsageInput, usageIndex } from './usage.js'

export type { Finding } from './scan-file.js'

export interface ScanSummary {
  files: number
  resources: number
  checks: number
  /** check × resource evaluations that passed */
  passed: number
  findings: number
  bySeverity: Record<Severity, number>
  errors: number
  /** files found by a directory walk or glob that hold no Kubernetes objects */
  skipped: number
  /** findings covered by an exception (not in `findings` unless showExcepted) */
  excepted: number
  /** with mutating policies: resources they changed (or failed on) */
  mutated?: number
}

export interface ScanReport {
  /** `latest` or `v1.N`: the policy version the versioned checks (Pod Security) ran at. */
  policyVersion: string
  startedAt: string
  durationMs: number
  summary: ScanSummary
  findings: Finding[]
  errors: LoadError[]
  /** Files found by a directory walk or a glob that hold no Kubernetes objects (values.yaml, package.json...). */
  skipped: string[]
  /** Helm chart directories a directory walk came upon and did not read: scan them with `--helm`. */
  skippedCharts: string[]
  /** Metadata of every check that ran, for reports that describe rules (SARIF, docs). */
  checks: CheckMetadata[]
  /** Per check: resources it applied to and resources it failed on. */
  checkStats: CheckStats
  /** Per namespace: check × resource evaluations, and how many failed. */
  namespaceStats: CheckStats
  /** With `--framework`: the per-control summary. */
  compliance?: ComplianceReport
  /** With mutating policies: what they changed, per resource, in input order (see scan/mutate.ts). */
  mutations?: ResourceMutations[]
  /** With `--baseline`: how today's findings compare with the recorded ones. */
  baseline?: BaselineComparison
  /**
   * With `--as-server v1.N`: the release whose API server changes (policies/data/server-defaulting.yaml)
   * were applied before the checks, and what they changed, per resource changed, in input order.
   */
  asServer?: { version: string; changed: ServerDefaultedResource[] }
  /** Exceptions-file rules that matched no finding: remove them, or fix their matchers. */
  staleExceptions: { file: string; index: number; owner: string; reason: string; checks: string[] }[]
}

export interface ScanOptions {
  inputs: readonly string[]
  library: Library
  /** Minor version (v1.N -> N); omit for latest. */
  version?: number
  limits?: ParseLimits
  /** Threads for large inputs (this one and jobs - 1 workers); 1 scans in this thread. Default: defaultJobs(). */
  jobs?: number
  /** Skip files named explicitly that hold no Kubernetes object, as files found by a walk are. */
  skipNonKubernetes?: boolean
  /** Keep excepted findings in the report (marked `excepted`); by default they are only counted. */
  showExcepted?: boolean
  /** Rules from exceptions files. */
  exceptions?: ExceptionContext
  /** Rendered inputs (kustomize build, helm template), scanned after the files. */
  rendered?: readonly RenderedSource[]
  /**
   * Observed usage (`--usage`): the reports of `plimsoll usage`, matched to the input's workloads by
   * namespace, kind and name, for the checks over CEL's `usage`. Without it `usage` is null everywhere.
   */
  usage?: UsageReport | readonly UsageReport[]
  /** With reports of several clusters: the cluster whose usage counts. */
  usageCluster?: string
  /**
   * Judge each pod and pod template as the API server of release v1.N (N here) would store it on
   * creation (resources/as-server.ts); omit to judge them as written.
   */
  asServer?: number
  onProgress?: (done: number, total: number) => void
}

/** The findings that fail a `--fail-on` gate: open (not excepted, not in the baseline), at or above the threshold. */
export function gatingFindings(findings: readonly Finding[], failOn: Severity): Finding[] {
  return findings.filter(
    (f) => !f.excepted && !f.inBaseline && severityRank(f.severity) >= severityRank(failOn),
  )
}
/**
 * A worker (loading modules, compiling the library) answers its first file after about 0.4 s and runs
 * cold code for half a second more, while this thread scans 5-20 MB/s. Below a few megabytes, or with a
 * single file, one thread finishes first.
 */
const MIN_BYTES_FOR_WORKERS = 4 * 1024 * 1024

async function worthWorkers(files: readonly string[]): Promise<boolean> {
  if (files.length < 2 || files.includes(STDIN)) return false
  let bytes = 0
  for (const f of files) {
    bytes += (await stat(f).catch(() => ({ size: 0 }))).size
    if (bytes >= MIN_BYTES_FOR_WORKERS) return true
  }
  return false
}

/**
 * Threads for a scan: one per core but one, at most 8. V8 does part of a thread's work on threads of
 * its own (garbage collection, optimizing compilation: one thread's scan keeps more than a core busy),
 * and a worker spends its first half second loading the library and compiling the hot code again; on
 * a 2-core machine a second thread made every measured scan slower (docs/architecture.md).
 */
export function defaultJobs(): number {
  return Math.max(1, Math.min(8, availableParallelism() - 1))
}

/**
 * Every file and rendered source scanned, on `threads` threads; then, once the inventory of the whole
 * input is known, the cross-resource checks, file by file.
 */
async function scanAll(
  engine: Engine,
  threads: number,
  files: string[],
  explicit: Set<string>,
  options: ScanOptions,
  { version, limits }: { version: number; limits: ParseLimits },
  onDone: (n: number) => void,
): Promise<{ outcomes: FileOutcome[]; cross: CrossPart[] }> {
  const { exceptions } = options
  const { mutator } = options.library
  const usage = usageInput(options)
  const pool = new ScanPool(
    engine,
    {
      library: options.library.options,
      version,
      limits,
      ...(exceptions ? { exceptions } : {}),
      ...(usage ? { usage } : {}),
      ...(options.asServer === undefined ? {} : { asServer: options.asServer }),
    },
    threads,
    mutator,
  )
  try {
    const outcomes = await pool.scanFiles(files, onDone)
    for (const source of options.rendered ?? []) {
      const result = scanText(engine, source.name, source.text, limits, exceptions, mutator, pool.server)
      outcomes.push(pool.kept.keep({ index: files.length, result }))
      files.push(source.name)
      explicit.add(source.name)
    }
    if (!engine.hasCrossResourceChecks) return { outcomes, cross: [] }
    const records = outcomes.flatMap((o) => ('result' in o ? (o.result.cross?.records ?? []) : []))
    return { outcomes, cross: await pool.cross(records) }
  } finally {
    await pool.close()
  }
}

/** The usage a scan was given, as plain data for its threads; undefined without any. */
function usageInput(options: ScanOptions): UsageInput | undefined {
  if (options.usage === undefined) return undefined
  const reports = Array.isArray(options.usage) ? options.usage : [options.usage as UsageReport]
  return { reports, ...(options.usageCluster === undefined ? {} : { cluster: options.usageCluster }) }
}

export async function scan(options: ScanOptions): Promise<ScanReport> {
  const started = performance.now()
  const startedAt = new Date().toISOString()
  const version = options.version ?? LATEST_VERSION
  const limits = options.limits ?? DEFAULT_LIMITS
  const usage = usageInput(options)
  const engine = new Engine(
    options.library.checks,
    options.library.podTemplates,
    { version, ...(usage ? { usage: usageIndex(usage) } : {}) },
    options.library.foreign,
  )
  const { files, explicit, errors, charts: skippedCharts } = await expandInputs(options.inputs)
  const skipped: string[] = []
  const onDone = (n: number) => options.onProgress?.(n, files.length)
  const jobs = options.jobs ?? defaultJobs()
  const threads = jobs > 1 && (await worthWorkers(files)) ? Math.min(jobs, files.length) : 1
  const { outcomes, cross } = await scanAll(
    engine,
    threads,
    files,
    explicit,
    options,
    { version, limits },
    onDone,
  )

  const findings: Finding[] = []
  const checkStats: CheckStats = {}
  const namespaceStats: CheckStats = {}
  const matchedExceptions = new Set<string>()
  const summary: ScanSummary = {
    files: files.length,
    resources: 0,
    checks: engine.metadata().length,
    passed: 0,
    findings: 0,
    bySeverity: Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>,
    errors: 0,
    skipped: 0,
    excepted: 0,
  }
  const results: Tally[] = []
  const mutations: ResourceMutations[] = []
  const serverChanges: ServerDefaultedResource[] = []
  for (const outcome of outcomes) {
    if ('readError' in outcome) {
      errors.push({ file: files[outcome.index]!, message: `cannot read: ${outcome.readError}` })
      continue
    }
    const r = outcome.result
    if (r.notKubernetes && (options.skipNonKubernetes || !explicit.has(files[outcome.index]!))) {
      skipped.push(files[outcome.index]!)
      continue
    }
    summary.resources += r.resources
    errors.push(...r.errors)
    for (const key of r.matchedExceptions) matchedExceptions.add(key)
    if (r.mutations) mutations.push(...r.mutations)
    if (r.serverChanges) serverChanges.push(...r.serverChanges)
    results.push(r)
  }
  // The cross-resource results come after every file's own, file by file.
  for (const { tally } of cross) {
    for (const key of tally.matchedExceptions) matchedExceptions.add(key)
    results.push(tally)
  }
  for (const r of results) {
    summary.passed += r.passed
    addStats(checkStats, r.checkStats)
    addStats(namespaceStats, r.namespaceStats)
    for (const f of r.findings) {
      if (f.excepted) summary.excepted++
      if (!f.excepted || options.showExcepted) findings.push(f)
    }
  }
  // Cross-resource findings came last; put every finding in input order (file, then document).
  const fileOrder = new Map(files.map((f, i) => [f === STDIN ? '<stdin>' : f, i]))
  // Each finding's file looked up once, not at every comparison (a stable sort, as before).
  const keyed = findings.map((f) => ({
    f,
    file: fileOrder.get(f.location.file) ?? 0,
    document: f.location.documentIndex,
  }))
  keyed.sort((a, b) => a.file - b.file || a.document - b.document)
  for (let i = 0; i < keyed.length; i++) findings[i] = keyed[i]!.f
  const charts = new Map((options.rendered ?? []).flatMap((r) => (r.chart ? [[r.name, r.chart]] : [])))
  for (const f of findings) {
    const chart = charts.get(f.location.file)
    if (chart && f.location.template) f.location.template = templateFile(chart, f.location.template)
  }
  const open = findings.filter((f) => !f.excepted)
  for (const f of open) summary.bySeverity[f.severity]++
  summary.findings = open.length
  summary.errors = errors.length
  summary.skipped = skipped.length
  if (options.library.mutator) summary.mutated = mutations.length
  return {
    policyVersion: version === LATEST_VERSION ? 'latest' : `v1.${version}`,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    summary,
    findings,
    errors,
    skipped,
    skippedCharts,
    checks: engine.metadata(),
    checkStats,
    namespaceStats,
    ...(options.library.mutator ? { mutations } : {}),
    ...(options.asServer === undefined
      ? {}
      : { asServer: { version: `v1.${options.asServer}`, changed: serverChanges } }),
    staleExceptions: (options.exceptions?.rules ?? [])
      .filter((rule) => !matchedExceptions.has(ruleKey(rule)))
      .map(({ file, index, owner, reason, checks }) => ({ file, index, owner, reason, checks })),
  }
}
