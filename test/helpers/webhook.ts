/** `plimsoll webhook serve` as a process, as it is deployed, for the tests that call it over HTTPS. */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { BIN } from './cli.js'

/**
 * Spawns `plimsoll webhook serve --host 127.0.0.1 --port 0` with its certificate and `args`, its stderr
 * piped, and returns the process at once (webhookServe() waits until it listens).
 */
export function spawnWebhook(
  certs: { certFile: string; keyFile: string },
  args: string[] = [],
): ChildProcess {
  return spawn(
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
}

/**
 * Starts `plimsoll webhook serve --host 127.0.0.1 --port 0` with its certificate and `args`, and
 * resolves with the process and its URL once it listens (stop it with stopped() from serve.ts).
 */
export function webhookServe(
  certs: { certFile: string; keyFile: string },
  args: string[] = [],
): Promise<{ child: ChildProcess; url: string; said: () => string }> {
  const child = spawnWebhook(certs, args)
  let said = ''
  return new Promise((resolve, reject) => {
    let listening = false
    child.stderr!.on('data', (d) => {
      said += d
      const m = listening ? null : /serving (https:\S+):/.exec(said)
      if (m) {
        listening = true
        // everything it said, from its start: some lines come before "serving"
        resolve({ child, url: m[1]!, said: () => said })
      }
    })
    child.on('exit', (code) => {
      if (!listening) reject(new Error(`webhook serve exited ${code}: ${said}`))
    })
  })
}

/** Sends one AdmissionReview v1 of `request` to a webhook over HTTPS; resolves with the status and the answer. */
export function postReview(
  url: string,
  caFile: string,
  request: Record<string, unknown>,
  path = '/validate',
): Promise<{ status: number; body: { response?: Record<string, unknown> } }> {
  return new Promise((resolve, reject) => {
    const r = httpsRequest(
      `${url}${path}`,
      { method: 'POST', ca: readFileSync(caFile), headers: { 'Content-Type': 'application/json' } },
      (res) => {
        let text = ''
        res.on('data', (d) => {
          text += d
        })
        res.on('end', () => {
          let body = {}
          try {
            body = JSON.parse(text)
          } catch {
            // not JSON (a 400's text): the status says enough
          }
          resolve({ status: res.statusCode ?? 0, body })
        })
      },
    )
    r.on('error', reject)
    // The request as sent: its fields, without a parsed copy's `raw`.
    r.end(
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { ...request, raw: undefined },
      }),
    )
  })
}
