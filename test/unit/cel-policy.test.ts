import { describe, expect, it } from 'vitest'
import {
  type AdmissionInput,
  CelPolicyError,
  type CelPolicySpec,
  compileCelPolicy,
  UnsupportedFeatureError,
} from '../../src/policy/admission/cel-policy.js'
import { PER_CALL_LIMIT, RUNTIME_COST_BUDGET } from '../../src/policy/admission/cost.js'
import { requestFor } from '../../src/policy/admission/request.js'

const origin = { file: 'policy.yaml', policy: 'demo', kind: 'ValidatingAdmissionPolicy' }

function compile(spec: Partial<CelPolicySpec>) {
  return compileCelPolicy({ matchConditions: [], variables: [], validations: [], ...spec }, origin)
}

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
}

const create = (
  object: Record<string, unknown> = pod,
  extra: Partial<AdmissionInput> = {},
): AdmissionInput => ({
  object,
  oldObject: null,
  request: requestFor(object),
  ...extra,
})

describe('admission CEL: messages', () => {
  const failing = (v: { message?: string; messageExpression?: string }) =>
    compile({ validations: [{ expression: 'object.spec.containers.size() > 1 ', ...v }] }).evaluate(create())

  it('uses the messageExpression, then the message, then "failed expression: <expression>"', () => {
    expect(
      failing({ messageExpression: "'only ' + string(size(object.spec.containers))", message: 'm' }),
    ).toMatchObject({
      violations: [{ message: 'only 1', reason: 'Invalid', validation: 0 }],
    })
    expect(failing({ message: ' too few containers ' })).toMatchObject({
      violations: [{ message: 'too few containers' }],
    })
    expect(failing({})).toMatchObject({
      violations: [{ message: 'failed expression: object.spec.containers.size() > 1' }],
    })
  })

  it('falls back to the message when the messageExpression errs, is blank or spans lines', () => {
    for (const messageExpression of ['object.nope.x', "'  '", "'a\\nb'"])
      expect(failing({ messageExpression, message: 'static' })).toMatchObject({
        violations: [{ message: 'static' }],
      })
  })

  it('keeps a validation reason, defaulting to Invalid', () => {
    const verdict = compile({
      validations: [{ expression: 'false', reason: 'Forbidden' }, { expression: 'false' }],
    }).evaluate(create())
    expect(verdict).toMatchObject({ violations: [{ reason: 'Forbidden' }, { reason: 'Invalid' }] })
  })
})

describe('admission CEL: variables and request data', () => {
  it('has object null on DELETE and oldObject null on CREATE', () => {
    const policy = compile({
      validations: [{ expression: 'object == null' }, { expression: 'oldObject == null' }],
    })
    expect(policy.evaluate(create()).status).toBe('fail')
    const del = { object: null, oldObject: pod, request: requestFor(pod, { operation: 'DELETE' }) }
    expect(policy.evaluate(del)).toMatchObject({ status: 'fail', violations: [{ validation: 1 }] })
  })

  it('gives request, params and namespaceObject', () => {
    const policy = compile({
      validations: [
        {
          expression:
            "request.operation == 'CREATE' && request.resource.resource == 'pods' && request.namespace == 'shop'",
        },
        { expression: 'params == null' },
        { expression: "namespaceObject.metadata.labels.team == 'shop'" },
        { expression: "request.kind.kind == 'Pod' && request.userInfo.username == 'alice'" },
      ],
    })
    const input = create(pod, {
      namespaceObject: {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'shop', labels: { team: 'shop' } },
      },
      request: requestFor(pod, { userInfo: { username: 'alice', groups: [] } }),
    })
    expect(policy.evaluate(input).status).toBe('pass')
  })

  it('evaluates a variable only where it is used, and an error only fails what reads it', () => {
    const policy = compile({
      variables: [
        { name: 'broken', expression: 'object.spec.missing.field' },
        { name: 'images', expression: 'object.spec.containers.map(c, c.image)' },
      ],
      validations: [
        { expression: "variables.images.all(i, i.contains(':'))" },
        { expression: 'variables.broken == 1' },
      ],
    })
    const verdict = policy.evaluate(create())
    expect(verdict.status).toBe('error')
    expect(verdict).toMatchObject({ problems: [{ validation: 1, field: 'spec.validations[1].expression' }] })
  })

  it('offers the string extension and Kubernetes libraries', () => {
    const policy = compile({
      validations: [
        {
          expression:
            "'%s has %d containers'.format([object.metadata.name, size(object.spec.containers)]) == 'web has 1 containers'",
        },
        { expression: "object.spec.containers[0].image.split(':')[1] == '1.27'" },
        {
          expression:
            "'WEB'.lowerAscii() == object.metadata.name && quantity('1Gi').isGreaterThan(quantity('512Mi'))",
        },
        { expression: '[3, 1, 2].max() == 3' },
      ],
    })
    expect(policy.evaluate(create())).toEqual({ status: 'pass', auditAnnotations: {} })
  })
})

describe('admission CEL: cel-go compatibility', () => {
  it('orValue on a value that is not optional returns it, as cel-go does', () => {
    const policy = compile({
      validations: [
        { expression: "object.metadata.labels.orValue({}).app == 'web'" },
        {
          expression:
            'object.spec.?missing.orValue(7) == 7 && object.spec.?containers.orValue([]).size() == 1',
        },
      ],
    })
    expect(policy.evaluate(create()).status).toBe('pass')
  })
})

describe('admission CEL: match conditions', () => {
  it('skips when one is false, even if another errs; errs when none is false', () => {
    const policy = (first: string) =>
      compile({
        matchConditions: [
          { name: 'broken', expression: 'object.nope.x' },
          { name: 'first', expression: first },
        ],
        validations: [{ expression: 'false' }],
      })
    expect(policy('false').evaluate(create())).toEqual({
      status: 'skip',
      reason: "matchCondition 'first' is false",
    })
    const error = policy('true').evaluate(create())
    expect(error.status).toBe('error')
    expect(error).toMatchObject({ message: expect.stringContaining("matchCondition 'broken'") })
  })
})

describe('admission CEL: cost limits', () => {
  const many = (n: number) => ({ ...pod, spec: { items: Array.from({ length: n }, (_, i) => i) } })

  it('lets an ordinary comprehension run', () => {
    const policy = compile({ validations: [{ expression: 'object.spec.items.all(i, i >= 0)' }] })
    expect(policy.evaluate(create(many(10_000))).status).toBe('pass')
  })

  it('stops one expression over the per-call limit: an evaluation error for that validation', () => {
    const policy = compile({ validations: [{ expression: 'object.spec.items.map(i, i * 2).size() > 0' }] })
    const verdict = policy.evaluate(create(many(PER_CALL_LIMIT / 2)))
    expect(verdict.status).toBe('error')
    expect(verdict).toMatchObject({
      message: expect.stringMatching(/resulted in error: operation cancelled: actual cost limit exceeded/),
    })
  })

  it('fails the whole evaluation once the validations together exceed the runtime budget', () => {
    const heavy = { expression: 'object.spec.items.map(i, i * 2).size() > 0' }
    const policy = compile({ validations: Array.from({ length: 12 }, () => heavy) })
    // about 5 per element (the loop, `i`, `*`): 900k each, under the per-call limit; 10.8M together
    const n = 180_000
    expect(5 * n).toBeLessThan(PER_CALL_LIMIT)
    expect(12 * 5 * n).toBeGreaterThan(RUNTIME_COST_BUDGET)
    const verdict = policy.evaluate(create(many(n)))
    expect(verdict).toEqual({
      status: 'error',
      message: 'validation failed due to running out of cost budget, no further validation rules will be run',
      problems: [],
    })
  })
})

describe('admission CEL: compile errors', () => {
  it('names the file, policy and field, with the caret under the problem', () => {
    expect(() => compile({ validations: [{ expression: 'true' }, { expression: 'object.spec.(' }] })).toThrow(
      CelPolicyError,
    )
    try {
      compile({ validations: [{ expression: 'true' }, { expression: 'object.spec.(' }] })
    } catch (err) {
      expect((err as CelPolicyError).field).toBe('spec.validations[1].expression')
      expect((err as Error).message).toMatch(
        /^policy.yaml: ValidatingAdmissionPolicy 'demo': spec.validations\[1\].expression: CEL syntax error/,
      )
      expect((err as Error).message).toContain('^')
    }
  })

  it('refuses the authorizer: not available offline', () => {
    expect(() =>
      compile({ validations: [{ expression: "authorizer.requestResource.check('create').allowed()" }] }),
    ).toThrow(UnsupportedFeatureError)
  })
})
