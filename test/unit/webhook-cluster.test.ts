/**
 * `plimsoll webhook serve` as the API server calls it: the local control plane holds the
 * ValidatingWebhookConfiguration that `plimsoll webhook manifest` printed (applied with kubectl) and
 * calls the webhook over HTTPS with its caBundle for each write it matches. Enforce denies with the
 * check and field; warn admits with a warning kubectl prints; exempt namespaces and kinds no policy
 * reads never reach the webhook; dryRun is judged; failurePolicy Ignore admits when the webhook is down,
 * Fail refuses.
 */
import { type ChildProcess, execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { writeCertificates } from '../../src/webhook/certificates.js'
import { BIN } from '../helpers/cli.js'
import { deployment, kube } from '../helpers/kube.js'
import { stopped } from '../helpers/serve.js'
import { webhookServe } from '../helpers/webhook.js'

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(command: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    )
    child.stdin?.end(input ?? '')
  })
}

const ENFORCEMENT = `apiVersion: plimsoll.dev/v1alpha1
kind: EnforcementConfig
metadata:
  name: shop
spec:
  defaultMode: warn
  rules:
    - checks: [pss-privileged]
      namespaces: [shop]
      mode: enforce
`

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-webhook-cluster-'))
let cp: ControlPlane
let kubeconfig: string
let webhook: ChildProcess | undefined
let webhookUrl = ''
let caFile: string

async function startWebhook(certFile: string, keyFile: string): Promise<void> {
  const started = await webhookServe({ certFile, keyFile }, ['--enforcement', join(dir, 'enforcement.yaml')])
  webhook = started.child
  webhookUrl = started.url
}

/** How many reviews the webhook has answered so far (its /metrics). */
function reviews(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${webhookUrl}/metrics`,
      { ca: readFileSync(caFile), servername: 'plimsoll-webhook.plimsoll.svc' },
      (res) => {
        let text = ''
        res.on('data', (d) => {
          text += d
        })
        res.on('end', () => {
          let n = 0
          for (const m of text.matchAll(/^plimsoll_webhook_reviews_total\{[^}]*\} (\d+)$/gm))
            n += Number(m[1])
          resolve(n)
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

const kubectl = (args: string[], input?: string) =>
  run('kubectl', ['--kubeconfig', kubeconfig, ...args], input)

async function applyManifest(extra: string[] = []): Promise<void> {
  const manifest = await run(process.execPath, [
    BIN,
    'webhook',
    'manifest',
    '--ca-bundle-file',
    caFile,
    '--enforcement',
    join(dir, 'enforcement.yaml'),
    ...extra,
  ])
  expect(manifest.code, manifest.stderr).toBe(0)
  const applied = await kubectl(['apply', '-f', '-'], manifest.stdout)
  expect(applied.code, applied.stderr).toBe(0)
}

beforeAll(async () => {
  writeFileSync(join(dir, 'enforcement.yaml'), ENFORCEMENT)
  const certs = writeCertificates({
    dir: join(dir, 'certs'),
    service: 'plimsoll-webhook',
    namespace: 'plimsoll',
  })
  caFile = certs.caFile
  await startWebhook(certs.certFile, certs.keyFile)
  cp = await startControlPlane({
    webhooks: {
      serviceAddress: (namespace, name) =>
        namespace === 'plimsoll' && name === 'plimsoll-webhook' ? webhookUrl : undefined,
    },
  })
  kubeconfig = cp.kubeconfig(join(dir, 'admin.kubeconfig'))
  for (const ns of ['shop', 'blog'])
    expect(
      (
        await kube(cp, 'POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns },
        })
      ).status,
    ).toBe(201)
  await applyManifest()
}, 60_000)

afterAll(async () => {
  if (webhook) await stopped(webhook)
  await cp?.stop()
})

const yaml = (object: Record<string, unknown>) => JSON.stringify(object)

describe('the webhook, called by the API server', () => {
  it('denies what is enforced, naming the check and the field, as kubectl shows it', async () => {
    const result = await kubectl(['apply', '-f', '-'], yaml(deployment('web', 'shop', true)))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      'admission webhook "validate.plimsoll.dev" denied the request: plimsoll: denied by a check:',
    )
    expect(result.stderr).toContain(
      '- pss-privileged (spec.template.spec.containers[0].securityContext.privileged): ',
    )
    expect((await kube(cp, 'GET', '/apis/apps/v1/namespaces/shop/deployments/web')).status).toBe(404)
  })

  it('admits what is warned, with warnings kubectl prints', async () => {
    const result = await kubectl(['apply', '-f', '-'], yaml(deployment('web', 'blog', true)))
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(
      /^Warning: pss-privileged \(spec\.template\.spec\.containers\[0\]\.securityContext\.privileged\): /m,
    )
  })

  it('is not called for exempt namespaces nor for kinds no check reads', async () => {
    const before = await reviews()
    const system = await kube(
      cp,
      'POST',
      '/apis/apps/v1/namespaces/kube-system/deployments',
      deployment('agent', 'kube-system', true),
    )
    expect(system.status).toBe(201)
    expect(system.warnings).toEqual([])
    const lease = await kube(cp, 'POST', '/apis/coordination.k8s.io/v1/namespaces/shop/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'leader', namespace: 'shop' },
      spec: { holderIdentity: 'a' },
    })
    expect(lease.status).toBe(201)
    expect(await reviews()).toBe(before)
    await kube(cp, 'POST', '/api/v1/namespaces/blog/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
    })
    expect(await reviews()).toBe(before + 1)
  })

  it('judges a dryRun request as any other, and nothing is stored', async () => {
    const dry = await kube(
      cp,
      'POST',
      '/apis/apps/v1/namespaces/shop/deployments?dryRun=All',
      deployment('dry', 'shop', true),
    )
    expect(dry.status).toBe(403)
    expect(String(dry.body.message)).toContain('pss-privileged')
    const fine = await kube(
      cp,
      'POST',
      '/apis/apps/v1/namespaces/shop/deployments?dryRun=All',
      deployment('dry', 'shop', false),
    )
    expect(fine.status).toBe(201)
    expect((await kube(cp, 'GET', '/apis/apps/v1/namespaces/shop/deployments/dry')).status).toBe(404)
  })

  it('with failurePolicy Ignore, the cluster goes on when the webhook is down; with Fail, nothing gets in unchecked', async () => {
    await stopped(webhook!)
    webhook = undefined
    const open = await kube(
      cp,
      'POST',
      '/apis/apps/v1/namespaces/shop/deployments',
      deployment('while-down', 'shop', true),
    )
    expect(open.status).toBe(201)
    await applyManifest(['--failure-policy', 'Fail'])
    const closed = await kube(
      cp,
      'POST',
      '/apis/apps/v1/namespaces/shop/deployments',
      deployment('while-down-2', 'shop', false),
    )
    expect(closed.status).toBe(500)
    expect(String(closed.body.message)).toContain('failed calling webhook "validate.plimsoll.dev"')
  })
})
