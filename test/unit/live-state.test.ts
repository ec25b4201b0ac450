/**
 * The watcher's live state, without a cluster: objects in, findings out. The same objects written as
 * YAML and scanned give the same findings; a change re-evaluates what it affects, and only that.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dump } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import { WORKLOAD_FILES } from '../../bench/lib/inputs.mjs'
import type { ApiResource } from '../../src/cluster/discovery.js'
import { selectKinds } from '../../src/cluster/kinds.js'
import { LiveState, type ObjectChange } from '../../src/cluster/live-state.js'
import { Engine, LATEST_VERSION } from '../../src/policy/engine.js'
import { type Library, loadLibrary } from '../../src/policy/library.js'
import { parseSource } from '../../src/resources/parse.js'
import { type Finding, scan } from '../../src/scan/scan.js'
import { corpusPath } from '../helpers/corpus.js'
import { prodNeedsOwnerPolicy } from '../helpers/policies.js'

const library: Library = loadLibrary({})
const engineOf = (lib: Library) =>
  new Engine(lib.checks, lib.podTemplates, { version: LATEST_VERSION }, lib.foreign)

/** The API resource a kind is served as (plural by the usual rule: enough for these kinds). */
function served(apiVersion: string, kind: string, namespaced = true): ApiResource {
  const slash = apiVersion.indexOf('/')
  const group = slash < 0 ? '' : apiVersion.slice(0, slash)
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1)
  const plural = `${kind.toLowerCase()}${kind.endsWith('s') ? 'es' : kind.endsWith('y') ? '' : 's'}`
  return {
    group,
    version,
    kind,
    resource: plural,
    namespaced,
    path: `${group ? `/apis/${group}/${version}` : '/api/v1'}/${plural}`,
    custom: false,
  }
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'])

/** A LiveState fed like the watcher feeds it: only the kinds selectKinds picks, each with its mode. */
function liveStateOf(engine: Engine, objects: Record<string, unknown>[]) {
  const state = new LiveState(engine, { target: 'test' })
  const resources = new Map<string, ApiResource>()
  for (const o of objects) {
    const key = `${o.apiVersion}/${o.kind}`
    if (!resources.has(key))
      resources.set(key, served(String(o.apiVersion), String(o.kind), !CLUSTER_SCOPED.has(String(o.kind))))
  }
  const modes = new Map(selectKinds(engine, [...resources.values()]).map((w) => [w.resource, w.mode]))
  const feed = (o: Record<string, unknown>, how: 'upsert' | 'delete' = 'upsert') => {
    const resource = resources.get(`${o.apiVersion}/${o.kind}`)!
    const mode = modes.get(resource)
    if (!mode) return
    if (how === 'delete') state.delete(resource, structuredClone(o))
    else state.upsert(resource, structuredClone(o), mode)
  }
  for (const o of objects) feed(o)
  return { state, feed, modes }
}

/** What identifies a finding and what it says, without where (files differ: a cluster is not a file). */
function essence(f: Finding): string {
  const r = f.resource
  return [
    f.checkId,
    r.kind,
    r.namespace ?? '',
    r.name,
    f.container?.name ?? '',
    f.path,
    f.severity,
    f.message,
    f.excepted ? 'excepted' : '',
  ].join(' | ')
}

/** The findings the changes opened or changed. */
function findingsOf(changes: readonly ObjectChange[]): string[] {
  return changes.flatMap((c) => [...c.opened, ...c.updated].map(essence)).sort()
}

const resolvedChecks = (changes: readonly ObjectChange[]) =>
  changes.flatMap((c) => c.resolved.map((m) => m.checkId))

function corpusObjects(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  WORKLOAD_FILES.forEach((file, i) => {
    const path = corpusPath('real-manifests', file)
    for (const r of parseSource(path, readFileSync(path, 'utf8')).resources) {
      const o = structuredClone(r.object)
      const meta = (o.metadata ?? {}) as Record<string, unknown>
      o.metadata = meta
      // A cluster puts every namespaced object in a namespace; each app gets its own, as kubectl -n would
      // (two of them define a Deployment 'frontend').
      if (!CLUSTER_SCOPED.has(String(o.kind)) && meta.namespace === undefined) meta.namespace = `app-${i}`
      out.push(o)
    }
  })
  return out
}

describe('LiveState', () => {
  it('finds exactly what scan finds in the same objects written as YAML', async () => {
    const engine = engineOf(library)
    const objects = corpusObjects()
    const { state, modes } = liveStateOf(engine, objects)
    const live = findingsOf(state.evaluateDirty())
    expect(live.length).toBeGreaterThan(100)

    // The objects the watcher keeps, as one YAML file.
    const kept = new Set(
      [...modes.keys()].map((r) => `${r.group ? `${r.group}/` : ''}${r.version}/${r.kind}`),
    )
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-live-'))
    const file = join(dir, 'cluster.yaml')
    writeFileSync(
      file,
      objects
        .filter((o) => kept.has(`${o.apiVersion}/${o.kind}`))
        .map((o) => dump(o))
        .join('---\n'),
    )
    const report = await scan({ inputs: [file], library, jobs: 1, showExcepted: true })
    expect(report.errors).toEqual([])
    expect(live).toEqual(report.findings.map(essence).sort())
    // And the sums a run records agree with the scan's.
    expect(state.totals.findings).toBe(report.summary.findings)
    expect(state.totals.passed).toBe(report.summary.passed)
    expect(state.totals.checkStats).toEqual(report.checkStats)
    expect(state.totals.namespaceStats).toEqual(report.namespaceStats)
  })

  it('resolves a fixed object, and says so when one is deleted', () => {
    const engine = engineOf(library)
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns' },
      spec: { containers: [{ name: 'c', image: 'nginx:1.27', securityContext: { privileged: true } }] },
      status: { phase: 'Running', podIP: '10.0.0.1' },
    }
    const { state, feed } = liveStateOf(engine, [pod])
    const first = state.evaluateDirty()
    expect(findingsOf(first).some((f) => f.startsWith('pss-privileged'))).toBe(true)

    // Unchanged (a status update, a new resourceVersion): nothing to evaluate.
    feed({
      ...pod,
      metadata: { ...pod.metadata, resourceVersion: '99' },
      status: { phase: 'Running', podIP: '10.0.0.2' },
    })
    expect(state.evaluateDirty()).toEqual([])

    const fixed = structuredClone(pod)
    fixed.spec.containers[0]!.securityContext.privileged = false
    feed(fixed)
    const second = state.evaluateDirty()
    expect(second).toHaveLength(1)
    // Only what changed: the privileged finding resolved; what was hidden behind it (a privileged
    // container keeps every capability anyway) opened; nothing it still has is written again.
    expect(resolvedChecks(second)).toEqual(['pss-privileged'])
    const before = new Set(findingsOf(first))
    expect(findingsOf(second).filter((f) => before.has(f))).toEqual([])

    feed(fixed, 'delete')
    const third = state.evaluateDirty()
    expect(third).toEqual([expect.objectContaining({ gone: true, opened: [], updated: [] })])
    expect(resolvedChecks(third).length).toBe(findingsOf(first).length - 1 + findingsOf(second).length)
    expect(state.totals.resources).toBe(0)
    expect(state.totals.findings).toBe(0)
    expect(state.totals.checkStats).toEqual({})
  })

  it('evaluates a Service again when a workload its selector needs appears, and nothing else', () => {
    const engine = engineOf(library)
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    }
    const other = {
      ...svc,
      metadata: { name: 'db', namespace: 'other' },
      spec: { selector: { app: 'db' }, ports: [{ port: 5432 }] },
    }
    // Each namespace holds a workload the Services do not select: their verdicts can be judged.
    const deployment = (name: string, namespace: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name, image: 'nginx:1.27' }] },
        },
      },
    })
    const { state, feed } = liveStateOf(engine, [
      svc,
      other,
      deployment('api', 'shop'),
      deployment('api', 'other'),
    ])
    const first = findingsOf(state.evaluateDirty())
    expect(first.filter((f) => f.startsWith('service-selects-nothing'))).toHaveLength(2)

    feed(deployment('web', 'shop'))
    const changes = state.evaluateDirty()
    const names = changes.map((c) => `${c.resource.kind}/${c.resource.namespace}/${c.resource.name}`).sort()
    // The Deployment itself and the cross-resource subjects of its namespace; nothing of another one.
    expect(names).toContain('Deployment/shop/web')
    expect(names).toContain('Service/shop/web')
    expect(names.filter((n) => n.includes('/other/'))).toEqual([])
    const svcChange = changes.find((c) => c.resource.kind === 'Service')!
    expect(svcChange.resolved.map((m) => m.checkId)).toContain('service-selects-nothing')
  })

  it("evaluates a namespace's objects again when its labels change under a namespaceSelector policy", () => {
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-nssel-'))
    const policy = prodNeedsOwnerPolicy(dir)
    const lib = loadLibrary({ builtin: false, policies: [policy] })
    expect(lib.policyErrors).toEqual([])
    const engine = engineOf(lib)
    expect(engine.readsNamespaceLabels).toBe(true)
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { env: 'dev' } } }
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'shop' },
      data: { a: 'b' },
    }
    const { state, feed } = liveStateOf(engine, [ns, cm])
    expect(findingsOf(state.evaluateDirty())).toEqual([])

    feed({ ...ns, metadata: { name: 'shop', labels: { env: 'prod' } } })
    const changes = state.evaluateDirty()
    expect(findingsOf(changes)).toEqual([
      expect.stringMatching(/^prod-needs-owner:owner-label \| ConfigMap \| shop \| settings \|/),
    ])
  })

  it('keeps no Secret value, not even in memory', () => {
    const engine = engineOf(library)
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'ns' },
      data: { password: 'aHVudGVyMg==' },
    }
    const resource = served('v1', 'Secret')
    const state = new LiveState(engine, { target: 't' })
    state.upsert(resource, structuredClone(secret), 'evaluate')
    const kept = [...state.objectsIn('ns')]
    expect(kept).toHaveLength(1)
    expect(kept[0]!.json).not.toContain('aHVudGVyMg')
    expect(JSON.parse(kept[0]!.json).data.password).toBe('')
  })
})
