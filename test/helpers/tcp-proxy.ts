/**
 * A TCP proxy on 127.0.0.1 in front of a server, whose connections a test can cut: every open one
 * reset at once, and new ones refused for a while, as when a network link goes down and comes back.
 * It passes bytes as they are (TLS goes through it end to end).
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  port: number
  /** connections made through it so far */
  readonly connections: number
  /** resets every open connection and refuses new ones for `ms` */
  cut(ms: number): void
  close(): Promise<void>
}

export async function startProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>()
  let downUntil = 0
  let connections = 0
  const server: Server = createServer((client) => {
    if (Date.now() < downUntil) {
      client.resetAndDestroy()
      return
    }
    connections++
    const upstream = connect(targetPort, '127.0.0.1')
    open.add(client)
    open.add(upstream)
    const end = () => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy: no port')
  return {
    port: address.port,
    get connections() {
      return connections
    },
    cut(ms) {
      downUntil = Date.now() + ms
      for (const socket of open) socket.resetAndDestroy()
      open.clear()
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A port free now on 127.0.0.1 (for a server that must come back on the same one). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
