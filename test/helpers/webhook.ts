/** `plimsoll webhook serve` as a process, as it is deployed, for the tests that call it over HTTPS. */
import { type ChildProcess, spawn } from 'node:child_process'
import { BIN } from './cli.js'

/**
 * Starts `plimsoll webhook serve --host 127.0.0.1 --port 0` with its certificate and `args`, and
 * resolves with the process and its URL once it listens (stop it with stopped() from serve.ts).
 */
export function webhookServe(
  certs: { certFile: string; keyFile: string },
  args: string[] = [],
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'webhook',
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--tls-cert',
      certs.certFile,
      '--tls-key',
      certs.keyFile,
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let said = ''
  return new Promise((resolve, reject) => {
    let listening = false
    child.stderr!.on('data', (d) => {
      said += d
      const m = listening ? null : /serving (https:\S+):/.exec(said)
      if (m) {
        listening = true
        resolve({ child, url: m[1]! })
      }
    })
    child.on('exit', (code) => {
      if (!listening) reject(new Error(`webhook serve exited ${code}: ${said}`))
    })
  })
}
