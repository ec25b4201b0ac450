/**
 * The webhook's HTTPS door, as thin as the API's: it reads AdmissionReviews (review.ts), hands each
 * request to a decider that knows nothing of HTTP, and answers. Around it, what a webhook needs to run
 * as replicas behind a Service: a certificate read again when its files change (a Secret volume is
 * updated in place), /healthz, /readyz (not ready until the policies are compiled, nor once stopping),
 * /metrics, and a stop that finishes the reviews under way. A malformed or oversized review is a 400
 * with what is wrong; nothing a client sends stops the server. The probes, the certificate reload and
 * the stop are src/server-kit/https-service.ts, which the audit receiver shares.
 */
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Counter, Histogram, Registry } from 'prom-client'
import { type ServiceRequest, startHttpsService } from '../server-kit/https-service.js'
import { type AdmissionRequest, parseReview, reviewResponse, type Verdict } from './review.js'

/** The two kinds of webhook the API server calls: validating ones, then mutating ones first. */
export type WebhookKind = 'validate' | 'mutate'

export type Decide = (kind: WebhookKind, request: AdmissionRequest) => Verdict | Promise<Verdict>

export interface WebhookServerOptions {
  /** default 0.0.0.0: a pod serves its Service */
  readonly host?: string
  /** default 9443; 0 for any free port */
  readonly port?: number
  readonly certFile: string
  readonly keyFile: string
  readonly decide: Decide
  /** true once it can decide (the policies compiled); until then what it waits for, which /readyz says with its 503 */
  readonly ready?: () => true | string
  /**
   * The largest review read. The API server accepts objects up to 3 MiB; a review of an UPDATE holds
   * two, and an ephemeral container's or a CRD's may be large: 8 MiB leaves room for both.
   */
  readonly maxBodyBytes?: number
  /** how often the certificate files are looked at, ms (default 10 s) */
  readonly certCheckMs?: number
  readonly log?: (line: string) => void
}

export interface RunningWebhook {
  readonly port: number
  /** https://host:port */
  readonly url: string
  readonly registry: Registry
  /** Stops taking reviews, finishes those under way (at most `graceMs`, default 10 s), then closes. */
  stop(graceMs?: number): Promise<void>
}

class Metrics {
  readonly registry = new Registry()
  readonly reviews = new Counter({
    name: 'plimsoll_webhook_reviews_total',
    help: 'Admission reviews answered, by webhook, operation and outcome (allowed, warned, mutated, denied, error)',
    labelNames: ['webhook', 'operation', 'outcome'],
    registers: [this.registry],
  })
  readonly malformed = new Counter({
    name: 'plimsoll_webhook_malformed_total',
    help: 'Requests refused with a 4xx before any policy ran (not a review, too large, wrong method)',
    registers: [this.registry],
  })
  readonly seconds = new Histogram({
    name: 'plimsoll_webhook_review_seconds',
    help: 'Time from a review read to its answer written, by webhook',
    labelNames: ['webhook'],
    // Fine below 10 ms, where a webhook must answer (the API server waits for it on every write).
    buckets: [
      0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5,
    ],
    registers: [this.registry],
  })
  readonly certificateReloads = new Counter({
    name: 'plimsoll_webhook_certificate_reloads_total',
    help: 'Times the serving certificate was read again after its files changed',
    registers: [this.registry],
  })
}

function outcomeOf(verdict: Verdict): string {
  if (!verdict.allowed) return 'denied'
  if (verdict.patch && verdict.patch.length > 0) return 'mutated'
  if (verdict.warnings && verdict.warnings.length > 0) return 'warned'
  return 'allowed'
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningWebhook> {
  const log = options.log ?? (() => {})
  const metrics = new Metrics()
  const maxBody = options.maxBodyBytes ?? 8 * 1024 * 1024

  const handle = (req: IncomingMessage, res: ServerResponse, { url, answer, begin }: ServiceRequest) => {
    const refuse = (code: number, message: string) => {
      metrics.malformed.inc()
      answer(code, JSON.stringify({ message }))
    }
    // Too large: answered, then the connection is dropped rather than the rest read.
    const refuseAndDrop = (message: string) => {
      res.setHeader('Connection', 'close')
      res.on('finish', () => req.destroy())
      refuse(400, message)
    }
    // A webhook configuration may give each webhook a path of its own: /validate/pods, /mutate/...
    const kind = url.pathname.split('/')[1]
    if (kind !== 'validate' && kind !== 'mutate')
      return refuse(404, `no such endpoint ${url.pathname}: reviews go to /validate or /mutate`)
    if (req.method !== 'POST') return refuse(405, `${url.pathname} takes POST, not ${req.method}`)
    const type = req.headers['content-type'] ?? ''
    if (!type.startsWith('application/json'))
      return refuse(400, `Content-Type ${type || '(none)'}: expected application/json`)
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > maxBody) {
      return refuseAndDrop(
        `the review is ${declared} bytes, more than the ${maxBody} bytes this webhook reads`,
      )
    }
    const done = begin()
    const chunks: Buffer[] = []
    let size = 0
    let refused = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBody && !refused) {
        refused = true
        refuseAndDrop(`the review is more than the ${maxBody} bytes this webhook reads`)
        done()
        return
      }
      if (!refused) chunks.push(chunk)
    })
    req.on('error', () => {
      if (!refused) {
        refused = true
        done()
      }
    })
    req.on('end', () => {
      if (refused) return
      const started = performance.now()
      const parsed = parseReview(Buffer.concat(chunks).toString('utf8'))
      if (!parsed.ok) {
        refuse(400, `not an AdmissionReview: ${parsed.message}`)
        done()
        return
      }
      const { request, version } = parsed
      Promise.resolve()
        .then(() => options.decide(kind, request))
        .then(
          (verdict) => {
            answer(200, reviewResponse(version, request.uid, verdict))
            metrics.reviews.inc({ webhook: kind, operation: request.operation, outcome: outcomeOf(verdict) })
          },
          (err: Error) => {
            // The API server applies the webhook's failurePolicy to a 500: the decider's own errors
            // (a policy that fails) are verdicts already, so this is Plimsoll failing.
            log(
              `review ${request.uid} (${request.operation} ${request.kind.kind} ${request.namespace}/${request.name}): ${err.message}`,
            )
            answer(500, JSON.stringify({ message: `plimsoll webhook: ${err.message}` }))
            metrics.reviews.inc({ webhook: kind, operation: request.operation, outcome: 'error' })
          },
        )
        .finally(() => {
          metrics.seconds.observe({ webhook: kind }, (performance.now() - started) / 1000)
          done()
        })
    })
  }

  const service = await startHttpsService({
    host: options.host,
    port: options.port ?? 9443,
    secureContext: () => ({ cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) }),
    files: [options.certFile, options.keyFile],
    certCheckMs: options.certCheckMs,
    registry: metrics.registry,
    ready: options.ready,
    onCertificate: (err) => {
      if (err) {
        // Half-written (the cert changed, the key not yet): the old pair serves until both agree.
        log(`serving certificate ${options.certFile} changed but cannot be used yet: ${err.message}`)
        return
      }
      metrics.certificateReloads.inc()
      log(`serving certificate read again from ${options.certFile}`)
    },
    handle,
  })
  return { port: service.port, url: service.url, registry: metrics.registry, stop: service.stop }
}
