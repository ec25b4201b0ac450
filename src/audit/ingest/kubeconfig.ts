/**
 * The kubeconfig the API server's audit webhook backend reads (`--audit-webhook-config-file`): where
 * Plimsoll's receiver is, the CA that signed its serving certificate, and how the API server proves
 * who it is to the receiver (a client certificate, or a bearer token). `plimsoll audit kubeconfig`
 * prints it; see docs/audit.md.
 */
import { X509Certificate } from 'node:crypto'

export interface AuditKubeconfigRequest {
  /** the receiver's URL as the API server reaches it, with the batches' path: https://host:port/audit */
  readonly server: string
  /** PEM of the CA that signed the receiver's serving certificate (certificates.ts's ca.crt) */
  readonly caCert: string
  /** mTLS: PEM of a client certificate signed by the CA the receiver trusts (`clientCaFile`), and its key */
  readonly clientCert?: string
  readonly clientKey?: string
  /** or a bearer token the receiver accepts */
  readonly token?: string
  /** names in the file (defaults: plimsoll-audit, kube-apiserver, default) */
  readonly clusterName?: string
  readonly userName?: string
  readonly contextName?: string
}

const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64')

/** A YAML string: JSON's double-quoted form is YAML's too. */
const q = (s: string) => JSON.stringify(s)

function checkPem(what: string, pem: string, label: RegExp): void {
  if (!label.test(pem)) throw new Error(`${what}: expected PEM (-----BEGIN ...-----)`)
}

/** The kubeconfig's text (YAML). Throws on a request it cannot make a working file of. */
export function renderAuditKubeconfig(request: AuditKubeconfigRequest): string {
  let url: URL
  try {
    url = new URL(request.server)
  } catch {
    throw new Error(
      `server ${q(request.server)}: expected a URL such as https://plimsoll-audit.plimsoll.svc:9444/audit`,
    )
  }
  if (url.protocol !== 'https:') throw new Error(`server ${request.server}: the audit webhook must be https`)
  checkPem('caCert', request.caCert, /-----BEGIN CERTIFICATE-----/)
  try {
    new X509Certificate(request.caCert)
  } catch (err) {
    throw new Error(`caCert: not a certificate (${(err as Error).message})`)
  }
  const withCert = request.clientCert !== undefined || request.clientKey !== undefined
  if (withCert && (request.clientCert === undefined || request.clientKey === undefined))
    throw new Error('a client certificate needs both clientCert and clientKey')
  if (withCert && request.token !== undefined)
    throw new Error('give either a client certificate or a token, not both')
  if (!withCert && (request.token === undefined || request.token === ''))
    throw new Error('the API server must authenticate to the receiver: give a client certificate or a token')
  const user: string[] = []
  if (withCert) {
    checkPem('clientCert', request.clientCert!, /-----BEGIN CERTIFICATE-----/)
    checkPem('clientKey', request.clientKey!, /-----BEGIN [A-Z ]*PRIVATE KEY-----/)
    user.push(`    client-certificate-data: ${b64(request.clientCert!)}`)
    user.push(`    client-key-data: ${b64(request.clientKey!)}`)
  } else user.push(`    token: ${q(request.token!)}`)
  const cluster = request.clusterName ?? 'plimsoll-audit'
  const userName = request.userName ?? 'kube-apiserver'
  const context = request.contextName ?? 'default'
  return [
    '# The audit webhook backend of the API server: --audit-webhook-config-file=<this file>',
    '# (with --audit-policy-file; --audit-webhook-mode=batch is the default).',
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${q(cluster)}`,
    '  cluster:',
    `    server: ${q(url.href)}`,
    `    certificate-authority-data: ${b64(request.caCert)}`,
    'users:',
    `- name: ${q(userName)}`,
    '  user:',
    ...user,
    'contexts:',
    `- name: ${q(context)}`,
    '  context:',
    `    cluster: ${q(cluster)}`,
    `    user: ${q(userName)}`,
    `current-context: ${q(context)}`,
    '',
  ].join('\n')
}
