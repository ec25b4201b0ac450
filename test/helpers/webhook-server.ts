/**
 * A small HTTPS admission webhook server for control-plane tests: its own throw-away CA (openssl, as
 * src/control-plane/certs.ts makes the control plane's), a certificate for 127.0.0.1 and any DNS names
 * asked for (a service's `<name>.<namespace>.svc`), every request recorded as received, and answers
 * decided by the test.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ReceivedCall {
  readonly method: string
  /** Path and query, as sent. */
  readonly url: string
  readonly headers: [string, string][]
  readonly body: string
  /** The parsed AdmissionReview (undefined if the body was not JSON). */
  readonly review: Record<string, unknown> | undefined
  /** The caller hung up before the answer was written. */
  closedEarly: boolean
}

export interface WebhookAnswer {
  readonly status?: number
  /** A string is sent as is; anything else as JSON. */
  readonly body: unknown
  readonly delayMs?: number
  readonly headers?: Record<string, string>
}

export type WebhookHandler = (call: ReceivedCall) => WebhookAnswer | Promise<WebhookAnswer>

export interface WebhookServer {
  readonly port: number
  /** https://127.0.0.1:PORT */
  readonly url: string
  /** base64 of the CA certificate's PEM, as clientConfig.caBundle takes it. */
  readonly caBundle: string
  readonly calls: ReceivedCall[]
  handler: WebhookHandler
  stop(): Promise<void>
}

/** The uid of a received review, for answers that echo it. */
export function reviewUid(call: ReceivedCall): string {
  const request = call.review?.request as { uid?: unknown } | undefined
  return typeof request?.uid === 'string' ? request.uid : ''
}

/** An `allowed: true` answer to the call. */
export function allow(call: ReceivedCall, extra: Record<string, unknown> = {}): WebhookAnswer {
  return {
    body: {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: reviewUid(call), allowed: true, ...extra },
    },
  }
}

function makeCertificates(dnsNames: readonly string[]): { ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-webhook-pki-'))
  try {
    const sans = ['IP:127.0.0.1', 'DNS:localhost', ...dnsNames.map((d) => `DNS:${d}`)].join(',')
    writeFileSync(
      join(dir, 'openssl.cnf'),
      `[req]\ndistinguished_name = dn\n[dn]\n[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier = hash\n[server]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectAltName = ${sans}\nauthorityKeyIdentifier = keyid\n`,
    )
    const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
    const common = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30']
    openssl([
      ...['req', '-x509', ...common, '-config', join(dir, 'openssl.cnf'), '-extensions', 'ca'],
      ...['-subj', '/CN=test-webhook-ca', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')],
    ])
    openssl([
      ...['req', '-x509', ...common, '-config', join(dir, 'openssl.cnf'), '-extensions', 'server'],
      ...['-subj', '/CN=test-webhook', '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key')],
      ...['-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt')],
    ])
    return {
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      cert: readFileSync(join(dir, 'server.crt'), 'utf8'),
      key: readFileSync(join(dir, 'server.key'), 'utf8'),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function startWebhookServer(
  options: { dnsNames?: readonly string[] } = {},
): Promise<WebhookServer> {
  const pki = makeCertificates(options.dnsNames ?? [])
  const calls: ReceivedCall[] = []
  const self: { handler: WebhookHandler } = { handler: (call) => allow(call) }
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let review: Record<string, unknown> | undefined
      try {
        review = JSON.parse(body) as Record<string, unknown>
      } catch {
        review = undefined
      }
      const headers: [string, string][] = []
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!])
      const call: ReceivedCall = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers,
        body,
        review,
        closedEarly: false,
      }
      calls.push(call)
      res.on('close', () => {
        if (!res.writableFinished) call.closedEarly = true
      })
      void Promise.resolve(self.handler(call)).then(async (answer) => {
        if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs))
        if (res.destroyed) return
        const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)
        res.writeHead(answer.status ?? 200, { 'Content-Type': 'application/json', ...(answer.headers ?? {}) })
        res.end(text)
      })
    })
  }
  const server = createServer({ key: pki.key, cert: pki.cert }, onRequest)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    caBundle: Buffer.from(pki.ca).toString('base64'),
    calls,
    get handler() {
      return self.handler
    },
    set handler(h: WebhookHandler) {
      self.handler = h
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
