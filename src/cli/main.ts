import { Command, CommanderError } from 'commander'
import { toolInfo } from '../version.js'
import { registerChecks } from './checks.js'
import { EXIT_USAGE } from './exit-codes.js'
import { registerKyverno } from './kyverno.js'
import { registerPolicy } from './policy.js'
import { registerScan } from './scan.js'
import { registerServe } from './serve.js'
import { registerToken } from './token.js'

const program = new Command()
  .name('plimsoll')
  .description(
    'Keeps a Kubernetes estate inside its guardrails: policy as code for manifests, in CI and beyond.',
  )
  .version(toolInfo().version)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()

registerScan(program)
registerChecks(program)
registerPolicy(program)
registerKyverno(program)
registerServe(program)
registerToken(program)

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
