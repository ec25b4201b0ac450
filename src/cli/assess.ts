/**
 * `plimsoll assess`: where the organisation stands at Level 3 ("Scale") of the CNCF Cloud Native
 * Maturity Model, with evidence (docs/assess.md). Thin: reads the flags, runs the collectors that were
 * asked for, judges (src/maturity/assess.ts), renders, and records with --store.
 * `plimsoll assess questions` writes the questionnaire to fill in.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { type Command, Option } from 'commander'
import type { Answers } from '../maturity/answers.js'
import type { Assessment } from '../maturity/assess.js'
import type { Criterion } from '../maturity/catalogue.js'
import type { CollectedFacts } from '../maturity/facts.js'
import type { Store } from '../store/connect.js'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import type { KubeFlags } from './kube-flags.js'
import { collect } from './library-flags.js'

const FORMATS = ['markdown', 'html', 'json'] as const
type Format = (typeof FORMATS)[number]

interface AssessFlags extends Omit<KubeFlags, 'namespace' | 'excludeNamespace'> {
  repo: string[]
  cluster?: boolean
  store?: string
  answers?: string
  format: Format
  output?: string
  record: boolean
  criteria?: string
}

const fail = (message: string): number => {
  process.stderr.write(`plimsoll assess: ${message}\n`)
  return EXIT_USAGE
}

export function registerAssess(program: Command): void {
  const assess = program
    .command('assess')
    .summary('where you stand at Level 3 of the CNCF Cloud Native Maturity Model, with the evidence')
    .description(
      'Judge the Level 3 ("Scale") criteria of the CNCF Cloud Native Maturity Model from evidence: ' +
        'repositories (--repo: CI policy checks, Helm, GitOps, IaC, secrets, alert rules...), a cluster ' +
        '(--cluster or a kubeconfig flag: admission engines, Pod Security labels, monitoring, requests, ' +
        "probes, PDBs...) and Plimsoll's own store (--store: scans over time, exceptions, audit, usage), " +
        'plus a questionnaire for what no tool sees (--answers; `plimsoll assess questions` writes one). ' +
        'What nothing showed is unknown, never met. Prints Markdown, HTML or JSON; --store also records ' +
        'the assessment for the trend on the dashboard.',
    )
    .addOption(
      new Option('-r, --repo <path>', 'a repository (a directory) to read evidence from (repeatable)')
        .argParser(collect)
        .default([], 'none'),
    )
    .option('--cluster', "read the cluster of the kubeconfig's current context (implied by the flags below)")
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: its current context)')
    .option('--in-cluster', "use the pod's service account")
    .option(
      '--store <store>',
      "Plimsoll's store to read history from and record into (a file, or postgres://...)",
    )
    .option('--no-record', 'with --store: read it, but do not record this assessment')
    .option(
      '--answers <file>',
      "the questionnaire's answers (YAML; default with --store: the answers given on the dashboard)",
    )
    .addOption(
      new Option('-f, --format <format>', 'markdown, html or json')
        .choices(FORMATS as unknown as string[])
        .default('markdown'),
    )
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--criteria <dir>', 'a folder of criteria to judge instead of the built-in ones')
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll assess --repo . --repo ../infra --cluster --store plimsoll.db -f html -o assessment.html
  $ plimsoll assess questions -o answers.yaml     # fill it in, then:
  $ plimsoll assess --repo . --answers answers.yaml
Exit status: 0 when the assessment was made (whatever it found), 2 on a usage error.`,
    )
    .action(async (flags: AssessFlags) => {
      process.exitCode = await runAssess(flags)
    })

  assess
    .command('questions')
    .description(
      'Write the questionnaire: every question a criterion asks that no tool can answer, as a YAML ' +
        'answers file to fill in (yes, partly or no) and pass to --answers.',
    )
    .option('-o, --output <file>', 'write it to a file instead of stdout')
    .option('--criteria <dir>', 'a folder of criteria instead of the built-in ones')
    .action(async (own: { output?: string; criteria?: string }) => {
      // Commander gives `assess questions -o file` (and --criteria) to assess, which has the same
      // options and parses them wherever they come: taken from either
      const parent = assess.opts<{ output?: string; criteria?: string }>()
      const flags = { output: own.output ?? parent.output, criteria: own.criteria ?? parent.criteria }
      const criteria = await loadCriteria(flags.criteria)
      if (typeof criteria === 'string') {
        process.exitCode = fail(criteria)
        return
      }
      const { questionnaireYaml } = await import('../maturity/questionnaire.js')
      process.exitCode = write(flags.output, questionnaireYaml(criteria, new Date()))
    })
}

async function loadCriteria(dir: string | undefined): Promise<Criterion[] | string> {
  const { BUILTIN_CRITERIA_DIR, loadCatalogue } = await import('../maturity/catalogue.js')
  const { criteria, errors } = loadCatalogue(dir ?? BUILTIN_CRITERIA_DIR)
  // a broken built-in criterion is a bug; a broken one of the user's is theirs to fix: both said
  for (const e of errors) process.stderr.write(`plimsoll assess: ${e.message}\n`)
  if (criteria.length === 0) return `no criteria loaded from ${dir ?? BUILTIN_CRITERIA_DIR}`
  return [...criteria]
}

function write(output: string | undefined, text: string): number {
  if (output === undefined) {
    process.stdout.write(text)
    return EXIT_OK
  }
  try {
    mkdirSync(dirname(resolve(output)), { recursive: true })
    writeFileSync(output, text)
  } catch (err) {
    return fail(`cannot write ${output}: ${(err as Error).message}`)
  }
  return EXIT_OK
}

const say = (line: string) => process.stderr.write(`plimsoll assess: ${line}\n`)

async function runAssess(flags: AssessFlags): Promise<number> {
  const now = new Date()
  const criteria = await loadCriteria(flags.criteria)
  if (typeof criteria === 'string') return fail(criteria)
  const wantsCluster =
    flags.cluster === true ||
    flags.kubeconfig !== undefined ||
    flags.context !== undefined ||
    flags.inCluster === true
  if (flags.repo.length === 0 && !wantsCluster && flags.store === undefined && flags.answers === undefined)
    say('no --repo, cluster, --store or --answers: every criterion will be unknown')

  let answers: Answers | undefined
  if (flags.answers !== undefined) {
    const { loadAnswers } = await import('../maturity/answers.js')
    try {
      answers = loadAnswers(flags.answers, criteria)
    } catch (err) {
      return fail((err as Error).message)
    }
  }

  const collected: CollectedFacts[] = []
  const take = (found: CollectedFacts, what: string) => {
    collected.push(found)
    say(
      `${what}: ${found.facts.size} fact${found.facts.size === 1 ? '' : 's'}${found.problems.length ? `, ${found.problems.length} problem${found.problems.length === 1 ? '' : 's'}` : ''}`,
    )
  }

  if (flags.repo.length > 0) {
    say(`reading ${flags.repo.length === 1 ? 'repository' : 'repositories'} ${flags.repo.join(', ')}`)
    const { collectRepoFacts } = await import('../maturity/collect/repo.js')
    take(await collectRepoFacts(flags.repo), 'repositories')
  }

  let clusterName: string | undefined
  if (wantsCluster) {
    const { connectionOf } = await import('./kube-flags.js')
    const connection = await connectionOf({ ...flags, namespace: [], excludeNamespace: [] })
    if (typeof connection === 'string') return fail(connection)
    clusterName = connection.target
    say(`reading cluster ${clusterName} (${connection.client.server})`)
    const { collectClusterFacts } = await import('../maturity/collect/cluster.js')
    take(await collectClusterFacts(connection.client), `cluster ${clusterName}`)
  }

  let store: Store | undefined
  try {
    if (flags.store !== undefined) {
      const { openStore } = await import('../store/connect.js')
      try {
        store = await openStore(flags.store)
      } catch (err) {
        return fail(`--store: ${(err as Error).message}`)
      }
      say(`reading store ${store.location}`)
      const { collectStoreFacts } = await import('../maturity/collect/store.js')
      take(await collectStoreFacts(store, { now }), 'store')
      if (answers === undefined) {
        const { readAnswers } = await import('../store/assessments.js')
        const { answersOf } = await import('../maturity/answers.js')
        answers = answersOf(`the dashboard (${store.location})`, await readAnswers(store), criteria)
      }
    }

    const { assess } = await import('../maturity/assess.js')
    const { mergeFacts } = await import('../maturity/facts.js')
    const { facts, problems } = mergeFacts(collected)
    const assessment = assess(criteria, facts, answers, {
      now,
      problems,
      inputs: {
        repositories: flags.repo,
        ...(clusterName !== undefined ? { cluster: clusterName } : {}),
        ...(store ? { store: store.location } : {}),
        ...(answers
          ? {
              answers: {
                origin: answers.origin,
                answeredBy: answers.answeredBy,
                answeredAt: answers.answeredAt,
              },
            }
          : {}),
      },
    })
    const written = write(flags.output, await render(flags.format, assessment))
    if (written !== EXIT_OK) return written
    const l3 = assessment.level3
    say(
      `Level 3 ${l3.standing}: ${l3.meets} met, ${l3.partly} partly, ${l3.notYet} not yet, ${l3.unknown} unknown of ${l3.total} criteria${flags.output ? ` (${flags.output})` : ''}`,
    )
    if (store && flags.record) {
      const { recordAssessment } = await import('../store/assessments.js')
      const id = await recordAssessment(store, assessment)
      say(`recorded as assessment ${id} in ${store.location}`)
    }
    return EXIT_OK
  } finally {
    await store?.close()
  }
}

async function render(format: Format, a: Assessment): Promise<string> {
  switch (format) {
    case 'markdown':
      return (await import('../maturity/report/markdown.js')).renderAssessmentMarkdown(a)
    case 'html':
      return (await import('../maturity/report/html.js')).renderAssessmentHtml(a)
    case 'json':
      return (await import('../maturity/report/json.js')).renderAssessmentJson(a)
  }
}
