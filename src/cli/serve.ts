/** `plimsoll serve`: the API (and, later, the dashboard) over a store. */
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { isIP } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSecureContext } from 'node:tls'
import { type Command, InvalidArgumentError } from 'commander'
import { CLUSTER_TARGET } from '../demo/estate.js'
import { seedDemo } from '../demo/seed.js'
import { demoUpgradeLine } from '../demo/upgrade.js'
import { demoUsageLine } from '../demo/usage.js'
import { LATEST_VERSION } from '../policy/engine.js'
import { loadFrameworks } from '../policy/frameworks.js'
import { BUILTIN_FRAMEWORKS_DIR } from '../policy/library.js'
import { buildServer } from '../server/app.js'
import type { LiveClusterSource } from '../server/live-clusters.js'
import { defaultStorePath, openStore } from '../store/connect.js'
import { createToken } from '../store/tokens.js'
import { enforcementOf } from './enforcement-flag.js'
import { EXIT_USAGE } from './exit-codes.js'
import { addKubeOptions, connectionOf, type KubeFlags } from './kube-flags.js'
import { addLeaderOptions, electionOf, type LeaderFlags } from './leader-flags.js'
import {
  addLibraryOptions,
  exceptionFileRules,
  type LibraryFlags,
  libraryOf,
  policyVersionOf,
} from './library-flags.js'
import {
  addReadPolicyReportOptions,
  policyReportReaders,
  type ReadPolicyReportFlags,
} from './read-policy-report-flags.js'

interface ServeFlags extends KubeFlags, LibraryFlags, LeaderFlags, ReadPolicyReportFlags {
  cluster?: boolean
  db?: string
  host: string
  port: number
  anonymousRead?: boolean
  tlsCert?: string
  tlsKey?: string
  allowPlaintext?: boolean
  demo?: boolean
  enforcement?: string
}

function parsePort(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port, 0-65535')
  return n
}

/** The server's own address as seen from this machine: a wildcard host is reached on 127.0.0.1. */
function loopbackUrl(host: string, address: string): string {
  if (isLoopback(host)) return address
  const url = new URL(address)
  url.hostname = '127.0.0.1'
  return url.origin
}

/** Loopback traffic never leaves the machine; anything else should be encrypted. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
}

/**
 * The certificate and key, each checked on its own and then together, so that a bad file is named with
 * what was expected of it (rather than OpenSSL's error code and a stack trace); or what is wrong.
 */
export function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } | string {
  let cert: Buffer
  let key: Buffer
  try {
    cert = readFileSync(certFile)
    key = readFileSync(keyFile)
  } catch (err) {
    return `cannot read the TLS files: ${(err as Error).message}`
  }
  try {
    new X509Certificate(cert)
  } catch {
    return `--tls-cert ${certFile} is not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")`
  }
  try {
    createPrivateKey(key)
  } catch {
    return key.includes('ENCRYPTED')
      ? `--tls-key ${keyFile} is encrypted; give the PEM private key unencrypted`
      : `--tls-key ${keyFile} is not a PEM private key (expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA/EC PRIVATE KEY-----")`
  }
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    return (err as { code?: string }).code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH'
      ? `--tls-key ${keyFile} does not match the certificate in ${certFile}`
      : `--tls-cert ${certFile} and --tls-key ${keyFile} cannot be used: ${(err as { reason?: string }).reason ?? (err as Error).message}`
  }
  return { cert, key }
}

export function registerServe(program: Command): void {
  const command = program
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
      '--cluster',
      'watch a cluster too (plimsoll watch in this process): its findings stay current in the store, and the dashboard shows it live',
    )
    .option(
      '--enforcement <file>',
      "the admission webhook's EnforcementConfig, for the enforcement plan's current modes (default: the webhook's defaults)",
    )
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
  $ plimsoll serve --host 0.0.0.0 --tls-cert tls.crt --tls-key tls.key --db postgres://plimsoll@db/plimsoll
  $ plimsoll serve --cluster --context prod          watch prod, serve the API and the dashboard
  $ plimsoll serve --cluster --in-cluster --leader-elect --identity "$POD_NAME" --db postgres://...
                                                     one of several replicas: all serve, one watches`,
    )
    .action(async (flags: ServeFlags) => {
      process.exitCode = await serve(flags)
    })
  addReadPolicyReportOptions(command, 'with --cluster: ')
  addLeaderOptions(command, 'watch the --cluster', 'plimsoll-watcher')
  addKubeOptions(command)
  addLibraryOptions(command)
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
  const https = flags.tlsCert && flags.tlsKey ? readTls(flags.tlsCert, flags.tlsKey) : undefined
  if (typeof https === 'string') {
    process.stderr.write(`plimsoll serve: ${https}\n`)
    return EXIT_USAGE
  }
  const library = libraryOf(flags)
  if (typeof library === 'string') {
    process.stderr.write(`plimsoll serve: ${library}\n`)
    return EXIT_USAGE
  }
  const connection = flags.cluster ? await connectionOf(flags) : undefined
  if (typeof connection === 'string') {
    process.stderr.write(`plimsoll serve: --cluster: ${connection}\n`)
    return EXIT_USAGE
  }
  const sayWatch = (line: string) => process.stderr.write(`plimsoll watch: ${line}\n`)
  if (flags.leaderElect && !connection) {
    process.stderr.write(
      'plimsoll serve: --leader-elect elects the watcher of --cluster: give --cluster too\n',
    )
    return EXIT_USAGE
  }
  const election = connection ? electionOf(flags, connection.client, sayWatch) : undefined
  if (typeof election === 'string') {
    process.stderr.write(`plimsoll serve: ${election}\n`)
    return EXIT_USAGE
  }
  const policyVersion = policyVersionOf(flags)
  const fileRules = exceptionFileRules(flags)
  if (typeof policyVersion === 'string' || typeof fileRules === 'string') {
    process.stderr.write(`plimsoll serve: ${typeof policyVersion === 'string' ? policyVersion : fileRules}\n`)
    return EXIT_USAGE
  }
  const loadedEnforcement = await enforcementOf({
    ...(flags.enforcement ? { enforcement: flags.enforcement } : {}),
    namespace: process.env.POD_NAMESPACE || 'plimsoll',
  })
  if (Array.isArray(loadedEnforcement)) {
    for (const problem of loadedEnforcement) process.stderr.write(`plimsoll serve: ${problem}\n`)
    return EXIT_USAGE
  }
  // The demo's admission decisions were made under the demo estate's own configuration.
  const enforcement =
    flags.demo && !flags.enforcement
      ? (await import('../demo/enforcement.js')).DEMO_ENFORCEMENT
      : loadedEnforcement
  // A demo without --db gets a store of its own, removed when the server stops.
  const demoDir = flags.demo && !flags.db ? mkdtempSync(join(tmpdir(), 'plimsoll-demo-')) : undefined
  const location = flags.db ?? (demoDir ? join(demoDir, 'demo.db') : defaultStorePath())
  let store: Awaited<ReturnType<typeof openStore>>
  try {
    // With --cluster a watcher writes all the time beside the API: SQLite in a thread of its own.
    store = await openStore(location, { writerThread: connection !== undefined })
  } catch (err) {
    process.stderr.write(`plimsoll serve: ${(err as Error).message}\n`)
    return EXIT_USAGE
  }
  let seeded: Awaited<ReturnType<typeof seedDemo>> | undefined
  let demoCluster:
    | Awaited<ReturnType<typeof import('../demo/live-cluster.js').startLiveDemoCluster>>
    | undefined
  if (flags.demo) {
    try {
      seeded = await seedDemo(store, { library })
      const { token } = await createToken(store, 'demo-admin', { role: 'admin' })
      // prod-cluster, live: a local control plane in this process, watched like a real cluster.
      const { startLiveDemoCluster } = await import('../demo/live-cluster.js')
      demoCluster = await startLiveDemoCluster(store, library, seeded, {
        log: (line) => process.stderr.write(`plimsoll serve: demo cluster: ${line}\n`),
      })
      // two maturity assessments a month apart, the second reading the live cluster
      const { demoAssessLine, seedAssessments } = await import('../demo/assess.js')
      const assessed = await seedAssessments(store, {
        now: new Date(),
        cluster: { client: demoCluster.client, name: CLUSTER_TARGET },
      })
      process.stdout.write(
        `plimsoll serve: demo estate: ${seeded.targets} targets, ${seeded.runs} runs over ${seeded.days} days, ${seeded.findings} findings, ${seeded.admissions} admission decisions (seeded in ${(seeded.ms / 1000).toFixed(1)} s); prod-cluster is live (a local control plane, watched), edge-cluster is pushed by an agent\n` +
          `plimsoll serve: demo audit: ${seeded.audit.events} audit events on prod-cluster over a week, ${seeded.audit.detections} detections, ${seeded.audit.groups} open alert group(s), ${seeded.audit.notifications} notifications (${seeded.audit.pending} pending, to a webhook that does not resolve), ${seeded.audit.silences} silences (${(seeded.audit.ms / 1000).toFixed(1)} s of the seeding)\n` +
          `plimsoll serve: demo usage: ${demoUsageLine(seeded.usage)}\n` +
          `plimsoll serve: demo upgrades: ${demoUpgradeLine(seeded.upgrades)}\n` +
          `plimsoll serve: demo image scans: ${seeded.vulnerabilities.scans} weekly imports of ${seeded.vulnerabilities.images} images, ${seeded.vulnerabilities.open} vulnerabilities open (${seeded.vulnerabilities.fixable} with a fix); the demo's advisories (DEMO-...) are invented\n` +
          `plimsoll serve: demo maturity: ${demoAssessLine(assessed)}\n` +
          `plimsoll serve: anyone may read; to change things (exceptions) use the admin token ${token}\n`,
      )
    } catch (err) {
      await demoCluster?.stop()
      await store.close()
      if (demoDir) rmSync(demoDir, { recursive: true, force: true })
      process.stderr.write(`plimsoll serve: --demo: ${(err as Error).message}\n`)
      return EXIT_USAGE
    }
  }
  // The watcher writes to the same store the API reads; its view is handed to the server. Under
  // --leader-elect it runs only on the replica holding the Lease; the others serve the store.
  let running: { source: LiveClusterSource; stop(): Promise<void> } | undefined
  if (connection) {
    const { startElectedWatcher, startWatcher } = await import('../cluster/run.js')
    const setup = {
      ...connection,
      library,
      version: policyVersion.version ?? LATEST_VERSION,
      fileRules,
      store,
      log: sayWatch,
      attach: await policyReportReaders(flags, { ...connection, store, fileRules, log: sayWatch }),
    }
    if (election) running = startElectedWatcher(setup, election)
    else {
      const watcher = startWatcher(setup)
      watcher.synced.catch((err: Error) =>
        sayWatch(`cannot watch ${connection.client.server}: ${err.message}`),
      )
      running = watcher
    }
  }
  const app = await buildServer({
    store,
    clusters: [...(running ? [running.source] : []), ...(demoCluster ? [demoCluster.source] : [])],
    checks: library.checks.map((c) => c.metadata),
    frameworks: [...loadFrameworks(BUILTIN_FRAMEWORKS_DIR).values()],
    anonymousRead: flags.anonymousRead === true || flags.demo === true,
    ...(https ? { https } : {}),
    enforcement,
    // JSON lines on stderr, stdout being for what a person reads: every 5xx, and background failures.
    logger: { level: 'warn', stream: process.stderr },
  })
  let address: string
  try {
    address = await app.listen({ host: flags.host, port: flags.port })
  } catch (err) {
    await running?.stop()
    await demoCluster?.stop()
    await app.close()
    await store.close()
    if (demoDir) rmSync(demoDir, { recursive: true, force: true })
    process.stderr.write(
      `plimsoll serve: cannot listen on ${flags.host}:${flags.port}: ${(err as Error).message}\n`,
    )
    return EXIT_USAGE
  }
  let demoAgent: { stop(): Promise<void> } | undefined
  const stop = async () => {
    await demoAgent?.stop()
    await running?.stop()
    await demoCluster?.stop()
    await app.close()
    await store.close()
    if (demoDir) rmSync(demoDir, { recursive: true, force: true })
    process.exit(0)
  }
  // Taken before the address is said: whoever waits for that line may stop the server at once.
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  process.stdout.write(`plimsoll serve: ${address} over ${store.location}\n`)
  // edge-cluster: an agent pushing to this server, as one in another cluster would (it needs the address).
  demoAgent = seeded
    ? await (await import('../demo/agent-cluster.js'))
        .startDemoAgentCluster(store, library, loopbackUrl(flags.host, address), seeded, {
          ...(https ? { ca: https.cert } : {}),
          log: (line) => process.stderr.write(`plimsoll serve: demo agent: ${line}\n`),
        })
        .catch((err: Error) => {
          process.stderr.write(`plimsoll serve: --demo: the agent's cluster did not start: ${err.message}\n`)
          return undefined
        })
    : undefined
  return 0
}
