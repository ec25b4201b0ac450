/**
 * Starts a real Alertmanager (installed by test/setup/alertmanager.ts) on a free port of 127.0.0.1, with
 * a given config and a data dir of its own, clustering off; stop() ends it and removes the dir.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'
import { startDaemon } from './daemon.js'

export interface RunningAlertmanager {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly dir: string
  /** GET a path of its API (`/api/v2/alerts?filter=...`), as parsed JSON */
  get<T = unknown>(path: string): Promise<T>
  /** POST JSON to a path of its API; the parsed answer */
  post<T = unknown>(path: string, body: unknown): Promise<T>
  /** its output so far (for failure messages) */
  log(): string
  stop(): Promise<void>
}

export async function startAlertmanager(config: string): Promise<RunningAlertmanager> {
  const bin = inject('alertmanagerPath')
  if (!bin)
    throw new Error('No Alertmanager: vitest.config.ts must list test/setup/alertmanager.ts in globalSetup')
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-alertmanager-'))
  const configFile = join(dir, 'alertmanager.yml')
  writeFileSync(configFile, config)
  const daemon = await startDaemon({
    name: 'Alertmanager',
    bin,
    args: (port) => [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // no gossip: it would listen on 0.0.0.0:9094
      '--cluster.listen-address=',
      '--log.level=info',
    ],
    ready: async (_output, url) => {
      try {
        return (await fetch(`${url}/-/ready`)).ok
      } catch {
        // not listening yet
        return false
      }
    },
    readyTimeoutMs: 20_000,
    pollMs: 100,
    killAfterMs: 5000,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  })
  const url = daemon.url
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
    return (text ? JSON.parse(text) : undefined) as T
  }
  return {
    url,
    dir,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    log: daemon.log,
    stop: daemon.stop,
  }
}
