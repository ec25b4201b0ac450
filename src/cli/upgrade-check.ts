/**
 * `plimsoll upgrade-check`: what an upgrade to a Kubernetes release does to manifests or to a cluster's
 * objects (src/upgrade). Thin: flags, inputs, the assessment, the report, the exit code.
 */
import { writeFileSync } from 'node:fs'
import { type Command, Option } from 'commander'
import { expandInputs, readSource } from '../resources/inputs.js'
import type { LoadError } from '../resources/types.js'
import type { UpgradeObject } from '../upgrade/evaluate.js'
import { judgeUpgrade, loadUpgradeTables, objectsOfSource } from '../upgrade/judge.js'
import {
  breaks,
  counts,
  type FromSource,
  renderJson,
  renderText,
  servedAtRisk,
  type UpgradeReport,
} from '../upgrade/report.js'
import { toolInfo } from '../version.js'
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import { addKubeOptions, connectionOf, type KubeFlags } from './kube-flags.js'
import { defaultTarget } from './store-run.js'
import { withStore } from './with-store.js'

interface UpgradeFlags extends KubeFlags {
  to?: string
  from?: string
  cluster?: boolean
  format: 'text' | 'json'
  output?: string
  color: boolean
  store?: string
  target?: string
}

/** The oldest release the data covers: removals before it are not listed. */
const OLDEST_COVERED = 16

function minorOf(flag: string, text: string): number | string {
  const m = /^v?1\.(\d+)(\.\d+)?$/.exec(text.trim())
  return m ? Number(m[1]) : `${flag}: expected a release like v1.29, got '${text}'`
}

export function registerUpgradeCheck(program: Command): void {
  const command = program
    .command('upgrade-check')
    .description(
      'what an upgrade to a Kubernetes release breaks or changes: removed and deprecated API versions, features that stop working or become required, and Pod Security Standards verdicts that differ between the two releases',
    )
    .argument(
      '[inputs...]',
      'manifest files, directories, globs, or - for stdin (as plimsoll scan reads them)',
    )
    .option('--to <release>', 'the release to upgrade to, like v1.33 (default: the newest the data knows)')
    .option(
      '--from <release>',
      "the release upgraded from (default: the cluster's with --cluster, else the release before --to)",
    )
    .option('--cluster', "read the cluster's version, served APIs and objects (kubeconfig flags below)")
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json']).default('text'))
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--no-color', 'never colour the text report (default: colour on a terminal)')
    .option(
      '--store <store>',
      'also record the result (a file, or postgres://...): the dashboard shows the latest per target and release',
    )
    .option(
      '--target <name>',
      "what the check is of, in the store (default: the context's name with --cluster, else the inputs as given)",
    )
    .addHelpText(
      'after',
      `
What it reports, for every object read:
  API versions    removed by the target release (the object would be refused), or deprecated by
                  then; with the replacement and the fields that change (kubectl convert helps).
                  From a cluster, the version an object was last applied with (kubectl's
                  last-applied-configuration) is what counts: the server answers in any version.
  Features        in-tree volume plugins removed or handed to CSI drivers, seccomp and AppArmor
                  annotations replaced by fields, PodSecurityPolicy, the Docker socket, beta node
                  labels...; what to do instead. Some changes cannot be seen in manifests (cgroup v1
                  nodes): they are listed with where to look.
  Pod Security    the Pod Security Standards controls whose verdict on a workload differs between
                  --from and --to (the standards are versioned). A namespace in the input that
                  enforces the level at 'latest' refuses those pods after the upgrade: that breaks.

The data lives in policies/data/api-lifecycle.yaml (shared with the deprecated-api-version check)
and policies/data/upgrade-features.yaml, from v1.16 to the newest release they know.

Examples:
  $ plimsoll upgrade-check k8s/ --from v1.24 --to v1.25
  $ helm template ./chart | plimsoll upgrade-check - --to v1.32 --format json
  $ plimsoll upgrade-check --cluster --context prod --to v1.33
  $ plimsoll upgrade-check --cluster -n 'team-*' --to v1.33 --output upgrade.json --format json
  $ plimsoll upgrade-check --cluster --context prod --to v1.33 --store postgres://plimsoll@db/plimsoll
  $ plimsoll upgrade-check k8s/ --from v1.32 --to v1.33 --store plimsoll.db --target shop/deploy

Exit codes: 0 nothing stops working at --to (deprecations and Pod Security changes alone do not fail);
1 something breaks at --to (a removed API version in use, a removed volume plugin, a control a
namespace enforces); 2 usage error, unreadable input, the cluster could not be read, or --store could
not be opened or written.`,
    )
    .action(async (inputs: string[], flags: UpgradeFlags) => {
      process.exitCode = await runUpgradeCheck(inputs, flags)
    })
  addKubeOptions(command, { clusterName: false })
}

async function readFiles(
  inputs: readonly string[],
): Promise<{ objects: UpgradeObject[]; files: number; errors: LoadError[] }> {
  const { files, explicit, errors, charts } = await expandInputs(inputs)
  for (const chart of charts)
    errors.push({
      file: chart,
      message: 'a Helm chart: render it first (helm template ... | plimsoll upgrade-check -)',
    })
  const objects: UpgradeObject[] = []
  let read = 0
  for (const file of files) {
    let text: string
    try {
      text = await readSource(file)
    } catch (err) {
      errors.push({ file, message: `cannot read: ${(err as Error).message}` })
      continue
    }
    const loaded = objectsOfSource(file, text)
    if (loaded.notKubernetes && !explicit.has(file)) continue
    read++
    errors.push(...loaded.errors)
    objects.push(...loaded.objects)
  }
  return { objects, files: read, errors }
}

function fail(message: string): number {
  process.stderr.write(`plimsoll: ${message}\n`)
  return EXIT_USAGE
}

export async function runUpgradeCheck(inputs: string[], flags: UpgradeFlags): Promise<number> {
  if (inputs.length === 0 && !flags.cluster)
    return fail('nothing to check: give manifest files, directories or -, or --cluster')
  if (flags.target !== undefined && flags.store === undefined)
    return fail('--target names the check in the store: give --store too')
  // The built-in library: its Pod Security checks judge the workloads, its pod-template table finds them.
  const tables = loadUpgradeTables()
  const { lifecycle } = tables
  const notes: string[] = []
  let to = lifecycle.newest
  if (flags.to !== undefined) {
    const parsed = minorOf('--to', flags.to)
    if (typeof parsed === 'string') return fail(parsed)
    to = parsed
  } else notes.push(`--to not given: checking against v1.${to}, the newest release the data knows`)
  if (to > lifecycle.newest)
    notes.push(
      `the data knows releases up to v1.${lifecycle.newest}: what v1.${to} adds to them is not known`,
    )
  let from: number | undefined
  let fromSource: FromSource = 'default'
  if (flags.from !== undefined) {
    const parsed = minorOf('--from', flags.from)
    if (typeof parsed === 'string') return fail(parsed)
    from = parsed
    fromSource = 'flag'
    if (from > to) return fail(`--from v1.${from} is after --to v1.${to}: an upgrade goes forward`)
  }

  const objects: UpgradeObject[] = []
  const errors: LoadError[] = []
  let files = 0
  if (inputs.length > 0) {
    const read = await readFiles(inputs)
    objects.push(...read.objects)
    errors.push(...read.errors)
    files = read.files
  }
  let cluster: UpgradeReport['cluster']
  let target = flags.target ?? defaultTarget(inputs, [])
  if (flags.cluster) {
    const connection = await connectionOf(flags)
    if (typeof connection === 'string') return fail(connection)
    // As `plimsoll watch` names it by default, so that the dashboard puts the two side by side.
    if (flags.target === undefined) target = connection.target
    const { readCluster } = await import('../upgrade/cluster.js')
    try {
      const live = await readCluster(connection.client, {
        lifecycle,
        podTemplates: tables.library.podTemplates,
        includeNamespace: connection.includeNamespace,
      })
      objects.push(...live.objects)
      if (from === undefined) {
        from = live.version.minor
        fromSource = 'cluster'
      } else if (from !== live.version.minor) {
        notes.push(`--from v1.${from} given; the cluster runs ${live.version.gitVersion}`)
      }
      cluster = {
        gitVersion: live.version.gitVersion,
        servedAtRisk: servedAtRisk(live.served, live.servedKinds, lifecycle, to),
        notRead: live.notRead,
      }
    } catch (err) {
      return fail(`cannot read the cluster at ${connection.client.server}: ${(err as Error).message}`)
    }
  }
  if (from === undefined) {
    from = to - 1
    notes.push(`--from not given: assuming an upgrade from v1.${from}, one release before --to`)
  }
  if (from > to)
    return fail(`the cluster runs ${cluster?.gitVersion}, after --to v1.${to}: an upgrade goes forward`)
  if (from < OLDEST_COVERED)
    notes.push(`the data starts at v1.${OLDEST_COVERED}: API versions removed before it are not listed`)

  const report = judgeUpgrade(tables, objects, {
    from,
    to,
    fromSource,
    files,
    errors,
    notes,
    ...(cluster ? { cluster } : {}),
  })
  const color = flags.color && flags.output === undefined && process.stdout.isTTY === true
  const body = flags.format === 'json' ? renderJson(report) : renderText(report, color)
  if (flags.output !== undefined) writeFileSync(flags.output, body)
  else process.stdout.write(body)
  if (flags.store !== undefined) {
    const stored = await recordCheck(flags.store, report, target)
    if (stored !== EXIT_OK) return stored
  }
  if (errors.length > 0) return EXIT_USAGE
  return breaks(report) ? EXIT_FINDINGS : EXIT_OK
}

/**
 * Records the report for the dashboard; says where on stderr (stdout holds the report). A check whose
 * inputs could not all be read is recorded too, with how many errors: it is what was seen.
 */
async function recordCheck(location: string, report: UpgradeReport, target: string): Promise<number> {
  return withStore(location, 'plimsoll upgrade-check', async (store) => {
    const { recordUpgradeCheck } = await import('../store/upgrade-checks.js')
    try {
      const { id } = await recordUpgradeCheck(store, {
        report,
        target,
        plimsollVersion: toolInfo().version,
      })
      const n = counts(report)
      process.stderr.write(
        `plimsoll upgrade-check: recorded check ${id} of '${target}' (v1.${report.from} to v1.${report.to}: ${n.breaks} breaking, ${n.changes} Pod Security changes, ${n.deprecated} deprecated) in ${store.location}\n`,
      )
      return EXIT_OK
    } catch (err) {
      return fail(`cannot record the check in ${store.location}: ${(err as Error).message}`)
    }
  })
}
