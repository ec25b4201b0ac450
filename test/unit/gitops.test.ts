/**
 * GitOps (issue 17, point 5): the Kustomize base committed under deploy/kustomize is what
 * `plimsoll install` writes; the configuration overlay (deploy/gitops/config) renders with Debian's
 * `kubectl kustomize` to the base plus a hashed ConfigMap the Deployment mounts, scans clean, and its
 * files are what Plimsoll reads: `plimsoll serve` starts with exactly the container's extra arguments.
 * Argo CD and Flux cannot run here: their objects are checked for what can go wrong on our side (the
 * paths they name exist, the Helm values they pass validate against the chart's schema).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Ajv from 'ajv'
import { load, loadAll } from 'js-yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { toYamlStream, writeKustomizeBase } from '../../src/install/output.js'
import { defaultOptions, installObjects } from '../../src/install/topology.js'
import { loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'
import { loadEnforcement } from '../../src/webhook/enforcement.js'
import { runAsync } from '../helpers/cli.js'
import { serve, stopped } from '../helpers/serve.js'

// biome-ignore lint/suspicious/noExplicitAny: rendered YAML, walked by the paths Kubernetes gives it
type Obj = Record<string, any>
const ROOT = resolve(import.meta.dirname, '..', '..')
const KUBECTL = '/usr/bin/kubectl'
const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-gitops-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const library = loadLibrary()

const filesOf = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir)
      .filter((f) => statSync(join(dir, f)).isFile())
      .sort()
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  )

function kustomize(dir: string): Obj[] {
  const built = spawnSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8' })
  expect(built.stderr).toBe('')
  expect(built.status).toBe(0)
  return loadAll(built.stdout) as Obj[]
}

describe('deploy/kustomize/all-in-one', () => {
  it('is what plimsoll install --kustomize writes today (regenerate it when this fails)', () => {
    const fresh = join(tmp, 'base')
    writeKustomizeBase(fresh, installObjects('all-in-one', defaultOptions(), library))
    expect(filesOf(join(ROOT, 'deploy/kustomize/all-in-one'))).toEqual(filesOf(fresh))
  })
})

describe('deploy/gitops/config: configuration as objects in Git', () => {
  const objects = kustomize(join(ROOT, 'deploy/gitops/config'))
  const configMap = objects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('plimsoll-config-'),
  )!
  const deployment = objects.find((o) => o.kind === 'Deployment')!
  const container = deployment.spec.template.spec.containers[0]
  const extraArgs = (container.args as string[]).filter((a) => a.includes('/etc/plimsoll/config/'))

  it('is the base plus a ConfigMap named by its content, mounted read-only and passed to serve', () => {
    const base = installObjects('all-in-one', defaultOptions(), library)
    expect(objects).toHaveLength(base.length + 1)
    expect(configMap.metadata.name).toMatch(/^plimsoll-config-[a-z0-9]{10}$/)
    expect(Object.keys(configMap.data).sort()).toEqual([
      'enforcement.yaml',
      'exceptions.yaml',
      'require-team-label.yaml',
    ])
    // Kustomize rewrote the reference to the hashed name: a change in Git rolls the Deployment.
    expect(deployment.spec.template.spec.volumes).toContainEqual({
      name: 'config',
      configMap: { name: configMap.metadata.name },
    })
    expect(container.volumeMounts).toContainEqual({
      name: 'config',
      mountPath: '/etc/plimsoll/config',
      readOnly: true,
    })
    expect(extraArgs).toEqual([
      '--exceptions=/etc/plimsoll/config/exceptions.yaml',
      '--enforcement=/etc/plimsoll/config/enforcement.yaml',
      '--policy=/etc/plimsoll/config/require-team-label.yaml',
    ])
  })

  it('scans clean at medium and above, as the install does', async () => {
    const report = await scan({
      inputs: [],
      rendered: [{ name: 'gitops-config.yaml', text: toYamlStream(objects) }],
      library,
      jobs: 1,
    })
    expect(report.errors).toEqual([])
    const serious = report.findings.filter((f) => ['medium', 'high', 'critical'].includes(f.severity))
    expect(serious.map((f) => `${f.checkId}: ${f.message}`)).toEqual([])
  })

  it('holds files Plimsoll reads: serve starts with the container’s arguments, the scan applies them', async () => {
    const mount = join(tmp, 'config')
    rmSync(mount, { recursive: true, force: true })
    spawnSync('mkdir', ['-p', mount])
    for (const [file, text] of Object.entries(configMap.data as Record<string, string>))
      writeFileSync(join(mount, file), text)
    const args = extraArgs.map((a) => a.replace('/etc/plimsoll/config', mount))

    const loaded = loadEnforcement('enforcement.yaml', configMap.data['enforcement.yaml'])
    expect('config' in loaded ? loaded.config.rules.length : loaded).toBe(2)

    const server = await serve(['--db', join(tmp, 'serve.db'), ...args])
    expect(await stopped(server.child)).toBe(0)

    // A workload that names no team: the policy from Git must say so.
    const unowned = join(tmp, 'unowned.yaml')
    writeFileSync(
      unowned,
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: orphan, namespace: team-x}\n' +
        'spec: {selector: {matchLabels: {app: orphan}}, template: {metadata: {labels: {app: orphan}}, ' +
        'spec: {containers: [{name: c, image: example/orphan:1.0}]}}}\n',
    )
    const scanned = await runAsync([
      'scan',
      unowned,
      join(ROOT, 'examples/platform'),
      join(ROOT, 'examples/shop'),
      '--format',
      'json',
      ...args.filter((a) => !a.startsWith('--enforcement')),
    ])
    const report = JSON.parse(scanned.stdout) as {
      findings: { checkId: string }[]
      summary: { excepted: number }
      staleExceptions?: unknown[]
    }
    expect(report.findings.some((f) => f.checkId.startsWith('require-team-label'))).toBe(true)
    // node-exporter's four host controls and redis's single replica: excepted, not reported
    expect(report.summary.excepted).toBeGreaterThanOrEqual(5)
    expect(report.findings.some((f) => f.checkId === 'pss-host-ports')).toBe(false)
  })
})

describe('Argo CD and Flux', () => {
  const chart = join(ROOT, 'deploy/helm/plimsoll')
  const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8'))
  const defaults = load(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Obj
  const check = new Ajv.default({ strict: false }).compile(schema)
  // As Helm does: the schema judges the chart's values.yaml with the given values over it.
  const validValues = Object.assign((values: Obj) => check({ ...defaults, ...values }), {
    get errors() {
      return check.errors
    },
  })
  const docs = (file: string) => loadAll(readFileSync(join(ROOT, 'deploy/gitops', file), 'utf8')) as Obj[]
  const pathExists = (path: string) => existsSync(join(ROOT, path))

  it('Argo CD Applications name paths that exist, with values the chart accepts', () => {
    const apps = docs('argocd/plimsoll.yaml')
    expect(apps.map((a) => `${a.apiVersion} ${a.kind}`)).toEqual([
      'argoproj.io/v1alpha1 Application',
      'argoproj.io/v1alpha1 Application',
    ])
    for (const app of apps) {
      expect(pathExists(app.spec.source.path)).toBe(true)
      expect(app.spec.destination.namespace).toBe('plimsoll')
      if (app.spec.source.helm) {
        expect(validValues(app.spec.source.helm.valuesObject), JSON.stringify(validValues.errors)).toBe(true)
      }
    }
  })

  it('Flux objects name paths that exist, with values the chart accepts', () => {
    const objs = docs('flux/plimsoll.yaml')
    const release = objs.find((o) => o.kind === 'HelmRelease')!
    expect(release.apiVersion).toBe('helm.toolkit.fluxcd.io/v2')
    expect(pathExists(release.spec.chart.spec.chart)).toBe(true)
    expect(validValues(release.spec.values), JSON.stringify(validValues.errors)).toBe(true)
    const kustomization = objs.find((o) => o.kind === 'Kustomization')!
    expect(kustomization.apiVersion).toBe('kustomize.toolkit.fluxcd.io/v1')
    expect(pathExists(kustomization.spec.path)).toBe(true)
    const source = objs.find((o) => o.kind === 'GitRepository')!
    for (const ref of [release.spec.chart.spec.sourceRef, kustomization.spec.sourceRef])
      expect(ref).toMatchObject({ kind: 'GitRepository', name: source.metadata.name })
    // The namespace Helm keeps the release in, labelled as plimsoll install labels it.
    const namespace = installObjects('agent', defaultOptions(), library).find((o) => o.kind === 'Namespace')
    expect(objs.find((o) => o.kind === 'Namespace')).toEqual(namespace)
    // An invalid topology is refused by the schema: the check above can fail.
    expect(validValues({ ...release.spec.values, topology: 'everything' })).toBe(false)
  })
})
