/**
 * @kubernetes/client-node 1.4 (what Plimsoll's cluster code uses) against the local control plane,
 * with client-certificate and bearer-token kubeconfigs: paged lists with limit/continue, a raw Watch,
 * and an informer (ListWatch) that lists, follows ADDED/MODIFIED/DELETED, survives a dropped
 * connection by watching on from its resourceVersion, and re-lists after a 410 Gone.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  makeInformer,
  type V1ConfigMap,
  Watch,
} from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateObjects } from '../../src/control-plane/seed-objects.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'

let cp: ControlPlane
let byCert: KubeConfig
let byToken: KubeConfig

function load(path: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromFile(path)
  return kc
}

async function waitFor(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const configMap = (namespace: string, name: string, data: Record<string, string>): V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
})

beforeAll(async () => {
  cp = await startControlPlane()
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-cp-client-node-'))
  cp.user('reader', {
    rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods', 'configmaps'] }],
  })
  byCert = load(cp.kubeconfig(join(dir, 'cert.kubeconfig')))
  byToken = load(cp.kubeconfig(join(dir, 'token.kubeconfig'), { user: 'reader', auth: 'token' }))
  cp.load(generateObjects(400, 3))
})

afterAll(async () => {
  await cp?.stop()
})

describe('client-node against the local control plane', () => {
  for (const [auth, kc] of [
    ['client certificate', () => byCert],
    ['bearer token', () => byToken],
  ] as const) {
    it(`pages listNamespacedPod with limit and continue (${auth})`, async () => {
      const core = kc().makeApiClient(CoreV1Api)
      const all = await core.listPodForAllNamespaces()
      const namespace = all.items[0]!.metadata!.namespace!
      const expected = all.items
        .filter((p) => p.metadata?.namespace === namespace)
        .map((p) => p.metadata!.name!)
      expect(expected.length).toBeGreaterThan(6)
      const names: string[] = []
      const remaining: number[] = []
      let cont: string | undefined
      let pages = 0
      do {
        const page = await core.listNamespacedPod({
          namespace,
          limit: 3,
          ...(cont ? { _continue: cont } : {}),
        })
        names.push(...page.items.map((p) => p.metadata!.name!))
        if (page.metadata?.remainingItemCount !== undefined) remaining.push(page.metadata.remainingItemCount)
        cont = page.metadata?._continue
        pages++
      } while (cont)
      expect(names).toEqual([...expected].sort())
      expect(pages).toBe(Math.ceil(expected.length / 3))
      expect(remaining[0]).toBe(expected.length - 3)
      // Items decode into typed objects with their status (the kind and apiVersion are on the list).
      const one = (await core.listNamespacedPod({ namespace, limit: 1 })).items[0]!
      expect(one.status?.phase).toBe('Running')
      expect(one.metadata?.managedFields?.map((m) => m.manager)).toEqual([
        'kube-controller-manager',
        'kubelet',
      ])
    })
  }

  it('is refused what RBAC does not allow (403 with the server message)', async () => {
    const core = byToken.makeApiClient(CoreV1Api)
    const err = await core.listSecretForAllNamespaces().then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: string },
    )
    expect(err?.code).toBe(403)
    expect(JSON.parse(err?.body ?? '{}').message).toBe(
      'secrets is forbidden: User "reader" cannot list resource "secrets" in API group "" at the cluster scope',
    )
  })

  it('watches: ADDED, MODIFIED, DELETED and BOOKMARK events, in order, from a resourceVersion', async () => {
    const core = byCert.makeApiClient(CoreV1Api)
    await core.createNamespace({ body: { metadata: { name: 'watched' } } })
    const list = await core.listNamespacedConfigMap({ namespace: 'watched' })
    const seen: string[] = []
    const bookmarks: string[] = []
    let ended: unknown = 'open'
    const controller = await new Watch(byCert).watch(
      '/api/v1/namespaces/watched/configmaps',
      { resourceVersion: list.metadata!.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 3 },
      (type: string, obj: KubernetesObject) => {
        if (type === 'BOOKMARK') bookmarks.push(obj.metadata!.resourceVersion!)
        else seen.push(`${type} ${obj.metadata!.name} ${(obj as V1ConfigMap).data?.v ?? ''}`.trim())
      },
      (err: unknown) => {
        ended = err
      },
    )
    await core.createNamespacedConfigMap({
      namespace: 'watched',
      body: configMap('watched', 'one', { v: '1' }),
    })
    await core.replaceNamespacedConfigMap({
      namespace: 'watched',
      name: 'one',
      body: configMap('watched', 'one', { v: '2' }),
    })
    await core.deleteNamespacedConfigMap({ namespace: 'watched', name: 'one' })
    await waitFor('the three events', () => seen.length === 3)
    expect(seen).toEqual(['ADDED one 1', 'MODIFIED one 2', 'DELETED one 2'])
    // The stream ends normally at timeoutSeconds, after a BOOKMARK 2 s before.
    await waitFor('the end of the stream', () => ended !== 'open')
    expect(ended).toBeNull()
    expect(bookmarks).toEqual([String(cp.revision)])
    controller.abort()
  })

  it('informer: initial list, add/update/delete, a dropped connection resumes, a 410 makes it re-list', async () => {
    const core = byCert.makeApiClient(CoreV1Api)
    await core.createNamespace({ body: { metadata: { name: 'informed' } } })
    await core.createNamespacedConfigMap({
      namespace: 'informed',
      body: configMap('informed', 'before', { v: '0' }),
    })
    let lists = 0
    const informer = makeInformer(byCert, '/api/v1/namespaces/informed/configmaps', () => {
      lists++
      return core.listNamespacedConfigMap({ namespace: 'informed' })
    })
    const log: string[] = []
    const errors: unknown[] = []
    informer.on('add', (o) => log.push(`add ${o.metadata!.name}`))
    informer.on('update', (o) => log.push(`update ${o.metadata!.name} ${o.data?.v}`))
    informer.on('delete', (o) => log.push(`delete ${o.metadata!.name}`))
    // client-node stops on a watch error; like an operator, restart it (it resumes from its resourceVersion).
    informer.on('error', (e) => {
      errors.push(e)
      setTimeout(() => void informer.start(), 50)
    })
    await informer.start()
    const names = () =>
      informer
        .list()
        .map((o) => o.metadata!.name)
        .sort()
    await waitFor('the initial list', () => names().length === 2)
    expect(names()).toEqual(['before', 'kube-root-ca.crt'])
    expect(lists).toBe(1)

    await core.createNamespacedConfigMap({
      namespace: 'informed',
      body: configMap('informed', 'live', { v: '1' }),
    })
    await core.replaceNamespacedConfigMap({
      namespace: 'informed',
      name: 'live',
      body: configMap('informed', 'live', { v: '2' }),
    })
    await core.deleteNamespacedConfigMap({ namespace: 'informed', name: 'before' })
    await waitFor('the changes', () => log.includes('delete before'))
    expect(log.slice(-3)).toEqual(['add live', 'update live 2', 'delete before'])

    // A dropped connection: the informer watches again from its resourceVersion, without a list,
    // and gets what changed meanwhile.
    // (cp.load writes synchronously, so the change lands before the informer can reconnect.)
    expect(cp.dropWatches()).toBe(1)
    cp.load([configMap('informed', 'during-drop', { v: '1' }) as Record<string, unknown>])
    await waitFor('the change made while dropped', () => log.includes('add during-drop'))
    expect(lists).toBe(1)

    // History compacted past the informer's resourceVersion: the watch answers 410 Gone (an ERROR
    // event), and the informer lists again, finding what it missed.
    await waitFor('the watch to be back', () => cp.dropWatches() === 1, 5000)
    cp.load([configMap('informed', 'while-gone', { v: '1' }) as Record<string, unknown>])
    cp.compact()
    await waitFor('the re-list', () => lists === 2)
    await waitFor('the missed object', () => names().includes('while-gone'))
    expect(names()).toEqual(['during-drop', 'kube-root-ca.crt', 'live', 'while-gone'])

    // And it keeps following.
    await core.deleteNamespacedConfigMap({ namespace: 'informed', name: 'live' })
    await waitFor('the last delete', () => log.at(-1) === 'delete live')
    await informer.stop()
  })
})
