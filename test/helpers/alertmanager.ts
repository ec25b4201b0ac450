/**
 * Starts a real Alertmanager (installed by test/setup/alertmanager.ts) on a free port of 127.0.0.1, with
 * a given config and a data dir of its own, clustering off; stop() ends it and removes the dir.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'

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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address()
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no free port'))))
    })
  })
}

export async function startAlertmanager(config: string): Promise<RunningAlertmanager> {
  const bin = inject('alertmanagerPath')
  if (!bin)
    throw new Error('No Alertmanager: vitest.config.ts must list test/setup/alertmanager.ts in globalSetup')
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-alertmanager-'))
  const configFile = join(dir, 'alertmanager.yml')
  writeFileSync(configFile, config)
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    let output = ''
    const child: ChildProcess = spawn(
      bin,
      [
        `--config.file=${configFile}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // no gossip: it would listen on 0.0.0.0:9094
        '--cluster.listen-address=',
        '--log.level=info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const url = `http://127.0.0.1:${port}`
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    }
    const deadline = Date.now() + 20_000
    let ready = false
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const res = await fetch(`${url}/-/ready`)
        if (res.ok) {
          ready = true
          break
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    if (!ready) {
      const bindFailed = /address already in use/i.test(output)
      if (child.exitCode === null) {
        child.kill('SIGKILL')
        await exited
      }
      if (bindFailed && attempt < 3) continue
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`Alertmanager did not become ready on ${url}:\n${output.slice(-3000)}`)
    }
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
      log: () => output,
      stop,
    }
  }
}
