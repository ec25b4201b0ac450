/** `plimsoll enforce plan`: what to enforce, where and when, from the store's evidence (docs/admission.md). */
import { type Command, InvalidArgumentError, Option } from 'commander'
import { enforcementOf } from './enforcement-flag.js'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import { addLibraryOptions, type LibraryFlags, libraryOf } from './library-flags.js'

interface PlanFlags extends LibraryFlags {
  store?: string
  clusterName?: string
  days: number
  teamLabel: string
  enforcement?: string
  namespace: string
  applyTo?: string
  format: 'text' | 'json' | 'config'
  verbose?: boolean
  color?: boolean
}

function parseDays(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 90)
    throw new InvalidArgumentError('expected a whole number of days, 1 to 90')
  return n
}

export function registerEnforce(program: Command): void {
  const enforce = program
    .command('enforce')
    .summary('decide what to enforce at admission, where and when, from evidence')
    .description(
      'The enforcement strategy: from the cluster scan (`plimsoll watch`) and the admissions the webhook ' +
        'recorded (`plimsoll webhook serve --store`), what each check would break under enforce, and the ' +
        'next step for each namespace on the ladder audit -> warn -> enforce.',
    )
  const plan = enforce
    .command('plan')
    .description(
      'For each check and namespace: the objects that fail it now, the admissions of the last days it ' +
        'would have denied, the teams that own them, and the suggested mode. A namespace where nothing ' +
        'fails and nothing would have been denied is ready to enforce now; elsewhere the check climbs one ' +
        'step at a time, and stays at warn until what fails is fixed. Enforced checks are never stepped back. ' +
        '--apply-to writes the suggested modes into an EnforcementConfig file, keeping your own rules first.',
    )
    .option(
      '--store <store>',
      'the store the watcher and the webhook record into (default: $XDG_DATA_HOME/plimsoll/plimsoll.db; or a file, or postgres://...)',
    )
    .option(
      '--cluster-name <name>',
      "the cluster: the watcher's and the webhook's --cluster-name (default: the store's only cluster)",
    )
    .addOption(
      new Option('--days <n>', 'admissions of the last n days are evidence').argParser(parseDays).default(7),
    )
    .option('--team-label <label>', "the label that names a namespace's or an object's team", 'team')
    .option(
      '--enforcement <file>',
      "today's EnforcementConfig, for the current modes (default: the --apply-to file if it exists, else the webhook's defaults)",
    )
    .option(
      '-n, --namespace <name>',
      "the webhook's own namespace, exempt by default",
      process.env.POD_NAMESPACE || 'plimsoll',
    )
    .option(
      '--apply-to <file>',
      'write the suggested modes into this EnforcementConfig file (made if missing)',
    )
    .addOption(
      new Option(
        '--format <format>',
        'text, json (the plan), or config (the EnforcementConfig it would write)',
      )
        .choices(['text', 'json', 'config'])
        .default('text'),
    )
    .option('--verbose', 'list every check that is ready everywhere')
    .option('--no-color', 'plain text')
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll enforce plan --store plimsoll.db --cluster-name prod
  $ plimsoll enforce plan --cluster-name prod --days 14 --team-label owner
  $ plimsoll enforce plan --cluster-name prod --apply-to enforcement.yaml   then: webhook serve --enforcement enforcement.yaml
  $ plimsoll enforce plan --cluster-name prod --format json | jq '.checks[] | {id, ready: .ladder.enforce}'`,
    )
    .action(async (flags: PlanFlags) => {
      process.exitCode = await runPlan(flags)
    })
  addLibraryOptions(plan)
}

async function runPlan(flags: PlanFlags): Promise<number> {
  const say = (message: string) => process.stderr.write(`plimsoll enforce plan: ${message}\n`)
  const { existsSync, readFileSync, renameSync, writeFileSync } = await import('node:fs')
  const configFile =
    flags.enforcement ?? (flags.applyTo && existsSync(flags.applyTo) ? flags.applyTo : undefined)
  const config = await enforcementOf({
    ...(configFile ? { enforcement: configFile } : {}),
    namespace: flags.namespace,
  })
  if (Array.isArray(config)) {
    for (const problem of config) say(problem)
    return EXIT_USAGE
  }
  const library = libraryOf(flags)
  if (typeof library === 'string') {
    say(library)
    return EXIT_USAGE
  }
  const { defaultStorePath, openStore } = await import('../store/connect.js')
  const { plannableClusters, readPlan } = await import('../enforce/read-plan.js')
  let store: import('../store/connect.js').Store
  try {
    store = await openStore(flags.store ?? defaultStorePath())
  } catch (err) {
    say(`--store: ${(err as Error).message}`)
    return EXIT_USAGE
  }
  try {
    let cluster = flags.clusterName
    if (cluster === undefined) {
      const clusters = (await plannableClusters(store)).map((c) => c.name)
      if (clusters.length !== 1) {
        say(
          clusters.length === 0
            ? `${store.location} holds no cluster scan and no admission: run \`plimsoll watch --store\` and \`plimsoll webhook serve --store\` first`
            : `${store.location} holds ${clusters.length} clusters (${clusters.join(', ')}): say which with --cluster-name`,
        )
        return EXIT_USAGE
      }
      cluster = clusters[0]!
    }
    const plan = await readPlan(store, {
      cluster,
      days: flags.days,
      teamLabel: flags.teamLabel,
      config,
      checks: new Map(library.checks.map((c) => [c.metadata.id, c.metadata])),
    })
    if (!plan.scan && plan.admissions === 0) {
      const known = (await plannableClusters(store)).map((c) => c.name)
      say(
        `no cluster scan and no admission of '${cluster}' in ${store.location}${known.length > 0 ? ` (it holds: ${known.join(', ')})` : ''}`,
      )
      return EXIT_USAGE
    }
    if (flags.format === 'json') process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`)
    if (flags.format === 'text') {
      const { renderPlan } = await import('../enforce/plan-text.js')
      process.stdout.write(
        renderPlan(plan, {
          color: flags.color !== false && process.stdout.isTTY === true,
          verbose: flags.verbose === true,
        }),
      )
    }
    if (flags.format !== 'config' && !flags.applyTo) return EXIT_OK
    const { applyPlan } = await import('../enforce/apply.js')
    const target = flags.applyTo ?? flags.enforcement
    const existing =
      target && existsSync(target) ? { file: target, text: readFileSync(target, 'utf8') } : undefined
    const applied = applyPlan(plan, existing, flags.namespace)
    if (!applied.ok) {
      for (const problem of applied.problems) say(problem)
      return EXIT_USAGE
    }
    if (flags.format === 'config') process.stdout.write(applied.text)
    if (flags.applyTo) {
      // Written aside, then renamed: a webhook reading the file never sees half of it.
      writeFileSync(`${flags.applyTo}.tmp`, applied.text)
      renameSync(`${flags.applyTo}.tmp`, flags.applyTo)
      say(
        `wrote ${applied.rules} plan rule${applied.rules === 1 ? '' : 's'} to ${flags.applyTo}` +
          (applied.kept > 0 ? `, after your own ${applied.kept} (they decide first)` : ''),
      )
      if (applied.overridden.length > 0) {
        const shown = applied.overridden
          .slice(0, 5)
          .map((o) => `${o.check} in ${o.namespace || '(cluster-scoped)'}: ${o.mode}, not ${o.suggested}`)
        say(
          `${applied.overridden.length} suggestion(s) are decided by your own rules instead: ${shown.join('; ')}${applied.overridden.length > 5 ? '; ...' : ''}`,
        )
      }
    }
    return EXIT_OK
  } finally {
    await store.close()
  }
}
