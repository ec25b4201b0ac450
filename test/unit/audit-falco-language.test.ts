/**
 * The Falco rules language as Plimsoll evaluates it on audit events: operators, grammar, macros and
 * lists (with append and override), exceptions, enabled/disabled rules, priorities, output formatting,
 * broken files reported with file:line while the rest loads, and events missing the fields a rule reads.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  fieldNames,
  formatMessage,
  loadFalcoRules,
  parseAuditLines,
  parseAuditPayload,
} from '../../src/audit/falco/index.js'
import type { AuditEvent } from '../../src/audit/types.js'
import { corpusPath } from '../helpers/corpus.js'

const base: AuditEvent = {
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: 'RequestResponse',
  auditID: 'a1',
  stage: 'ResponseComplete',
  requestURI: '/api/v1/namespaces/team-a/pods?fieldManager=kubectl&dryRun=All',
  verb: 'create',
  user: { username: 'alice@example.com', groups: ['system:authenticated', 'devs'] },
  sourceIPs: ['10.0.0.7'],
  userAgent: 'kubectl/v1.30.0',
  objectRef: { resource: 'pods', namespace: 'team-a', name: 'web', apiVersion: 'v1' },
  responseStatus: { code: 201 },
  requestObject: {
    kind: 'Pod',
    metadata: { name: 'web', 'a/b': 'slash', 'x~y': 'tilde' },
    spec: {
      hostNetwork: true,
      containers: [
        { name: 'app', image: 'nginx:1.27', securityContext: { privileged: true } },
        {
          name: 'side',
          image: 'registry.example.com/tools/sidecar@sha256:abc',
          command: ['sh', '-c', 'sleep 1'],
        },
      ],
      volumes: [
        { name: 'proc', hostPath: { path: '/proc/sys' } },
        { name: 'cfg', configMap: { name: 'c' } },
      ],
    },
  },
  responseObject: { metadata: { name: 'web' } },
  requestReceivedTimestamp: '2026-12-01T10:00:00.100000Z',
  stageTimestamp: '2026-12-01T10:00:00.123456Z',
  annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed' },
}

function rule(name: string, condition: string, extra = ''): string {
  return `- rule: ${name}
  desc: test
  condition: ${JSON.stringify(condition)}
  output: "${name} fired (user=%ka.user.name)"
  priority: WARNING
  source: k8s_audit
${extra}`
}

/** the names of the rules that fire on `ev`, every matching rule */
function fired(text: string, ev: AuditEvent = base): string[] {
  const set = loadFalcoRules([{ name: 'test.yaml', text }], { ruleMatching: 'all' })
  expect(set.errors.map(formatMessage)).toEqual([])
  return set.evaluate(ev).map((d) => d.rule)
}

/** whether a single condition holds on `ev` */
function holds(condition: string, ev: AuditEvent = base): boolean {
  return fired(rule('r', condition), ev).length === 1
}

describe('operators', () => {
  it('compares strings: = != < <= > >=', () => {
    expect(holds('ka.verb=create')).toBe(true)
    expect(holds('ka.verb = "create"')).toBe(true)
    expect(holds('ka.verb==create')).toBe(true)
    expect(holds('ka.verb=delete')).toBe(false)
    expect(holds('ka.verb!=delete')).toBe(true)
    expect(holds('ka.verb!=create')).toBe(false)
    // strings compare as strcmp does, numbers included (every ka.* field is a string)
    expect(holds('ka.response.code >= 200')).toBe(true)
    expect(holds('ka.response.code < 300')).toBe(true)
    expect(holds('ka.response.code > 201')).toBe(false)
    expect(holds('ka.response.code <= 200')).toBe(false)
    expect(holds('ka.response.code < 3')).toBe(true)
  })

  it('matches substrings, prefixes, suffixes, globs, regexes and bytes', () => {
    expect(holds('ka.user.name contains example')).toBe(true)
    expect(holds('ka.user.name contains EXAMPLE')).toBe(false)
    expect(holds('ka.user.name icontains EXAMPLE')).toBe(true)
    expect(holds('ka.user.name startswith alice')).toBe(true)
    expect(holds('ka.user.name startswith bob')).toBe(false)
    expect(holds('ka.user.name endswith .com')).toBe(true)
    expect(holds('ka.uri glob "/api/v1/*/team-?/pods*"')).toBe(true)
    expect(holds('ka.uri glob "/api/v1/*/team-[!a]/pods*"')).toBe(false)
    expect(holds('ka.useragent iglob "KUBECTL/*"')).toBe(true)
    expect(holds('ka.useragent regex "kubectl/v1\\.[0-9]+\\.0"')).toBe(true)
    expect(holds('ka.useragent regex "kubectl"')).toBe(false) // anchored at both ends
    expect(holds('ka.verb bcontains 7265')).toBe(true) // "re"
    expect(holds('ka.verb bstartswith 6372')).toBe(true) // "cr"
  })

  it('tests membership with in, intersects and pmatch', () => {
    expect(holds('ka.verb in (update, create)')).toBe(true)
    expect(holds('ka.verb in (update, patch)')).toBe(false)
    expect(holds('ka.target.namespace in ("team-a")')).toBe(true)
    // a list field is `in` a set when every value is; it `intersects` when one is
    expect(holds('ka.req.pod.containers.name in (app, side, other)')).toBe(true)
    expect(holds('ka.req.pod.containers.name in (app)')).toBe(false)
    expect(holds('ka.req.pod.containers.name intersects (app)')).toBe(true)
    expect(holds('ka.req.pod.containers.name intersects (nope)')).toBe(false)
    expect(holds('ka.req.pod.volumes.hostpath intersects (/proc/sys)')).toBe(true)
  })

  it('pmatch matches whole path components', () => {
    const ev = { ...base, objectRef: { resource: 'pods', name: '/proc/sys/kernel' } }
    expect(holds('ka.target.name pmatch (/etc, /proc)', ev)).toBe(true)
    expect(holds('ka.target.name pmatch (/pro)', ev)).toBe(false)
    expect(holds('ka.target.name pmatch (/proc/sys/kernel)', ev)).toBe(true)
  })

  it('tests presence with exists', () => {
    expect(holds('ka.target.subresource exists')).toBe(false)
    expect(holds('not ka.target.subresource exists')).toBe(true)
    expect(holds('ka.uri.param[dryRun] exists')).toBe(true)
    expect(holds('ka.uri.param[dryRun]=All')).toBe(true)
    expect(holds('ka.uri.param[force] exists')).toBe(false)
  })

  it('rejects operators a list field does not support, naming the rule and the line', () => {
    const set = loadFalcoRules([
      { name: 'lists.yaml', text: rule('bad', 'ka.req.pod.containers.name contains app') },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      "lists.yaml:1: rule 'bad': list filter 'ka.req.pod.containers.name' only supports operators 'exists', 'in' and 'intersects'",
    ])
    expect(set.rules).toEqual([])
  })
})

describe('grammar', () => {
  it('binds not tighter than and, and tighter than or', () => {
    // a or (b and c)
    expect(holds('ka.verb=create or ka.verb=delete and ka.verb=patch')).toBe(true)
    expect(holds('ka.verb=delete or ka.verb=create and ka.verb=patch')).toBe(false)
    expect(holds('(ka.verb=delete or ka.verb=create) and ka.target.resource=pods')).toBe(true)
    // not a and b  ==  (not a) and b
    expect(holds('not ka.verb=delete and ka.verb=create')).toBe(true)
    expect(holds('not (ka.verb=create and ka.verb=delete)')).toBe(true)
    expect(holds('not(ka.verb=create)')).toBe(false)
    expect(holds('not not ka.verb=create')).toBe(true)
  })

  it('reads quoted strings with escapes and multi-line conditions', () => {
    expect(holds('ka.auth.reason="RBAC: allowed"')).toBe(true)
    expect(holds("ka.auth.reason='RBAC: allowed'")).toBe(true)
    expect(holds('ka.auth.reason="RBAC:\\x20allowed"')).toBe(false)
    expect(holds('ka.verb=create\n  and\n  ka.target.resource=pods')).toBe(true)
  })

  it('reports a syntax error with where it is', () => {
    const set = loadFalcoRules([
      {
        name: 'syntax.yaml',
        text: `${rule('ok', 'ka.verb=create')}${rule('broken', 'ka.verb=create and (ka.verb=x')}`,
      },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      expect.stringMatching(/^syntax\.yaml:7: rule 'broken': expected a '\)' token \(condition column \d+/),
    ])
    expect(set.rules.map((r) => r.name)).toEqual(['ok'])
  })

  it('refuses unknown fields and missing field arguments', () => {
    const set = loadFalcoRules([
      {
        name: 'fields.yaml',
        text: `${rule('a', 'ka.nope=1')}${rule('b', 'ka.uri.param exists')}${rule('c', 'ka.req.pod.containers.image[x] exists')}`,
      },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      "fields.yaml:1: rule 'a': filter_check called with nonexistent field ka.nope",
      "fields.yaml:7: rule 'b': filter ka.uri.param requires an argument",
      "fields.yaml:13: rule 'c': filter ka.req.pod.containers.image needs a numeric index argument, got 'x'",
    ])
  })
})

describe('macros and lists', () => {
  it('expands nested macros; a rule may use macros defined after it', () => {
    const text = `${rule('r', 'creating_pod and not trusted')}
- macro: kcreate
  condition: ka.verb=create
- macro: creating_pod
  condition: kcreate and ka.target.resource=pods
- macro: trusted
  condition: ka.user.name in (trusted_users)
- list: trusted_users
  items: [bob]
`
    expect(fired(text)).toEqual(['r'])
    expect(fired(text, { ...base, user: { username: 'bob' } })).toEqual([])
  })

  it('reports an undefined macro, and a macro that uses one defined after it', () => {
    const set = loadFalcoRules([
      {
        name: 'm.yaml',
        text: `${rule('r', 'nope')}- macro: early
  condition: late
- macro: late
  condition: ka.verb=create
${rule('s', 'early')}`,
      },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      "m.yaml:1: rule 'r': Undefined macro 'nope' used in filter.",
      "m.yaml:11: rule 's': Undefined macro 'late' used in filter.",
    ])
  })

  it('appends to lists and macros (append: true and override: append), later files changing earlier ones', () => {
    const first = `- list: users
  items: [carol]
- macro: watched_verb
  condition: ka.verb=delete
${rule('r', 'watched_verb and ka.user.name in (users)')}`
    const second = `- list: users
  items: [alice@example.com]
  append: true
- macro: watched_verb
  condition: or ka.verb=create
  override:
    condition: append
`
    const load = (files: string[]) =>
      loadFalcoRules(files.map((text, i) => ({ name: `f${i}.yaml`, text })))
        .evaluate(base)
        .map((d) => d.rule)
    expect(load([first])).toEqual([])
    expect(load([first, second])).toEqual(['r'])
  })

  it('replaces lists, macros and rules (override: replace, or a new definition)', () => {
    const first = `- list: users
  items: [alice@example.com]
${rule('r', 'ka.user.name in (users)')}`
    const replaceList = `- list: users
  items: [dave]
  override:
    items: replace
`
    const redefineRule = rule('r', 'ka.verb=create')
    const load = (files: string[]) =>
      loadFalcoRules(files.map((text, i) => ({ name: `f${i}.yaml`, text })))
        .evaluate(base)
        .map((d) => d.rule)
    expect(load([first])).toEqual(['r'])
    expect(load([first, replaceList])).toEqual([])
    expect(load([first, replaceList, redefineRule])).toEqual(['r'])
  })

  it('expands a list named in another list, and substitutes empty lists', () => {
    const text = `- list: a
  items: [alice@example.com]
- list: b
  items: [a, erin]
- list: empty
  items: []
${rule('r', 'ka.user.name in (b) and not ka.verb in (empty)')}`
    expect(fired(text)).toEqual(['r'])
  })

  it('reports appending to a list that does not exist, and still loads the rest', () => {
    const set = loadFalcoRules([
      { name: 'base.yaml', text: rule('r', 'ka.verb=create') },
      { name: 'more.yaml', text: '- list: nowhere\n  items: [x]\n  append: true\n' },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      "more.yaml:1: list 'nowhere': List has 'append' key or an append override, but no list by that name already exists",
    ])
    expect(set.evaluate(base).map((d) => d.rule)).toEqual(['r'])
  })

  it('appends to and replaces parts of a rule', () => {
    const more = `- rule: r
  condition: and ka.target.namespace=team-b
  append: true
- rule: s
  condition: and ka.target.namespace=team-a
  output: (ns=%ka.target.namespace)
  tags: [extra]
  priority: CRITICAL
  override:
    condition: append
    output: append
    tags: append
    priority: replace
`
    const set = loadFalcoRules(
      [
        {
          name: 'a.yaml',
          text: `${rule('r', 'ka.verb=create')}${rule('s', 'ka.verb=create', '  tags: [k8s]\n')}`,
        },
        { name: 'b.yaml', text: more },
      ],
      { ruleMatching: 'all' },
    )
    expect(set.errors).toEqual([])
    expect(set.rules.map((r) => r.condition)).toEqual([
      'ka.verb=create and ka.target.namespace=team-b',
      'ka.verb=create and ka.target.namespace=team-a',
    ])
    const ds = set.evaluate(base)
    expect(ds.map((d) => [d.rule, d.priority, d.output, d.tags])).toEqual([
      ['s', 'critical', 's fired (user=alice@example.com) (ns=team-a)', ['extra', 'k8s']],
    ])
  })

  it('refuses a key changed without an override entry for it', () => {
    const set = loadFalcoRules([
      { name: 'a.yaml', text: rule('r', 'ka.verb=create') },
      {
        name: 'b.yaml',
        text: '- rule: r\n  condition: and ka.verb=x\n  output: new\n  override:\n    condition: append\n',
      },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      "b.yaml:1: rule 'r': Unexpected key 'output': no corresponding entry under 'override' is defined.",
    ])
  })
})

describe('exceptions', () => {
  const withExceptions = rule(
    'r',
    'ka.verb=create',
    `  exceptions:
    - name: known_users
      fields: [ka.user.name, ka.target.namespace]
      comps: [=, startswith]
      values:
        - [bob, team-]
    - name: known_namespaces
      fields: ka.target.namespace
      values: [kube-system]
`,
  )

  it('hides events matching an exception tuple', () => {
    expect(fired(withExceptions)).toEqual(['r'])
    expect(fired(withExceptions, { ...base, user: { username: 'bob' } })).toEqual([])
    expect(fired(withExceptions, { ...base, objectRef: { namespace: 'kube-system' } })).toEqual([])
  })

  it('appends exception values from a later file', () => {
    const more = `- rule: r
  exceptions:
    - name: known_users
      values:
        - [alice@example.com, team-a]
  override:
    exceptions: append
`
    const set = loadFalcoRules([
      { name: 'a.yaml', text: withExceptions },
      { name: 'b.yaml', text: more },
    ])
    expect(set.errors).toEqual([])
    expect(set.evaluate(base)).toEqual([])
    expect(set.rules[0]!.condition).toContain('ka.user.name = alice@example.com')
  })

  it('supports in with a list value and a named list in an exception', () => {
    const text = `- list: admins
  items: [alice@example.com]
${rule(
  'r',
  'ka.verb=create',
  `  exceptions:
    - name: admins_in_teams
      fields: [ka.user.name, ka.target.namespace]
      comps: [in, in]
      values:
        - [admins, [team-a, team-b]]
`,
)}`
    expect(fired(text)).toEqual([])
  })

  it('refuses malformed exceptions', () => {
    const set = loadFalcoRules([
      {
        name: 'ex.yaml',
        text: rule(
          'r',
          'ka.verb=create',
          '  exceptions:\n    - name: e\n      fields: [ka.verb, ka.uri]\n      comps: [=]\n      values: [[a, b]]\n',
        ),
      },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      "ex.yaml:1: rule 'r': Fields and comps lists must have equal length",
    ])
  })
})

describe('enabled, priorities and rule matching', () => {
  it('does not evaluate disabled rules, and lets a later file enable or disable a rule', () => {
    const disabled = rule('r', 'ka.verb=create', '  enabled: false\n')
    expect(fired(disabled)).toEqual([])
    const load = (files: string[]) =>
      loadFalcoRules(files.map((text, i) => ({ name: `f${i}.yaml`, text })))
        .evaluate(base)
        .map((d) => d.rule)
    expect(load([disabled, '- rule: r\n  enabled: true\n'])).toEqual(['r'])
    expect(
      load([rule('r', 'ka.verb=create'), '- rule: r\n  enabled: false\n  override:\n    enabled: replace\n']),
    ).toEqual([])
  })

  it("maps Falco's priorities, refuses unknown ones, and honours a minimum priority", () => {
    const text = `${rule('w', 'ka.verb=create')}- rule: i
  desc: d
  condition: ka.verb=create
  output: info
  priority: INFO
  source: k8s_audit
- rule: bad
  desc: d
  condition: ka.verb=create
  output: x
  priority: LOUD
  source: k8s_audit
`
    const all = loadFalcoRules([{ name: 'p.yaml', text }], { ruleMatching: 'all' })
    expect(all.errors.map(formatMessage)).toEqual(["p.yaml:13: rule 'bad': Invalid priority"])
    expect(all.evaluate(base).map((d) => [d.rule, d.priority])).toEqual([
      ['w', 'warning'],
      ['i', 'informational'],
    ])
    const warningsOnly = loadFalcoRules([{ name: 'p.yaml', text }], {
      ruleMatching: 'all',
      minPriority: 'warning',
    })
    expect(warningsOnly.evaluate(base).map((d) => d.rule)).toEqual(['w'])
  })

  it("gives only the first matching rule by default, as Falco's rule_matching: first", () => {
    const text = `${rule('one', 'ka.verb=create')}${rule('two', 'ka.verb=create')}`
    const set = loadFalcoRules([{ name: 't.yaml', text }])
    expect(set.evaluate(base).map((d) => d.rule)).toEqual(['one'])
    // a redefinition keeps the rule's place
    const again = loadFalcoRules([
      { name: 't.yaml', text },
      { name: 'u.yaml', text: rule('one', 'ka.verb=create') },
    ])
    expect(again.evaluate(base).map((d) => d.rule)).toEqual(['one'])
  })

  it('warns about unknown keys (a typo is not silently ignored)', () => {
    const set = loadFalcoRules([{ name: 'k.yaml', text: rule('r', 'ka.verb=create', '  enabeld: false\n') }])
    expect(set.warnings.map(formatMessage)).toEqual([
      "k.yaml:1: rule 'r': Unknown key 'enabeld'. The key will be ignored.",
    ])
    expect(set.evaluate(base).map((d) => d.rule)).toEqual(['r'])
  })

  it('skips rules of other sources with a warning', () => {
    const set = loadFalcoRules([
      {
        name: 's.yaml',
        text: '- rule: shell\n  desc: d\n  condition: proc.name=bash\n  output: x\n  priority: WARNING\n',
      },
    ])
    expect(set.errors).toEqual([])
    expect(set.rules).toEqual([])
    expect(set.warnings.map(formatMessage)).toContain(
      "s.yaml:1: rule 'shell': Unknown source syscall, skipping",
    )
  })
})

describe('output and detections', () => {
  it('fills %fields like Falco: lists in parentheses, missing values as <NA>', () => {
    const text = `- rule: r
  desc: d
  condition: ka.verb=create
  output: >
    u=%ka.user.name images=%ka.req.pod.containers.image repo=%ka.req.container.image.repository
    groups=%ka.user.groups sub=%ka.target.subresource name=%jevt.value[/requestObject/metadata/a~1b]
    tilde=%jevt.value[/requestObject/metadata/x~0y] dry=%ka.uri.param[dryRun] code=%ka.response.code
    pad=[%8ka.verb] cmd=%ka.req.pod.containers.command priv=%ka.req.container.privileged
    t=%jevt.rawtime %evt.time.iso8601 ka.target.name=%ka.target.name.
  priority: NOTICE
  source: k8s_audit
  tags: [k8s, mitre_execution]
`
    const set = loadFalcoRules([{ name: 'o.yaml', text }])
    expect(set.errors).toEqual([])
    const [d] = set.evaluate(base)
    expect(d!.output).toBe(
      'u=alice@example.com images=(nginx:1.27,registry.example.com/tools/sidecar@sha256:abc) repo=nginx ' +
        'groups=(system:authenticated,devs) sub=<NA> name=slash tilde=tilde dry=All code=201 ' +
        'pad=[  create] cmd=(sh -c sleep 1) priv=true ' +
        't=1796119200123456000 2026-12-01T10:00:00.123456000Z ka.target.name=web.',
    )
    expect(d).toEqual({
      rule: 'r',
      source: 'falco-rules',
      priority: 'notice',
      output: d!.output,
      time: '2026-12-01T10:00:00.123Z',
      labels: {
        rule: 'r',
        priority: 'notice',
        source: 'falco-rules',
        user: 'alice@example.com',
        verb: 'create',
        resource: 'pods',
        namespace: 'team-a',
        name: 'web',
      },
      tags: ['k8s', 'mitre_execution'],
      auditID: 'a1',
    })
  })

  it('refuses an output with a token that is not a field', () => {
    const set = loadFalcoRules([
      {
        name: 'o.yaml',
        text: '- rule: r\n  desc: d\n  condition: ka.verb=create\n  output: at 100%\n  priority: INFO\n  source: k8s_audit\n',
      },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      "o.yaml:1: rule 'r': output: invalid formatting syntax: formatting cannot end with a %",
    ])
  })
})

describe('broken files', () => {
  it('reports a YAML error with its file and line, and loads the other files', () => {
    const set = loadFalcoRules([
      { name: 'good.yaml', text: rule('r', 'ka.verb=create') },
      { name: 'broken.yaml', text: `${rule('s', 'ka.verb=create')}- rule: t\n  condition: [unclosed\n` },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      expect.stringMatching(/^broken\.yaml:9: YAML: .*; nothing in this file was loaded$/),
    ])
    expect(set.rules.map((r) => r.name)).toEqual(['r'])
    expect(set.evaluate(base).map((d) => d.rule)).toEqual(['r'])
  })

  it('reads every YAML document of a file, with the right lines', () => {
    const set = loadFalcoRules([
      {
        name: 'docs.yaml',
        text: `${rule('r', 'ka.verb=create')}---\n# second document\n${rule('s', 'nope')}`,
      },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      "docs.yaml:9: rule 's': Undefined macro 'nope' used in filter.",
    ])
    expect(set.rules.map((r) => r.name)).toEqual(['r'])
  })

  it('reports items missing required keys, or not mappings, and keeps the good items of the same file', () => {
    const set = loadFalcoRules([
      {
        name: 'items.yaml',
        text: `- just a string
- rule: no_output
  desc: d
  condition: ka.verb=create
  priority: INFO
  source: k8s_audit
${rule('fine', 'ka.verb=create')}- macro: m
`,
      },
    ])
    expect(set.errors.map(formatMessage)).toEqual([
      'items.yaml:1: Unexpected element type. Each element should be a yaml associative array.',
      "items.yaml:2: rule 'no_output': Item has no mapping for key 'output'",
      "items.yaml:13: macro 'm': Item has no mapping for key 'condition'",
    ])
    expect(set.rules.map((r) => r.name)).toEqual(['fine'])
  })
})

describe('events missing what a rule reads', () => {
  const text = `${rule('privileged', 'ka.req.pod.containers.privileged intersects (true)')}${rule(
    'not_kube_system',
    'not ka.target.namespace in (kube-system)',
  )}${rule('stage', 'jevt.value[/stage]=ResponseComplete')}${rule('response_ok', 'ka.response.code startswith 2')}`

  it('does not crash, and the rule just does not match (but `not` of a failed check holds)', () => {
    const empty: AuditEvent = { kind: 'Event', auditID: 'x', stageTimestamp: '2026-12-01T10:00:00Z' }
    expect(fired(text, empty)).toEqual(['not_kube_system'])
    const weird = {
      ...empty,
      objectRef: 'not an object',
      requestObject: { spec: { containers: 'nope' } },
      responseStatus: null,
    } as unknown as AuditEvent
    expect(fired(text, weird)).toEqual(['not_kube_system'])
  })

  it('reads no ka.* field from a JSON without auditID (not an audit event), but jevt.* still', () => {
    const { auditID: _, ...noId } = base
    expect(fired(text, noId as AuditEvent)).toEqual(['not_kube_system', 'stage'])
  })

  it('prints <NA> for missing values in the output', () => {
    const set = loadFalcoRules([
      {
        name: 'n.yaml',
        text: '- rule: r\n  desc: d\n  condition: ka.verb=get\n  output: "u=%ka.user.name ns=%ka.target.namespace"\n  priority: INFO\n  source: k8s_audit\n',
      },
    ])
    const [d] = set.evaluate({
      kind: 'Event',
      auditID: 'x',
      verb: 'get',
      stageTimestamp: '2026-12-01T10:00:00Z',
    })
    expect(d!.output).toBe('u=<NA> ns=<NA>')
    expect(d!.labels).toEqual({ rule: 'r', priority: 'informational', source: 'falco-rules', verb: 'get' })
  })
})

describe('audit payloads', () => {
  it('reads Event, EventList and arrays, and refuses what is not an audit event', () => {
    const e = JSON.stringify(base)
    expect(parseAuditPayload(e).events).toHaveLength(1)
    expect(parseAuditPayload(`{"kind":"EventList","items":[${e},${e}]}`).events).toHaveLength(2)
    expect(parseAuditPayload(`[${e},${e},${e}]`).events).toHaveLength(3)
    expect(parseAuditPayload('{"kind": 0}').errors).toEqual([
      { line: 0, message: 'data not recognized as a k8s audit event' },
    ])
    const lines = parseAuditLines(`${e}\n\n{"kind":"Event"}\nnot json\n`)
    expect(lines.events).toHaveLength(1)
    expect(lines.errors.map((x) => x.line)).toEqual([3, 4])
    expect(lines.errors[0]!.message).toBe("can't read stageTimestamp")
  })
})

describe('docs/audit-rules.md', () => {
  it("its example loads after Falco's default rules and does what the page says", () => {
    const page = readFileSync(resolve(import.meta.dirname, '..', '..', 'docs', 'audit-rules.md'), 'utf8')
    const example = /```yaml\n([\s\S]*?)```/.exec(page)![1]!
    const defaults = readFileSync(
      corpusPath('falco-k8saudit', 'falcosecurity-plugins/plugins/k8saudit/rules/k8s_audit_rules.yaml'),
      'utf8',
    )
    const set = loadFalcoRules(
      [
        { name: 'k8s_audit_rules.yaml', text: defaults },
        { name: 'team-rules.yaml', text: example },
      ],
      { ruleMatching: 'all' },
    )
    expect(set.errors.map(formatMessage)).toEqual([])
    const exec: AuditEvent = {
      ...base,
      stage: 'ResponseStarted',
      verb: 'create',
      requestURI: '/api/v1/namespaces/prod-eu/pods/checkout-7d9/exec?command=sh&container=app&stdin=true',
      objectRef: { resource: 'pods', subresource: 'exec', namespace: 'prod-eu', name: 'checkout-7d9' },
    }
    const d = set.evaluate(exec).find((x) => x.rule === 'Exec Into Production')
    expect(d?.output).toBe('Exec into prod-eu/checkout-7d9 by alice@example.com (command=sh)')
    expect(d?.tags).toEqual(['k8s', 'production'])
    // the default rule answers first under Falco's default matching
    expect(
      loadFalcoRules([
        { name: 'k', text: defaults },
        { name: 't', text: example },
      ]).evaluate(exec)[0]?.rule,
    ).toBe('Attach/Exec Pod')
    // the exception appended to the default rule
    const gpu: AuditEvent = {
      ...base,
      objectRef: { resource: 'pods', namespace: 'gpu-operator', name: 'driver' },
      requestObject: {
        spec: {
          containers: [
            { name: 'd', image: 'nvcr.io/nvidia/driver:550', securityContext: { privileged: true } },
          ],
        },
      },
    }
    const rules = (ev: AuditEvent) => set.evaluate(ev).map((x) => x.rule)
    expect(rules(gpu)).not.toContain('Create Privileged Pod')
    expect(rules({ ...gpu, objectRef: { ...gpu.objectRef, namespace: 'default' } })).toContain(
      'Create Privileged Pod',
    )
    // ci-deployer is now an allowed user
    expect(rules({ ...base, user: { username: 'dave' } })).toContain('Disallowed K8s User')
    expect(rules({ ...base, user: { username: 'ci-deployer' } })).not.toContain('Disallowed K8s User')
  })
})

describe("the k8saudit-gke plugin's rules file", () => {
  const plugins = (p: string) =>
    readFileSync(corpusPath('falco-k8saudit', 'falcosecurity-plugins/plugins', p), 'utf8')
  const files = [
    { name: 'k8s_audit_rules.yaml', text: plugins('k8saudit/rules/k8s_audit_rules.yaml') },
    { name: 'k8s_audit_rules_gke.yaml', text: plugins('k8saudit-gke/rules/k8s_audit_rules_gke.yaml') },
  ]

  it('loads after the default rules (its `]` under `items:` read as yaml-cpp reads it) and changes them', () => {
    const set = loadFalcoRules(files, { ruleMatching: 'all' })
    expect(set.errors.map(formatMessage)).toEqual([])
    expect(set.warnings.map(formatMessage)).toEqual([
      'k8s_audit_rules_gke.yaml:46: closing bracket indented less than YAML allows; read as Falco (yaml-cpp) does',
    ])
    const robot = { ...base, user: { username: 'service-1@container-engine-robot.iam.gserviceaccount.com' } }
    expect(set.evaluate(robot).map((d) => d.rule)).not.toContain('Disallowed K8s User')
    expect(set.evaluate({ ...base, user: { username: 'mallory' } }).map((d) => d.rule)).toContain(
      'Disallowed K8s User',
    )
    const netd = {
      ...base,
      requestObject: {
        spec: { containers: [{ image: 'gke.gcr.io/netd:v1', securityContext: { privileged: true } }] },
      },
    }
    expect(set.evaluate(netd).map((d) => d.rule)).not.toContain('Create Privileged Pod')
    const defaultsOnly = loadFalcoRules(files.slice(0, 1), { ruleMatching: 'all' })
    expect(defaultsOnly.evaluate(netd).map((d) => d.rule)).toContain('Create Privileged Pod')
  })

  it('alone, reports each change to a rule or list that does not exist, with its line', () => {
    const set = loadFalcoRules(files.slice(1))
    expect(set.errors.map(formatMessage).slice(0, 2)).toEqual([
      "k8s_audit_rules_gke.yaml:28: rule 'Disallowed K8s User': Rule has 'append' key or an override, but no rule by that name already exists",
      "k8s_audit_rules_gke.yaml:39: list 'k8s_audit_privileged_images': List has 'append' key or an append override, but no list by that name already exists",
    ])
  })
})

describe('robustness', () => {
  const defaults = readFileSync(
    corpusPath('falco-k8saudit', 'falcosecurity-plugins/plugins/k8saudit/rules/k8s_audit_rules.yaml'),
    'utf8',
  )
  const set = loadFalcoRules([{ name: 'k8s_audit_rules.yaml', text: defaults }], { ruleMatching: 'all' })

  it('evaluates any JSON object without throwing, the default rules included', () => {
    // events shaped like audit events, with any JSON where the rules look
    const anyJson = fc.jsonValue({ maxDepth: 3 })
    const event = fc.record(
      {
        kind: fc.constant('Event'),
        auditID: fc.oneof(fc.string(), anyJson),
        stage: fc.constantFrom('ResponseComplete', 'ResponseStarted', 'Panic'),
        verb: fc.oneof(fc.constantFrom('create', 'get', 'delete', 'update'), anyJson),
        user: fc.oneof(fc.record({ username: fc.string(), groups: anyJson }), anyJson),
        objectRef: fc.oneof(
          fc.record({
            resource: fc.constantFrom('pods', 'configmaps', 'clusterroles'),
            namespace: fc.string(),
          }),
          anyJson,
        ),
        requestURI: fc.oneof(fc.webUrl(), fc.string()),
        requestObject: fc.oneof(
          fc.record({
            spec: fc.record({ containers: fc.array(fc.dictionary(fc.string(), anyJson)), volumes: anyJson }),
          }),
          fc.record({ rules: anyJson, data: anyJson, subjects: anyJson }),
          anyJson,
        ),
        responseStatus: anyJson,
        stageTimestamp: fc.oneof(fc.constant('2026-12-01T10:00:00.5Z'), fc.string()),
        annotations: anyJson,
      },
      { requiredKeys: [] },
    )
    fc.assert(
      fc.property(event, (ev) => {
        const ds = set.evaluate(ev as AuditEvent)
        for (const d of ds) {
          expect(typeof d.output).toBe('string')
          expect(Number.isNaN(Date.parse(d.time))).toBe(false)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on a malformed condition or output: it reports an error for that rule', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.string({ maxLength: 30 }), (cond, out) => {
        const text = `- rule: r\n  desc: d\n  condition: ${JSON.stringify(cond)}\n  output: ${JSON.stringify(`x ${out}`)}\n  priority: INFO\n  source: k8s_audit\n`
        const s = loadFalcoRules([{ name: 'f.yaml', text }])
        expect(s.rules.length + s.errors.length).toBeGreaterThan(0)
        s.evaluate(base)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('fields', () => {
  it("knows every field of the k8saudit plugin's README, and the json plugin's", () => {
    const readme = readFileSync(
      corpusPath('falco-k8saudit', 'falcosecurity-plugins/plugins/k8saudit/README.md'),
      'utf8',
    )
    const documented = [...readme.matchAll(/^\| `(ka\.[^`]+)`/gm)].map((m) => m[1]!)
    expect(documented.length).toBeGreaterThan(90)
    const known = new Set(fieldNames())
    expect(documented.filter((f) => !known.has(f))).toEqual([])
    for (const f of [
      'json.value',
      'json.obj',
      'json.rawtime',
      'jevt.value',
      'jevt.obj',
      'jevt.rawtime',
      'jevt.time',
    ]) {
      expect(known.has(f), f).toBe(true)
    }
  })

  it('extracts binding subjects, role rules, service ports and volumes as the plugin does', () => {
    const ev: AuditEvent = {
      ...base,
      requestObject: {
        subjects: [
          { kind: 'User', name: 'u1' },
          { kind: 'ServiceAccount', name: 'sa', namespace: 'ns' },
          { kind: 'Group', name: 'g' },
        ],
        roleRef: { name: 'cluster-admin' },
        rules: [
          { apiGroups: [''], resources: ['pods', 'pods/exec'], verbs: ['get'] },
          { resources: ['secrets'], verbs: ['*'] },
        ],
        spec: {
          type: 'NodePort',
          ports: [{ port: 80, nodePort: 30080 }],
          volumes: [
            { name: 'h', hostPath: { path: '/etc' } },
            { name: 'e', emptyDir: {} },
          ],
          containers: [{ name: 'c', image: 'busybox' }],
          initContainers: [{ name: 'i', image: 'alpine:3', securityContext: { runAsUser: 1000 } }],
        },
      },
    }
    const text = `- rule: r
  desc: d
  condition: ka.verb=create
  output: "users=%ka.req.binding.subjects.user_names sas=%ka.req.binding.subjects.serviceaccount_ns_names groups=%ka.req.binding.subjects.group_names role=%ka.req.binding.role res=%ka.req.role.rules.resources res1=%ka.req.role.rules.resources[1] verbs=%ka.req.role.rules.verbs type=%ka.req.service.type ports=%ka.req.service.ports paths=%ka.req.pod.volumes.hostpath types=%ka.req.pod.volumes.volume_type etc=%ka.req.volume.hostpath[/et*] init=%ka.req.pod.initContainers.image.repository uid=%ka.req.pod.initContainers.eff_run_as_user priv=%ka.req.pod.containers.privileged"
  priority: INFO
  source: k8s_audit
`
    const [d] = loadFalcoRules([{ name: 'f.yaml', text }]).evaluate(ev)
    expect(d!.output).toBe(
      'users=(u1) sas=(ns:sa) groups=(g) role=cluster-admin res=(pods,pods/exec,secrets) res1=(secrets) ' +
        'verbs=(get,*) type=NodePort ports=([{"port":80,"nodePort":30080}]) paths=(/etc) types=(hostPath,emptyDir) ' +
        'etc=true init=(alpine) uid=(1000) priv=<NA>',
    )
  })
})
