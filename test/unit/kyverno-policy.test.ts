/**
 * Kyverno ClusterPolicy/Policy support: kinds, match/exclude, autogen and rule evaluation (pattern,
 * deny, foreach, context, podSecurity), with Kyverno's verdicts. Examples follow kyverno.io's docs.
 */
import { describe, expect, it } from 'vitest'
import { applyKyvernoPolicy, type PolicyRequest } from '../../src/policy/kyverno/evaluate.js'
import { kindMatches, parseKindSelector, resourceKindOf } from '../../src/policy/kyverno/kinds.js'
import { builtinPodSecurity } from '../../src/policy/library.js'
import { loadPolicyText as policy, kyvernoRequest as request } from '../helpers/kyverno-policy.js'

/** The Pod Security Standards checks podSecurity rules are answered with, handed in as the loaders do. */
const SERVICES = { podSecurity: builtinPodSecurity }

function verdicts(yaml: string, object: Record<string, unknown>, extra: Partial<PolicyRequest> = {}) {
  const { policy: p, problems } = policy(yaml)
  expect(problems).toEqual([])
  return Object.fromEntries(
    applyKyvernoPolicy(p, request(object, extra), SERVICES).map((r) => [r.rule.name, r.status]),
  )
}

const pod = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'p' }) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata,
  spec,
})

const deployment = (podSpec: Record<string, unknown>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd', namespace: 'shop' },
  spec: { template: { metadata: { labels: { app: 'd' } }, spec: podSpec } },
})

const cronJob = (podSpec: Record<string, unknown>) => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'c' },
  spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: podSpec } } } },
})

const header = (name: string, annotations = '') => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ${name}
${annotations}spec:
  validationFailureAction: Audit
  rules:
`

/** A rule's name and a match block for one kind, as YAML lines of a rule list. */
const matching = (name: string, kind: string) =>
  `    - name: ${name}\n      match:\n        any:\n          - resources:\n              kinds: [${kind}]\n`

const NO_PRIVILEGED = `${header('no-privileged')}${matching('privileged', 'Pod')}      validate:
        message: Privileged mode is disallowed.
        pattern:
          spec:
            containers:
              - =(securityContext):
                  =(privileged): "false"
`

describe('kind selectors', () => {
  const pod = resourceKindOf('v1', 'Pod')
  const deploy = resourceKindOf('apps/v1', 'Deployment')
  it.each([
    ['Pod', pod, true],
    ['v1/Pod', pod, true],
    ['apps/v1/Deployment', deploy, true],
    ['apps/*/Deployment', deploy, true],
    ['batch/v1/Deployment', deploy, false],
    ['*', deploy, true],
    ['Pod/exec', pod, false],
    ['Pod.exec', pod, false],
    ['*/*', pod, true],
  ])('%s', (text, kind, expected) => {
    expect(kindMatches(parseKindSelector(text), kind)).toBe(expected)
  })
})

describe('validate.pattern with autogen', () => {
  it('fails a privileged Pod at the path Kyverno names, passes the others', () => {
    const { policy: p } = policy(NO_PRIVILEGED)
    const [bad] = applyKyvernoPolicy(
      p,
      request(pod({ containers: [{ name: 'a', image: 'x', securityContext: { privileged: true } }] })),
    )
    expect(bad?.status).toBe('fail')
    expect(bad?.path).toBe('/spec/containers/0/securityContext/privileged/')
    expect(bad?.message).toContain('Privileged mode is disallowed. rule privileged failed at path')
    expect(verdicts(NO_PRIVILEGED, pod({ containers: [{ name: 'a', image: 'x' }] }))).toEqual({
      privileged: 'pass',
    })
  })

  it('adds autogen-<rule> for pod controllers and autogen-cronjob-<rule> for CronJobs, pattern moved under the template', () => {
    const { policy: p } = policy(NO_PRIVILEGED)
    expect(p.rules.map((r) => r.name)).toEqual([
      'privileged',
      'autogen-privileged',
      'autogen-cronjob-privileged',
    ])
    const controllers = p.rules[1]!.match.filters[0]!.resources.kindTexts
    expect(controllers).toEqual([
      'DaemonSet',
      'Deployment',
      'Job',
      'ReplicaSet',
      'ReplicationController',
      'StatefulSet',
    ])
    const privileged = { containers: [{ name: 'a', image: 'x', securityContext: { privileged: true } }] }
    expect(verdicts(NO_PRIVILEGED, deployment(privileged))).toEqual({ 'autogen-privileged': 'fail' })
    expect(verdicts(NO_PRIVILEGED, cronJob(privileged))).toEqual({ 'autogen-cronjob-privileged': 'fail' })
    expect(verdicts(NO_PRIVILEGED, cronJob({ containers: [{ name: 'a', image: 'x' }] }))).toEqual({
      'autogen-cronjob-privileged': 'pass',
    })
  })

  it('rewrites request.object.spec in deny conditions for controllers', () => {
    const yaml = `${header('host-network')}${matching('host-network', 'Pod')}      validate:
        deny:
          conditions:
            any:
              - key: "{{ request.object.spec.hostNetwork || \`false\` }}"
                operator: Equals
                value: true
`
    expect(verdicts(yaml, deployment({ hostNetwork: true, containers: [] }))).toEqual({
      'autogen-host-network': 'fail',
    })
    expect(verdicts(yaml, cronJob({ containers: [] }))).toEqual({ 'autogen-cronjob-host-network': 'pass' })
  })

  it('follows the autogen-controllers annotation: a narrower list, or none', () => {
    const only = policy(
      NO_PRIVILEGED.replace(
        'metadata:\n  name: no-privileged\n',
        'metadata:\n  name: no-privileged\n  annotations:\n    pod-policies.kyverno.io/autogen-controllers: Deployment\n',
      ),
    )
    expect(only.policy.rules.map((r) => r.name)).toEqual(['privileged', 'autogen-privileged'])
    expect(only.policy.rules[1]!.match.filters[0]!.resources.kindTexts).toEqual(['Deployment'])
    const none = policy(
      NO_PRIVILEGED.replace(
        'metadata:\n  name: no-privileged\n',
        'metadata:\n  name: no-privileged\n  annotations:\n    pod-policies.kyverno.io/autogen-controllers: none\n',
      ),
    )
    expect(none.policy.rules.map((r) => r.name)).toEqual(['privileged'])
  })

  it('does not autogen a rule that selects Pods by name or label', () => {
    const yaml = NO_PRIVILEGED.replace('kinds: [Pod]', 'kinds: [Pod]\n              names: ["web-*"]')
    expect(policy(yaml).policy.rules.map((r) => r.name)).toEqual(['privileged'])
  })
})

describe('match and exclude', () => {
  const yaml = `${header('ns-rules')}${matching('in-prod', 'Pod')}              namespaces: ["prod-*"]
              selector:
                matchLabels:
                  app.kubernetes.io/*: "?*"
      exclude:
        any:
          - resources:
              names: ["debug-*"]
      validate:
        pattern:
          metadata:
            labels:
              team: "?*"
`
  const labelled = (name: string, namespace: string, labels: Record<string, string>) =>
    pod({ containers: [] }, { name, namespace, labels })

  it('matches wildcard namespaces and wildcard label selectors, and leaves excluded names alone', () => {
    expect(verdicts(yaml, labelled('web', 'prod-eu', { 'app.kubernetes.io/name': 'web' }))).toEqual({
      'in-prod': 'fail',
    })
    expect(
      verdicts(yaml, labelled('web', 'prod-eu', { 'app.kubernetes.io/name': 'web', team: 'a' })),
    ).toEqual({ 'in-prod': 'pass' })
    expect(verdicts(yaml, labelled('web', 'dev', { 'app.kubernetes.io/name': 'web' }))).toEqual({})
    expect(verdicts(yaml, labelled('web', 'prod-eu', { app: 'web' }))).toEqual({})
    expect(verdicts(yaml, labelled('debug-1', 'prod-eu', { 'app.kubernetes.io/name': 'web' }))).toEqual({})
  })

  it('matches operations, and values that override request.operation', () => {
    const ops = yaml
      .replace('namespaces: ["prod-*"]', 'operations: [UPDATE]')
      .replace(/ {14}selector:\n.*\n.*\n/, '')
    const object = labelled('web', 'x', {})
    expect(verdicts(ops, object)).toEqual({})
    expect(verdicts(ops, object, { values: () => ({ 'request.operation': 'UPDATE' }) })).toEqual({
      'in-prod': 'fail',
    })
  })

  it('matches namespaceSelector against the namespace labels given', () => {
    const sel = yaml
      .replace(
        'namespaces: ["prod-*"]',
        'namespaceSelector:\n                matchLabels:\n                  env: prod',
      )
      .replace(/ {14}selector:\n.*\n.*\n/, '')
    const object = labelled('web', 'shop', {})
    expect(verdicts(sel, object, { namespaceLabels: { env: 'prod' } })).toEqual({ 'in-prod': 'fail' })
    expect(verdicts(sel, object, { namespaceLabels: { env: 'dev' } })).toEqual({})
  })
})

describe('preconditions, deny, foreach and context', () => {
  it('skips a rule whose preconditions do not hold', () => {
    const yaml = `${header('skip-delete')}${matching('r', 'Pod')}      preconditions:
        all:
          - key: "{{ request.operation || 'BACKGROUND' }}"
            operator: NotEquals
            value: DELETE
      validate:
        deny: {}
`
    expect(verdicts(yaml, pod({ containers: [] }))).toEqual({ r: 'fail' })
    expect(verdicts(yaml, pod({ containers: [] }), { operation: 'DELETE' })).toEqual({ r: 'skip' })
  })

  it('checks each element of a foreach list, with element, elementIndex and per-element preconditions', () => {
    const yaml = `${header('images')}${matching('registry', 'Pod')}      validate:
        message: "container {{ elementIndex }} uses {{ element.image }}"
        foreach:
          - list: request.object.spec.containers
            preconditions:
              all:
                - key: "{{ element.name }}"
                  operator: NotEquals
                  value: istio-proxy
            pattern:
              image: "registry.example.com/*"
`
    const { policy: p } = policy(yaml)
    const containers = (images: string[]) =>
      images.map((image, i) => ({ name: i === 0 ? 'istio-proxy' : `c${i}`, image }))
    const [r] = applyKyvernoPolicy(
      p,
      request(pod({ containers: containers(['docker.io/istio', 'registry.example.com/a', 'nginx']) })),
    )
    expect(r?.status).toBe('fail')
    expect(r?.message).toContain('container 2 uses nginx')
    expect(
      verdicts(yaml, pod({ containers: containers(['docker.io/istio', 'registry.example.com/a']) })),
    ).toEqual({ registry: 'pass' })
    // only the skipped sidecar: nothing was checked
    expect(verdicts(yaml, pod({ containers: containers(['docker.io/istio']) }))).toEqual({ registry: 'skip' })
  })

  it('runs nested foreach and deny on elements', () => {
    const yaml = `${header('ports')}${matching('no-host-port', 'Pod')}      validate:
        foreach:
          - list: request.object.spec.containers
            foreach:
              - list: element.ports || \`[]\`
                deny:
                  conditions:
                    any:
                      - key: "{{ element.hostPort || \`0\` }}"
                        operator: GreaterThan
                        value: 0
`
    expect(
      verdicts(
        yaml,
        pod({
          containers: [{ name: 'a', ports: [{ containerPort: 80 }, { containerPort: 81, hostPort: 81 }] }],
        }),
      ),
    ).toEqual({ 'no-host-port': 'fail' })
    expect(verdicts(yaml, pod({ containers: [{ name: 'a', ports: [{ containerPort: 80 }] }] }))).toEqual({
      'no-host-port': 'pass',
    })
  })

  it('evaluates context variables, and reports an API call without a value as unsupported', () => {
    const yaml = `${header('ctx')}${matching('max-replicas', 'Deployment')}      context:
        - name: limit
          variable:
            value: 3
      validate:
        deny:
          conditions:
            any:
              - key: "{{ request.object.spec.replicas }}"
                operator: GreaterThan
                value: "{{ limit }}"
${matching('from-cluster', 'Deployment')}      context:
        - name: quota
          apiCall:
            urlPath: /api/v1/namespaces
      validate:
        deny: {}
`
    const d = {
      ...deployment({ containers: [] }),
      spec: { replicas: 5, template: { spec: { containers: [] } } },
    }
    expect(verdicts(yaml, d)).toEqual({ 'max-replicas': 'fail', 'from-cluster': 'unsupported' })
    expect(verdicts(yaml, d, { values: () => ({ limit: 10, quota: {} }) })).toEqual({
      'max-replicas': 'pass',
      'from-cluster': 'fail',
    })
  })

  it('reports failures of a policy that is not scored as warnings', () => {
    const yaml = NO_PRIVILEGED.replace(
      '  name: no-privileged\n',
      '  name: no-privileged\n  annotations:\n    policies.kyverno.io/scored: "false"\n',
    )
    expect(
      verdicts(yaml, pod({ containers: [{ name: 'a', securityContext: { privileged: true } }] })),
    ).toEqual({ privileged: 'warn' })
  })

  it('applies a namespaced Policy only in its namespace', () => {
    const yaml = NO_PRIVILEGED.replace('kind: ClusterPolicy', 'kind: Policy').replace(
      '  name: no-privileged\n',
      '  name: no-privileged\n  namespace: shop\n',
    )
    const bad = { containers: [{ name: 'a', securityContext: { privileged: true } }] }
    expect(verdicts(yaml, pod(bad, { name: 'p', namespace: 'shop' }))).toEqual({ privileged: 'fail' })
    expect(verdicts(yaml, pod(bad, { name: 'p', namespace: 'other' }))).toEqual({})
  })
})

describe('podSecurity', () => {
  const yaml = `${header('pss')}${matching('restricted', 'Pod')}      validate:
        podSecurity:
          level: restricted
          version: latest
          exclude:
            - controlName: Capabilities
              images: ["ghcr.io/sidecar*"]
`
  const secure = {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    seccompProfile: { type: 'RuntimeDefault' },
    capabilities: { drop: ['ALL'] },
  }
  it('passes a restricted pod, fails a privileged one with the control named', () => {
    expect(
      verdicts(yaml, pod({ containers: [{ name: 'a', image: 'nginx', securityContext: secure }] })),
    ).toEqual({ restricted: 'pass' })
    const { policy: p } = policy(yaml)
    const [r] = applyKyvernoPolicy(
      p,
      request(
        pod({
          containers: [{ name: 'a', image: 'nginx', securityContext: { ...secure, privileged: true } }],
        }),
      ),
      SERVICES,
    )
    expect(r?.status).toBe('fail')
    expect(r?.message).toContain('Privileged Containers')
  })

  it('waives a control for the excluded images only', () => {
    const adds = { ...secure, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } }
    expect(
      verdicts(yaml, pod({ containers: [{ name: 's', image: 'ghcr.io/sidecar:1', securityContext: adds }] })),
    ).toEqual({ restricted: 'pass' })
    expect(
      verdicts(yaml, pod({ containers: [{ name: 'a', image: 'nginx', securityContext: adds }] })),
    ).toEqual({ restricted: 'fail' })
  })
})

describe('loading', () => {
  it('names the policy, rule, field and line of a broken rule, and keeps the others', () => {
    const yaml = `${header('team')}${matching('bad', 'Pod')}      validate:
        deny:
          conditions:
            all:
              - key: a
                operator: Equalz
                value: b
${matching('good', 'Pod')}      validate:
        pattern:
          metadata:
            name: "?*"
`
    const { policy: p, problems } = policy(yaml)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatchObject({
      policy: 'team',
      rule: 'bad',
      field: 'validate.deny.conditions',
      line: 8,
    })
    expect(problems[0]!.message).toContain('Equalz')
    expect(p.rules.map((r) => r.name)).toContain('good')
  })

  it('keeps the patch of a mutate rule for kyverno test, and gives a scan no verdict for it, with the reason', () => {
    const yaml = `${header('m')}${matching('add-label', 'ConfigMap')}      mutate:
        patchStrategicMerge:
          metadata:
            labels: { x: y }
`
    const { policy: p } = policy(yaml)
    expect(p.rules[0]!.type).toBe('mutate')
    // `y` is true in YAML 1.1, as the API server reads it.
    expect(p.rules[0]!.mutation).toEqual({ patchStrategicMerge: { metadata: { labels: { x: true } } } })
    expect(p.rules[0]!.validation).toEqual({
      type: 'unsupported',
      unsupported: { feature: 'mutate', reason: expect.stringContaining('kyverno test applies them') },
    })
  })
})
