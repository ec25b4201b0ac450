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
import {
  defaultOptions,
  type InstallOptions,
  installObjects,
  TOPOLOGIES,
  type Topology,
} from '../../src/install/topology.js'
import { loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'
import { byIdentity } from '../helpers/k8s-objects.js'

const library = loadLibrary()
const options = defaultOptions()
const KUBECTL = '/usr/bin/kubectl'
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

type Obj = Record<string, unknown>

/** Each topology with the defaults, and the variants that change its shape. */
const VARIANTS: [string, Topology, InstallOptions][] = [
  ...TOPOLOGIES.map((t): [string, Topology, InstallOptions] => [t, t, options]),
  ['all-in-one on PostgreSQL', 'all-in-one', { ...options, postgresSecret: 'plimsoll-db' }],
  ['agent, one replica', 'agent', { ...options, replicas: 1 }],
]

describe.each(VARIANTS)('plimsoll install --topology %s', (_label, topology, variant) => {
  const objects = installObjects(topology, variant, library)

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
    expect(byIdentity(rendered)).toEqual(byIdentity(objects))
  })
})

describe('replicas that elect the one that watches', () => {
  const deploymentOf = (objects: Obj[]) =>
    objects.find((o) => o.kind === 'Deployment') as {
      metadata: { annotations?: Record<string, string> }
      spec: { replicas: number; template: { spec: { containers: { args: string[]; env: Obj[] }[] } } }
    }
  it.each([
    ['agent', options, 'plimsoll-agent'],
    ['all-in-one', { ...options, postgresSecret: 'plimsoll-db' }, 'plimsoll-watcher'],
  ] as const)('%s: --leader-elect with the Pod as identity, the Lease Role, a PDB', (topology, o, lease) => {
    const objects = installObjects(topology, o, library)
    const d = deploymentOf(objects)
    expect(d.spec.replicas).toBe(2)
    expect(d.metadata.annotations?.['plimsoll.dev/except.single-replica']).toBeUndefined()
    const [c] = d.spec.template.spec.containers
    const args = c!.args.join(' ')
    expect(args).toContain(
      `--leader-elect --lease-name ${lease} --lease-namespace plimsoll --identity $(POD_NAME)`,
    )
    expect(c!.env).toContainEqual({
      name: 'POD_NAME',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    })
    const role = objects.find((x) => x.kind === 'Role') as { metadata: { namespace: string }; rules: Obj[] }
    expect(role.metadata.namespace).toBe('plimsoll')
    expect(role.rules).toContainEqual({
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      resourceNames: [lease],
      verbs: ['get', 'update'],
    })
    expect(objects.some((x) => x.kind === 'RoleBinding')).toBe(true)
    expect(objects.some((x) => x.kind === 'PodDisruptionBudget')).toBe(true)
  })

  it('all-in-one on SQLite runs one replica and says why; so does one asked for', () => {
    for (const [topology, o] of [
      ['all-in-one', options],
      ['agent', { ...options, replicas: 1 }],
    ] as const) {
      const objects = installObjects(topology, o, library)
      const d = deploymentOf(objects)
      expect(d.spec.replicas).toBe(1)
      expect(d.metadata.annotations?.['plimsoll.dev/except.single-replica']).toMatch(/\w/)
      expect(d.spec.template.spec.containers[0]!.args).not.toContain('--leader-elect')
      expect(objects.some((x) => x.kind === 'Role' || x.kind === 'PodDisruptionBudget')).toBe(false)
    }
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
