/**
 * For the audit receiver's tests: a PKI as a cluster would have it (the receiver's CA and serving
 * certificate from src/webhook/certificates.ts, and a client certificate for the API server signed by
 * the same CA with openssl, since x509.ts writes serverAuth certificates only), and HTTPS POSTs as the
 * API server's audit webhook backend makes them.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { type Agent, request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { writeCertificates } from '../../src/webhook/certificates.js'

export interface AuditPki {
  readonly dir: string
  /** the receiver's serving certificate and key, and the CA that signed it (also the client CA) */
  readonly certFile: string
  readonly keyFile: string
  readonly caFile: string
  readonly ca: string
  /** a client certificate (clientAuth) signed by the CA, as the API server's kubeconfig holds it */
  readonly clientCert: string
  readonly clientKey: string
  /** a client certificate signed by another CA */
  readonly strangerCert: string
  readonly strangerKey: string
}

function clientCertificate(dir: string, name: string, caFile: string, caKeyFile: string) {
  const cnf = join(dir, `${name}.cnf`)
  writeFileSync(
    cnf,
    '[req]\ndistinguished_name = dn\n[dn]\n[client]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n',
  )
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'],
      ...[
        '-config',
        cnf,
        '-extensions',
        'client',
        '-subj',
        `/CN=${name}`,
        '-CA',
        caFile,
        '-CAkey',
        caKeyFile,
      ],
      ...['-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  return {
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
  }
}

export function auditPki(): AuditPki {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-pki-'))
  const certs = writeCertificates({
    dir,
    service: 'plimsoll-audit',
    namespace: 'plimsoll',
    extraNames: ['127.0.0.1'],
  })
  const client = clientCertificate(dir, 'kube-apiserver', certs.caFile, join(dir, 'ca.key'))
  const otherDir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-other-'))
  const other = writeCertificates({ dir: otherDir, service: 'other', namespace: 'other' })
  const stranger = clientCertificate(otherDir, 'stranger', other.caFile, join(otherDir, 'ca.key'))
  return {
    dir,
    certFile: certs.certFile,
    keyFile: certs.keyFile,
    caFile: certs.caFile,
    ca: readFileSync(certs.caFile, 'utf8'),
    clientCert: client.cert,
    clientKey: client.key,
    strangerCert: stranger.cert,
    strangerKey: stranger.key,
  }
}

export interface PostOptions {
  readonly ca: string
  readonly cert?: string
  readonly key?: string
  readonly token?: string
  readonly headers?: Record<string, string>
  readonly agent?: Agent
  readonly path?: string
}

export interface PostAnswer {
  readonly status: number
  readonly body: string
}

/** One POST over HTTPS; the body as given (a string or bytes), never re-encoded. */
export function post(url: string, body: string | Buffer, options: PostOptions): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(options.path ?? '/audit', url)
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    }
    const req = httpsRequest(
      target,
      {
        method: 'POST',
        ca: options.ca,
        ...(options.cert ? { cert: options.cert, key: options.key } : {}),
        ...(options.agent ? { agent: options.agent } : {}),
        headers,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** A GET (health, metrics). */
export function get(url: string, path: string, ca: string): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, url), { method: 'GET', ca }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

/** An EventList body of `events`. */
export function eventList(events: readonly unknown[], apiVersion = 'audit.k8s.io/v1'): string {
  return JSON.stringify({ kind: 'EventList', apiVersion, metadata: {}, items: events })
}

const CHILD = resolve(import.meta.dirname, 'audit-receiver-child.mjs')

/**
 * The receiver in a process of its own (audit-receiver-child.mjs), on `location`, taking `token`:
 * resolves once it listens.
 */
export function startReceiverProcess(
  location: string,
  pki: AuditPki,
  token: string,
): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CHILD, location, pki.certFile, pki.keyFile, token], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const m = /^listening (\S+)$/m.exec(out)
      if (m) resolvePromise({ child, url: m[1]! })
    })
    child.stderr!.on('data', (d) => {
      out += d
    })
    child.on('exit', (code, signal) => reject(new Error(`the receiver exited (${code ?? signal}): ${out}`)))
  })
}
