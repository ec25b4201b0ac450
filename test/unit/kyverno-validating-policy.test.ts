import { describe, expect, it } from 'vitest'
import { CelPolicyError, UnsupportedFeatureError } from '../../src/policy/admission/cel-policy.js'
import { requestFor } from '../../src/policy/admission/request.js'
import {
  isValidatingPolicyDocument,
  loadValidatingPolicy,
} from '../../src/policy/kyverno/validating-policy.js'
import { parseSource } from '../../src/resources/parse.js'

function policyOf(text: string) {
  const [doc] = parseSource('vpol.yaml', text).resources
  return loadValidatingPolicy(doc!.object, { file: 'vpol.yaml', locate: (path) => doc!.locate(path) })
}

const objects = (text: string) => parseSource('resources.yaml', text).resources.map((r) => r.object)

// The first example of kyverno.io/docs/policy-types/validating-policy/
const checkLabels = `apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: check-labels
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups:   [""]
      apiVersions: [v1]
      operations:  [CREATE, UPDATE]
      resources:   [pods]
  validations:
    - message: label 'environment' is required
      expression: "'environment' in object.metadata.?labels.orValue([])"
`

const [goodPod, badPod, deployment, cronJob, service] = objects(`apiVersion: v1
kind: Pod
metadata: {name: good, labels: {environment: prod}}
spec: {containers: [{name: app, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec: {hostNetwork: true, containers: [{name: app, image: nginx}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {environment: prod}}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {hostPID: true, containers: [{name: app, image: nginx}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {environment: prod}}
        spec: {containers: [{name: app, image: nginx}]}
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {type: ClusterIP}
`)

describe('Kyverno ValidatingPolicy', () => {
  it('recognises its documents in every served version', () => {
    for (const v of ['v1alpha1', 'v1beta1', 'v1'])
      expect(
        isValidatingPolicyDocument({ apiVersion: `policies.kyverno.io/${v}`, kind: 'ValidatingPolicy' }),
      ).toBe(true)
    expect(isValidatingPolicyDocument({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy' })).toBe(false)
  })

  it('check-labels: passes a labelled pod, fails one without the label, ignores what it does not match', () => {
    const policy = policyOf(checkLabels)
    expect(policy.name).toBe('check-labels')
    expect(policy.validationActions).toEqual(['Deny'])
    expect(policy.evaluate(goodPod!)).toMatchObject({ status: 'pass' })
    expect(policy.evaluate(badPod!)).toMatchObject({
      status: 'fail',
      message: "label 'environment' is required",
    })
    expect(policy.evaluate(service!)).toBeUndefined()
  })

  it('autogen: a pod policy applies to pod controllers, reading their pod template', () => {
    const policy = policyOf(checkLabels)
    // the Deployment's own labels have environment, its template's do not: the template decides
    expect(policy.evaluate(deployment!)).toMatchObject({ status: 'fail', autogen: 'Deployment' })
    expect(policy.evaluate(cronJob!)).toMatchObject({ status: 'pass', autogen: 'CronJob' })
  })

  it('autogen keeps metadata.name and metadata.namespace the controller’s own', () => {
    const policy = policyOf(
      checkLabels.replace(
        `"'environment' in object.metadata.?labels.orValue([])"`,
        `"object.metadata.name != 'web' && !has(object.spec.hostPID)"`,
      ),
    )
    expect(policy.evaluate(deployment!)).toMatchObject({ status: 'fail' })
    expect(policy.evaluate(cronJob!)).toMatchObject({ status: 'pass' })
  })

  it('autogen follows spec.autogen.podControllers.controllers, and does not apply to a policy that matches more than pods', () => {
    const onlyCronJobs = policyOf(
      checkLabels.replace(
        'spec:\n',
        'spec:\n  autogen:\n    podControllers:\n      controllers: [cronjobs]\n',
      ),
    )
    expect(onlyCronJobs.evaluate(deployment!)).toBeUndefined()
    expect(onlyCronJobs.evaluate(cronJob!)).toMatchObject({ status: 'pass' })
    const none = policyOf(
      checkLabels.replace('spec:\n', 'spec:\n  autogen:\n    podControllers:\n      controllers: []\n'),
    )
    expect(none.evaluate(deployment!)).toBeUndefined()
    const services = policyOf(checkLabels.replace('resources:   [pods]', 'resources:   [pods, services]'))
    expect(services.evaluate(deployment!)).toBeUndefined()
  })

  it('a matched resource whose matchConditions are false is skipped', () => {
    const policy = policyOf(
      checkLabels.replace(
        '  validations:',
        '  matchConditions:\n  - name: only-bad\n    expression: "object.metadata.name == \'bad\'"\n  validations:',
      ),
    )
    expect(policy.evaluate(goodPod!)).toMatchObject({ status: 'skip' })
    expect(policy.evaluate(badPod!)).toMatchObject({ status: 'fail' })
  })

  it('messageExpression (the check-deployment-labels example) and the first failing validation decides', () => {
    const policy = policyOf(`apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: check-deployment-labels
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups:   [apps]
      apiVersions: [v1]
      operations:  [CREATE, UPDATE]
      resources:   [deployments]
  variables:
    - name: environment
      expression: >-
        has(object.metadata.labels) && 'env' in object.metadata.labels && object.metadata.labels['env'] == 'prod'
  validations:
    - expression: >-
        variables.environment == true
      messageExpression: >-
        'Deployment labels must be env=prod' + (has(object.metadata.labels) && 'env' in object.metadata.labels ? ' but found env=' + string(object.metadata.labels['env']) : ' but no env label is present')
    - expression: "false"
`)
    const [testing] = objects(`apiVersion: apps/v1
kind: Deployment
metadata: {name: bad-deployment, labels: {app: nginx, env: testing}}
spec: {template: {spec: {containers: [{name: nginx, image: nginx:latest}]}}}`)
    expect(policy.evaluate(testing!)).toEqual({
      status: 'fail',
      message: 'Deployment labels must be env=prod but found env=testing',
      auditAnnotations: {},
    })
    expect(policy.evaluate(deployment!)).toMatchObject({
      status: 'fail',
      message: 'Deployment labels must be env=prod but no env label is present',
    })
  })

  it('uses the namespace object it is given', () => {
    const policy = policyOf(
      checkLabels.replace(
        `"'environment' in object.metadata.?labels.orValue([])"`,
        `"namespaceObject.metadata.name != 'default'"`,
      ),
    )
    const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
    expect(policy.evaluate(goodPod!, requestFor(goodPod!), ns('default'))).toMatchObject({ status: 'fail' })
    expect(policy.evaluate(goodPod!, requestFor(goodPod!), ns('shop'))).toMatchObject({ status: 'pass' })
  })

  // Kyverno's libraries compile; without the data `kyverno test` reads offline, their result is unknown.
  it('reports libraries that need a cluster or the network as unsupported when no data is given', () => {
    const lookup = checkLabels.replace(
      `"'environment' in object.metadata.?labels.orValue([])"`,
      `"resource.Get('v1', 'configmaps', 'default', 'allowed').data.size() > 0"`,
    )
    expect(policyOf(lookup).evaluate(goodPod!)).toEqual({
      status: 'unsupported',
      message: expect.stringMatching(/resource.Get\/List read the cluster's resources.*context file/),
    })
    const http = policyOf(checkLabels.replace('expression: "', "expression: \"http.Get('https://x').ok || "))
    // As in cel-go, `||` absorbs the error when the other side is true: the labelled pod passes.
    expect(http.evaluate(goodPod!)).toMatchObject({ status: 'pass' })
    expect(http.evaluate(badPod!)).toMatchObject({
      status: 'unsupported',
      message: expect.stringContaining('network'),
    })
    expect(() =>
      policyOf(checkLabels.replace('expression: "', "expression: \"authorizer.group('').check('x') || ")),
    ).toThrow(UnsupportedFeatureError)
  })

  it('reports a malformed policy with its field', () => {
    expect(() =>
      policyOf(checkLabels.replace('operations:  [CREATE, UPDATE]', 'operations:  [CREATE, PATCH]')),
    ).toThrow(CelPolicyError)
    expect(() =>
      policyOf(checkLabels.replace('operations:  [CREATE, UPDATE]', 'operations:  [CREATE, PATCH]')),
    ).toThrow(/spec.matchConstraints.resourceRules\[0\].operations\[1\]: expected one of/)
  })
})
