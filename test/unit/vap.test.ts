import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { requestFor } from '../../src/policy/admission/request.js'
import {
  evaluateAdmission,
  VALIDATION_FAILURE_ANNOTATION,
  type VapSet,
} from '../../src/policy/vap/evaluate.js'
import { loadAdmissionPolicies } from '../../src/policy/vap/load.js'
import { parseSource } from '../../src/resources/parse.js'

const dataFile = (name: string) => fileURLToPath(new URL(`../data/vap/${name}`, import.meta.url))
const docsOf = (file: string, text = readFileSync(file, 'utf8')) => parseSource(file, text).resources

function load(...texts: string[]): VapSet {
  const loaded = loadAdmissionPolicies(texts.flatMap((t, i) => docsOf(`inline-${i}.yaml`, t)))
  expect(loaded.errors).toEqual([])
  return loaded
}

function deployment(replicas: number, namespace = 'default', extra = ''): Record<string, unknown> {
  const [d] = docsOf(
    'deployment.yaml',
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${namespace}${extra}}
spec:
  replicas: ${replicas}
  template:
    spec:
      containers: [{name: app, image: nginx}]
`,
  )
  return d!.object
}

const namespace = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
})

function admit(
  set: VapSet,
  object: Record<string, unknown>,
  ns: Record<string, unknown> | null,
  params = [],
) {
  return evaluateAdmission(set, {
    object,
    oldObject: null,
    request: requestFor(object),
    namespaceObject: ns,
    paramResources: params,
  })
}

describe('ValidatingAdmissionPolicy: the documentation examples', () => {
  const demo = loadAdmissionPolicies(docsOf(dataFile('demo-policy.yaml')))

  it('loads the demo policy and its binding', () => {
    expect(demo.errors).toEqual([])
    expect(demo.policies.map((p) => p.name)).toEqual(['demo-policy.example.com'])
    expect(demo.bindings.map((b) => [b.name, b.policyName])).toEqual([
      ['demo-binding-test.example.com', 'demo-policy.example.com'],
    ])
  })

  it('denies more than 5 replicas in a namespace labelled environment=test, with the message the page shows', () => {
    const [result] = admit(demo, deployment(6, 'team'), namespace('team', { environment: 'test' }))
    expect(result?.decision).toBe('deny')
    expect(result?.denials).toEqual([
      {
        message:
          "ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' " +
          'denied request: failed expression: object.spec.replicas <= 5',
        reason: 'Invalid',
      },
    ])
  })

  it('admits 5 replicas, and does not apply in namespaces the binding does not select', () => {
    const test = namespace('team', { environment: 'test' })
    expect(admit(demo, deployment(5, 'team'), test).map((r) => r.verdict.status)).toEqual(['pass'])
    expect(admit(demo, deployment(6, 'prod'), namespace('prod', { environment: 'prod' }))).toEqual([])
  })

  describe('parameter resources (ReplicaLimit)', () => {
    const set = loadAdmissionPolicies(docsOf(dataFile('replica-limit.yaml')))
    const params = docsOf(dataFile('replica-limit-params.yaml')).map((r) => r.object)
    const test = namespace('default', { environment: 'test' })

    it('uses the parameter of the binding that matches: 3 for environment=test, 100 elsewhere', () => {
      expect(set.errors).toEqual([])
      const [denied] = admit(set, deployment(5), test, params as never)
      expect(denied?.binding).toBe('replicalimit-binding-test.example.com')
      expect(denied?.param).toEqual({ name: 'replica-limit-test.example.com', namespace: 'default' })
      // the page's message: "... denied request: object.spec.replicas must be no greater than 3"
      expect(denied?.denials[0]?.message).toMatch(
        /denied request: object.spec.replicas must be no greater than 3$/,
      )
      const [prod] = admit(
        set,
        deployment(50),
        namespace('default', { environment: 'prod' }),
        params as never,
      )
      expect([prod?.binding, prod?.verdict.status]).toEqual(['replicalimit-binding-nontest', 'pass'])
    })

    it('a param-driven limit: 3 replicas pass a limit of 5 and fail a limit of 2', () => {
      const limit = (maxReplicas: number) => [
        {
          apiVersion: 'rules.example.com/v1',
          kind: 'ReplicaLimit',
          metadata: { name: 'replica-limit-test.example.com', namespace: 'default' },
          maxReplicas,
        },
      ]
      expect(admit(set, deployment(3), test, limit(5) as never)[0]?.verdict.status).toBe('pass')
      const [fails] = admit(set, deployment(3), test, limit(2) as never)
      expect(fails?.verdict).toMatchObject({
        status: 'fail',
        violations: [{ message: 'object.spec.replicas must be no greater than 2', reason: 'Invalid' }],
      })
    })

    it('a missing parameter denies under parameterNotFoundAction Deny and is skipped under Allow', () => {
      const [denied] = admit(set, deployment(1), test, [])
      expect(denied?.decision).toBe('deny')
      expect(denied?.verdict).toMatchObject({
        status: 'error',
        message:
          'failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction',
      })
      const allowing = loadAdmissionPolicies(
        docsOf(
          'allow.yaml',
          readFileSync(dataFile('replica-limit.yaml'), 'utf8').replaceAll(
            'parameterNotFoundAction: Deny',
            'parameterNotFoundAction: Allow',
          ),
        ),
      )
      const [allowed] = admit(allowing, deployment(1), test, [])
      expect([allowed?.decision, allowed?.verdict.status]).toEqual(['admit', 'skip'])
    })

    it('selects parameters by label, evaluating once per parameter found', () => {
      const selecting = load(
        readFileSync(dataFile('replica-limit.yaml'), 'utf8').split('---')[0]!,
        `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: by-label}
spec:
  policyName: replicalimit-policy.example.com
  validationActions: [Deny]
  paramRef:
    selector: {matchLabels: {tier: gold}}
    parameterNotFoundAction: Deny`,
      )
      const param = (name: string, maxReplicas: number, tier: string) => ({
        apiVersion: 'rules.example.com/v1',
        kind: 'ReplicaLimit',
        metadata: { name, namespace: 'default', labels: { tier } },
        maxReplicas,
      })
      const results = admit(selecting, deployment(4), test, [
        param('a', 10, 'gold'),
        param('b', 3, 'gold'),
        param('c', 1, 'silver'),
      ] as never)
      expect(results.map((r) => [r.param?.name, r.verdict.status])).toEqual([
        ['a', 'pass'],
        ['b', 'fail'],
      ])
    })
  })

  it('matchConditions exclude requests (exclude-leases, exclude-kubelet-requests, rbac)', () => {
    const set = load(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: demo-policy.example.com}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: ["*"], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: ["*"]}
  matchConditions:
  - name: exclude-leases
    expression: '!(request.resource.group == "coordination.k8s.io" && request.resource.resource == "leases")'
  - name: exclude-kubelet-requests
    expression: '!("system:nodes" in request.userInfo.groups)'
  - name: rbac
    expression: 'request.resource.group != "rbac.authorization.k8s.io"'
  validations:
  - expression: "object.metadata.name.startsWith('demo')"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: all}
spec: {policyName: demo-policy.example.com, validationActions: [Deny]}`)
    const user = { username: 'alice', groups: ['system:authenticated'] }
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'x', namespace: 'a' },
    }
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'a' } }
    const run = (object: Record<string, unknown>, userInfo = user) =>
      evaluateAdmission(set, { object, oldObject: null, request: requestFor(object, { userInfo }) })[0]
        ?.verdict
    expect(run(lease)).toEqual({ status: 'skip', reason: "matchCondition 'exclude-leases' is false" })
    expect(run(cm, { username: 'system:node:n1', groups: ['system:nodes'] })?.status).toBe('skip')
    expect(run(cm)?.status).toBe('fail')
    expect(run({ ...cm, metadata: { name: 'demo-x', namespace: 'a' } })?.status).toBe('pass')
  })

  it('variables: the foo example, evaluated lazily', () => {
    const set = load(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: foo}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]
  variables:
  - name: foo
    expression: "'foo' in object.spec.metadata.labels ? object.spec.metadata.labels['foo'] : 'default'"
  validations:
  - expression: variables.foo == 'bar'
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: foo}
spec: {policyName: foo, validationActions: [Deny]}`)
    const withLabels = (labels: Record<string, string>) => ({
      ...deployment(1),
      spec: { metadata: { labels } },
    })
    expect(admit(set, withLabels({ foo: 'bar' }), null)[0]?.verdict.status).toBe('pass')
    expect(admit(set, withLabels({}), null)[0]?.verdict).toMatchObject({
      status: 'fail',
      violations: [{ message: "failed expression: variables.foo == 'bar'" }],
    })
  })

  it('auditAnnotations (the high-replica-count example) and validationActions [Warn, Audit]', () => {
    const policy = readFileSync(dataFile('demo-policy.yaml'), 'utf8').split('---')[0]!
    const audited = policy.replace(
      '  - expression: object.spec.replicas <= 5',
      `  - expression: object.spec.replicas > 50
    messageExpression: "'Deployment spec.replicas set to ' + string(object.spec.replicas)"
  auditAnnotations:
  - key: high-replica-count
    valueExpression: "'Deployment spec.replicas set to ' + string(object.spec.replicas)"`,
    )
    const set = load(
      audited,
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: warn-audit}
spec: {policyName: demo-policy.example.com, validationActions: [Warn, Audit]}`,
    )
    const [high] = admit(set, deployment(128), namespace('default'))
    expect([high?.verdict.status, high?.decision, high?.warnings]).toEqual(['pass', 'admit', []])
    // the audit event of the page: "demo-policy.example.com/high-replica-count": "Deployment spec.replicas set to 128"
    expect(high?.auditAnnotations).toEqual({
      'demo-policy.example.com/high-replica-count': 'Deployment spec.replicas set to 128',
    })
    const [low] = admit(set, deployment(3), namespace('default'))
    expect(low?.decision).toBe('admit')
    expect(low?.warnings).toEqual([
      "Validation failed for ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'warn-audit': " +
        'Deployment spec.replicas set to 3',
    ])
    expect(JSON.parse(low?.auditAnnotations[VALIDATION_FAILURE_ANNOTATION] ?? '[]')).toEqual([
      {
        message: 'Deployment spec.replicas set to 3',
        policy: 'demo-policy.example.com',
        binding: 'warn-audit',
        expressionIndex: 0,
        validationActions: ['Warn', 'Audit'],
      },
    ])
  })

  it('failurePolicy Ignore admits when evaluation errs; Fail denies', () => {
    const policy = (failurePolicy: string) => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: xyz}
spec:
  failurePolicy: ${failurePolicy}
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]
  validations:
  - expression: "object.spec.xyz == params.x"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: xyz}
spec: {policyName: xyz, validationActions: [Deny]}`
    const [ignored] = admit(load(policy('Ignore')), deployment(1), null)
    expect(ignored?.verdict.status).toBe('error')
    expect(ignored?.decision).toBe('admit')
    const [failed] = admit(load(policy('Fail')), deployment(1), null)
    expect(failed?.decision).toBe('deny')
    expect(failed?.denials[0]?.message).toContain(
      "expression 'object.spec.xyz == params.x' resulted in error",
    )
  })

  it('loads v1beta1 and v1alpha1 documents', () => {
    const text = readFileSync(dataFile('demo-policy.yaml'), 'utf8')
    for (const version of ['v1beta1', 'v1alpha1']) {
      const set = loadAdmissionPolicies(
        docsOf(
          `${version}.yaml`,
          text.replaceAll('admissionregistration.k8s.io/v1', `admissionregistration.k8s.io/${version}`),
        ),
      )
      expect(set.errors).toEqual([])
      expect([set.policies.length, set.bindings.length]).toEqual([1, 1])
    }
  })
})

describe('ValidatingAdmissionPolicy: loading', () => {
  it('reports shape problems with file, line, policy and field', () => {
    const { errors, bindings } = loadAdmissionPolicies(
      docsOf(
        'bad.yaml',
        `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: bad}
spec:
  failurePolicy: Sometimes
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, PATCH]
      resources: [deployments]
  validations:
  - expression: object.spec.replicas <=
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: both}
spec: {policyName: bad, validationActions: [Deny, Warn]}`,
      ),
    )
    expect(bindings).toEqual([])
    expect(errors.map((e) => [e.line, e.name, e.field, e.message])).toEqual([
      [5, 'bad', 'spec.failurePolicy', "expected one of Fail, Ignore, got 'Sometimes'"],
      [
        10,
        'bad',
        'spec.matchConstraints.resourceRules[0].operations[1]',
        expect.stringContaining("got 'PATCH'"),
      ],
      [18, 'both', 'spec.validationActions', 'Deny and Warn may not be used together'],
    ])
  })

  it('reports CEL errors at the expression, with the caret', () => {
    const { errors } = loadAdmissionPolicies(
      docsOf(
        'cel.yaml',
        `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: cel}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  validations:
  - expression: "true"
  - expression: "authorizer.group('').resource('pods').check('create').allowed()"
  - expression: "object.spec.replicas <="`,
      ),
    )
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ line: 9, name: 'cel', field: 'spec.validations[1].expression' })
    expect(errors[0]?.message).toMatch(/uses `authorizer`, which is not supported: .*not available offline/)
  })
})
