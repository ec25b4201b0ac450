/**
 * MutatingAdmissionPolicy as the API server applies it. The behaviours come from
 * k8s.io/apiserver/pkg/admission/plugin/policy/mutating (dispatcher.go, patch/smd.go, patch/json_patch.go),
 * k8s.io/apiserver/pkg/cel/mutation/dynamic/objects.go (type names of `Object.<path>{}`),
 * pkg/cel/library/jsonpatch.go (`jsonpatch.escapeKey`) and sigs.k8s.io/structured-merge-diff (merge.go).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runKyvernoTest } from '../../src/kyverno-test/run.js'
import { readKyvernoTest } from '../../src/kyverno-test/test-file.js'
import { applyConfiguration } from '../../src/policy/admission/mutation/apply-configuration.js'
import { DEDUCED, type SchemaNode, schemaFor } from '../../src/policy/admission/mutation/merge-schema.js'
import { rewriteObjectConstructions } from '../../src/policy/admission/mutation/object-literals.js'
import { requestFor } from '../../src/policy/admission/request.js'
import { applyJsonPatch, escapeJsonPointer, JsonPatchTestFailed } from '../../src/policy/json-patch.js'
import { loadMutatingAdmissionPolicies, type MapSet, mutateAdmission } from '../../src/policy/vap/mutating.js'
import { parseSource } from '../../src/resources/parse.js'

type Json = Record<string, unknown>
const metaOf = (o: Json | null | undefined): Json => (o?.metadata ?? {}) as Json
const docsOf = (text: string) => parseSource('inline.yaml', text).resources

function load(text: string): MapSet {
  const loaded = loadMutatingAdmissionPolicies(docsOf(text))
  expect(loaded.errors).toEqual([])
  return loaded
}

function policy(mutations: string, extra = '', version = 'v1beta1'): string {
  return `apiVersion: admissionregistration.k8s.io/${version}
kind: MutatingAdmissionPolicy
metadata: {name: p}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: ['', apps], apiVersions: [v1], operations: [CREATE], resources: [pods, deployments, namespaces]}
${extra}
  mutations:
${mutations}
---
apiVersion: admissionregistration.k8s.io/${version}
kind: MutatingAdmissionPolicyBinding
metadata: {name: b}
spec:
  policyName: p
`
}

const pod = (spec: Json = { containers: [{ name: 'app', image: 'nginx' }] }, metadata: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', ...metadata },
  spec,
})

function mutate(set: MapSet, object: Json, params: Json[] = [], ns: Json | null = null) {
  return mutateAdmission(set, {
    object,
    oldObject: null,
    request: requestFor(object),
    namespaceObject: ns ?? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    paramResources: params,
  })
}

describe('object construction in CEL (Object{...}, JSONPatch{...})', () => {
  it('rewrites only message constructions: strings, map literals after `in` and selections are left alone', () => {
    expect(rewriteObjectConstructions('Object{metadata: Object.metadata{labels: {"a": "{b}"}}}')).toBe(
      '__object("Object", {"metadata": dyn( __object("Object.metadata", {"labels": dyn( {"a": "{b}"})}))})',
    )
    expect(rewriteObjectConstructions('"x" in {"x": 1} && object.spec.size() > 0')).toBe(
      '"x" in {"x": 1} && object.spec.size() > 0',
    )
  })

  it('refuses a nested Object type not named after its field path (dynamic/objects.go typeCheck)', () => {
    const set = load(
      policy(`    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{spec: Object.wrong{hostname: "x"}}'`),
    )
    const [r] = mutate(set, pod()).results
    expect(r?.status).toBe('error')
    expect(r?.message).toContain('unexpected type name "Object.wrong", expected "Object.spec"')
  })
})

describe('ApplyConfiguration: server-side apply merge (structured-merge-diff)', () => {
  it('merges maps key by key and keeps what the configuration does not name', () => {
    const set = load(
      policy(`    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"team": "a"}}}'`),
    )
    const out = mutate(set, pod(undefined, { labels: { app: 'web' } }))
    expect(out.results[0]).toMatchObject({ status: 'pass', changed: true })
    expect(metaOf(out.object).labels).toEqual({ app: 'web', team: 'a' })
  })

  it('merges lists of named items by key: containers by name keep their other fields (listType=map)', () => {
    const merged = applyConfiguration(
      pod({
        containers: [
          { name: 'app', image: 'nginx' },
          { name: 'side', image: 'envoy' },
        ],
      }),
      {
        spec: {
          containers: [
            { name: 'side', imagePullPolicy: 'Always' },
            { name: 'new', image: 'busybox' },
          ],
        },
      },
      schemaFor('v1', 'Pod'),
    )
    expect((merged.spec as Json).containers).toEqual([
      { name: 'app', image: 'nginx' },
      { name: 'side', image: 'envoy', imagePullPolicy: 'Always' },
      { name: 'new', image: 'busybox' },
    ])
  })

  it('merges ports on their two keys, the protocol defaulting to TCP (listMapKey containerPort, protocol)', () => {
    const merged = applyConfiguration(
      pod({ containers: [{ name: 'app', ports: [{ containerPort: 80, name: 'http' }] }] }),
      {
        spec: {
          containers: [{ name: 'app', ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080 }] }],
        },
      },
      schemaFor('v1', 'Pod'),
    )
    expect(((merged.spec as Json).containers as Json[])[0]?.ports).toEqual([
      { containerPort: 80, name: 'http', protocol: 'TCP', hostPort: 8080 },
    ])
  })

  it('places shared items in the order the configuration gives them, new ones after (merge.go visitListItems)', () => {
    const merged = applyConfiguration(
      { spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } },
      {
        spec: {
          containers: [
            { name: 'c', x: 1 },
            { name: 'a', x: 2 },
          ],
        },
      },
      schemaFor('v1', 'Pod'),
    )
    expect(((merged.spec as Json).containers as Json[]).map((c) => c.name)).toEqual(['b', 'c', 'a'])
  })

  it("orders merged sets and keyed lists as structured-merge-diff's typed/merge_test.go expects", () => {
    const set: SchemaNode = { t: 'list', list: 'set', items: { t: 'scalar' } }
    const keyed: SchemaNode = { t: 'list', list: { keys: ['key', 'id'] }, items: { t: 'struct', fields: {} } }
    const schema: SchemaNode = { t: 'struct', fields: { setStr: set, list: keyed } }
    const cases: [string, string, string][] = [
      [
        '{"setStr":["a","b","c","g","f"]}',
        '{"setStr":["c","d","e","f"]}',
        '{"setStr":["a","b","c","g","d","e","f"]}',
      ],
      [
        '{"setStr":["a","b","c","d"]}',
        '{"setStr":["d","e","f","a"]}',
        '{"setStr":["b","c","d","e","f","a"]}',
      ],
      [
        '{"setStr":["a","b","c","d","e","f","g","h","i","j"]}',
        '{"setStr":["1","b","2","h","3","e","4","k","l"]}',
        '{"setStr":["a","1","b","c","d","f","g","2","h","i","j","3","e","4","k","l"]}',
      ],
      [
        '{"list":[{"key":"a","id":1},{"key":"b","id":2},{"key":"c","id":3}]}',
        '{"list":[{"key":"c","id":3},{"key":"a","id":1}]}',
        '{"list":[{"key":"b","id":2},{"key":"c","id":3},{"key":"a","id":1}]}',
      ],
      // an item the object holds twice is replaced by the configuration's, both copies dropped
      [
        '{"list":[{"key":"a","id":1,"bv":true},{"key":"b","id":2},{"key":"a","id":1,"bv":false,"nv":2}]}',
        '{"list":[{"key":"a","id":1,"nv":3},{"key":"c","id":3},{"key":"b","id":2}]}',
        '{"list":[{"key":"a","id":1,"nv":3},{"key":"c","id":3},{"key":"b","id":2}]}',
      ],
    ]
    for (const [live, configuration, merged] of cases)
      expect(applyConfiguration(JSON.parse(live), JSON.parse(configuration), schema)).toEqual(
        JSON.parse(merged),
      )
  })

  it('adds to a set only what it lacks (listType=set: metadata.finalizers)', () => {
    const merged = applyConfiguration(
      { metadata: { finalizers: ['a', 'b'] } },
      { metadata: { finalizers: ['b', 'c'] } },
      schemaFor('v1', 'Pod'),
    )
    expect((merged.metadata as Json).finalizers).toEqual(['a', 'b', 'c'])
  })

  it('replaces atomic and schemaless lists whole', () => {
    const merged = applyConfiguration({ data: { list: [1, 2, 3] } }, { data: { list: [4] } }, DEDUCED)
    expect(merged).toEqual({ data: { list: [4] } })
    const guarded = () =>
      applyConfiguration(
        pod({ containers: [{ name: 'app', args: ['a'] }] }),
        { spec: { containers: [{ name: 'app', args: ['b'] }] } },
        schemaFor('v1', 'Pod'),
      )
    expect(guarded).toThrow('may not mutate atomic arrays, maps or structs: .spec.containers[0].args')
    const unguarded = applyConfiguration(
      pod({ containers: [{ name: 'app', args: ['a'] }] }),
      { spec: { containers: [{ name: 'app', args: ['b'] }] } },
      schemaFor('v1', 'Pod'),
      { guardAtomics: false },
    )
    expect(((unguarded.spec as Json).containers as Json[])[0]?.args).toEqual(['b'])
  })

  it('refuses a configuration that sets an atomic struct (validatePatch: LabelSelector is structType=atomic)', () => {
    const set = load(
      policy(`    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{spec: Object.spec{selector: Object.spec.selector{matchLabels: {"a": "b"}}}}'`),
    )
    const object = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'default' },
      spec: {},
    }
    const [r] = mutate(set, object).results
    expect(r?.status).toBe('error')
    expect(r?.message).toContain('may not mutate atomic arrays, maps or structs: .spec.selector')
  })
})

describe('JSONPatch (RFC 6902, evanphx/json-patch)', () => {
  it('applies add, replace, remove, copy, move and `-` appends; escapeKey escapes / and ~', () => {
    const set = load(
      policy(`    - patchType: JSONPatch
      jsonPatch:
        expression: >-
          [
            JSONPatch{op: "add", path: "/metadata/annotations", value: {}},
            JSONPatch{op: "add", path: "/metadata/annotations/" + jsonpatch.escapeKey("a/b~c"), value: "1"},
            JSONPatch{op: "add", path: "/spec/containers/-", value: {"name": "side", "image": "envoy"}},
            JSONPatch{op: "replace", path: "/spec/containers/0/image", value: "nginx:1.27"},
            JSONPatch{op: "copy", from: "/spec/containers/0/image", path: "/metadata/labels/image"},
            JSONPatch{op: "move", from: "/metadata/labels/image", path: "/metadata/labels/was"},
            JSONPatch{op: "remove", path: "/spec/hostNetwork"}
          ]`),
    )
    const out = mutate(
      set,
      pod({ containers: [{ name: 'app', image: 'nginx' }], hostNetwork: true }, { labels: {} }),
    )
    expect(out.results[0]?.status).toBe('pass')
    expect(out.object).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web',
        namespace: 'default',
        labels: { was: 'nginx:1.27' },
        annotations: { 'a/b~c': '1' },
      },
      spec: {
        containers: [
          { name: 'app', image: 'nginx:1.27' },
          { name: 'side', image: 'envoy' },
        ],
      },
    })
    expect(escapeJsonPointer('a/b~c')).toBe('a~1b~0c')
  })

  it('replace and remove need their target; a failed test leaves the object unchanged (ErrTestFailed)', () => {
    expect(() => applyJsonPatch({ a: {} }, [{ op: 'replace', path: '/a/b', value: 1 }])).toThrow(
      'missing key',
    )
    expect(() => applyJsonPatch({ a: {} }, [{ op: 'remove', path: '/a/b' }])).toThrow('missing path')
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(
      JsonPatchTestFailed,
    )
    const set = load(
      policy(`    - patchType: JSONPatch
      jsonPatch:
        expression: '[JSONPatch{op: "test", path: "/spec/hostNetwork", value: false}, JSONPatch{op: "add", path: "/spec/hostPID", value: true}]'`),
    )
    const out = mutate(set, pod({ containers: [], hostNetwork: true }))
    expect(out.results[0]?.status).toBe('pass')
    expect(out.object?.spec).toEqual({ containers: [], hostNetwork: true })
  })
})

describe('the dispatcher: matchConditions, variables, order, bindings and params', () => {
  it('skips the mutations when a match condition is false', () => {
    const set = load(
      policy(
        `    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"seen": "yes"}}}'`,
        `  matchConditions:
    - name: only-labelled
      expression: 'has(object.metadata.labels) && "app" in object.metadata.labels'`,
      ),
    )
    expect(mutate(set, pod()).results[0]).toMatchObject({ status: 'skip', changed: false })
    expect(mutate(set, pod(undefined, { labels: { app: 'x' } })).results[0]?.status).toBe('pass')
  })

  it('runs mutations in order, each on the object the previous produced, variables evaluated anew', () => {
    const set = load(
      policy(
        `    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"count": string(variables.count)}}}'
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"again": string(variables.count)}}}'`,
        `  variables:
    - name: count
      expression: 'has(object.metadata.labels) ? size(object.metadata.labels) : 0'`,
      ),
    )
    const out = mutate(set, pod())
    expect(metaOf(out.object).labels).toEqual({ count: '0', again: '1' })
  })

  it('evaluates once per parameter the binding selects, in turn (generic.CollectParams)', () => {
    const set = load(
      `${policy(
        `    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {params.data.key: params.data.value}}}'`,
        '  paramKind: {apiVersion: v1, kind: ConfigMap}',
      ).replace(
        '  policyName: p\n',
        '  policyName: p\n  paramRef: {selector: {matchLabels: {use: "yes"}}, parameterNotFoundAction: Deny}\n',
      )}`,
    )
    const cm = (name: string, key: string, use = 'yes') => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'default', labels: { use } },
      data: { key, value: name },
    })
    const out = mutate(set, pod(), [cm('one', 'a'), cm('two', 'b'), cm('three', 'c', 'no')])
    expect(out.results.map((r) => r.param?.name)).toEqual(['one', 'two'])
    expect(metaOf(out.object).labels).toEqual({ a: 'one', b: 'two' })
    const missing = mutate(set, pod(), [])
    expect(missing.results[0]).toMatchObject({ status: 'error', decision: 'deny' })
    expect(missing.results[0]?.message).toContain('no params found')
  })

  it('applies a binding only where its matchResources select; no binding, no mutation', () => {
    const set = load(
      policy(`    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"bound": "yes"}}}'`).replace(
        '  policyName: p\n',
        '  policyName: p\n  matchResources:\n    namespaceSelector: {matchLabels: {env: prod}}\n',
      ),
    )
    const prod = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'default', labels: { env: 'prod' } },
    }
    expect(mutate(set, pod(), [], prod).results).toHaveLength(1)
    expect(mutate(set, pod()).results).toHaveLength(0)
    const unbound = load(
      policy(`    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{}'`).split('---')[0]!,
    )
    expect(mutate(unbound, pod()).results).toHaveLength(0)
  })

  it('a match condition that errs is an error under Fail, and does not match under Ignore (matchconditions.Matcher)', () => {
    const text = (failurePolicy: string) =>
      policy(
        `    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"x": "y"}}}'`,
        `  failurePolicy: ${failurePolicy}
  matchConditions:
    - name: errs
      expression: 'object.spec.missing == 1'`,
      )
    expect(mutate(load(text('Fail')), pod()).results[0]).toMatchObject({ status: 'error', decision: 'deny' })
    expect(mutate(load(text('Ignore')), pod()).results[0]).toMatchObject({
      status: 'skip',
      decision: 'admit',
    })
  })

  it('passes over a failing mutation and goes on with the next; failurePolicy Ignore admits', () => {
    const set = load(
      policy(
        `    - patchType: JSONPatch
      jsonPatch:
        expression: '[JSONPatch{op: "replace", path: "/spec/nothing", value: 1}]'
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"second": "ran"}}}'`,
        '  failurePolicy: Ignore',
      ),
    )
    const out = mutate(set, pod())
    expect(out.results[0]).toMatchObject({ status: 'error', decision: 'admit' })
    expect(metaOf(out.object).labels).toEqual({ second: 'ran' })
  })

  it('reports a mistake in an expression with the file, policy and field', () => {
    const loaded = loadMutatingAdmissionPolicies(
      docsOf(
        policy(`    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: }'`),
      ),
    )
    expect(loaded.errors[0]).toMatchObject({ kind: 'MutatingAdmissionPolicy', name: 'p' })
    expect(loaded.errors[0]?.field).toBe('spec.mutations[0].applyConfiguration.expression')
  })
})

/** Writes a Kyverno CLI test (paths relative to a fresh folder) and runs it. */
function kyvernoTest(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-map-test-'))
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text)
  return runKyvernoTest(readKyvernoTest(join(dir, 'kyverno-test.yaml')))
}

describe('kyverno test: patched resources of MutatingAdmissionPolicies and MutatingPolicies', () => {
  const resources = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec: {containers: [{name: app, image: nginx}]}
`
  const patched = (label: string) => `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {${label}: "yes"}}
spec: {containers: [{name: app, image: nginx}]}
`
  const test = (flag: string, file: string) => `apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: t}
policies: [policy.yaml]
resources: [resources.yaml]
results:
  - {policy: p, resources: [web], kind: Pod, result: pass, patchedResources: ${file}, ${flag}: true}
`

  it('compares the patched resource with the test file, as the CLI compares it (getAndCompareResource)', () => {
    const policyText = policy(`    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"mutated": "yes"}}}'`)
    const ok = kyvernoTest({
      'kyverno-test.yaml': test('isMutatingAdmissionPolicy', 'patched.yaml'),
      'policy.yaml': policyText,
      'resources.yaml': resources,
      'patched.yaml': patched('mutated'),
    })
    expect(ok.entries.map((e) => [e.outcome, e.kind])).toEqual([['matched', 'mutate']])
    const wrong = kyvernoTest({
      'kyverno-test.yaml': test('isMutatingAdmissionPolicy', 'patched.yaml'),
      'policy.yaml': policyText,
      'resources.yaml': resources,
      'patched.yaml': patched('other'),
    })
    expect(wrong.entries[0]?.outcome).toBe('mismatched')
    expect(wrong.entries[0]?.detail).toContain('/metadata/labels')
  })

  it("gives the Namespace the labels of the values file's namespaceSelector (the CLI's namespace resolver)", () => {
    const policyText = policy(`    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"mutated": "yes"}}}'`).replace(
      '      - {apiGroups',
      '    namespaceSelector: {matchLabels: {env: prod}}\n    resourceRules:\n      - {apiGroups',
    )
    const report = kyvernoTest({
      'kyverno-test.yaml': `${test('isMutatingAdmissionPolicy', 'patched.yaml')}variables: values.yaml\n`,
      'policy.yaml': policyText.replace('  matchConstraints:\n    resourceRules:\n', '  matchConstraints:\n'),
      'resources.yaml': resources,
      'patched.yaml': patched('mutated'),
      'values.yaml':
        'apiVersion: cli.kyverno.io/v1alpha1\nkind: Values\nnamespaceSelector:\n  - {name: default, labels: {env: prod}}\n',
    })
    expect(report.entries.map((e) => e.outcome)).toEqual(['matched'])
    const elsewhere = kyvernoTest({
      'kyverno-test.yaml': `${test('isMutatingAdmissionPolicy', 'patched.yaml')}variables: values.yaml\n`,
      'policy.yaml': policyText.replace('  matchConstraints:\n    resourceRules:\n', '  matchConstraints:\n'),
      'resources.yaml': resources,
      'patched.yaml': patched('mutated'),
      'values.yaml':
        'apiVersion: cli.kyverno.io/v1alpha1\nkind: Values\nnamespaceSelector:\n  - {name: default, labels: {env: dev}}\n',
    })
    expect(elsewhere.entries.map((e) => e.outcome)).toEqual(['missing'])
  })

  it('runs a MutatingPolicy named by a misspelled flag too (the CLI decodes flags case-insensitively)', () => {
    const report = kyvernoTest({
      'kyverno-test.yaml': test('isMUtatingPolicy', 'patched.yaml'),
      'policy.yaml': `apiVersion: policies.kyverno.io/v1alpha1
kind: MutatingPolicy
metadata: {name: p}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  mutations:
    - patchType: JSONPatch
      jsonPatch:
        expression: '[JSONPatch{op: "add", path: "/metadata/labels", value: {"json": "yes"}}]'
`,
      'resources.yaml': resources,
      'patched.yaml': patched('json'),
    })
    expect(report.entries.map((e) => [e.outcome, e.kind])).toEqual([['matched', 'mutate']])
  })
})
