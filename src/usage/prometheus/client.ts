/**
 * Plimsoll's one way to read a Prometheus: its HTTP API (instant queries at /api/v1/query, range queries
 * at /api/v1/query_range), as Prometheus, Thanos Query and Grafana Mimir serve it. Queries are POSTed
 * form-encoded (a query over many workloads is longer than a URL may be), at most `concurrency` at once
 * (default 4), each within `timeoutMs` (default 30 s, also sent as Prometheus's own `timeout` so that it
 * stops evaluating a query nobody waits for). Every failure says which Prometheus and which query.
 *
 * Where: a base URL, with a path prefix when the API is served under one (Mimir: `/prometheus`; a
 * Prometheus behind `--web.route-prefix`; Thanos Query: none). Who: a bearer token (or a file holding
 * one, read again for every query, as Kubernetes rotates projected service account tokens), or basic
 * auth (also from `https://user:password@host`), and for Mimir a tenant (`X-Scope-OrgID`) or any other
 * headers. TLS: a CA file (else Node's trusted CAs), a client certificate and key, and skipping
 * verification only when asked.
 *
 * It is node:http(s) rather than fetch: Node 20's fetch takes no CA, client certificate or
 * verification option without the undici package as a dependency, and https.request takes them all.
 */
import { readFile } from 'node:fs/promises'
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import { Limiter } from './limiter.js'
import { MatrixSplitter } from './matrix-stream.js'
import {
  type CompactSeries,
  parseQueryData,
  type QueryData,
  type RangeSeries,
  type Sample,
} from './results.js'

export type { CompactSeries, Labels, QueryData, RangeSeries, Sample } from './results.js'

export interface PrometheusTls {
  /** PEM CA certificate(s) to trust instead of Node's defaults: a file, or the text */
  caFile?: string
  ca?: string
  /** a client certificate and its key (PEM files) */
  certFile?: string
  keyFile?: string
  /** accept any server certificate: only when asked */
  insecureSkipVerify?: boolean
  /** the name to check the server's certificate against, when the URL names another (an IP, a tunnel) */
  serverName?: string
}

export interface PrometheusOptions {
  /** `http(s)://host:port[/prefix]`: the API is at `<url>/api/v1/...` */
  url: string
  bearerToken?: string
  /** a file holding the bearer token (read for every query) */
  bearerTokenFile?: string
  basicAuth?: { username: string; password: string }
  tls?: PrometheusTls
  /** Mimir's (and Cortex's) tenant: sent as X-Scope-OrgID */
  tenant?: string
  /** more headers for every request */
  headers?: Readonly<Record<string, string>>
  /**
   * more form parameters for every query: Thanos Query's `partial_response` (false: fail rather than
   * answer from some stores only), `dedup`, `max_source_resolution`
   */
  params?: Readonly<Record<string, string>>
  /** how long one query may take, from when it is sent (default 30,000 ms) */
  timeoutMs?: number
  /** queries in flight at most (default 4) */
  concurrency?: number
}

export interface QueryOptions {
  /** this query's own limit (default: the client's) */
  timeoutMs?: number
  signal?: AbortSignal
  /**
   * ask for a compressed answer (default: yes, but for queryRangeEach). Prometheus gzips at the
   * default level: for an answer of 100 MB that costs it more CPU than evaluating the query (measured:
   * 1.9 s plain, 3.2 s gzipped, for 1,000 containers' CPU rates over 14 days)
   */
  compress?: boolean
}

/** What a query gave, with Prometheus's warnings (a Thanos partial response says so there). */
export interface QueryAnswer<T> {
  readonly data: T
  readonly warnings: readonly string[]
}

export interface PrometheusStats {
  /** queries sent (each retry would count), and of them failed */
  readonly queries: number
  readonly failed: number
  /** response bytes as received (compressed when Prometheus compressed them), and decoded */
  readonly bytesReceived: number
  readonly bytesDecoded: number
  /** the most queries in flight at once */
  readonly peakInFlight: number
}

export type PrometheusErrorKind =
  /** no connection: refused, unknown host, TLS handshake refused */
  | 'unreachable'
  /** no answer within the time allowed */
  | 'timeout'
  /** credentials refused (401, 403) */
  | 'auth'
  /** Prometheus's own error: a bad query (bad_data), one it could not run (execution, timeout...) */
  | 'query'
  /** another HTTP status, or an answer that is not Prometheus's JSON */
  | 'http'
  | 'aborted'

export class PrometheusError extends Error {
  constructor(
    readonly kind: PrometheusErrorKind,
    message: string,
    readonly details: {
      readonly url: string
      readonly query?: string
      readonly status?: number
      /** Prometheus's errorType: bad_data, execution, timeout, canceled, internal, unavailable... */
      readonly errorType?: string
      /** Prometheus's error text, as it sent it */
      readonly error?: string
    },
  ) {
    super(message)
    this.name = 'PrometheusError'
  }
}

const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_CONCURRENCY = 4
/** An answer larger than this is refused rather than held in memory. */
const MAX_BODY_BYTES = 1024 * 1024 * 1024
/** How much of a query an error message quotes. */
const QUOTE_CHARS = 300

/** A time as Prometheus takes it: seconds since the epoch, to the millisecond. */
function promTime(t: Date | number): string {
  const ms = typeof t === 'number' ? t : t.getTime()
  if (!Number.isFinite(ms)) throw new Error(`not a time: ${String(t)}`)
  return (ms / 1000).toFixed(3).replace(/\.?0+$/, '')
}

/**
 * A duration as Prometheus parses it (its duration units are whole numbers: `1.5s` is refused, so
 * 1500 ms is `1500ms`), which reads well too: 30s, 1500ms, 250ms.
 */
export function formatDuration(ms: number): string {
  const whole = Math.round(ms)
  return whole >= 1000 && whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`
}

export interface QueryRange {
  start: Date | number
  end: Date | number
  /** ms */
  stepMs: number
}

function rangeParams(range: QueryRange): Record<string, string> {
  if (!(range.stepMs > 0)) throw new Error(`a range query's step is ${range.stepMs} ms: expected > 0`)
  return { start: promTime(range.start), end: promTime(range.end), step: (range.stepMs / 1000).toString() }
}

/** A streamed answer's series that could not be read. */
class StreamedDataError extends Error {}

function quote(query: string): string {
  const one = query.replace(/\s+/g, ' ').trim()
  return `\`${one.length > QUOTE_CHARS ? `${one.slice(0, QUOTE_CHARS)}…` : one}\``
}

/** Why a connection failed, in words. */
function connectionFailure(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `unknown host (${err.message})`
    case 'ECONNRESET':
      return 'the connection was reset'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host'
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return `its TLS certificate is signed by an authority not trusted here (${err.code}): give the CA file that signed it`
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `its TLS certificate does not name this host (${err.message})`
    case 'CERT_HAS_EXPIRED':
      return 'its TLS certificate has expired'
    case 'EPROTO':
      return `TLS failed (${err.message}): is it http rather than https?`
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message
  }
}

export class PrometheusClient {
  /** the base URL, without credentials: what messages name */
  readonly url: string
  private readonly base: URL
  /** the path prefix, without a trailing slash ('' for none) */
  private readonly prefix: string
  private readonly agent: HttpAgent
  private readonly limiter: Limiter
  private readonly timeoutMs: number
  private readonly staticHeaders: Record<string, string>
  private readonly tlsMaterial: Promise<{ ca?: string; cert?: Buffer; key?: Buffer }>
  private counts = { queries: 0, failed: 0, bytesReceived: 0, bytesDecoded: 0 }

  constructor(private readonly options: PrometheusOptions) {
    let base: URL
    try {
      base = new URL(options.url)
    } catch {
      throw new Error(
        `the Prometheus URL "${options.url}" is not a URL (expected http(s)://host:port[/prefix])`,
      )
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new Error(`the Prometheus URL "${options.url}" is not http or https`)
    const headers: Record<string, string> = {
      'User-Agent': 'plimsoll',
      Accept: 'application/json',
      'Accept-Encoding': 'gzip, deflate, br',
    }
    let basic = options.basicAuth
    if (base.username || base.password) {
      basic ??= {
        username: decodeURIComponent(base.username),
        password: decodeURIComponent(base.password),
      }
      base.username = ''
      base.password = ''
    }
    const authentications = [options.bearerToken, options.bearerTokenFile, basic].filter(
      (a) => a !== undefined,
    ).length
    if (authentications > 1)
      throw new Error(
        'give one of a bearer token, a bearer token file or basic auth for Prometheus, not several',
      )
    if (options.bearerToken !== undefined) headers.Authorization = `Bearer ${options.bearerToken.trim()}`
    if (basic)
      headers.Authorization = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`
    if (options.tenant !== undefined) headers['X-Scope-OrgID'] = options.tenant
    Object.assign(headers, options.headers ?? {})
    this.staticHeaders = headers
    this.prefix = base.pathname.replace(/\/+$/, '')
    base.pathname = this.prefix || '/'
    base.search = ''
    base.hash = ''
    this.base = base
    this.url = base.toString().replace(/\/$/, '')
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    if (!(this.timeoutMs > 0)) throw new Error(`the Prometheus timeout is ${this.timeoutMs} ms: expected > 0`)
    this.limiter = new Limiter(options.concurrency ?? DEFAULT_CONCURRENCY)
    this.agent =
      base.protocol === 'http:'
        ? new HttpAgent({ keepAlive: true, maxSockets: this.limiter.limit })
        : new HttpsAgent({ keepAlive: true, maxSockets: this.limiter.limit })
    const tls = options.tls ?? {}
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined))
      throw new Error('a Prometheus client certificate needs its key, and a key its certificate')
    this.tlsMaterial = (async () => {
      const read = async (what: string, file: string) => {
        try {
          return await readFile(file)
        } catch (err) {
          throw new Error(`cannot read the Prometheus ${what} ${file}: ${(err as Error).message}`)
        }
      }
      return {
        ...(tls.caFile !== undefined
          ? { ca: (await read('CA file', tls.caFile)).toString('utf8') }
          : tls.ca !== undefined
            ? { ca: tls.ca }
            : {}),
        ...(tls.certFile !== undefined ? { cert: await read('client certificate', tls.certFile) } : {}),
        ...(tls.keyFile !== undefined ? { key: await read('client key', tls.keyFile) } : {}),
      }
    })()
    // An unread file is reported by the first query, not as an unhandled rejection now.
    this.tlsMaterial.catch(() => {})
  }

  get stats(): PrometheusStats {
    return { ...this.counts, peakInFlight: this.limiter.peak }
  }

  /** queries in flight now */
  get inFlight(): number {
    return this.limiter.active
  }

  /** An instant query at `time`. */
  async query(
    expr: string,
    time: Date | number,
    options: QueryOptions = {},
  ): Promise<QueryAnswer<QueryData>> {
    return this.run('/api/v1/query', expr, { time: promTime(time) }, options)
  }

  /** An instant query whose result must be a vector (what every aggregation gives). */
  async queryVector(
    expr: string,
    time: Date | number,
    options: QueryOptions = {},
  ): Promise<QueryAnswer<readonly Sample[]>> {
    const answer = await this.query(expr, time, options)
    if (answer.data.resultType !== 'vector')
      throw new PrometheusError(
        'http',
        `Prometheus at ${this.url} answered ${quote(expr)} with a ${answer.data.resultType}, not a vector`,
        { url: this.url, query: expr },
      )
    return { data: answer.data.result, warnings: answer.warnings }
  }

  /** A range query: the expression at start, start + step, ... <= end (times in ms or Dates, step in ms). */
  async queryRange(
    expr: string,
    range: QueryRange,
    options: QueryOptions = {},
  ): Promise<QueryAnswer<readonly RangeSeries[]>> {
    const answer = this.matrix(expr, await this.run('/api/v1/query_range', expr, rangeParams(range), options))
    return { data: answer.data.result, warnings: answer.warnings }
  }

  /**
   * A range query whose series are handed to `onSeries` one by one as the answer arrives, never all in
   * memory (for answers of many series x many steps). The promise settles when the answer has ended:
   * a failure part-way (a timeout, a broken connection) comes after some series were handed on, so the
   * caller keeps what it built from them only once the promise resolves. Resolves to the warnings.
   */
  async queryRangeEach(
    expr: string,
    range: QueryRange,
    onSeries: (series: CompactSeries) => void,
    options: QueryOptions = {},
  ): Promise<{ readonly series: number; readonly warnings: readonly string[] }> {
    const params = rangeParams(range)
    let splitter: MatrixSplitter | undefined
    const answer = this.matrix(
      expr,
      await this.run('/api/v1/query_range', expr, params, { compress: false, ...options }, () => {
        splitter = new MatrixSplitter(onSeries)
        return splitter
      }),
    )
    return { series: (splitter?.seriesCount ?? 0) + answer.data.result.length, warnings: answer.warnings }
  }

  private matrix(
    expr: string,
    answer: QueryAnswer<QueryData>,
  ): QueryAnswer<QueryData & { resultType: 'matrix' }> {
    if (answer.data.resultType !== 'matrix')
      throw new PrometheusError(
        'http',
        `Prometheus at ${this.url} answered the range query ${quote(expr)} with a ${answer.data.resultType}, not a matrix`,
        { url: this.url, query: expr },
      )
    return answer as QueryAnswer<QueryData & { resultType: 'matrix' }>
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy()
  }

  private async headers(): Promise<Record<string, string>> {
    if (this.options.bearerTokenFile === undefined) return { ...this.staticHeaders }
    let token: string
    try {
      token = (await readFile(this.options.bearerTokenFile, 'utf8')).trim()
    } catch (err) {
      throw new Error(
        `cannot read the Prometheus bearer token file ${this.options.bearerTokenFile}: ${(err as Error).message}`,
      )
    }
    return { ...this.staticHeaders, Authorization: `Bearer ${token}` }
  }

  private run(
    path: string,
    expr: string,
    params: Record<string, string>,
    options: QueryOptions,
    stream?: () => MatrixSplitter,
  ): Promise<QueryAnswer<QueryData>> {
    return this.limiter.run(async () => {
      this.counts.queries++
      try {
        return await this.send(path, expr, params, options, stream)
      } catch (err) {
        this.counts.failed++
        throw err
      }
    })
  }

  private async send(
    path: string,
    expr: string,
    params: Record<string, string>,
    options: QueryOptions,
    stream: (() => MatrixSplitter) | undefined,
  ): Promise<QueryAnswer<QueryData>> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const form = new URLSearchParams({
      ...this.options.params,
      query: expr,
      ...params,
      timeout: formatDuration(timeoutMs),
    })
    const body = form.toString()
    const headers = await this.headers()
    if (options.compress === false) headers['Accept-Encoding'] = 'identity'
    headers['Content-Type'] = 'application/x-www-form-urlencoded'
    headers['Content-Length'] = String(Buffer.byteLength(body))
    const tls = this.base.protocol === 'https:' ? await this.tlsMaterial : {}
    const serverName = this.options.tls?.serverName
    const url = new URL(this.base.toString())
    url.pathname = `${this.prefix}${path}`
    const details = { url: this.url, query: expr }
    const request = url.protocol === 'http:' ? httpRequest : httpsRequest

    return new Promise<QueryAnswer<QueryData>>((resolve, reject) => {
      let settled = false
      let timer: NodeJS.Timeout | undefined
      const finish = (err: PrometheusError | Error | undefined, value?: QueryAnswer<QueryData>) => {
        if (settled) return
        settled = true
        if (timer) clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        if (err) reject(err)
        else resolve(value!)
      }
      const req = request(url, {
        method: 'POST',
        agent: this.agent,
        headers,
        ...(url.protocol === 'https:'
          ? {
              ...tls,
              rejectUnauthorized: this.options.tls?.insecureSkipVerify !== true,
              ...(serverName ? { servername: serverName } : {}),
            }
          : {}),
      })
      // (first: destroying the request below emits an error too, ignored once settled)
      req.on('error', (err: NodeJS.ErrnoException) =>
        finish(
          new PrometheusError(
            'unreachable',
            `cannot reach Prometheus at ${this.url}: ${connectionFailure(err)}`,
            details,
          ),
        ),
      )
      const onAbort = () => {
        finish(
          new PrometheusError(
            'aborted',
            `the query ${quote(expr)} to Prometheus at ${this.url} was cancelled`,
            details,
          ),
        )
        req.destroy()
      }
      if (options.signal?.aborted) {
        onAbort()
        return
      }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      timer = setTimeout(() => {
        finish(
          new PrometheusError(
            'timeout',
            `Prometheus at ${this.url} did not answer ${quote(expr)} within ${formatDuration(timeoutMs)}`,
            details,
          ),
        )
        req.destroy()
      }, timeoutMs)
      req.on('response', (res) => {
        // a success is streamed when asked; an error answer is small and read whole
        const splitter = stream && res.statusCode === 200 ? stream() : undefined
        this.readBody(res, splitter)
          .then((text) => {
            finish(
              undefined,
              this.answer(res.statusCode ?? 0, res.headers['content-type'], res.headers.location, text, expr),
            )
          })
          .catch((err: Error) => {
            finish(
              err instanceof PrometheusError
                ? err
                : err instanceof StreamedDataError
                  ? new PrometheusError(
                      'http',
                      `Prometheus at ${this.url} answered ${quote(expr)} with data that is not Prometheus's: ${err.message}`,
                      details,
                    )
                  : new PrometheusError(
                      'unreachable',
                      `Prometheus at ${this.url} broke off its answer to ${quote(expr)}: ${err.message}`,
                      details,
                    ),
            )
            req.destroy()
          })
      })
      req.end(body)
    })
  }

  /** The answer's text; with a splitter, its series go there as they come and the text is the rest. */
  private readBody(res: IncomingMessage, splitter?: MatrixSplitter): Promise<string> {
    return new Promise((resolve, reject) => {
      const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase()
      const decoder =
        encoding === 'gzip'
          ? createGunzip()
          : encoding === 'deflate'
            ? createInflate()
            : encoding === 'br'
              ? createBrotliDecompress()
              : undefined
      const chunks: Buffer[] = []
      let decoded = 0
      res.on('data', (chunk: Buffer) => {
        this.counts.bytesReceived += chunk.length
      })
      res.on('error', reject)
      res.on('aborted', () => reject(new Error('the connection closed before the answer ended')))
      const stream = decoder ? res.pipe(decoder) : res
      stream.on('data', (chunk: Buffer) => {
        decoded += chunk.length
        if (splitter) {
          try {
            splitter.write(chunk)
          } catch (err) {
            // rejected first: destroying the unfinished answer fires 'aborted', whose reason is not this
            reject(new StreamedDataError((err as Error).message))
            res.destroy()
          }
          return
        }
        if (decoded > MAX_BODY_BYTES) {
          reject(new Error(`the answer is over ${MAX_BODY_BYTES / 1024 / 1024} MiB`))
          res.destroy()
          return
        }
        chunks.push(chunk)
      })
      stream.on('error', reject)
      stream.on('end', () => {
        this.counts.bytesDecoded += decoded
        if (!splitter) {
          resolve(Buffer.concat(chunks).toString('utf8'))
          return
        }
        try {
          resolve(splitter.end())
        } catch (err) {
          reject(new StreamedDataError((err as Error).message))
        }
      })
    })
  }

  /** A complete answer: the data, or the PrometheusError it means. */
  private answer(
    status: number,
    contentType: string | undefined,
    location: string | undefined,
    text: string,
    expr: string,
  ): QueryAnswer<QueryData> {
    const details = { url: this.url, query: expr, status }
    let json: { status?: unknown; data?: unknown; errorType?: unknown; error?: unknown; warnings?: unknown }
    try {
      json = JSON.parse(text)
    } catch {
      json = {}
    }
    const snippet = () => text.replace(/\s+/g, ' ').trim().slice(0, 200)
    if (json.status === 'error' || (status >= 400 && typeof json.error === 'string')) {
      const errorType = typeof json.errorType === 'string' ? json.errorType : ''
      const error = typeof json.error === 'string' ? json.error : snippet()
      if (status === 401 || status === 403)
        throw new PrometheusError(
          'auth',
          `Prometheus at ${this.url} refused the credentials (${status}): ${error}`,
          { ...details, errorType, error },
        )
      throw new PrometheusError(
        'query',
        `Prometheus at ${this.url} could not run ${quote(expr)}: ${errorType ? `${errorType}: ` : ''}${error}`,
        { ...details, errorType, error },
      )
    }
    if (status === 401 || status === 403)
      throw new PrometheusError(
        'auth',
        `Prometheus at ${this.url} refused the credentials (${status})${snippet() ? `: ${snippet()}` : ''}`,
        details,
      )
    if (status === 404)
      throw new PrometheusError(
        'http',
        `Prometheus at ${this.url} has no ${this.prefix}/api/v1/ (404): is the path prefix right? (Mimir serves the API under /prometheus)`,
        details,
      )
    if (status >= 300 && status < 400)
      throw new PrometheusError(
        'http',
        `Prometheus at ${this.url} redirects ${quote(expr)} (${status}) to ${location ?? 'nowhere'}: give the URL it redirects to`,
        details,
      )
    if (status < 200 || status >= 300 || json.status !== 'success')
      throw new PrometheusError(
        'http',
        `Prometheus at ${this.url} answered ${quote(expr)} with ${status}${contentType ? ` (${contentType})` : ''}, not Prometheus's JSON${snippet() ? `: ${snippet()}` : ''}`,
        details,
      )
    let data: QueryData
    try {
      data = parseQueryData(json.data)
    } catch (err) {
      throw new PrometheusError(
        'http',
        `Prometheus at ${this.url} answered ${quote(expr)} with data that is not Prometheus's: ${(err as Error).message}`,
        details,
      )
    }
    const warnings = Array.isArray(json.warnings) ? json.warnings.map(String) : []
    return { data, warnings }
  }
}
