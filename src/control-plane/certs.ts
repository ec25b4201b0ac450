/**
 * Throw-away PKI for one control plane, made with the openssl CLI (Node has no X.509 writer): a
 * serving CA and certificate (SANs 127.0.0.1 and localhost), and a client CA that signs user
 * certificates (CN = user name, O = groups, as the API server reads them). EC P-256 keeps each
 * certificate to a few milliseconds.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const CONFIG = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`

export interface KeyPair {
  readonly cert: string
  readonly key: string
}

/** "/" and "\" must be escaped in an openssl -subj value; "+" too (it joins RDNs). */
function rdn(value: string): string {
  return value.replace(/[\\/+,=]/g, (c) => `\\${c}`)
}

export class Pki {
  private readonly dir: string
  private serial = 0
  readonly serverCa: KeyPair
  readonly clientCa: KeyPair
  readonly server: KeyPair

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'plimsoll-cp-pki-'))
    writeFileSync(join(this.dir, 'openssl.cnf'), CONFIG)
    this.serverCa = this.selfSigned('plimsoll-control-plane-ca')
    this.clientCa = this.selfSigned('plimsoll-control-plane-client-ca')
    this.server = this.issue(this.serverCa, '/CN=kube-apiserver', 'server')
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  }

  private selfSigned(cn: string): KeyPair {
    const n = ++this.serial
    const key = join(this.dir, `${n}.key`)
    const cert = join(this.dir, `${n}.crt`)
    this.openssl([
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650'],
      ...['-config', join(this.dir, 'openssl.cnf'), '-extensions', 'ca', '-subj', `/CN=${rdn(cn)}`],
      ...['-keyout', key, '-out', cert],
    ])
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') }
  }

  private issue(ca: KeyPair, subject: string, profile: 'server' | 'client'): KeyPair {
    const n = ++this.serial
    const caCert = join(this.dir, `ca-${n}.crt`)
    const caKey = join(this.dir, `ca-${n}.key`)
    writeFileSync(caCert, ca.cert)
    writeFileSync(caKey, ca.key, { mode: 0o600 })
    const key = join(this.dir, `${n}.key`)
    const cert = join(this.dir, `${n}.crt`)
    this.openssl([
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650'],
      ...['-config', join(this.dir, 'openssl.cnf'), '-extensions', profile, '-subj', subject],
      ...['-CA', caCert, '-CAkey', caKey, '-keyout', key, '-out', cert],
    ])
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') }
  }

  /** A client certificate for `user` in `groups`, signed by the client CA. */
  clientCertificate(user: string, groups: readonly string[]): KeyPair {
    const subject = `/CN=${rdn(user)}${groups.map((g) => `/O=${rdn(g)}`).join('')}`
    return this.issue(this.clientCa, subject, 'client')
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}
