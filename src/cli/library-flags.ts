/**
 * The flags that say which checks run and which exceptions hold, shared by every command that
 * evaluates (scan, watch): one definition, so that `--policy` means the same everywhere.
 */
import { type Command, Option } from 'commander'
import { parseVersion } from '../policy/check-loader.js'
import { LATEST_VERSION } from '../policy/engine.js'
import { type ExceptionRule, readExceptionsFile } from '../policy/exceptions.js'
import { type Library, loadLibrary } from '../policy/library.js'
import { atRestrictedLevel } from '../policy/pod-security-engines.js'

export interface LibraryFlags {
  pssVersion: string
  policy: string[]
  builtin: boolean
  podTemplates: string[]
  exceptions: string[]
  framework?: string
}

export const collect = (value: string, previous: string[]) => [...previous, value]

export function addLibraryOptions(command: Command): Command {
  return command
    .option(
      '--pss-version <version>',
      'Pod Security Standards version to check against: v1.0 .. v1.N, or latest',
      'latest',
    )
    .addOption(
      new Option(
        '-p, --policy <path>',
        'add your own checks: a check file or a directory of them (repeatable)',
      )
        .argParser(collect)
        .default([], 'none'),
    )
    .option('--no-builtin', 'run only the checks given with --policy')
    .addOption(
      new Option('--pod-templates <file>', 'extra pod-template kinds (see docs/check-format.md) (repeatable)')
        .argParser(collect)
        .default([], 'none'),
    )
    .addOption(
      new Option(
        '--exceptions <file>',
        'exceptions file with owners and expiry dates (see docs/cli.md) (repeatable)',
      )
        .argParser(collect)
        .default([], 'none'),
    )
}

/** `--pss-version` as a minor version (undefined: latest), or what is wrong with it. */
export function policyVersionOf(flags: Pick<LibraryFlags, 'pssVersion'>): { version?: number } | string {
  if (flags.pssVersion === 'latest') return {}
  const version = parseVersion(flags.pssVersion)
  if (version === undefined)
    return `--pss-version: expected 'latest' or a version like v1.32, got '${flags.pssVersion}'`
  return { version }
}

/** The rules of every `--exceptions` file, or what is wrong with one. */
export function exceptionFileRules(flags: Pick<LibraryFlags, 'exceptions'>): ExceptionRule[] | string {
  const rules: ExceptionRule[] = []
  for (const file of flags.exceptions) {
    try {
      rules.push(...readExceptionsFile(file))
    } catch (err) {
      return `--exceptions: ${(err as Error).message}`
    }
  }
  return rules
}

/** The library the flags ask for, or why it cannot be loaded. */
export function libraryOf(flags: LibraryFlags): Library | string {
  let library: Library
  try {
    library = loadLibrary({
      builtin: flags.builtin,
      policies: flags.policy,
      podTemplates: flags.podTemplates,
      ...(flags.framework === undefined ? {} : { framework: flags.framework }),
    })
  } catch (err) {
    return `cannot load checks: ${(err as Error).message}`
  }
  // Checked against the Restricted level, each control is reported once, as Pod Security Admission
  // reports it: a Restricted check replaces the Baseline one it supersedes (a bad --pss-version is the
  // caller's to report; latest meanwhile).
  if (library.frameworkChain?.some((f) => f.id === 'pss-restricted')) {
    const v = policyVersionOf(flags)
    library.checks = atRestrictedLevel(
      library.checks,
      (typeof v === 'string' ? undefined : v.version) ?? LATEST_VERSION,
    )
  }
  return library
}
