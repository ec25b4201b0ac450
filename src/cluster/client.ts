/**
 * The one way Plimsoll talks to a Kubernetes API server: plain HTTPS requests and watch streams, with
 * where and who read from a kubeconfig or the pod's service account (kubeconfig.ts, credentials.ts).
 * Nothing here knows a test server exists. (It was @kubernetes/client-node's KubeConfig and Watch:
 * loading that package took 0.6-0.8 s and 80 MB of a watcher's memory, for these few hundred lines.)
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { StringDecoder } from 'node:string_decoder'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'
import type { KubeAccess } from './kubeconfig.js'

export { type ConnectOptions, type KubeAccess, loadKubeConfig } from './kubeconfig.js'

/** An answer of the API server that is not a success, with its Status when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    /** the Status's reason: Forbidden, NotFound, Expired, Gone... ('' when the body was not a Status) */
    readonly reason: string,
    message: string,
  ) {
    super(message)
  }
}

/** What `watch` hands to its caller, one event at a time. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
  object: Record<string, unknown>
}

export interface WatchHandle {
  stop(): void
  /** settles when the stream ends: resolved when it ended normally (timeout), rejected on an error */
  done: Promise<void>
}

const MAX_BODY_BYTES = 512 * 1024 * 1024

type Query = Record<string, string | number | boolean | undefined>

/** The https options of a request: TLS material, credentials' headers, the client's keep-alive agent. */
export type ConnectionOptions = RequestOptions & {
  headers: Record<string, string | string[]>
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  servername?: string
  rejectUnauthorized?: boolean
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined
}

export class ApiClient {
  readonly server: string
  /** Connections kept open between requests (a watcher's lists and watches go to one server). */
  private readonly agent: HttpAgent

  constructor(readonly access: KubeAccess) {
    this.server = access.server
    this.agent = access.server.startsWith('http:')
      ? new HttpAgent({ keepAlive: true })
      : new HttpsAgent({ keepAlive: true })
  }

  /** The context's name, the cluster's by default. */
  get contextName(): string {
    return this.access.contextName
  }

  /** GET a path (with query), parsed JSON; an ApiError for anything but 2xx. */
  get<T = Record<string, unknown>>(path: string, query: Query = {}, accept = 'application/json'): Promise<T> {
    return this.request<T>('GET', path, { query, accept })
  }

  /**
   * Server-side apply (PATCH with application/apply-patch+yaml, of which JSON is a subset): creates the
   * object or updates the fields `fieldManager` owns; with `force`, takes over fields another manager
   * owns instead of answering 409. Returns the object as stored.
   */
  apply<T = Record<string, unknown>>(
    path: string,
    object: Record<string, unknown>,
    options: { fieldManager: string; force?: boolean },
  ): Promise<T> {
    return this.request<T>('PATCH', path, {
      query: { fieldManager: options.fieldManager, force: options.force ? true : undefined },
      body: JSON.stringify(object),
      contentType: 'application/apply-patch+yaml',
    })
  }

  /** POST a new object to its collection; the object as stored (409 AlreadyExists when it exists). */
  create<T = Record<string, unknown>>(path: string, object: Record<string, unknown>): Promise<T> {
    return this.request<T>('POST', path, { body: JSON.stringify(object) })
  }

  /**
   * PUT an object whole; with metadata.resourceVersion set, the server refuses it with 409 Conflict
   * when the object changed since (optimistic concurrency). The object as stored.
   */
  update<T = Record<string, unknown>>(path: string, object: Record<string, unknown>): Promise<T> {
    return this.request<T>('PUT', path, { body: JSON.stringify(object) })
  }

  /** DELETE an object; the server's answer (the object, or a Status). */
  delete<T = Record<string, unknown>>(path: string): Promise<T> {
    return this.request<T>('DELETE', path)
  }

  /**
   * What a request to this server carries: TLS trust, client certificate, Authorization and
   * impersonation headers, the keep-alive agent. Signed anew each time (tokens rotate, plugins expire).
   */
  async connectionOptions(): Promise<ConnectionOptions> {
    const { tls, credentials } = this.access
    const signature = await credentials.sign()
    const servername = tls.servername
    return {
      agent: this.agent,
      headers: { 'User-Agent': 'plimsoll', ...signature.headers },
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(signature.cert ? { cert: signature.cert, key: signature.key } : {}),
      rejectUnauthorized: !tls.insecure,
      // tls-server-name: the name sent and checked, whatever host the URL names (an IP, a tunnel).
      ...(servername
        ? {
            servername,
            checkServerIdentity: (_host: string, cert: PeerCertificate) =>
              checkServerIdentity(servername, cert),
          }
        : {}),
    }
  }

  /** Sends a request with fresh credentials; after a 401, once more if the credentials may have changed. */
  private async send(
    method: string,
    path: string,
    query: Query,
    headers: Record<string, string>,
    body: string | undefined,
    retry = true,
  ): Promise<{ res: IncomingMessage; abort: () => void }> {
    const url = new URL(this.server + path)
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v))
    const opts = await this.connectionOptions()
    Object.assign(opts.headers, headers)
    if (body !== undefined) opts.headers['Content-Length'] = String(Buffer.byteLength(body))
    const request = url.protocol === 'http:' ? httpRequest : httpsRequest
    const sent = await new Promise<{ res: IncomingMessage; abort: () => void }>((resolve, reject) => {
      const req = request(url, { ...opts, method }, (res) => resolve({ res, abort: () => req.destroy() }))
      req.on('error', (err) => reject(new ApiError(0, 'Unreachable', `${this.server}: ${err.message}`)))
      req.end(body)
    })
    if (sent.res.statusCode === 401 && retry && this.access.credentials.renew()) {
      sent.res.resume()
      return this.send(method, path, query, headers, body, false)
    }
    return sent
  }

  /** One request with the kubeconfig's credentials; parsed JSON, or an ApiError for anything but 2xx. */
  private async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    options: { query?: Query; accept?: string; body?: string; contentType?: string } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' }
    if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json'
    const { res, abort } = await this.send(method, path, options.query ?? {}, headers, options.body)
    const text = await readBody(res, path, abort)
    const code = res.statusCode ?? 0
    if (code < 200 || code >= 300) throw statusError(code, text, path)
    try {
      return JSON.parse(text) as T
    } catch {
      throw new ApiError(code, '', `${path}: the server's answer is not JSON`)
    }
  }

  /**
   * A watch stream: one JSON event a line, as the API server sends them. Errors the server sends
   * inside the stream (a 410 for a resourceVersion too old) arrive as ERROR events; a refused request
   * or a broken connection rejects `done` with an ApiError; `stop()` rejects it as Aborted.
   */
  async watch(path: string, query: Query, onEvent: (event: WatchEvent) => void): Promise<WatchHandle> {
    let settle!: (err?: ApiError) => void
    const done = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve())
    })
    let sent: { res: IncomingMessage; abort: () => void }
    try {
      sent = await this.send(
        'GET',
        path,
        { ...query, watch: true },
        { Accept: 'application/json' },
        undefined,
      )
    } catch (err) {
      settle(err as ApiError)
      return { stop: () => {}, done }
    }
    const { res, abort } = sent
    let stopped = false
    const stop = () => {
      if (stopped) return
      stopped = true
      abort()
      settle(new ApiError(0, 'Aborted', `${path}: watch stopped`))
    }
    const code = res.statusCode ?? 0
    if (code !== 200) {
      readBody(res, path, abort).then(
        (text) => settle(statusError(code, text, path)),
        (err: Error) => settle(new ApiError(code, '', `${path}: ${err.message}`)),
      )
      return { stop, done }
    }
    // Decoded chunk by chunk, lines cut where the newlines are: an event may span chunks.
    const decoder = new StringDecoder('utf8')
    let partial = ''
    const deliver = (line: string) => {
      if (stopped || line.trim() === '') return
      let event: WatchEvent
      try {
        event = JSON.parse(line) as WatchEvent
      } catch {
        stop()
        settle(new ApiError(0, '', `${path}: a watch event that is not JSON: ${line.slice(0, 200)}`))
        return
      }
      onEvent(event)
    }
    res.on('data', (chunk: Buffer) => {
      const text = partial + decoder.write(chunk)
      let from = 0
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        deliver(text.slice(from, nl))
        from = nl + 1
      }
      partial = text.slice(from)
    })
    res.on('end', () => {
      deliver(partial + decoder.end())
      if (!stopped) settle()
    })
    // A connection cut mid-stream ('aborted', then an error or a close without 'end').
    res.on('error', (err) => {
      if (!stopped) settle(new ApiError(0, 'Unreachable', `${path}: ${err.message}`))
    })
    res.on('close', () => {
      if (!stopped && !res.complete)
        settle(new ApiError(0, 'Unreachable', `${path}: the watch connection closed`))
    })
    return { stop, done }
  }
}

/**
 * A whole answer, decoded chunk by chunk: a list page of megabytes is never a second buffer, outside
 * the heap, to be copied into a string. Freed, such buffers stayed in the process (36 MB after a sync
 * of 50,000 objects, against 13 MB this way).
 */
function readBody(res: IncomingMessage, path: string, abort: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8')
    const parts: string[] = []
    let bytes = 0
    res.on('data', (d: Buffer) => {
      bytes += d.length
      if (bytes > MAX_BODY_BYTES) {
        abort()
        reject(new ApiError(0, '', `${path}: answer larger than ${MAX_BODY_BYTES} bytes`))
        return
      }
      parts.push(decoder.write(d))
    })
    res.on('error', (err) => reject(new ApiError(0, 'Unreachable', `${path}: ${err.message}`)))
    res.on('end', () => {
      parts.push(decoder.end())
      resolve(parts.join(''))
    })
  })
}

function statusError(code: number, text: string, path: string): ApiError {
  try {
    const status = JSON.parse(text) as { kind?: string; reason?: string; message?: string }
    if (status.kind === 'Status') return new ApiError(code, status.reason ?? '', status.message ?? text)
  } catch {
    // not a Status: the text itself says what went wrong
  }
  return new ApiError(code, '', `${path}: HTTP ${code} ${text.trim().slice(0, 200)}`)
}
