/**
 * The agent's line to the central server: JSON over HTTPS (plain HTTP only to a loopback address),
 * with its bearer token, one kept-alive connection, and a timeout on every request. A failure to get
 * an answer throws Unreachable (the caller tries again); an answer, whatever its status, is returned.
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'

export interface CentralOptions {
  /** https://host:port of `plimsoll serve` */
  url: string
  token: string
  /** PEM CA bundle to trust for the central server's certificate (default: the system's) */
  ca?: string | Buffer
  /** ms before a request without an answer is given up (default 60 s) */
  timeoutMs?: number
}

export interface Answer {
  status: number
  body: unknown
}

/** No answer: refused, reset, timed out, or cut mid-way. */
export class Unreachable extends Error {}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host)
}

export class Central {
  readonly url: URL
  private readonly agent: http.Agent
  private readonly timeoutMs: number

  constructor(private readonly options: CentralOptions) {
    this.url = new URL(options.url)
    if (this.url.protocol === 'http:' && !isLoopbackHost(this.url.hostname))
      throw new Error(
        `--central ${options.url}: findings would cross the network in clear; use https:// (plain http only to a loopback address)`,
      )
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:')
      throw new Error(`--central ${options.url}: expected an https:// URL`)
    this.timeoutMs = options.timeoutMs ?? 60_000
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 2, ...(options.ca ? { ca: options.ca } : {}) })
        : new http.Agent({ keepAlive: true, maxSockets: 2 })
  }

  /** Reads a CA file for `ca`, naming the file when it cannot. */
  static readCa(file: string): Buffer {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new Error(`--central-ca ${file}: ${(err as Error).message}`)
    }
  }

  request(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<Answer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const transport = this.url.protocol === 'https:' ? https : http
    return new Promise<Answer>((resolve, reject) => {
      const req = transport.request(
        new URL(path, this.url),
        {
          method,
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', (err) => reject(new Unreachable(`answer cut: ${err.message}`)))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let parsed: unknown = text
            try {
              parsed = text ? JSON.parse(text) : undefined
            } catch {
              // not JSON (a proxy's page): kept as text for the message
            }
            resolve({ status: res.statusCode ?? 0, body: parsed })
          })
        },
      )
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.timeoutMs} ms`)))
      req.on('error', (err) => reject(new Unreachable(`${this.url.origin}: ${err.message}`)))
      req.end(payload)
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

/** What the server said went wrong, for a log line. */
export function reasonOf(answer: Answer): string {
  const body = answer.body as { error?: unknown; details?: unknown } | string | undefined
  let said =
    typeof body === 'object' && body && typeof body.error === 'string' ? body.error : String(body ?? '')
  // A 400 lists what is wrong: the first few, for whoever must mend it.
  if (typeof body === 'object' && body && Array.isArray(body.details))
    said += ` (${(body.details as { path?: string; message?: string }[])
      .slice(0, 3)
      .map((d) => `${d.path}: ${d.message}`)
      .join('; ')})`
  return `${answer.status}${said ? `: ${said.slice(0, 600)}` : ''}`
}
