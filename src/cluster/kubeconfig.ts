/**
 * Where a cluster is and who Plimsoll is there, read as kubectl (client-go's clientcmd) reads it:
 * $KUBECONFIG's files merged (the first to name a cluster, user or context wins; missing files
 * skipped), or ~/.kube/config, or the pod's service account. Paths inside a file are relative to
 * that file. The result is plain data: the TLS material and a Credentials that knows how to sign a
 * request (credentials.ts); nothing here makes a request.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path'
import { load, YAMLException } from 'js-yaml'
import { Credentials, type ExecConfig, type UserConfig } from './credentials.js'

export interface ConnectOptions {
  /** a kubeconfig file; default: $KUBECONFIG, then ~/.kube/config, as kubectl does */
  kubeconfig?: string
  /** a context of the kubeconfig; default: its current context */
  context?: string
  /** the pod's service account (in a cluster); default: when KUBERNETES_SERVICE_HOST is set and no kubeconfig is given */
  inCluster?: boolean
  /** where a pod's service account is mounted (tests give their own) */
  serviceAccountDir?: string
}

/** The TLS side of a connection, as Node's https options take it. */
export interface ClusterTls {
  /** the CA bundle to trust; undefined: the system's */
  readonly ca?: Buffer
  /** the name the server's certificate must carry, when not the server URL's host */
  readonly servername?: string
  /** insecure-skip-tls-verify: the server's certificate is not checked */
  readonly insecure: boolean
}

/** A cluster to talk to: its API server, how to trust it, and who to be there. */
export interface KubeAccess {
  /** the current context's name ('in-cluster' for a pod's service account) */
  readonly contextName: string
  /** the API server's URL, without a trailing slash */
  readonly server: string
  readonly tls: ClusterTls
  readonly credentials: Credentials
  /** the context's namespace, if it names one */
  readonly namespace?: string
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

/** Reads a kubeconfig (or the in-cluster account); errors say which file and which contexts exist. */
export function loadKubeConfig(options: ConnectOptions = {}): KubeAccess {
  const inCluster =
    options.inCluster ??
    (!options.kubeconfig && !process.env.KUBECONFIG && process.env.KUBERNETES_SERVICE_HOST !== undefined)
  if (inCluster) return inClusterAccess(options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR)
  const files = kubeconfigFiles(options.kubeconfig)
  const merged = mergeFiles(files)
  const contextName = options.context ?? merged.currentContext
  if (!contextName)
    throw new Error(
      `${describeFiles(files)} has no current-context (pass --context; it has ${listNames(merged.contexts)})`,
    )
  const context = merged.contexts.get(contextName)
  if (!context)
    throw new Error(
      `no context '${contextName}' in ${describeFiles(files)}; it has ${listNames(merged.contexts)}`,
    )
  const clusterName = stringField(context.value, 'cluster', context.file)
  const cluster = clusterName === undefined ? undefined : merged.clusters.get(clusterName)
  if (!cluster)
    throw new Error(
      `the kubeconfig names no cluster for context '${contextName}'${clusterName ? ` (no cluster '${clusterName}' in ${describeFiles(files)})` : ''} (pass --kubeconfig or --context)`,
    )
  const userName = stringField(context.value, 'user', context.file)
  const user = userName === undefined ? undefined : merged.users.get(userName)
  if (userName && !user)
    throw new Error(`context '${contextName}': no user '${userName}' in ${describeFiles(files)}`)
  const server = stringField(cluster.value, 'server', cluster.file)
  if (!server) throw new Error(`${cluster.file}: cluster '${clusterName}' has no server`)
  if (cluster.value['proxy-url'] !== undefined)
    throw new Error(
      `${cluster.file}: cluster '${clusterName}' goes through proxy-url, which Plimsoll does not support yet; reach the API server directly (or through kubectl port-forward / an SSH tunnel)`,
    )
  const tls = clusterTls(cluster.value, cluster.file, clusterName!)
  const namespace = stringField(context.value, 'namespace', context.file)
  return {
    contextName,
    server: server.replace(/\/+$/, ''),
    tls,
    credentials: new Credentials(userConfig(user?.value ?? {}, user?.file ?? files[0] ?? ''), {
      server,
      tls,
      ...(cluster.value.extensions ? { extensions: cluster.value.extensions } : {}),
    }),
    ...(namespace ? { namespace } : {}),
  }
}

/** The files kubectl would read: the one given, $KUBECONFIG's list (existing ones), or ~/.kube/config. */
function kubeconfigFiles(given: string | undefined): string[] {
  if (given) {
    if (!existsSync(given)) throw new Error(`kubeconfig ${given}: no such file`)
    return [resolve(given)]
  }
  const env = process.env.KUBECONFIG
  if (env) {
    const listed = env.split(delimiter).filter((p) => p !== '')
    const present = listed.filter((p) => existsSync(p)).map((p) => resolve(p))
    if (present.length === 0) throw new Error(`KUBECONFIG=${env}: none of its files exists`)
    return present
  }
  const home = join(process.env.HOME || homedir(), '.kube', 'config')
  if (!existsSync(home))
    throw new Error(`no kubeconfig: ${home} does not exist and KUBECONFIG is not set (pass --kubeconfig)`)
  return [home]
}

type Fields = Record<string, unknown>

/** A named entry and the file it came from (its relative paths are relative to that file). */
interface Entry {
  readonly file: string
  readonly value: Fields
}

interface Merged {
  clusters: Map<string, Entry>
  users: Map<string, Entry>
  contexts: Map<string, Entry>
  currentContext: string | undefined
}

/** clientcmd's merge: the first file to define a name keeps it, the first current-context wins. */
function mergeFiles(files: readonly string[]): Merged {
  const merged: Merged = {
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    currentContext: undefined,
  }
  for (const file of files) {
    const doc = readKubeconfig(file)
    for (const [list, field, into] of [
      ['clusters', 'cluster', merged.clusters],
      ['users', 'user', merged.users],
      ['contexts', 'context', merged.contexts],
    ] as const) {
      const items = doc[list]
      if (items === undefined || items === null) continue
      if (!Array.isArray(items)) throw new Error(`${file}: ${list} must be a list`)
      for (const [i, item] of items.entries()) {
        const name = (item as Fields | null)?.name
        if (typeof name !== 'string' || name === '') throw new Error(`${file}: ${list}[${i}] has no name`)
        const value = (item as Fields)[field]
        if (!into.has(name)) into.set(name, { file, value: isFields(value) ? value : {} })
      }
    }
    const current = doc['current-context']
    if (merged.currentContext === undefined && typeof current === 'string' && current !== '')
      merged.currentContext = current
  }
  return merged
}

function readKubeconfig(file: string): Fields {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new Error(`kubeconfig ${file}: ${(err as Error).message}`)
  }
  let doc: unknown
  try {
    doc = load(text)
  } catch (err) {
    if (err instanceof YAMLException)
      throw new Error(`kubeconfig ${file}${err.mark ? `:${err.mark.line + 1}` : ''}: not YAML: ${err.reason}`)
    throw err
  }
  if (doc === undefined || doc === null) return {}
  if (!isFields(doc)) throw new Error(`kubeconfig ${file}: expected a mapping (apiVersion: v1, kind: Config)`)
  return doc
}

function clusterTls(cluster: Fields, file: string, name: string): ClusterTls {
  const insecure = cluster['insecure-skip-tls-verify'] === true
  const ca = pem(cluster, 'certificate-authority', file)
  // clientcmd refuses the pair: a CA that would not be checked is a mistake, not a setting.
  if (insecure && ca)
    throw new Error(
      `${file}: cluster '${name}' sets both insecure-skip-tls-verify and a certificate authority; keep one`,
    )
  const servername = stringField(cluster, 'tls-server-name', file)
  return { insecure, ...(ca ? { ca } : {}), ...(servername ? { servername } : {}) }
}

function userConfig(user: Fields, file: string): UserConfig {
  if (user['auth-provider'] !== undefined) {
    const provider = (user['auth-provider'] as Fields | null)?.name
    throw new Error(
      `${file}: the user's auth-provider '${String(provider)}' is not supported (kubectl dropped gcp and azure in 1.26); use the provider's exec credential plugin (gke-gcloud-auth-plugin, kubelogin)`,
    )
  }
  const token = stringField(user, 'token', file)
  const tokenFile = pathField(user, 'tokenFile', file)
  const username = stringField(user, 'username', file)
  const password = stringField(user, 'password', file)
  const cert = pem(user, 'client-certificate', file)
  const key = pem(user, 'client-key', file)
  if ((cert === undefined) !== (key === undefined))
    throw new Error(
      `${file}: the user has a client ${cert ? 'certificate without its key' : 'key without its certificate'}`,
    )
  const groups = user['as-groups']
  const extra = user['as-user-extra']
  return {
    ...(token ? { token } : tokenFile ? { tokenFile } : {}),
    ...(username !== undefined && password !== undefined ? { basic: { username, password } } : {}),
    ...(cert && key ? { cert, key } : {}),
    ...(isFields(user.exec) ? { exec: execConfig(user.exec, file) } : {}),
    impersonate: {
      ...(stringField(user, 'as', file) ? { user: stringField(user, 'as', file) } : {}),
      ...(stringField(user, 'as-uid', file) ? { uid: stringField(user, 'as-uid', file) } : {}),
      groups: Array.isArray(groups) ? groups.map(String) : [],
      extra: isFields(extra)
        ? Object.fromEntries(
            Object.entries(extra).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : [String(v)]]),
          )
        : {},
    },
  }
}

function execConfig(exec: Fields, file: string): ExecConfig {
  const command = stringField(exec, 'command', file)
  if (!command) throw new Error(`${file}: the user's exec has no command`)
  const env = Array.isArray(exec.env) ? exec.env : []
  return {
    apiVersion: stringField(exec, 'apiVersion', file) ?? '',
    // clientcmd resolves a command with a path separator against the file; a bare name is looked up in PATH.
    command: command.includes(sep) || command.includes('/') ? absolute(command, file) : command,
    args: Array.isArray(exec.args) ? exec.args.map(String) : [],
    env: Object.fromEntries(
      env.filter(isFields).map((e) => [String(e.name ?? ''), String(e.value ?? '')] as const),
    ),
    provideClusterInfo: exec.provideClusterInfo === true,
    interactiveMode: stringField(exec, 'interactiveMode', file) ?? '',
    installHint: stringField(exec, 'installHint', file) ?? '',
    file,
  }
}

/** A PEM field given inline (`<field>-data`, base64) or as a file (relative to the kubeconfig). */
function pem(fields: Fields, field: string, file: string): Buffer | undefined {
  const data = stringField(fields, `${field}-data`, file)
  if (data) return Buffer.from(data, 'base64')
  const path = pathField(fields, field, file)
  if (!path) return undefined
  try {
    return readFileSync(path)
  } catch (err) {
    throw new Error(`${file}: ${field} ${path}: ${(err as Error).message}`)
  }
}

function pathField(fields: Fields, field: string, file: string): string | undefined {
  const value = stringField(fields, field, file)
  return value ? absolute(value, file) : undefined
}

function absolute(path: string, file: string): string {
  return isAbsolute(path) ? path : resolve(dirname(file), path)
}

function stringField(fields: Fields, field: string, file: string): string | undefined {
  const value = fields[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string')
    throw new Error(`${file}: ${field} must be a string, not ${JSON.stringify(value)}`)
  return value
}

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describeFiles(files: readonly string[]): string {
  return files.length === 1 ? `kubeconfig ${files[0]}` : `the kubeconfigs ${files.join(', ')}`
}

function listNames(entries: Map<string, Entry>): string {
  return entries.size > 0 ? [...entries.keys()].join(', ') : 'none'
}

/**
 * A pod's own account, as client-go's InClusterConfig: the API server from the service's environment
 * variables, its CA and a token from the mounted service account. The token is a bound one that the
 * kubelet rotates, so it is read again from the file (credentials.ts), never kept for good.
 */
function inClusterAccess(dir: string): KubeAccess {
  const host = process.env.KUBERNETES_SERVICE_HOST
  const port = process.env.KUBERNETES_SERVICE_PORT
  if (!host || !port)
    throw new Error(
      '--in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set; is this running in a pod?',
    )
  const tokenFile = join(dir, 'token')
  if (!existsSync(tokenFile)) throw new Error(`--in-cluster: no service account token at ${tokenFile}`)
  const caFile = join(dir, 'ca.crt')
  const ca = existsSync(caFile) ? readFileSync(caFile) : undefined
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`
  const tls: ClusterTls = { insecure: false, ...(ca ? { ca } : {}) }
  const namespaceFile = join(dir, 'namespace')
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined
  return {
    contextName: 'in-cluster',
    server,
    tls,
    credentials: new Credentials({ tokenFile, impersonate: { groups: [], extra: {} } }, { server, tls }),
    ...(namespace ? { namespace } : {}),
  }
}
