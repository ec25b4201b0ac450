/**
 * `plimsoll kyverno test` behaving as `kyverno test` does (issue 12, validate points 1, 2, 3, 7 and 9).
 * Each test names the Kyverno CLI code it follows (kyverno/kyverno, cmd/cli/kubectl-kyverno/...).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { asKyvernoLoadsIt } from '../../src/kyverno-test/resources.js'
import { runKyvernoTest } from '../../src/kyverno-test/run.js'
import { readKyvernoTest } from '../../src/kyverno-test/test-file.js'
import { addVariable, valueKeyPath, withValues } from '../../src/policy/kyverno/context.js'
import { parseSource } from '../../src/resources/parse.js'
import { run } from '../helpers/cli.js'

/** Writes a test's files (paths relative to a fresh folder) and runs its kyverno-test.yaml. */
function kyvernoTest(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-kyverno-test-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  const report = runKyvernoTest(readKyvernoTest(join(dir, 'kyverno-test.yaml')))
  return { dir, report, outcomes: report.entries.map((e) => `${e.expected.resource}:${e.outcome}`) }
}

const testFile = (results: string, extra = '') => `apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: t}
policies: [policy.yaml]
resources: [resources.yaml]
${extra}results:
${results}`

const clusterPolicy = (rules: string) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  validationFailureAction: Audit
  background: false
  rules:
${rules}`

const pods = `apiVersion: v1
kind: Pod
metadata: {name: plain}
spec: {containers: [{name: a, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: placed, namespace: shop}
spec: {containers: [{name: a, image: nginx}]}
`

describe('1. resources named <namespace>/<name>, a namespaced resource without one in default', () => {
  // resource/resource.go, YamlToUnstructured: SetNamespace("default") unless the kind is cluster-scoped;
  // commands/test/output.go, printTestResult: `ns/name` is compared with the resource's namespace.
  const rule = `  - name: in-default
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: pods go to default
      deny:
        conditions:
          any:
          - {key: "{{ request.object.metadata.namespace }}", operator: NotEquals, value: default}
`
  it('matches default/<name> for a pod that names no namespace, which policies see in default', () => {
    const { outcomes } = kyvernoTest({
      'kyverno-test.yaml': testFile(`- policy: p
  rule: in-default
  resources: [default/plain, plain]
  result: pass
- policy: p
  rule: in-default
  resources: [shop/placed]
  result: fail
`),
      'policy.yaml': clusterPolicy(rule),
      'resources.yaml': pods,
    })
    expect(outcomes).toEqual(['default/plain:matched', 'plain:matched', 'shop/placed:matched'])
  })

  it('leaves cluster-scoped resources without a namespace, and empties null label maps', () => {
    const [ns, pod] = parseSource(
      'r.yaml',
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n',
    ).resources
    expect(asKyvernoLoadsIt(ns!).namespace).toBeUndefined()
    const loaded = asKyvernoLoadsIt(pod!)
    expect(loaded.namespace).toBe('default')
    expect(loaded.object.metadata).toEqual({ name: 'p', labels: {}, namespace: 'default' })
  })
})

const vpol = (expression: string, match = '') => `apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata: {name: v}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
${match}  validations:
  - expression: >-
      ${expression}
`

const vpolResults = (
  pass: string,
  fail: string,
) => `- {policy: v, isValidatingPolicy: true, resources: [${pass}], result: pass}
- {policy: v, isValidatingPolicy: true, resources: [${fail}], result: fail}
`

describe('2. the context file: resources for resource.Get/List, image data for image.GetMetadata', () => {
  // processor/utils.go, NewContextProvider, and pkg/cel/libs/fake_context.go (FakeContextProvider).
  const context = `apiVersion: cli.kyverno.io/v1alpha1
kind: Context
metadata: {name: c}
spec:
  resources:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: allowed, namespace: default}
    data: {images: "nginx"}
  images:
  - image: nginx
    config: {User: root}
`
  const lookups = vpol(
    `resource.Get('v1', 'configmaps', 'default', 'allowed').data.images.split(',').exists(i, i == object.spec.containers[0].image) && resource.List('v1', 'configmaps', 'default').items.size() == 1 && image.GetMetadata(object.spec.containers[0].image).config.User == 'root'`,
  )
  const resources = `${pods}---
apiVersion: v1
kind: Pod
metadata: {name: other}
spec: {containers: [{name: a, image: busybox}]}
`

  it('answers the libraries from the context file', () => {
    const { outcomes } = kyvernoTest({
      'kyverno-test.yaml': testFile(vpolResults('plain', 'other'), 'context: context.yaml\n'),
      'policy.yaml': lookups,
      'resources.yaml': resources,
      'context.yaml': context
        .replace('data: {images: "nginx"}', 'data: {images: "nginx,busybox"}')
        .replace(
          '  - image: nginx\n    config: {User: root}\n',
          '  - image: nginx\n    config: {User: root}\n  - image: busybox\n    config: {User: nobody}\n',
        ),
    })
    expect(outcomes).toEqual(['plain:matched', 'other:matched'])
  })

  it('gives null for a resource the context lacks, and errs for an image it lacks, as the CLI does', () => {
    const { report } = kyvernoTest({
      'kyverno-test.yaml': testFile(vpolResults('plain', 'other'), 'context: context.yaml\n'),
      'policy.yaml': vpol(
        `resource.Get('v1', 'configmaps', 'default', 'missing') == null && image.GetMetadata(object.spec.containers[0].image).config.User == 'root'`,
      ),
      'resources.yaml': resources,
      'context.yaml': context,
    })
    expect(report.entries.map((e) => e.outcome)).toEqual(['matched', 'mismatched'])
    expect(report.entries[1]!.detail).toContain('image data for busybox not found in the context')
  })

  it('says UNSUPPORTED, with the reason, when no context file is given (never ERROR)', () => {
    const { report } = kyvernoTest({
      'kyverno-test.yaml': testFile(vpolResults('plain', 'other')),
      'policy.yaml': lookups,
      'resources.yaml': resources,
    })
    expect(report.entries.map((e) => e.outcome)).toEqual(['unsupported', 'unsupported'])
    expect(report.entries[0]!.detail).toMatch(/(cluster's resources|image registry): give .* context file/)
  })
})

describe('3. values given as dotted keys as well as nested maps', () => {
  // pkg/engine/context/context.go, AddVariable: the key is split on dots (csv, quotes allowed) and the
  // value merged into the context (utils.go, mergeMaps); store/contextloader.go adds rule values so.
  it('splits keys on dots, with quoted fields, and merges maps into what is there', () => {
    expect(valueKeyPath('saMap.data.busybox')).toEqual(['saMap', 'data', 'busybox'])
    expect(valueKeyPath('"app.kubernetes.io/name".x')).toEqual(['app.kubernetes.io/name', 'x'])
    const ctx = { request: { operation: 'CREATE', object: { kind: 'Pod' } } }
    const out = withValues(ctx, {
      'request.operation': 'UPDATE',
      saMap: { data: { a: '1' } },
      'saMap.data.b': '2',
    })
    expect(out).toEqual({
      request: { operation: 'UPDATE', object: { kind: 'Pod' } },
      saMap: { data: { a: '1', b: '2' } },
    })
    expect(ctx.request.operation).toBe('CREATE')
    const nested: Record<string, unknown> = { a: { b: 1 } }
    addVariable(nested, 'a', { c: 2 })
    expect(nested).toEqual({ a: { b: 1, c: 2 } })
  })

  it('lets dotted values stand for a configMap context entry (restrict-service-account style)', () => {
    const policy = clusterPolicy(`  - name: allowed-images
    match: {any: [{resources: {kinds: [Pod]}}]}
    context:
    - name: saMap
      configMap: {name: sa-map, namespace: default}
    validate:
      message: image not allowed
      deny:
        conditions:
          any:
          - key: "{{ request.object.spec.containers[0].image }}"
            operator: AnyNotIn
            value: "{{ saMap.data.\\"{{request.object.metadata.name}}\\" | parse_json(@) }}"
`)
    const values = (style: string) => `apiVersion: cli.kyverno.io/v1alpha1
kind: Values
policies:
- name: p
  rules:
  - name: allowed-images
    values:
${style}`
    for (const style of [
      `      saMap.data.plain: '["nginx"]'\n      saMap.data.placed: '["busybox"]'\n`,
      `      saMap:\n        data: {plain: '["nginx"]', placed: '["busybox"]'}\n`,
    ]) {
      const { outcomes } = kyvernoTest({
        'kyverno-test.yaml': testFile(
          `- {policy: p, rule: allowed-images, resources: [plain], result: pass}
- {policy: p, rule: allowed-images, resources: [placed], result: fail}
`,
          'variables: values.yaml\n',
        ),
        'policy.yaml': policy,
        'resources.yaml': pods,
        'values.yaml': values(style),
      })
      expect(outcomes).toEqual(['plain:matched', 'placed:matched'])
    }
  })
})

describe('7. an UPDATE without an old object has the resource itself as oldObject', () => {
  // processor/policy_processor.go, makePolicyContext (UPDATE: WithOldResource(resource.DeepCopy())),
  // and processor/operation.go, AdmissionRequestShape (UPDATE: object and oldObject both the resource).
  it('compares the labels of object and oldObject equal (allowed-label-changes style)', () => {
    const { outcomes } = kyvernoTest({
      'kyverno-test.yaml': testFile(
        `- {policy: p, rule: unchanged, resources: [plain], result: pass}
- {policy: p, rule: unchanged, resources: [placed], result: skip}
`,
        'variables: values.yaml\n',
      ),
      'policy.yaml': clusterPolicy(`  - name: unchanged
    match: {any: [{resources: {kinds: [Pod]}}]}
    preconditions:
      all: [{key: "{{ request.operation }}", operator: Equals, value: UPDATE}]
    validate:
      message: labels changed
      deny:
        conditions:
          any:
          - key: "{{ request.object.metadata.name }}"
            operator: NotEquals
            value: "{{ request.oldObject.metadata.name }}"
`),
      'resources.yaml': pods,
      'values.yaml': `apiVersion: cli.kyverno.io/v1alpha1
kind: Values
policies:
- name: p
  resources:
  - name: plain
    values: {request.operation: UPDATE}
`,
    })
    expect(outcomes).toEqual(['plain:matched', 'placed:matched'])
  })

  it('gives CEL policies the global operation, with oldObject set on UPDATE', () => {
    const { outcomes } = kyvernoTest({
      'kyverno-test.yaml': testFile(vpolResults('plain', 'placed'), 'variables: values.yaml\n'),
      'policy.yaml': vpol(`request.operation == 'UPDATE' && oldObject.metadata.name == 'plain'`),
      'resources.yaml': pods,
      'values.yaml': `apiVersion: cli.kyverno.io/v1alpha1
kind: Values
globalValues: {request.operation: UPDATE}
`,
    })
    expect(outcomes).toEqual(['plain:matched', 'placed:matched'])
  })
})

describe('9. results no rule answered, and tests without results, as kyverno test counts them', () => {
  // commands/test/output.go, printTestResult: a response of the policy with no rule of the expected
  // name is an "Excluded" pass; commands/test/command.go skips a test whose results are empty.
  const rule = `  - name: needs-team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: team label
      pattern: {metadata: {labels: {team: "?*"}}}
`
  it('counts a result for a rule name the policy does not have as passed (excluded)', () => {
    const { report } = kyvernoTest({
      'kyverno-test.yaml': testFile(`- {policy: p, rule: needs-taem, resources: [plain], result: fail}
- {policy: p, rule: needs-team, resources: [plain], result: fail}
`),
      'policy.yaml': clusterPolicy(rule),
      'resources.yaml': pods,
    })
    expect(report.entries.map((e) => e.outcome)).toEqual(['matched', 'matched'])
    expect(report.entries[0]!.detail).toMatch(/^excluded: no rule named needs-taem/)
  })

  it('treats an unmatched ValidatingPolicy as excluded only when its matchConstraints narrow it', () => {
    const services = `apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {ports: [{port: 80}]}
`
    const results = '- {policy: v, isValidatingPolicy: true, kind: Service, resources: [svc], result: fail}\n'
    const plain = kyvernoTest({
      'kyverno-test.yaml': testFile(results),
      'policy.yaml': vpol('true'),
      'resources.yaml': services,
    })
    expect(plain.report.entries[0]!.outcome).toBe('missing')
    const narrowed = kyvernoTest({
      'kyverno-test.yaml': testFile(results),
      'policy.yaml': vpol('true', '    objectSelector: {matchLabels: {team: a}}\n'),
      'resources.yaml': services,
    })
    expect(narrowed.report.entries[0]!.outcome).toBe('matched')
  })

  it('does not run a test without results, and does not count it as failed', () => {
    const { dir, report } = kyvernoTest({
      'kyverno-test.yaml': testFile('  []\n'),
      'policy.yaml': clusterPolicy(rule),
      'resources.yaml': pods,
    })
    expect(report).toMatchObject({ skipped: true, entries: [] })
    const r = run(['kyverno', 'test', dir])
    expect(r.stdout).toMatch(/^SKIP t \(no expected results: kyverno test does not run it\)/m)
    expect(r.stdout).toContain('1 tests: 0 passed, 0 not, 1 without expected results (not run)')
    expect(r.code).toBe(0)
  })
})
