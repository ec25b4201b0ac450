/** `plimsoll token`: API tokens for `plimsoll serve`. */
import { type Command, InvalidArgumentError } from 'commander'
import { defaultStorePath } from '../store/connect.js'
import { ROLES, type Role } from '../store/schema.js'
import { clusterNameProblem, createToken, type Grant, listTokens, revokeToken } from '../store/tokens.js'
import { EXIT_USAGE } from './exit-codes.js'
import { withStore } from './with-store.js'

function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected ${ROLES.join(' or ')}`)
  return value as Role
}

/** The role and, for an agent, its cluster; or what is wrong with them. */
function grantOf(flags: { role: Role; cluster?: string }): Grant | string {
  if (flags.role !== 'agent')
    return flags.cluster === undefined
      ? { role: flags.role }
      : `--cluster is for agent tokens only (a ${flags.role} token sees every cluster)`
  if (flags.cluster === undefined) return '--role agent needs --cluster <name>: the cluster the agent pushes'
  const problem = clusterNameProblem(flags.cluster)
  if (problem) return `--cluster: ${problem}`
  return { role: 'agent', cluster: flags.cluster }
}

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .summary('create, list and revoke API tokens')
    .description(
      'API tokens for `plimsoll serve`: viewers read, admins also change (exceptions), and an agent ' +
        "pushes one cluster's findings (`plimsoll agent`) and can do nothing else.",
    )
  const db = [
    '--db <store>',
    `the store: a file, or postgres://... (default: ${defaultStorePath()})`,
  ] as const

  token
    .command('create')
    .description('Create a token and print it. It is shown this once; the store keeps only its hash.')
    .requiredOption('--name <name>', 'who or what uses it (shown as the creator of exceptions)')
    .requiredOption('--role <role>', 'viewer, admin or agent', parseRole)
    .option(
      '--cluster <name>',
      "an agent token's cluster: the only one it may push (required with --role agent)",
    )
    .option(...db)
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll token create --name ci-dashboard --role viewer --db postgres://...
  $ plimsoll token create --name prod-eu-agent --role agent --cluster prod-eu --db postgres://...
      then give it to that cluster's agent: plimsoll agent --central https://... (PLIMSOLL_TOKEN)`,
    )
    .action(async (flags: { name: string; role: Role; cluster?: string; db?: string }) => {
      const grant = grantOf(flags)
      if (typeof grant === 'string') {
        process.stderr.write(`plimsoll token: ${grant}\n`)
        process.exitCode = EXIT_USAGE
        return
      }
      process.exitCode = await withStore(flags.db, 'plimsoll token', async (store) => {
        const { token: secret, info } = await createToken(store, flags.name, grant)
        const scope = info.role === 'agent' ? ` of cluster ${info.cluster}` : ''
        process.stderr.write(
          `plimsoll token: created token ${info.id} (${info.role}${scope}) for ${info.name}; store it now, it is not shown again\n`,
        )
        process.stdout.write(`${secret}\n`)
        return 0
      })
    })

  token
    .command('list')
    .description('List tokens (never the tokens themselves).')
    .option(...db)
    .action(async (flags: { db?: string }) => {
      process.exitCode = await withStore(flags.db, 'plimsoll token', async (store) => {
        for (const t of await listTokens(store))
          process.stdout.write(
            `${String(t.id).padEnd(5)} ${t.role.padEnd(7)} ${t.name}${t.role === 'agent' ? ` (cluster ${t.cluster})` : ''}  created ${t.createdAt}${t.lastUsedAt ? `, last used ${t.lastUsedAt}` : ''}\n`,
          )
        return 0
      })
    })

  token
    .command('revoke')
    .description('Revoke a token by its id (see `plimsoll token list`).')
    .argument('<id>', 'token id')
    .option(...db)
    .action(async (id: string, flags: { db?: string }) => {
      process.exitCode = await withStore(flags.db, 'plimsoll token', async (store) => {
        if (await revokeToken(store, Number(id))) return 0
        process.stderr.write(`plimsoll token: no token ${id}\n`)
        return EXIT_USAGE
      })
    })
}
