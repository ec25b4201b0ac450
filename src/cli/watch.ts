/**
 * `plimsoll watch`: the cluster door. Connects with a kubeconfig context (or the pod's service
 * account), keeps the findings of the live objects current in the store, and says what changes.
 */
import { type Command, Option } from 'commander'
import { LATEST_VERSION } from '../policy/engine.js'
import type { Store } from '../store/connect.js'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import { addKubeOptions, connectionOf, type KubeFlags } from './kube-flags.js'
import { addLeaderOptions, electionOf, type LeaderFlags } from './leader-flags.js'
import {
  addLibraryOptions,
  exceptionFileRules,
  type LibraryFlags,
  libraryOf,
  policyVersionOf,
} from './library-flags.js'
import {
  addReadPolicyReportOptions,
  policyReportReaders,
  type ReadPolicyReportFlags,
} from './read-policy-report-flags.js'
import { parsePositive } from './scan.js'

interface WatchFlags extends LibraryFlags, KubeFlags, LeaderFlags, ReadPolicyReportFlags {
  store?: string | boolean
  once?: boolean
  policyReports?: boolean
  policyReportResults: number
  policyReportInterval: number
}

export function registerWatch(program: Command): void {
  const command = program
    .command('watch')
    .summary('keep the findings of a live cluster current')
    .description(
      'List and watch the objects of a Kubernetes cluster that the checks and policies look at, evaluate ' +
        'them with the same engine as `scan`, and keep their findings current in the store: a finding ' +
        'opens when an object breaks a rule and is resolved when the object is fixed or deleted. Only ' +
        'the kinds some policy reads are fetched, and managedFields and status are dropped before an ' +
        'object is kept.',
    )
    .option(
      '--store [db]',
      `where findings are kept (default store: ${'$'}XDG_DATA_HOME/plimsoll/plimsoll.db; or a file, or postgres://user:pass@host/db)`,
    )
    .option('--no-store', 'keep nothing: print what changes only')
    .option('--once', 'list everything once, record the run, print the summary and exit')
    .option(
      '--policy-reports',
      'keep a wgpolicyk8s.io/v1alpha2 PolicyReport per namespace with failures, and a ClusterPolicyReport, ' +
        'in the cluster (server-side apply; needs the CRDs and `watch rbac --policy-reports`)',
    )
    .addOption(
      new Option(
        '--policy-report-results <n>',
        'results a report lists at most, failing and worst severity first (its summary counts them all)',
      )
        .argParser(parsePositive)
        .default(200),
    )
    .addOption(
      new Option('--policy-report-interval <seconds>', 'at most one write per report this often')
        .argParser(parsePositive)
        .default(10),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll watch                                  the current context, into the default store
  $ plimsoll watch --context prod --cluster-name prod-eu   another context, named in the store
  $ plimsoll watch -n 'team-*' --exclude-namespace team-sandbox
  $ plimsoll watch --once --no-store                 list once and print the findings' summary
  $ plimsoll watch --policy-reports                  and keep PolicyReports in the cluster
  $ plimsoll watch --read-policy-reports             and record Kyverno's (and others') in the store
  $ plimsoll watch --leader-elect --identity "$POD_NAME" --store postgres://...   one of several replicas
  $ plimsoll serve --db ...                          the dashboard over the same store

The watcher needs get, list and watch on the kinds it reads: see docs/cluster.md for the
least-privilege ClusterRole (and what --policy-reports adds to it).`,
    )
    .action(async (flags: WatchFlags) => {
      process.exitCode = await runWatch(flags)
    })
  addReadPolicyReportOptions(command)
  addLeaderOptions(command, 'watch', 'plimsoll-watcher')
  addKubeOptions(command)
  addLibraryOptions(command)

  const rbac = command
    .command('rbac')
    .summary('print the least-privilege RBAC the watcher needs')
    .description(
      'Print a ServiceAccount, a ClusterRole and a ClusterRoleBinding granting get, list and watch on ' +
        'exactly the kinds the loaded checks and policies read in this cluster (found by discovery, so ' +
        'custom resources are named as the cluster serves them), for `kubectl apply -f -`.',
    )
    .option('--name <name>', 'name of the ServiceAccount, ClusterRole and binding', 'plimsoll-watcher')
    .option('--service-namespace <namespace>', 'namespace the watcher runs in', 'plimsoll')
    .option(
      '--policy-reports',
      'also let it write its PolicyReports (create, patch, delete, list on wgpolicyk8s.io reports)',
    )
    .option(
      '--read-policy-reports',
      "also let it read other tools' PolicyReports (get, list, watch on wgpolicyk8s.io reports)",
    )
    .option(
      '--leader-elect',
      'also a Role in the lease namespace: get and update on the Lease by name, create on leases',
    )
    .option('--lease-name <name>', 'the Lease of watch --leader-elect', 'plimsoll-watcher')
    .option('--lease-namespace <namespace>', "the Lease's namespace (default: --service-namespace)")
    .addHelpText(
      'after',
      `
Example:
  $ plimsoll watch rbac --context prod | kubectl --context prod apply -f -
  $ plimsoll watch rbac --policy-reports | kubectl apply -f -   for watch --policy-reports`,
    )
    // The kube and library flags are watch's too: given after `rbac`, commander may hand them to either.
    .action(async (_flags: RbacFlags, cmd: Command) => {
      // Globals overwrite locals in optsWithGlobals: the lease flags, watch's too, come from where given.
      const all = cmd.optsWithGlobals<RbacFlags>()
      const own = cmd.opts<RbacFlags>()
      const given = <K extends keyof RbacFlags>(key: K) =>
        cmd.getOptionValueSource(key) === 'cli' ? own[key] : all[key]
      process.exitCode = await printRbac({
        ...all,
        leaderElect: given('leaderElect'),
        leaseName: given('leaseName'),
        leaseNamespace: given('leaseNamespace'),
      })
    })
  addKubeOptions(rbac)
  addLibraryOptions(rbac)
}

interface RbacFlags extends LibraryFlags, KubeFlags {
  name: string
  serviceNamespace: string
  policyReports?: boolean
  readPolicyReports?: boolean
  leaderElect?: boolean
  leaseName: string
  leaseNamespace?: string
}

async function printRbac(flags: RbacFlags): Promise<number> {
  const library = libraryOf(flags)
  if (typeof library === 'string') {
    say(library)
    return EXIT_USAGE
  }
  const connection = await connectionOf(flags)
  if (typeof connection === 'string') {
    say(connection)
    return EXIT_USAGE
  }
  const { discover } = await import('../cluster/discovery.js')
  const { selectKinds } = await import('../cluster/kinds.js')
  const { POLICY_REPORT_RULE, readRules, rbacManifests } = await import('../cluster/rbac.js')
  const { POLICY_REPORT_READ_RULE } = await import('../cluster/policy-report-reader.js')
  const { Engine } = await import('../policy/engine.js')
  const engine = new Engine(
    library.checks,
    library.podTemplates,
    { version: LATEST_VERSION },
    library.foreign,
  )
  try {
    const served = await discover(connection.client)
    for (const f of served.failed) say(`warning: discovery of ${f.groupVersion} failed: ${f.message}`)
    const kinds = selectKinds(engine, served.resources).map((k) => k.resource)
    const rules = [
      ...readRules(kinds),
      ...(flags.policyReports ? [POLICY_REPORT_RULE] : []),
      ...(flags.readPolicyReports ? [POLICY_REPORT_READ_RULE] : []),
    ]
    process.stdout.write(
      rbacManifests(rules, {
        name: flags.name,
        namespace: flags.serviceNamespace,
        ...(flags.leaderElect
          ? { lease: { name: flags.leaseName, namespace: flags.leaseNamespace ?? flags.serviceNamespace } }
          : {}),
      }),
    )
    return EXIT_OK
  } catch (err) {
    say(`cannot read ${connection.client.server}'s discovery: ${(err as Error).message}`)
    return EXIT_USAGE
  }
}

const say = (line: string) => process.stderr.write(`plimsoll: ${line}\n`)

async function runWatch(flags: WatchFlags): Promise<number> {
  const policyVersion = policyVersionOf(flags)
  const fileRules = exceptionFileRules(flags)
  const library = libraryOf(flags)
  if (typeof policyVersion === 'string' || typeof fileRules === 'string' || typeof library === 'string') {
    for (const problem of [policyVersion, fileRules, library]) if (typeof problem === 'string') say(problem)
    return EXIT_USAGE
  }
  for (const warning of library.policyWarnings) say(`warning: ${warning}`)
  for (const error of library.policyErrors) say(`${error.file}: ${error.message}`)

  if (flags.readPolicyReports && flags.store === false) {
    say('--read-policy-reports records in the store: it does not go with --no-store')
    return EXIT_USAGE
  }
  const connection = await connectionOf(flags)
  if (typeof connection === 'string') {
    say(connection)
    return EXIT_USAGE
  }
  let store: Store | undefined
  if (flags.store !== false) {
    const { defaultStorePath, openStore } = await import('../store/connect.js')
    try {
      // The watcher writes all the time beside evaluating: SQLite in a thread of its own (sqlite.ts).
      store = await openStore(typeof flags.store === 'string' ? flags.store : defaultStorePath(), {
        writerThread: true,
      })
    } catch (err) {
      say(`--store: ${(err as Error).message}`)
      return EXIT_USAGE
    }
  }
  const { runWatcher } = await import('../cluster/run.js')
  const attach = []
  if (flags.policyReports) {
    const { policyReports } = await import('../cluster/policy-report-writer.js')
    attach.push(
      policyReports({
        client: connection.client,
        log: say,
        maxResults: flags.policyReportResults,
        intervalMs: flags.policyReportInterval * 1000,
        includeNamespace: connection.includeNamespace,
      }),
    )
  }
  if (store) attach.push(...(await policyReportReaders(flags, { ...connection, store, fileRules, log: say })))
  const setup = {
    ...connection,
    library,
    version: policyVersion.version ?? LATEST_VERSION,
    fileRules,
    ...(store ? { store } : {}),
    log: say,
    attach,
  }
  if (flags.leaderElect && flags.once) {
    say('--once and --leader-elect do not go together')
    return EXIT_USAGE
  }
  const election = electionOf(flags, connection.client, say)
  if (typeof election === 'string') {
    say(election)
    return EXIT_USAGE
  }
  if (election) {
    const { runElectedWatcher } = await import('../cluster/run.js')
    const outcome = await runElectedWatcher(setup, election)
    return outcome.ok ? EXIT_OK : EXIT_USAGE
  }
  const outcome = await runWatcher({ ...setup, once: flags.once === true })
  return outcome.ok ? EXIT_OK : EXIT_USAGE
}
