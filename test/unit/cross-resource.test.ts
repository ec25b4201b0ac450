import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { labelsMatch, selectorMatches } from '../../src/policy/cel/selectors.js'
import { Inventory, type InventoryRecord, inventoryRecord } from '../../src/policy/inventory.js'
import { attach } from '../../src/resources/parse.js'
import { checkYaml, engineFor, podTemplates, resourcesOf } from '../helpers/checks.js'
import { run } from '../helpers/cli.js'
import { pointsAtPath } from '../helpers/positions.js'

describe('label selectors', () => {
  it('matches a Service-style selector as a subset of the labels', () => {
    expect(labelsMatch({ app: 'web' }, { app: 'web', tier: 'front' })).toBe(true)
    expect(labelsMatch({ app: 'web', tier: 'back' }, { app: 'web', tier: 'front' })).toBe(false)
    expect(labelsMatch({}, { app: 'web' })).toBe(true)
    expect(labelsMatch(null, { app: 'web' })).toBe(false)
    expect(labelsMatch(new Map([['app', 'web']]), { app: 'web' })).toBe(true)
  })

  it('matches a LabelSelector with matchLabels and every operator', () => {
    const labels = { app: 'web', tier: 'front' }
    const sel = (matchExpressions: unknown[], matchLabels = {}) => ({ matchLabels, matchExpressions })
    expect(selectorMatches({}, labels)).toBe(true) // {} selects everything
    expect(selectorMatches(null, labels)).toBe(false) // null selects nothing
    expect(selectorMatches(sel([], { app: 'web' }), labels)).toBe(true)
    expect(selectorMatches(sel([], { app: 'api' }), labels)).toBe(false)
    expect(selectorMatches(sel([{ key: 'tier', operator: 'In', values: ['front', 'edge'] }]), labels)).toBe(
      true,
    )
    expect(selectorMatches(sel([{ key: 'tier', operator: 'In', values: ['back'] }]), labels)).toBe(false)
    expect(selectorMatches(sel([{ key: 'tier', operator: 'NotIn', values: ['back'] }]), labels)).toBe(true)
    expect(selectorMatches(sel([{ key: 'zone', operator: 'NotIn', values: ['a'] }]), labels)).toBe(true)
    expect(selectorMatches(sel([{ key: 'app', operator: 'Exists' }]), labels)).toBe(true)
    expect(selectorMatches(sel([{ key: 'app', operator: 'DoesNotExist' }]), labels)).toBe(false)
    expect(() => selectorMatches(sel([{ key: 'app', operator: 'Like' }]), labels)).toThrow(/unknown.*Like/)
  })
})

const input = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web-sa
      containers: [{name: app, image: nginx}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: report}}
        spec: {containers: [{name: r, image: r}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}}
`

describe('inventory', () => {
  const records = resourcesOf(input).map((r) => inventoryRecord(r, podTemplates))

  it('keeps identity, labels, selectors and what workloads run as, not whole objects', () => {
    expect(records).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        namespace: 'shop',
        labels: {},
        podLabels: { app: 'web' },
        serviceAccountName: 'web-sa',
      },
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        name: 'report',
        namespace: '',
        labels: {},
        podLabels: { app: 'report' },
        serviceAccountName: 'default',
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        name: 'web',
        namespace: 'shop',
        labels: {},
        selector: { app: 'web' },
      },
    ])
  })

  it('looks resources up by kind, by kind and namespace, and workloads by namespace', () => {
    const inv = new Inventory(records)
    expect(inv.of('Service').map((r) => r.name)).toEqual(['web'])
    expect(inv.in('Service', 'shop')).toHaveLength(1)
    expect(inv.in('Service', '')).toEqual([])
    expect(inv.workloads('shop').map((r) => r.kind)).toEqual(['Deployment'])
    expect(inv.workloads('').map((r) => r.kind)).toEqual(['CronJob'])
  })

  it('looks a resource up by kind, namespace and name, as a walk of the kind would find it', () => {
    const account = (name: string, namespace: string): InventoryRecord => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      name,
      namespace,
      labels: {},
    })
    const all = [account('web', 'shop'), account('web', ''), account('api', 'shop'), account('web', 'shop')]
    const inv = new Inventory([...records, ...all])
    for (const [ns, name] of [
      ['shop', 'web'],
      ['', 'web'],
      ['shop', 'api'],
      ['shop', 'nope'],
      ['tools', 'web'],
    ] as const) {
      expect(inv.named('ServiceAccount', ns, name)).toEqual(
        inv.in('ServiceAccount', ns).filter((r) => r.name === name),
      )
    }
    expect(inv.named('ServiceAccount', 'shop', 'web')).toHaveLength(2) // defined twice: both
    expect(inv.named('Service', 'shop', 'web').map((r) => r.kind)).toEqual(['Service'])
  })

  it('gives the doors one call per object: the single-resource checks, and the cross-resource ones against an inventory', () => {
    const engine = engineFor(
      [
        checkYaml(
          'needs-account',
          `match: {kinds: [PodTemplate]}
validations:
  - expression: size(inventory.named('ServiceAccount', object.metadata.namespace, podSpec.serviceAccountName)) > 0
    message: no such account
    path: serviceAccountName`,
        ),
        checkYaml(
          'has-labels',
          `match: {kinds: [PodTemplate]}
validations:
  - expression: size(podMetadata.?labels.orValue({})) > 0
    message: no labels`,
        ),
      ].join('---\n'),
    )
    const [deployment] = resourcesOf(input)
    const verdicts = (inv?: Inventory) =>
      engine.evaluate(deployment!, { inventory: inv }).map((r) => `${r.check.id}:${r.status}`)
    expect(verdicts()).toEqual(['has-labels:pass'])
    expect(verdicts(new Inventory(records))).toEqual(['has-labels:pass', 'needs-account:fail'])
    const withAccount = new Inventory([
      ...records,
      { apiVersion: 'v1', kind: 'ServiceAccount', name: 'web-sa', namespace: 'shop', labels: {} },
    ])
    expect(verdicts(withAccount)).toEqual(['has-labels:pass', 'needs-account:pass'])
  })
})

describe('indexed selector lookups', () => {
  const key = fc.constantFrom('app', 'tier', 'zone')
  const value = fc.constantFrom('a', 'b', 'c')
  const labels = fc.dictionary(key, value, { maxKeys: 3 })
  const expression = fc.record({
    key,
    operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'),
    values: fc.array(value, { maxLength: 2 }),
  })
  const workload = (podLabels: Record<string, string>, i: number): InventoryRecord => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    name: `w${i}`,
    namespace: i % 3 === 0 ? 'other' : 'ns',
    labels: {},
    podLabels,
    serviceAccountName: 'default',
  })

  it('find exactly the workloads a plain filter finds', () => {
    fc.assert(
      fc.property(
        fc.array(labels, { maxLength: 12 }),
        labels,
        fc.array(expression, { maxLength: 2 }),
        (podLabels, matchLabels, matchExpressions) => {
          const all = podLabels.map(workload)
          const inv = new Inventory(all)
          const inNs = all.filter((w) => w.namespace === 'ns')
          expect(inv.workloadsLabelled('ns', matchLabels)).toEqual(
            inNs.filter((w) => labelsMatch(matchLabels, w.podLabels)),
          )
          const selector = { matchLabels, matchExpressions }
          expect(inv.workloadsSelected('ns', selector)).toEqual(
            inNs.filter((w) => selectorMatches(selector, w.podLabels)),
          )
        },
      ),
    )
  })
})

describe('cross-resource checks', () => {
  const check = checkYaml(
    'svc-has-pods',
    `match: {kinds: [core/Service]}
validations:
- expression: "inventory.workloads(object.metadata.namespace).exists(w, labelsMatch(object.spec.selector, w.podLabels))"
  message: "selects no pods"
  path: spec.selector`,
  )

  it('are recognised by their use of inventory, not by a mention in a string', () => {
    expect(engineFor(check).hasCrossResourceChecks).toBe(true)
    const plain = checkYaml(
      'mentions',
      `match: {kinds: [core/Service]}
validations:
- expression: "object.metadata.name != 'inventory'"
  message: "named inventory"`,
    )
    expect(engineFor(plain).hasCrossResourceChecks).toBe(false)
  })

  it('do not run in the per-resource pass; they run with the inventory, positions intact', () => {
    const engine = engineFor(check)
    const [, , svc] = resourcesOf(input)
    expect(engine.evaluate(svc!)).toEqual([])
    expect(engine.isCrossResourceSubject(svc!)).toBe(true)
    const others = resourcesOf(input.replace('{app: web}}\n    spec:', '{app: api}}\n    spec:'))
    const fails = engine.evaluateCross(
      attach(svc!.detach()),
      new Inventory(others.map((r) => inventoryRecord(r, podTemplates))),
    )
    expect(fails.map((f) => [f.status, f.message, f.path, f.position?.line])).toEqual([
      ['fail', 'selects no pods', 'spec.selector', 24],
    ])
    const passes = engine.evaluateCross(
      svc!,
      new Inventory(resourcesOf(input).map((r) => inventoryRecord(r, podTemplates))),
    )
    expect(passes.map((r) => r.status)).toEqual(['pass'])
  })
})

describe('plimsoll scan with cross-resource checks', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-cross-'))
  const app = join(tmp, 'app.yaml')
  const net = join(tmp, 'net.yaml')
  writeFileSync(
    app,
    `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      serviceAccountName: web
      containers:
      - name: app
        image: nginx:1.27
`,
  )
  writeFileSync(
    net,
    `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: website
---
apiVersion: v1
kind: Service
metadata:
  name: ok
  namespace: shop
  annotations:
    plimsoll.dev/except.service-selects-nothing: "endpoints come from an external controller"
spec:
  selector:
    app: external
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: api
  namespace: shop
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: shop
spec:
  maxUnavailable: 1
  selector:
    matchExpressions:
    - {key: app, operator: In, values: [web]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: webb}
  maxReplicas: 5
`,
  )
  const CROSS = [
    'service-selects-nothing',
    'serviceaccount-undefined',
    'namespace-without-networkpolicy',
    'hpa-target-missing',
    'pdb-missing',
    'pdb-selects-nothing',
  ]
  const scan = (...args: string[]) => {
    const out = join(tmp, `r${Math.random()}.json`)
    const r = run(['scan', app, net, '--format', 'json', '--output', out, '--fail-on', 'none', ...args])
    expect(r.code).toBe(0)
    return JSON.parse(readFileSync(out, 'utf8'))
  }

  it('relates resources across files, and points at the field in the right file', () => {
    const report = scan()
    const cross = report.findings
      .filter((f: { checkId: string }) => CROSS.includes(f.checkId))
      .map((f: { checkId: string; resource: { name: string }; location: { file: string } }) => [
        f.checkId,
        f.resource.name,
        f.location.file,
      ])
    expect(cross.sort()).toEqual(
      [
        ['hpa-target-missing', 'web', net],
        ['namespace-without-networkpolicy', 'shop', app],
        ['service-selects-nothing', 'web', net],
        ['serviceaccount-undefined', 'web', app],
      ].sort(),
    )
    for (const f of report.findings) {
      const lineText = readFileSync(f.location.file, 'utf8').split('\n')[f.location.line - 1]!
      expect(pointsAtPath(lineText, f.location.column, f.path), `${f.checkId} ${lineText}`).toBe(true)
    }
    // No pdb-missing or pdb-selects-nothing: the budget's matchExpressions select web's pods.
  })

  it('applies exceptions to cross-resource findings', () => {
    const report = scan('--show-excepted')
    const excepted = report.findings.filter((f: { excepted?: unknown }) => f.excepted)
    expect(
      excepted.map((f: { checkId: string; resource: { name: string } }) => [f.checkId, f.resource.name]),
    ).toEqual([['service-selects-nothing', 'ok']])
    expect(report.summary.excepted).toBe(1)
  })

  it('reads items of a List again, for the field and line inside the list', () => {
    const list = join(tmp, 'list.yaml')
    writeFileSync(
      list,
      `apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: api}
  spec:
    template:
      metadata: {labels: {app: api}}
      spec: {containers: [{name: app, image: api:1}]}
- apiVersion: v1
  kind: Service
  metadata: {name: api}
  spec:
    selector: {app: apii}
`,
    )
    const out = join(tmp, 'list.json')
    run(['scan', list, '--format', 'json', '--output', out, '--fail-on', 'none'])
    const f = JSON.parse(readFileSync(out, 'utf8')).findings.find(
      (x: { checkId: string }) => x.checkId === 'service-selects-nothing',
    )
    expect(f).toMatchObject({ path: 'spec.selector', location: { line: 15, column: 5 } })
    expect(f.message).toMatch(/labelled app=apii/)
  })

  it('judges nothing it cannot see: Services, budgets and autoscalers alone give no cross-resource finding', () => {
    const out = join(tmp, 'alone.json')
    run(['scan', net, '--format', 'json', '--output', out, '--fail-on', 'none'])
    const ids = JSON.parse(readFileSync(out, 'utf8')).findings.map((f: { checkId: string }) => f.checkId)
    expect(ids.filter((id: string) => CROSS.includes(id))).toEqual([])
  })
})
