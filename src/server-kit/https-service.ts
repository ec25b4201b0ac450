/**
 * What an HTTPS server needs to run as replicas behind a Kubernetes Service, shared by the admission
 * webhook (src/webhook/server.ts) and the audit receiver (src/audit/ingest/receiver.ts): the serving
 * certificate read again when its files change (a Secret volume is updated in place), /healthz,
 * /readyz (not ready until the owner says so, nor once stopping), /metrics, and a stop that finishes
 * the requests under way. What the server is for is its `handle`, called for every other request.
 */
import { statSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server, type ServerOptions } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createSecureContext, type SecureContextOptions } from 'node:tls'
import type { Registry } from 'prom-client'

export interface HttpsServiceOptions {
  readonly host?: string
  readonly port: number
  /** reads the certificate, key (and any CA) afresh: at start, and again when `files` change */
  readonly secureContext: () => SecureContextOptions
  /** the files `secureContext` reads, looked at every `certCheckMs` (default 10 s) */
  readonly files: readonly string[]
  readonly certCheckMs?: number
  /** TLS options beyond the secure context (requestCert, ...) */
  readonly tls?: Omit<ServerOptions, keyof SecureContextOptions>
  /** answers /metrics */
  readonly registry: Registry
  /** true once it can serve; until then what it waits for, which /readyz says with its 503 */
  readonly ready?: () => true | string
  /** after the certificate files changed: read again, or (`err`) not usable yet */
  readonly onCertificate?: (err?: Error) => void
  /** every request but the probes and /metrics */
  readonly handle: (req: IncomingMessage, res: ServerResponse, request: ServiceRequest) => void
}

/** Writes a whole answer: status, body, its type (default JSON) and length; nothing once one is written. */
export type Answer = (code: number, body: string, type?: string) => void

export interface ServiceRequest {
  readonly url: URL
  readonly answer: Answer
  /** whether stop() had been called when the request came */
  readonly stopping: boolean
  /** A request under way, which stop() waits for until the function returned is called (once is enough). */
  begin(): () => void
}

export interface HttpsService {
  readonly port: number
  /** https://host:port */
  readonly url: string
  /** Stops taking requests, finishes those under way (at most `graceMs`, default 10 s), then closes. */
  stop(graceMs?: number): Promise<void>
}

export async function startHttpsService(options: HttpsServiceOptions): Promise<HttpsService> {
  let stopping = false
  let inFlight = 0
  let idle: (() => void) | undefined
  const begin = () => {
    inFlight++
    let finished = false
    return () => {
      if (finished) return
      finished = true
      if (--inFlight === 0 && idle) idle()
    }
  }

  const server: Server = createServer({ ...options.secureContext(), ...options.tls }, (req, res) => {
    const answer: Answer = (code, body, type = 'application/json') => {
      if (res.headersSent || res.destroyed) return
      res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) })
      res.end(body)
    }
    const url = new URL(req.url ?? '/', 'https://service')
    if (req.method === 'GET' && url.pathname === '/healthz') return answer(200, 'ok', 'text/plain')
    if (req.method === 'GET' && url.pathname === '/readyz') {
      const ready = stopping ? 'stopping' : (options.ready?.() ?? true)
      return ready === true ? answer(200, 'ok', 'text/plain') : answer(503, ready, 'text/plain')
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      void options.registry.metrics().then((text) => answer(200, text, options.registry.contentType))
      return
    }
    options.handle(req, res, { url, answer, stopping, begin })
  })
  // A client that sends a broken TLS hello or drops a connection is its own business.
  server.on('tlsClientError', () => {})
  server.on('clientError', (_err, socket) => socket.destroy())

  // The certificate files, looked at now and then: a changed set is taken for new connections.
  const stamp = () => {
    try {
      return options.files
        .map((f) => {
          const s = statSync(f)
          return `${s.mtimeMs}:${s.size}`
        })
        .join('/')
    } catch {
      return undefined
    }
  }
  let lastStamp = stamp()
  const certTimer = setInterval(() => {
    const now = stamp()
    if (now === undefined || now === lastStamp) return
    try {
      const context = options.secureContext()
      createSecureContext(context) // throws on a certificate and key that do not match
      server.setSecureContext(context)
      lastStamp = now
      options.onCertificate?.()
    } catch (err) {
      // Half-written (the cert changed, the key not yet): the old set serves until all agree.
      options.onCertificate?.(err as Error)
    }
  }, options.certCheckMs ?? 10_000)
  certTimer.unref()

  const host = options.host ?? '0.0.0.0'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async stop(graceMs = 10_000) {
      if (stopping) return
      stopping = true
      clearInterval(certTimer)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      if (inFlight > 0)
        await Promise.race([
          new Promise<void>((resolve) => {
            idle = resolve
          }),
          new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
        ])
      server.closeAllConnections()
      await closed
    },
  }
}
