/**
 * `plimsoll watch`: the cluster door. Connects with a kubeconfig context (or the pod's service
 * account), keeps the findings of the live objects current in the store, and says what changes.
 */
import { type Command, Option } from 'commander'
import { LATEST_VERSION } from '../policy/engine.js'
import type { Store } from '../store/connect.js'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import {
  addLibraryOptions,
  collect,
  exceptionFileRules,
  type LibraryFlags,
  libraryOf,
  policyVersionOf,
} from './library-flags.js'

interface WatchFlags extends LibraryFlags {
  kubeconfig?: string
  context?: string
  inCluster?: boolean
  cluster?: string
  namespace: string[]
  excludeNamespace: string[]
  store?: string | boolean
  once?: boolean
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
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: its current context)')
    .option('--in-cluster', "use the pod's service account (default inside a pod without a kubeconfig)")
    .option(
      '--cluster <name>',
      "the cluster's name in the store and the dashboard (default: the context's name)",
    )
    .addOption(
      new Option('-n, --namespace <glob>', 'watch only namespaces matching this glob (repeatable)')
        .argParser(collect)
        .default([], 'all'),
    )
    .addOption(
      new Option('--exclude-namespace <glob>', 'do not watch namespaces matching this glob (repeatable)')
        .argParser(collect)
        .default([], 'none'),
    )
    .option(
      '--store [db]',
      `where findings are kept (default store: ${'$'}XDG_DATA_HOME/plimsoll/plimsoll.db; or a file, or postgres://user:pass@host/db)`,
    )
    .option('--no-store', 'keep nothing: print what changes only')
    .option('--once', 'list everything once, record the run, print the summary and exit')
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll watch                                  the current context, into the default store
  $ plimsoll watch --context prod --cluster prod-eu  another context, named in the store
  $ plimsoll watch -n 'team-*' --exclude-namespace team-sandbox
  $ plimsoll watch --once --no-store                 list once and print the findings' summary
  $ plimsoll serve --store ...                       the dashboard over the same store

The watcher needs get, list and watch on the kinds it reads: see docs/cluster.md for the
least-privilege ClusterRole.`,
    )
    .action(async (flags: WatchFlags) => {
      process.exitCode = await runWatch(flags)
    })
  addLibraryOptions(command)
}

function globMatcher(globs: readonly string[]): (name: string) => boolean {
  const res = globs.map(
    (g) =>
      new RegExp(
        `^${g
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      ),
  )
  return (name) => res.some((re) => re.test(name))
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

  const { ApiClient, loadKubeConfig } = await import('../cluster/client.js')
  let client: InstanceType<typeof ApiClient>
  try {
    client = new ApiClient(
      loadKubeConfig({
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
        ...(flags.inCluster ? { inCluster: true } : {}),
      }),
    )
  } catch (err) {
    say((err as Error).message)
    return EXIT_USAGE
  }
  const target = flags.cluster ?? client.contextName

  let store: Store | undefined
  if (flags.store !== false) {
    const { defaultStorePath, openStore } = await import('../store/connect.js')
    try {
      store = await openStore(typeof flags.store === 'string' ? flags.store : defaultStorePath())
    } catch (err) {
      say(`--store: ${(err as Error).message}`)
      return EXIT_USAGE
    }
  }
  const { runWatcher } = await import('../cluster/run.js')
  const outcome = await runWatcher({
    client,
    library,
    version: policyVersion.version ?? LATEST_VERSION,
    target,
    fileRules,
    ...(store ? { store } : {}),
    includeNamespace: namespaceFilter(flags),
    once: flags.once === true,
    log: say,
  })
  return outcome.ok ? EXIT_OK : EXIT_USAGE
}

function namespaceFilter(flags: WatchFlags): (namespace: string) => boolean {
  const include = flags.namespace.length > 0 ? globMatcher(flags.namespace) : () => true
  const exclude = globMatcher(flags.excludeNamespace)
  return (namespace) => include(namespace) && !exclude(namespace)
}
