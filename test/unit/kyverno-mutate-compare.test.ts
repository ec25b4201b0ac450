/**
 * How `plimsoll kyverno test` compares patched and generated resources with a test's files, as
 * `kyverno test` does (cmd/cli/kubectl-kyverno/commands/test/compare.go and output.go; resource/tidy.go,
 * labels.go, compare.go), and runs mutation, validation and generation in admission's order
 * (processor/policy_processor.go).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { comparePatched, tidy } from '../../src/kyverno-test/compare-resources.js'
import { runKyvernoTest } from '../../src/kyverno-test/run.js'
import { readKyvernoTest } from '../../src/kyverno-test/test-file.js'

function kyvernoTest(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-kyverno-mutate-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  const report = runKyvernoTest(readKyvernoTest(join(dir, 'kyverno-test.yaml')))
  return report.entries.map(
    (e) => `${e.expected.rule}/${e.expected.resource}:${e.outcome}${e.detail ? ` (${e.detail})` : ''}`,
  )
}

const POLICY = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  rules:
  - name: add-team
    match: {any: [{resources: {kinds: [Pod]}}]}
    mutate:
      patchStrategicMerge:
        metadata:
          labels:
            +(team): core
  - name: require-team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      pattern:
        metadata:
          labels:
            team: "?*"
`

const POD = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: c, image: nginx}]
`

const test = (results: string) => `apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: t}
policies: [policy.yaml]
resources: [resources.yaml]
results:
${results}`

describe('comparing patched resources (resource/compare.go, tidy.go, labels.go)', () => {
  it('drops nulls, empty maps and empty lists at every depth before comparing', () => {
    expect(tidy({ a: null, b: {}, c: [], d: { e: [{}] }, f: 0, g: '' })).toEqual({ f: 0, g: '' })
    expect(comparePatched({ kind: 'Pod', spec: { volumes: [] } }, { kind: 'Pod', spec: {} })).toBe(true)
  })

  it('ignores generate.kyverno.io labels and a missing managed-by label, not other labels', () => {
    const expected = { kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1' } } }
    const actual = {
      kind: 'ConfigMap',
      metadata: {
        name: 'c',
        labels: { a: '1', 'app.kubernetes.io/managed-by': 'kyverno', 'generate.kyverno.io/policy-name': 'p' },
      },
    }
    expect(comparePatched(expected, actual)).toBe(true)
    expect(comparePatched(expected, { ...actual, metadata: { name: 'c', labels: { a: '2' } } })).toBe(false)
  })

  it('compares lists in order and never a string with a number', () => {
    expect(comparePatched({ l: [1, 2] }, { l: [2, 1] })).toBe(false)
    expect(comparePatched({ n: '1' }, { n: 1 })).toBe(false)
    expect(comparePatched({ n: 1 }, { n: 1.0 })).toBe(true)
  })
})

describe('kyverno test with patchedResources and generatedResource', () => {
  it("compares the policy's patched resource and lets validation see the mutated resource", () => {
    const outcomes = kyvernoTest({
      'policy.yaml': POLICY,
      'resources.yaml': POD,
      'patched.yaml': `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {team: core}}
spec:
  containers: [{name: c, image: nginx}]
`,
      'kyverno-test.yaml':
        test(`- {policy: p, rule: add-team, resources: [web], kind: Pod, result: pass, patchedResources: patched.yaml}
- {policy: p, rule: require-team, resources: [web], kind: Pod, result: pass}`),
    })
    expect(outcomes).toEqual(['add-team/web:matched', 'require-team/web:matched'])
  })

  it('fails a result whose patched resource differs, naming the first difference', () => {
    const [outcome] = kyvernoTest({
      'policy.yaml': POLICY,
      'resources.yaml': POD,
      'patched.yaml': `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {team: other}}
spec:
  containers: [{name: c, image: nginx}]
`,
      'kyverno-test.yaml': test(
        '- {policy: p, rule: add-team, resources: [web], kind: Pod, result: pass, patchedResources: patched.yaml}',
      ),
    })
    expect(outcome).toMatch(
      /add-team\/web:mismatched .*\/metadata\/labels\/team: expected "other", got "core"/,
    )
  })

  it('does not count a result whose patched file lacks the resource, as the CLI skips it', () => {
    const [outcome] = kyvernoTest({
      'policy.yaml': POLICY,
      'resources.yaml': POD,
      'patched.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: other}\n',
      'kyverno-test.yaml': test(
        '- {policy: p, rule: add-team, resources: [web], kind: Pod, result: fail, patchedResources: patched.yaml}',
      ),
    })
    expect(outcome).toMatch(
      /add-team\/web:matched \(kyverno test does not count this result: .*not found in manifest/,
    )
  })

  it('compares a generated resource with generatedResource', () => {
    const outcomes = kyvernoTest({
      'policy.yaml': `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  rules:
  - name: deny-all
    match: {any: [{resources: {kinds: [Namespace]}}]}
    generate:
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      name: default-deny
      namespace: "{{request.object.metadata.name}}"
      data:
        spec:
          podSelector: {}
          policyTypes: [Ingress]
`,
      'resources.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n',
      'generated.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`,
      'wrong.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  policyTypes: [Egress]
`,
      'kyverno-test.yaml':
        test(`- {policy: p, rule: deny-all, resources: [shop], kind: Namespace, result: pass, generatedResource: generated.yaml}
- {policy: p, rule: deny-all, resources: [shop], kind: Namespace, result: pass, generatedResource: wrong.yaml}`),
    })
    expect(outcomes[0]).toBe('deny-all/shop:matched')
    expect(outcomes[1]).toMatch(/deny-all\/shop:mismatched .*policyTypes/)
  })
})
