import type { Command } from 'commander'
import { Option } from 'commander'
import { type CoverageTable, loadCoverage } from '../policy/coverage.js'
import { loadLibrary } from '../policy/library.js'
import { renderChecksMarkdown } from '../report/checks-markdown.js'
import { EXIT_USAGE } from './exit-codes.js'

export function registerChecks(program: Command): void {
  program
    .command('checks')
    .summary('list the checks in the library')
    .description(
      'List every check: id, severity, title and framework controls. --format markdown writes docs/checks.md.',
    )
    .addOption(
      new Option('-f, --format <format>', 'output format')
        .choices(['text', 'json', 'markdown'])
        .default('text'),
    )
    .option(
      '-p, --policy <path>',
      'include your own checks (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .action((flags: { format: 'text' | 'json' | 'markdown'; policy: string[] }) => {
      let checks: ReturnType<typeof loadLibrary>['checks']
      let coverage: CoverageTable[] = []
      try {
        checks = loadLibrary({ policies: flags.policy }).checks
        if (flags.format === 'markdown') coverage = loadCoverage()
      } catch (err) {
        process.stderr.write(`plimsoll: cannot load checks: ${(err as Error).message}\n`)
        process.exitCode = EXIT_USAGE
        return
      }
      const metas = checks.map((c) => c.metadata)
      if (flags.format === 'json') process.stdout.write(`${JSON.stringify(metas, null, 2)}\n`)
      else if (flags.format === 'markdown') process.stdout.write(renderChecksMarkdown(checks, coverage))
      else {
        for (const m of metas) {
          const controls = m.controls.map((c) => `${c.framework}:${c.id}`).join(' ')
          process.stdout.write(
            `${m.id.padEnd(40)} ${m.severity.padEnd(8)} ${m.title}${controls ? `  (${controls})` : ''}\n`,
          )
        }
      }
    })
}
