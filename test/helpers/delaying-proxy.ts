/**
 * Servers of the usage tests' own on 127.0.0.1: `listenLocal` starts any on a free port;
 * `delayingHttpProxy` is an HTTP proxy in front of a Prometheus that holds the queries a test picks (a
 * batch that times out), `delayingTcpProxy` one that holds every connection for a while (a slow
 * Prometheus).
 */
import { createServer, request as httpRequest, type Server } from 'node:http'
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'

export interface LocalServer {
  port: number
  /** closes it, and every connection still open */
  close(): Promise<void>
}

/** Listens on a free port of 127.0.0.1 (an HTTP(S) server's close() also ends its open connections). */
export async function listenLocal(server: NetServer): Promise<LocalServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function')
          server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface DelayingProxy extends LocalServer {
  /** queries held so far */
  readonly delayed: number
}

/**
 * An HTTP proxy in front of Prometheus that holds, for `delayMs`, every query whose form mentions
 * `needle` (the client times out first), and passes the others on at once.
 */
export async function delayingHttpProxy(
  targetPort: number,
  needle: string,
  delayMs: number,
): Promise<DelayingProxy> {
  const timers = new Set<NodeJS.Timeout>()
  let delayed = 0
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const query = new URLSearchParams(body.toString()).get('query') ?? ''
      const forward = () => {
        const upstream = httpRequest(
          {
            host: '127.0.0.1',
            port: targetPort,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: `127.0.0.1:${targetPort}` },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers)
            answer.pipe(res)
          },
        )
        upstream.on('error', () => res.destroy())
        upstream.end(body)
      }
      if (query.includes(needle)) {
        delayed++
        const timer = setTimeout(() => {
          timers.delete(timer)
          if (!res.destroyed) forward()
        }, delayMs)
        timers.add(timer)
      } else forward()
    })
  })
  const local = await listenLocal(server)
  return {
    port: local.port,
    get delayed() {
      return delayed
    },
    close: () => {
      for (const t of timers) clearTimeout(t)
      return local.close()
    },
  }
}

/** A TCP proxy that holds each connection's first bytes for `delayMs` before passing them on. */
export async function delayingTcpProxy(targetPort: number, delayMs: number): Promise<LocalServer> {
  const sockets = new Set<Socket>()
  const server: NetServer = createNetServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1')
    sockets.add(client)
    sockets.add(upstream)
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.pause()
    const timer = setTimeout(() => {
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    }, delayMs)
    client.on('close', () => clearTimeout(timer))
  })
  const local = await listenLocal(server)
  return {
    port: local.port,
    close: () => {
      for (const s of sockets) s.destroy()
      return local.close()
    },
  }
}
