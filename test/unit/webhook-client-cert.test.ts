/**
 * `plimsoll webhook certs --client <name>`: a client certificate (extendedKeyUsage clientAuth) signed by
 * the same CA as the serving certificate, written by x509.ts's own DER. Checked with node:crypto's
 * X509Certificate and openssl, and for real: a TLS server that requires client certificates from that
 * CA accepts it, and refuses a certificate from another CA, none, and the CA's serverAuth certificate.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs'
import { createServer, request, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeCertificates } from '../../src/webhook/certificates.js'
import { createCertificate } from '../../src/webhook/x509.js'
import { run } from '../helpers/cli.js'

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'

const temp = (name: string) => mkdtempSync(join(tmpdir(), `plimsoll-client-cert-${name}-`))
const read = (file: string) => readFileSync(file, 'utf8')

const dir = temp('ours')
const ours = writeCertificates({
  dir,
  service: 'plimsoll-audit',
  namespace: 'plimsoll',
  extraNames: ['127.0.0.1'],
  client: 'kube-apiserver',
  days: 30,
})
const otherDir = temp('other')
const other = writeCertificates({
  dir: otherDir,
  service: 'other',
  namespace: 'other',
  client: 'kube-apiserver',
})

describe('the client certificate', () => {
  const ca = new X509Certificate(read(ours.caFile))
  const cert = new X509Certificate(read(ours.client!.certFile))

  it('is written next to the others, its key readable by its owner only', () => {
    expect(ours.client).toEqual({
      certFile: join(dir, 'client.crt'),
      keyFile: join(dir, 'client.key'),
      commonName: 'kube-apiserver',
    })
    expect(statSync(ours.client!.keyFile).mode & 0o777).toBe(0o600)
    expect(cert.checkPrivateKey(createPrivateKey(read(ours.client!.keyFile)))).toBe(true)
  })

  it('is issued by the CA, for clientAuth only, with the common name asked for', () => {
    expect(cert.subject).toBe('CN=kube-apiserver')
    expect(cert.issuer).toBe(ca.subject)
    expect(cert.checkIssued(ca)).toBe(true)
    expect(cert.verify(ca.publicKey)).toBe(true)
    expect(cert.ca).toBe(false)
    expect(cert.keyUsage).toEqual([CLIENT_AUTH])
    expect(cert.subjectAltName).toBeUndefined()
    // the serving certificate stays a serverAuth one
    expect(new X509Certificate(read(ours.certFile)).keyUsage).toEqual([SERVER_AUTH])
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(29.9)
    expect(days).toBeLessThan(30.1)
  })

  it('is not issued by another CA', () => {
    const stranger = new X509Certificate(read(other.client!.certFile))
    expect(stranger.checkIssued(ca)).toBe(false)
    expect(stranger.verify(ca.publicKey)).toBe(false)
    expect(cert.verify(new X509Certificate(read(other.caFile)).publicKey)).toBe(false)
  })

  it('is what openssl calls a TLS client certificate of that CA, and not a server one', () => {
    const verify = (purpose: string, caFile: string) =>
      spawnSync('openssl', ['verify', '-CAfile', caFile, '-purpose', purpose, ours.client!.certFile], {
        encoding: 'utf8',
      })
    expect(verify('sslclient', ours.caFile).stdout).toContain(': OK')
    expect(verify('sslserver', ours.caFile).status).not.toBe(0)
    expect(verify('sslclient', other.caFile).status).not.toBe(0)
    const text = execFileSync('openssl', ['x509', '-in', ours.client!.certFile, '-noout', '-text']).toString()
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE/)
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n/)
    expect(text).toMatch(/X509v3 Extended Key Usage: ?\n\s+TLS Web Client Authentication\n/)
    expect(text).toContain('Public Key Algorithm: id-ecPublicKey')
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256')
  })

  it('is issued again by the CA already there, which is kept', () => {
    const again = temp('again')
    const first = writeCertificates({ dir: again, service: 'a', namespace: 'b' })
    expect(first.client).toBeUndefined()
    expect(existsSync(join(again, 'client.crt'))).toBe(false)
    const second = writeCertificates({ dir: again, service: 'a', namespace: 'b', client: 'auditor' })
    expect(second.keptCa).toBe(true)
    expect(second.caBundle).toBe(first.caBundle)
    const firstCa = new X509Certificate(read(first.caFile))
    const renewed = new X509Certificate(read(second.client!.certFile))
    expect(renewed.subject).toBe('CN=auditor')
    expect(renewed.checkIssued(firstCa)).toBe(true)
    expect(renewed.verify(firstCa.publicKey)).toBe(true)
  })

  it('refuses a name that cannot be a common name, before writing anything', () => {
    const empty = temp('bad')
    for (const name of ['', ' kube-apiserver', 'a\nb', 'x'.repeat(65)])
      expect(() => writeCertificates({ dir: empty, service: 's', namespace: 'n', client: name })).toThrow(
        /client name .*expected 1 to 64 characters/s,
      )
    expect(existsSync(join(empty, 'ca.crt'))).toBe(false)
    expect(() => createCertificate({ commonName: ' ', days: 1, usage: 'client' })).toThrow(/common name/)
  })
})

describe('a TLS server that requires client certificates from the CA', () => {
  /** rejectUnauthorized: what a server requiring client certificates of the CA does */
  let strict: Server
  /** the same, but answering why a certificate is not authorized rather than closing the connection */
  let inspecting: Server

  const start = async (rejectUnauthorized: boolean) => {
    const server = createServer(
      {
        cert: read(ours.certFile),
        key: read(ours.keyFile),
        ca: read(ours.caFile),
        requestCert: true,
        rejectUnauthorized,
      },
      (req, res) => {
        const socket = req.socket as TLSSocket
        const peer = socket.getPeerCertificate()
        res.end(socket.authorized ? `authorized ${peer.subject.CN}` : `refused ${socket.authorizationError}`)
      },
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return server
  }

  beforeAll(async () => {
    strict = await start(true)
    inspecting = await start(false)
  })

  afterAll(async () => {
    for (const server of [strict, inspecting]) await new Promise((resolve) => server?.close(resolve))
  })

  const call = (server: Server, client: { cert: string; key: string } | undefined) =>
    new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: (server.address() as AddressInfo).port,
          path: '/',
          ca: read(ours.caFile),
          agent: false,
          ...(client ?? {}),
        },
        (res) => {
          let body = ''
          res.on('data', (d) => {
            body += d
          })
          res.on('end', () => resolve(`${res.statusCode} ${body}`))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end()
    })

  const client = { cert: read(ours.client!.certFile), key: read(ours.client!.keyFile) }
  const stranger = { cert: read(other.client!.certFile), key: read(other.client!.keyFile) }
  const serving = { cert: read(ours.certFile), key: read(ours.keyFile) }

  it('accepts the client certificate, and sees its common name', async () => {
    expect(await call(strict, client)).toBe('200 authorized kube-apiserver')
    expect(await call(inspecting, client)).toBe('200 authorized kube-apiserver')
  })

  it('refuses a client certificate from another CA, and none at all', async () => {
    await expect(call(strict, stranger)).rejects.toThrow(/socket hang up/)
    expect(await call(inspecting, stranger)).toBe('200 refused UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    await expect(call(strict, undefined)).rejects.toThrow(/certificate required/)
    expect(await call(inspecting, undefined)).toBe('200 refused UNABLE_TO_GET_ISSUER_CERT')
  })

  it("refuses the CA's serving certificate as a client one: clientAuth is what makes it a client's", async () => {
    await expect(call(strict, serving)).rejects.toThrow(/socket hang up/)
    expect(await call(inspecting, serving)).toBe('200 refused INVALID_PURPOSE')
  })
})

describe('plimsoll webhook certs --client', () => {
  it('writes client.crt and client.key signed by the CA, and says so', () => {
    const out = temp('cli')
    const r = run([
      'webhook',
      'certs',
      '--out-dir',
      out,
      '--service',
      'plimsoll-audit',
      '--client',
      'kube-apiserver',
    ])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(
      `plimsoll webhook certs: wrote ${join(out, 'client.crt')} and ${join(out, 'client.key')}: a client certificate for kube-apiserver`,
    )
    const ca = new X509Certificate(read(join(out, 'ca.crt')))
    expect(Buffer.from(r.stdout.trim(), 'base64').toString('utf8')).toBe(read(join(out, 'ca.crt')))
    const cert = new X509Certificate(read(join(out, 'client.crt')))
    expect(cert.subject).toBe('CN=kube-apiserver')
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true)
    expect(cert.keyUsage).toEqual([CLIENT_AUTH])
  })

  it('writes no client certificate without --client, and refuses an empty name', () => {
    const out = temp('cli-none')
    expect(run(['webhook', 'certs', '--out-dir', out]).code).toBe(0)
    expect(existsSync(join(out, 'tls.crt'))).toBe(true)
    expect(existsSync(join(out, 'client.crt'))).toBe(false)
    const bad = run(['webhook', 'certs', '--out-dir', temp('cli-bad'), '--client', ''])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/plimsoll webhook certs: client name '': expected 1 to 64 characters/)
  })
})
