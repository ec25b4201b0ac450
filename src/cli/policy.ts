import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import type { CheckDefinition } from '../policy/check.js'
import { CheckLoadError, parseCheckFile } from '../policy/check-loader.js'
import { type CompiledCheck, compileCheck } from '../policy/compile.js'
import { runExamples } from '../policy/examples.js'
import { checkFiles, claimId, loadLibrary } from '../policy/library.js'
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js'

export function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .summary('lint and test check files')
    .description('Work on check files (docs/check-format.md).')

  policy
    .command('lint')
    .summary('validate check files')
    .description(
      'Validate check files: structure, ids, severities, and every CEL expression (parsed and type-checked, ' +
        'with the position of a mistake). Every file is checked, not just up to the first error.',
    )
    .argument('<paths...>', 'check files or directories of them')
    .addHelpText(
      'after',
      '\nExit codes: 0 every file is valid; 2 at least one is not.\n\nExample:\n  $ plimsoll policy lint our-checks/',
    )
    .action((paths: string[]) => {
      process.exitCode = lint(paths)
    })

  policy
    .command('test')
    .summary('run the examples of check files')
    .description(
      "Run every check's examples (resources with the verdict the check must reach: pass, fail or skip) " +
        'and report each one, the way `kyverno test` does for Kyverno policies.',
    )
    .argument('<paths...>', 'check files or directories of them')
    .addHelpText(
      'after',
      '\nExit codes: 0 every example matches; 1 at least one does not; 2 a check file is invalid.\n\nExample:\n  $ plimsoll policy test our-checks/',
    )
    .action((paths: string[]) => {
      process.exitCode = test(paths)
    })
}

function lint(paths: readonly string[]): number {
  let errors = 0
  let files = 0
  const seen = new Map<string, CheckDefinition>()
  for (const path of paths) {
    let list: string[]
    try {
      list = checkFiles(path)
    } catch (err) {
      process.stdout.write(`ERROR ${(err as Error).message}\n`)
      errors++
      continue
    }
    for (const file of list) {
      files++
      try {
        const checks = parseCheckFile(file, readFileSync(file, 'utf8')).map(compileCheck)
        for (const c of checks) claimId(seen, c.definition)
        const untested = checks.filter((c) => c.definition.examples.length === 0).map((c) => c.metadata.id)
        const note = untested.length > 0 ? ` (no examples: ${untested.join(', ')})` : ''
        process.stdout.write(
          `ok    ${file} (${checks.length} check${checks.length === 1 ? '' : 's'})${note}\n`,
        )
      } catch (err) {
        if (!(err instanceof CheckLoadError)) throw err
        errors++
        process.stdout.write(`ERROR ${err.message}\n`)
      }
    }
  }
  process.stdout.write(
    `\n${files} file${files === 1 ? '' : 's'}, ${errors} error${errors === 1 ? '' : 's'}\n`,
  )
  return errors > 0 ? EXIT_USAGE : EXIT_OK
}

function test(paths: readonly string[]): number {
  let checks: CompiledCheck[]
  let podTemplates: ReturnType<typeof loadLibrary>['podTemplates']
  try {
    ;({ checks, podTemplates } = loadLibrary({ builtin: false, policies: paths }))
  } catch (err) {
    process.stderr.write(`plimsoll: cannot load checks: ${(err as Error).message}\n`)
    return EXIT_USAGE
  }
  let passed = 0
  let failed = 0
  let untested = 0
  for (const check of checks) {
    const outcomes = runExamples(check, podTemplates)
    if (outcomes.length === 0) {
      untested++
      process.stdout.write(`-  ${check.metadata.id}: no examples\n`)
      continue
    }
    const bad = outcomes.filter((o) => !o.ok)
    passed += outcomes.length - bad.length
    failed += bad.length
    process.stdout.write(
      `${bad.length === 0 ? '✓' : '✗'}  ${check.metadata.id}: ${outcomes.length - bad.length}/${outcomes.length} examples\n`,
    )
    for (const o of bad) {
      const why = o.messages.length > 0 ? ` (${o.messages.join('; ')})` : ''
      process.stdout.write(
        `     ${o.file}:${o.line} '${o.example}': expected ${o.expected}, got ${o.got}${why}\n`,
      )
    }
  }
  const note = untested > 0 ? `, ${untested} check${untested === 1 ? '' : 's'} without examples` : ''
  process.stdout.write(`\nExamples: ${passed} passed, ${failed} failed${note}\n`)
  return failed > 0 ? EXIT_FINDINGS : EXIT_OK
}
