/**
 * Starts a server binary the tests run for real (Prometheus, Alertmanager: Debian's, installed by
 * test/setup/) on a free port of 127.0.0.1, waits until it is ready, and stops it: a port taken
 * between choosing it and binding it is tried again with another (3 attempts).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { freePort } from './tcp-proxy.js'

export interface DaemonOptions {
  /** what it is, for messages: `Prometheus` */
  name: string
  bin: string
  /** its flags, for the port it is to listen on */
  args: (port: number) => string[]
  /** its URL at a port (default `http://127.0.0.1:<port>`) */
  url?: (port: number) => string
  /** whether it is ready, from its output so far or by asking its URL */
  ready: (output: string, url: string) => boolean | Promise<boolean>
  readyTimeoutMs: number
  /** how long between two looks at ready */
  pollMs: number
  /** how long stop() waits after SIGTERM before SIGKILL */
  killAfterMs: number
  /** removes what was made for it (directories): on stop(), and when it does not become ready */
  cleanup: () => void
}

export interface RunningDaemon {
  readonly url: string
  readonly port: number
  /** seconds from spawn to ready */
  readonly startSeconds: number
  /** its output so far (for failure messages) */
  log(): string
  stop(): Promise<void>
}

export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    let output = ''
    const started = performance.now()
    const child: ChildProcess = spawn(options.bin, options.args(port), { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const url = options.url?.(port) ?? `http://127.0.0.1:${port}`
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs)
        await exited
        clearTimeout(timer)
      }
      options.cleanup()
    }
    const deadline = Date.now() + options.readyTimeoutMs
    let ready = false
    while (Date.now() < deadline && child.exitCode === null) {
      if (await options.ready(output, url)) {
        ready = true
        break
      }
      await new Promise((r) => setTimeout(r, options.pollMs))
    }
    if (!ready) {
      const bindFailed = /address already in use/i.test(output)
      if (child.exitCode === null) {
        child.kill('SIGKILL')
        await exited
      }
      if (bindFailed && attempt < 3) continue
      options.cleanup()
      throw new Error(`${options.name} did not become ready on ${url}:\n${output.slice(-3000)}`)
    }
    return {
      url,
      port,
      startSeconds: (performance.now() - started) / 1000,
      log: () => output,
      stop,
    }
  }
}
