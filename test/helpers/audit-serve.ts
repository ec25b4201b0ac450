/**
 * For the end-to-end tests of `plimsoll audit serve`: the built CLI in a process of its own (as
 * deployed), its serving certificate and bearer token, and a webhook receiver for its notifications
 * that keeps every request with its X-Plimsoll-Notification-Id.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import type { Store } from '../../src/store/connect.js'
import { type Certificates, writeCertificates } from '../../src/webhook/certificates.js'
import { BIN } from './cli.js'
import { tempFiles } from './temp-files.js'

export interface AuditServing {
  readonly dir: string
  /** --tls-cert, --tls-key and --token-file */
  readonly args: readonly string[]
  /** the serving certificate's files (its CA's among them) */
  readonly certs: Certificates
  /** the CA of the serving certificate (PEM), for the client */
  readonly ca: string
  readonly token: string
  /** the file that holds `token` (--token-file) */
  readonly tokenFile: string
  /** writes a file in the temporary folder, returns its path */
  readonly file: (name: string, text: string) => string
}

/** A temporary folder with a serving certificate for 127.0.0.1 and a token file. */
export function auditServing(prefix: string): AuditServing {
  const { dir, file } = tempFiles(prefix)
  const certs = writeCertificates({
    dir: join(dir, 'certs'),
    service: 'plimsoll-audit',
    namespace: 'plimsoll',
    extraNames: ['127.0.0.1'],
  })
  const token = 'audit-e2e-token'
  const tokenFile = file('token', `${token}\n`)
  return {
    dir,
    args: ['--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--token-file', tokenFile],
    certs,
    ca: readFileSync(certs.caFile, 'utf8'),
    token,
    tokenFile,
    file,
  }
}

export interface AuditServe {
  readonly child: ChildProcess
  /** https://127.0.0.1:<port> */
  readonly url: string
  /** what it wrote on stderr so far */
  said(): string
}

/** Starts `audit serve --host 127.0.0.1 --port 0 ...args`; resolves once it serves. */
export function auditServe(args: readonly string[]): Promise<AuditServe> {
  const child = spawn(
    process.execPath,
    [BIN, 'audit', 'serve', '--host', '127.0.0.1', '--port', '0', ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let said = ''
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      said += d
      const m = /serving (https:\/\/\S+)\/audit \(and \/falco\):/.exec(said)
      if (m) resolve({ child, url: m[1]!, said: () => said })
    })
    child.on('exit', (code, signal) => reject(new Error(`audit serve exited ${code ?? signal}: ${said}`)))
  })
}

/** What a test file started, stopped after all its tests: its audit serve processes, stores, receivers. */
export interface Started {
  readonly processes: AuditServe[]
  readonly stores: Store[]
  readonly receivers: WebhookReceiver[]
}

/** Lists to push what a test file starts to, each killed or closed (in that order) after all its tests. */
export function stoppedAfterAll(): Started {
  const started: Started = { processes: [], stores: [], receivers: [] }
  afterAll(async () => {
    for (const p of started.processes) await killed(p.child)
    for (const s of started.stores) await s.close()
    for (const r of started.receivers) await r.close()
  })
  return started
}

/** `kill -9`: resolves once the process is gone. */
export function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

/** A port nothing listens on now (it was free a moment ago): where a receiver that is down would be. */
export async function reservedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  await new Promise((r) => server.close(r))
  return port
}

export interface ReceivedNotification {
  /** X-Plimsoll-Notification-Id: the outbox row's id */
  readonly id: number
  readonly body: WebhookMessage
}

/** Alertmanager's webhook message, as Plimsoll sends it. */
export interface WebhookMessage {
  readonly status: 'firing' | 'resolved'
  readonly receiver: string
  readonly groupKey: string
  readonly groupLabels: Record<string, string>
  readonly commonLabels: Record<string, string>
  readonly alerts: readonly {
    readonly status: string
    readonly labels: Record<string, string>
    readonly annotations: Record<string, string>
    readonly fingerprint: string
  }[]
}

export interface WebhookReceiver {
  readonly port: number
  /** every request, in the order they came (answered 200) */
  readonly received: ReceivedNotification[]
  close(): Promise<void>
}

/** A webhook receiver on 127.0.0.1 (`port` 0: any free one) that answers 200 and keeps what it got. */
export async function webhookReceiver(port = 0): Promise<WebhookReceiver> {
  const received: ReceivedNotification[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({
        id: Number(req.headers['x-plimsoll-notification-id']),
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookMessage,
      })
      res.end('ok')
    })
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** The alerts config of these tests: one webhook receiver, `route` (group_by and intervals) as given. */
export function alertsYaml(webhookPort: number, route: string): string {
  return `route:
  receiver: security
${route
  .trim()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
receivers:
  - name: security
    webhook_configs:
      - url: http://127.0.0.1:${webhookPort}/plimsoll
`
}
