/**
 * X.509 certificates written in TypeScript (Node reads certificates but does not write them): a CA, the
 * serving certificate an admission webhook needs, and the client certificate the API server presents
 * to the audit receiver, EC P-256 with ECDSA-SHA256, without the openssl command (which a distroless
 * image does not have). Only what these need is encoded: subject CN, validity, subjectAltName (DNS
 * names and IP addresses), basicConstraints, keyUsage, extendedKeyUsage (serverAuth or clientAuth),
 * and the key identifiers that tie a certificate to its issuer. DER as X.690 defines it.
 */
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto'
import { isIP } from 'node:net'

export interface KeyPair {
  /** PEM */
  readonly cert: string
  /** PEM, PKCS#8 */
  readonly key: string
}

export interface CertificateRequest {
  readonly commonName: string
  /** DNS names and IP addresses, in subjectAltName */
  readonly names?: readonly string[]
  readonly days: number
  /** a CA that signs certificates (and nothing else) */
  readonly ca?: boolean
  /**
   * What a certificate that is not a CA is for (extendedKeyUsage): `server` (serverAuth, default) to
   * serve TLS, `client` (clientAuth) to authenticate a TLS client, as the API server does to a webhook.
   */
  readonly usage?: 'server' | 'client'
  /** the issuer; none: self-signed */
  readonly issuer?: KeyPair
}

// --- DER -------------------------------------------------------------------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content])
}

const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items))
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items))
const octets = (content: Buffer) => tlv(0x04, content)
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'))
const bool = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0x00]))
const explicit = (n: number, content: Buffer) => tlv(0xa0 + n, content)

/** A positive INTEGER: a leading zero byte when the high bit is set, none to spare otherwise. */
function integer(bytes: Buffer): Buffer {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0 && (bytes[i + 1]! & 0x80) === 0) i++
  const trimmed = bytes.subarray(i)
  return tlv(0x02, (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed)
}

function bitString(content: Buffer, unusedBits = 0): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), content]))
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number)
  const bytes = [40 * parts[0]! + parts[1]!]
  for (const part of parts.slice(2)) {
    const groups: number[] = []
    for (let v = part; ; v = Math.floor(v / 128)) {
      groups.unshift(v & 0x7f)
      if (v < 128) break
    }
    bytes.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)))
  }
  return tlv(0x06, Buffer.from(bytes))
}

/** UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280, 4.1.2.5). */
function time(at: Date): Buffer {
  const iso = at.toISOString().replace(/[-:T]/g, '').slice(0, 14)
  return at.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`))
}

// --- certificate -----------------------------------------------------------------------------------

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
}

const name = (commonName: string) => sequence(set(sequence(oid(OID.commonName), utf8(commonName))))

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [bool(true)] : []), octets(value))
}

function subjectAltName(names: readonly string[]): Buffer {
  return sequence(
    ...names.map((n) => {
      const family = isIP(n)
      if (family === 4) return tlv(0x87, Buffer.from(n.split('.').map(Number)))
      if (family === 6) return tlv(0x87, ipv6Bytes(n))
      return tlv(0x82, Buffer.from(n, 'ascii'))
    }),
  )
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split('::') as [string, string | undefined]
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : [])
  const left = groups(head)
  const right = groups(tail)
  const all =
    tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right]
  const out = Buffer.alloc(16)
  for (const [i, g] of all.entries()) out.writeUInt16BE(g, i * 2)
  return out
}

/** keyUsage bits, first bit first: digitalSignature (0), keyCertSign (5), cRLSign (6). */
function keyUsage(ca: boolean): Buffer {
  return ca ? bitString(Buffer.from([0x86]), 1) : bitString(Buffer.from([0x80]), 7)
}

/** The SubjectPublicKeyInfo's key bits, hashed as RFC 5280 4.2.1.2 (1) suggests. */
function keyIdentifier(spki: Buffer): Buffer {
  // The key is the BIT STRING at the end of the SubjectPublicKeyInfo: for P-256, its last 65 bytes.
  return createHash('sha1')
    .update(spki.subarray(spki.length - 65))
    .digest()
}

/** A new EC P-256 key and a certificate for it, signed by `issuer` or by itself. */
export function createCertificate(request: CertificateRequest): KeyPair {
  if (request.commonName.trim() === '' || /\p{Cc}/u.test(request.commonName))
    throw new Error(`common name '${request.commonName}': expected text, without control characters`)
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  let issuerKey: KeyObject = privateKey
  let issuerName = name(request.commonName)
  let authorityKeyId = keyIdentifier(spki)
  if (request.issuer) {
    issuerKey = createPrivateKey(request.issuer.key)
    const issuerCert = new X509Certificate(request.issuer.cert)
    issuerName = name(commonNameOf(issuerCert.subject))
    authorityKeyId = keyIdentifier(issuerCert.publicKey.export({ type: 'spki', format: 'der' }))
  }
  const now = Date.now()
  const extensions = [
    extension(OID.basicConstraints, true, request.ca ? sequence(bool(true)) : sequence()),
    extension(OID.keyUsage, true, keyUsage(request.ca ?? false)),
    ...(request.ca
      ? []
      : [
          extension(
            OID.extKeyUsage,
            false,
            sequence(oid(request.usage === 'client' ? OID.clientAuth : OID.serverAuth)),
          ),
        ]),
    ...(request.names && request.names.length > 0
      ? [extension(OID.subjectAltName, false, subjectAltName(request.names))]
      : []),
    extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(spki))),
    extension(OID.authorityKeyIdentifier, false, sequence(tlv(0x80, authorityKeyId))),
  ]
  const algorithm = sequence(oid(OID.ecdsaWithSha256))
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    algorithm,
    issuerName,
    // A minute back, for clocks a little behind the one that made it.
    sequence(time(new Date(now - 60_000)), time(new Date(now + request.days * 86_400_000))),
    name(request.commonName),
    spki,
    explicit(3, sequence(...extensions)),
  )
  const signature = sign('sha256', tbs, issuerKey)
  const der = sequence(tbs, algorithm, bitString(signature))
  return {
    cert: pem('CERTIFICATE', der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  }
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

function commonNameOf(subject: string): string {
  const line = subject.split('\n').find((l) => l.startsWith('CN='))
  if (!line) throw new Error('the issuer certificate has no common name')
  return line.slice(3)
}
