/** `plimsoll webhook`: the admission door and its tools. */
import type { Command } from 'commander'
import type { ValidationSetup } from '../webhook/decide.js'
import type { EnforcementConfig } from '../webhook/enforcement.js'
import { enforcementFileOf, enforcementOf } from './enforcement-flag.js'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import {
  addLibraryOptions,
  exceptionFileRules,
  type LibraryFlags,
  libraryOf,
  policyVersionOf,
} from './library-flags.js'

interface ManifestFlags extends LibraryFlags {
  caBundleFile?: string
  name: string
  service: string
  namespace: string
  port: string
  serviceAccount: string
  failurePolicy: string
  timeout: string
  enforcement?: string
  kubeconfig?: string
  context?: string
  namespaceLabels?: boolean
}

interface ServeFlags extends LibraryFlags {
  reloadSeconds: string
  store?: string
  clusterName: string
  tlsCert: string
  tlsKey: string
  port: string
  host: string
  enforcement?: string
  namespace: string
  namespaceLabels?: boolean
  kubeconfig?: string
  context?: string
  inCluster?: boolean
}

interface CertsFlags {
  outDir: string
  service: string
  namespace: string
  name: string[]
  days: string
  caDays: string
  client?: string
}

function days(value: string, flag: string): number | string {
  const n = Number(value)
  return Number.isInteger(n) && n > 0 && n <= 36_500
    ? n
    : `${flag} ${value}: expected a whole number of days, 1 to 36500`
}

export function registerWebhook(program: Command): void {
  const webhook = program
    .command('webhook')
    .summary('the admission webhook: serve reviews, make its certificates')
    .description(
      'The admission door: the same policies that run in CI and in the cluster scan, decided when the ' +
        'API server admits an object. `webhook certs` makes the TLS certificates the API server needs.',
    )
  const serve = webhook
    .command('serve')
    .description(
      'Serve AdmissionReviews (admission.k8s.io/v1 and v1beta1) over HTTPS: POST /validate and /mutate ' +
        '(and paths below them), with /healthz, /readyz and /metrics. Mutating policies given with --policy ' +
        'answer /mutate with a JSONPatch. Each failing check is enforced (denied, ' +
        'naming the check and the field), warned, audited or ignored as the --enforcement file says ' +
        "(default: warn, with kube-system and the webhook's own namespace exempt). Kyverno policies " +
        'and admission policies given with --policy keep their own failureAction / validationActions ' +
        'unless a rule of the file says otherwise, and see the request as the API server sent it. ' +
        'Runs until SIGTERM or SIGINT, then finishes the reviews under way.',
    )
    .requiredOption('--tls-cert <file>', 'serving certificate (PEM); read again when it changes')
    .requiredOption('--tls-key <file>', 'its key (PEM)')
    .option('--port <n>', 'port', '9443')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option(
      '--enforcement <file>',
      'EnforcementConfig: modes per check and namespace, exemptions (docs/admission.md)',
    )
    .option(
      '-n, --namespace <name>',
      "the webhook's own namespace, exempt by default (default: $POD_NAMESPACE, else plimsoll)",
      process.env.POD_NAMESPACE || 'plimsoll',
    )
    .option(
      '--reload-seconds <n>',
      'how often the certificate and --enforcement files are looked at for changes (mounted Secrets and ConfigMaps change in place)',
      '10',
    )
    .option(
      '--store <store>',
      'record decisions (never the objects) in this store: a file, or postgres://... (replicas share one)',
    )
    .option('--cluster-name <name>', "the cluster's name in the recorded decisions", 'cluster')
    .option(
      '--namespace-labels',
      "read the namespaces' labels from the cluster (list and watch namespaces: needs get, list and watch " +
        'on namespaces), for rules and policies that select by them; not ready until they are listed',
    )
    .option(
      '--kubeconfig <file>',
      'with --namespace-labels: kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)',
    )
    .option('--context <name>', 'with --namespace-labels: kubeconfig context (default: its current context)')
    .option(
      '--in-cluster',
      "with --namespace-labels: use the pod's service account (default inside a pod without a kubeconfig)",
    )
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll webhook certs --out-dir certs --name 127.0.0.1
  $ plimsoll webhook serve --tls-cert certs/tls.crt --tls-key certs/tls.key --enforcement enforcement.yaml
  $ plimsoll webhook serve --tls-cert tls.crt --tls-key tls.key --enforcement enforcement.yaml --namespace-labels
  $ plimsoll webhook serve --tls-cert tls.crt --tls-key tls.key --policy kyverno-policies/ --no-builtin`,
    )
    .action(async (flags: ServeFlags) => {
      process.exitCode = await serveWebhook(flags)
    })
  addLibraryOptions(serve)

  const manifest = webhook
    .command('manifest')
    .description(
      'Print the ValidatingWebhookConfiguration for the loaded checks and policies (and, when mutating ' +
        'policies are loaded, the MutatingWebhookConfiguration for the kinds they change): rules for the ' +
        "kinds they read and nothing else (from the cluster's discovery with --kubeconfig/--context, " +
        "else Kubernetes' built-in API), the exempt namespaces left out by a namespaceSelector, the " +
        "webhook's own service account and the exempt users by a matchCondition, sideEffects None.",
    )
    .requiredOption(
      '--ca-bundle-file <file>',
      'the CA that signed the serving certificate (ca.crt of `webhook certs`)',
    )
    .option('--name <name>', 'the configuration name (its webhook is validate.plimsoll.dev)', 'plimsoll')
    .option('--service <name>', 'the Service in front of the webhook', 'plimsoll-webhook')
    .option('-n, --namespace <name>', "the Service's namespace", 'plimsoll')
    .option('--port <n>', "the Service's port", '443')
    .option(
      '--service-account <name>',
      "the webhook's own service account (its requests are never sent to it)",
      'plimsoll-webhook',
    )
    .option(
      '--failure-policy <policy>',
      'Ignore (fail open: the cluster works when the webhook is down) or Fail (fail closed)',
      'Ignore',
    )
    .option('--timeout <seconds>', 'how long the API server waits for an answer, 1 to 30', '5')
    .option(
      '--enforcement <file>',
      'the EnforcementConfig the webhook runs with: its exemptions go into the configuration',
    )
    .option('--kubeconfig <file>', "read the kinds from this cluster's discovery (custom resources included)")
    .option('--context <name>', 'kubeconfig context')
    .option(
      '--namespace-labels',
      "also print the ClusterRole and ClusterRoleBinding that let the webhook's service account read " +
        'namespaces (get, list, watch), for `webhook serve --namespace-labels`',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll webhook manifest --ca-bundle-file certs/ca.crt | kubectl apply -f -
  $ plimsoll webhook manifest --ca-bundle-file certs/ca.crt --policy kyverno/ --failure-policy Fail --context prod`,
    )
    .action(async (flags: ManifestFlags) => {
      process.exitCode = await printManifest(flags)
    })
  addLibraryOptions(manifest)

  webhook
    .command('certs')
    .description(
      "Write a CA and the webhook's serving certificate (EC P-256) for its Service, and print the " +
        'caBundle for the webhook configurations. A CA already in --out-dir is kept, so that renewing ' +
        'the serving certificate does not change the caBundle. Keys are written readable by their owner only. ' +
        'With --client, also a client certificate signed by the same CA: the one the API server presents to ' +
        'the audit receiver (`audit serve --client-ca ca.crt`, `audit kubeconfig --client-cert client.crt`).',
    )
    .requiredOption(
      '--out-dir <dir>',
      'where ca.crt, ca.key, tls.crt and tls.key go (and client.crt, client.key)',
    )
    .option('--service <name>', 'the Service in front of the webhook', 'plimsoll-webhook')
    .option('-n, --namespace <name>', "the Service's namespace", 'plimsoll')
    .option(
      '--name <name>',
      'another DNS name or IP address for the certificate (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option(
      '--client <name>',
      'also issue a client certificate (clientAuth) with this common name, e.g. kube-apiserver, to client.crt and client.key',
    )
    .option('--days <n>', 'validity of the serving certificate (and of the client certificate)', '365')
    .option('--ca-days <n>', 'validity of a new CA', '3650')
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll webhook certs --out-dir ./certs
  $ kubectl -n plimsoll create secret tls plimsoll-webhook-tls --cert certs/tls.crt --key certs/tls.key
  $ plimsoll webhook certs --out-dir ./certs --name 127.0.0.1     # also for a webhook run locally
  $ plimsoll webhook certs --out-dir ./audit-certs --service plimsoll-audit --client kube-apiserver
  $ plimsoll audit kubeconfig --server https://plimsoll-audit.plimsoll.svc:9444/audit --ca-file audit-certs/ca.crt \\
      --client-cert audit-certs/client.crt --client-key audit-certs/client.key`,
    )
    .action(async (flags: CertsFlags) => {
      process.exitCode = await certs(flags)
    })
}

async function certs(flags: CertsFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`plimsoll webhook certs: ${line}\n`)
  const serving = days(flags.days, '--days')
  const ca = days(flags.caDays, '--ca-days')
  for (const d of [serving, ca])
    if (typeof d === 'string') {
      say(d)
      return EXIT_USAGE
    }
  const { writeCertificates } = await import('../webhook/certificates.js')
  try {
    const written = writeCertificates({
      dir: flags.outDir,
      service: flags.service,
      namespace: flags.namespace,
      extraNames: flags.name,
      days: serving as number,
      caDays: ca as number,
      ...(flags.client !== undefined ? { client: flags.client } : {}),
    })
    say(`${written.keptCa ? 'kept the CA in' : 'wrote a new CA to'} ${written.caFile}`)
    say(`wrote ${written.certFile} and ${written.keyFile} for ${written.names.join(', ')}`)
    if (written.client)
      say(
        `wrote ${written.client.certFile} and ${written.client.keyFile}: a client certificate for ${written.client.commonName}`,
      )
    say('caBundle (for clientConfig.caBundle) on stdout')
    process.stdout.write(`${written.caBundle}\n`)
    return EXIT_OK
  } catch (err) {
    say((err as Error).message)
    return EXIT_USAGE
  }
}

async function serveWebhook(flags: ServeFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`plimsoll webhook: ${line}\n`)
  const port = Number(flags.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    say(`--port ${flags.port}: expected a port number, 0 to 65535`)
    return EXIT_USAGE
  }
  const reloadMs = Number(flags.reloadSeconds) * 1000
  if (!(reloadMs >= 100 && reloadMs <= 3_600_000)) {
    say(`--reload-seconds ${flags.reloadSeconds}: expected a number of seconds, 0.1 to 3600`)
    return EXIT_USAGE
  }
  const policyVersion = policyVersionOf(flags)
  const fileRules = exceptionFileRules(flags)
  const enforcementFile = await enforcementFileOf(flags)
  if (Array.isArray(enforcementFile)) {
    for (const problem of enforcementFile) say(problem)
    return EXIT_USAGE
  }
  const enforcement = enforcementFile.config
  if (typeof policyVersion === 'string' || typeof fileRules === 'string') {
    for (const problem of [policyVersion, fileRules]) if (typeof problem === 'string') say(problem)
    return EXIT_USAGE
  }
  const cluster = flags.kubeconfig || flags.context || flags.inCluster
  if (cluster && !flags.namespaceLabels) {
    say(
      '--kubeconfig, --context and --in-cluster say where to read namespaces from: give --namespace-labels too',
    )
    return EXIT_USAGE
  }
  // The namespaces' labels, from the cluster: listed and watched while the webhook serves.
  let namespaces: import('../webhook/namespaces.js').NamespaceCache | undefined
  if (flags.namespaceLabels) {
    const { connectionOf } = await import('./kube-flags.js')
    const connection = await connectionOf({
      ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
      ...(flags.context ? { context: flags.context } : {}),
      ...(flags.inCluster ? { inCluster: true } : {}),
      namespace: [],
      excludeNamespace: [],
    })
    if (typeof connection === 'string') {
      say(`--namespace-labels: ${connection}`)
      return EXIT_USAGE
    }
    const { NamespaceCache } = await import('../webhook/namespaces.js')
    namespaces = new NamespaceCache({ client: connection.client, log: say })
  }
  let store: import('../store/connect.js').Store | undefined
  let recorder: import('../webhook/recorder.js').DecisionRecorder | undefined
  if (flags.store) {
    const { openStore } = await import('../store/connect.js')
    const { recordAdmissions } = await import('../store/admissions.js')
    const { DecisionRecorder } = await import('../webhook/recorder.js')
    try {
      store = await openStore(flags.store)
    } catch (err) {
      say(`--store: ${(err as Error).message}`)
      return EXIT_USAGE
    }
    const opened = store
    recorder = new DecisionRecorder({
      cluster: flags.clusterName,
      write: (records) => recordAdmissions(opened, records),
      log: say,
    })
  }
  const { startWebhookServer } = await import('../webhook/server.js')
  const { decideValidation } = await import('../webhook/decide.js')
  const { decideMutation } = await import('../webhook/mutate.js')
  let mutation: import('../webhook/mutate.js').MutationSetup | undefined
  // Listening first, not ready until the policies are compiled (and, with --namespace-labels, the
  // namespaces listed): the API server's readiness probe waits.
  let setup: ValidationSetup | undefined
  let running: Awaited<ReturnType<typeof startWebhookServer>>
  try {
    running = await startWebhookServer({
      host: flags.host,
      port,
      certFile: flags.tlsCert,
      keyFile: flags.tlsKey,
      certCheckMs: reloadMs,
      ready: () =>
        setup === undefined
          ? 'policies not compiled yet'
          : namespaces && !namespaces.ready
            ? 'namespaces not listed yet'
            : true,
      log: say,
      decide: (kind, request) => {
        if (!setup) throw new Error('policies not compiled yet')
        // Judged without the labels, a namespaceSelector rule would not match: a 500, failurePolicy decides.
        if (namespaces && !namespaces.ready) throw new Error('namespaces not listed yet')
        if (kind === 'mutate') return mutation ? decideMutation(mutation, request) : { allowed: true }
        const decision = decideValidation(setup, request)
        // Queued, not written: the answer never waits on the store.
        recorder?.record(request, decision)
        return decision.verdict
      },
    })
  } catch (err) {
    say((err as Error).message)
    await store?.close()
    return EXIT_USAGE
  }
  // Listing while the library compiles.
  namespaces?.start()
  const library = libraryOf(flags)
  if (typeof library === 'string') {
    say(library)
    await running.stop()
    await namespaces?.stop()
    await store?.close()
    return EXIT_USAGE
  }
  for (const warning of library.policyWarnings) say(`warning: ${warning}`)
  for (const error of library.policyErrors) say(`${error.file}: ${error.message}`)
  const { Engine, LATEST_VERSION } = await import('../policy/engine.js')
  const { utcToday } = await import('../policy/exceptions.js')
  const engine = new Engine(
    library.checks,
    library.podTemplates,
    { version: policyVersion.version ?? LATEST_VERSION },
    library.foreign,
  )
  // Set before `setup`: readiness waits for both.
  const snapshot = namespaces ? { namespaces: namespaces.snapshot } : {}
  if (library.mutator && library.mutator.size > 0)
    mutation = { mutator: library.mutator, enforcement, ...snapshot }
  const validation = (modes: EnforcementConfig): ValidationSetup => ({
    engine,
    enforcement: modes,
    ...snapshot,
    // A getter, so that an exception expires at midnight without a restart.
    get exceptions() {
      return { rules: fileRules, today: utcToday() }
    },
  })
  setup = validation(enforcement)
  // New modes hold from the next review; the reviews under way finish with the old ones.
  const { watchEnforcementFile } = await import('../webhook/enforcement-file.js')
  const reloading =
    flags.enforcement && enforcementFile.text !== undefined
      ? watchEnforcementFile({
          file: flags.enforcement,
          text: enforcementFile.text,
          ownNamespace: flags.namespace,
          everyMs: reloadMs,
          log: (line) => say(`enforcement: ${line}`),
          onChange: (config) => {
            setup = validation(config)
            if (mutation) mutation = { ...mutation, enforcement: config }
          },
        })
      : undefined
  // The signals are taken before "serving" is said: whoever waits for that line may stop it at once.
  const stopping = new Promise<Error | undefined>((resolve) => {
    const stop = (signal: string) => {
      say(`${signal}: finishing the reviews under way`)
      resolve(undefined)
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
    // A first list refused (RBAC) would leave the webhook not ready for ever: said, and it exits.
    namespaces?.whenReady.then(
      () => say(`namespaces: ${namespaces.size} listed, watching for changes to their labels`),
      (err: Error) => resolve(err),
    )
  })
  say(`serving ${running.url}: ${engine.metadata().length} checks, default mode ${enforcement.defaultMode}`)
  const refused = await stopping
  if (refused) say(`--namespace-labels: ${refused.message}`)
  reloading?.stop()
  await running.stop()
  await namespaces?.stop()
  await recorder?.close()
  await store?.close()
  return refused ? EXIT_USAGE : EXIT_OK
}

async function printManifest(flags: ManifestFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`plimsoll webhook manifest: ${line}\n`)
  const problems: string[] = []
  const port = Number(flags.port)
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    problems.push(`--port ${flags.port}: expected 1 to 65535`)
  const timeout = Number(flags.timeout)
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 30)
    problems.push(`--timeout ${flags.timeout}: expected whole seconds, 1 to 30 (the API server's limits)`)
  if (flags.failurePolicy !== 'Ignore' && flags.failurePolicy !== 'Fail')
    problems.push(`--failure-policy ${flags.failurePolicy}: expected Ignore or Fail`)
  const policyVersion = policyVersionOf(flags)
  if (typeof policyVersion === 'string') problems.push(policyVersion)
  const { readFileSync } = await import('node:fs')
  let caBundle = ''
  try {
    const pem = readFileSync(flags.caBundleFile!, 'utf8')
    if (!pem.includes('-----BEGIN CERTIFICATE-----'))
      problems.push(`--ca-bundle-file ${flags.caBundleFile}: not a PEM certificate`)
    caBundle = Buffer.from(pem).toString('base64')
  } catch (err) {
    problems.push(`--ca-bundle-file: ${(err as Error).message}`)
  }
  const enforcement = await enforcementOf(flags)
  if (Array.isArray(enforcement)) problems.push(...enforcement)
  const library = libraryOf(flags)
  if (typeof library === 'string') problems.push(library)
  if (
    problems.length > 0 ||
    typeof library === 'string' ||
    typeof policyVersion === 'string' ||
    Array.isArray(enforcement)
  ) {
    for (const problem of problems) say(problem)
    return EXIT_USAGE
  }
  for (const warning of library.policyWarnings) say(`warning: ${warning}`)
  const { Engine, LATEST_VERSION } = await import('../policy/engine.js')
  const engine = new Engine(
    library.checks,
    library.podTemplates,
    { version: policyVersion.version ?? LATEST_VERSION },
    library.foreign,
  )
  let served: import('../webhook/manifest.js').ServedResource[]
  if (flags.kubeconfig || flags.context) {
    const { connectionOf } = await import('./kube-flags.js')
    const connection = await connectionOf({
      ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
      ...(flags.context ? { context: flags.context } : {}),
      namespace: [],
      excludeNamespace: [],
    })
    if (typeof connection === 'string') {
      say(connection)
      return EXIT_USAGE
    }
    const { discover } = await import('../cluster/discovery.js')
    try {
      const found = await discover(connection.client)
      for (const f of found.failed) say(`warning: discovery of ${f.groupVersion} failed: ${f.message}`)
      served = found.resources
    } catch (err) {
      say(`cannot read ${connection.client.server}'s discovery: ${(err as Error).message}`)
      return EXIT_USAGE
    }
  } else {
    // Kubernetes' own API as kube-apiserver serves it (custom resources need --kubeconfig).
    const { BUILT_IN_TYPES } = await import('../control-plane/catalog.js')
    served = BUILT_IN_TYPES.map((t) => ({
      group: t.group,
      version: t.version,
      kind: t.kind,
      resource: t.resource,
      namespaced: t.namespaced,
    }))
  }
  const { mutatingRules, webhookConfiguration, webhookRules } = await import('../webhook/manifest.js')
  const options = {
    name: flags.name,
    service: { namespace: flags.namespace, name: flags.service, port },
    caBundle,
    failurePolicy: flags.failurePolicy as 'Fail' | 'Ignore',
    timeoutSeconds: timeout,
    exemptions: enforcement.exemptions,
    serviceAccount: `system:serviceaccount:${flags.namespace}:${flags.serviceAccount}`,
  }
  const rules = webhookRules(engine, served)
  if (rules.length === 0)
    say('warning: no check or policy names a kind the cluster serves: the webhook would never be called')
  const documents = [webhookConfiguration('Validating', options, rules)]
  // A mutating webhook only when a mutating policy is loaded: otherwise it would change nothing.
  const mutating = library.mutator && library.mutator.size > 0 ? mutatingRules(library.mutator, served) : []
  if (mutating.length > 0) documents.push(webhookConfiguration('Mutating', options, mutating))
  if (flags.namespaceLabels) {
    const { namespaceReaderRbac } = await import('../webhook/namespaces.js')
    documents.push(
      ...namespaceReaderRbac({
        name: flags.name,
        serviceAccount: { namespace: flags.namespace, name: flags.serviceAccount },
      }),
    )
  }
  process.stdout.write(documents.join('---\n'))
  return EXIT_OK
}
