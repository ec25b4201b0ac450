/**
 * Starts a real Prometheus (installed by test/setup/prometheus.ts) on a free port of 127.0.0.1 over a
 * TSDB directory (usually blocks made by test/helpers/prometheus-backfill.ts), scraping nothing: what it
 * answers is exactly what was backfilled. stop() ends it; the directory is removed if this made it or
 * `removeDir` says so.
 *
 * Retention defaults to 60 days: Prometheus deletes blocks older than the retention (counted back from
 * the newest block) as soon as it opens them, so history must lie within it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, inject } from 'vitest'
import { PrometheusError } from '../../src/usage/prometheus/client.js'
import { startDaemon } from './daemon.js'
import { type BackfillResult, backfill, type SeriesDef } from './prometheus-backfill.js'

export interface PrometheusStartOptions {
  /** the TSDB directory (--storage.tsdb.path); a fresh empty one if not given */
  dataDir?: string
  /** remove dataDir on stop (default: only when this made it) */
  removeDir?: boolean
  /** --storage.tsdb.retention.time (default 60d) */
  retention?: string
  /** a --web.config.file's YAML (TLS, basic auth): then `url` is https when it sets tls_server_config */
  webConfig?: string
  /** --web.route-prefix, e.g. `/prometheus`: the API is then under it */
  routePrefix?: string
  /** more flags */
  args?: readonly string[]
}

export interface RunningPrometheus {
  /** `http(s)://127.0.0.1:<port>` (without the route prefix) */
  readonly url: string
  readonly port: number
  readonly dataDir: string
  /** seconds from spawn to ready */
  readonly startSeconds: number
  /** its output so far (for failure messages) */
  log(): string
  stop(): Promise<void>
}

export async function startPrometheus(options: PrometheusStartOptions = {}): Promise<RunningPrometheus> {
  const bin = inject('prometheusPath')
  if (!bin)
    throw new Error('No Prometheus: vitest.config.ts must list test/setup/prometheus.ts in globalSetup')
  const own = mkdtempSync(join(tmpdir(), 'plimsoll-prometheus-'))
  const dataDir = options.dataDir ?? join(own, 'data')
  const removeData = options.removeDir ?? options.dataDir === undefined
  const configFile = join(own, 'prometheus.yml')
  // No scrape configs: not even itself, so that no series but the backfilled ones exist.
  writeFileSync(configFile, 'global:\n  evaluation_interval: 1m\nscrape_configs: []\n')
  const tls = options.webConfig !== undefined && /tls_server_config/.test(options.webConfig)
  let webConfigFile: string | undefined
  if (options.webConfig !== undefined) {
    webConfigFile = join(own, 'web.yml')
    writeFileSync(webConfigFile, options.webConfig)
  }
  const cleanup = () => {
    rmSync(own, { recursive: true, force: true })
    if (removeData) rmSync(dataDir, { recursive: true, force: true })
  }
  const daemon = await startDaemon({
    name: 'Prometheus',
    bin,
    args: (port) => [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--storage.tsdb.retention.time=${options.retention ?? '60d'}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(webConfigFile ? [`--web.config.file=${webConfigFile}`] : []),
      ...(options.routePrefix ? [`--web.route-prefix=${options.routePrefix}`] : []),
      '--log.level=info',
      ...(options.args ?? []),
    ],
    url: (port) => `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    // Ready once the TSDB is open: the log says so (a probe of /-/ready would need the web config's
    // credentials and CA).
    ready: (output) => /Server is ready to receive web requests/.test(output),
    readyTimeoutMs: 60_000,
    pollMs: 50,
    killAfterMs: 10_000,
    cleanup,
  })
  return {
    url: daemon.url,
    port: daemon.port,
    dataDir,
    startSeconds: daemon.startSeconds,
    log: daemon.log,
    stop: daemon.stop,
  }
}

/** What a test registers to be undone in afterAll, run in reverse order. */
export type Cleanups = Array<() => Promise<void> | void>

export interface BackfilledPrometheus {
  prometheus: RunningPrometheus
  history: BackfillResult
}

/**
 * Backfills `series` (test/helpers/prometheus-backfill.ts) into `dir` (a fresh temporary directory named
 * from `prefix` if not given, removed by `cleanups`) and starts Prometheus over the blocks, its stop
 * registered in `cleanups` after the removal (so that, run in reverse, it stops first).
 */
export async function startBackfilledPrometheus(
  series: readonly SeriesDef[],
  cleanups: Cleanups,
  options: { dir?: string; prefix?: string } & Omit<PrometheusStartOptions, 'dataDir' | 'removeDir'> = {},
): Promise<BackfilledPrometheus> {
  const { dir: given, prefix, ...start } = options
  let dir = given
  if (dir === undefined) {
    const made = mkdtempSync(join(tmpdir(), prefix ?? 'plimsoll-prometheus-tsdb-'))
    cleanups.push(() => rmSync(made, { recursive: true, force: true }))
    dir = made
  }
  const history = await backfill(series, dir)
  const prometheus = await startPrometheus({ ...start, dataDir: history.dir, removeDir: false })
  cleanups.push(() => prometheus.stop())
  return { prometheus, history }
}

/** The PrometheusError a promise rejects with (it fails the test if the promise resolves). */
export async function failure(promise: Promise<unknown>): Promise<PrometheusError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(PrometheusError)
    return err as PrometheusError
  }
  throw new Error('expected the query to fail')
}
