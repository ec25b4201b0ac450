/**
 * Kyverno's GeneratingPolicy as `kyverno test` evaluates it (pkg/cel/policies/gpol/compiler/policy.go and
 * engine/engine.go, the CLI's FakeContextProvider.GenerateResources in pkg/cel/libs/fake_context.go):
 * `generator.Apply(namespace, objects)` records the objects in that namespace, `...List` objects give
 * their items, unmatched triggers give no result.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import { runKyvernoTest } from '../../src/kyverno-test/run.js'
import { readKyvernoTest } from '../../src/kyverno-test/test-file.js'
import { readCelException } from '../../src/policy/kyverno/cel-exceptions.js'
import { loadGeneratingPolicy } from '../../src/policy/kyverno/generating-policy.js'

type Json = Record<string, unknown>

function gpol(spec: string) {
  return loadGeneratingPolicy(
    load(`apiVersion: policies.kyverno.io/v1alpha1
kind: GeneratingPolicy
metadata: {name: g}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [namespaces]}
${spec}`) as Json,
    { file: 'gpol.yaml' },
  )
}

const namespace = (name: string, labels: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
})

describe('GeneratingPolicy', () => {
  it('generates the objects generator.Apply receives, in the namespace it names (add-network-policy)', () => {
    const policy = gpol(`  variables:
    - name: targetNs
      expression: object.metadata.name
    - name: downstream
      expression: >-
        [{"kind": dyn("NetworkPolicy"), "apiVersion": dyn("networking.k8s.io/v1"),
          "metadata": dyn({"name": "default-deny"}),
          "spec": dyn({"podSelector": dyn({}), "policyTypes": dyn(["Ingress", "Egress"])})}]
  generate:
    - expression: generator.Apply(variables.targetNs, variables.downstream)`)
    const result = policy.generate(namespace('team-a'))
    expect(result?.status).toBe('pass')
    expect(result?.generated).toEqual([
      {
        kind: 'NetworkPolicy',
        apiVersion: 'networking.k8s.io/v1',
        metadata: { name: 'default-deny', namespace: 'team-a' },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      },
    ])
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' } }
    expect(policy.generate(pod)).toBeUndefined()
  })

  it('expands an object with an items list (what resource.List gives, Unstructured.IsList) into its items', () => {
    const policy = gpol(`  generate:
    - expression: >-
        generator.Apply(object.metadata.name, [{"items": [
          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"}}]}])`)
    expect(policy.generate(namespace('copy'))?.generated).toEqual([
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'copy' } },
    ])
  })

  it('expands a List into its items and gives no result when a match condition is false', () => {
    const policy = gpol(`  matchConditions:
    - name: labelled
      expression: '"generate" in object.metadata.labels'
  generate:
    - expression: >-
        generator.Apply("shared", [{"apiVersion": "v1", "kind": "ConfigMapList", "items": [
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "elsewhere"}}]}])`)
    const result = policy.generate(namespace('x', { generate: 'yes' }))
    expect(result?.generated?.map((g) => g.metadata)).toEqual([
      { name: 'a', namespace: 'shared' },
      { name: 'b', namespace: 'shared' },
    ])
    expect(policy.generate(namespace('x'))).toBeUndefined()
  })

  it('generates the documents of a template entry, and an erring expression makes an error', () => {
    const policy = gpol(`  generate:
    - template:
        value: |
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: from-template, namespace: ns1}
    - expression: generator.Apply("ns1", [object.spec.missing])`)
    const result = policy.generate(namespace('x'))
    expect(result?.status).toBe('error')
    const ok = gpol(`  generate:
    - template:
        value: |
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: from-template, namespace: ns1}`).generate(namespace('x'))
    expect(ok?.generated).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-template', namespace: 'ns1' } },
    ])
    const interpolated = gpol(`  generate:
    - template:
        interpolate: cel
        value: |
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: ((object.metadata.name))}`).generate(namespace('x'))
    expect(interpolated?.status).toBe('unsupported')
  })
})

describe('GeneratingPolicy with PolicyExceptions (gpol/compiler/policy.go)', () => {
  it('generates nothing, and is skipped, when an exception naming it holds', () => {
    const policy = gpol(`  generate:
    - expression: 'generator.Apply("x", [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}])'`)
    const exception = readCelException(
      load(`apiVersion: policies.kyverno.io/v1beta1
kind: PolicyException
metadata: {name: not-system}
spec:
  policyRefs: [{name: g, kind: GeneratingPolicy}]
  matchConditions: [{name: system, expression: "object.metadata.name.startsWith('kube-')"}]`) as Json,
      'exception.yaml',
    )
    expect(policy.generate(namespace('kube-system'), undefined, null, { exceptions: [exception] })).toEqual({
      status: 'skip',
      message: 'rule is skipped due to policy exception: not-system',
      generated: [],
    })
    expect(
      policy.generate(namespace('team'), undefined, null, { exceptions: [exception] })?.generated,
    ).toHaveLength(1)
  })
})

describe('kyverno test: generated resources of GeneratingPolicies', () => {
  it('compares each generated resource with the generatedResource file (checkResult, GeneratedResource)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-gpol-test-'))
    const files: Record<string, string> = {
      'kyverno-test.yaml': `apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: t}
policies: [policy.yaml]
resources: [resources.yaml]
results:
  - {policy: g, resources: [team-a], kind: Namespace, result: pass, generatedResource: generated.yaml, isGeneratingPolicy: true}
`,
      'policy.yaml': `apiVersion: policies.kyverno.io/v1beta1
kind: GeneratingPolicy
metadata: {name: g}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [namespaces]}]
  generate:
    - expression: 'generator.Apply(object.metadata.name, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"owner": object.metadata.name}}])'
`,
      'resources.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n',
      'generated.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: team-a}\ndata: {owner: team-a}\n',
    }
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text)
    const report = runKyvernoTest(readKyvernoTest(join(dir, 'kyverno-test.yaml')))
    expect(report.entries.map((e) => [e.outcome, e.kind])).toEqual([['matched', 'generate']])
    writeFileSync(
      join(dir, 'generated.yaml'),
      files['generated.yaml']!.replace('owner: team-a', 'owner: team-b'),
    )
    const changed = runKyvernoTest(readKyvernoTest(join(dir, 'kyverno-test.yaml')))
    expect(changed.entries[0]?.outcome).toBe('mismatched')
  })
})
