/**
 * `plimsoll watch` against the local control plane (an HTTPS Kubernetes API: discovery, paged lists,
 * watches with bookmarks, 410s, RBAC): the first sync, changes reflected in the store, a CRD added while
 * running, compaction (410 on a watch and on a continue token), a dropped connection, a kind the
 * watcher may not read, a namespace relabelled under a namespaceSelector policy; and the findings
 * exactly those of `plimsoll scan` over the same objects written as YAML, and those of the admission
 * webhook's decision for each object (three doors, one verdict).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { dump, loadAll } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Backoff } from '../../src/cluster/backoff.js'
import { ApiClient, loadKubeConfig } from '../../src/cluster/client.js'
import { type RunningWatcher, startWatcher } from '../../src/cluster/run.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { kindInfo, parseApiVersion } from '../../src/policy/admission/resources.js'
import { Engine, LATEST_VERSION } from '../../src/policy/engine.js'
import { type Library, loadLibrary } from '../../src/policy/library.js'
import { type Finding, scan } from '../../src/scan/scan.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { decideValidation } from '../../src/webhook/decide.js'
import { defaultEnforcement } from '../../src/webhook/enforcement.js'
import { BIN } from '../helpers/cli.js'
import { create, deployment, kube, patch, remove } from '../helpers/kube.js'
import { prodNeedsOwnerPolicy } from '../helpers/policies.js'
import { until } from '../helpers/until.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-watch-'))
const execFileAsync = promisify(execFile)
const library = loadLibrary({})

const service = (name: string, namespace: string, selector: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: { selector, ports: [{ port: 80 }] },
})

interface Session {
  running: RunningWatcher
  store: Store
  logs: string[]
  target: string
}

async function watch(
  cp: ControlPlane,
  name: string,
  options: { user?: string; lib?: Library } = {},
): Promise<Session> {
  const kubeconfig = cp.kubeconfig(
    join(tmp, `${name}.kubeconfig`),
    options.user ? { user: options.user } : undefined,
  )
  const store = await openStore(join(tmp, `${name}.db`))
  const logs: string[] = []
  const running = startWatcher({
    client: new ApiClient(loadKubeConfig({ kubeconfig })),
    library: options.lib ?? library,
    version: LATEST_VERSION,
    target: name,
    fileRules: [],
    store,
    log: (line) => logs.push(line),
  })
  await running.synced
  return { running, store, logs, target: name }
}

async function stop(s: Session | undefined) {
  if (!s) return
  await s.running.stop()
  await s.store.close()
}

/** The target's findings in the store that are not resolved, as `check kind ns/name path`. */
async function stored(s: Session, where: { name?: string; check?: string } = {}): Promise<string[]> {
  let q = s.store.db
    .selectFrom('findings')
    .select(['check_id', 'kind', 'namespace', 'resource_name', 'path', 'state'])
    .where('target', '=', s.target)
    .where('state', '<>', 'resolved')
  if (where.name) q = q.where('resource_name', '=', where.name)
  if (where.check) q = q.where('check_id', '=', where.check)
  const rows = await q.execute()
  return rows.map((r) => `${r.check_id} ${r.kind} ${r.namespace}/${r.resource_name} ${r.path}`).sort()
}

function essence(f: Finding): string {
  return `${f.checkId} ${f.resource.kind} ${f.resource.namespace ?? ''}/${f.resource.name} ${f.path}`
}

let cp: ControlPlane
let main: Session | undefined

beforeAll(async () => {
  cp = await startControlPlane()
  cp.load([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'shop' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops' } },
    deployment('web', 'shop', true),
    deployment('api', 'shop', false),
    service('web', 'shop', { app: 'web' }),
    service('ghost', 'shop', { app: 'nothing-has-this' }),
    deployment('agent', 'ops', false),
    service('orphan', 'ops', { app: 'gone' }),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'shop' },
      data: { a: 'b' },
    },
  ])
  main = await watch(cp, 'main')
}, 60_000)

afterAll(async () => {
  await stop(main)
  await cp?.stop()
})

describe('plimsoll watch against the local control plane', () => {
  it('syncs: the store holds exactly the findings scan gives for the same objects written as YAML', async () => {
    const s = main!
    const health = s.running.watcher.health()
    expect(health.synced).toBe(true)
    const evaluated = health.kinds.filter((k) => k.mode === 'evaluate')
    expect(evaluated.map((k) => k.kind)).toEqual(
      expect.arrayContaining(['Deployment', 'Service', 'Namespace']),
    )
    // Events, Leases, EndpointSlices: no policy reads them, they are never fetched.
    expect(health.kinds.map((k) => k.kind)).not.toContain('Event')

    // The same objects, as the API serves them, written as YAML and scanned.
    const documents: unknown[] = []
    for (const k of evaluated) {
      const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`
      const list = await kube(cp, 'GET', `${base}/${k.resource}`)
      for (const item of list.body.items as Record<string, unknown>[])
        documents.push({ apiVersion: k.group ? `${k.group}/${k.version}` : k.version, kind: k.kind, ...item })
    }
    const file = join(tmp, 'cluster.yaml')
    writeFileSync(file, documents.map((d) => dump(d, { noRefs: true })).join('---\n'))
    const report = await scan({ inputs: [file], library, jobs: 1, showExcepted: true })
    expect(report.errors).toEqual([])
    const fromScan = [...new Set(report.findings.map(essence))].sort()
    expect(fromScan.length).toBeGreaterThan(10)
    expect(await stored(s)).toEqual(fromScan)

    // The third door: each object sent to the admission webhook's decision, everything audited. It
    // sees one object at a time, as an API server sends them: no cross-resource check runs there.
    const engine = new Engine(
      library.checks,
      library.podTemplates,
      { version: LATEST_VERSION },
      library.foreign,
    )
    const audit = {
      ...defaultEnforcement(),
      defaultMode: 'audit' as const,
      exemptions: { usernames: [], namespaces: [], runtimeClasses: [] },
    }
    const fromWebhook = new Set<string>()
    for (const d of documents as Record<string, unknown>[]) {
      const { group, version } = parseApiVersion(String(d.apiVersion))
      const meta = d.metadata as { name: string; namespace?: string }
      const { decided } = decideValidation(
        { engine, enforcement: audit },
        {
          uid: `review-${fromWebhook.size}`,
          kind: { group, version, kind: String(d.kind) },
          resource: {
            group,
            version,
            resource: kindInfo(group, String(d.kind), meta.namespace !== undefined).resource,
          },
          subResource: '',
          name: meta.name,
          namespace: d.kind === 'Namespace' ? meta.name : (meta.namespace ?? ''),
          operation: 'CREATE',
          userInfo: { username: 'kube-admin', groups: ['system:masters'] },
          object: d,
          oldObject: null,
          dryRun: false,
          options: null,
          raw: {},
        },
      )
      for (const { finding } of decided) fromWebhook.add(essence(finding))
    }
    const cross = new Set(library.checks.filter((c) => c.crossResource).map((c) => c.metadata.id))
    expect([...fromWebhook].sort()).toEqual(fromScan.filter((e) => !cross.has(e.split(' ')[0]!)))
    const run = await s.store.db
      .selectFrom('runs')
      .selectAll()
      .where('target', '=', 'main')
      .executeTakeFirstOrThrow()
    expect(run.source).toBe('cluster')
    expect(Number(run.complete)).toBe(1)
  })

  it('reflects a create, an update and a delete within a second', async () => {
    const s = main!
    const bad = deployment('intruder', 'shop', true)
    let t = Date.now()
    await create(cp, bad)
    await until(
      'the new finding',
      async () => (await stored(s, { name: 'intruder', check: 'pss-privileged' })).length === 1 || undefined,
    )
    expect(Date.now() - t).toBeLessThan(1000)

    t = Date.now()
    await patch(cp, bad, {
      spec: {
        template: {
          spec: {
            containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged: false } }],
          },
        },
      },
    })
    await until(
      'the fix resolved',
      async () => (await stored(s, { name: 'intruder', check: 'pss-privileged' })).length === 0 || undefined,
    )
    expect(Date.now() - t).toBeLessThan(1000)

    await remove(cp, bad)
    await until(
      'every finding of the deleted object resolved',
      async () => (await stored(s, { name: 'intruder' })).length === 0 || undefined,
    )
    expect(s.logs.some((l) => l.includes('pss-privileged Deployment shop/intruder'))).toBe(true)
  })

  it('picks up a CRD added while running: its custom resources count for cross-resource checks', async () => {
    const s = main!
    // ops holds a workload and a Service that selects none of it: the finding stands...
    expect(await stored(s, { name: 'orphan', check: 'service-selects-nothing' })).toHaveLength(1)
    await create(cp, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    })
    await until(
      'the new kind watched',
      () =>
        s.running.watcher.health().kinds.some((k) => k.kind === 'Widget' && k.state === 'watching') ||
        undefined,
    )
    // ...until a custom resource there may be making pods of its own: then it cannot be judged.
    await until(
      'the Widget kind served',
      async () => (await kube(cp, 'GET', '/apis/example.com/v1/widgets')).status === 200 || undefined,
    )
    await create(cp, {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'ops' },
      spec: {},
    })
    await until(
      'the verdict withdrawn',
      async () =>
        (await stored(s, { name: 'orphan', check: 'service-selects-nothing' })).length === 0 || undefined,
    )
  })

  it('re-lists after a 410 on a watch, and after a dropped connection misses nothing', async () => {
    const s = main!
    const lists = () => s.running.watcher.health().kinds.find((k) => k.kind === 'Deployment')!.lists
    const before = lists()
    // A change nobody sees (the watches are cut), then history compacted past it: the watches come
    // back with an old resourceVersion, get 410 Gone, and list again.
    cp.dropWatches()
    await create(cp, deployment('during-gap', 'shop', true))
    cp.compact()
    await until(
      'the gap change seen',
      async () =>
        (await stored(s, { name: 'during-gap', check: 'pss-privileged' })).length === 1 || undefined,
    )
    await until('a re-list', () => lists() > before || undefined)

    // A dropped connection alone: the watch resumes from its resourceVersion, nothing re-listed.
    const relisted = lists()
    cp.dropWatches()
    await remove(cp, deployment('during-gap', 'shop', true))
    await until(
      'the delete seen',
      async () => (await stored(s, { name: 'during-gap' })).length === 0 || undefined,
    )
    expect(lists()).toBe(relisted)
  })

  it('lists again from the start when a continue token expires mid-list', async () => {
    // Compact the history just as the watcher asks for a list's second page.
    let compacted = false
    cp.hooks.push({
      onRequest(req) {
        if (!compacted && req.url.includes('/configmaps') && req.url.includes('continue=')) {
          compacted = true
          cp.compact()
        }
        return undefined
      },
    })
    for (let i = 0; i < 5; i++)
      cp.load([
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i}`, namespace: 'ops' },
          data: { i: String(i) },
        },
      ])
    const kubeconfig = cp.kubeconfig(join(tmp, 'paged.kubeconfig'))
    const store = await openStore(join(tmp, 'paged.db'))
    const running = startWatcher({
      client: new ApiClient(loadKubeConfig({ kubeconfig })),
      library,
      version: LATEST_VERSION,
      target: 'paged',
      fileRules: [],
      store,
      log: () => {},
      // Two items a page: the configmaps take several pages.
      reflector: { pageSize: 2 },
    })
    try {
      const summary = await running.synced
      expect(compacted).toBe(true)
      expect(summary.refused).toEqual([])
      const configMaps = running.watcher.health().kinds.find((k) => k.kind === 'ConfigMap')
      expect(configMaps?.listed).toBeGreaterThanOrEqual(5)
    } finally {
      await running.stop()
      await store.close()
    }
  })

  it('reports a kind it may not read, and watches the rest', async () => {
    // Everything but Services: a second user whose rules leave them out.
    cp.user('no-services', {
      rules: [
        {
          apiGroups: [''],
          resources: [
            'pods',
            'podtemplates',
            'namespaces',
            'configmaps',
            'serviceaccounts',
            'secrets',
            'replicationcontrollers',
            'persistentvolumeclaims',
            'limitranges',
            'resourcequotas',
            'nodes',
          ],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: [
            'apps',
            'batch',
            'policy',
            'autoscaling',
            'networking.k8s.io',
            'rbac.authorization.k8s.io',
            'apiextensions.k8s.io',
            'admissionregistration.k8s.io',
            'example.com',
          ],
          resources: ['*'],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    })
    const s = await watch(cp, 'denied', { user: 'no-services' })
    try {
      const kinds = s.running.watcher.health().kinds
      expect(kinds.filter((k) => k.state === 'forbidden').map((k) => k.kind)).toEqual(['Service'])
      const services = kinds.find((k) => k.kind === 'Service')!
      expect(services.error).toMatch(
        /services is forbidden: User "no-services" cannot list resource "services"/,
      )
      expect(s.logs).toContainEqual(expect.stringMatching(/^cannot read Service: services is forbidden/))
      expect(await stored(s, { name: 'web', check: 'pss-privileged' })).toHaveLength(1)
      const run = await s.store.db
        .selectFrom('runs')
        .selectAll()
        .where('target', '=', 'denied')
        .executeTakeFirstOrThrow()
      expect(Number(run.complete)).toBe(0)
      expect(Number(run.errors)).toBe(1)
    } finally {
      await stop(s)
    }
  })

  it('prints the least-privilege RBAC for the kinds it reads (plimsoll watch rbac), which lets it watch', async () => {
    const kubeconfig = cp.kubeconfig(join(tmp, 'rbac.kubeconfig'))
    // Not spawnSync: the control plane answers from this process's event loop.
    const { stdout } = await execFileAsync(process.execPath, [
      BIN,
      'watch',
      'rbac',
      '--kubeconfig',
      kubeconfig,
    ])
    const [account, role, binding] = loadAll(stdout) as Record<string, unknown>[]
    expect([account?.kind, role?.kind, binding?.kind]).toEqual([
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
    ])
    const rules = role!.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]
    expect(rules.every((r) => r.verbs.join() === 'get,list,watch')).toBe(true)
    const core = rules.find((r) => r.apiGroups[0] === '')!
    expect(core.resources).toEqual(expect.arrayContaining(['pods', 'services', 'namespaces']))
    expect(core.resources).not.toContain('events')
    // A user with exactly these rules watches everything it needs: nothing refused.
    cp.user('least', { rules })
    const s = await watch(cp, 'least', { user: 'least' })
    try {
      expect(s.running.watcher.refusedKinds()).toEqual([])
      expect(await stored(s, { name: 'web', check: 'pss-privileged' })).toHaveLength(1)
    } finally {
      await stop(s)
    }
  })

  it('goes on without a kind that keeps failing, says so, and takes it in once it lists', async () => {
    // The API server fails every list of ConfigMaps (an aggregated API down would look the same).
    let failing = true
    cp.hooks.push({
      onRequest(req) {
        if (
          failing &&
          req.method === 'GET' &&
          /\/configmaps(\?|$)/.test(req.url) &&
          !req.url.includes('watch=')
        )
          return { code: 500, reason: 'InternalError', message: 'etcd is having a bad day' }
        return undefined
      },
    })
    const kubeconfig = cp.kubeconfig(join(tmp, 'failing.kubeconfig'))
    const store = await openStore(join(tmp, 'failing.db'))
    const logs: string[] = []
    const running = startWatcher({
      client: new ApiClient(loadKubeConfig({ kubeconfig })),
      library,
      version: LATEST_VERSION,
      target: 'failing',
      fileRules: [],
      store,
      log: (line) => logs.push(line),
      syncTimeoutMs: 1500,
      reflector: { backoff: new Backoff({ initialMs: 100, maxMs: 200 }) },
    })
    try {
      const summary = await running.synced
      expect(summary.refused.map((r) => r.split(':')[0])).toEqual(['ConfigMap'])
      expect(logs.some((l) => l.startsWith('ConfigMap not listed yet'))).toBe(true)
      const run = await store.db
        .selectFrom('runs')
        .selectAll()
        .where('target', '=', 'failing')
        .executeTakeFirstOrThrow()
      expect(Number(run.complete)).toBe(0)
      expect(
        await stored({ running, store, logs, target: 'failing' }, { name: 'web', check: 'pss-privileged' }),
      ).toHaveLength(1)
      failing = false
      await until(
        'the ConfigMaps listed at last',
        () => running.watcher.health().kinds.find((k) => k.kind === 'ConfigMap')?.lastSync,
      )
    } finally {
      failing = false
      await running.stop()
      await store.close()
    }
  })

  it("evaluates a namespace's objects again when its labels change under a namespaceSelector policy", async () => {
    const policy = prodNeedsOwnerPolicy(tmp)
    const lib = loadLibrary({ builtin: false, policies: [policy] })
    const s = await watch(cp, 'labels', { lib })
    try {
      expect(await stored(s, { name: 'settings' })).toEqual([])
      await patch(
        cp,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
        { metadata: { labels: { env: 'prod' } } },
      )
      await until(
        'the policy applying',
        async () => (await stored(s, { name: 'settings' })).length === 1 || undefined,
      )
      await patch(
        cp,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
        { metadata: { labels: { env: null } } },
      )
      await until(
        'the policy no longer applying',
        async () => (await stored(s, { name: 'settings' })).length === 0 || undefined,
      )
    } finally {
      await stop(s)
    }
  })
})
