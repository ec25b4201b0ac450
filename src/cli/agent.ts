/**
 * `plimsoll agent`: the watcher of one cluster among many. It runs in (or beside) the cluster, and
 * pushes the findings and their changes to a central `plimsoll serve` over HTTPS with a token made
 * for that cluster; the central server keeps every cluster's in one store (PostgreSQL).
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { LATEST_VERSION } from '../policy/engine.js'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import { addKubeOptions, connectionOf, type KubeFlags } from './kube-flags.js'
import { addLeaderOptions, electionOf, type LeaderFlags } from './leader-flags.js'
import {
  addLibraryOptions,
  exceptionFileRules,
  type LibraryFlags,
  libraryOf,
  policyVersionOf,
} from './library-flags.js'

interface AgentFlags extends LibraryFlags, KubeFlags, LeaderFlags {
  central?: string
  centralCa?: string
  tokenFile?: string
}

const say = (line: string) => process.stderr.write(`plimsoll agent: ${line}\n`)

export function registerAgent(program: Command): void {
  const command = program
    .command('agent')
    .summary("push one cluster's findings to a central plimsoll serve")
    .description(
      'Watch a cluster as `plimsoll watch` does, and push its findings and their changes to a central ' +
        '`plimsoll serve` over HTTPS. The token (made with `plimsoll token create --role agent --cluster ' +
        'NAME`) names the cluster: an agent writes only its own. Pushes are numbered and sent again until ' +
        'answered, so a restart of the central server or a cut connection loses and doubles nothing; ' +
        'what changes meanwhile waits, merged per object.',
    )
    .option('--central <url>', 'the central server, https://host:port (default: $PLIMSOLL_CENTRAL)')
    .option('--central-ca <file>', "PEM CA bundle that signed the central server's certificate")
    .option(
      '--token-file <file>',
      'file holding the agent token (default: $PLIMSOLL_TOKEN; never on the command line, where ps shows it)',
    )
    .addHelpText(
      'after',
      `
Examples:
  central$ plimsoll serve --db postgres://plimsoll@db/plimsoll --host 0.0.0.0 --tls-cert tls.crt --tls-key tls.key
  central$ plimsoll token create --name prod-eu-agent --role agent --cluster prod-eu --db postgres://...
  in prod-eu$ PLIMSOLL_TOKEN=plm_... plimsoll agent --central https://plimsoll.example.com:8080 --central-ca ca.crt

In a cluster, run it as a Deployment with the watcher's ServiceAccount (plimsoll watch rbac) and
the token from a Secret; docs/cluster.md shows the manifests.`,
    )
    .action(async (flags: AgentFlags) => {
      process.exitCode = await runAgentCommand(flags)
    })
  addLeaderOptions(command, 'push', 'plimsoll-agent')
  addKubeOptions(command, { clusterName: false })
  addLibraryOptions(command)
}

/** The token: from --token-file, else $PLIMSOLL_TOKEN; or what is wrong. */
function tokenOf(flags: AgentFlags): string | { problem: string } {
  if (flags.tokenFile) {
    try {
      const token = readFileSync(flags.tokenFile, 'utf8').trim()
      if (token) return token
      return { problem: `--token-file ${flags.tokenFile} is empty` }
    } catch (err) {
      return { problem: `--token-file: ${(err as Error).message}` }
    }
  }
  const token = process.env.PLIMSOLL_TOKEN?.trim()
  return token
    ? token
    : {
        problem:
          'no token: give --token-file, or set PLIMSOLL_TOKEN (plimsoll token create --role agent ...)',
      }
}

async function runAgentCommand(flags: AgentFlags): Promise<number> {
  const problems: string[] = []
  const url = flags.central ?? process.env.PLIMSOLL_CENTRAL
  if (!url) problems.push('no central server: give --central https://host:port (or set PLIMSOLL_CENTRAL)')
  const token = tokenOf(flags)
  if (typeof token !== 'string') problems.push(token.problem)
  const policyVersion = policyVersionOf(flags)
  const fileRules = exceptionFileRules(flags)
  const library = libraryOf(flags)
  for (const problem of [policyVersion, fileRules, library])
    if (typeof problem === 'string') problems.push(problem)
  if (problems.length > 0 || typeof token !== 'string' || !url) {
    for (const problem of problems) say(problem)
    return EXIT_USAGE
  }
  if (typeof policyVersion === 'string' || typeof fileRules === 'string' || typeof library === 'string')
    return EXIT_USAGE
  for (const warning of library.policyWarnings) say(`warning: ${warning}`)
  for (const error of library.policyErrors) say(`${error.file}: ${error.message}`)

  const { Central } = await import('../agent/central.js')
  let central: InstanceType<typeof Central>
  try {
    central = new Central({
      url,
      token,
      ...(flags.centralCa ? { ca: Central.readCa(flags.centralCa) } : {}),
    })
  } catch (err) {
    say((err as Error).message)
    return EXIT_USAGE
  }
  const connection = await connectionOf(flags)
  if (typeof connection === 'string') {
    say(connection)
    central.close()
    return EXIT_USAGE
  }
  const election = electionOf(flags, connection.client, say)
  if (typeof election === 'string') {
    say(election)
    central.close()
    return EXIT_USAGE
  }
  const { runAgent } = await import('../agent/run.js')
  const outcome = await runAgent(
    {
      client: connection.client,
      includeNamespace: connection.includeNamespace,
      central,
      library,
      version: policyVersion.version ?? LATEST_VERSION,
      fileRules,
      log: say,
    },
    election,
  )
  return outcome.ok ? EXIT_OK : EXIT_USAGE
}
