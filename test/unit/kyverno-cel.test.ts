/**
 * Kyverno's CEL as `kyverno test` evaluates it (issue 12, validate points 4, 5, 6 and 8): explicit nulls,
 * `has()` on any field selection, Kyverno's CEL libraries, and `validate.cel` errors as failures. Each
 * test names the Kyverno (or cel-go) code it follows.
 */
import { describe, expect, it } from 'vitest'
import { compileCelPolicy } from '../../src/policy/admission/cel-policy.js'
import { requestFor } from '../../src/policy/admission/request.js'
import { ExternalData } from '../../src/policy/kyverno/cel/external-data.js'
import { parseReference } from '../../src/policy/kyverno/cel/image-reference.js'
import { parseServiceAccount } from '../../src/policy/kyverno/cel/pure-libraries.js'
import { applyKyvernoPolicy } from '../../src/policy/kyverno/evaluate.js'
import { resourceKindOf } from '../../src/policy/kyverno/kinds.js'
import { loadKyvernoPolicy } from '../../src/policy/kyverno/load.js'
import { loadValidatingPolicy } from '../../src/policy/kyverno/validating-policy.js'
import { parseSource } from '../../src/resources/parse.js'

type Json = Record<string, unknown>

const doc = (yaml: string) => parseSource('x.yaml', yaml).resources[0]!

/** A ValidatingPolicy on pods (and any kind with `resources`) with one validation. */
function vpol(expression: string, resources = 'pods', group = '""') {
  const d = doc(`apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata: {name: v}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {apiGroups: [${group}], apiVersions: [v1], operations: [CREATE], resources: [${resources}]}
  validations:
  - expression: ${JSON.stringify(expression)}
`)
  return loadValidatingPolicy(d.object, { file: 'x.yaml' })
}

const pod: Json = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'a', image: 'nginx' }] },
}
const evaluate = (expression: string, object: Json = pod, data?: ExternalData) =>
  vpol(expression).evaluate(object, requestFor(object), null, data ? { data } : {})?.status

describe('4. explicit nulls are kept as null in what CEL sees', () => {
  // The CLI decodes manifests into unstructured objects (resource/resource.go), which keep nulls; cel-go
  // selects through `.?` on a null as none (interpreter/attributes.go, presence tests on non-maps).
  const role = doc(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: default-rules}
rules: null
`).object
  it('sees `rules: null` as null (restrict-wildcard-verbs style)', () => {
    const policy = vpol(
      "object.rules == null || !object.rules.exists(r, '*' in r.verbs)",
      'clusterroles',
      'rbac.authorization.k8s.io',
    )
    expect(policy.evaluate(role, requestFor(role))?.status).toBe('pass')
  })

  it('gives none for `.?f` on a null field (require-annotations on a CronJob with `metadata:`)', () => {
    const cronJob = doc(`apiVersion: v1
kind: Pod
metadata: {name: c}
spec:
  template:
    metadata:
`).object
    expect(evaluate("object.spec.template.metadata.?annotations[?'team'].orValue('') == ''", cronJob)).toBe(
      'pass',
    )
    expect(evaluate('object.spec.template.metadata == null', cronJob)).toBe('pass')
    expect(evaluate('object.spec.template.?metadata.hasValue()', cronJob)).toBe('pass')
  })

  it('keeps nulls in a ClusterPolicy validate.cel rule too', () => {
    const { policy } = loadKyvernoPolicy(
      doc(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  rules:
  - name: r
    match: {any: [{resources: {kinds: [ClusterRole]}}]}
    validate:
      cel:
        expressions:
        - expression: "object.rules == null"
`).object,
      'x.yaml',
      () => 1,
    )
    const [r] = applyKyvernoPolicy(policy, {
      object: role,
      oldObject: null,
      operation: 'CREATE',
      user: { username: '', groups: [], roles: [], clusterRoles: [] },
      kind: resourceKindOf('rbac.authorization.k8s.io/v1', 'ClusterRole'),
    })
    expect(r?.status).toBe('pass')
  })
})

describe('5. has() accepts any field selection', () => {
  // cel-go parser/macro.go, MakeHas: the argument must be a select expression; its operand may be any
  // expression (an index, a call), evaluated as usual.
  it('tests a field selected through an index or a call', () => {
    expect(evaluate('has(object.spec.containers[0].image)')).toBe('pass')
    expect(evaluate('!has(object.spec.containers[0].securityContext)')).toBe('pass')
    expect(evaluate("has(object.spec.containers.filter(c, c.name == 'a')[0].name)")).toBe('pass')
    expect(evaluate('has(object.spec.containers[3].image)')).toBe('error')
  })

  it('does so in every admission policy (the API server runs cel-go too)', () => {
    const policy = compileCelPolicy(
      {
        matchConditions: [],
        variables: [],
        validations: [{ expression: 'has(object.spec.containers[0].name)' }],
      },
      { file: 'x.yaml', policy: 'vap', kind: 'ValidatingAdmissionPolicy' },
    )
    expect(policy.evaluate({ object: pod, oldObject: null, request: requestFor(pod) }).status).toBe('pass')
  })
})

describe("6. Kyverno's CEL libraries (kyverno/sdk extensions/cel/libs)", () => {
  it('user: parseServiceAccount, with and without the user. prefix (user/impl.go)', () => {
    expect(parseServiceAccount('system:serviceaccount:team:builder')).toEqual({
      Namespace: 'team',
      Name: 'builder',
    })
    expect(parseServiceAccount('alice')).toEqual({ Namespace: '', Name: '' })
    expect(evaluate("parseServiceAccount('system:serviceaccount:a:b').Name == 'b'")).toBe('pass')
    expect(evaluate("user.parseServiceAccount('system:serviceaccount:a:b').Namespace == 'a'")).toBe('pass')
  })

  it('image: go-containerregistry references (image/impl.go, name.ParseReference)', () => {
    expect(parseReference('nginx')).toEqual({
      registry: 'index.docker.io',
      repository: 'library/nginx',
      tag: 'latest',
    })
    expect(parseReference('docker.io/bitnami/nginx:1.2')).toMatchObject({
      registry: 'index.docker.io',
      repository: 'bitnami/nginx',
      tag: '1.2',
    })
    const digest = `sha256:${'a'.repeat(64)}`
    expect(parseReference(`ghcr.io/org/app:1@${digest}`)).toEqual({
      registry: 'ghcr.io',
      repository: 'org/app',
      digest,
    })
    expect(() => parseReference('Upper/Case')).toThrow()
    expect(
      evaluate(
        `image('localhost:5000/app').registry() == 'localhost:5000' && image('nginx').identifier() == 'latest' && !image('nginx').containsDigest() && isImage('nginx:1') && !isImage('NGINX') && parseImageReference('ghcr.io/a/b:v1').tag() == 'v1' && image('nginx@${digest}').digest() == '${digest}'`,
      ),
    ).toBe('pass')
  })

  it('resource and image data: from the data handed in, unsupported without it (resource/impl.go)', () => {
    const data = new ExternalData(
      [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'c', namespace: 'default', labels: { a: 'b' } },
          data: { k: 'v' },
        },
      ],
      new Map([['nginx', { image: 'nginx', config: { User: 'root' } }]]),
    )
    const lookups = [
      "resource.Get('v1', 'configmaps', 'default', 'c').data.k == 'v'",
      "resource.get('v1', 'configmaps', 'default', 'gone') == null",
      "resource.List('v1', 'configmaps', 'default', {'a': 'b'}).items.size() == 1",
      "resource.List('v1', 'configmaps', 'other').items.size() == 0",
      "image.GetMetadata('nginx').config.User == 'root'",
    ]
    for (const expression of lookups) {
      expect(evaluate(expression, pod, data), expression).toBe('pass')
      expect(evaluate(expression), expression).toBe('unsupported')
    }
    // The CLI's fake provider has no list of a kind the context lacks: an error, as in kyverno test.
    expect(evaluate("resource.List('apps/v1', 'deployments', 'default').items.size() == 0", pod, data)).toBe(
      'error',
    )
  })

  it('http, globalContext and resource.Post need a cluster or the network: unsupported', () => {
    for (const expression of [
      "http.Get('https://example.com').ok",
      "globalContext.Get('entry', '') != null",
      "resource.Post('v1', 'configmaps', {}) != null",
    ])
      expect(vpol(expression).evaluate(pod)).toMatchObject({
        status: 'unsupported',
        message: expect.any(String),
      })
  })

  it('hash, math, json, yaml, random, transform and time', () => {
    for (const expression of [
      "sha256('a') == 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb'",
      "hash.md5('a') == '0cc175b9c0f1b6a831c399e269772661' && sha1('a').size() == 40",
      'math.round(10.125, 2) == 10.13 && math.round(12345.6789, -2) == 12300.0',
      "json.unmarshal('{\"count\": 5}').count == 5 && yaml.parse('items: [a, b]').items.size() == 2",
      "random('[0-9]{4}-[a-z]{2}').matches('^[0-9]{4}-[a-z]{2}$') && random().size() == 8",
      "listObjToMap([{'name': 'app'}], [{'version': 'v1'}], 'name', 'version') == {'app': 'v1'}",
      "time.toCron(timestamp('2025-01-02T15:30:00Z')) == '30 15 2 1 4'",
      "time.truncate(timestamp('2025-01-02T03:45:27Z'), duration('1h')) == timestamp('2025-01-02T03:00:00Z')",
      "time.now() > timestamp('2025-01-01T00:00:00Z')",
    ])
      expect(evaluate(expression), expression).toBe('pass')
  })
})

describe('8. a CEL runtime error in a ClusterPolicy validate.cel rule is a fail', () => {
  // pkg/engine/handlers/validation/validate_cel.go: Kubernetes' validator with no failure policy denies
  // on an evaluation error (policyDecisionActionForError), which Kyverno reports as RuleFail.
  it('fails the rule with the error as its message', () => {
    const { policy } = loadKyvernoPolicy(
      doc(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  rules:
  - name: r
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      cel:
        expressions:
        - expression: "object.spec.template.spec.hostNetwork == false"
`).object,
      'x.yaml',
      () => 1,
    )
    const [r] = applyKyvernoPolicy(policy, {
      object: pod,
      oldObject: null,
      operation: 'CREATE',
      user: { username: '', groups: [], roles: [], clusterRoles: [] },
      kind: resourceKindOf('v1', 'Pod'),
    })
    expect(r?.status).toBe('fail')
    expect(r?.message).toMatch(/resulted in error: No such key: template/)
  })
})
