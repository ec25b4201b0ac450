/**
 * The Helm chart (deploy/helm/plimsoll, issue 17 point 3): the committed chart is what
 * scripts/write-helm-chart.mjs generates from `plimsoll install`'s builder, and rendered for every
 * topology and a range of values it gives the same objects as `plimsoll install` for the same choices.
 *
 * Rendered by test/helm-render (test/setup/helm-render.ts builds it): Go's text/template with Sprig and
 * Helm's own functions, values.yaml coalesced under the given values and checked against
 * values.schema.json, as Helm renders. Not helm itself, and not `helm lint`: no helm binary can be
 * installed on these machines (the chart's README says what this verifies and what it does not).
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadAll } from 'js-yaml'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { helmChart, writeHelmChart } from '../../src/install/helm.js'
import { toYamlStream } from '../../src/install/output.js'
import {
  defaultOptions,
  type InstallOptions,
  installObjects,
  TOPOLOGIES,
  type Topology,
} from '../../src/install/topology.js'
import { loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'
import { run as runCli } from '../helpers/cli.js'
import { byIdentity } from '../helpers/k8s-objects.js'
import { tempFiles } from '../helpers/temp-files.js'

type Obj = Record<string, unknown>
const CHART = resolve(import.meta.dirname, '..', '..', 'deploy', 'helm', 'plimsoll')
const library = loadLibrary()
const temp = tempFiles('plimsoll-helm-chart-')
afterAll(() => spawnSync('rm', ['-rf', temp.dir]))

interface Render {
  namespace?: string
  /** --set: typed as helm types it (numbers, booleans) */
  set?: Record<string, string | number | boolean>
  /** --set-string */
  setString?: Record<string, string>
  /** -f: a values file's text */
  valuesFile?: string
  notes?: boolean
}

function render(r: Render): { status: number | null; stdout: string; stderr: string } {
  const args = ['-chart', CHART, '-namespace', r.namespace ?? 'plimsoll']
  for (const [k, v] of Object.entries(r.set ?? {})) args.push('-set', `${k}=${v}`)
  for (const [k, v] of Object.entries(r.setString ?? {})) args.push('-set-string', `${k}=${v}`)
  if (r.valuesFile !== undefined) args.push('-f', temp.file(`values-${Math.random()}.yaml`, r.valuesFile))
  if (r.notes) args.push('-notes')
  const out = spawnSync(inject('helmRenderPath'), args, { encoding: 'utf8' })
  return { status: out.status, stdout: out.stdout, stderr: out.stderr }
}

function renderedObjects(r: Render): Obj[] {
  const out = render(r)
  expect(out.stderr).toBe('')
  expect(out.status).toBe(0)
  return (loadAll(out.stdout) as (Obj | null)[]).filter((d): d is Obj => d !== null)
}

const installed = (topology: Topology, options: Partial<InstallOptions>) =>
  installObjects(topology, { ...defaultOptions(), ...options }, library)

describe('the committed chart', () => {
  it('is what scripts/write-helm-chart.mjs generates from the builder of plimsoll install', () => {
    const files = helmChart(library)
    const dir = join(temp.dir, 'generated')
    writeHelmChart(dir, files)
    for (const [path, text] of files) {
      expect(
        readFileSync(join(CHART, path), 'utf8'),
        `${path}: run npm run build && node scripts/write-helm-chart.mjs`,
      ).toBe(text)
      expect(readFileSync(join(dir, path), 'utf8')).toBe(text)
    }
    const committed = [
      ...readdirSync(CHART).filter((f) => f !== 'templates'),
      ...readdirSync(join(CHART, 'templates')).map((f) => `templates/${f}`),
    ].sort()
    expect(committed).toEqual([...files.keys(), 'README.md'].sort())
  })

  it("declares Chart.yaml v2 at the package's version and values.yaml at plimsoll install's defaults", () => {
    const pkg = JSON.parse(readFileSync(resolve(CHART, '..', '..', '..', 'package.json'), 'utf8')) as {
      version: string
    }
    const chart = loadAll(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'))[0] as Obj
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'plimsoll', version: pkg.version })
    const values = loadAll(readFileSync(join(CHART, 'values.yaml'), 'utf8'))[0] as Obj
    const defaults = defaultOptions()
    expect(values).toMatchObject({
      image: defaults.image,
      replicas: defaults.replicas,
      central: '',
      dbSecret: '',
    })
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'))
    expect(schema.properties.topology.enum).toEqual([...TOPOLOGIES])
  })
})

describe.each(TOPOLOGIES)('the chart, topology %s', (topology) => {
  it("renders plimsoll install's objects at the defaults (createNamespace: the Namespace too)", () => {
    const rendered = renderedObjects({ set: { topology, createNamespace: true } })
    expect(byIdentity(rendered)).toEqual(byIdentity(installed(topology, {})))
  })

  it('renders them for another namespace, image and replica count, given as --set or in a values file', () => {
    const choice = { namespace: 'guard', image: 'registry.example.com/plimsoll:1.2.3', replicas: 3 }
    const expected = byIdentity(
      installed(topology, { ...choice, central: 'https://plimsoll.guard.svc:8080' }),
    )
    const bySet = renderedObjects({
      namespace: 'guard',
      set: { topology, replicas: 3, createNamespace: true },
      setString: { image: choice.image },
    })
    expect(byIdentity(bySet)).toEqual(expected)
    // A values file's numbers are floats once Helm has read them: the chart must not mind.
    const byFile = renderedObjects({
      namespace: 'guard',
      valuesFile: `topology: ${topology}\nimage: "${choice.image}"\nreplicas: 3\ncreateNamespace: true\n`,
    })
    expect(byIdentity(byFile)).toEqual(expected)
  })

  it('renders them with one replica', () => {
    const rendered = renderedObjects({ set: { topology, replicas: 1, createNamespace: true } })
    expect(byIdentity(rendered)).toEqual(byIdentity(installed(topology, { replicas: 1 })))
  })

  it('leaves the Namespace out unless createNamespace, and nothing else', () => {
    const rendered = renderedObjects({ set: { topology } })
    const expected = installed(topology, {}).filter((o) => o.kind !== 'Namespace')
    expect(byIdentity(rendered)).toEqual(byIdentity(expected))
  })

  it('has no finding at or above medium from the built-in library, as rendered', async () => {
    const out = render({ set: { topology, createNamespace: true } })
    const report = await scan({
      inputs: [],
      rendered: [{ name: `helm-${topology}.yaml`, text: out.stdout }],
      library,
      jobs: 1,
    })
    expect(report.errors).toEqual([])
    const serious = report.findings.filter((f) => ['medium', 'high', 'critical'].includes(f.severity))
    expect(serious.map((f) => `${f.severity} ${f.checkId}: ${f.message}`)).toEqual([])
  })

  it('names in NOTES.txt the Secrets its Pods need', () => {
    const out = render({ namespace: 'guard', set: { topology }, notes: true })
    expect(out.stderr).toBe('')
    expect(out.stdout).toContain(`topology ${topology}, in namespace guard`)
    expect(out.stdout).toContain(
      'kubectl label namespace guard pod-security.kubernetes.io/enforce=restricted',
    )
    expect(out.stdout).toContain('  - plimsoll-tls\n')
  })
})

describe('the chart, value by value', () => {
  it.each([1, 2, 3])(
    "all-in-one on PostgreSQL from dbSecret, %i replicas: plimsoll install --db-secret's objects",
    (replicas) => {
      const rendered = renderedObjects({
        set: { topology: 'all-in-one', replicas, createNamespace: true },
        setString: { dbSecret: 'pg-url' },
      })
      expect(byIdentity(rendered)).toEqual(
        byIdentity(installed('all-in-one', { postgresSecret: 'pg-url', replicas })),
      )
      expect(rendered.map((o) => o.kind)).not.toContain('PersistentVolumeClaim')
      const notes = render({
        set: { topology: 'all-in-one' },
        setString: { dbSecret: 'pg-url' },
        notes: true,
      })
      expect(notes.stdout).toContain('  - pg-url\n')
    },
  )

  it.each([
    'https://central.example.com',
    'http://central.example.com',
    'https://central.example.com:80',
    'https://central.example.com:443',
    'https://central.example.com:5000',
    'https://central.example.com:6443',
    'https://central.example.com:8443',
    'https://[2001:db8::1]:9443',
  ])('agent with central %s: the same objects (its egress port sorted among the others)', (central) => {
    const rendered = renderedObjects({
      set: { topology: 'agent', createNamespace: true },
      setString: { central },
    })
    expect(byIdentity(rendered)).toEqual(byIdentity(installed('agent', { central })))
  })

  it("agent without central: plimsoll install's default central URL for the namespace", () => {
    const cli = runCli(['install', '--topology', 'agent', '--namespace', 'guard'])
    expect(cli.code).toBe(0)
    const rendered = renderedObjects({
      namespace: 'guard',
      set: { topology: 'agent', createNamespace: true },
    })
    expect(byIdentity(rendered)).toEqual(byIdentity(loadAll(cli.stdout) as Obj[]))
  })

  it('quotes a namespace YAML 1.1 would read as a boolean, and an image with a colon', () => {
    const rendered = renderedObjects({
      namespace: 'yes',
      set: { topology: 'central', createNamespace: true },
      setString: { image: 'registry.example.com:5000/plimsoll: x' },
    })
    const expected = installed('central', {
      namespace: 'yes',
      image: 'registry.example.com:5000/plimsoll: x',
    })
    expect(byIdentity(rendered)).toEqual(byIdentity(expected))
    expect(toYamlStream(expected)).toContain("namespace: 'yes'")
  })

  it.each([
    [
      { topology: 'everything' },
      'topology must be one of the following: "all-in-one", "central", "agent", "webhook", "audit"',
    ],
    [{ topology: 'central', replicas: 0 }, 'replicas: Must be greater than or equal to 1'],
    [{ topology: 'central', replicas: 101 }, 'replicas: Must be less than or equal to 100'],
    [{ topology: 'central', replica: 3 }, 'Additional property replica is not allowed'],
  ])('refuses %j by values.schema.json, saying why', (set, message) => {
    const out = render({ set })
    expect(out.status).toBe(1)
    expect(out.stderr).toContain(message)
    expect(out.stdout).toBe('')
  })
})
