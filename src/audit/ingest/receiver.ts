/**
 * The audit door's HTTPS receiver: where the API server's audit webhook backend (`--audit-webhook-config-file`,
 * batch mode) POSTs its EventLists. A batch is answered 200 only once it is in the store (one
 * transaction): an acknowledged event is never lost, and the API server resends one that was not (it
 * retries a batch that failed or timed out; the queue stores a resent event once).
 *
 * Who may send is the webhook kubeconfig's user (kubeconfig.ts writes one): a client certificate signed
 * by a CA the receiver trusts (mTLS), or a bearer token; anything else is a 401 before the body is read.
 * A malformed batch (not JSON, not an EventList, items not objects) is a 400 that says what was
 * expected, an oversized one a 413; nothing a client sends stops the server. Like the admission webhook
 * (src/webhook/server.ts), and through the same src/server-kit/https-service.ts: /healthz, /readyz,
 * /metrics, the serving certificate read again when its files change, and a stop that finishes the
 * batches under way.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SecureContextOptions, TLSSocket } from 'node:tls'
import { gunzipSync } from 'node:zlib'
import { Counter, Histogram, Registry } from 'prom-client'
import { type ServiceRequest, startHttpsService } from '../../server-kit/https-service.js'
import { type EnqueueResult, enqueueAuditEvents } from '../../store/audit-queue.js'
import type { Store } from '../../store/connect.js'
import type { AuditEvent } from '../types.js'
import { parseEventList } from './event-list.js'

export interface AuditReceiverOptions {
  /** default 0.0.0.0 */
  readonly host?: string
  /** default 9444; 0 for any free port */
  readonly port?: number
  /** the serving certificate and key (PEM files), e.g. from src/webhook/certificates.ts */
  readonly certFile: string
  readonly keyFile: string
  /**
   * mTLS: the CA certificate(s) (PEM file) whose client certificates may send. The API server presents
   * the kubeconfig's client-certificate-data.
   */
  readonly clientCaFile?: string
  /** bearer tokens that may send (the kubeconfig's `token`); a function is asked on every request */
  readonly tokens?: readonly string[] | (() => readonly string[])
  /** no authentication at all (a receiver reachable by the API server only); refused unless set */
  readonly allowUnauthenticated?: boolean
  /** where accepted batches go */
  readonly store: Store
  /** the queue's source name for its events (default 'webhook') */
  readonly source?: string
  /** the path batches are POSTed to (default /audit; / is accepted too) */
  readonly path?: string
  /**
   * Falco's runtime alerts (http_output, falcosidekick's webhook) POSTed to `path` (default /falco),
   * authenticated as batches are: `accept` stores them (they are detections, not audit events) and says
   * how many it took and what it could not read; 200 once stored, 400 when nothing could be read.
   */
  readonly falco?: {
    readonly path?: string
    readonly accept: (text: string) => Promise<{ accepted: number; errors: readonly string[] }>
  }
  /**
   * The largest batch read, in bytes (after gzip). 400 events at RequestResponse level, each holding
   * objects up to the API server's 3 MiB, could be far more; the API server splits nothing, so this is
   * a bound against abuse, not a size real batches reach (the corpus's largest is 0.4 MiB). Default 32 MiB.
   */
  readonly maxBodyBytes?: number
  /** true once it can take batches; until then what it waits for, which /readyz says with its 503 */
  readonly ready?: () => true | string
  /** how often the certificate files are looked at, ms (default 10 s) */
  readonly certCheckMs?: number
  readonly log?: (line: string) => void
  /** a registry to add the receiver's metrics to (default: one of its own) */
  readonly registry?: Registry
}

export interface AuditReceiverCounts {
  readonly batches: number
  readonly events: number
  readonly duplicates: number
  readonly rejected: Readonly<Record<string, number>>
}

export interface RunningAuditReceiver {
  readonly port: number
  /** https://host:port */
  readonly url: string
  readonly registry: Registry
  /** what it has taken and refused since it started */
  counts(): AuditReceiverCounts
  /** Stops taking batches, finishes those under way (at most `graceMs`, default 10 s), then closes. */
  stop(graceMs?: number): Promise<void>
}

/** Why a request was refused: the `reason` label of plimsoll_audit_rejected_requests_total. */
export type RejectReason =
  | 'unauthenticated'
  | 'not_found'
  | 'method'
  | 'media_type'
  | 'too_large'
  | 'malformed'
  | 'store_error'
  | 'stopping'

class Metrics {
  readonly registry: Registry
  readonly batches: Counter
  readonly events: Counter
  readonly duplicates: Counter
  readonly rejected: Counter<'reason'>
  readonly seconds: Histogram
  readonly counts = { batches: 0, events: 0, duplicates: 0, rejected: {} as Record<string, number> }

  constructor(registry: Registry | undefined) {
    this.registry = registry ?? new Registry()
    const registers = [this.registry]
    this.batches = new Counter({
      name: 'plimsoll_audit_batches_total',
      help: 'Audit EventList batches accepted and stored',
      registers,
    })
    this.events = new Counter({
      name: 'plimsoll_audit_webhook_events_total',
      help: 'Audit events accepted from the webhook and stored',
      registers,
    })
    this.duplicates = new Counter({
      name: 'plimsoll_audit_webhook_duplicate_events_total',
      help: 'Audit events received again (same auditID and stage) and not stored again',
      registers,
    })
    this.rejected = new Counter({
      name: 'plimsoll_audit_rejected_requests_total',
      help: 'Requests refused: unauthenticated, not_found, method, media_type, too_large, malformed, store_error, stopping',
      labelNames: ['reason'],
      registers,
    })
    this.seconds = new Histogram({
      name: 'plimsoll_audit_batch_seconds',
      help: 'Time from a batch read to its answer, stored (the API server waits for it)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    })
  }

  accepted(result: EnqueueResult): void {
    this.batches.inc()
    this.events.inc(result.stored)
    this.duplicates.inc(result.duplicates)
    this.counts.batches++
    this.counts.events += result.stored
    this.counts.duplicates += result.duplicates
  }

  reject(reason: RejectReason): void {
    this.rejected.inc({ reason })
    this.counts.rejected[reason] = (this.counts.rejected[reason] ?? 0) + 1
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest()

/** Whether `presented` is one of `tokens`, in time that does not depend on where they differ. */
function tokenMatches(presented: string, tokens: readonly string[]): boolean {
  const mine = sha256(presented)
  let found = false
  for (const t of tokens) if (t !== '' && timingSafeEqual(mine, sha256(t))) found = true
  return found
}

export async function startAuditReceiver(options: AuditReceiverOptions): Promise<RunningAuditReceiver> {
  const tokensOf = typeof options.tokens === 'function' ? options.tokens : () => options.tokens as string[]
  const hasTokens = options.tokens !== undefined
  if (!options.clientCaFile && !hasTokens && !options.allowUnauthenticated)
    throw new Error(
      'the audit receiver needs a way to tell the API server: a client CA (mTLS), bearer tokens, or allowUnauthenticated',
    )
  const log = options.log ?? (() => {})
  const metrics = new Metrics(options.registry)
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024
  const batchPath = options.path ?? '/audit'
  const source = options.source ?? 'webhook'
  const falcoPath = options.falco ? (options.falco.path ?? '/falco') : undefined

  const readContext = (): SecureContextOptions => ({
    cert: readFileSync(options.certFile),
    key: readFileSync(options.keyFile),
    ...(options.clientCaFile ? { ca: readFileSync(options.clientCaFile) } : {}),
  })

  const authenticated = (req: IncomingMessage): boolean => {
    if (options.clientCaFile) {
      const socket = req.socket as TLSSocket
      // `authorized` alone is not enough: on a TLS 1.3 session resumed from one without a client
      // certificate, Node reports it authorized (as for PSK). A certificate must be there too.
      if (socket.authorized && socket.getPeerCertificate()?.raw !== undefined) return true
    }
    const header = req.headers.authorization ?? ''
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (m && hasTokens && tokenMatches(m[1]!, tokensOf())) return true
    return options.allowUnauthenticated === true && !header
  }

  const handle = (
    req: IncomingMessage,
    res: ServerResponse,
    { url, answer, stopping, begin }: ServiceRequest,
  ) => {
    const refuse = (code: number, reason: RejectReason, message: string) => {
      metrics.reject(reason)
      answer(code, JSON.stringify({ message }))
    }
    // Refused before its body is read: answered, then the connection is dropped rather than the rest read.
    const refuseAndDrop = (code: number, reason: RejectReason, message: string) => {
      res.setHeader('Connection', 'close')
      res.on('finish', () => req.destroy())
      refuse(code, reason, message)
    }
    if (url.pathname !== batchPath && url.pathname !== '/' && url.pathname !== falcoPath)
      return refuseAndDrop(
        404,
        'not_found',
        `no such endpoint ${url.pathname}: audit batches go to ${batchPath}`,
      )
    if (req.method !== 'POST')
      return refuseAndDrop(405, 'method', `${url.pathname} takes POST, not ${req.method}`)
    if (!authenticated(req))
      return refuseAndDrop(
        401,
        'unauthenticated',
        'unauthenticated: present a client certificate signed by the trusted CA or an accepted bearer token',
      )
    if (stopping)
      return refuseAndDrop(503, 'stopping', 'the audit receiver is stopping: send the batch again')
    const type = req.headers['content-type'] ?? ''
    if (type !== '' && !/json/i.test(type))
      return refuseAndDrop(415, 'media_type', `Content-Type ${type}: expected application/json`)
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase()
    if (encoding !== 'identity' && encoding !== 'gzip')
      return refuseAndDrop(415, 'media_type', `Content-Encoding ${encoding}: expected gzip or none`)
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > maxBody)
      return refuseAndDrop(
        413,
        'too_large',
        `the batch is ${declared} bytes, more than the ${maxBody} bytes this receiver reads`,
      )

    let finished = false
    const end = begin()
    const done = () => {
      finished = true
      end()
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      if (finished) return
      size += chunk.length
      if (size > maxBody) {
        refuseAndDrop(413, 'too_large', `the batch is more than the ${maxBody} bytes this receiver reads`)
        done()
        return
      }
      chunks.push(chunk)
    })
    req.on('error', done)
    req.on('close', () => {
      // The client went away before the body ended: nothing was acknowledged.
      if (!req.complete) done()
    })
    req.on('end', () => {
      if (finished) return
      const started = performance.now()
      let body = Buffer.concat(chunks)
      if (encoding === 'gzip') {
        try {
          body = gunzipSync(body, { maxOutputLength: maxBody })
        } catch (err) {
          const tooLarge =
            err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
          if (tooLarge)
            refuse(413, 'too_large', `the batch unzips to more than the ${maxBody} bytes this receiver reads`)
          else refuse(400, 'malformed', `the body is not gzip: ${(err as Error).message}`)
          done()
          return
        }
      }
      if (url.pathname === falcoPath) {
        options
          .falco!.accept(body.toString('utf8'))
          .then(
            (r) => {
              if (r.accepted === 0 && r.errors.length > 0)
                refuse(400, 'malformed', `no Falco alert could be read: ${r.errors.slice(0, 5).join('; ')}`)
              else answer(200, JSON.stringify(r))
            },
            (err: Error) => {
              log(`Falco alerts not stored: ${err.message}`)
              refuse(503, 'store_error', `the alerts could not be stored: ${err.message}`)
            },
          )
          .finally(done)
        return
      }
      const parsed = parseEventList(body.toString('utf8'))
      if (!parsed.ok) {
        refuse(400, 'malformed', `not an audit EventList: ${parsed.message}`)
        done()
        return
      }
      const events: AuditEvent[] = parsed.events
      enqueueAuditEvents(options.store, source, events, parsed.texts ? { texts: parsed.texts } : {})
        .then(
          (result) => {
            metrics.accepted(result)
            metrics.seconds.observe((performance.now() - started) / 1000)
            // What the API server's own sink tests answer: 200, nothing in the body.
            if (!res.destroyed) {
              res.writeHead(200, { 'Content-Length': 0 })
              res.end()
            }
          },
          (err: Error) => {
            // Not stored, so not acknowledged: the API server sends the batch again.
            log(`audit batch of ${events.length} events not stored: ${err.message}`)
            refuse(503, 'store_error', `the batch could not be stored: ${err.message}`)
          },
        )
        .finally(done)
    })
  }

  const service = await startHttpsService({
    host: options.host,
    port: options.port ?? 9444,
    secureContext: readContext,
    files: [options.certFile, options.keyFile, ...(options.clientCaFile ? [options.clientCaFile] : [])],
    certCheckMs: options.certCheckMs,
    tls: { requestCert: Boolean(options.clientCaFile), rejectUnauthorized: false },
    registry: metrics.registry,
    ready: options.ready,
    onCertificate: (err) =>
      log(
        err
          ? `audit receiver certificate ${options.certFile} changed but cannot be used yet: ${err.message}`
          : `audit receiver certificates read again from ${options.certFile}`,
      ),
    handle,
  })
  return {
    port: service.port,
    url: service.url,
    registry: metrics.registry,
    counts: () => ({ ...metrics.counts, rejected: { ...metrics.counts.rejected } }),
    stop: service.stop,
  }
}
