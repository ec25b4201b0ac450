/**
 * kubectl against the local control plane, with a kubeconfig from controlPlane.kubeconfig(): lists
 * (all namespaces, paged with --chunk-size, -o json), a watch read from kubectl's output while objects
 * change, server-side and client-side apply, delete, typed creates (protobuf bodies), and RBAC
 * denials worded as kubectl prints them. It runs the kubectl on PATH (v1.32 here; CI's fresh Debian 12
 * gets Debian's kubernetes-client, v1.20, with apt-get): both validate manifests against the minimal
 * OpenAPI documents the control plane serves, so no test needs --validate=false.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateObjects } from '../../src/control-plane/seed-objects.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'

let cp: ControlPlane
let dir: string
let admin: string
let viewer: string

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** kubectl, asynchronously: the control plane answers from this same process. */
function kubectl(kubeconfig: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      ['--kubeconfig', kubeconfig, ...args],
      { encoding: 'utf8', timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    )
    child.stdin?.end(input ?? '')
  })
}

/** Complete top-level JSON documents in kubectl's -o json stream (pretty-printed, one after another). */
function jsonDocuments(text: string): unknown[] {
  const out: unknown[] = []
  let depth = 0
  let start = -1
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') inString = true
    else if (c === '{') {
      if (depth++ === 0) start = i
    } else if (c === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)))
  }
  return out
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

beforeAll(async () => {
  // kubectl is on PATH: test/setup/kubectl.ts installs Debian's when it is missing.
  cp = await startControlPlane()
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-cp-kubectl-'))
  admin = cp.kubeconfig(join(dir, 'admin.kubeconfig'))
  cp.user('viewer', {
    groups: ['viewers'],
    rules: [
      { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods'], namespaces: ['team-a'] },
    ],
  })
  viewer = cp.kubeconfig(join(dir, 'viewer.kubeconfig'), { user: 'viewer', auth: 'token' })
  cp.load(generateObjects(150, 7))
}, 240_000)

afterAll(async () => {
  await cp?.stop()
})

describe('kubectl against the local control plane', () => {
  it('lists pods in every namespace, as a table and as JSON', async () => {
    const json = await kubectl(admin, ['get', 'pods', '-A', '-o', 'json'])
    expect(json.code, json.stderr).toBe(0)
    const list = JSON.parse(json.stdout) as {
      kind: string
      items: { kind: string; metadata: { name: string; namespace: string } }[]
    }
    expect(list.kind).toBe('List')
    const pods = list.items
    expect(pods.length).toBeGreaterThan(20)
    expect(new Set(pods.map((p) => p.kind))).toEqual(new Set(['Pod']))
    const table = await kubectl(admin, ['get', 'pods', '-A'])
    expect(table.code, table.stderr).toBe(0)
    const lines = table.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/)
    expect(
      lines
        .slice(1)
        .map((l) => l.split(/\s+/).slice(0, 2).join('/'))
        .sort(),
    ).toEqual(pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort())
    expect(lines[1]).toMatch(/\s1\/1\s+Running\s+\d+\s+\d+d$/)
  })

  it('pages a list with --chunk-size=2 (limit and continue on the wire) and gets every object', async () => {
    const all = await kubectl(admin, ['get', 'configmaps', '-A', '-o', 'name'])
    const paged = await kubectl(admin, ['get', 'configmaps', '-A', '-o', 'name', '--chunk-size=2', '-v=6'])
    expect(paged.code, paged.stderr).toBe(0)
    const requests = paged.stderr
      .split('\n')
      .filter((l) => /GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/configmaps\?.*limit=2/.test(l))
    const names = paged.stdout.trim().split('\n')
    expect(names.length).toBeGreaterThan(10)
    expect(requests.length).toBe(Math.ceil(names.length / 2))
    expect(requests.slice(1).every((l) => /continue=/.test(l))).toBe(true)
    expect(names.sort()).toEqual(all.stdout.trim().split('\n').sort())
  })

  it('watches configmaps and prints ADDED, MODIFIED and DELETED as they happen', async () => {
    expect((await kubectl(admin, ['create', 'namespace', 'watched'])).code).toBe(0)
    const child: ChildProcess = spawn('kubectl', [
      '--kubeconfig',
      admin,
      'get',
      'configmaps',
      '-n',
      'watched',
      '--watch',
      '-o',
      'json',
      '--output-watch-events',
    ])
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
    })
    try {
      type Event = { type: string; object: { metadata: { name: string } } }
      const seen = (name: string, type: string) => () =>
        (jsonDocuments(out) as Event[]).find((e) => e.type === type && e.object.metadata.name === name)
          ? true
          : undefined
      await waitFor('the initial kube-root-ca.crt', seen('kube-root-ca.crt', 'ADDED'))
      expect(
        (await kubectl(admin, ['create', 'configmap', 'live', '-n', 'watched', '--from-literal=a=1'])).code,
      ).toBe(0)
      await waitFor('ADDED live', seen('live', 'ADDED'))
      expect(
        (await kubectl(admin, ['patch', 'configmap', 'live', '-n', 'watched', '-p', '{"data":{"a":"2"}}']))
          .code,
      ).toBe(0)
      await waitFor('MODIFIED live', seen('live', 'MODIFIED'))
      expect((await kubectl(admin, ['delete', 'configmap', 'live', '-n', 'watched'])).code).toBe(0)
      await waitFor('DELETED live', seen('live', 'DELETED'))
      const events = (jsonDocuments(out) as Event[]).map((e) => `${e.type} ${e.object.metadata.name}`)
      expect(events).toEqual(['ADDED kube-root-ca.crt', 'ADDED live', 'MODIFIED live', 'DELETED live'])
      const modified = (jsonDocuments(out) as (Event & { object: { data: Record<string, string> } })[]).find(
        (e) => e.type === 'MODIFIED',
      )
      expect(modified?.object.data).toEqual({ a: '2' })
    } finally {
      child.kill()
    }
  })

  it('applies server-side, then client-side, and deletes what it applied', async () => {
    const file = join(dir, 'app.yaml')
    const manifest = (color: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: applied
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: applied
data:
  color: ${color}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: applied
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 8080
`
    writeFileSync(file, manifest('blue'))
    const ssa = await kubectl(admin, ['apply', '--server-side', '-f', file])
    expect(ssa.code, ssa.stderr).toBe(0)
    expect(ssa.stdout).toBe(
      'namespace/applied serverside-applied\nconfigmap/settings serverside-applied\ndeployment.apps/web serverside-applied\n',
    )
    // --raw rather than --show-managed-fields, which kubectl 1.20 lacks.
    const got = await kubectl(admin, ['get', '--raw', '/apis/apps/v1/namespaces/applied/deployments/web'])
    const dep = JSON.parse(got.stdout) as {
      metadata: {
        generation: number
        managedFields: { manager: string; operation: string; fieldsV1: Record<string, unknown> }[]
      }
      spec: { strategy: unknown }
    }
    expect(dep.metadata.generation).toBe(1)
    expect(dep.metadata.managedFields.map((m) => `${m.manager}/${m.operation}`)).toEqual(['kubectl/Apply'])
    expect(JSON.stringify(dep.metadata.managedFields[0]!.fieldsV1)).toContain('"k:{\\"name\\":\\"web\\"}"')
    expect(dep.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
    })
    // Another manager's apply of a field kubectl owns with another value is a conflict.
    writeFileSync(
      join(dir, 'other.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: applied\ndata:\n  color: red\n',
    )
    const clash = await kubectl(admin, [
      'apply',
      '--server-side',
      '--field-manager=other',
      '-f',
      join(dir, 'other.yaml'),
    ])
    expect(clash.code).toBe(1)
    expect(clash.stderr).toMatch(
      /^error: Apply failed with 1 conflict: conflict with "kubectl": \.data\.color\n/,
    )
    // Client-side apply of the same objects (kubectl computes a patch against the last-applied annotation).
    writeFileSync(file, manifest('green'))
    const csa = await kubectl(admin, ['apply', '-f', file])
    expect(csa.code, csa.stderr).toBe(0)
    expect(csa.stdout).toMatch(/configmap\/settings configured/)
    const cm = await kubectl(admin, [
      'get',
      'configmap',
      'settings',
      '-n',
      'applied',
      '-o',
      'jsonpath={.data.color}',
    ])
    expect(cm.stdout).toBe('green')
    // The namespace goes first and stays Terminating while kubectl deletes the rest, as in a cluster.
    const del = await kubectl(admin, ['delete', '-f', file])
    expect(del.code, del.stderr).toBe(0)
    expect(del.stdout).toBe(
      'namespace "applied" deleted\nconfigmap "settings" deleted\ndeployment.apps "web" deleted\n',
    )
    const gone = await kubectl(admin, ['get', 'configmap', 'settings', '-n', 'applied'])
    expect(gone.code).toBe(1)
    // kubectl 1.32 says the namespace is missing once it is gone; until then the ConfigMap is.
    expect(gone.stderr).toMatch(
      /^Error from server \(NotFound\): (configmaps "settings"|namespaces "applied") not found\n$/,
    )
    const deadline = Date.now() + 10_000
    let ns = await kubectl(admin, ['get', 'namespace', 'applied'])
    while (ns.code === 0 && Date.now() < deadline) ns = await kubectl(admin, ['get', 'namespace', 'applied'])
    expect(ns.stderr).toBe('Error from server (NotFound): namespaces "applied" not found\n')
  }, 60_000)

  it('creates typed objects (protobuf bodies) and scales a deployment', async () => {
    for (const args of [
      ['create', 'namespace', 'typed'],
      ['create', 'configmap', 'c', '-n', 'typed', '--from-literal=k=v'],
      ['create', 'secret', 'generic', 's', '-n', 'typed', '--from-literal=k=v'],
      ['create', 'serviceaccount', 'bot', '-n', 'typed'],
      ['create', 'role', 'reader', '-n', 'typed', '--verb=get', '--resource=pods'],
      ['create', 'rolebinding', 'reader', '-n', 'typed', '--role=reader', '--serviceaccount=typed:bot'],
    ]) {
      const r = await kubectl(admin, args)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
    }
    const secret = await kubectl(admin, [
      'get',
      'secret',
      's',
      '-n',
      'typed',
      '-o',
      'jsonpath={.type} {.data.k}',
    ])
    expect(secret.stdout).toBe(`Opaque ${Buffer.from('v').toString('base64')}`)
    // kubectl scale goes through the deployments/scale subresource.
    const deployment =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: typed}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx:1.27}]}\n'
    expect((await kubectl(admin, ['apply', '-f', '-'], deployment)).code).toBe(0)
    const scaled = await kubectl(admin, ['scale', 'deployment', 'web', '-n', 'typed', '--replicas=3'])
    expect(scaled.code, scaled.stderr).toBe(0)
    expect(scaled.stdout).toBe('deployment.apps/web scaled\n')
    const replicas = await kubectl(admin, [
      'get',
      'deployment',
      'web',
      '-n',
      'typed',
      '-o',
      'jsonpath={.spec.replicas} {.metadata.generation}',
    ])
    expect(replicas.stdout).toBe('3 2')
  })

  it('is denied by RBAC with the API server message, and says what a user may do', async () => {
    const denied = await kubectl(viewer, ['get', 'secrets', '-n', 'team-a'])
    expect(denied.code).toBe(1)
    expect(denied.stderr).toBe(
      'Error from server (Forbidden): secrets is forbidden: User "viewer" cannot list resource "secrets" in API group "" in the namespace "team-a"\n',
    )
    const elsewhere = await kubectl(viewer, ['get', 'pods', '-n', 'team-b'])
    expect(elsewhere.stderr).toBe(
      'Error from server (Forbidden): pods is forbidden: User "viewer" cannot list resource "pods" in API group "" in the namespace "team-b"\n',
    )
    const allowed = await kubectl(viewer, ['get', 'pods', '-n', 'team-a'])
    expect(allowed.code, allowed.stderr).toBe(0)
    expect((await kubectl(viewer, ['auth', 'can-i', 'list', 'pods', '-n', 'team-a'])).stdout).toBe('yes\n')
    const no = await kubectl(viewer, ['auth', 'can-i', 'delete', 'pods', '-n', 'team-a'])
    expect(no.code).toBe(1)
    expect(no.stdout).toBe('no\n')
  })
})
