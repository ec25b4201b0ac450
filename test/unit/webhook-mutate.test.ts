/**
 * Mutating reviews: `plimsoll webhook serve --policy` with a Kyverno mutate policy, behind the local
 * control plane holding the configurations `plimsoll webhook manifest` printed. The JSONPatch it
 * answers is applied by the API server before the object is stored (what a GET shows is the mutated
 * object); exempt namespaces are left as they are.
 */
import { type ChildProcess, execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { loadAll } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { loadLibrary } from '../../src/policy/library.js'
import { writeCertificates } from '../../src/webhook/certificates.js'
import { BIN } from '../helpers/cli.js'
import { kube } from '../helpers/kube.js'
import { stopped } from '../helpers/serve.js'
import { webhookServe } from '../helpers/webhook.js'

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-webhook-mutate-'))
const POLICY = resolve(import.meta.dirname, '..', 'data', 'mutate', 'add-defaults.yaml')
let cp: ControlPlane
let webhook: ChildProcess | undefined
let url = ''

const pod = (name: string, namespace: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace },
  spec: {
    containers: [
      { name: 'app', image: 'nginx:1.27' },
      { name: 'sidecar', image: 'envoy:1.31', securityContext: { runAsNonRoot: false } },
    ],
  },
})

beforeAll(async () => {
  const certs = writeCertificates({
    dir: join(dir, 'certs'),
    service: 'plimsoll-webhook',
    namespace: 'plimsoll',
  })
  ;({ child: webhook, url } = await webhookServe(certs, ['--policy', POLICY]))
  cp = await startControlPlane({
    webhooks: {
      serviceAddress: (namespace, name) =>
        namespace === 'plimsoll' && name === 'plimsoll-webhook' ? url : undefined,
    },
  })
  expect(
    (
      await kube(cp, 'POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'shop' },
      })
    ).status,
  ).toBe(201)
  // The configurations `plimsoll webhook manifest` prints for this policy: a mutating one for what it changes.
  const manifest = await new Promise<string>((done, reject) =>
    execFile(
      process.execPath,
      [
        BIN,
        'webhook',
        'manifest',
        '--ca-bundle-file',
        certs.caFile,
        '--no-builtin',
        '--policy',
        POLICY,
        '--failure-policy',
        'Fail',
      ],
      (err, stdout, stderr) => (err ? reject(new Error(stderr)) : done(stdout)),
    ),
  )
  const documents = loadAll(manifest) as { kind: string; webhooks: { rules: { resources: string[] }[] }[] }[]
  expect(documents.map((d) => d.kind)).toEqual([
    'ValidatingWebhookConfiguration',
    'MutatingWebhookConfiguration',
  ])
  expect(documents[1]!.webhooks[0]!.rules.find((r) => r.resources.includes('pods'))).toBeDefined()
  for (const d of documents) {
    const plural =
      d.kind === 'MutatingWebhookConfiguration'
        ? 'mutatingwebhookconfigurations'
        : 'validatingwebhookconfigurations'
    const created = await kube(cp, 'POST', `/apis/admissionregistration.k8s.io/v1/${plural}`, d)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
  }
}, 60_000)

afterAll(async () => {
  if (webhook) await stopped(webhook)
  await cp?.stop()
})

describe('mutating reviews', () => {
  it('answers a JSONPatch the API server applies before storing: the object as `plimsoll mutate` makes it', async () => {
    const created = await kube(cp, 'POST', '/api/v1/namespaces/shop/pods', pod('web', 'shop'))
    expect(created.status).toBe(201)
    const stored = await kube(cp, 'GET', '/api/v1/namespaces/shop/pods/web')
    const containers = (
      stored.body.spec as { containers: { name: string; securityContext?: Record<string, unknown> }[] }
    ).containers
    expect(containers.map((c) => c.securityContext?.allowPrivilegeEscalation)).toEqual([false, false])
    // The same policy through the scan's door gives the same containers.
    const mutated = loadLibrary({ builtin: false, policies: [POLICY] }).mutator!.mutate({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: 'shop',
      object: pod('web', 'shop'),
    })
    expect(containers.map((c) => [c.name, c.securityContext])).toEqual(
      (mutated!.object.spec as { containers: { name: string; securityContext?: unknown }[] }).containers.map(
        (c) => [c.name, c.securityContext],
      ),
    )
  })

  it('leaves exempt namespaces as they are', async () => {
    expect(
      (await kube(cp, 'POST', '/api/v1/namespaces/kube-system/pods', pod('agent', 'kube-system'))).status,
    ).toBe(201)
    const stored = await kube(cp, 'GET', '/api/v1/namespaces/kube-system/pods/agent')
    const app = (stored.body.spec as { containers: { securityContext?: unknown }[] }).containers[0]!
    expect(app.securityContext).toBeUndefined()
  })

  it('counts what it mutated in its metrics', async () => {
    const text = await new Promise<string>((done, reject) => {
      import('node:https').then(({ request }) => {
        const req = request(
          `${url}/metrics`,
          { ca: readFileSync(join(dir, 'certs', 'ca.crt')), servername: 'plimsoll-webhook.plimsoll.svc' },
          (res) => {
            let t = ''
            res.on('data', (d) => {
              t += d
            })
            res.on('end', () => done(t))
          },
        )
        req.on('error', reject)
        req.end()
      }, reject)
    })
    expect(text).toMatch(
      /plimsoll_webhook_reviews_total\{webhook="mutate",operation="CREATE",outcome="mutated"\} 1/,
    )
  })
})
