/**
 * vitest globalSetup: a throwaway PostgreSQL server for the whole test run.
 *
 * - Finds the server binaries (`/usr/lib/postgresql/<newest>/bin`); when there are none, installs Debian's
 *   `postgresql` package with apt-get (CI runs as root on a fresh Debian 12 machine). When it cannot, the
 *   setup fails: the PostgreSQL tests are never skipped silently.
 * - PostgreSQL refuses to run as root, so as root the server runs as the `postgres` OS user (created by the
 *   package; created here as a system user if missing). As any other user it runs as that user.
 * - initdb into a fresh temp dir (password authentication, random superuser password), start it on a free
 *   port of 127.0.0.1 only, create the database `plimsoll_test`.
 * - Tests read the URL with `inject('postgresUrl')` (see test/helpers/postgres.ts); child processes the
 *   tests spawn read `PLIMSOLL_TEST_POSTGRES_URL`.
 * - Teardown (or SIGINT/SIGTERM/exit) stops the server and removes the temp dir.
 *
 * `PLIMSOLL_TEST_POSTGRES_LIBDIR` (default `/usr/lib/postgresql`) is where the binaries are looked for.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { aptInstall, isRoot, run, tail } from './apt.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** `postgres://plimsoll:<password>@127.0.0.1:<port>/plimsoll_test`, a superuser on a throwaway server. */
    postgresUrl: string
  }
}

const URL_ENV = 'PLIMSOLL_TEST_POSTGRES_URL'
const LIBDIR = process.env.PLIMSOLL_TEST_POSTGRES_LIBDIR || '/usr/lib/postgresql'
const SUPERUSER = 'plimsoll'
const DATABASE = 'plimsoll_test'
const OS_USER = 'postgres'
interface Server {
  bin: string
  base: string
  data: string
}

let server: Server | undefined

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now()
  const bin = await serverBinaries()
  const runAs = isRoot ? osUser() : undefined
  const base = tempDir(runAs)
  server = { bin, base, data: join(base, 'data') }
  process.once('exit', stopSync)
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const password = randomBytes(18).toString('base64url')
    await initdb(server, runAs, password)
    const port = await start(server, runAs)
    const admin = `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}`
    const client = new pg.Client({ connectionString: `${admin}/postgres` })
    await client.connect()
    try {
      await client.query(`CREATE DATABASE ${DATABASE}`)
    } finally {
      await client.end()
    }
    const url = `${admin}/${DATABASE}`
    project.provide('postgresUrl', url)
    process.env[URL_ENV] = url
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    process.stdout.write(`PostgreSQL (${bin}) on 127.0.0.1:${port} for the tests, ready in ${seconds} s\n`)
  } catch (err) {
    teardown()
    throw err
  }
}

export function teardown(): void {
  stopSync()
  process.off('exit', stopSync)
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
}

/** Stops the server (if it runs) and removes its temp dir; synchronous, so it also works on 'exit'. */
function stopSync(): void {
  const s = server
  if (!s) return
  server = undefined
  if (existsSync(join(s.data, 'postmaster.pid'))) {
    const runAs = isRoot ? OS_USER : undefined
    const [cmd, args] = command(runAs, join(s.bin, 'pg_ctl'), [
      'stop',
      '-D',
      s.data,
      '-m',
      'fast',
      '-w',
      '-t',
      '30',
    ])
    const r = spawnSync(cmd, args, { cwd: s.base, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
    if (r.status !== 0)
      process.stderr.write(`Could not stop the test PostgreSQL server: ${r.stderr || r.error}\n`)
  }
  rmSync(s.base, { recursive: true, force: true })
}

function onSignal(signal: NodeJS.Signals): void {
  stopSync()
  process.off('exit', stopSync)
  process.off(signal === 'SIGINT' ? 'SIGTERM' : 'SIGINT', onSignal)
  // Nobody else (vitest) handles the signal: die of it as we would have without this handler.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

/** The newest `<LIBDIR>/<version>/bin` that holds initdb, pg_ctl and postgres; installs them if none does. */
async function serverBinaries(): Promise<string> {
  const found = findBinaries()
  if (found) return found
  await install()
  const installed = findBinaries()
  if (!installed) {
    throw new Error(
      `PostgreSQL was installed, but ${LIBDIR}/<version>/bin holds no initdb, pg_ctl and postgres`,
    )
  }
  return installed
}

function findBinaries(): string | undefined {
  if (!existsSync(LIBDIR)) return undefined
  const versions = readdirSync(LIBDIR)
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
  for (const v of versions) {
    const bin = join(LIBDIR, v, 'bin')
    if (['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(bin, b)))) return bin
  }
  return undefined
}

const CREATECLUSTER_D = '/etc/postgresql-common/createcluster.d'
const NO_MAIN_CLUSTER = join(CREATECLUSTER_D, 'zz-plimsoll-tests-no-main-cluster.conf')

async function install(): Promise<void> {
  // Debian's package creates and starts a system cluster ("15 main" on localhost:5432) that would outlive
  // the tests; postgresql-common reads createcluster.d, and this stops it from creating that cluster.
  const createdDir = !existsSync(CREATECLUSTER_D)
  try {
    mkdirSync(CREATECLUSTER_D, { recursive: true })
    writeFileSync(
      NO_MAIN_CLUSTER,
      "# Written by Plimsoll's tests while they install PostgreSQL\ncreate_main_cluster = off\n",
    )
  } catch {
    // Not fatal: at worst the package's own cluster runs.
  }
  try {
    await aptInstall(
      ['postgresql'],
      `a PostgreSQL server, and none is installed (no ${LIBDIR}/<version>/bin/initdb)`,
    )
  } finally {
    rmSync(NO_MAIN_CLUSTER, { force: true })
    if (createdDir) rmSync(CREATECLUSTER_D, { recursive: true, force: true })
  }
}

/** The postgres OS user's uid and gid, creating it (a system user) if it does not exist. */
function osUser(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, OS_USER], { encoding: 'utf8' })
  if (id('-u').status !== 0) {
    const r = spawnSync(
      'useradd',
      ['--system', '--user-group', '--home-dir', '/var/lib/postgresql', '--shell', '/bin/sh', OS_USER],
      { encoding: 'utf8' },
    )
    if (r.status !== 0)
      throw new Error(`Could not create the ${OS_USER} OS user to run PostgreSQL: ${r.stderr}`)
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) }
}

/** A fresh dir for the data and socket, owned by the user the server runs as. */
function tempDir(owner: { uid: number; gid: number } | undefined): string {
  const bases = [...new Set([tmpdir(), '/tmp'])]
  for (const b of bases) {
    const dir = mkdtempSync(join(b, 'plimsoll-pg-'))
    if (!owner) return dir
    chownSync(dir, owner.uid, owner.gid)
    chmodSync(dir, 0o700)
    // The postgres user must reach it: a TMPDIR under /root would not do.
    const [cmd, args] = command(OS_USER, 'test', ['-w', dir, '-a', '-x', dir])
    if (spawnSync(cmd, args, { stdio: 'ignore' }).status === 0) return dir
    rmSync(dir, { recursive: true, force: true })
  }
  throw new Error(`The ${OS_USER} OS user cannot use a temp dir under ${bases.join(' or ')}`)
}

async function initdb(s: Server, runAs: { uid: number; gid: number } | undefined, password: string) {
  const pwfile = join(s.base, 'pwfile')
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 })
  if (runAs) chownSync(pwfile, runAs.uid, runAs.gid)
  const r = await run(
    ...command(runAs && OS_USER, join(s.bin, 'initdb'), [
      '-D',
      s.data,
      '-U',
      SUPERUSER,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync', // a throwaway cluster: no need to flush it to disk
      '--no-instructions',
    ]),
    { cwd: s.base },
  )
  rmSync(pwfile, { force: true })
  if (r.code !== 0) throw new Error(`initdb failed:\n${tail(r.output)}`)
}

/** Starts the server on a free port of 127.0.0.1 (retrying if another process takes the port first). */
async function start(s: Server, runAs: { uid: number; gid: number } | undefined): Promise<number> {
  const log = join(s.base, 'postgres.log')
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    // fsync, synchronous_commit and full_page_writes off: the data is thrown away after the run, so
    // durability buys nothing and costs time. The Unix socket goes in the temp dir, not /var/run/postgresql.
    const options = [
      '-c listen_addresses=127.0.0.1',
      `-p ${port}`,
      `-k '${s.base}'`, // pg_ctl hands the options to /bin/sh
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ')
    const r = await run(
      ...command(runAs && OS_USER, join(s.bin, 'pg_ctl'), [
        'start',
        '-w',
        '-t',
        '60',
        '-D',
        s.data,
        '-l',
        log,
        '-o',
        options,
      ]),
      { cwd: s.base },
    )
    if (r.code === 0) return port
    const serverLog = existsSync(log) ? readFileSync(log, 'utf8') : ''
    if (attempt < 3 && /could not bind|address already in use/i.test(serverLog)) continue
    throw new Error(`pg_ctl start failed:\n${tail(r.output)}\n${tail(serverLog)}`)
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      srv.close(() => {
        if (address && typeof address === 'object') resolve(address.port)
        else reject(new Error('Could not find a free port on 127.0.0.1'))
      })
    })
  })
}

/** The command line that runs `file args` as `user` (through runuser), or as ourselves. */
function command(user: string | undefined, file: string, args: string[]): [string, string[]] {
  if (!user) return [file, args]
  const runuser = existsSync('/usr/sbin/runuser') ? '/usr/sbin/runuser' : 'runuser'
  return [runuser, ['-u', user, '--', file, ...args]]
}
