/**
 * Authentication as the API server does it with a client CA, static tokens and service-account tokens:
 * a verified client certificate names the user (CN) and groups (O); a bearer token maps to its user;
 * an unknown bearer token or an unverifiable certificate is 401; no credentials (or a Basic header,
 * which the server ignores) is system:anonymous, allowed only what RBAC allows anonymous users.
 * Users are made by the control plane, which also writes kubeconfig files for them.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { dump } from 'js-yaml'
import type { KeyPair, Pki } from './certs.js'
import type { PolicyRule, UserInfo } from './types.js'

export interface UserSpec {
  /** Groups besides system:authenticated (which every authenticated user has). */
  readonly groups?: readonly string[]
  /** RBAC-style rules granted directly to this user (see PolicyRule.namespaces). */
  readonly rules?: readonly PolicyRule[]
}

/** What a client needs to act as a user. */
export interface Credentials {
  readonly name: string
  readonly groups: readonly string[]
  readonly token: string
  /** PEM client certificate (CN = name, O = groups) and its key. */
  readonly cert: string
  readonly key: string
}

interface UserRecord {
  readonly info: UserInfo
  readonly rules: readonly PolicyRule[]
  readonly token: string
  certificate?: KeyPair
}

export const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] }

export type AuthResult = { readonly ok: true; readonly user: UserInfo } | { readonly ok: false }

export class Users {
  private readonly byName = new Map<string, UserRecord>()
  private readonly byToken = new Map<string, UserInfo>()
  /**
   * What a connection's client certificate says (null: it sent none): the same for each of its
   * requests, where reading and parsing it took a tenth of a small write's time (bench/watch.mjs).
   */
  private readonly byConnection = new WeakMap<TLSSocket, AuthResult | null>()

  constructor(private readonly pki: Pki) {}

  /** Creates (or replaces) a user with its token; the certificate is issued on first use. */
  define(name: string, spec: UserSpec = {}): UserRecord {
    const old = this.byName.get(name)
    if (old) this.byToken.delete(old.token)
    const groups = [...(spec.groups ?? [])]
    const info: UserInfo = { username: name, groups }
    const token = randomBytes(24).toString('base64url')
    const rec: UserRecord = { info, rules: spec.rules ?? [], token }
    this.byName.set(name, rec)
    this.byToken.set(token, info)
    return rec
  }

  credentials(name: string): Credentials {
    const rec = this.byName.get(name)
    if (!rec) throw new Error(`no user ${JSON.stringify(name)}: create it with controlPlane.user() first`)
    rec.certificate ??= this.pki.clientCertificate(name, rec.info.groups)
    return {
      name,
      groups: rec.info.groups,
      token: rec.token,
      cert: rec.certificate.cert,
      key: rec.certificate.key,
    }
  }

  /** Rules granted directly to a user (by name). */
  rulesOf(username: string): readonly PolicyRule[] {
    return this.byName.get(username)?.rules ?? []
  }

  /** A token for a ServiceAccount (TokenRequest), as its system:serviceaccount user. */
  serviceAccountToken(namespace: string, name: string, uid: string): string {
    const token = `sa.${randomBytes(24).toString('base64url')}`
    this.byToken.set(token, {
      username: `system:serviceaccount:${namespace}:${name}`,
      uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
      extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${randomUUID()}`] },
    })
    return token
  }

  /** Authenticates a request: certificate first, then bearer token, else anonymous. */
  authenticate(req: IncomingMessage): AuthResult | 'anonymous' {
    const socket = req.socket as TLSSocket
    let byCertificate = this.byConnection.get(socket)
    if (byCertificate === undefined) {
      byCertificate = certificateUser(socket)
      this.byConnection.set(socket, byCertificate)
    }
    if (byCertificate) return byCertificate
    const header = req.headers.authorization
    if (header && /^bearer\s/i.test(header)) {
      const token = header.slice(header.indexOf(' ') + 1).trim()
      const user = this.byToken.get(token)
      if (!user) return { ok: false }
      return { ok: true, user: withAuthenticated(user) }
    }
    return 'anonymous'
  }
}

/** The user a verified client certificate names; null when the client sent none. */
function certificateUser(socket: TLSSocket): AuthResult | null {
  const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined
  if (!peer || Object.keys(peer).length === 0) return null
  if (!socket.authorized) return { ok: false }
  const cn = peer.subject?.CN
  const o = peer.subject?.O
  const groups = o === undefined ? [] : Array.isArray(o) ? o : [o]
  const username = Array.isArray(cn) ? cn[0] : cn
  if (!username) return { ok: false }
  // The API server names the certificate a request came with (1.32: credential-id in user extra).
  const fingerprint =
    typeof peer.fingerprint256 === 'string' ? peer.fingerprint256.replace(/:/g, '').toLowerCase() : ''
  const extra = fingerprint
    ? { 'authentication.kubernetes.io/credential-id': [`X509SHA256=${fingerprint}`] }
    : undefined
  return { ok: true, user: withAuthenticated({ username, groups, ...(extra ? { extra } : {}) }) }
}

function withAuthenticated(u: UserInfo): UserInfo {
  if (u.groups.includes('system:authenticated')) return u
  return { ...u, groups: [...u.groups, 'system:authenticated'] }
}

export interface KubeconfigEntry {
  /** A user made with controlPlane.user() (default: the admin). */
  readonly user?: string
  /** Context name (default: the user name). */
  readonly context?: string
  readonly namespace?: string
  /** Client certificate (default) or bearer token. */
  readonly auth?: 'certificate' | 'token'
}

/** Writes a kubeconfig with one context per entry; the first is the current context. */
export function writeKubeconfig(
  path: string,
  server: string,
  caPem: string,
  entries: readonly (KubeconfigEntry & { credentials: Credentials })[],
): string {
  const cluster = 'plimsoll-control-plane'
  const users = new Map<string, unknown>()
  const contexts = entries.map((e) => {
    const auth = e.auth ?? 'certificate'
    const userName = `${e.credentials.name}${auth === 'token' ? '-token' : ''}`
    users.set(
      userName,
      auth === 'token'
        ? { token: e.credentials.token }
        : {
            'client-certificate-data': Buffer.from(e.credentials.cert).toString('base64'),
            'client-key-data': Buffer.from(e.credentials.key).toString('base64'),
          },
    )
    return {
      name: e.context ?? e.credentials.name,
      context: { cluster, user: userName, ...(e.namespace ? { namespace: e.namespace } : {}) },
    }
  })
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster,
        cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [...users].map(([name, user]) => ({ name, user })),
    contexts,
    'current-context': contexts[0]?.name ?? '',
    preferences: {},
  }
  writeFileSync(path, dump(doc), { mode: 0o600 })
  return path
}
