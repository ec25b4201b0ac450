/**
 * The webhook's own PKI, for clusters without cert-manager: a CA kept beside the serving certificate,
 * so that renewing the serving certificate keeps the caBundle the webhook configurations hold. The
 * serving certificate names the Service as the API server calls it (service, service.namespace,
 * service.namespace.svc, and the cluster-local name). On request, a client certificate signed by the
 * same CA: what the API server presents to the audit receiver (`plimsoll audit serve --client-ca
 * ca.crt`, `plimsoll audit kubeconfig --client-cert client.crt --client-key client.key`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createCertificate, type KeyPair } from './x509.js'

export interface CertificatesRequest {
  readonly dir: string
  readonly service: string
  readonly namespace: string
  /** more names for the serving certificate: DNS names or IP addresses (127.0.0.1 to test locally) */
  readonly extraNames?: readonly string[]
  readonly days?: number
  readonly caDays?: number
  /**
   * Also issue a client certificate (extendedKeyUsage clientAuth) with this common name, signed by the
   * same CA, to client.crt and client.key: `kube-apiserver` for the API server's audit webhook.
   */
  readonly client?: string
}

export interface Certificates {
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
  /** base64 of the CA certificate: the webhook configurations' clientConfig.caBundle */
  readonly caBundle: string
  /** whether an existing CA in the directory was kept */
  readonly keptCa: boolean
  readonly names: readonly string[]
  /** with `client`: the client certificate's files and its common name */
  readonly client?: { readonly certFile: string; readonly keyFile: string; readonly commonName: string }
}

/** A Service name as the API server resolves it: a DNS-1035 label. */
const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/

export function serviceNames(service: string, namespace: string): string[] {
  for (const [what, value] of [
    ['service', service],
    ['namespace', namespace],
  ] as const)
    if (!DNS_LABEL.test(value))
      throw new Error(
        `${what} '${value}': expected a DNS label (lower case letters, digits and '-', 63 at most)`,
      )
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ]
}

/** The upper bound of a commonName (RFC 5280, ub-common-name). */
const MAX_COMMON_NAME = 64

/** A client certificate's common name: the user name a server that trusts the CA sees. */
export function checkClientName(name: string): string {
  if (name.trim() !== name || name === '' || name.length > MAX_COMMON_NAME || /\p{Cc}/u.test(name))
    throw new Error(
      `client name '${name}': expected 1 to ${MAX_COMMON_NAME} characters, without surrounding spaces or control characters`,
    )
  return name
}

export function writeCertificates(request: CertificatesRequest): Certificates {
  const names = [...serviceNames(request.service, request.namespace), ...(request.extraNames ?? [])]
  if (request.client !== undefined) checkClientName(request.client)
  mkdirSync(request.dir, { recursive: true })
  const caFile = join(request.dir, 'ca.crt')
  const caKeyFile = join(request.dir, 'ca.key')
  let ca: KeyPair
  const keptCa = existsSync(caFile) && existsSync(caKeyFile)
  if (keptCa) ca = { cert: readFileSync(caFile, 'utf8'), key: readFileSync(caKeyFile, 'utf8') }
  else {
    ca = createCertificate({
      commonName: `${request.service}.${request.namespace} webhook CA`,
      days: request.caDays ?? 3650,
      ca: true,
    })
    writeFileSync(caKeyFile, ca.key, { mode: 0o600 })
    writeFileSync(caFile, ca.cert)
  }
  const serving = createCertificate({
    commonName: names[2]!,
    names,
    days: request.days ?? 365,
    issuer: ca,
  })
  const certFile = join(request.dir, 'tls.crt')
  const keyFile = join(request.dir, 'tls.key')
  writeFileSync(keyFile, serving.key, { mode: 0o600 })
  writeFileSync(certFile, serving.cert)
  let client: Certificates['client']
  if (request.client !== undefined) {
    const pair = createCertificate({
      commonName: request.client,
      days: request.days ?? 365,
      usage: 'client',
      issuer: ca,
    })
    client = {
      certFile: join(request.dir, 'client.crt'),
      keyFile: join(request.dir, 'client.key'),
      commonName: request.client,
    }
    writeFileSync(client.keyFile, pair.key, { mode: 0o600 })
    writeFileSync(client.certFile, pair.cert)
  }
  return {
    caFile,
    certFile,
    keyFile,
    caBundle: Buffer.from(ca.cert).toString('base64'),
    keptCa,
    names,
    ...(client ? { client } : {}),
  }
}
