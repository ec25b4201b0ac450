import { Command, CommanderError } from 'commander'
import { toolInfo } from '../version.js'
import { EXIT_USAGE } from './exit-codes.js'

/**
 * The commands, each imported only when it runs: the server's and the store's modules cost every other
 * command half a second and 30 MB to load. `--help` and unknown words load them all, for the listing.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  scan: async () => (await import('./scan.js')).registerScan,
  mutate: async () => (await import('./mutate.js')).registerMutate,
  checks: async () => (await import('./checks.js')).registerChecks,
  policy: async () => (await import('./policy.js')).registerPolicy,
  kyverno: async () => (await import('./kyverno.js')).registerKyverno,
  watch: async () => (await import('./watch.js')).registerWatch,
  serve: async () => (await import('./serve.js')).registerServe,
  token: async () => (await import('./token.js')).registerToken,
  exceptions: async () => (await import('./exceptions.js')).registerExceptions,
  agent: async () => (await import('./agent.js')).registerAgent,
  webhook: async () => (await import('./webhook.js')).registerWebhook,
  enforce: async () => (await import('./enforce.js')).registerEnforce,
  audit: async () => (await import('./audit.js')).registerAudit,
  usage: async () => (await import('./usage.js')).registerUsage,
  assess: async () => (await import('./assess.js')).registerAssess,
  install: async () => (await import('./install.js')).registerInstall,
  'upgrade-check': async () => (await import('./upgrade-check.js')).registerUpgradeCheck,
  import: async () => (await import('./import.js')).registerImport,
}

const program = new Command()
  .name('plimsoll')
  .description(
    'Keeps a Kubernetes estate inside its guardrails: policy as code for manifests, in CI and beyond.',
  )
  .version(toolInfo().version)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()

const named = process.argv.slice(2).find((arg) => !arg.startsWith('-'))
const wanted = named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS)
for (const name of wanted) (await COMMANDS[name]!())(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; every other commander error is a usage error.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE
  } else {
    process.stderr.write(`plimsoll: ${(err as Error).stack ?? err}\n`)
    process.exitCode = EXIT_USAGE
  }
}
