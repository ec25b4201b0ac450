/**
 * `plimsoll install`: every topology's objects pass Plimsoll's own built-in library with nothing at or
 * above medium (issue 17, point 6); the Kustomize base, rendered by Debian's `kubectl kustomize`, gives
 * the same objects; the RBAC is least privilege; the CLI prints YAML and refuses an unknown topology.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadAll } from 'js-yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { toYamlStream, writeKustomizeBase } from '../../src/install/output.js'
import { defaultOptions, installObjects, TOPOLOGIES } from '../../src/install/topology.js'
import { loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'

const library = loadLibrary()
const options = defaultOptions()
const KUBECTL = '/usr/bin/kubectl'
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

type Obj = Record<string, unknown>
const key = (o: Obj) => {
  const m = o.metadata as { namespace?: string; name: string }
  return `${o.kind}/${m.namespace ?? ''}/${m.name}`
}
const sorted = (objects: Obj[]) => [...objects].sort((a, b) => key(a).localeCompare(key(b)))

describe.each(TOPOLOGIES)('plimsoll install --topology %s', (topology) => {
  const objects = installObjects(topology, options, library)

  it('has no finding at or above medium from the built-in library', async () => {
    const report = await scan({
      inputs: [],
      rendered: [{ name: `install-${topology}.yaml`, text: toYamlStream(objects) }],
      library,
      jobs: 1,
    })
    expect(report.errors).toEqual([])
    const serious = report.findings.filter((f) => ['medium', 'high', 'critical'].includes(f.severity))
    expect(serious.map((f) => `${f.severity} ${f.checkId}: ${f.message}`)).toEqual([])
    expect(report.summary.resources).toBe(objects.length)
  })

  it('runs its Pods at the Restricted Pod Security level, with probes and resources', () => {
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const pod = (d.spec as Obj).template as { spec: Obj }
      expect(pod.spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      })
      for (const c of pod.spec.containers as Obj[]) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        })
        expect(c.resources).toMatchObject({ requests: {}, limits: {} })
        if (topology !== 'agent') expect(c.readinessProbe).toBeDefined()
      }
    }
  })

  it('grants no wildcard and no Secret', () => {
    for (const role of objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      for (const rule of role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
        expect(rule.verbs).not.toContain('*')
        expect(rule.resources).not.toContain('*')
        expect(rule.apiGroups).not.toContain('*')
        expect(rule.resources).not.toContain('secrets')
      }
    }
  })

  it.skipIf(!existsSync(KUBECTL))('gives the same objects through kubectl kustomize', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-kustomize-'))
    dirs.push(dir)
    writeKustomizeBase(dir, objects)
    const built = spawnSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8' })
    expect(built.stderr).toBe('')
    expect(built.status).toBe(0)
    const rendered = loadAll(built.stdout) as Obj[]
    expect(sorted(rendered)).toEqual(sorted(JSON.parse(JSON.stringify(objects))))
  })
})

describe('the CLI', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/plimsoll.js', 'install', ...args], { encoding: 'utf8' })

  it('prints the objects as valid multi-document YAML', () => {
    const out = run('--topology', 'central', '--replicas', '3', '--namespace', 'guard')
    expect(out.status).toBe(0)
    const docs = loadAll(out.stdout) as Obj[]
    expect(docs.map((d) => d.kind)).toContain('PodDisruptionBudget')
    const deployment = docs.find((d) => d.kind === 'Deployment') as { spec: { replicas: number } }
    expect(deployment.spec.replicas).toBe(3)
    expect(
      docs.every(
        (d) =>
          d.kind === 'Namespace' ||
          (d.metadata as Obj).namespace === 'guard' ||
          !('namespace' in (d.metadata as Obj)),
      ),
    ).toBe(true)
  })

  it('exits 2 on an unknown topology, naming the topologies', () => {
    const out = run('--topology', 'everything')
    expect(out.status).toBe(2)
    expect(out.stderr).toContain(TOPOLOGIES.join(', '))
  })
})
