import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import {
  type AuditRuleDefinition,
  AuditRuleLoadError,
  type CompiledAuditRule,
  compileAuditRule,
  parseAuditRuleFile,
  runAuditRuleExamples,
} from '../audit/rules/index.js'
import type { CheckDefinition } from '../policy/check.js'
import { CheckLoadError, parseCheckFile } from '../policy/check-loader.js'
import { type CompiledCheck, compileCheck } from '../policy/compile.js'
import { runExamples } from '../policy/examples.js'
import { claimId, lintFiles, loadLibrary } from '../policy/library.js'
import { claimDefinitionId } from '../policy/yaml-fields.js'
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js'

export function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .summary('lint and test check files')
    .description('Work on check files (docs/check-format.md).')

  policy
    .command('lint')
    .summary('validate check files and audit rule files')
    .description(
      'Validate check files: structure, ids, severities, and every CEL expression (parsed and type-checked, ' +
        'with the position of a mistake). Every file is checked, not just up to the first error. ' +
        'Files of audit rules (kind AuditRule, docs/audit-rules-plimsoll.md) are read with the audit rules ' +
        'loader, and their examples run: an example that does not reach its expected verdict is an error.',
    )
    .argument('<paths...>', 'check or audit rule files, or directories of them')
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

/** A file of audit rules (kind AuditRule) rather than checks: a top-level `kind: AuditRule` in it. */
const AUDIT_RULE_DOCUMENT = /^kind:[ \t]*(["']?)AuditRule\1[ \t]*(#.*)?$/m

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function lint(paths: readonly string[]): number {
  let errors = 0
  let files = 0
  const seen = new Map<string, CheckDefinition>()
  const seenRules = new Map<string, AuditRuleDefinition>()
  for (const path of paths) {
    let list: string[]
    try {
      list = lintFiles(path)
    } catch (err) {
      process.stdout.write(`ERROR ${(err as Error).message}\n`)
      errors++
      continue
    }
    for (const file of list) {
      files++
      const text = readFileSync(file, 'utf8')
      if (AUDIT_RULE_DOCUMENT.test(text)) {
        errors += lintAuditRules(file, text, seenRules)
        continue
      }
      try {
        const checks = parseCheckFile(file, text).map(compileCheck)
        for (const c of checks) claimId(seen, c.definition)
        const untested = checks.filter((c) => c.definition.examples.length === 0).map((c) => c.metadata.id)
        const note = untested.length > 0 ? ` (no examples: ${untested.join(', ')})` : ''
        process.stdout.write(`ok    ${file} (${plural(checks.length, 'check')})${note}\n`)
      } catch (err) {
        if (!(err instanceof CheckLoadError)) throw err
        errors++
        process.stdout.write(`ERROR ${err.message}\n`)
      }
    }
  }
  process.stdout.write(`\n${plural(files, 'file')}, ${plural(errors, 'error')}\n`)
  return errors > 0 ? EXIT_USAGE : EXIT_OK
}

/**
 * Lints a file of audit rules as the audit rules loader reads it (`file:line: rule 'id': field:
 * problem`, every CEL expression type-checked), then runs the rules' examples as the test suite does:
 * each one that does not reach its expected verdict (or output) is an error at its line. Returns the
 * number of errors written.
 */
function lintAuditRules(file: string, text: string, seen: Map<string, AuditRuleDefinition>): number {
  let rules: CompiledAuditRule[]
  try {
    const definitions = parseAuditRuleFile(file, text)
    for (const def of definitions) claimDefinitionId(seen, def, AuditRuleLoadError)
    rules = definitions.map(compileAuditRule)
  } catch (err) {
    if (!(err instanceof AuditRuleLoadError)) throw err
    process.stdout.write(`ERROR ${err.message}\n`)
    return 1
  }
  let errors = 0
  let examples = 0
  for (const rule of rules) {
    for (const [i, o] of runAuditRuleExamples(rule).entries()) {
      examples++
      if (o.ok) continue
      errors++
      const why = o.messages.length > 0 ? ` (${o.messages.join('; ')})` : ''
      const problem = `'${o.example}': expected ${o.expected}, got ${o.got}${why}`
      const error = new AuditRuleLoadError(o.file, o.line, o.ruleId, `examples[${i}]`, problem)
      process.stdout.write(`ERROR ${error.message}\n`)
    }
  }
  if (errors > 0) return errors
  const untested = rules.filter((r) => r.definition.examples.length === 0).map((r) => r.metadata.id)
  const note = untested.length > 0 ? ` (no examples: ${untested.join(', ')})` : ''
  process.stdout.write(
    `ok    ${file} (${plural(rules.length, 'audit rule')}, ${plural(examples, 'example')} passed)${note}\n`,
  )
  return 0
}

/** The files under `paths`, the audit rules ones apart from the checks. */
function sortFiles(paths: readonly string[]): { checkFiles: string[]; ruleFiles: string[] } {
  const checkFiles: string[] = []
  const ruleFiles: string[] = []
  for (const path of paths)
    for (const file of lintFiles(path))
      (AUDIT_RULE_DOCUMENT.test(readFileSync(file, 'utf8')) ? ruleFiles : checkFiles).push(file)
  return { checkFiles, ruleFiles }
}

/** Each rule's or check's examples, in the same lines: what `policy test` prints for either. */
interface ExampleOutcome {
  readonly ok: boolean
  readonly file: string
  readonly line: number
  readonly example: string
  readonly expected: string
  readonly got: string
  readonly messages: readonly string[]
}

function test(paths: readonly string[]): number {
  let checks: CompiledCheck[] = []
  let rules: CompiledAuditRule[] = []
  let podTemplates: ReturnType<typeof loadLibrary>['podTemplates'] | undefined
  try {
    const { checkFiles, ruleFiles } = sortFiles(paths)
    if (checkFiles.length > 0 || ruleFiles.length === 0)
      ({ checks, podTemplates } = loadLibrary({ builtin: false, policies: checkFiles }))
    const seenRules = new Map<string, AuditRuleDefinition>()
    rules = ruleFiles.flatMap((file) =>
      parseAuditRuleFile(file, readFileSync(file, 'utf8')).map((def) => {
        claimDefinitionId(seenRules, def, AuditRuleLoadError)
        return compileAuditRule(def)
      }),
    )
  } catch (err) {
    process.stderr.write(`plimsoll: cannot load checks: ${(err as Error).message}\n`)
    return EXIT_USAGE
  }
  let passed = 0
  let failed = 0
  let untested = 0
  const subjects: { id: string; outcomes: () => ExampleOutcome[] }[] = [
    ...checks.map((check) => ({ id: check.metadata.id, outcomes: () => runExamples(check, podTemplates!) })),
    ...rules.map((rule) => ({ id: rule.metadata.id, outcomes: () => runAuditRuleExamples(rule) })),
  ]
  for (const check of subjects) {
    const outcomes = check.outcomes()
    if (outcomes.length === 0) {
      untested++
      process.stdout.write(`-  ${check.id}: no examples\n`)
      continue
    }
    const bad = outcomes.filter((o) => !o.ok)
    passed += outcomes.length - bad.length
    failed += bad.length
    process.stdout.write(
      `${bad.length === 0 ? '✓' : '✗'}  ${check.id}: ${outcomes.length - bad.length}/${outcomes.length} examples\n`,
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
