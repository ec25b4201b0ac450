/**
 * `plimsoll usage`: what each container uses, what to set instead, and what it costs, from the
 * cluster's Prometheus (docs/cli.md#plimsoll-usage, docs/usage.md). Collects (src/usage/collect),
 * recommends (src/usage/recommend), costs (src/usage/cost) and prints (src/usage/output).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { DEFAULT_BATCH_SIZE } from '../usage/collect/batches.js'
import { PriceConfigError } from '../usage/cost/price-config.js'
import type { PriceSheet } from '../usage/cost/prices.js'
import type { UsageAnalysis } from '../usage/output/analysis.js'
import type { PatchFormat } from '../usage/output/patch.js'
import type { PrometheusClient, PrometheusOptions } from '../usage/prometheus/client.js'
import type { Confidence, Strategy, UsageReport } from '../usage/types.js'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import { collect } from './library-flags.js'

const FORMATS = ['table', 'json', 'csv'] as const
type UsageFormat = (typeof FORMATS)[number]
const STRATEGIES: readonly Strategy[] = ['simple', 'vpa']
const PATCH_FORMATS: readonly PatchFormat[] = ['kubectl', 'kustomize', 'helm']
const CONFIDENCES: readonly Confidence[] = ['low', 'medium', 'high']

/** The token itself, where a flag value would show in `ps`. */
const TOKEN_ENV = 'PLIMSOLL_PROMETHEUS_TOKEN'

interface UsageFlags {
  prometheus: string
  clusterName: string
  days: number
  end?: Date
  strategy: Strategy
  teamLabel: string
  namespace: string[]
  prices?: string
  format: UsageFormat
  output?: string
  patch?: string
  patchFormat: PatchFormat
  minConfidence: Confidence
  color?: boolean
  bearerTokenFile?: string
  basicAuthUser?: string
  basicAuthPasswordFile?: string
  caFile?: string
  clientCert?: string
  clientKey?: string
  insecureSkipVerify?: boolean
  tlsServerName?: string
  tenant?: string
  header: string[]
  queryParam: string[]
  timeout: number
  concurrency: number
  batchSize?: number
  store?: string
}

function oneOf<T extends string>(values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value))
      throw new InvalidArgumentError(`expected one of: ${values.join(', ')}`)
    return value as T
  }
}

function days(value: string): number {
  const n = Number(value)
  if (!(n > 0 && n <= 90))
    throw new InvalidArgumentError('expected a number of days, more than 0 and at most 90')
  return n
}

function seconds(value: string): number {
  const n = Number(value)
  if (!(n > 0 && n <= 3600)) throw new InvalidArgumentError('expected seconds, more than 0 and at most 3600')
  return n
}

function whole(max: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`)
    return n
  }
}

/** An ISO 8601 time (`2026-03-14T00:00:00Z`, `2026-03-14`) or seconds since the epoch. */
function time(value: string): Date {
  const d = /^\d+(\.\d+)?$/.test(value) ? new Date(Number(value) * 1000) : new Date(value)
  if (Number.isNaN(d.getTime()))
    throw new InvalidArgumentError('expected a time: ISO 8601 (2026-03-14T00:00:00Z) or unix seconds')
  return d
}

export function registerUsage(program: Command): void {
  program
    .command('usage')
    .summary("what containers use, what to set instead and what it costs, from the cluster's Prometheus")
    .description(
      "Read a cluster's usage from its Prometheus (cAdvisor and kube-state-metrics series), recommend " +
        "CPU and memory requests and limits per container (strategy simple: KRR's; vpa: the VPA " +
        "recommender's), and cost them with OpenCost's model: per container, namespace, team and node, " +
        'idle, waste and savings. Prints a table, JSON or CSV; --patch writes what to apply.',
    )
    .requiredOption(
      '--prometheus <url>',
      'the Prometheus (or Thanos Query, or Mimir) HTTP API: http(s)://host:port[/prefix]',
    )
    .requiredOption('--cluster-name <name>', "the cluster's name in the report (and its prices in --prices)")
    .addOption(
      new Option('--days <n>', 'the window: this many days up to --end (at most 90)')
        .argParser(days)
        .default(14),
    )
    .addOption(
      new Option('--end <time>', 'the end of the window: ISO 8601 or unix seconds (default: now)')
        .argParser(time)
        .default(undefined, 'now'),
    )
    .addOption(
      new Option('--strategy <name>', 'simple (KRR) or vpa (the VPA recommender)')
        .argParser(oneOf(STRATEGIES))
        .default('simple'),
    )
    .option('--team-label <label>', "the workload's or namespace's label that names its team", 'team')
    .addOption(
      new Option('-n, --namespace <name>', 'only this namespace (repeatable)')
        .argParser(collect)
        .default([], 'all'),
    )
    .option('--prices <file>', "prices per cluster and instance type (YAML; default OpenCost's)")
    .addOption(
      new Option('-f, --format <format>', 'table, json or csv').argParser(oneOf(FORMATS)).default('table'),
    )
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--patch <dir>', 'write what to apply, per workload, into this directory')
    .option(
      '--store <store>',
      'also record the report as a snapshot (a file, or postgres://...): the dashboard keeps the trend',
    )
    .addOption(
      new Option(
        '--patch-format <format>',
        'kubectl (strategic merge patches), kustomize (a Component), helm (values)',
      )
        .argParser(oneOf(PATCH_FORMATS))
        .default('kubectl'),
    )
    .addOption(
      new Option(
        '--min-confidence <level>',
        'patch only recommendations at least this sure: low, medium, high',
      )
        .argParser(oneOf(CONFIDENCES))
        .default('medium'),
    )
    .option('--no-color', 'never colour the table (default: colour on a terminal)')
    .option(
      '--bearer-token-file <file>',
      `a file holding Prometheus's bearer token, read for every query (or the token in $${TOKEN_ENV})`,
    )
    .option(
      '--basic-auth-user <name>',
      'basic auth, with --basic-auth-password-file (or https://user:password@host)',
    )
    .option('--basic-auth-password-file <file>', "the basic auth password's file")
    .option('--ca-file <file>', "the CA that signed Prometheus's certificate (PEM; default: the system's)")
    .option('--client-cert <file>', 'a client certificate for Prometheus (PEM), with --client-key')
    .option('--client-key <file>', 'its key (PEM)')
    .option('--insecure-skip-verify', 'accept any certificate from Prometheus (not recommended)')
    .option('--tls-server-name <name>', "the name to check Prometheus's certificate against")
    .option('--tenant <id>', "Mimir's or Cortex's tenant (X-Scope-OrgID)")
    .addOption(
      new Option('-H, --header <header>', "another header for every query, 'Name: value' (repeatable)")
        .argParser(collect)
        .default([], 'none'),
    )
    .addOption(
      new Option(
        '--query-param <key=value>',
        "another parameter for every query, e.g. Thanos's partial_response=false (repeatable)",
      )
        .argParser(collect)
        .default([], 'none'),
    )
    .addOption(
      new Option('--timeout <seconds>', 'how long one query may take').argParser(seconds).default(30),
    )
    .addOption(new Option('--concurrency <n>', 'queries in flight at most').argParser(whole(64)).default(4))
    .addOption(
      new Option(
        '--batch-size <n>',
        `containers per batch of queries (default ${DEFAULT_BATCH_SIZE})`,
      ).argParser(whole(1_000_000)),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll usage --prometheus http://prometheus.monitoring:9090 --cluster-name prod
  $ plimsoll usage --prometheus https://mimir.example.com/prometheus --tenant prod \\
      --bearer-token-file /var/run/secrets/prometheus/token --cluster-name prod --days 7
  $ plimsoll usage --prometheus http://localhost:9090 --cluster-name prod -n shop -n payments --strategy vpa
  $ plimsoll usage --prometheus http://localhost:9090 --cluster-name prod --prices prices.yaml --format csv -o usage.csv
  $ plimsoll usage --prometheus http://localhost:9090 --cluster-name prod --format json -o usage.json
  $ plimsoll usage --prometheus http://localhost:9090 --cluster-name prod --patch rightsizing/   then:
  $ sh rightsizing/apply.sh
  $ plimsoll usage --prometheus http://localhost:9090 --cluster-name prod --patch overlays/prod/rightsizing \\
      --patch-format kustomize --min-confidence high

Exit codes: 0 the report was printed (recommendations or not; partial results too, with a warning on
stderr and their gaps in the report); 2 usage error, a --prices file that does not load, or Prometheus
unreachable, refusing the credentials, timing out, or without cAdvisor series.`,
    )
    .action(async (flags: UsageFlags) => {
      process.exitCode = await runUsage(flags)
    })
}

function fail(message: string): number {
  process.stderr.write(`plimsoll usage: ${message}\n`)
  return EXIT_USAGE
}

/** Read here, so that a missing file is a usage error before any query; the final line break is dropped. */
function readSecret(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '')
  } catch (err) {
    throw new Error(`cannot read the ${what} ${file}: ${(err as Error).message}`)
  }
}

/** The client's options from the flags; a string says what is wrong. */
export function prometheusOptions(
  flags: UsageFlags,
  env: NodeJS.ProcessEnv = process.env,
): PrometheusOptions | string {
  const headers: Record<string, string> = {}
  for (const h of flags.header) {
    const at = h.indexOf(':')
    if (at <= 0) return `--header '${h}': expected 'Name: value'`
    headers[h.slice(0, at).trim()] = h.slice(at + 1).trim()
  }
  const params: Record<string, string> = {}
  for (const p of flags.queryParam) {
    const at = p.indexOf('=')
    if (at <= 0) return `--query-param '${p}': expected key=value`
    params[p.slice(0, at)] = p.slice(at + 1)
  }
  if ((flags.basicAuthUser === undefined) !== (flags.basicAuthPasswordFile === undefined))
    return '--basic-auth-user and --basic-auth-password-file go together'
  if ((flags.clientCert === undefined) !== (flags.clientKey === undefined))
    return '--client-cert and --client-key go together'
  const token = env[TOKEN_ENV]?.trim()
  if (token && flags.bearerTokenFile !== undefined)
    return `give the bearer token in $${TOKEN_ENV} or --bearer-token-file, not both`
  let password: string | undefined
  if (flags.basicAuthPasswordFile !== undefined) {
    try {
      password = readSecret(flags.basicAuthPasswordFile, 'basic auth password file')
    } catch (err) {
      return `--basic-auth-password-file: ${(err as Error).message}`
    }
  }
  const tls = {
    ...(flags.caFile !== undefined ? { caFile: flags.caFile } : {}),
    ...(flags.clientCert !== undefined ? { certFile: flags.clientCert } : {}),
    ...(flags.clientKey !== undefined ? { keyFile: flags.clientKey } : {}),
    ...(flags.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
    ...(flags.tlsServerName !== undefined ? { serverName: flags.tlsServerName } : {}),
  }
  return {
    url: flags.prometheus,
    ...(token ? { bearerToken: token } : {}),
    ...(flags.bearerTokenFile !== undefined ? { bearerTokenFile: flags.bearerTokenFile } : {}),
    ...(flags.basicAuthUser !== undefined && password !== undefined
      ? { basicAuth: { username: flags.basicAuthUser, password } }
      : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
    ...(flags.tenant !== undefined ? { tenant: flags.tenant } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(Object.keys(params).length > 0 ? { params } : {}),
    timeoutMs: flags.timeout * 1000,
    concurrency: flags.concurrency,
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/** Nothing to report from: no container with any usage series. */
function noUsage(report: UsageReport, url: string, flags: UsageFlags): string | undefined {
  if (report.containers.some((c) => c.cpu.usage !== undefined || c.memory.usage !== undefined))
    return undefined
  const where =
    flags.namespace.length > 0
      ? ` in namespace${flags.namespace.length === 1 ? '' : 's'} ${flags.namespace.join(', ')}`
      : ''
  const gaps = report.gaps.map((g) => `\n  ${g.what}: ${g.message}`).join('')
  const failed = report.gaps.filter((g) => g.what.startsWith('batch: '))
  if (failed.length > 0 && !report.gaps.some((g) => g.what === 'cAdvisor'))
    // the series are there (the inventory counted them): it is the batches' queries that failed
    return (
      `Prometheus at ${url} has cAdvisor series${where}, but the queries of ${failed.length === 1 ? 'the only batch' : `all ${failed.length} batches`} failed, so no usage could be read` +
      (failed.some((g) => /did not answer|timeout|timed out/i.test(g.message))
        ? `: a query took longer than --timeout ${flags.timeout} s; give a longer --timeout, or a smaller --batch-size (now ${plural(flags.batchSize ?? DEFAULT_BATCH_SIZE, 'container')} a batch) for lighter queries`
        : '') +
      gaps
    )
  return (
    `Prometheus at ${url} has no cAdvisor series${where} from ${report.from} to ${report.to} ` +
    '(container_cpu_usage_seconds_total, container_memory_working_set_bytes with container and image labels): ' +
    "is the kubelet's /metrics/cadvisor scraped, and is --end within its retention?" +
    gaps
  )
}

async function runUsage(flags: UsageFlags): Promise<number> {
  const started = performance.now()
  let prices: PriceSheet
  try {
    if (flags.prices !== undefined) {
      const { loadPriceConfig } = await import('../usage/cost/price-config.js')
      prices = loadPriceConfig(flags.prices)
    } else {
      const { defaultPriceSheet } = await import('../usage/cost/prices.js')
      prices = defaultPriceSheet()
    }
  } catch (err) {
    if (err instanceof PriceConfigError) return fail(`--prices: ${err.message}`)
    throw err
  }
  const options = prometheusOptions(flags)
  if (typeof options === 'string') return fail(options)
  const { PrometheusClient, PrometheusError } = await import('../usage/prometheus/client.js')
  let client: PrometheusClient
  try {
    client = new PrometheusClient(options)
  } catch (err) {
    return fail((err as Error).message)
  }
  const to = flags.end ?? new Date()
  const from = new Date(to.getTime() - flags.days * 86_400_000)
  const progress = process.stderr.isTTY === true
  let report: UsageReport
  try {
    const { collectUsage } = await import('../usage/collect/index.js')
    report = await collectUsage(client, {
      cluster: flags.clusterName,
      from,
      to,
      teamLabel: flags.teamLabel,
      withSamples: flags.strategy === 'vpa',
      ...(flags.namespace.length > 0 ? { namespaces: flags.namespace } : {}),
      ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
      ...(progress
        ? {
            onProgress: (done: number, total: number, what: string) => {
              process.stderr.write(
                done < total ? `\r\x1b[Kplimsoll usage: ${done}/${total} ${what}` : '\r\x1b[K',
              )
            },
          }
        : {}),
    })
  } catch (err) {
    if (progress) process.stderr.write('\r\x1b[K')
    if (err instanceof PrometheusError || err instanceof Error) return fail(err.message)
    throw err
  } finally {
    client.close()
  }
  if (progress) process.stderr.write('\r\x1b[K')
  const none = noUsage(report, client.url, flags)
  if (none) return fail(none)

  const { analyse } = await import('../usage/output/analysis.js')
  const analysis = analyse(report, { strategy: flags.strategy, prices })
  const toFile = flags.output !== undefined
  const body = await render(flags.format, analysis, {
    color: flags.color !== false && !toFile && process.stdout.isTTY === true && !process.env.NO_COLOR,
  })
  if (flags.output !== undefined) {
    try {
      mkdirSync(dirname(resolve(flags.output)), { recursive: true })
      writeFileSync(flags.output, body)
    } catch (err) {
      return fail(`cannot write the ${flags.format} report to ${flags.output}: ${(err as Error).message}`)
    }
  } else process.stdout.write(body)

  const workloads = new Set(
    report.containers.map((c) => `${c.workload.namespace}/${c.workload.kind}/${c.workload.name}`),
  )
  const secs = ((performance.now() - started) / 1000).toFixed(1)
  process.stderr.write(
    `plimsoll usage: ${plural(report.containers.length, 'container')} of ${plural(workloads.size, 'workload')}, ${plural(report.nodes.length, 'node')} from ${client.url} in ${secs} s (${report.queries.count} quer${report.queries.count === 1 ? 'y' : 'ies'}, ${(report.queries.bytes / 1024 / 1024).toFixed(1)} MB)\n`,
  )

  if (flags.store !== undefined) {
    const recorded = await recordSnapshot(flags.store, analysis)
    if (typeof recorded === 'string') return fail(recorded)
    process.stderr.write(`plimsoll usage: recorded as snapshot ${recorded} in ${flags.store}\n`)
  }

  if (flags.patch !== undefined) {
    const { planPatches, writePatches } = await import('../usage/output/patch.js')
    const plan = planPatches(analysis, { format: flags.patchFormat, minConfidence: flags.minConfidence })
    try {
      writePatches(flags.patch, plan)
    } catch (err) {
      return fail(`--patch: cannot write into ${flags.patch}: ${(err as Error).message}`)
    }
    const held = plan.left.length > 0 ? `; ${plural(plan.left.length, 'container')} left out:` : ''
    process.stderr.write(
      `plimsoll usage: ${plural(plan.workloads.length, 'workload')} to patch, ${plural(
        plan.workloads.reduce((n, w) => n + w.containers.length, 0),
        'container',
      )}, ${flags.patchFormat} files in ${flags.patch}${held}\n`,
    )
    for (const l of plan.left) process.stderr.write(`  ${l.container}: ${l.reason}\n`)
  }

  if (report.gaps.length > 0) {
    process.stderr.write(
      `plimsoll usage: warning: partial results: ${plural(report.gaps.length, 'gap')} in what was read; the figures that depend on them are missing:\n`,
    )
    for (const g of report.gaps) process.stderr.write(`  ${g.what}: ${g.message}\n`)
  }
  // Partial results exit 0 too: a cluster whose kube-state-metrics exposes no team or instance-type
  // label (kube-prometheus's default) is partial on every run; the report and its JSON say so.
  return EXIT_OK
}

/** Records the analysis in the store; its snapshot id, or what went wrong. */
async function recordSnapshot(location: string, a: UsageAnalysis): Promise<number | string> {
  const { openStore } = await import('../store/connect.js')
  const { recordUsageSnapshot } = await import('../store/usage.js')
  let store: import('../store/connect.js').Store
  try {
    store = await openStore(location)
  } catch (err) {
    return `--store: ${(err as Error).message}`
  }
  try {
    const { id } = await recordUsageSnapshot(store, {
      report: a.report,
      recommendations: a.recommendations,
      strategy: a.strategy,
      costs: a.cost,
      waste: a.waste,
    })
    return id
  } catch (err) {
    return `--store: cannot record the snapshot: ${(err as Error).message}`
  } finally {
    await store.close()
  }
}

async function render(format: UsageFormat, a: UsageAnalysis, options: { color: boolean }): Promise<string> {
  switch (format) {
    case 'table':
      return (await import('../usage/output/table.js')).renderTable(a, options)
    case 'json':
      return (await import('../usage/output/json.js')).renderJson(a)
    case 'csv':
      return (await import('../usage/output/csv.js')).renderCsv(a)
  }
}
