/**
 * `plimsoll exceptions export`: the store's exceptions register as an ExceptionList file, for a Git
 * repository. From there it reaches every door the GitOps way: `--exceptions <file>` on scan, watch,
 * serve and agent, or a ConfigMap that Argo CD or Flux keeps in the cluster (docs/install.md#gitops).
 */
import { writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { exceptionListYaml } from '../policy/exception-list.js'
import { defaultStorePath } from '../store/connect.js'
import { listExceptions } from '../store/exceptions.js'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import { withStore } from './with-store.js'

interface ExportFlags {
  db?: string
  output?: string
  includeExpired?: boolean
}

export function registerExceptions(program: Command): void {
  const exceptions = program
    .command('exceptions')
    .summary('the exceptions register: export it as a file for Git')
    .description(
      'The exceptions register that `plimsoll serve` keeps (added on the dashboard or through the API), ' +
        'as files a Git repository can hold.',
    )
  exceptions
    .command('export')
    .description(
      'Print the register as an ExceptionList (apiVersion plimsoll.dev/v1), the format --exceptions ' +
        'reads: each entry with its checks, kinds, namespaces, names, labels, owner, reason and expiry, and ' +
        'a comment saying who added it and when. Expired entries are left out unless asked for.',
    )
    .option('--db <store>', `the store: a file, or postgres://... (default: ${defaultStorePath()})`)
    .option('-o, --output <file>', 'write the file there instead of printing it')
    .option('--include-expired', 'keep the expired entries (they no longer hide anything)')
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll exceptions export --db postgres://plimsoll@db/plimsoll -o gitops/exceptions.yaml
  $ plimsoll scan k8s/ --exceptions gitops/exceptions.yaml      the same exceptions, in CI
  $ plimsoll serve --exceptions /etc/plimsoll/config/exceptions.yaml   from a ConfigMap Git keeps`,
    )
    .action(async (flags: ExportFlags) => {
      process.exitCode = await withStore(flags.db, 'plimsoll exceptions export', async (store) => {
        const text = exceptionListYaml(await listExceptions(store), {
          source: store.location,
          at: new Date().toISOString(),
          includeExpired: flags.includeExpired === true,
        })
        if (!flags.output) {
          process.stdout.write(text)
          return EXIT_OK
        }
        try {
          writeFileSync(flags.output, text)
        } catch (err) {
          process.stderr.write(`plimsoll exceptions export: --output: ${(err as Error).message}\n`)
          return EXIT_USAGE
        }
        return EXIT_OK
      })
    })
}
