/**
 * `plimsoll webhook serve --namespace-labels` against the local control plane: the webhook lists and
 * watches the cluster's Namespaces (as the ServiceAccount `webhook manifest --namespace-labels` grants)
 * so that an EnforcementConfig rule's namespaceSelector matches; a label added to a namespace is read
 * from the watch; /readyz waits for the first list; a list refused by RBAC stops the webhook with the
 * permission it needs.
 */
import { type ChildProcess, execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadAll } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Backoff } from '../../src/cluster/backoff.js'
import { ApiClient, loadKubeConfig } from '../../src/cluster/client.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { writeCertificates } from '../../src/webhook/certificates.js'
import { NamespaceCache } from '../../src/webhook/namespaces.js'
import { BIN } from '../helpers/cli.js'
import { type KubeAnswer, kube } from '../helpers/kube.js'
import { stopped } from '../helpers/serve.js'
import { spawnWebhook, webhookServe } from '../helpers/webhook.js'

const ENFORCEMENT = `apiVersion: plimsoll.dev/v1alpha1
kind: EnforcementConfig
metadata:
  name: by-label
spec:
  defaultMode: warn
  rules:
    - name: enforced where the namespace says so
      checks: [pss-privileged]
      namespaceSelector:
        matchLabels: { plimsoll.dev/enforce: "true" }
      mode: enforce
`

const SERVICE_ACCOUNT = 'system:serviceaccount:plimsoll:plimsoll-webhook'

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-webhook-namespaces-'))
let cp: ControlPlane
let certs: ReturnType<typeof writeCertificates>
let webhookUrl = ''
/** While set, the control plane answers the webhook's namespace requests 503 (an API server not ready). */
let holdNamespaces = false
const children: ChildProcess[] = []
/** Lists (not watches) of namespaces the in-process cache's user asked for. */
let cacheLists = 0

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** A CLI process, asynchronously: the control plane answers from this same process. */
function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    )
  })
}

/** GET a path of the webhook: its status and text. */
function webhookGet(path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${webhookUrl}${path}`,
      { ca: readFileSync(certs.caFile), servername: 'plimsoll-webhook.plimsoll.svc' },
      (res) => {
        let text = ''
        res.on('data', (d) => {
          text += d
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const got = await probe()
    if (got !== undefined) return got
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function privilegedPod(name: string, namespace: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged: true } }] },
  }
}

/** Creates a privileged Pod (dryRun: judged, and nothing stored) through the API server. */
const createPod = (name: string, namespace: string): Promise<KubeAnswer> =>
  kube(cp, 'POST', `/api/v1/namespaces/${namespace}/pods?dryRun=All`, privilegedPod(name, namespace))

const labelNamespace = (name: string, value: string | null) =>
  kube(
    cp,
    'PATCH',
    `/api/v1/namespaces/${name}`,
    { metadata: { labels: { 'plimsoll.dev/enforce': value } } },
    { contentType: 'application/merge-patch+json' },
  )

/** Where each kind of document of a manifest is created. */
const COLLECTIONS: Record<string, string> = {
  ValidatingWebhookConfiguration: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
  MutatingWebhookConfiguration: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
  ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
}

let manifestDocuments: Record<string, unknown>[] = []

beforeAll(async () => {
  writeFileSync(join(dir, 'enforcement.yaml'), ENFORCEMENT)
  certs = writeCertificates({ dir: join(dir, 'certs'), service: 'plimsoll-webhook', namespace: 'plimsoll' })
  cp = await startControlPlane({
    webhooks: {
      serviceAddress: (namespace, name) =>
        namespace === 'plimsoll' && name === 'plimsoll-webhook' && webhookUrl ? webhookUrl : undefined,
    },
  })
  cp.hooks.push({
    onRequest: (r) => {
      if (r.user.username === 'cache-reader' && r.url.startsWith('/api/v1/namespaces?'))
        if (!r.url.includes('watch=')) cacheLists++
      return holdNamespaces && r.user.username === SERVICE_ACCOUNT && r.url.startsWith('/api/v1/namespaces')
        ? { code: 503, reason: 'ServiceUnavailable', message: 'held by the test' }
        : undefined
    },
  })
  for (const [name, labels] of [
    ['strict', { 'plimsoll.dev/enforce': 'true' }],
    ['loose', {}],
  ] as const)
    expect(
      (
        await kube(cp, 'POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels },
        })
      ).status,
    ).toBe(201)
  // The webhook's ServiceAccount, granted nothing but what the manifest's ClusterRoleBinding gives it.
  cp.user(SERVICE_ACCOUNT, { groups: ['system:serviceaccounts', 'system:serviceaccounts:plimsoll'] })
  cp.user('nobody')
  const manifest = await run([
    'webhook',
    'manifest',
    '--ca-bundle-file',
    certs.caFile,
    '--enforcement',
    join(dir, 'enforcement.yaml'),
    '--namespace-labels',
  ])
  expect(manifest.code, manifest.stderr).toBe(0)
  manifestDocuments = loadAll(manifest.stdout) as Record<string, unknown>[]
  for (const doc of manifestDocuments) {
    const created = await kube(cp, 'POST', COLLECTIONS[doc.kind as string]!, doc)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
  }
}, 60_000)

afterAll(async () => {
  for (const child of children) await stopped(child)
  await cp?.stop()
})

describe('NamespaceCache', () => {
  it('lists, follows the watch, and lists again after a 410 Gone', async () => {
    cp.user('cache-reader', {
      rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }],
    })
    const client = new ApiClient(
      loadKubeConfig({ kubeconfig: cp.kubeconfig(join(dir, 'reader.kubeconfig'), 'cache-reader') }),
    )
    const said: string[] = []
    const cache = new NamespaceCache({
      client,
      // Slow enough to come back only after the history is compacted.
      reflector: { backoff: new Backoff({ initialMs: 1_500, maxMs: 2_000 }), pageSize: 2 },
      log: (line) => said.push(line),
    })
    expect(cache.ready).toBe(false)
    cache.start()
    try {
      await cache.whenReady
      expect(cache.ready).toBe(true)
      expect(cache.snapshot().get('strict')).toMatchObject({
        kind: 'Namespace',
        metadata: { name: 'strict', labels: { 'plimsoll.dev/enforce': 'true' } },
      })
      expect(cache.snapshot().has('loose')).toBe(true)
      // managedFields are not kept: nothing reads them.
      expect(
        (cache.snapshot().get('strict')!.metadata as Record<string, unknown>).managedFields,
      ).toBeUndefined()

      const create = (name: string) =>
        kube(cp, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
      expect((await create('temporary')).status).toBe(201)
      await until('the watch event', async () => (cache.snapshot().has('temporary') ? true : undefined))

      // Changes nobody sees (the watch is cut), then the history compacted past them: 410, a new list.
      const lists = cacheLists
      cp.dropWatches()
      expect((await create('later')).status).toBe(201)
      expect((await kube(cp, 'DELETE', '/api/v1/namespaces/temporary')).status).toBe(200)
      cp.compact()
      await until('a re-list', async () => (cacheLists > lists ? true : undefined))
      await until('the gap seen', async () =>
        cache.snapshot().has('later') && !cache.snapshot().has('temporary') ? true : undefined,
      )
    } finally {
      await cache.stop()
    }
  }, 30_000)
})

describe('webhook manifest --namespace-labels', () => {
  it('prints a ClusterRole granting get, list and watch on namespaces, bound to the webhook', () => {
    const role = manifestDocuments.find((d) => d.kind === 'ClusterRole')
    expect(role).toMatchObject({
      metadata: { name: 'plimsoll-namespace-reader' },
      rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }],
    })
    expect(manifestDocuments.find((d) => d.kind === 'ClusterRoleBinding')).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'plimsoll-namespace-reader' },
      subjects: [{ kind: 'ServiceAccount', namespace: 'plimsoll', name: 'plimsoll-webhook' }],
    })
  })
})

describe('webhook serve --namespace-labels', () => {
  it('is not ready until the namespaces are listed, then enforces by namespace label', async () => {
    const kubeconfig = cp.kubeconfig(join(dir, 'webhook.kubeconfig'), {
      user: SERVICE_ACCOUNT,
      auth: 'token',
    })
    holdNamespaces = true
    const started = await webhookServe(certs, [
      '--enforcement',
      join(dir, 'enforcement.yaml'),
      '--namespace-labels',
      '--kubeconfig',
      kubeconfig,
    ])
    children.push(started.child)
    webhookUrl = started.url
    const said = started.said
    // The policies are compiled ("serving" is said after), the namespaces are not listed.
    expect((await webhookGet('/readyz')).status).toBe(503)
    await new Promise((r) => setTimeout(r, 1_000))
    expect((await webhookGet('/readyz')).status).toBe(503)
    await until('the refusal said', async () => (said().includes('held by the test') ? true : undefined))
    expect(await webhookGet('/readyz')).toMatchObject({ status: 503, text: 'namespaces not listed yet' })
    holdNamespaces = false
    await until('ready', async () => ((await webhookGet('/readyz')).status === 200 ? true : undefined))
    await until('the list said', async () => (/namespaces: \d+ listed/.test(said()) ? true : undefined))

    const strict = await createPod('web', 'strict')
    expect(strict.status).toBe(403)
    expect(JSON.stringify(strict.body)).toContain('pss-privileged')
    const loose = await createPod('web', 'loose')
    expect(loose.status).toBe(201)
    expect(loose.warnings.some((w) => w.startsWith('pss-privileged'))).toBe(true)
  }, 60_000)

  it('reads a label added to a namespace from its watch', async () => {
    expect((await labelNamespace('loose', 'true')).status).toBe(200)
    const denied = await until('loose enforced', async () => {
      const answer = await createPod('web', 'loose')
      return answer.status === 403 ? answer : undefined
    })
    expect(JSON.stringify(denied.body)).toContain(
      'pss-privileged (spec.containers[0].securityContext.privileged)',
    )
    // And taken off: warned again.
    expect((await labelNamespace('strict', null)).status).toBe(200)
    const warned = await until('strict relaxed', async () => {
      const answer = await createPod('web', 'strict')
      return answer.status === 201 ? answer : undefined
    })
    expect(warned.warnings.some((w) => w.startsWith('pss-privileged'))).toBe(true)
  }, 30_000)

  it('stops with the permission it needs when the namespace list is refused', async () => {
    const kubeconfig = cp.kubeconfig(join(dir, 'nobody.kubeconfig'), { user: 'nobody', auth: 'token' })
    const child = spawnWebhook(certs, ['--namespace-labels', '--kubeconfig', kubeconfig])
    children.push(child)
    let said = ''
    child.stderr!.on('data', (d) => {
      said += d
    })
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(code).toBe(2)
    expect(said).toMatch(/--namespace-labels: cannot list namespaces at https:\/\/127\.0\.0\.1:\d+: /)
    expect(said).toContain("the webhook's identity needs get, list and watch on namespaces")
  }, 60_000)

  it('takes the cluster flags only with --namespace-labels', async () => {
    const result = await run([
      'webhook',
      'serve',
      '--tls-cert',
      certs.certFile,
      '--tls-key',
      certs.keyFile,
      '--context',
      'prod',
    ])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('give --namespace-labels too')
  })
})
