/**
 * Plimsoll's audit rule format: loading (errors name file:line, the rule and the field), compiling
 * (CEL checked at load time), the pre-filter, evaluation (events missing fields never crash) and the
 * detections it gives. The built-in rules' examples: audit-rules-examples.test.ts; real logs:
 * audit-rules-corpus.test.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  AuditRuleLoadError,
  auditRuleSet,
  compileAuditRule,
  loadAuditRules,
  parseAuditRuleFile,
  runAuditRuleExamples,
} from '../../src/audit/rules/index.js'
import type { AuditEvent } from '../../src/audit/types.js'

/** A rule file; `spec` and `extra` are indented YAML lines. */
function ruleYaml(id: string, spec: string, extra = '', priority = 'warning'): string {
  return [
    'apiVersion: plimsoll.dev/v1',
    'kind: AuditRule',
    'metadata:',
    `  id: ${id}`,
    '  title: A test rule',
    `  priority: ${priority}`,
    '  tags: [test]',
    'spec:',
    spec,
    extra,
  ].join('\n')
}

const SPEC = [
  '  match:',
  '    verbs: [create]',
  '    resources: [pods/exec]',
  '  condition: event.verb == "create"',
  '  output: exec by {{ event.user.username }}',
].join('\n')

function loadError(yaml: string): AuditRuleLoadError {
  try {
    parseAuditRuleFile('rules.yaml', yaml).map(compileAuditRule)
  } catch (err) {
    if (err instanceof AuditRuleLoadError) return err
    throw err
  }
  throw new Error('expected the rule to be rejected')
}

function ruleSet(yaml: string) {
  return auditRuleSet(parseAuditRuleFile('rules.yaml', yaml).map(compileAuditRule))
}

const exec: AuditEvent = {
  kind: 'Event',
  stage: 'ResponseComplete',
  verb: 'create',
  auditID: 'a-1',
  user: { username: 'alice', groups: ['system:authenticated'] },
  objectRef: { resource: 'pods', subresource: 'exec', namespace: 'shop', name: 'web-0' },
  stageTimestamp: '2026-01-02T03:04:05.678901Z',
}

describe('loading audit rules', () => {
  it('loads a rule with its origin, defaults and pre-filter', () => {
    const [def] = parseAuditRuleFile('rules.yaml', `# a comment\n---\n${ruleYaml('ok', SPEC)}`)
    expect(def!.metadata).toEqual({ id: 'ok', title: 'A test rule', priority: 'warning', tags: ['test'] })
    expect(def!.origin).toEqual({ file: 'rules.yaml', line: 3 })
    expect(def!.match.stages).toEqual(['ResponseComplete'])
    expect(def!.match.resources).toEqual(['pods/exec'])
    expect(def!.condition.line).toBe(14)
  })

  it('names the file, line, rule and field of a bad priority', () => {
    expect(loadError(ruleYaml('x', SPEC, '', 'WARNING')).message).toBe(
      "rules.yaml:6: rule 'x': metadata.priority: expected one of: emergency, alert, critical, error, warning, notice, informational, debug",
    )
  })

  it('rejects unknown fields, naming the allowed ones', () => {
    expect(loadError(ruleYaml('x', `${SPEC}\n  conditon: "true"`)).message).toBe(
      "rules.yaml:14: rule 'x': spec.conditon: unknown field (expected one of: match, variables, condition, output)",
    )
    expect(loadError(ruleYaml('x', SPEC.replace('verbs:', 'verb:'))).message).toMatch(
      /^rules.yaml:10: rule 'x': spec.match.verb: unknown field/,
    )
  })

  it('requires a condition and an output', () => {
    expect(loadError(ruleYaml('x', '  match: {}\n  output: o')).message).toBe(
      "rules.yaml:8: rule 'x': spec.condition: is required (a string)",
    )
  })

  it('checks stages and resource patterns', () => {
    expect(loadError(ruleYaml('x', `${SPEC}`.replace('verbs: [create]', 'stages: [Done]'))).message).toBe(
      "rules.yaml:10: rule 'x': spec.match.stages[0]: expected one of: RequestReceived, ResponseStarted, ResponseComplete, Panic",
    )
    expect(loadError(ruleYaml('x', SPEC.replace('pods/exec', 'pods/exec/x'))).message).toMatch(
      /^rules.yaml:11: rule 'x': spec.match.resources\[0\]: expected 'resource'/,
    )
  })

  it('reports a CEL syntax error at the line of the condition, with a caret', () => {
    const err = loadError(ruleYaml('x', SPEC.replace('event.verb == "create"', 'event.verb ==')))
    expect(err.line).toBe(12)
    expect(err.message).toMatch(/^rules.yaml:12: rule 'x': spec.condition: CEL syntax error/)
    expect(err.message).toMatch(/\^/)
  })

  it('rejects a condition that is not a bool', () => {
    const err = loadError(ruleYaml('x', SPEC.replace('event.verb == "create"', `"'yes'"`)))
    expect(err.message).toBe(
      "rules.yaml:12: rule 'x': spec.condition: expected an expression of type bool, got string\n    in: 'yes'",
    )
  })

  it('compiles the placeholders of the output, and names the broken one', () => {
    const err = loadError(ruleYaml('x', SPEC.replace('{{ event.user.username }}', '{{ event.user. }}')))
    expect(err.line).toBe(13)
    expect(err.message).toMatch(
      /^rules.yaml:13: rule 'x': spec.output \{\{ event.user. \}\}: CEL syntax error/,
    )
    expect(loadError(ruleYaml('x', SPEC.replace('{{ event.user.username }}', '{{ }}'))).message).toBe(
      "rules.yaml:13: rule 'x': spec.output: empty {{ }} placeholder",
    )
  })

  it('names a broken variable', () => {
    const spec = `${SPEC}\n  variables:\n    - name: who\n      expression: event.user.(`
    expect(loadError(ruleYaml('x', spec)).message).toMatch(
      /^rules.yaml:16: rule 'x': spec.variables 'who': CEL syntax error/,
    )
  })

  it('checks the examples', () => {
    const bad = `examples:\n  - name: e\n    expect: fail\n    event: {verb: create}`
    expect(loadError(ruleYaml('x', SPEC, bad)).message).toBe(
      "rules.yaml:16: rule 'x': examples[0].expect: expected one of: detect, ignore",
    )
    const noEvent = `examples:\n  - name: e\n    expect: detect`
    expect(loadError(ruleYaml('x', SPEC, noEvent)).message).toBe(
      "rules.yaml:15: rule 'x': examples[0].event: expected a mapping",
    )
  })

  it('reports invalid YAML with its line', () => {
    const err = loadError(`${ruleYaml('x', SPEC)}\n  - name: [unclosed`)
    expect(err.message).toMatch(/^rules.yaml:15: invalid YAML/)
  })

  it('refuses a duplicate id across files, naming the first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-rules-'))
    writeFileSync(join(dir, 'a.yaml'), ruleYaml('same', SPEC))
    writeFileSync(join(dir, 'b.yaml'), ruleYaml('same', SPEC))
    expect(() => loadAuditRules({ builtin: false, paths: [dir] })).toThrow(
      `${join(dir, 'b.yaml')}:1: rule 'same': metadata.id: duplicate id, first defined at ${join(dir, 'a.yaml')}:1`,
    )
    // and a team's rule may not reuse a built-in id
    writeFileSync(join(dir, 'b.yaml'), ruleYaml('pod-exec-attach', SPEC))
    expect(() => loadAuditRules({ paths: [join(dir, 'b.yaml')] })).toThrow(/duplicate id, first defined at/)
  })

  it('says when a path does not exist', () => {
    expect(() => loadAuditRules({ builtin: false, paths: ['/nonexistent/rules'] })).toThrow(
      '/nonexistent/rules:0: no such file or directory',
    )
  })
})

describe('evaluating audit rules', () => {
  it('gives a detection with the labels, time, tags and audit ID of the event', () => {
    const [d, ...rest] = ruleSet(ruleYaml('exec-test', SPEC)).evaluate(exec)
    expect(rest).toEqual([])
    expect(d).toEqual({
      rule: 'exec-test',
      source: 'plimsoll',
      priority: 'warning',
      output: 'exec by alice',
      time: '2026-01-02T03:04:05.678Z',
      labels: {
        rule: 'exec-test',
        priority: 'warning',
        source: 'plimsoll',
        user: 'alice',
        verb: 'create',
        resource: 'pods',
        namespace: 'shop',
        name: 'web-0',
      },
      tags: ['test'],
      auditID: 'a-1',
    })
  })

  it('adds the cluster label from the event, else from the options', () => {
    const rules = parseAuditRuleFile('r.yaml', ruleYaml('x', SPEC)).map(compileAuditRule)
    expect(auditRuleSet(rules, { cluster: 'prod' }).evaluate(exec)[0]!.labels.cluster).toBe('prod')
    const named = { ...exec, annotations: { cluster_name: 'eu-1' } }
    expect(auditRuleSet(rules, { cluster: 'prod' }).evaluate(named)[0]!.labels.cluster).toBe('eu-1')
  })

  it('uses the clock for an event without timestamps', () => {
    const rules = parseAuditRuleFile('r.yaml', ruleYaml('x', SPEC)).map(compileAuditRule)
    const { stageTimestamp: _, ...untimed } = exec
    expect(auditRuleSet(rules, { now: () => 0 }).evaluate(untimed)[0]!.time).toBe('1970-01-01T00:00:00.000Z')
  })

  it('pre-filters on stage (default ResponseComplete), verb and resource/subresource', () => {
    const set = ruleSet(ruleYaml('x', SPEC))
    expect(set.evaluate({ ...exec, stage: 'ResponseStarted' })).toEqual([])
    expect(set.evaluate({ ...exec, stage: 'RequestReceived' })).toEqual([])
    expect(set.evaluate({ ...exec, verb: 'get' })).toEqual([])
    expect(set.evaluate({ ...exec, objectRef: { resource: 'pods', name: 'web-0' } })).toEqual([])
    expect(set.evaluate({ ...exec, objectRef: { resource: 'pods', subresource: 'attach' } })).toEqual([])
  })

  it('resource patterns: a resource alone, any subresource, any resource', () => {
    const match = (resources: string, objectRef: AuditEvent['objectRef']) =>
      ruleSet(
        ruleYaml('x', `  match: {resources: [${resources}]}\n  condition: "true"\n  output: o`),
      ).evaluate({ ...exec, objectRef }).length === 1
    expect(match('pods', { resource: 'pods' })).toBe(true)
    expect(match('pods', { resource: 'pods', subresource: 'log' })).toBe(false)
    expect(match("'pods/*'", { resource: 'pods', subresource: 'log' })).toBe(true)
    expect(match("'pods/*'", { resource: 'pods' })).toBe(false)
    expect(match("'*/status'", { resource: 'nodes', subresource: 'status' })).toBe(true)
    expect(match("'*'", { resource: 'nodes', subresource: 'status' })).toBe(true)
    expect(match("'*'", undefined)).toBe(false) // a non-resource request (/healthz) has no resource
  })

  it('pre-filters on API group and namespace', () => {
    const yaml = ruleYaml(
      'x',
      "  match: {apiGroups: [''], namespaces: [kube-system, '']}\n  condition: \"true\"\n  output: o",
    )
    const set = ruleSet(yaml)
    expect(set.evaluate({ ...exec, objectRef: { resource: 'pods', namespace: 'kube-system' } })).toHaveLength(
      1,
    )
    expect(set.evaluate({ ...exec, objectRef: { resource: 'nodes' } })).toHaveLength(1) // cluster-scoped
    expect(set.evaluate({ ...exec, objectRef: { resource: 'pods', namespace: 'shop' } })).toEqual([])
    expect(
      set.evaluate({ ...exec, objectRef: { resource: 'deployments', apiGroup: 'apps', namespace: '' } }),
    ).toEqual([])
  })

  it('ignores users and groups (exact or prefix*), but not a person impersonating them', () => {
    const yaml = ruleYaml(
      'x',
      "  match: {ignoreUsers: ['system:serviceaccount:kube-system:*', bot], ignoreGroups: ['system:nodes']}\n  condition: \"true\"\n  output: o",
    )
    const set = ruleSet(yaml)
    const as = (user: AuditEvent['user'], impersonatedUser?: AuditEvent['impersonatedUser']) =>
      set.evaluate({ ...exec, user, ...(impersonatedUser ? { impersonatedUser } : {}) }).length
    expect(as({ username: 'system:serviceaccount:kube-system:replicaset-controller' })).toBe(0)
    expect(as({ username: 'bot' })).toBe(0)
    expect(as({ username: 'bot2' })).toBe(1)
    expect(as({ username: 'system:node:n1', groups: ['system:nodes'] })).toBe(0)
    expect(as({ username: 'alice' })).toBe(1)
    expect(as({ username: 'alice' }, { username: 'bot' })).toBe(1)
    expect(as({ username: 'bot' }, { username: 'alice' })).toBe(1)
    expect(as({ username: 'bot' }, { username: 'system:node:n1', groups: ['system:nodes'] })).toBe(0)
  })

  it('selects users and groups (the authenticated or the impersonated identity) and response codes', () => {
    const yaml = ruleYaml(
      'x',
      "  match: {users: ['system:anonymous', 'ci-*'], groups: [devs], responseCodes: [401, 403]}\n  condition: \"true\"\n  output: o",
    )
    const set = ruleSet(yaml)
    const at = (
      code: number | undefined,
      user: AuditEvent['user'],
      impersonatedUser?: AuditEvent['impersonatedUser'],
    ) =>
      set.evaluate({
        ...exec,
        user,
        ...(code === undefined ? {} : { responseStatus: { code } }),
        ...(impersonatedUser ? { impersonatedUser } : {}),
      }).length
    expect(at(403, { username: 'ci-bot', groups: ['devs'] })).toBe(1)
    expect(at(401, { username: 'system:anonymous', groups: ['devs'] })).toBe(1)
    expect(at(200, { username: 'ci-bot', groups: ['devs'] })).toBe(0)
    expect(at(undefined, { username: 'ci-bot', groups: ['devs'] })).toBe(0)
    expect(at(403, { username: 'ci-bot' })).toBe(0)
    expect(at(403, { username: 'alice', groups: ['devs'] })).toBe(0)
    expect(at(403, { username: 'admin' }, { username: 'ci-deployer', groups: ['devs'] })).toBe(1)
    expect(
      loadError(ruleYaml('x', '  match: {responseCodes: [forbidden]}\n  condition: "true"\n  output: o'))
        .message,
    ).toBe("rules.yaml:9: rule 'x': spec.match.responseCodes[0]: expected an HTTP status code (100-599)")
  })

  it('gives one detection per matching rule, and honours minPriority', () => {
    const yaml = `${ruleYaml('a', SPEC)}\n---\n${ruleYaml('b', SPEC, '', 'debug')}`
    const rules = parseAuditRuleFile('r.yaml', yaml).map(compileAuditRule)
    expect(
      auditRuleSet(rules)
        .evaluate(exec)
        .map((d) => d.rule),
    ).toEqual(['a', 'b'])
    expect(
      auditRuleSet(rules, { minPriority: 'notice' })
        .evaluate(exec)
        .map((d) => d.rule),
    ).toEqual(['a'])
  })

  it('variables are evaluated lazily, once, and seen by the condition and the output', () => {
    const spec = [
      '  variables:',
      "    - name: who\n      expression: event.?user.?username.orValue('nobody')",
      '    - name: shout\n      expression: variables.who.upperAscii()',
      '  condition: variables.who != "bot"',
      '  output: "{{ variables.shout }} did {{ event.verb }}"',
    ].join('\n')
    const set = ruleSet(ruleYaml('x', spec))
    expect(set.evaluate(exec)[0]!.output).toBe('ALICE did create')
    expect(set.evaluate({ ...exec, user: { username: 'bot' } })).toEqual([])
    expect(set.evaluate({ ...exec, user: undefined })[0]!.output).toBe('NOBODY did create')
  })

  it('renders what the output reads: lists joined, maps as JSON, absent fields as <NA>', () => {
    const spec = [
      '  condition: "true"',
      '  output: >-',
      '    groups={{ event.user.groups }} ref={{ event.objectRef }} missing={{ event.requestObject.spec }}',
      "    none={{ event.?nothing }} n={{ 1 + 1 }} empty={{ [] }} blank=[{{ '' }}]",
    ].join('\n')
    expect(ruleSet(ruleYaml('x', spec)).evaluate(exec)[0]!.output).toBe(
      'groups=system:authenticated ref={"resource":"pods","subresource":"exec","namespace":"shop","name":"web-0"} missing=<NA> none=<NA> n=2 empty=<NA> blank=[]',
    )
  })

  it('a condition that fails to evaluate does not detect, and is reported to onError', () => {
    const spec = '  condition: event.requestObject.spec.hostNetwork == true\n  output: o'
    const rules = parseAuditRuleFile('r.yaml', ruleYaml('careless', spec)).map(compileAuditRule)
    const errors: string[] = []
    const set = auditRuleSet(rules, {
      onError: (r, e, err) => errors.push(`${r.metadata.id} ${e.auditID} ${err.message}`),
    })
    expect(set.evaluate(exec)).toEqual([])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^careless a-1 No such key: requestObject/)
    // the examples runner calls that a failed example
    const withExample = ruleYaml(
      'careless',
      spec,
      'examples:\n  - {name: e, expect: ignore, event: {stage: ResponseComplete}}',
    )
    const [outcome] = runAuditRuleExamples(compileAuditRule(parseAuditRuleFile('r.yaml', withExample)[0]!))
    expect(outcome).toMatchObject({ ok: false, got: 'error', expected: 'ignore', line: 12 })
  })

  it('an example naming an output must produce it', () => {
    const example =
      'examples:\n  - {name: e, expect: detect, output: exec by bob, event: {stage: ResponseComplete, verb: create, user: {username: alice}, objectRef: {resource: pods, subresource: exec}}}'
    const [outcome] = runAuditRuleExamples(
      compileAuditRule(parseAuditRuleFile('r.yaml', ruleYaml('x', SPEC, example))[0]!),
    )
    expect(outcome).toMatchObject({
      ok: false,
      got: 'detect',
      messages: ['output: exec by alice', 'expected output: exec by bob'],
    })
  })
})

describe('the built-in rules on events missing fields', () => {
  const errors: string[] = []
  const set = loadAuditRules({ onError: (r, _e, err) => errors.push(`${r.metadata.id}: ${err.message}`) })
  const stages = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic']
  const verbs = ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete', 'deletecollection']
  const refs = [
    undefined,
    {},
    { resource: 'pods' },
    { resource: 'pods', subresource: 'exec' },
    { resource: 'pods', subresource: 'portforward' },
    { resource: 'pods', subresource: 'ephemeralcontainers' },
    { resource: 'pods', namespace: 'kube-system' },
    { resource: 'serviceaccounts', subresource: 'token' },
    { resource: 'secrets' },
    { resource: 'configmaps' },
    { resource: 'services' },
    { resource: 'events' },
    { resource: 'clusterroles', apiGroup: 'rbac.authorization.k8s.io', name: 'system:x' },
    { resource: 'clusterrolebindings', apiGroup: 'rbac.authorization.k8s.io' },
    { resource: 'roles', apiGroup: 'rbac.authorization.k8s.io' },
  ]
  const bodies = [
    undefined,
    null,
    {},
    { spec: {} },
    { spec: null },
    { data: {} },
    { rules: [{}] },
    { roleRef: {} },
    { spec: { containers: [{}], volumes: [{}, { hostPath: {} }] } },
  ]
  const users = [undefined, {}, { username: 'system:anonymous' }, { username: 'alice', groups: [] }]

  it('never throw, and every field they read is guarded (no evaluation error)', () => {
    let n = 0
    for (const stage of stages)
      for (const verb of verbs)
        for (const objectRef of refs)
          for (const requestObject of bodies)
            for (const user of users) {
              const event = {
                kind: 'Event',
                stage,
                verb,
                objectRef,
                requestObject,
                user,
              } as unknown as AuditEvent
              expect(() => set.evaluate(event)).not.toThrow()
              n++
            }
    expect(n).toBeGreaterThan(10_000)
    expect(() => set.evaluate({})).not.toThrow()
    expect(set.evaluate({})).toEqual([])
    expect(errors).toEqual([])
  })

  it('fields of the wrong type do not throw either (at worst, the rule does not detect)', () => {
    const odd = [
      {
        stage: 'ResponseComplete',
        verb: 'create',
        objectRef: { resource: 'pods' },
        requestObject: { spec: { containers: 'x', volumes: 7 } },
      },
      {
        stage: 'ResponseComplete',
        verb: 'create',
        objectRef: { resource: 'configmaps' },
        requestObject: { data: ['a'] },
      },
      {
        stage: 'ResponseComplete',
        verb: 7,
        objectRef: 'pods',
        user: 'alice',
        responseStatus: { code: '200' },
      },
      {
        stage: 'ResponseComplete',
        verb: 'get',
        user: { username: 'system:anonymous', groups: 'x' },
        annotations: null,
        requestURI: 5,
      },
    ] as unknown as AuditEvent[]
    for (const event of odd) expect(() => set.evaluate(event)).not.toThrow()
  })
})

describe('docs/audit-rules-plimsoll.md', () => {
  const doc = readFileSync(new URL('../../docs/audit-rules-plimsoll.md', import.meta.url), 'utf8')

  it('the complete example loads, and its examples pass', () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!
    const [def] = parseAuditRuleFile('example.yaml', yaml)
    const outcomes = runAuditRuleExamples(compileAuditRule(def!))
    expect(outcomes.length).toBeGreaterThanOrEqual(2)
    expect(outcomes.filter((o) => !o.ok)).toEqual([])
  })

  it('lists every built-in rule in its table, with its priority', () => {
    for (const rule of loadAuditRules().rules)
      expect(doc).toContain(`| \`${rule.metadata.id}\` | ${rule.metadata.priority} |`)
  })
})
