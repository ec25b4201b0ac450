import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { isSeverity, SEVERITIES, type Severity } from '../policy/check.js'
import { utcToday } from '../policy/exceptions.js'
import { compliance } from '../policy/frameworks.js'
import { UsageDataError } from '../policy/usage.js'
import { renderCodeQuality } from '../report/code-quality.js'
import { unaccountedExceptions, unaccountedWarning } from '../report/exception-warnings.js'
import { renderGithub } from '../report/github.js'
import { renderJsonPieces } from '../report/json.js'
import { renderJunit } from '../report/junit.js'
import { renderMarkdown } from '../report/markdown.js'
import { renderPolicyReports } from '../report/policy-report.js'
import { renderSarif } from '../report/sarif.js'
import { renderText, type TextOptions } from '../report/text.js'
import { asServerRelease, builtinServerDefaulting } from '../resources/as-server.js'
import { DEFAULT_LIMITS } from '../resources/parse.js'
import { RenderError, type RenderedSource, renderHelm, renderKustomize } from '../resources/render.js'
import { applyBaseline, type BaselineFile, createBaseline, readBaseline } from '../scan/baseline.js'
import { defaultJobs, gatingFindings, type ScanReport, scan } from '../scan/scan.js'
import { readUsageFile, UsageFileError, usageIndex } from '../scan/usage.js'
import type { Store } from '../store/connect.js'
import type { RunSource } from '../store/schema.js'
import type { UsageReport } from '../usage/types.js'
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import { FORMATS, type Format, type OutputSpec, parseFormats } from './formats.js'
import {
  addLibraryOptions,
  collect,
  exceptionFileRules,
  type LibraryFlags,
  libraryOf,
  policyVersionOf,
} from './library-flags.js'
import { defaultTarget, openRunStore, parseSource, storeRun } from './store-run.js'

interface ScanFlags extends LibraryFlags {
  format: OutputSpec[]
  output?: string
  failOn: Severity | 'none'
  maxDocumentSize: number
  jobs: number
  showExcepted: boolean
  store?: string | true
  target?: string
  source: RunSource
  skipNonKubernetes?: boolean
  baseline?: string
  baselineWrite?: string
  kustomize: string[]
  helm?: string
  values: string[]
  usage: string[]
  usageCluster?: string
  asServer?: string
  color?: boolean
}

function parseFailOn(value: string): Severity | 'none' {
  if (value === 'none' || isSeverity(value)) return value
  throw new InvalidArgumentError(`expected one of: ${[...SEVERITIES].reverse().join(', ')}, none`)
}

export function parsePositive(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1')
  return n
}

function parseSize(value: string): number {
  const m = /^(\d+)([kKmM]i?)?$/.exec(value)
  if (!m) throw new InvalidArgumentError('expected a size in bytes, e.g. 3Mi or 512Ki')
  const unit = m[2]?.[0]?.toLowerCase()
  return Number(m[1]) * (unit === 'm' ? 1024 * 1024 : unit === 'k' ? 1024 : 1)
}

export function registerScan(program: Command): void {
  const command = program
    .command('scan')
    .summary('check Kubernetes manifests against the policy library')
    .description(
      'Check Kubernetes manifests (YAML or JSON; multi-document files, kind: List) against the built-in ' +
        'policy library (the Pod Security Standards, Baseline and Restricted) and your own checks. ' +
        'Every resource that carries a pod spec (Pod, Deployment, CronJob, Argo Rollout...) is checked.',
    )
    .argument(
      '[inputs...]',
      'files, directories (searched recursively for .yaml, .yml, .json), globs, or - for stdin',
    )
    .addOption(
      new Option(
        '-f, --format <formats>',
        `reports to write: ${FORMATS.join(', ')}; several with commas, each to a file with =path`,
      )
        .argParser(parseFormats)
        .default([{ format: 'text' }], 'text'),
    )
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option(
      '--fail-on <severity>',
      'exit 1 when a finding is at or above this severity (critical, high, medium, low, info, none)',
      parseFailOn,
      'high',
    )
    .addOption(
      new Option('--max-document-size <size>', 'largest YAML document accepted, e.g. 512Ki or 8Mi')
        .argParser(parseSize)
        .default(DEFAULT_LIMITS.maxDocumentBytes, '3Mi'),
    )
    .addOption(
      new Option('-j, --jobs <n>', 'threads for large inputs (1: this one only)')
        .argParser(parsePositive)
        .default(defaultJobs(), 'one per core but one, at most 8'),
    )
    .option(
      '--framework <id>',
      'run only the checks of a framework and print its per-control compliance: pss-baseline, pss-restricted, cis, nsa',
    )
    .option('--baseline <file>', 'fail only on findings that are not in this baseline (see --baseline-write)')
    .option('--baseline-write <file>', "record this run's findings as the baseline, to accept today's debt")
    .addOption(
      new Option(
        '--kustomize <dir>',
        'scan what `kustomize build` (or `kubectl kustomize`) renders from this directory (repeatable)',
      )
        .argParser(collect)
        .default([], 'none'),
    )
    .option('--helm <chart>', 'scan what `helm template` renders from this chart')
    .addOption(
      new Option('--values <file>', 'values file for --helm (repeatable)')
        .argParser(collect)
        .default([], 'none'),
    )
    .addOption(
      new Option(
        '--usage <file>',
        'observed usage for the checks over it (the JSON of `plimsoll usage --format json`; repeatable)',
      )
        .argParser(collect)
        .default([], 'none'),
    )
    .option('--usage-cluster <name>', "with --usage: only this cluster's usage, when the files hold several")
    .option(
      '--as-server <version>',
      'judge pods and pod templates as the API server of this release (v1.N) would store them on creation: legacy seccomp/AppArmor annotations synced with their fields, procMount reset while its gate is off; v1.16 to the newest release known (see "Evaluating as a given API server" in docs/ci.md)',
    )
    .option(
      '--store [db]',
      `record the run: findings' first/last seen and resolution over time (default store: ${'$'}XDG_DATA_HOME/plimsoll/plimsoll.db; or a file, or postgres://user:pass@host/db)`,
    )
    .option(
      '--target <name>',
      'with --store: what this scan is of (a repository, an environment); default: the inputs',
    )
    .option('--source <source>', 'with --store: ci, cluster or admission', parseSource, 'ci')
    .option('--show-excepted', 'list findings covered by an exception too (they never fail the gate)')
    .option(
      '--skip-non-kubernetes',
      'skip files named on the command line that hold no Kubernetes object (a CI config, a values.yaml), as a directory walk does, instead of reporting them as errors; for pre-commit and other callers that pass every staged YAML file',
    )
    .option('--no-color', 'never colour the text report (default: colour on a terminal)')
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll scan k8s/                         scan every manifest under k8s/
  $ helm template ./chart | plimsoll scan -    scan rendered output from stdin
  $ plimsoll scan 'deploy/**/*.yaml' --fail-on medium
  $ plimsoll scan k8s/ --format json --output plimsoll.json
  $ plimsoll scan k8s/ --format text,junit=junit.xml,markdown=summary.md
  $ plimsoll scan k8s/ --format text,sarif=plimsoll.sarif   for GitHub code scanning
  $ plimsoll scan k8s/ --baseline-write .plimsoll-baseline.json   then, in CI:
  $ plimsoll scan k8s/ --baseline .plimsoll-baseline.json         fails only on new findings
  $ plimsoll scan k8s/ --pss-version v1.25 --policy ./our-checks/
  $ plimsoll scan --kustomize overlays/production
  $ plimsoll scan --helm ./chart --values values-prod.yaml
  $ plimsoll scan k8s/ --usage usage.json      also judge requests against observed usage
  $ plimsoll scan k8s/ --as-server v1.26       judge what a v1.26 API server would store: a Pod
                                               with only a seccomp annotation gets its seccompProfile
                                               field there, and none from v1.27

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 usage error,
unreadable or invalid input, or a broken check (the other inputs are still scanned and reported).`,
    )
    .action(async (inputs: string[], flags: ScanFlags) => {
      process.exitCode = await runScan(inputs, flags)
    })
  addLibraryOptions(command)
}

/** A report, whole or (JSON, which can be tens of MB) in pieces. */
function render(format: Format, report: ScanReport, text: TextOptions): string | Iterable<string> {
  switch (format) {
    case 'text':
      return renderText(report, text)
    case 'json':
      return renderJsonPieces(report)
    case 'junit':
      return renderJunit(report, text.failOn)
    case 'github':
      return renderGithub(report)
    case 'markdown':
      return renderMarkdown(report)
    case 'policyreport':
      return renderPolicyReports(report)
    case 'sarif':
      return renderSarif(report)
    case 'codequality':
      return renderCodeQuality(report)
  }
}

function writeReport(path: string, body: string | Iterable<string>): void {
  if (typeof body === 'string') {
    writeFileSync(path, body)
    return
  }
  const fd = openSync(path, 'w')
  try {
    for (const piece of body) writeFileSync(fd, piece)
  } finally {
    closeSync(fd)
  }
}

async function runScan(inputs: string[], flags: ScanFlags): Promise<number> {
  const policyVersion = policyVersionOf(flags)
  if (typeof policyVersion === 'string') {
    process.stderr.write(`plimsoll: ${policyVersion}\n`)
    return EXIT_USAGE
  }
  const { version } = policyVersion
  let asServer: number | undefined
  if (flags.asServer !== undefined) {
    const release = asServerRelease(flags.asServer, builtinServerDefaulting())
    if (typeof release === 'string') {
      process.stderr.write(`plimsoll: --as-server: ${release}\n`)
      return EXIT_USAGE
    }
    asServer = release
  }
  if (inputs.length === 0 && flags.kustomize.length === 0 && flags.helm === undefined) {
    process.stderr.write(
      'plimsoll: nothing to scan: give files, directories, globs or -, or --kustomize / --helm\n',
    )
    return EXIT_USAGE
  }
  const rendered: RenderedSource[] = []
  try {
    for (const dir of flags.kustomize) rendered.push(renderKustomize(dir))
    if (flags.helm !== undefined) rendered.push(renderHelm(flags.helm, flags.values))
  } catch (err) {
    if (!(err instanceof RenderError)) throw err
    process.stderr.write(`plimsoll: ${err.message}\n`)
    return EXIT_USAGE
  }
  let baseline: BaselineFile | undefined
  if (flags.baseline) {
    try {
      baseline = readBaseline(flags.baseline)
    } catch (err) {
      process.stderr.write(`plimsoll: --baseline: ${(err as Error).message}\n`)
      return EXIT_USAGE
    }
  }
  const usage: UsageReport[] = []
  try {
    for (const file of flags.usage) usage.push(readUsageFile(file))
    // Ambiguities (a workload in two clusters' reports) are found before anything is scanned.
    if (usage.length > 0)
      usageIndex({ reports: usage, ...(flags.usageCluster ? { cluster: flags.usageCluster } : {}) })
  } catch (err) {
    if (!(err instanceof UsageFileError || err instanceof UsageDataError)) throw err
    process.stderr.write(`plimsoll: --usage: ${(err as Error).message}\n`)
    return EXIT_USAGE
  }
  if (flags.usageCluster !== undefined && usage.length === 0) {
    process.stderr.write('plimsoll: --usage-cluster needs --usage\n')
    return EXIT_USAGE
  }
  const rules = exceptionFileRules(flags)
  if (typeof rules === 'string') {
    process.stderr.write(`plimsoll: ${rules}\n`)
    return EXIT_USAGE
  }
  let store: Store | undefined
  if (flags.store !== undefined) {
    const opened = await openRunStore(flags)
    if (typeof opened === 'string') {
      process.stderr.write(`plimsoll: --store: ${opened}\n`)
      return EXIT_USAGE
    }
    store = opened
    // The store's exceptions register applies to the runs recorded in it, as an exceptions file would.
    const { exceptionRules } = await import('../store/exceptions.js')
    rules.push(...(await exceptionRules(store)))
  }
  const library = libraryOf(flags)
  if (typeof library === 'string') {
    process.stderr.write(`plimsoll: ${library}\n`)
    await store?.close()
    return EXIT_USAGE
  }
  for (const warning of library.policyWarnings) process.stderr.write(`plimsoll: warning: ${warning}\n`)
  // Progress goes to stderr, and only to a terminal: logs and pipes stay clean.
  const showProgress = process.stderr.isTTY === true
  const report = await scan({
    inputs,
    library,
    ...(version === undefined ? {} : { version }),
    limits: { ...DEFAULT_LIMITS, maxDocumentBytes: flags.maxDocumentSize },
    jobs: flags.jobs,
    // Excepted findings are kept for the warnings below (and the store), then dropped from the reports.
    showExcepted: true,
    skipNonKubernetes: flags.skipNonKubernetes === true,
    rendered,
    ...(usage.length > 0 ? { usage } : {}),
    ...(flags.usageCluster === undefined ? {} : { usageCluster: flags.usageCluster }),
    ...(asServer === undefined ? {} : { asServer }),
    // Always given: annotations' expiry dates are judged at this date too.
    exceptions: { rules, today: utcToday() },
    ...(showProgress
      ? {
          onProgress: (done: number, total: number) => {
            if (total >= 20)
              process.stderr.write(done < total ? `\rscanning ${done}/${total} files` : '\r\x1b[K')
          },
        }
      : {}),
  })
  const unaccounted = unaccountedExceptions(report.findings)
  const warning = unaccountedWarning(unaccounted)
  if (warning) process.stderr.write(`plimsoll: warning: ${warning}\n`)
  if (!flags.showExcepted && !store) report.findings = report.findings.filter((f) => !f.excepted)
  // A policy rule that could not be loaded is an input error: named in every report, the rest still ran.
  report.errors.unshift(...library.policyErrors)
  report.summary.errors = report.errors.length
  if (baseline) report.baseline = applyBaseline(report.findings, baseline)
  if (flags.baselineWrite)
    writeFileSync(flags.baselineWrite, `${JSON.stringify(createBaseline(report.findings), null, 2)}\n`)
  if (library.frameworkChain)
    report.compliance = compliance(library.frameworkChain, report.checks, report.checkStats)
  if (store) {
    const target =
      flags.target ??
      defaultTarget(
        inputs,
        rendered.map((r) => r.name),
      )
    // storeRun closes the store.
    const problem = await storeRun(store, report, flags, target, rendered)
    if (problem) {
      process.stderr.write(`plimsoll: --store: ${problem}\n`)
      return EXIT_USAGE
    }
    if (!flags.showExcepted) report.findings = report.findings.filter((f) => !f.excepted)
  }
  const failOn = flags.failOn === 'none' ? undefined : flags.failOn
  let unwritten = false
  for (const spec of flags.format) {
    const path = spec.path ?? flags.output
    const toTerminal = path === undefined && process.stdout.isTTY === true
    const body = render(spec.format, report, {
      color: flags.color !== false && toTerminal,
      ...(failOn ? { failOn } : {}),
      unaccounted,
    })
    if (path === undefined) {
      for (const piece of typeof body === 'string' ? [body] : body) process.stdout.write(piece)
      continue
    }
    try {
      mkdirSync(dirname(resolve(path)), { recursive: true })
      writeReport(path, body)
    } catch (err) {
      // Every other report is still written; the run then exits as an input error would.
      process.stderr.write(
        `plimsoll: cannot write the ${spec.format} report to ${path}: ${(err as Error).message}\n`,
      )
      unwritten = true
    }
  }
  if (report.errors.length > 0 || unwritten) return EXIT_USAGE
  if (failOn && gatingFindings(report.findings, failOn).length > 0) return EXIT_FINDINGS
  return EXIT_OK
}
