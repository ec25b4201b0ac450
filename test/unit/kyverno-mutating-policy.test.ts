/**
 * Kyverno's MutatingPolicy as pkg/cel/policies/mpol (compiler/policy.go, engine/engine.go) evaluates it:
 * matchConstraints select, a false match condition is `skip`, mutations run in order with Kyverno's CEL
 * libraries, variables are bound once for the policy (a lazy map shared by every mutation), the first
 * failure is `error`, and success is `pass` with the patched resource.
 */
import { load } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import { CelPolicyError, UnsupportedFeatureError } from '../../src/policy/admission/cel-policy.js'
import { readCelException } from '../../src/policy/kyverno/cel-exceptions.js'
import { toTemplateExpression } from '../../src/policy/kyverno/mutating-autogen.js'
import { loadMutatingPolicy } from '../../src/policy/kyverno/mutating-policy.js'

type Json = Record<string, unknown>
const metaOf = (o: Json | null | undefined): Json => (o?.metadata ?? {}) as Json

function mpol(spec: string) {
  return loadMutatingPolicy(
    load(`apiVersion: policies.kyverno.io/v1alpha1
kind: MutatingPolicy
metadata: {name: m}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
${spec}`) as Json,
    { file: 'mpol.yaml' },
  )
}

const pod = (spec: Json, metadata: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', ...metadata },
  spec,
})

describe('MutatingPolicy', () => {
  it('adds an annotation with an apply configuration when its match conditions hold (add-safe-to-evict)', () => {
    const policy = mpol(`  matchConditions:
    - name: has-emptydir
      expression: has(object.spec.volumes) && object.spec.volumes.exists(v, has(v.emptyDir))
  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: >-
          Object{metadata: Object.metadata{annotations: {"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}}}`)
    const withVolume = pod({ containers: [{ name: 'c' }], volumes: [{ name: 'v', emptyDir: {} }] })
    const result = policy.mutate(withVolume)
    expect(result?.status).toBe('pass')
    expect(metaOf(result?.patched).annotations).toEqual({
      'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true',
    })
    expect(policy.mutate(pod({ containers: [{ name: 'c' }] }))?.status).toBe('skip')
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'default' },
      spec: {},
    }
    expect(policy.mutate(service)).toBeUndefined()
  })

  it('keeps a variable at the value it had when first read, as Kyverno binds variables once (appendVariables)', () => {
    const policy = mpol(`  variables:
    - name: count
      expression: 'has(object.metadata.labels) ? size(object.metadata.labels) : 0'
  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"first": string(variables.count)}}}'
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"second": string(variables.count), "seen": string(size(object.metadata.labels))}}}'`)
    const result = policy.mutate(pod({ containers: [] }))
    expect(metaOf(result?.patched).labels).toEqual({ first: '0', second: '0', seen: '1' })
  })

  it('builds JSON patches per container with jsonpatch.escapeKey and filters out nulls (add-apparmor)', () => {
    const policy = mpol(`  mutations:
    - patchType: JSONPatch
      jsonPatch:
        expression: |
          !has(object.metadata.annotations) ? [JSONPatch{op: "add", path: "/metadata/annotations", value: {}}] : []
    - patchType: JSONPatch
      jsonPatch:
        expression: |
          object.spec.containers.map(c, c.name != "skip" ?
            JSONPatch{op: "add", path: "/metadata/annotations/" + jsonpatch.escapeKey("container.apparmor.security.beta.kubernetes.io/" + c.name), value: "runtime/default"} : null
          ).filter(p, p != null)`)
    const result = policy.mutate(pod({ containers: [{ name: 'a' }, { name: 'skip' }] }))
    expect(result?.status).toBe('pass')
    expect(metaOf(result?.patched).annotations).toEqual({
      'container.apparmor.security.beta.kubernetes.io/a': 'runtime/default',
    })
  })

  it('is an error when a patch cannot apply, and stops there (EvaluationResult.Error)', () => {
    const policy = mpol(`  mutations:
    - patchType: JSONPatch
      jsonPatch:
        expression: '[JSONPatch{op: "add", path: "/metadata/annotations/x", value: "1"}]'`)
    const result = policy.mutate(pod({ containers: [] }))
    expect(result?.status).toBe('error')
    expect(result?.message).toContain('JSON Patch')
  })

  it('lets spec.evaluation.useServerSideApply set atomic fields, which are refused otherwise (mpol/compiler/smd.go)', () => {
    const mutations = `  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{spec: Object.spec{tolerations: [{"key": "k", "operator": "Exists"}]}}'`
    expect(mpol(mutations).mutate(pod({ containers: [] }))?.status).toBe('error')
    const ssa = mpol(`  evaluation:
    useServerSideApply: true
${mutations}`).mutate(pod({ containers: [], tolerations: [{ key: 'old' }] }))
    expect(ssa?.status).toBe('pass')
    expect(ssa?.patched?.spec).toEqual({ containers: [], tolerations: [{ key: 'k', operator: 'Exists' }] })
  })

  it('uses Kyverno CEL libraries in mutations, and reports a cluster lookup without data as unsupported', () => {
    const policy = mpol(`  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"registry": image(object.spec.containers[0].image).registry()}}}'`)
    expect(
      metaOf(policy.mutate(pod({ containers: [{ name: 'c', image: 'nginx' }] }))?.patched).labels,
    ).toEqual({ registry: 'index.docker.io' })
    const lookup = mpol(`  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"n": string(resource.List("v1", "pods", "default").items.size())}}}'`)
    expect(lookup.mutate(pod({ containers: [] }))?.status).toBe('unsupported')
  })

  it('autogen: a pods policy mutates pod templates, rewritten by text as Kyverno rewrites it (mpol/autogen)', () => {
    const policy = mpol(`  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{spec: Object.spec{runtimeClassName: "prodclass"}}'`)
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'default' },
      spec: { template: { spec: { containers: [{ name: 'c' }] } } },
    }
    expect(policy.mutate(deployment)?.patched?.spec).toEqual({
      template: { spec: { containers: [{ name: 'c' }], runtimeClassName: 'prodclass' } },
    })
    const cronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c', namespace: 'default' },
      spec: { jobTemplate: { spec: { template: { spec: { containers: [] } } } } },
    }
    expect(policy.mutate(cronJob)?.patched?.spec).toEqual({
      jobTemplate: { spec: { template: { spec: { containers: [], runtimeClassName: 'prodclass' } } } },
    })
    // autogen_test.go, "no containers in expression": `Object.metadata{` is not rewritten, only wrapped.
    expect(
      toTemplateExpression(
        'Object{metadata: Object.metadata{labels: Object.metadata.labels{foo: "bar"}}}',
        'defaults',
      ),
    ).toBe(
      'Object{spec: Object.spec{template: Object.spec.template{metadata: Object.metadata{labels: Object.spec.template.metadata.labels{foo: "bar"}}}}}',
    )
  })

  it("has cel-go's regex extension, which Kyverno registers for CEL policies (ext.Regex v1)", () => {
    const policy = mpol(`  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: >-
          Object{metadata: Object.metadata{labels: {
            "image": regex.replace(object.spec.containers[0].image, "^docker\\\\.io/(.*)", r'registry.example/\\1'),
            "tag": regex.extract(object.spec.containers[0].image, ":(\\\\w+)$").orValue("none"),
            "parts": string(regex.extractAll("a1b2c3", "[a-z]\\\\d").size())}}}`)
    const result = policy.mutate(pod({ containers: [{ name: 'c', image: 'docker.io/nginx:stable' }] }))
    expect(metaOf(result?.patched).labels).toEqual({
      image: 'registry.example/nginx:stable',
      tag: 'stable',
      parts: '3',
    })
  })

  it('is unsupported when it mutates existing resources of a cluster (mutateExisting + targetMatchConstraints)', () => {
    expect(() =>
      mpol(`  evaluation:
    mutateExisting: {enabled: true}
  targetMatchConstraints:
    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]
  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{}'`),
    ).toThrow(UnsupportedFeatureError)
  })

  it('is skipped (or passed, by reportResult) when a PolicyException naming it holds (mpol/compiler/policy.go)', () => {
    const policy = mpol(`  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: 'Object{metadata: Object.metadata{labels: {"mutated": "yes"}}}'`)
    const exception = (reportResult = '', images = '') =>
      readCelException(
        load(`apiVersion: policies.kyverno.io/v1alpha1
kind: PolicyException
metadata: {name: skip-dev, namespace: kyverno}
spec:
  policyRefs: [{name: m, kind: MutatingPolicy}, {name: other, kind: MutatingPolicy}]
  matchConditions:
    - {name: dev, expression: "object.metadata.namespace == 'dev'"}
${reportResult}${images}`) as Json,
        'exception.yaml',
      )
    const dev = pod({ containers: [] }, { namespace: 'dev' })
    const skipped = policy.mutate(dev, undefined, null, { exceptions: [exception()] })
    expect(skipped).toMatchObject({
      status: 'skip',
      message: 'rule is skipped due to policy exception: kyverno/skip-dev',
    })
    expect(skipped?.patched).toEqual(dev)
    expect(
      policy.mutate(dev, undefined, null, { exceptions: [exception('  reportResult: pass\n')] })?.status,
    ).toBe('pass')
    expect(
      policy.mutate(pod({ containers: [] }), undefined, null, { exceptions: [exception()] })?.status,
    ).toBe('pass')
    expect(
      metaOf(policy.mutate(pod({ containers: [] }), undefined, null, { exceptions: [exception()] })?.patched)
        .labels,
    ).toEqual({
      mutated: 'yes',
    })
    // An exception that lists images only narrows image checks: it does not exempt.
    const partial = exception('', '  images: ["nginx*"]\n')
    expect(metaOf(policy.mutate(dev, undefined, null, { exceptions: [partial] })?.patched).labels).toEqual({
      mutated: 'yes',
    })
  })

  it('reports a policy without matchConstraints with its file and field', () => {
    expect(() =>
      loadMutatingPolicy(
        { apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'x' }, spec: {} },
        { file: 'x.yaml' },
      ),
    ).toThrow(CelPolicyError)
  })
})
