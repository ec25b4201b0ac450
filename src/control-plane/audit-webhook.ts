/**
 * kube-apiserver's audit webhook backend in batch mode (k8s.io/apiserver plugin/pkg/audit/buffered
 * and plugin/pkg/audit/webhook): events are buffered, sent as an audit.k8s.io/v1 EventList in a POST
 * to the server a webhook kubeconfig names, at most `batchMaxSize` events (default 400) per batch and
 * at the latest `batchMaxWaitMs` (default 30 s) after the first buffered event; batches are throttled
 * (QPS 10, burst 15 by default) and a failed POST is retried with exponential backoff (first wait
 * 10 s, factor 1.5, jitter 0.2, 5 attempts), as the API server's defaults. On stop what is buffered
 * is sent and the sends in flight are awaited.
 *
 * Differences from the API server, on purpose: batches are sent one after another (the server sends
 * each in its own goroutine), so a receiver sees them in order even across retries; and a refused
 * connection is retried too (the server's webhook client retries resets, 5xx, 429 and timeouts, not
 * refusals), so that a receiver that starts late still gets everything.
 */
import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { load } from 'js-yaml'
import { isObj, type Obj, objAt, strAt } from './types.js'

/** Where and how to POST: a webhook kubeconfig's cluster and user, decoded. */
export interface AuditWebhookTarget {
  /** https://host:port/path of the receiver. */
  readonly server: string
  /** PEM of the CA that signed the receiver's certificate (certificate-authority-data). */
  readonly ca?: string
  /** Client certificate and key (PEM) for mTLS. */
  readonly cert?: string
  readonly key?: string
  /** Bearer token. */
  readonly token?: string
  /** TLS server name to verify, when it differs from the URL's host. */
  readonly serverName?: string
}

export interface AuditBatchOptions {
  /** Events per EventList (default 400, --audit-webhook-batch-max-size). */
  readonly batchMaxSize?: number
  /** Longest an event waits in the buffer (default 30 s, --audit-webhook-batch-max-wait). */
  readonly batchMaxWaitMs?: number
  /** Events buffered before new ones are dropped (default 10,000, --audit-webhook-batch-buffer-size). */
  readonly bufferSize?: number
  /** Batches per second (default 10; 0 turns throttling off) and burst (default 15). */
  readonly throttleQps?: number
  readonly throttleBurst?: number
  /** First wait before a retry (default 10 s, --audit-webhook-initial-backoff); then ×1.5 with jitter 0.2. */
  readonly initialBackoffMs?: number
  /** Attempts per batch, the first included (default 5, as the server's backoff steps). */
  readonly attempts?: number
  /** Timeout of one POST (default 30 s; sent as ?timeout=30s, as client-go does). */
  readonly requestTimeoutMs?: number
}

function base64Text(value: unknown): string | undefined {
  return typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : undefined
}

function fileText(value: unknown): string | undefined {
  return typeof value === 'string' ? readFileSync(value, 'utf8') : undefined
}

/**
 * Reads a webhook kubeconfig (--audit-webhook-config-file: YAML text, a path to it, or the decoded
 * object) into a target: the current context's cluster `server` and `certificate-authority(-data)`,
 * and its user's `client-certificate(-data)`/`client-key(-data)` or `token`/`tokenFile`.
 */
export function parseWebhookKubeconfig(source: string | Obj): AuditWebhookTarget {
  let doc: unknown = source
  if (typeof source === 'string') {
    const text = /\n/.test(source) || /^\s*[{a-z]+:/i.test(source) ? source : readFileSync(source, 'utf8')
    doc = load(text)
  }
  if (!isObj(doc)) throw new Error('audit webhook kubeconfig: not an object')
  const named = (list: unknown, name: string | undefined, key: string): Obj | undefined => {
    if (!Array.isArray(list)) return undefined
    const items = list.filter(isObj)
    const item = name === undefined ? items[0] : items.find((i) => i.name === name)
    return objAt(item, key)
  }
  const current = strAt(doc, 'current-context')
  const context = named(doc.contexts, current || undefined, 'context')
  const cluster = named(doc.clusters, strAt(context, 'cluster'), 'cluster')
  const user = named(doc.users, strAt(context, 'user'), 'user') ?? {}
  const server = strAt(cluster, 'server')
  if (!server) throw new Error('audit webhook kubeconfig: no cluster server')
  const ca =
    base64Text(cluster?.['certificate-authority-data']) ?? fileText(cluster?.['certificate-authority'])
  const cert = base64Text(user['client-certificate-data']) ?? fileText(user['client-certificate'])
  const key = base64Text(user['client-key-data']) ?? fileText(user['client-key'])
  const token = strAt(user, 'token') ?? fileText(user.tokenFile)?.trim()
  const serverName = strAt(cluster, 'tls-server-name')
  return {
    server,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(token ? { token } : {}),
    ...(serverName ? { serverName } : {}),
  }
}

/** What one POST came to (for tests and diagnostics). */
export interface AuditSendResult {
  readonly events: number
  readonly attempts: number
  readonly ok: boolean
  readonly error?: string
}

class SendError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
  ) {
    super(message)
  }
}

/** The batching, throttled, retrying webhook sender. */
export class AuditWebhookBackend {
  private buffer: Obj[] = []
  private timer: NodeJS.Timeout | undefined
  private chain: Promise<void> = Promise.resolve()
  private tokens: number
  private lastRefill = Date.now()
  private stopped = false
  /** Events dropped because the buffer was full or the backend stopped. */
  dropped = 0
  readonly results: AuditSendResult[] = []

  private readonly maxSize: number
  private readonly maxWaitMs: number
  private readonly bufferSize: number
  private readonly qps: number
  private readonly burst: number
  private readonly initialBackoffMs: number
  private readonly attempts: number
  private readonly timeoutMs: number

  constructor(
    private readonly target: AuditWebhookTarget,
    options: AuditBatchOptions = {},
  ) {
    this.maxSize = Math.max(1, options.batchMaxSize ?? 400)
    this.maxWaitMs = Math.max(0, options.batchMaxWaitMs ?? 30_000)
    this.bufferSize = Math.max(this.maxSize, options.bufferSize ?? 10_000)
    this.qps = options.throttleQps ?? 10
    this.burst = Math.max(1, options.throttleBurst ?? 15)
    this.tokens = this.burst
    this.initialBackoffMs = options.initialBackoffMs ?? 10_000
    this.attempts = Math.max(1, options.attempts ?? 5)
    this.timeoutMs = options.requestTimeoutMs ?? 30_000
  }

  /** Buffers events; a full batch goes out at once, the rest when the max wait is over. */
  process(events: readonly Obj[]): void {
    for (const e of events) {
      if (this.stopped || this.buffer.length >= this.bufferSize) {
        this.dropped++
        continue
      }
      this.buffer.push(e)
      if (this.buffer.length >= this.maxSize) this.cut()
    }
    if (this.buffer.length > 0 && !this.timer && !this.stopped)
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.cut()
      }, this.maxWaitMs)
  }

  /** Sends what is buffered now (batches of at most max size) and waits for every send to end. */
  async flush(): Promise<void> {
    while (this.buffer.length > 0) this.cut()
    await this.chain
  }

  /** Flushes, then refuses new events. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    while (this.buffer.length > 0) this.cut()
    this.stopped = true
    await this.chain
  }

  private cut(): void {
    const batch = this.buffer.splice(0, this.maxSize)
    if (this.buffer.length === 0 && this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (batch.length === 0) return
    this.chain = this.chain.then(() => this.sendWithRetry(batch))
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms))
  }

  private async throttle(): Promise<void> {
    if (this.qps <= 0) return
    for (;;) {
      const now = Date.now()
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.qps)
      this.lastRefill = now
      if (this.tokens >= 1) {
        this.tokens -= 1
        return
      }
      await this.sleep(Math.ceil(((1 - this.tokens) / this.qps) * 1000))
    }
  }

  private async sendWithRetry(batch: Obj[]): Promise<void> {
    await this.throttle()
    const body = JSON.stringify({
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      metadata: {},
      items: batch,
    })
    let wait = this.initialBackoffMs
    let lastError = ''
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        await this.post(body)
        this.results.push({ events: batch.length, attempts: attempt, ok: true })
        return
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e)
        if (e instanceof SendError && !e.retriable) break
        if (attempt === this.attempts) break
        const jittered = wait * (1 + Math.random() * 0.2)
        await this.sleep(jittered)
        wait *= 1.5
      }
    }
    // The server logs the failure and drops the batch.
    this.results.push({ events: batch.length, attempts: this.attempts, ok: false, error: lastError })
  }

  private post(body: string): Promise<void> {
    const url = new URL(this.target.server)
    if (!url.searchParams.has('timeout'))
      url.searchParams.set('timeout', `${Math.round(this.timeoutMs / 1000)}s`)
    const headers: Record<string, string | number> = {
      'User-Agent': 'Go-http-client/1.1',
      'Content-Length': Buffer.byteLength(body),
      Accept: 'application/json, */*',
      'Content-Type': 'application/json',
      'Accept-Encoding': 'gzip',
    }
    if (this.target.token) headers.Authorization = `Bearer ${this.target.token}`
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: 'POST',
          headers,
          ...(this.target.ca ? { ca: this.target.ca } : {}),
          ...(this.target.cert ? { cert: this.target.cert } : {}),
          ...(this.target.key ? { key: this.target.key } : {}),
          ...(this.target.serverName ? { servername: this.target.serverName } : {}),
          timeout: this.timeoutMs,
          agent: false,
        },
        (res) => {
          res.resume()
          res.on('end', () => {
            const code = res.statusCode ?? 0
            if (code >= 200 && code < 300) resolve()
            else
              reject(
                new SendError(
                  `audit webhook answered ${code}`,
                  code >= 500 || code === 429 || res.headers['retry-after'] !== undefined,
                ),
              )
          })
          res.on('error', (e) => reject(new SendError(e.message, true)))
        },
      )
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', (e) => reject(new SendError(e.message, true)))
      req.end(body)
    })
  }
}
