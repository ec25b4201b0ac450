/** `plimsoll serve`: the API (and, later, the dashboard) over a store. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { isIP } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Command, InvalidArgumentError } from 'commander'
import { seedDemo } from '../demo/seed.js'
import { loadFrameworks } from '../policy/frameworks.js'
import { BUILTIN_FRAMEWORKS_DIR, loadLibrary } from '../policy/library.js'
import { buildServer } from '../server/app.js'
import { defaultStorePath, openStore } from '../store/connect.js'
import { createToken } from '../store/tokens.js'
import { EXIT_USAGE } from './exit-codes.js'

interface ServeFlags {
  db?: string
  host: string
  port: number
  anonymousRead?: boolean
  tlsCert?: string
  tlsKey?: string
  allowPlaintext?: boolean
  demo?: boolean
}

function parsePort(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port, 0-65535')
  return n
}

/** Loopback traffic never leaves the machine; anything else should be encrypted. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .summary('serve the API over a store')
    .description(
      'Serve the REST API (OpenAPI at /api/openapi.json), /healthz, /readyz and /metrics over a store that `plimsoll scan --store` fills. Reading needs a viewer token, changing an admin token (`plimsoll token create`).',
    )
    .option('--db <store>', `the store: a file, or postgres://... (default: ${defaultStorePath()})`)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', parsePort, 8080)
    .option('--anonymous-read', 'let requests without a token read (never change) everything')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'and this private key (PEM)')
    .option('--allow-plaintext', 'serve plain HTTP on an address other than loopback (not recommended)')
    .option(
      '--demo',
      'serve a demo: a fresh store (in a temporary directory, unless --db names an empty one) filled with 30 days of a made-up estate; anyone may read, and an admin token is printed',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll serve --demo                            look around, with made-up data
  $ plimsoll token create --name me --role admin     prints a token, once
  $ plimsoll serve                                   http://127.0.0.1:8080
  $ plimsoll serve --host 0.0.0.0 --tls-cert tls.crt --tls-key tls.key --db postgres://plimsoll@db/plimsoll`,
    )
    .action(async (flags: ServeFlags) => {
      process.exitCode = await serve(flags)
    })
}

async function serve(flags: ServeFlags): Promise<number> {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    process.stderr.write('plimsoll serve: --tls-cert and --tls-key go together\n')
    return EXIT_USAGE
  }
  if (!flags.tlsCert && !isLoopback(flags.host) && !flags.allowPlaintext) {
    process.stderr.write(
      `plimsoll serve: ${flags.host} is reachable from the network; give --tls-cert and --tls-key (or --allow-plaintext behind a TLS proxy)\n`,
    )
    return EXIT_USAGE
  }
  let https: { key: Buffer; cert: Buffer } | undefined
  try {
    if (flags.tlsCert && flags.tlsKey)
      https = { cert: readFileSync(flags.tlsCert), key: readFileSync(flags.tlsKey) }
  } catch (err) {
    process.stderr.write(`plimsoll serve: cannot read the TLS files: ${(err as Error).message}\n`)
    return EXIT_USAGE
  }
  const library = loadLibrary({})
  // A demo without --db gets a store of its own, removed when the server stops.
  const demoDir = flags.demo && !flags.db ? mkdtempSync(join(tmpdir(), 'plimsoll-demo-')) : undefined
  const location = flags.db ?? (demoDir ? join(demoDir, 'demo.db') : defaultStorePath())
  let store: Awaited<ReturnType<typeof openStore>>
  try {
    store = await openStore(location)
  } catch (err) {
    process.stderr.write(`plimsoll serve: ${(err as Error).message}\n`)
    return EXIT_USAGE
  }
  if (flags.demo) {
    try {
      const seeded = await seedDemo(store, { library })
      const { token } = await createToken(store, 'demo-admin', 'admin')
      process.stdout.write(
        `plimsoll serve: demo estate: ${seeded.targets} targets, ${seeded.runs} runs over ${seeded.days} days, ${seeded.findings} findings (seeded in ${(seeded.ms / 1000).toFixed(1)} s)\n` +
          `plimsoll serve: anyone may read; to change things (exceptions) use the admin token ${token}\n`,
      )
    } catch (err) {
      await store.close()
      if (demoDir) rmSync(demoDir, { recursive: true, force: true })
      process.stderr.write(`plimsoll serve: --demo: ${(err as Error).message}\n`)
      return EXIT_USAGE
    }
  }
  const app = await buildServer({
    store,
    checks: library.checks.map((c) => c.metadata),
    frameworks: [...loadFrameworks(BUILTIN_FRAMEWORKS_DIR).values()],
    anonymousRead: flags.anonymousRead === true || flags.demo === true,
    ...(https ? { https } : {}),
  })
  const address = await app.listen({ host: flags.host, port: flags.port })
  process.stdout.write(`plimsoll serve: ${address} over ${store.location}\n`)
  const stop = async () => {
    await app.close()
    await store.close()
    if (demoDir) rmSync(demoDir, { recursive: true, force: true })
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return 0
}
