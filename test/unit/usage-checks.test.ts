/**
 * Checks over observed usage (docs/check-format.md#observed-usage, docs/cel.md#observed-usage): CEL's
 * `usage`, examples that carry `usage:`, the scan's `--usage` (a report matched to the input's workloads
 * by namespace, kind and name), and the built-in checks over it. Without usage every such check skips.
 */
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseCheckFile } from '../../src/policy/check-loader.js'
import { compileCheck } from '../../src/policy/compile.js'
import { Engine } from '../../src/policy/engine.js'
import { runExamples } from '../../src/policy/examples.js'
import { loadLibrary } from '../../src/policy/library.js'
import { readUsageReport, UsageDataError, UsageIndex } from '../../src/policy/usage.js'
import { scan } from '../../src/scan/scan.js'
import { defaultPriceSheet } from '../../src/usage/cost/prices.js'
import { analyse } from '../../src/usage/output/analysis.js'
import { renderJson } from '../../src/usage/output/json.js'
import type { ContainerUsage, UsageReport } from '../../src/usage/types.js'
import { checkYaml, podTemplates, resourcesOf } from '../helpers/checks.js'
import { run } from '../helpers/cli.js'
import { tempFiles } from '../helpers/temp-files.js'

const MiB = 1024 * 1024
const DAY = 86_400

function container(
  namespace: string,
  kind: ContainerUsage['workload']['kind'],
  name: string,
  over: Partial<ContainerUsage> = {},
  cluster = 'prod',
): ContainerUsage {
  return {
    workload: { cluster, namespace, kind, name },
    container: 'app',
    pods: 3,
    maxReplicas: 3,
    cpu: { usage: { p50: 0.05, p95: 0.1, p99: 0.2, max: 0.3, mean: 0.06 }, request: 2, limit: undefined },
    memory: {
      usage: { p50: 300 * MiB, p95: 400 * MiB, p99: 450 * MiB, max: 500 * MiB },
      request: 256 * MiB,
      limit: 512 * MiB,
    },
    restarts: 2,
    oomKills: [{ at: '2026-11-10T03:00:00Z', memory: 512 * MiB }],
    runningSeconds: 14 * DAY * 3,
    startedAt: '2026-10-01T00:00:00Z',
    history: { from: '2026-11-01T00:00:00Z', to: '2026-11-15T00:00:00Z', samples: 4032 },
    ...over,
  }
}

function report(containers: ContainerUsage[], cluster = 'prod', gaps: UsageReport['gaps'] = []): UsageReport {
  return {
    cluster,
    from: '2026-11-01T00:00:00Z',
    to: '2026-11-15T00:00:00Z',
    containers,
    nodes: [],
    gaps,
    queries: { count: 12, bytes: 3400 },
  }
}

/** The file `plimsoll usage --format json` writes (src/usage/output/json.ts), for these containers. */
function usageJson(r: UsageReport) {
  return {
    version: 1,
    cluster: r.cluster,
    from: r.from,
    to: r.to,
    windowHours: 336,
    strategy: 'simple',
    partial: r.gaps.length > 0,
    gaps: r.gaps,
    queries: r.queries,
    containers: r.containers.map(({ workload, container, ...usage }) => ({
      workload,
      container,
      usage: {
        ...usage,
        // JSON has no undefined: the writer leaves the key out, or writes null for an unbounded figure
        cpu: { ...usage.cpu, limit: null },
      },
      recommendation: null,
      cost: { cpu: 1.2, memory: 0.4, total: 1.6 },
      waste: null,
    })),
    nodes: [],
    totals: {},
    waste: {},
  }
}

const deployment = (name: string, namespace: string | undefined, requests: Record<string, string>) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}${namespace === undefined ? '' : `\n  namespace: ${namespace}`}
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/app:1.0
          resources:
            requests: {cpu: "${requests.cpu}", memory: ${requests.memory}}
`

/** A check whose message is its CEL value, to read what `usage` holds. */
function probe(expression: string, scope = 'pod') {
  const yaml = checkYaml(
    'usage-probe',
    `
match: {kinds: [PodTemplate]}
scope: ${scope}
validations:
  - expression: 'false'
    messageExpression: ${JSON.stringify(expression)}
`,
  )
  return parseCheckFile('probe.yaml', yaml).map(compileCheck)
}

function evaluate(expression: string, manifest: string, usage?: UsageIndex, scope = 'pod'): string[] {
  const engine = new Engine(probe(expression, scope), podTemplates, {
    version: 1000,
    ...(usage ? { usage } : {}),
  })
  return resourcesOf(manifest).flatMap((r) => engine.evaluate(r).map((x) => x.message ?? ''))
}

describe('CEL `usage`', () => {
  it('is null without observed usage, so checks over it can skip', () => {
    expect(
      evaluate("usage == null ? 'null' : 'set'", deployment('web', 'shop', { cpu: '1', memory: '1Gi' })),
    ).toEqual(['null'])
  })

  it("holds the workload's containers, CPU in cores and memory in bytes as doubles, counts as ints", () => {
    const index = new UsageIndex([report([container('shop', 'Deployment', 'web')])])
    const manifest = deployment('web', 'shop', { cpu: '2', memory: '256Mi' })
    const c = 'usage.containers.app'
    const [text] = evaluate(
      `[usage.cluster, usage.from, usage.to, string(usage.partial), usage.workload.kind, usage.workload.namespace, usage.workload.name,
        ${c}.name, string(${c}.cpu.usage.p95), string(${c}.cpu.usage.mean), string(${c}.cpu.request), string(has(${c}.cpu.limit)),
        string(${c}.memory.usage.p99 == 471859200.0), string(${c}.memory.limit), string(${c}.restarts + 1), string(${c}.pods * 2),
        string(size(${c}.oomKills)), string(${c}.oomKills[0].memory), ${c}.oomKills[0].at,
        string(${c}.history.seconds), string(${c}.history.samples + 0), ${c}.startedAt, string(type(${c}.memory.usage.p99) == double)].join('|')`,
      manifest,
      index,
    )
    expect(text!.split('|')).toEqual([
      'prod',
      '2026-11-01T00:00:00Z',
      '2026-11-15T00:00:00Z',
      'false',
      'Deployment',
      'shop',
      'web',
      'app',
      '0.1',
      '0.06',
      '2',
      'false',
      'true',
      String(512 * MiB),
      '3',
      '6',
      '1',
      String(512 * MiB),
      '2026-11-10T03:00:00Z',
      String(14 * DAY),
      '4032',
      '2026-10-01T00:00:00Z',
      'true',
    ])
  })

  it('reads the same in container scope, where a container finds its own by name', () => {
    const index = new UsageIndex([report([container('shop', 'Deployment', 'web')])])
    const out = evaluate(
      'string(usage.containers[?container.name].?memory.?usage.?p95.orValue(-1.0) / 1048576.0)',
      deployment('web', 'shop', { cpu: '2', memory: '256Mi' }),
      index,
      'container',
    )
    expect(out).toEqual(['400'])
  })

  it('says when the report is partial, and leaves out a resource with no usage series', () => {
    const partial = report(
      [container('shop', 'Deployment', 'web', { cpu: { usage: undefined, request: 2, limit: undefined } })],
      'prod',
      [{ what: 'cAdvisor', message: 'no container_cpu_usage_seconds_total' }],
    )
    const out = evaluate(
      "string(usage.partial) + ' ' + string(has(usage.containers.app.cpu.usage)) + ' ' + string(has(usage.containers.app.memory.usage))",
      deployment('web', 'shop', { cpu: '2', memory: '256Mi' }),
      new UsageIndex([partial]),
    )
    expect(out).toEqual(['true false true'])
  })
})

describe('cheap without usage', () => {
  it('a check guarded by `usage != null` is left out of an engine without usage; unguarded ones still run', () => {
    const yaml = `${checkYaml(
      'guarded',
      `
match: {kinds: [ConfigMap]}
matchConditions: [{name: observed, expression: usage != null}]
validations: [{expression: 'false', message: never without usage}]
`,
    )}---
${checkYaml(
  'unguarded',
  `
match: {kinds: [Secret]}
validations: [{expression: usage == null, message: usage is set}]
`,
)}`
    const checks = parseCheckFile('c.yaml', yaml).map(compileCheck)
    expect(checks.map((c) => c.ruleSets[0]!.requiresUsage)).toEqual([true, false])
    const without = new Engine(checks, podTemplates, { version: 1000 })
    expect(without.wantsKind({ group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps' })).toBe(
      false,
    )
    expect(without.wantsKind({ group: '', version: 'v1', kind: 'Secret', resource: 'secrets' })).toBe(true)
    const secret = resourcesOf('apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n')[0]!
    expect(without.evaluate(secret).map((r) => r.status)).toEqual(['pass'])
    const withUsage = new Engine(checks, podTemplates, { version: 1000, usage: new UsageIndex([]) })
    expect(withUsage.wantsKind({ group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps' })).toBe(
      true,
    )
    const cm = resourcesOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n')[0]!
    // a ConfigMap is no workload: its usage is null, and the guarded check does not apply
    expect(withUsage.evaluate(cm)).toEqual([])
  })
})

describe('matching a usage report to the input', () => {
  const isSet = "usage == null ? 'null' : usage.workload.namespace + '/' + usage.workload.name"

  it('by namespace, kind and name; another workload, namespace or kind has none', () => {
    const index = new UsageIndex([
      report([container('shop', 'Deployment', 'web'), container('shop', 'StatefulSet', 'db')]),
    ])
    expect(evaluate(isSet, deployment('web', 'shop', { cpu: '1', memory: '1Gi' }), index)).toEqual([
      'shop/web',
    ])
    expect(evaluate(isSet, deployment('api', 'shop', { cpu: '1', memory: '1Gi' }), index)).toEqual(['null'])
    expect(evaluate(isSet, deployment('web', 'billing', { cpu: '1', memory: '1Gi' }), index)).toEqual([
      'null',
    ])
    // a StatefulSet named like a Deployment is another workload
    expect(evaluate(isSet, deployment('db', 'shop', { cpu: '1', memory: '1Gi' }), index)).toEqual(['null'])
    // a custom resource called Deployment, in another group, is not the apps/v1 one
    expect(
      index.usageOf({ group: 'example.com', kind: 'Deployment', namespace: 'shop', name: 'web' }),
    ).toBeNull()
    expect(
      index.usageOf({ group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web' }),
    ).not.toBeNull()
  })

  it('a manifest without a namespace matches the one namespace that has the workload, and only one', () => {
    const one = new UsageIndex([report([container('shop', 'Deployment', 'web')])])
    expect(evaluate(isSet, deployment('web', undefined, { cpu: '1', memory: '1Gi' }), one)).toEqual([
      'shop/web',
    ])
    const two = new UsageIndex([
      report([container('shop', 'Deployment', 'web'), container('staging', 'Deployment', 'web')]),
    ])
    expect(evaluate(isSet, deployment('web', undefined, { cpu: '1', memory: '1Gi' }), two)).toEqual(['null'])
    expect(evaluate(isSet, deployment('web', 'staging', { cpu: '1', memory: '1Gi' }), two)).toEqual([
      'staging/web',
    ])
  })

  it('CronJobs by their own name (the collector follows Jobs up to them)', () => {
    const index = new UsageIndex([report([container('ops', 'CronJob', 'backup')])])
    const cronJob = `
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: ops}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: app, image: backup:1}]
`
    expect(evaluate(isSet, cronJob, index)).toEqual(['ops/backup'])
  })

  it('a workload in two clusters is ambiguous until one cluster is chosen', () => {
    const reports = [
      report([container('shop', 'Deployment', 'web', {}, 'eu')], 'eu'),
      report([container('shop', 'Deployment', 'web', {}, 'us')], 'us'),
    ]
    expect(() => new UsageIndex(reports)).toThrow(UsageDataError)
    expect(() => new UsageIndex(reports)).toThrow(
      /Deployment shop\/web .* clusters 'eu' and 'us'.*--usage-cluster/,
    )
    const us = new UsageIndex(reports, 'us')
    expect(evaluate('usage.cluster', deployment('web', 'shop', { cpu: '1', memory: '1Gi' }), us)).toEqual([
      'us',
    ])
  })
})

describe('reading usage files', () => {
  const r = report([container('shop', 'Deployment', 'web')])

  it('accepts the JSON of `plimsoll usage --format json`, a UsageReport, and {report: UsageReport}', () => {
    for (const json of [
      usageJson(r),
      JSON.parse(JSON.stringify(r)),
      { report: JSON.parse(JSON.stringify(r)) },
    ]) {
      const read = readUsageReport(json)
      expect(read.cluster).toBe('prod')
      expect(read.containers).toHaveLength(1)
      const c = read.containers[0]!
      expect(c.workload).toEqual({ cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'web' })
      expect(c.container).toBe('app')
      expect(c.memory.usage?.p99).toBe(450 * MiB)
      expect(c.cpu.request).toBe(2)
      expect(c.cpu.limit).toBeUndefined()
      expect(c.oomKills).toEqual([{ at: '2026-11-10T03:00:00Z', memory: 512 * MiB }])
      expect(c.history.samples).toBe(4032)
    }
  })

  it('reads what `plimsoll usage --format json` really writes (src/usage/output/json.ts)', () => {
    const written = renderJson(analyse(r, { strategy: 'simple', prices: defaultPriceSheet() }))
    const read = readUsageReport(JSON.parse(written))
    expect(read.cluster).toBe('prod')
    expect(read.containers).toHaveLength(1)
    const c = read.containers[0]!
    const { samples: _c, ...cpu } = r.containers[0]!.cpu
    expect(c).toEqual({ ...r.containers[0]!, cpu })
  })

  it('names the offending field of a malformed report', () => {
    expect(() => readUsageReport({ containers: 'none' })).toThrow(/containers: expected a list of containers/)
    const bad = usageJson(r)
    ;(bad.containers[0]!.usage.memory.usage as unknown as Record<string, unknown>).p99 = 'lots'
    expect(() => readUsageReport(bad)).toThrow(
      /containers\[0\]\.usage\.memory\.usage\.p99: expected a number/,
    )
    const badKind = usageJson(r)
    ;(badKind.containers[0]!.workload as { kind: string }).kind = 'Rollout'
    expect(() => readUsageReport(badKind)).toThrow(/containers\[0\]\.workload\.kind: expected one of/)
  })
})

describe('the check format: examples with `usage`', () => {
  const check = `apiVersion: plimsoll.dev/v1
kind: Check
metadata: {id: acme-memory-headroom, title: Memory requests leave headroom over the peak, severity: low, category: efficiency}
spec:
  match: {kinds: [PodTemplate]}
  scope: container
  matchConditions:
    - name: usage-observed
      expression: usage != null
  variables:
    - name: peak
      expression: usage.containers[?container.name].?memory.?usage.?max
  validations:
    - expression: >-
        !variables.peak.hasValue() ||
        quantity(container.resources.requests.memory).asApproximateFloat() >= 1.2 * double(variables.peak.value())
      message: less than 20% headroom over the observed peak
examples:
  - name: headroom
    expect: pass
    resource: {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [{name: app, image: a, resources: {requests: {memory: 1Gi}}}]}}}}
    usage:
      - container: app
        memory: {usage: {p50: 500Mi, p95: 600Mi, p99: 700Mi, max: 800Mi}}
  - name: no headroom
    expect: fail
    resource: {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [{name: app, image: a, resources: {requests: {memory: 1Gi}}}]}}}}
    usage: {containers: [{container: app, memory: {usage: {p50: 500Mi, p95: 900Mi, p99: 950Mi, max: 1000Mi}}}]}
  - name: not observed
    expect: skip
    resource: {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [{name: app, image: a, resources: {requests: {memory: 1Gi}}}]}}}}
`

  it('runs each example with its usage, and with none the check skips', () => {
    const [compiled] = parseCheckFile('acme.yaml', check).map(compileCheck)
    const outcomes = runExamples(compiled!, podTemplates)
    expect(outcomes.map((o) => [o.example, o.got])).toEqual([
      ['headroom', 'pass'],
      ['no headroom', 'fail'],
      ['not observed', 'skip'],
    ])
  })

  it('rejects malformed example usage at load time, with the line and field', () => {
    const broken = check.replace('p99: 700Mi', 'p99: lots')
    expect(() => parseCheckFile('acme.yaml', broken)).toThrow(
      /acme\.yaml:\d+: check 'acme-memory-headroom': examples\[0\]\.usage: usage\[0\]\.memory\.usage\.p99: expected a number or a quantity/,
    )
    expect(() =>
      parseCheckFile(
        'acme.yaml',
        check.replace('    usage:\n      - container: app\n', '    usage:\n      - name: app\n'),
      ),
    ).toThrow(/usage\[0\]\.container: expected a string/)
  })
})

describe('the built-in checks over usage', () => {
  const library = loadLibrary()
  const ids = ['memory-request-below-observed-p99', 'cpu-request-far-above-usage']

  it.each(ids)('%s passes, fails and skips on its examples as documented', (id) => {
    const check = library.checks.find((c) => c.metadata.id === id)
    expect(check, `${id} is in the library`).toBeDefined()
    const outcomes = runExamples(check!, library.podTemplates)
    expect(outcomes.filter((o) => !o.ok)).toEqual([])
    expect(new Set(outcomes.map((o) => o.got))).toEqual(new Set(['pass', 'fail', 'skip']))
    // the skip: an example without usage
    for (const o of outcomes.filter((x) => x.got === 'skip'))
      expect(check!.definition.examples.find((e) => e.name === o.example)?.usage).toBeUndefined()
  })

  it('never fail without usage: a scan of the example resources finds nothing of them', async () => {
    const { file } = tempFiles('plimsoll-usage-lib-')
    const manifests = library.checks
      .filter((c) => ids.includes(c.metadata.id))
      .flatMap((c) => c.definition.examples.map((e) => JSON.stringify(e.resource)))
    const path = file('all.yaml', manifests.join('\n---\n'))
    const r = await scan({ inputs: [path], library, jobs: 1 })
    expect(r.findings.filter((f) => ids.includes(f.checkId))).toEqual([])
    for (const id of ids) expect(r.checkStats[id]).toBeUndefined()
  })
})

describe('plimsoll scan --usage', () => {
  const files = tempFiles('plimsoll-usage-scan-')
  const manifest = files.file(
    'deploy.yaml',
    [
      deployment('web', 'shop', { cpu: '2', memory: '256Mi' }),
      deployment('other', 'shop', { cpu: '2', memory: '256Mi' }),
      deployment('right', 'shop', { cpu: '200m', memory: '512Mi' }),
    ].join('---\n'),
  )
  const usageFile = files.file(
    'usage.json',
    JSON.stringify(
      usageJson(
        report([
          container('shop', 'Deployment', 'web'),
          container('shop', 'Deployment', 'right'),
          container('shop', 'Deployment', 'gone'),
        ]),
      ),
    ),
  )

  function scanJson(args: string[]) {
    const out = join(files.dir, `report-${Math.random().toString(36).slice(2)}.json`)
    const r = run(['scan', manifest, '--fail-on', 'none', '--format', 'json', '-o', out, ...args])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    return JSON.parse(readFileSync(out, 'utf8'))
  }

  it('judges the workloads the report knows, and skips the others', () => {
    const report = scanJson(['--usage', usageFile])
    const usageFindings = report.findings
      .filter(
        (f: { checkId: string }) =>
          f.checkId === 'memory-request-below-observed-p99' || f.checkId === 'cpu-request-far-above-usage',
      )
      .map(
        (f: {
          checkId: string
          resource: { name: string }
          message: string
          path: string
          location: { line: number }
        }) => [f.checkId, f.resource.name, f.message, f.path],
      )
    expect(usageFindings).toEqual([
      [
        'cpu-request-far-above-usage',
        'web',
        'container app requests 2 CPU, more than four times the p95 it was seen to use over 14 days (100m)',
        'spec.template.spec.containers[0].resources.requests.cpu',
      ],
      [
        'memory-request-below-observed-p99',
        'web',
        'container app requests 256Mi of memory, below the p99 working set it was seen to use (450Mi)',
        'spec.template.spec.containers[0].resources.requests.memory',
      ],
    ])
  })

  it('the scan option: `right` is judged and passes, `other` (not in the report) is not judged at all', async () => {
    const library = loadLibrary()
    const usage = report([container('shop', 'Deployment', 'web'), container('shop', 'Deployment', 'right')])
    const r = await scan({ inputs: [manifest], library, jobs: 1, usage })
    expect(r.checkStats['memory-request-below-observed-p99']).toEqual({ applied: 2, failed: 1 })
    expect(r.checkStats['cpu-request-far-above-usage']).toEqual({ applied: 2, failed: 1 })
    const without = await scan({ inputs: [manifest], library, jobs: 1 })
    expect(without.checkStats['memory-request-below-observed-p99']).toBeUndefined()
    expect(r.summary.passed - without.summary.passed).toBe(2)
  })

  it('changes nothing else: without --usage the same findings, less the usage ones', () => {
    const withUsage = scanJson(['--usage', usageFile])
    const without = scanJson([])
    const usageIds = new Set(['memory-request-below-observed-p99', 'cpu-request-far-above-usage'])
    expect(without.findings.filter((f: { checkId: string }) => usageIds.has(f.checkId))).toEqual([])
    expect(without.findings).toEqual(
      withUsage.findings.filter((f: { checkId: string }) => !usageIds.has(f.checkId)),
    )
    expect(without.summary.checks).toBe(withUsage.summary.checks)
  })

  it('--usage-cluster picks a cluster; a workload in two clusters without it is a usage error', () => {
    const eu = files.file(
      'eu.json',
      JSON.stringify(report([container('shop', 'Deployment', 'web', {}, 'eu')], 'eu')),
    )
    const us = files.file(
      'us.json',
      JSON.stringify({
        report: report(
          [
            container(
              'shop',
              'Deployment',
              'web',
              { memory: { usage: { p50: 1, p95: 1, p99: 1, max: 1 }, request: 1, limit: 1 } },
              'us',
            ),
          ],
          'us',
        ),
      }),
    )
    const ambiguous = run(['scan', manifest, '--usage', eu, '--usage', us])
    expect(ambiguous.code).toBe(2)
    expect(ambiguous.stderr).toMatch(
      /--usage: .*Deployment shop\/web is in the usage of clusters 'eu' and 'us'/,
    )
    const pick = (cluster: string) =>
      scanJson(['--usage', eu, '--usage', us, '--usage-cluster', cluster]).findings.filter(
        (f: { checkId: string }) => f.checkId === 'memory-request-below-observed-p99',
      ).length
    expect(pick('eu')).toBe(1)
    expect(pick('us')).toBe(0)
  })

  it('a malformed usage file is a usage error that names the file', () => {
    const notJson = files.file('broken.json', '{"containers": [')
    let r = run(['scan', manifest, '--usage', notJson])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`plimsoll: --usage: ${notJson}: not JSON`)
    expect(r.stdout).toBe('')

    const wrongShape = files.file('findings.json', JSON.stringify({ summary: {}, findings: [] }))
    r = run(['scan', manifest, '--usage', wrongShape])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      `plimsoll: --usage: ${wrongShape}: not a usage report (plimsoll usage --format json): containers:`,
    )

    const badField = usageJson(report([container('shop', 'Deployment', 'web')]))
    ;(badField.containers[0]!.usage.cpu.usage as unknown as Record<string, unknown>).p95 = '100m'
    const bad = files.file('bad-field.json', JSON.stringify(badField))
    r = run(['scan', manifest, '--usage', bad])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      `${bad}: not a usage report (plimsoll usage --format json): containers[0].usage.cpu.usage.p95: expected a number`,
    )

    const missing = join(files.dir, 'nowhere.json')
    r = run(['scan', manifest, '--usage', missing])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`plimsoll: --usage: ${missing}: cannot read: ENOENT`)

    r = run(['scan', manifest, '--usage-cluster', 'eu'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--usage-cluster needs --usage')
  })

  it('worker threads see the usage too: the same findings as one thread', async () => {
    // More than the 4 MB below which a scan stays in one thread (scan.ts: MIN_BYTES_FOR_WORKERS).
    const big = tempFiles('plimsoll-usage-workers-')
    const filler = Array.from({ length: 400 }, (_, i) =>
      deployment(`filler-${i}`, 'bulk', { cpu: '100m', memory: '128Mi' }).replace(
        'image: registry',
        `# ${'x'.repeat(4000)}\n          image: registry`,
      ),
    ).join('---\n')
    const paths = [0, 1, 2].map((i) =>
      big.file(
        `part-${i}.yaml`,
        `${filler}---\n${deployment(`web-${i}`, 'shop', { cpu: '2', memory: '256Mi' })}`,
      ),
    )
    const usage = big.file(
      'usage.json',
      JSON.stringify(usageJson(report([0, 1, 2].map((i) => container('shop', 'Deployment', `web-${i}`))))),
    )
    const usageIds = new Set(['memory-request-below-observed-p99', 'cpu-request-far-above-usage'])
    const found = (jobs: number) => {
      const out = join(big.dir, `report-${jobs}.json`)
      const r = run([
        'scan',
        ...paths,
        '--usage',
        usage,
        '-j',
        String(jobs),
        '--fail-on',
        'none',
        '-f',
        'json',
        '-o',
        out,
      ])
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const report = JSON.parse(readFileSync(out, 'utf8')) as {
        findings: { checkId: string; resource: { name: string } }[]
      }
      return report.findings
        .filter((f) => usageIds.has(f.checkId))
        .map((f) => `${f.checkId} ${f.resource.name}`)
    }
    const one = found(1)
    expect(one).toHaveLength(6)
    expect(found(3)).toEqual(one)
  }, 60_000)
})

describe('the docs', () => {
  const docs = resolve(import.meta.dirname, '..', '..', 'docs')

  it('the check over usage in docs/check-format.md works as documented', () => {
    const doc = readFileSync(join(docs, 'check-format.md'), 'utf8')
    const block = /## Observed usage[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1]
    expect(block).toBeDefined()
    const [check] = parseCheckFile('docs/check-format.md', block!).map(compileCheck)
    expect(check!.metadata.id).toBe('acme-memory-headroom')
    expect(runExamples(check!, podTemplates).map((o) => [o.example, o.got])).toEqual([
      ['headroom', 'pass'],
      ['not observed', 'skip'],
    ])
  })

  it('the expression in docs/cel.md compiles and judges', () => {
    const doc = readFileSync(join(docs, 'cel.md'), 'utf8')
    const expression = /## Observed usage[\s\S]*?```cel\n([\s\S]*?)```/.exec(doc)?.[1]?.trim()
    expect(expression).toBeDefined()
    const yaml = checkYaml(
      'doc-expression',
      `
match: {kinds: [PodTemplate]}
scope: container
matchConditions: [{name: observed, expression: usage != null}]
validations:
  - expression: ${JSON.stringify(expression!.replace(/\s+/g, ' '))}
    message: below the p99
`,
    )
    const engine = new Engine(parseCheckFile('doc.yaml', yaml).map(compileCheck), podTemplates, {
      version: 1000,
      usage: new UsageIndex([report([container('shop', 'Deployment', 'web')])]),
    })
    const verdicts = (memory: string) =>
      resourcesOf(deployment('web', 'shop', { cpu: '1', memory })).flatMap((r) =>
        engine.evaluate(r).map((x) => x.status),
      )
    expect(verdicts('256Mi')).toEqual(['fail'])
    expect(verdicts('512Mi')).toEqual(['pass'])
  })
})
