/**
 * For the control plane's audit tests: a small HTTPS receiver standing where the API server's audit
 * webhook backend posts its EventLists (it keeps what it is sent), and the webhook kubeconfig that
 * names it (`--audit-webhook-config-file`).
 */
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { renderAuditKubeconfig } from '../../src/audit/ingest/kubeconfig.js'
import type { Pki } from '../../src/control-plane/certs.js'

type Obj = Record<string, unknown>

export interface SinkPost {
  readonly url: string
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: { kind: string; apiVersion: string; metadata: Obj; items: Obj[] }
  /** the CN of the client certificate presented, if any */
  readonly clientCertificate: string | undefined
}

export interface AuditSink {
  /** https://127.0.0.1:port/audit */
  readonly url: string
  readonly port: number
  /** the POSTs answered 200, in order */
  readonly posts: SinkPost[]
  close(): Promise<void>
}

/**
 * Serves with `pki`'s server certificate on 127.0.0.1; `mtls`: only clients with a certificate from its
 * client CA; `answer` decides the status of each POST (default 200).
 */
export async function startAuditSink(
  pki: Pki,
  options: { port?: number; mtls?: boolean; answer?: (n: number) => number } = {},
): Promise<AuditSink> {
  const posts: SinkPost[] = []
  let n = 0
  const server = createServer(
    {
      key: pki.server.key,
      cert: pki.server.cert,
      ...(options.mtls ? { ca: [pki.clientCa.cert], requestCert: true, rejectUnauthorized: true } : {}),
    },
    (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const code = options.answer?.(n++) ?? 200
        if (code === 200) {
          const peer = (req.socket as TLSSocket).getPeerCertificate?.()
          posts.push({
            url: req.url ?? '',
            headers: req.headers,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            clientCertificate: peer && Object.keys(peer).length > 0 ? String(peer.subject?.CN) : undefined,
          })
        }
        res.writeHead(code).end()
      })
    },
  )
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `https://127.0.0.1:${port}/audit`,
    port,
    posts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** The webhook kubeconfig for `server`, as `plimsoll audit kubeconfig` writes it: its CA and a client certificate. */
export function sinkKubeconfig(server: string, ca: string, client: { cert: string; key: string }): string {
  return renderAuditKubeconfig({ server, caCert: ca, clientCert: client.cert, clientKey: client.key })
}
