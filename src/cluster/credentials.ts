/**
 * Who Plimsoll is on a cluster, applied to each request as client-go's transport does it: a client
 * certificate, a bearer token (given, or read from a file that is read again as it rotates), basic
 * auth, an exec credential plugin (exec-credential.ts), and impersonation headers. After a 401 the
 * caller asks for fresh credentials once, which makes a plugin run again and a token file be re-read.
 */
import { readFile } from 'node:fs/promises'
import { type ExecCredential, runExecPlugin } from './exec-credential.js'
import type { ClusterTls } from './kubeconfig.js'

export interface ExecConfig {
  readonly apiVersion: string
  readonly command: string
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string>>
  readonly provideClusterInfo: boolean
  readonly interactiveMode: string
  readonly installHint: string
  /** the kubeconfig that configured it, for errors */
  readonly file: string
}

export interface UserConfig {
  readonly token?: string
  readonly tokenFile?: string
  readonly basic?: { readonly username: string; readonly password: string }
  readonly cert?: Buffer
  readonly key?: Buffer
  readonly exec?: ExecConfig
  readonly impersonate: {
    readonly user?: string
    readonly uid?: string
    readonly groups: readonly string[]
    readonly extra: Readonly<Record<string, readonly string[]>>
  }
}

/** What the exec plugin is told of the cluster when it asks (provideClusterInfo). */
export interface ClusterInfo {
  readonly server: string
  readonly tls: ClusterTls
  readonly extensions?: unknown
}

/** What a request carries: headers, and a client certificate when there is one. */
export interface Signature {
  readonly headers: Record<string, string | string[]>
  readonly cert?: Buffer
  readonly key?: Buffer
}

/** client-go reads a token file again at most once a minute. */
const TOKEN_FILE_PERIOD_MS = 60_000

export class Credentials {
  private fileToken: { value: string; readAt: number } | undefined
  private exec: Promise<ExecCredential> | undefined

  constructor(
    private readonly user: UserConfig,
    private readonly cluster: ClusterInfo,
  ) {}

  /** The headers and client certificate of the next request. */
  async sign(): Promise<Signature> {
    const headers: Record<string, string | string[]> = {}
    let cert = this.user.cert
    let key = this.user.key
    let token = this.user.token ?? (this.user.tokenFile ? await this.tokenFromFile() : undefined)
    if (this.user.exec) {
      const credential = await this.execCredential()
      if (credential.token) token = credential.token
      if (credential.cert && credential.key) {
        cert = credential.cert
        key = credential.key
      }
    }
    if (token) headers.Authorization = `Bearer ${token}`
    else if (this.user.basic)
      headers.Authorization = `Basic ${Buffer.from(`${this.user.basic.username}:${this.user.basic.password}`).toString('base64')}`
    const { impersonate } = this.user
    if (impersonate.user) headers['Impersonate-User'] = impersonate.user
    if (impersonate.uid) headers['Impersonate-Uid'] = impersonate.uid
    if (impersonate.groups.length > 0) headers['Impersonate-Group'] = [...impersonate.groups]
    for (const [k, v] of Object.entries(impersonate.extra))
      headers[`Impersonate-Extra-${encodeURIComponent(k)}`] = [...v]
    return { headers, ...(cert && key ? { cert, key } : {}) }
  }

  /**
   * After a 401: whether fresh credentials may differ (a plugin to run again, a file to read again),
   * in which case the request is worth one more try.
   */
  renew(): boolean {
    if (this.user.exec) {
      this.exec = undefined
      return true
    }
    if (this.user.tokenFile && !this.user.token) {
      this.fileToken = undefined
      return true
    }
    return false
  }

  private async tokenFromFile(): Promise<string> {
    const now = Date.now()
    if (this.fileToken && now - this.fileToken.readAt < TOKEN_FILE_PERIOD_MS) return this.fileToken.value
    let value: string
    try {
      value = (await readFile(this.user.tokenFile!, 'utf8')).trim()
    } catch (err) {
      // A rotation caught half-way: the token read last is still good for a while.
      if (this.fileToken) return this.fileToken.value
      throw new Error(`token file ${this.user.tokenFile}: ${(err as Error).message}`)
    }
    this.fileToken = { value, readAt: now }
    return value
  }

  /** The plugin's credential, run once for all the requests that need it until it expires. */
  private async execCredential(): Promise<ExecCredential> {
    const cached = this.exec
    if (cached) {
      const credential = await cached.catch(() => undefined)
      // Renewed a little before it expires, so that no request carries one the server just refused.
      if (credential && (credential.expiresAt === undefined || credential.expiresAt - Date.now() > 10_000))
        return credential
      if (this.exec === cached) this.exec = undefined
    }
    this.exec ??= runExecPlugin(this.user.exec!, this.cluster)
    return this.exec
  }
}
