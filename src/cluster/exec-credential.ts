/**
 * A kubeconfig's exec credential plugin, run as client-go runs it (the client.authentication.k8s.io
 * ExecCredential protocol, v1 and v1beta1): the command with its args and env added to ours, the
 * request in KUBERNETES_EXEC_INFO (never interactive: Plimsoll runs unattended), and the answer on
 * its standard output, a token or a client certificate and key, until an optional expiry.
 */
import { spawn } from 'node:child_process'
import type { ClusterInfo, ExecConfig } from './credentials.js'

export interface ExecCredential {
  readonly token?: string
  readonly cert?: Buffer
  readonly key?: Buffer
  /** ms since the epoch; undefined: good until the server refuses it */
  readonly expiresAt?: number
}

const API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1']
/** client-go waits without limit; a daemon should not hang on a plugin that never answers. */
const TIMEOUT_MS = 120_000
const MAX_OUTPUT = 1 << 20

export async function runExecPlugin(exec: ExecConfig, cluster: ClusterInfo): Promise<ExecCredential> {
  const where = `exec plugin '${exec.command}' (${exec.file})`
  if (!API_VERSIONS.includes(exec.apiVersion))
    throw new Error(
      `${where}: apiVersion '${exec.apiVersion}' is not one of ${API_VERSIONS.join(', ')} (v1alpha1 was removed in Kubernetes 1.24)`,
    )
  const v1 = exec.apiVersion.endsWith('/v1')
  if (v1 && !['Never', 'IfAvailable', 'Always'].includes(exec.interactiveMode))
    throw new Error(`${where}: interactiveMode must be Never, IfAvailable or Always (v1 requires it)`)
  if (exec.interactiveMode === 'Always')
    throw new Error(`${where}: interactiveMode Always needs a terminal, and Plimsoll runs unattended`)
  const info = {
    kind: 'ExecCredential',
    apiVersion: exec.apiVersion,
    spec: { interactive: false, ...(exec.provideClusterInfo ? { cluster: clusterSpec(cluster) } : {}) },
  }
  const { stdout, stderr, code } = await run(
    exec,
    { ...process.env, ...exec.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) },
    where,
  )
  if (code !== 0)
    throw new Error(`${where}: exited with ${code}${stderr.trim() ? `: ${stderr.trim().slice(-500)}` : ''}`)
  return parseCredential(stdout, exec.apiVersion, where)
}

function clusterSpec(cluster: ClusterInfo): Record<string, unknown> {
  return {
    server: cluster.server,
    ...(cluster.tls.servername ? { 'tls-server-name': cluster.tls.servername } : {}),
    ...(cluster.tls.insecure ? { 'insecure-skip-tls-verify': true } : {}),
    ...(cluster.tls.ca ? { 'certificate-authority-data': cluster.tls.ca.toString('base64') } : {}),
    // The cluster's client.authentication.k8s.io/exec extension is the plugin's own configuration.
    ...(extension(cluster.extensions) !== undefined ? { config: extension(cluster.extensions) } : {}),
  }
}

function extension(extensions: unknown): unknown {
  if (!Array.isArray(extensions)) return undefined
  const found = extensions.find(
    (e) => (e as { name?: unknown })?.name === 'client.authentication.k8s.io/exec',
  )
  return (found as { extension?: unknown } | undefined)?.extension
}

function run(
  exec: ExecConfig,
  env: NodeJS.ProcessEnv,
  where: string,
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(exec.command, [...exec.args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let size = 0
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${where}: no answer in ${TIMEOUT_MS / 1000} s`))
    }, TIMEOUT_MS)
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_OUTPUT) child.kill('SIGKILL')
      else into.push(chunk)
    }
    child.stdout.on('data', collect(out))
    child.stderr.on('data', collect(err))
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      const hint = exec.installHint.trim()
      reject(
        new Error(
          e.code === 'ENOENT' ? `${where}: not found${hint ? `. ${hint}` : ''}` : `${where}: ${e.message}`,
        ),
      )
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
      })
    })
  })
}

function parseCredential(stdout: string, apiVersion: string, where: string): ExecCredential {
  let doc: {
    kind?: unknown
    apiVersion?: unknown
    status?: {
      token?: unknown
      clientCertificateData?: unknown
      clientKeyData?: unknown
      expirationTimestamp?: unknown
    }
  }
  try {
    doc = JSON.parse(stdout)
  } catch {
    throw new Error(`${where}: its output is not an ExecCredential in JSON: ${stdout.trim().slice(0, 200)}`)
  }
  if (doc?.kind !== 'ExecCredential' || doc.apiVersion !== apiVersion)
    throw new Error(
      `${where}: answered ${String(doc?.apiVersion)} ${String(doc?.kind)}, expected an ExecCredential of ${apiVersion}`,
    )
  const status = doc.status ?? {}
  const token = typeof status.token === 'string' && status.token !== '' ? status.token : undefined
  const cert = typeof status.clientCertificateData === 'string' ? status.clientCertificateData : undefined
  const key = typeof status.clientKeyData === 'string' ? status.clientKeyData : undefined
  if ((cert === undefined) !== (key === undefined))
    throw new Error(
      `${where}: its status has a client ${cert ? 'certificate without a key' : 'key without a certificate'}`,
    )
  if (!token && !cert) throw new Error(`${where}: its status has neither a token nor a client certificate`)
  let expiresAt: number | undefined
  if (status.expirationTimestamp !== undefined) {
    expiresAt = Date.parse(String(status.expirationTimestamp))
    if (Number.isNaN(expiresAt))
      throw new Error(
        `${where}: expirationTimestamp ${JSON.stringify(status.expirationTimestamp)} is not a time`,
      )
  }
  return {
    ...(token ? { token } : {}),
    ...(cert && key ? { cert: Buffer.from(cert), key: Buffer.from(key) } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  }
}
