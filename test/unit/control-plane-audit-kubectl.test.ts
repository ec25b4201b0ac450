/**
 * kubectl, the second real client, through a control plane that audits to a webhook receiver here
 * (bearer token): create, get, list, delete and a denied request produce the events a kube-apiserver
 * writes for them (compare shared/corpus/kube-apiserver/06-audit A01-A08, A17-A18): kubectl's user
 * agent, the verbs, objectRefs with the created object's name, status codes, the authorization
 * decision, and request and response objects by level. kubectl runs asynchronously: the control
 * plane answers from this process.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Pki } from '../../src/control-plane/certs.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'

type Obj = Record<string, unknown>

let pki: Pki
let receiver: Server
let cp: ControlPlane
let dir: string
let admin: string
let viewer: string
const batches: Obj[][] = []
const TOKEN = 'kubectl-audit-sink'

function kubectl(
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      ['--kubeconfig', kubeconfig, ...args],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HOME: dir } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    )
    child.stdin?.end(input ?? '')
  })
}

/** The events of kubectl's requests received so far (after flushing the backend). */
async function kubectlEvents(): Promise<Obj[]> {
  await cp.auditor?.flush()
  return batches.flat().filter((e) => String(e.userAgent).startsWith('kubectl/'))
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-kubectl-'))
  pki = new Pki()
  receiver = createServer({ key: pki.server.key, cert: pki.server.cert }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401).end()
        return
      }
      batches.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items: Obj[] }).items)
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  cp = await startControlPlane({
    audit: {
      policy: `
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["pods", "pods/*", "configmaps"]
- level: Metadata
`,
      webhook: {
        server: `https://127.0.0.1:${(receiver.address() as AddressInfo).port}/audit`,
        ca: pki.serverCa.cert,
        token: TOKEN,
      },
      batchMaxWaitMs: 50,
    },
  })
  admin = cp.kubeconfig(join(dir, 'admin'))
  cp.user('viewer', { rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['configmaps'] }] })
  viewer = cp.kubeconfig(join(dir, 'viewer'), { user: 'viewer', auth: 'token' })
})

afterAll(async () => {
  await cp?.stop()
  if (receiver) {
    receiver.closeAllConnections()
    await new Promise<void>((resolve) => receiver.close(() => resolve()))
  }
  pki?.dispose()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('kubectl through an audited control plane', () => {
  it('create, get, list and delete give the events a kube-apiserver writes', async () => {
    const created = await kubectl(admin, [
      'create',
      'configmap',
      'app',
      '-n',
      'default',
      '--from-literal=k=v',
    ])
    expect(created).toMatchObject({ code: 0, stdout: 'configmap/app created\n' })
    expect((await kubectl(admin, ['get', 'configmap', 'app', '-n', 'default', '-o', 'json'])).code).toBe(0)
    expect((await kubectl(admin, ['get', 'configmaps', '-n', 'default'])).code).toBe(0)
    const deleted = await kubectl(admin, ['delete', 'configmap', 'app', '-n', 'default'])
    expect(deleted).toMatchObject({ code: 0, stdout: 'configmap "app" deleted\n' })

    const events = await kubectlEvents()
    const resourceEvents = events.filter((e) => e.objectRef)
    const brief = resourceEvents.map((e) => [
      e.stage,
      e.verb,
      (e.objectRef as Obj).name ?? '',
      (e.responseStatus as Obj | undefined)?.code ?? null,
      'requestObject' in e,
      'responseObject' in e,
    ])
    // As the recorded server for A05 (create), A12 (get) and A18 (delete, then kubectl's wait GET).
    expect(brief).toEqual([
      ['RequestReceived', 'create', '', null, false, false],
      ['ResponseComplete', 'create', 'app', 201, true, true],
      ['RequestReceived', 'get', 'app', null, false, false],
      ['ResponseComplete', 'get', 'app', 200, false, true],
      ['RequestReceived', 'list', '', null, false, false],
      ['ResponseComplete', 'list', '', 200, false, true],
      ['RequestReceived', 'delete', 'app', null, false, false],
      ['ResponseComplete', 'delete', 'app', 200, true, true],
      ['RequestReceived', 'get', 'app', null, false, false],
      ['ResponseComplete', 'get', 'app', 404, false, true],
    ])
    for (const e of events) {
      expect(e.userAgent).toMatch(/^kubectl\/v\d+\.\d+\.\d+\S* \(linux\/\w+\) kubernetes\/\w+$/)
      expect(e.user).toMatchObject({
        username: 'kube-admin',
        groups: ['system:masters', 'system:authenticated'],
        extra: {
          'authentication.kubernetes.io/credential-id': [expect.stringMatching(/^X509SHA256=[0-9a-f]{64}$/)],
        },
      })
      expect(e.sourceIPs).toEqual(['127.0.0.1'])
    }
    const create = resourceEvents[1]!
    expect(create).toMatchObject({
      level: 'RequestResponse',
      requestURI: '/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict',
      objectRef: { resource: 'configmaps', namespace: 'default', name: 'app', apiVersion: 'v1' },
      requestObject: {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: { name: 'app', namespace: 'default', creationTimestamp: null },
        data: { k: 'v' },
      },
      responseObject: { kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' } },
      annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    })
    expect(resourceEvents[7]).toMatchObject({
      verb: 'delete',
      requestObject: {
        kind: 'DeleteOptions',
        apiVersion: 'meta.k8s.io/__internal',
        propagationPolicy: 'Background',
      },
    })
  })

  it('a denied kubectl request is audited with decision forbid and the Status', async () => {
    const secret = await kubectl(admin, [
      'create',
      'secret',
      'generic',
      'pw',
      '-n',
      'default',
      '--from-literal=p=x',
    ])
    expect(secret.code).toBe(0)
    const denied = await kubectl(viewer, ['delete', 'configmap', 'anything', '-n', 'default'])
    expect(denied.code).toBe(1)
    expect(denied.stderr).toContain('is forbidden')
    const events = (await kubectlEvents()).filter(
      (e) => e.verb === 'delete' || (e.objectRef as Obj)?.resource === 'secrets',
    )
    const secretEvents = events.filter((e) => (e.objectRef as Obj)?.resource === 'secrets')
    // Secrets are at Metadata level: no objects, however the request went.
    expect(secretEvents.map((e) => [e.stage, e.level, 'requestObject' in e, 'responseObject' in e])).toEqual([
      ['RequestReceived', 'Metadata', false, false],
      ['ResponseComplete', 'Metadata', false, false],
    ])
    const forbidden = events.filter((e) => (e.user as Obj).username === 'viewer')
    expect(forbidden.map((e) => e.stage)).toEqual(['RequestReceived', 'ResponseComplete'])
    expect(forbidden[1]).toMatchObject({
      verb: 'delete',
      objectRef: { resource: 'configmaps', namespace: 'default', name: 'anything', apiVersion: 'v1' },
      responseStatus: {
        metadata: {},
        status: 'Failure',
        message:
          'configmaps "anything" is forbidden: User "viewer" cannot delete resource "configmaps" in API group "" in the namespace "default"',
        reason: 'Forbidden',
        details: { name: 'anything', kind: 'configmaps' },
        code: 403,
      },
      responseObject: { kind: 'Status', code: 403 },
      annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' },
    })
    // As recorded for A17: a denied request logs no request object.
    expect(forbidden[1]).not.toHaveProperty('requestObject')
  })
})
