/** `plimsoll audit`: the API server's audit events in, few grouped alerts out (docs/audit.md). */
import { type Command, InvalidArgumentError, Option } from 'commander'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import { collect } from './library-flags.js'
import { withStore } from './with-store.js'

interface ServeFlags {
  tlsCert: string
  tlsKey: string
  clientCa?: string
  tokenFile?: string
  allowUnauthenticated?: boolean
  port: number
  host: string
  store: string
  clusterName: string
  falcoRules: string[]
  rules: string[]
  builtinRules: boolean
  alerts?: string
  logFile: string[]
  anomaly: boolean
  learningDays: number
  retentionHours: number
}

interface KubeconfigFlags {
  server: string
  caFile: string
  tokenFile?: string
  clientCert?: string
  clientKey?: string
}

function positive(what: string, max: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!(n > 0 && n <= max))
      throw new InvalidArgumentError(`expected ${what}, more than 0 and at most ${max}`)
    return n
  }
}

function port(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port, 0-65535')
  return n
}

export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .summary('receive audit events, detect what is dangerous or new, alert without the noise')
    .description(
      "The audit door: the API server's audit webhook backend (or its audit log files) into a durable " +
        "queue, Falco's k8saudit rules and Plimsoll's own over every event, per-identity baselines for " +
        'what is new, and detections grouped, silenced and sent as an Alertmanager config says.',
    )
  audit
    .command('serve')
    .description(
      'Receive EventList batches (audit.k8s.io v1 and v1beta1) over HTTPS at /audit, and Falco runtime ' +
        "alerts (its http_output, or falcosidekick's webhook) at /falco, authenticated by a " +
        'client certificate (--client-ca) or a bearer token (--token-file); store each batch before ' +
        'answering it, evaluate the rules on every event once, record the detections, and send the ' +
        'alerts --alerts configures. Runs until SIGTERM or SIGINT.',
    )
    .requiredOption('--tls-cert <file>', 'serving certificate (PEM; `plimsoll webhook certs` makes one)')
    .requiredOption('--tls-key <file>', 'its key (PEM)')
    .option(
      '--client-ca <file>',
      "CA whose client certificates may send (the API server's webhook kubeconfig)",
    )
    .option('--token-file <file>', 'bearer tokens that may send, one a line (read again when it changes)')
    .option('--allow-unauthenticated', 'accept batches from anyone who can reach the port (not recommended)')
    .addOption(new Option('--port <n>', 'port').argParser(port).default(9444))
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .requiredOption('--store <store>', 'the store: a file, or postgres://... (replicas share one)')
    .option('--cluster-name <name>', "the cluster's name in detections and alerts", 'cluster')
    .addOption(
      new Option(
        '--falco-rules <file>',
        "a Falco rules file (k8s_audit rules; Falco's own, unchanged) (repeatable)",
      )
        .argParser(collect)
        .default([], 'none'),
    )
    .addOption(
      new Option('--rules <path>', 'Plimsoll audit rules: a file or a directory of them (repeatable)')
        .argParser(collect)
        .default([], 'none'),
    )
    .option('--no-builtin-rules', "leave out Plimsoll's built-in audit rules")
    .option(
      '--alerts <file>',
      'the alerts config: routes, grouping, inhibition, receivers (docs/audit-alerts.md)',
    )
    .addOption(
      new Option(
        '--log-file <path>',
        'also follow this audit log file (--audit-log-path), across rotation (repeatable)',
      )
        .argParser(collect)
        .default([], 'none'),
    )
    .option('--no-anomaly', 'no per-identity baselines')
    .addOption(
      new Option('--learning-days <n>', 'how long an identity is learned before what it does new is reported')
        .argParser(positive('a number of days', 365))
        .default(7),
    )
    .addOption(
      new Option('--retention-hours <n>', 'processed events are kept this long, then deleted')
        .argParser(positive('a number of hours', 24 * 365))
        .default(24),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll webhook certs --out-dir certs --service plimsoll-audit --name 127.0.0.1
  $ head -c 32 /dev/urandom | base64 > token
  $ plimsoll audit serve --tls-cert certs/tls.crt --tls-key certs/tls.key --token-file token --store audit.db \\
      --falco-rules k8s_audit_rules.yaml --alerts alerts.yaml
  $ plimsoll audit kubeconfig --server https://10.0.0.5:9444/audit --ca-file certs/ca.crt --token-file token`,
    )
    .action(async (flags: ServeFlags) => {
      process.exitCode = await serve(flags)
    })
  audit
    .command('kubeconfig')
    .description(
      "Print the kubeconfig the API server's --audit-webhook-config-file needs to send its audit events " +
        'to `plimsoll audit serve`: its URL, the CA that signed its certificate, and a token or a client certificate.',
    )
    .requiredOption('--server <url>', "the receiver's URL as the API server reaches it, with /audit")
    .requiredOption('--ca-file <file>', "the CA that signed the receiver's certificate (PEM)")
    .option('--token-file <file>', 'a bearer token the receiver accepts (its first line)')
    .option('--client-cert <file>', 'or a client certificate the receiver trusts (PEM), with --client-key')
    .option('--client-key <file>', 'its key (PEM)')
    .action(async (flags: KubeconfigFlags) => {
      process.exitCode = await kubeconfig(flags)
    })
  registerBaselines(audit)
}

interface BaselineFlags {
  store: string
  clusterName: string
  json?: boolean
}

function registerBaselines(audit: Command): void {
  const baselines = audit
    .command('baselines')
    .description("the anomaly detector's per-identity baselines: list them, reset one")
  baselines
    .command('list', { isDefault: true })
    .description(
      "What each identity has been seen doing (the anomaly detector's baselines, per cluster): its " +
        'first and last event, and the actions, namespaces, source ranges and clients it is known for.',
    )
    .requiredOption('--store <store>', 'the store audit serve writes')
    .option('--cluster-name <name>', "the audit serve's --cluster-name", 'cluster')
    .option('--json', 'as JSON')
    .action(async (flags: BaselineFlags) => {
      process.exitCode = await listBaselines(flags)
    })
  baselines
    .command('reset <identity>')
    .description(
      'Forget an identity (a role change, a new job): what it does from now on is learned again rather ' +
        'than reported. A running audit serve takes the reset up before its next page of events.',
    )
    .requiredOption('--store <store>', 'the store audit serve writes')
    .option('--cluster-name <name>', "the audit serve's --cluster-name", 'cluster')
    .addHelpText(
      'after',
      '\nExample:\n  $ plimsoll audit baselines reset system:serviceaccount:ci:deployer --store audit.db --cluster-name prod',
    )
    .action(async (identity: string, flags: BaselineFlags) => {
      process.exitCode = await resetIdentity(identity, flags)
    })
}

function listBaselines(flags: BaselineFlags): Promise<number> {
  return withStore(flags.store, 'plimsoll audit baselines: --store', async (store) => {
    const { loadBaselines } = await import('../store/audit-baselines.js')
    const { DIMENSIONS } = await import('../audit/anomaly/baselines.js')
    const all = (await loadBaselines(store, flags.clusterName)).sort((a, b) =>
      b.lastSeen.localeCompare(a.lastSeen),
    )
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(all, null, 2)}\n`)
      return EXIT_OK
    }
    if (all.length === 0) {
      process.stdout.write(
        `No baselines for cluster ${flags.clusterName} (is --cluster-name the one audit serve runs with?)\n`,
      )
      return EXIT_OK
    }
    for (const b of all) {
      process.stdout.write(`${b.identity}  first ${b.firstSeen}  last ${b.lastSeen}\n`)
      for (const d of DIMENSIONS) {
        const values = b.seen[d] ?? []
        const shown = values.slice(0, 8).join(', ')
        process.stdout.write(
          `  ${d}: ${shown}${values.length > 8 ? `, and ${values.length - 8} more` : ''}\n`,
        )
      }
    }
    return EXIT_OK
  })
}

function resetIdentity(identity: string, flags: BaselineFlags): Promise<number> {
  return withStore(flags.store, 'plimsoll audit baselines reset: --store', async (store) => {
    const { resetBaseline } = await import('../store/audit-baselines.js')
    const had = await resetBaseline(store, flags.clusterName, identity, 'cli')
    process.stdout.write(
      had
        ? `Reset ${identity} in cluster ${flags.clusterName}: it is learned again from its next event.\n`
        : `No baseline for ${identity} in cluster ${flags.clusterName}; a running audit serve forgets it too, should it hold one.\n`,
    )
    return EXIT_OK
  })
}

async function kubeconfig(flags: KubeconfigFlags): Promise<number> {
  const { readFileSync } = await import('node:fs')
  const { renderAuditKubeconfig } = await import('../audit/ingest/kubeconfig.js')
  const read = (file: string) => readFileSync(file, 'utf8')
  try {
    if (!flags.tokenFile && !(flags.clientCert && flags.clientKey))
      throw new Error('give --token-file, or --client-cert with --client-key')
    const token = flags.tokenFile ? read(flags.tokenFile).split('\n')[0]!.trim() : undefined
    process.stdout.write(
      renderAuditKubeconfig({
        server: flags.server,
        caCert: read(flags.caFile),
        ...(token ? { token } : {}),
        ...(flags.clientCert && flags.clientKey
          ? { clientCert: read(flags.clientCert), clientKey: read(flags.clientKey) }
          : {}),
      }),
    )
    return EXIT_OK
  } catch (err) {
    process.stderr.write(`plimsoll audit kubeconfig: ${(err as Error).message}\n`)
    return EXIT_USAGE
  }
}

async function serve(flags: ServeFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`plimsoll audit: ${line}\n`)
  const { readFileSync } = await import('node:fs')
  if (!flags.clientCa && !flags.tokenFile && !flags.allowUnauthenticated) {
    say('give --client-ca or --token-file (how the API server authenticates), or --allow-unauthenticated')
    return EXIT_USAGE
  }
  // Everything that can be wrong in the files is said before anything starts.
  const problems: string[] = []
  const detectors: import('../audit/pipeline.js').Detector[] = []
  if (flags.falcoRules.length > 0) {
    const { formatMessage, loadFalcoRules } = await import('../audit/falco/index.js')
    const files: { name: string; text: string }[] = []
    for (const file of flags.falcoRules) {
      try {
        files.push({ name: file, text: readFileSync(file, 'utf8') })
      } catch (err) {
        problems.push(`--falco-rules: ${(err as Error).message}`)
      }
    }
    const falco = loadFalcoRules(files, { cluster: flags.clusterName })
    problems.push(...falco.errors.map(formatMessage))
    for (const warning of falco.warnings) say(`warning: ${formatMessage(warning)}`)
    detectors.push({ name: 'falco rules', evaluate: (e) => falco.evaluate(e) })
  }
  try {
    const { loadAuditRules } = await import('../audit/rules/index.js')
    const own = loadAuditRules({
      builtin: flags.builtinRules,
      paths: flags.rules,
      cluster: flags.clusterName,
    })
    if (own.rules.length > 0) detectors.push({ name: 'plimsoll rules', evaluate: (e) => own.evaluate(e) })
  } catch (err) {
    problems.push((err as Error).message)
  }
  let alertsConfig: import('../audit/alerts/config.js').AlertsConfig | undefined
  if (flags.alerts) {
    const { loadAlertsConfig } = await import('../audit/alerts/config.js')
    try {
      alertsConfig = loadAlertsConfig(flags.alerts)
    } catch (err) {
      problems.push((err as Error).message)
    }
  }
  const tokens = () =>
    flags.tokenFile
      ? readFileSync(flags.tokenFile, 'utf8')
          .split('\n')
          .map((t) => t.trim())
          .filter(Boolean)
      : []
  try {
    if (flags.tokenFile && tokens().length === 0)
      problems.push(`--token-file ${flags.tokenFile}: no token in it`)
  } catch (err) {
    problems.push(`--token-file: ${(err as Error).message}`)
  }
  if (problems.length > 0) {
    for (const p of problems) say(p)
    return EXIT_USAGE
  }
  if (detectors.length === 0 && !flags.anomaly)
    say('warning: no rules and no baselines: events are stored, nothing is detected')

  const { openStore } = await import('../store/connect.js')
  let store: import('../store/connect.js').Store
  try {
    store = await openStore(flags.store)
  } catch (err) {
    say(`--store: ${(err as Error).message}`)
    return EXIT_USAGE
  }
  const { Baselines } = await import('../audit/anomaly/baselines.js')
  const { loadBaselines } = await import('../store/audit-baselines.js')
  const baselines = flags.anomaly
    ? new Baselines(
        { learningMs: flags.learningDays * 24 * 60 * 60 * 1000 },
        await loadBaselines(store, flags.clusterName),
      )
    : undefined
  let alerts: import('../audit/alerts/pipeline.js').AlertPipeline | undefined
  if (alertsConfig) {
    const { AlertPipeline } = await import('../audit/alerts/pipeline.js')
    alerts = new AlertPipeline(store, alertsConfig, {
      cluster: flags.clusterName,
      onError: (err) => say(`alerts: ${err.message}`),
    })
    try {
      await alerts.start()
    } catch (err) {
      say(`alerts: ${(err as Error).message}`)
      await store.close()
      return EXIT_USAGE
    }
  }
  const { AuditConsumer } = await import('../audit/pipeline.js')
  const consumer = new AuditConsumer({
    store,
    cluster: flags.clusterName,
    detectors,
    ...(baselines ? { baselines } : {}),
    // the alert pipeline reads the detections from the store, where a restart finds them too
    onDetections: () => alerts?.notify(),
    log: say,
  })
  const { startAuditReceiver } = await import('../audit/ingest/receiver.js')
  const { parseFalcoAlerts } = await import('../audit/ingest/falco-alerts.js')
  const { recordDetections } = await import('../store/audit-detections.js')
  // Falco's runtime alerts are detections already: stored, then on to the alerts like the rules' own.
  const falco = {
    counts: { accepted: 0, skipped: 0 },
    accept: async (text: string) => {
      const { detections, errors } = parseFalcoAlerts(text, { cluster: flags.clusterName })
      await recordDetections(store.db, flags.clusterName, detections)
      falco.counts.accepted += detections.length
      falco.counts.skipped += errors.length
      if (detections.length > 0) alerts?.notify()
      return { accepted: detections.length, errors }
    },
  }
  let receiver: Awaited<ReturnType<typeof startAuditReceiver>>
  try {
    receiver = await startAuditReceiver({
      host: flags.host,
      port: flags.port,
      certFile: flags.tlsCert,
      keyFile: flags.tlsKey,
      ...(flags.clientCa ? { clientCaFile: flags.clientCa } : {}),
      ...(flags.tokenFile ? { tokens } : {}),
      ...(flags.allowUnauthenticated ? { allowUnauthenticated: true } : {}),
      store,
      falco,
      log: say,
    })
  } catch (err) {
    say((err as Error).message)
    await alerts?.stop()
    await store.close()
    return EXIT_USAGE
  }
  const { registerAuditMetrics } = await import('../audit/metrics.js')
  registerAuditMetrics(receiver.registry, { consumer, falco, store, ...(alerts ? { alerts } : {}) })
  const { AuditLogFollower } = await import('../audit/ingest/log-follower.js')
  const followers = flags.logFile.map(
    (path) => new AuditLogFollower({ store, path, registry: receiver.registry, log: say }),
  )
  for (const f of followers) f.start()
  consumer.start()
  const { pruneAuditEvents } = await import('../store/audit-queue.js')
  const { pruneOutbox, pruneSilences } = await import('../store/alerts.js')
  const prune = async () => {
    await pruneAuditEvents(store, { retentionMs: flags.retentionHours * 60 * 60 * 1000 })
    // Delivered notifications and ended silences are kept a week: what was sent, and what muted it.
    const weekAgo = new Date(Date.now() - 7 * 24 * 60 * 60 * 1000).toISOString()
    await pruneOutbox(store, weekAgo)
    await pruneSilences(store, weekAgo)
  }
  const pruning = setInterval(
    () => void prune().catch((err) => say(`pruning: ${(err as Error).message}`)),
    10 * 60 * 1000,
  )
  pruning.unref()
  say(
    `serving ${receiver.url}/audit (and /falco): ${detectors.map((d) => d.name).join(' and ') || 'no rules'}${baselines ? ', per-identity baselines' : ''}${alerts ? ', alerts' : ''}; cluster ${flags.clusterName}`,
  )
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      say(`${signal}: finishing the batches under way`)
      resolve()
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
  clearInterval(pruning)
  // Stopped in the order events flow: nothing taken is left half-done (what is queued stays queued).
  await receiver.stop()
  for (const f of followers) await f.stop()
  await consumer.stop()
  await alerts?.stop()
  await store.close()
  return EXIT_OK
}
