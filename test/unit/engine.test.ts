import { describe, expect, it } from 'vitest'
import { checkYaml, engineFor, resourcesOf } from '../helpers/checks.js'

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  template:
    metadata:
      annotations: {a: b}
    spec:
      initContainers:
      - name: init
        securityContext: {privileged: true}
      containers:
      - name: app
        image: nginx
      - name: sidecar
        securityContext:
          privileged: true
          runAsUser: 0
`
const [web] = resourcesOf(deployment)

describe('engine', () => {
  it('runs container-scoped checks once per container, pointing at the field in the workload', () => {
    const engine = engineFor(
      checkYaml(
        'no-priv',
        `match: {kinds: [PodTemplate]}
scope: container
validations:
- expression: "!container.?securityContext.?privileged.orValue(false)"
  messageExpression: "containerType + ' ' + container.name + ' is privileged'"
  path: securityContext.privileged`,
      ),
    )
    const fails = engine.evaluate(web!).filter((r) => r.status === 'fail')
    expect(fails.map((f) => [f.container?.name, f.message, f.path, f.position?.line])).toEqual([
      [
        'sidecar',
        'containers sidecar is privileged',
        'spec.template.spec.containers[1].securityContext.privileged',
        18,
      ],
      [
        'init',
        'initContainers init is privileged',
        'spec.template.spec.initContainers[0].securityContext.privileged',
        12,
      ],
    ])
  })

  it('sees integers as CEL ints, so integer arithmetic and comparisons are exact', () => {
    const engine = engineFor(
      checkYaml(
        'ints',
        `match: {kinds: [Deployment]}
validations:
- expression: "object.spec.replicas * 2 == 6 && type(object.spec.replicas) == int"
  message: replicas is not the int 3`,
      ),
    )
    expect(engine.evaluate(web!).map((r) => r.status)).toEqual(['pass'])
  })

  it('matches kinds by name, group/Kind, core/Kind, * and PodTemplate', () => {
    const [pod, svc] = resourcesOf(
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n',
    )
    const check = (id: string, kinds: string) =>
      checkYaml(id, `match: {kinds: [${kinds}]}\nvalidations:\n- expression: "false"\n  message: m`)
    const engine = engineFor(
      [
        check('by-name', 'Pod'),
        check('by-group', 'apps/Deployment'),
        check('core', 'core/Service'),
        check('any', "'*'"),
        check('tmpl', 'PodTemplate'),
        check('other-group', 'apps/Pod'),
      ].join('---\n'),
    )
    const ids = (r: typeof pod) =>
      engine
        .evaluate(r!)
        .map((x) => x.check.id)
        .sort()
    expect(ids(pod)).toEqual(['any', 'by-name', 'tmpl'])
    expect(ids(svc)).toEqual(['any', 'core'])
    expect(ids(web)).toEqual(['any', 'by-group', 'tmpl'])
  })

  it('skips a check whose match condition is false, and evaluates variables lazily in order', () => {
    const engine = engineFor(
      checkYaml(
        'vars',
        `match: {kinds: [PodTemplate]}
matchConditions:
- name: has-annotations
  expression: has(podMetadata.annotations)
variables:
- name: names
  expression: allContainers.map(c, c.name)
- name: count
  expression: size(variables.names)
validations:
- expression: variables.count == 3 && variables.names == ['app', 'sidecar', 'init']
  messageExpression: "'got ' + string(variables.count)"`,
      ),
    )
    expect(engine.evaluate(web!).map((r) => r.status)).toEqual(['pass'])
    const [bare] = resourcesOf('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n')
    expect(engine.evaluate(bare!)).toEqual([])
  })

  it('computes a variable that names nothing of the activation once, and still fails one that cannot be computed', () => {
    const engine = engineFor(
      checkYaml(
        'folded',
        `match: {kinds: [PodTemplate]}
variables:
- name: allowed
  expression: "['app', 'init'].map(n, n + '')"
- name: broken
  expression: "{'a': 1}['b']"
- name: names
  expression: allContainers.map(c, c.name)
validations:
- expression: variables.names.all(n, n in variables.allowed)
  message: a container is not allowed
- expression: object.kind != 'Deployment' || variables.broken == 1
  message: unreachable`,
      ),
    )
    const [rules] = engine.checks[0]!.ruleSets
    const [allowed, broken, names] = rules!.variables
    // Folded: one value, whatever the activation; the others are evaluated per activation.
    expect(allowed!.program({})).toBe(allowed!.program({ object: {} }))
    expect(() => broken!.program({})).toThrow(/b/)
    expect(() => names!.program({})).toThrow()
    expect(engine.evaluate(web!).map((r) => `${r.status}: ${r.message}`)).toEqual([
      'fail: a container is not allowed',
      expect.stringMatching(/^error: evaluation error: .*b/),
    ])
  })

  it('selects the version entry with the greatest since <= the requested version', () => {
    const yaml = checkYaml(
      'versioned',
      `match: {kinds: [Deployment]}
versions:
- since: v1.20
  validations:
  - {expression: "false", message: from v1.20}
- since: v1.25
  validations:
  - {expression: "version >= 25", message: from v1.25}`,
    )
    expect(engineFor(yaml, 19).evaluate(web!)).toEqual([])
    expect(
      engineFor(yaml, 24)
        .evaluate(web!)
        .map((r) => r.message),
    ).toEqual(['from v1.20'])
    expect(
      engineFor(yaml, 32)
        .evaluate(web!)
        .map((r) => r.status),
    ).toEqual(['pass'])
  })

  it('reports evaluation errors as errors, not passes', () => {
    const engine = engineFor(
      checkYaml(
        'boom',
        `match: {kinds: [Deployment]}\nvalidations:\n- {expression: "object.spec.missing.field == 1", message: m}`,
      ),
    )
    const [r] = engine.evaluate(web!)
    expect(r!.status).toBe('error')
    expect(r!.message).toMatch(/evaluation error: No such key: missing/)
  })

  it('uses pathExpression to point at the offending element', () => {
    const engine = engineFor(
      checkYaml(
        'root-user',
        `match: {kinds: [PodTemplate]}
validations:
- expression: "!allContainers.exists(c, c.?securityContext.?runAsUser.orValue(1) == 0)"
  message: a container runs as root
  pathExpression: "'containers[' + string(podSpec.containers.map(c, c.?securityContext.?runAsUser.orValue(1)).indexOf(0)) + '].securityContext.runAsUser'"`,
      ),
    )
    const [r] = engine.evaluate(web!)
    expect(r!.path).toBe('spec.template.spec.containers[1].securityContext.runAsUser')
    expect(r!.position).toEqual({ line: 19, column: 11 })
  })

  it('treats a field written as null as unset, as the API server does', () => {
    const [pod] = resourcesOf(
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: null}\nspec:\n  volumes:\n  - name: v\n    hostPath: null\n    emptyDir: {}\n  containers:\n  - {name: c, ports: null}\n',
    )
    const engine = engineFor(
      checkYaml(
        'nulls',
        `match: {kinds: [PodTemplate]}
validations:
- expression: "!podSpec.volumes.exists(v, has(v.hostPath)) && !has(podMetadata.annotations) && podSpec.containers.all(c, c.?ports.orValue([]).size() == 0)"
  message: a null field was seen as set`,
      ),
    )
    expect(engine.evaluate(pod!).map((r) => r.status)).toEqual(['pass'])
  })

  it('skips pod checks on a workload without a pod template', () => {
    const [empty] = resourcesOf('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {}\n')
    const engine = engineFor(
      checkYaml('p', `match: {kinds: [PodTemplate]}\nvalidations:\n- {expression: "false", message: m}`),
    )
    expect(engine.evaluate(empty!)).toEqual([])
  })
})
