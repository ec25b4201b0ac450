import type { Command } from 'commander'
import { findKyvernoTests } from '../kyverno-test/discover.js'
import { type EntryReport, runKyvernoTest, type TestReport } from '../kyverno-test/run.js'
import { formatSummary, summarize, testPassed } from '../kyverno-test/summary.js'
import { readKyvernoTest, TestFileError } from '../kyverno-test/test-file.js'
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js'

interface TestFlags {
  format: 'text' | 'json'
  detailed: boolean
  ignoreUnsupported: boolean
}

export function registerKyverno(program: Command): void {
  const kyverno = program
    .command('kyverno')
    .summary('run Kyverno policies and their tests')
    .description('Work with Kyverno policies as they are (docs/kyverno.md).')

  kyverno
    .command('test')
    .summary('run Kyverno CLI tests (kyverno-test.yaml)')
    .description(
      'Find every kyverno-test.yaml below the paths (recursively) and run it as `kyverno test` does: each ' +
        'resource through each policy, then every expected result (policy, rule, resource, kind: pass, fail, ' +
        'skip, warn) compared with the verdict. Features Plimsoll does not run offline (mutate, generate, ' +
        'image verification, API calls without a value in the values file, CEL cluster lookups without a ' +
        'context file) are reported as unsupported, with the reason, and never counted as passed. The ' +
        'summary counts validate, mutate and generate results apart.',
    )
    .argument('<paths...>', 'folders to search, or kyverno-test.yaml files')
    .option('--format <format>', 'text or json', 'text')
    .option('--detailed', 'list every expected result, not only those that were not reproduced', false)
    .option(
      '--ignore-unsupported',
      'exit 0 even if some expected results are unsupported (still listed)',
      false,
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 every expected result reproduced; 1 at least one not (mismatched, missing, ' +
        'unsupported, or a policy error); 2 no test found or a test file unreadable.\n\nExamples:\n' +
        '  $ plimsoll kyverno test policies/\n  $ plimsoll kyverno test . --detailed\n' +
        '  $ plimsoll kyverno test policies/ --format json > kyverno-tests.json',
    )
    .action((paths: string[], flags: TestFlags) => {
      process.exitCode = runTests(paths, flags)
    })
}

const MARK: Record<EntryReport['outcome'], string> = {
  matched: 'ok  ',
  mismatched: 'FAIL',
  missing: 'FAIL',
  unsupported: 'UNSUPPORTED',
  error: 'ERROR',
}

function describe(e: EntryReport): string {
  const x = e.expected
  const what = `${x.policy}${x.rule ? `/${x.rule}` : ''} on ${x.kind ? `${x.kind} ` : ''}${x.resource}`
  const detail = e.detail ? `: ${e.detail}` : ''
  return `  ${MARK[e.outcome]} ${what}: expected ${x.result}${e.outcome === 'matched' ? '' : detail}`
}

function printText(reports: readonly TestReport[], detailed: boolean): void {
  for (const r of reports) {
    if (r.skipped) {
      process.stdout.write(`SKIP ${r.name} (no expected results: kyverno test does not run it) ${r.file}\n`)
      continue
    }
    const matched = r.entries.filter((e) => e.outcome === 'matched').length
    process.stdout.write(
      `${testPassed(r) ? 'PASS' : 'FAIL'} ${r.name} (${matched}/${r.entries.length} results reproduced) ${r.file}\n`,
    )
    for (const p of r.problems) process.stdout.write(`  problem: ${p}\n`)
    for (const e of r.entries)
      if (detailed || e.outcome !== 'matched') process.stdout.write(`${describe(e)}\n`)
  }
}

function runTests(paths: readonly string[], flags: TestFlags): number {
  if (flags.format !== 'text' && flags.format !== 'json') {
    process.stderr.write(`error: --format must be text or json, not '${flags.format}'\n`)
    return EXIT_USAGE
  }
  const reports: TestReport[] = []
  let unreadable = 0
  for (const path of paths) {
    let files: string[]
    try {
      files = findKyvernoTests(path)
    } catch (err) {
      process.stderr.write(
        `error: ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}\n`,
      )
      unreadable++
      continue
    }
    for (const file of files) {
      try {
        reports.push(runKyvernoTest(readKyvernoTest(file)))
      } catch (err) {
        if (!(err instanceof TestFileError)) throw err
        process.stderr.write(`error: ${err.message}\n`)
        unreadable++
      }
    }
  }
  if (reports.length === 0 && unreadable === 0) {
    process.stderr.write(`error: no kyverno-test.yaml found below ${paths.join(', ')}\n`)
    return EXIT_USAGE
  }
  const summary = summarize(reports)
  const { total, matched, unsupported } = summary
  if (flags.format === 'json') {
    const json = reports.map((r) => ({
      file: r.file,
      name: r.name,
      skipped: r.skipped,
      problems: r.problems,
      results: r.entries,
    }))
    process.stdout.write(
      `${JSON.stringify({ tests: json, total, matched, unsupported, byKind: summary.byKind }, null, 2)}\n`,
    )
  } else {
    printText(reports, flags.detailed)
    process.stdout.write(`\n${formatSummary(summary)}\n`)
  }
  if (unreadable > 0) return EXIT_USAGE
  const failing = total - matched - (flags.ignoreUnsupported ? unsupported : 0)
  return failing > 0 ? EXIT_FINDINGS : EXIT_OK
}
