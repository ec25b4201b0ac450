/**
 * The audit alerts' noise filter, pure: the config (Alertmanager's format and Plimsoll's extras, errors
 * with file and line), matchers, fingerprints, and the aggregator's grouping, timing, inhibition,
 * silences, rate limits, allowlist and dedupe, all on an injected clock (nothing sleeps).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Aggregator, type Notification } from '../../src/audit/alerts/aggregator.js'
import {
  AlertConfigError,
  matchRoutes,
  parseAlertsConfig,
  parseDuration,
} from '../../src/audit/alerts/config.js'
import { fingerprint } from '../../src/audit/alerts/fingerprint.js'
import { compileMatcher, parseMatcher, parseMatchers } from '../../src/audit/alerts/matchers.js'
import { SilenceError, validateSilence } from '../../src/audit/alerts/silences.js'
import type { Detection, Priority } from '../../src/audit/types.js'

const T0 = Date.parse('2026-03-01T10:00:00.000Z')
const S = 1000
const M = 60 * S
const H = 60 * M

class TestClock {
  t = T0
  now = () => this.t
}

function det(
  rule: string,
  labels: Record<string, string>,
  at: number,
  priority: Priority = 'warning',
): Detection {
  return {
    rule,
    source: 'falco-rules',
    priority,
    output: `${rule} by ${labels.user ?? '?'}`,
    time: new Date(at).toISOString(),
    labels: { rule, priority, source: 'falco-rules', ...labels },
    tags: ['k8s'],
    auditID: `a-${at}`,
  }
}

const RECEIVERS = `
receivers:
  - name: team
    webhook_configs:
      - url: http://127.0.0.1:1/hook
  - name: oncall
    webhook_configs:
      - url: http://127.0.0.1:1/page
`

function config(yaml: string) {
  return parseAlertsConfig('alerts.yml', yaml + RECEIVERS)
}

/** Drives an aggregator: each step moves the clock, ingests, and collects what tick() sends. */
function harness(yaml: string) {
  const clock = new TestClock()
  const agg = new Aggregator(config(yaml), clock)
  const sent: Notification[] = []
  return {
    clock,
    agg,
    sent,
    at(ms: number) {
      clock.t = T0 + ms
      sent.push(...agg.tick())
    },
    push(d: Detection) {
      const outcome = agg.ingest(d)
      sent.push(...agg.tick())
      return outcome
    },
  }
}

describe('alerts config', () => {
  it('reads an Alertmanager-style config, children inheriting from their parent', () => {
    const c = config(`
global:
  resolve_timeout: 10m
route:
  receiver: team
  group_by: [rule]
  group_wait: 10s
  group_interval: 2m
  repeat_interval: 3h
  routes:
    - matchers: ['priority=~"critical|emergency"']
      receiver: oncall
      group_by: [rule, user]
      continue: true
    - match: { namespace: kube-system }
      group_wait: 1m
inhibit_rules:
  - source_matchers: [priority="critical"]
    target_matchers: [priority="warning"]
    equal: [user]
allowlist:
  - matchers: ['user="system:serviceaccount:ci:deployer"', 'verb="create"']
    comment: the deploy pipeline
rate_limits:
  - max_alerts: 50
    per: 1m
`)
    expect(c.resolveTimeoutMs).toBe(10 * M)
    expect(c.route).toMatchObject({
      receiver: 'team',
      groupBy: ['rule'],
      groupWaitMs: 10 * S,
      repeatIntervalMs: 3 * H,
    })
    const [critical, system] = c.route.routes
    expect(critical).toMatchObject({
      receiver: 'oncall',
      groupBy: ['rule', 'user'],
      groupWaitMs: 10 * S,
      continue: true,
    })
    expect(system).toMatchObject({
      receiver: 'team',
      groupBy: ['rule'],
      groupWaitMs: M,
      groupIntervalMs: 2 * M,
    })
    expect(c.inhibitRules[0]!.equal).toEqual(['user'])
    expect(c.allowlist[0]!.comment).toBe('the deploy pipeline')
    expect(c.rateLimits[0]).toMatchObject({ by: ['rule'], maxAlerts: 50, perMs: M })
    // the walk: first matching child, then on past it only with continue
    const ids = (labels: Record<string, string>) => matchRoutes(c.route, labels).map((r) => r.receiver)
    expect(ids({ priority: 'critical', namespace: 'kube-system' })).toEqual(['oncall', 'team'])
    expect(ids({ priority: 'warning', namespace: 'kube-system' })).toEqual(['team'])
    expect(matchRoutes(c.route, { priority: 'warning', namespace: 'kube-system' })[0]).toBe(system)
    expect(matchRoutes(c.route, { priority: 'warning' })[0]).toBe(c.route)
  })

  it('takes Alertmanager defaults and its durations', () => {
    const c = config('route: { receiver: team }')
    expect(c).toMatchObject({ resolveTimeoutMs: 5 * M })
    expect(c.route).toMatchObject({
      groupBy: [],
      groupWaitMs: 30 * S,
      groupIntervalMs: 5 * M,
      repeatIntervalMs: 4 * H,
    })
    expect(parseDuration('1h30m')).toBe(90 * M)
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('2d')).toBe(48 * H)
    expect(parseDuration('5 minutes')).toBeUndefined()
    expect(config("route: { receiver: team, group_by: ['...'] }").route.groupBy).toBe('all')
  })

  it.each([
    ['route:\n  receiver: team\n  group_wait: soon\n', 3, 'route.group_wait: invalid duration "soon"'],
    [
      'route:\n  receiver: team\n  routes:\n    - receiver: nobody\n',
      4,
      "route.routes[0].receiver: receiver 'nobody' is not defined",
    ],
    [
      'route:\n  receiver: team\n  routes:\n    - matchers: ["user=~\\"(\\""]\n',
      4,
      'route.routes[0].matchers[0]: invalid regular expression',
    ],
    ['route:\n  receiver: team\n  matchers: [a="b"]\n', 3, 'the root route must not have matchers'],
    ['route:\n  receiver: team\n  grup_by: [rule]\n', 3, "route.grup_by: unknown field 'grup_by'"],
    [
      'route:\n  receiver: team\nallowlist:\n  - comment: everything\n',
      4,
      'allowlist[0].matchers: an allowlist entry needs matchers',
    ],
    ['route:\n  receiver: team\nrate_limits:\n  - max_alerts: 5\n', 4, 'rate_limits[0].per: is required'],
    ['route:\n  receiver: [team\n', 4, 'invalid YAML'], // where the parser finds the list unclosed
  ])('names the file and line of a mistake: %j', (yaml, line, message) => {
    let err: unknown
    try {
      config(yaml)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(AlertConfigError)
    expect((err as AlertConfigError).message).toContain(`alerts.yml:${line}: `)
    expect((err as AlertConfigError).message).toContain(message)
  })

  it('refuses to send to Alertmanager less often than it would resolve the alerts', () => {
    const yaml = `
route: { receiver: am }
receivers:
  - name: am
    alertmanager_configs: [{ url: 'http://127.0.0.1:9093/' }]
`
    expect(() => parseAlertsConfig('am.yml', yaml)).toThrow(/am\.yml:2: route\.repeat_interval: .*below/)
    const ok = parseAlertsConfig('am.yml', yaml.replace('receiver: am', 'receiver: am, repeat_interval: 1m'))
    expect(ok.receivers.get('am')!.integrations[0]).toMatchObject({
      type: 'alertmanager',
      url: 'http://127.0.0.1:9093',
    })
  })
})

it('the example config in docs/audit-alerts.md is valid', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '..', '..', 'docs', 'audit-alerts.md'), 'utf8')
  const block = /## The config file[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1]
  expect(block).toBeDefined()
  const secret = join(mkdtempSync(join(tmpdir(), 'plimsoll-alerts-doc-')), 'secret')
  writeFileSync(secret, 'shared\n')
  const c = parseAlertsConfig('docs/audit-alerts.md', block!.replace('/etc/plimsoll/webhook-secret', secret))
  expect([...c.receivers.keys()]).toEqual(['security-team', 'oncall', 'platform-team'])
  expect(c.receivers.get('security-team')!.integrations[0]).toMatchObject({
    type: 'webhook',
    secret: 'shared',
  })
  expect(c.route.routes.map((r) => r.receiver)).toEqual(['oncall', 'platform-team'])
})

describe('matchers and fingerprints', () => {
  it('match as Alertmanager does: anchored regexes, absent labels empty', () => {
    const m = (s: string) => compileMatcher(parseMatcher(s))
    expect(m('user="alice"').matches({ user: 'alice' })).toBe(true)
    expect(m('user!="alice"').matches({ user: 'bob' })).toBe(true)
    expect(m('user=~"al.*"').matches({ user: 'alice' })).toBe(true)
    expect(m('user=~"lic"').matches({ user: 'alice' })).toBe(false)
    expect(m('user!~"system:.*"').matches({ user: 'system:kube-scheduler' })).toBe(false)
    expect(m('team=""').matches({})).toBe(true)
    expect(m('team!=""').matches({})).toBe(false)
    expect(m('env=prod').matches({ env: 'prod' })).toBe(true)
    expect(parseMatcher('msg="say \\"hi\\""')).toEqual({ name: 'msg', type: '=', value: 'say "hi"' })
    expect(parseMatchers('{a="1,2", b=~"x|y"}')).toEqual([
      { name: 'a', type: '=', value: '1,2' },
      { name: 'b', type: '=~', value: 'x|y' },
    ])
    expect(() => parseMatcher('no operator')).toThrow(/invalid matcher/)
  })

  it("are Alertmanager's label-set fingerprints (FNV-1a 64, sorted, 0xff separators)", () => {
    const reference = (labels: Record<string, string>) => {
      let h = 14695981039346656037n
      for (const k of Object.keys(labels).sort())
        for (const b of [...Buffer.from(k), 0xff, ...Buffer.from(labels[k]!), 0xff]) {
          h ^= BigInt(b)
          h = (h * 1099511628211n) & 0xffffffffffffffffn
        }
      return h.toString(16).padStart(16, '0')
    }
    const sets: Record<string, string>[] = [
      {},
      { alertname: 'Terminal shell in container' },
      { alertname: 'x', user: 'système', namespace: 'prod', priority: 'critical' },
      { b: '2', a: '1' },
    ]
    for (const labels of sets) expect(fingerprint(labels)).toBe(reference(labels))
    expect(fingerprint({})).toBe('cbf29ce484222325')
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }))
  })
})

describe('aggregator', () => {
  const BASE = `
global: { resolve_timeout: 2h }
route:
  receiver: team
  group_by: [rule]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
`

  it('groups by group_by and waits group_wait before the first notification', () => {
    const h = harness(BASE)
    h.push(det('Exec into pod', { user: 'alice' }, T0))
    h.at(10 * S)
    h.push(det('Exec into pod', { user: 'bob' }, T0 + 10 * S))
    h.push(det('Read secret', { user: 'alice' }, T0 + 10 * S))
    h.at(29 * S)
    expect(h.sent).toHaveLength(0)
    h.at(30 * S)
    expect(h.sent).toHaveLength(1)
    expect(h.sent[0]!.groupLabels).toEqual({ rule: 'Exec into pod' })
    expect(h.sent[0]!.alerts.map((a) => a.labels.user).sort()).toEqual(['alice', 'bob'])
    expect(h.sent[0]!.commonLabels).toMatchObject({ alertname: 'Exec into pod', rule: 'Exec into pod' })
    expect(h.sent[0]).toMatchObject({
      receiver: 'team',
      status: 'firing',
      time: new Date(T0 + 30 * S).toISOString(),
    })
    expect(h.sent[0]!.alerts[0]).toMatchObject({
      status: 'firing',
      startsAt: new Date(T0).toISOString(),
      endsAt: new Date(T0 + 2 * H).toISOString(),
      annotations: { summary: 'Exec into pod by alice', tags: 'k8s', auditID: `a-${T0}` },
    })
    h.at(40 * S) // the second group's own group_wait
    expect(h.sent).toHaveLength(2)
    expect(h.sent[1]!.groupLabels).toEqual({ rule: 'Read secret' })
  })

  it('sends updates at group_interval, and an unchanged group again only after repeat_interval', () => {
    const h = harness(BASE)
    h.push(det('Exec into pod', { user: 'alice' }, T0))
    h.at(30 * S)
    expect(h.sent).toHaveLength(1)
    // a new alert in the group: not before the next group_interval tick (5m30s)
    h.at(M)
    h.push(det('Exec into pod', { user: 'bob' }, T0 + M))
    h.at(5 * M + 29 * S)
    expect(h.sent).toHaveLength(1)
    h.at(5 * M + 30 * S)
    expect(h.sent).toHaveLength(2)
    expect(h.sent[1]!.alerts.map((a) => a.labels.user)).toEqual(['alice', 'bob']) // by startsAt
    // nothing new: silent until the first flush an hour after the last notification (1h5m30s)
    for (let t = 6 * M; t < H + 5 * M + 30 * S; t += M) {
      h.clock.t = T0 + t
      h.push(det('Exec into pod', { user: 'alice' }, T0 + t)) // keeps firing, deduped
    }
    expect(h.sent).toHaveLength(2)
    h.at(H + 5 * M + 30 * S)
    expect(h.sent).toHaveLength(3)
    expect(h.sent[2]!.alerts).toHaveLength(2)
  })

  it('a clock that jumps runs the flushes that were due in between, at their times', () => {
    const h = harness(BASE)
    h.push(det('Exec into pod', { user: 'alice' }, T0))
    h.at(3 * H)
    // 30s: firing; alice's alert resolves 2h after its detection: the flush at 2h0m30s sends it resolved
    expect(h.sent.map((n) => [n.time, n.status])).toEqual([
      [new Date(T0 + 30 * S).toISOString(), 'firing'],
      [new Date(T0 + H + 30 * S).toISOString(), 'firing'], // repeat_interval
      [new Date(T0 + 2 * H + 30 * S).toISOString(), 'resolved'],
    ])
    expect(h.sent[2]!.alerts[0]).toMatchObject({
      status: 'resolved',
      endsAt: new Date(T0 + 2 * H).toISOString(),
    })
    // resolved and sent: the group is gone
    expect(h.agg.nextWakeup()).toBeUndefined()
    expect(h.agg.alertCount).toBe(0)
  })

  it('sends resolved alerts only to receivers that want them, and always when all have resolved', () => {
    const yaml = (sendResolved: boolean) => `
global: { resolve_timeout: 10m }
route: { receiver: quiet, group_by: [rule], group_wait: 30s, group_interval: 5m, repeat_interval: 4h }
receivers:
  - name: quiet
    slack_configs: [{ api_url: 'https://hooks.slack.example/x', send_resolved: ${sendResolved} }]
`
    for (const sendResolved of [false, true]) {
      const clock = new TestClock()
      const agg = new Aggregator(parseAlertsConfig('quiet.yml', yaml(sendResolved)), clock)
      const sent: Notification[] = []
      const at = (ms: number) => {
        clock.t = T0 + ms
        sent.push(...agg.tick())
      }
      agg.ingest(det('Exec into pod', { user: 'alice' }, T0))
      agg.ingest(det('Exec into pod', { user: 'bob' }, T0))
      at(30 * S)
      // bob keeps being detected; alice's alert resolves at 10m
      for (let t = M; t <= 20 * M; t += M) {
        clock.t = T0 + t
        agg.ingest(det('Exec into pod', { user: 'bob' }, T0 + t))
        at(t)
      }
      const statuses = sent.map((n) =>
        n.alerts
          .map((a) => `${a.labels.user}:${a.status}`)
          .sort()
          .join(' '),
      )
      expect(statuses).toEqual(
        sendResolved ? ['alice:firing bob:firing', 'alice:resolved bob:firing'] : ['alice:firing bob:firing'],
      )
      // then bob stops: everything resolved is sent only where resolved alerts are wanted; elsewhere
      // Alertmanager sends nothing (its RetryStage reports it done, for the notification log)
      const before = sent.length
      at(45 * M)
      if (sendResolved) expect(sent.at(-1)!.status).toBe('resolved')
      else expect(sent).toHaveLength(before)
      // and the log noted it: bob firing again is news, sent after the new group's group_wait
      agg.ingest(det('Exec into pod', { user: 'bob' }, clock.t))
      at(46 * M)
      expect(sent.at(-1)!.alerts.map((a) => `${a.labels.user}:${a.status}`)).toEqual(['bob:firing'])
    }
  })

  it('dedupes detections with the same labels into one alert', () => {
    const h = harness(BASE)
    const outcomes = new Set<string>()
    for (let i = 0; i < 100; i++) outcomes.add(h.push(det('Exec into pod', { user: 'alice' }, T0)))
    expect([...outcomes]).toEqual(['new', 'deduped'])
    h.at(30 * S)
    expect(h.sent).toHaveLength(1)
    expect(h.sent[0]!.alerts).toHaveLength(1)
    expect(h.agg.noiseReport()[0]).toMatchObject({
      detections: 100,
      deduped: 99,
      alerts: 1,
      notifications: 1,
      ratio: 100,
    })
  })

  it('inhibits targets while a source with the same equal labels fires', () => {
    const h = harness(`${BASE}
inhibit_rules:
  - source_matchers: [priority="critical"]
    target_matchers: [priority="warning"]
    equal: [user]
`)
    h.push(det('Read secret', { user: 'alice' }, T0, 'critical'))
    h.push(det('Exec into pod', { user: 'alice' }, T0, 'warning'))
    h.push(det('Exec into pod', { user: 'bob' }, T0, 'warning'))
    h.at(30 * S)
    const exec = h.sent.find((n) => n.groupLabels.rule === 'Exec into pod')!
    expect(exec.alerts.map((a) => a.labels.user)).toEqual(['bob'])
    expect(h.sent.find((n) => n.groupLabels.rule === 'Read secret')!.alerts).toHaveLength(1)
  })

  it('an alert matching both source and target does not inhibit itself', () => {
    const h = harness(`${BASE}
inhibit_rules:
  - source_matchers: [rule=~".+"]
    target_matchers: [rule=~".+"]
    equal: [user]
`)
    h.push(det('Exec into pod', { user: 'alice' }, T0))
    h.at(30 * S)
    expect(h.sent).toHaveLength(1)
  })

  it('leaves out silenced alerts, and sends them once the silence has expired', () => {
    const h = harness(BASE)
    const silence = validateSilence(
      {
        matchers: ['user="alice"', 'rule=~"Exec.*"'],
        endsAt: new Date(T0 + 10 * M).toISOString(),
        createdBy: 'sre',
        comment: 'drill',
      },
      T0,
    )
    h.agg.setSilences([{ id: 's1', ...silence }])
    h.push(det('Exec into pod', { user: 'alice' }, T0))
    h.push(det('Exec into pod', { user: 'bob' }, T0))
    h.push(det('Read secret', { user: 'alice' }, T0))
    h.at(30 * S)
    expect(h.sent.map((n) => [n.groupLabels.rule, n.alerts.map((a) => a.labels.user)])).toEqual([
      ['Exec into pod', ['bob']],
      ['Read secret', ['alice']],
    ])
    expect(
      h.agg.silencedBy({ alertname: 'Exec into pod', rule: 'Exec into pod', user: 'alice' }),
    ).toHaveLength(1)
    h.at(5 * M + 30 * S)
    expect(h.sent).toHaveLength(2)
    // expired at 10m: the flush at 10m30s sends alice's exec
    h.at(10 * M + 30 * S)
    expect(h.sent).toHaveLength(3)
    expect(h.sent[2]!.alerts.map((a) => a.labels.user).sort()).toEqual(['alice', 'bob'])
    expect(h.agg.noiseReport().find((r) => r.rule === 'Exec into pod')).toMatchObject({ silenced: 1 })
  })

  it('silences with != and !~ matchers', () => {
    const h = harness(BASE)
    const s = validateSilence(
      {
        matchers: ['rule="Exec into pod"', 'user!="alice"', 'namespace!~"prod|payments"'],
        endsAt: new Date(T0 + H).toISOString(),
        createdBy: 'sre',
        comment: 'not prod',
      },
      T0,
    )
    h.agg.setSilences([{ id: 's', ...s }])
    h.push(det('Exec into pod', { user: 'alice', namespace: 'dev' }, T0))
    h.push(det('Exec into pod', { user: 'bob', namespace: 'dev' }, T0))
    h.push(det('Exec into pod', { user: 'carol', namespace: 'prod' }, T0))
    h.at(30 * S)
    expect(h.sent[0]!.alerts.map((a) => a.labels.user).sort()).toEqual(['alice', 'carol'])
  })

  it('validates silences as Alertmanager does', () => {
    const base = { endsAt: new Date(T0 + H).toISOString(), createdBy: 'sre', comment: 'x' }
    expect(() => validateSilence({ ...base, matchers: [] }, T0)).toThrow(SilenceError)
    expect(() => validateSilence({ ...base, matchers: ['user=~".*"'] }, T0)).toThrow(/empty string/)
    expect(() => validateSilence({ ...base, matchers: ['user=~"("'] }, T0)).toThrow(/regular expression/)
    expect(() =>
      validateSilence({ ...base, matchers: ['user="a"'], endsAt: new Date(T0 - 1).toISOString() }, T0),
    ).toThrow(/after startsAt|past/)
    expect(() => validateSilence({ ...base, matchers: ['user="a"'], comment: ' ' }, T0)).toThrow(/comment/)
  })

  it('drops allowlisted detections before anything else', () => {
    const h = harness(`${BASE}
allowlist:
  - matchers: ['user=~"system:serviceaccount:ci:.*"']
    comment: CI deploys
`)
    expect(h.push(det('Exec into pod', { user: 'system:serviceaccount:ci:deployer' }, T0))).toBe(
      'allowlisted',
    )
    expect(h.push(det('Exec into pod', { user: 'alice' }, T0))).toBe('new')
    h.at(30 * S)
    expect(h.sent[0]!.alerts.map((a) => a.labels.user)).toEqual(['alice'])
    expect(h.agg.noiseReport()[0]).toMatchObject({ detections: 2, allowlisted: 1 })
  })

  it('rate-limits new alerts per rule and interval; firing ones are still refreshed', () => {
    const h = harness(`${BASE}
rate_limits:
  - matchers: [rule="Exec into pod"]
    max_alerts: 3
    per: 1m
`)
    const outcomes = Array.from({ length: 10 }, (_, i) => h.push(det('Exec into pod', { user: `u${i}` }, T0)))
    expect(outcomes.filter((o) => o === 'new')).toHaveLength(3)
    expect(outcomes.filter((o) => o === 'rate-limited')).toHaveLength(7)
    expect(h.push(det('Exec into pod', { user: 'u0' }, T0))).toBe('deduped')
    expect(h.push(det('Read secret', { user: 'u9' }, T0))).toBe('new') // another rule: not limited
    h.at(M)
    expect(h.push(det('Exec into pod', { user: 'u7' }, T0 + M))).toBe('new')
    expect(h.agg.noiseReport().find((r) => r.rule === 'Exec into pod')).toMatchObject({
      detections: 12,
      rateLimited: 7,
      alerts: 4,
    })
  })

  it('sends an alert on to the next sibling route after one with continue', () => {
    const h = harness(`
route:
  receiver: team
  group_by: [rule]
  group_wait: 0s
  routes:
    - matchers: [priority="critical"]
      receiver: oncall
      group_by: [user]
      continue: true
    - matchers: [rule=~".+"]
`)
    h.push(det('Read secret', { user: 'alice' }, T0, 'critical'))
    expect(h.sent.map((n) => [n.receiver, n.groupLabels])).toEqual([
      ['oncall', { user: 'alice' }],
      ['team', { rule: 'Read secret' }],
    ])
  })

  it('sends an alert whose detection is older than group_wait at once', () => {
    const h = harness(BASE)
    h.at(10 * M)
    h.push(det('Exec into pod', { user: 'alice' }, T0)) // replayed from an audit log
    expect(h.sent).toHaveLength(1)
  })

  it("with group_by ['...'] (every alert its own group), 10,000 distinct alerts: each sent firing, then resolved", () => {
    const h = harness(`
route: { receiver: team, group_by: ['...'], group_wait: 0s, group_interval: 1m, repeat_interval: 1h }
`)
    const started = performance.now()
    for (let i = 0; i < 10_000; i++) {
      h.clock.t = T0 + i
      h.push(det('Exec into pod', { user: `u${i}` }, T0 + i))
    }
    h.at(30 * M)
    // firing at once (group_wait 0s), resolved 5m (resolve_timeout) later
    expect(h.sent.filter((n) => n.status === 'firing')).toHaveLength(10_000)
    expect(h.sent.filter((n) => n.status === 'resolved')).toHaveLength(10_000)
    expect(new Set(h.sent.map((n) => n.groupKey)).size).toBe(10_000)
    expect(h.agg.nextWakeup()).toBeUndefined()
    // the due groups are kept in a heap: no scan of every group per detection
    expect(performance.now() - started).toBeLessThan(20_000)
  })

  it('a burst of 10,000 detections from 20 identities, one doing something new: a handful of notifications', () => {
    const h = harness(`
global: { resolve_timeout: 15m }
route:
  receiver: team
  group_by: [rule]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
`)
    const users = Array.from({ length: 19 }, (_, i) => `dev-${i}`)
    const namespaces = ['shop', 'blog', 'search', 'auth', 'payments']
    // 10 minutes of the same 19 people exec-ing into their pods, and at minute 5 someone new binds cluster-admin
    for (let i = 0; i < 10_000; i++) {
      const t = i * 60
      h.clock.t = T0 + t
      const d =
        i === 5000
          ? det(
              'Create ClusterRoleBinding to cluster-admin',
              { user: 'mallory', verb: 'create', resource: 'clusterrolebindings' },
              T0 + t,
              'critical',
            )
          : det(
              'Exec into pod',
              {
                user: users[i % 19]!,
                verb: 'create',
                resource: 'pods',
                namespace: namespaces[i % 5]!,
                name: `pod-${i % 7}`,
              },
              T0 + t,
              'notice',
            )
      h.push(d)
    }
    h.at(15 * M)
    const firing = h.sent.filter((n) => n.status === 'firing')
    expect(h.sent.length).toBeLessThanOrEqual(5)
    // the first 30 s show most of the 665 user/namespace/pod combinations, the next 10 s the rest: one
    // update at the next group_interval; the new thing in a group of its own
    expect(h.sent.map((n) => [n.groupLabels.rule, n.time])).toEqual([
      ['Exec into pod', new Date(T0 + 30 * S).toISOString()],
      ['Create ClusterRoleBinding to cluster-admin', new Date(T0 + 5 * M + 30 * S).toISOString()],
      ['Exec into pod', new Date(T0 + 5 * M + 30 * S).toISOString()],
    ])
    const byRule = (rule: string) => firing.filter((n) => n.groupLabels.rule === rule)
    expect(byRule('Create ClusterRoleBinding to cluster-admin')).toHaveLength(1)
    expect(byRule('Create ClusterRoleBinding to cluster-admin')[0]!.alerts.map((a) => a.labels.user)).toEqual(
      ['mallory'],
    )
    const exec = byRule('Exec into pod')
    expect(exec.length).toBeGreaterThanOrEqual(1)
    expect(new Set(exec.flatMap((n) => n.alerts.map((a) => a.labels.user))).size).toBe(19)
    const noise = h.agg.noiseReport()
    const execNoise = noise.find((r) => r.rule === 'Exec into pod')!
    expect(execNoise.detections).toBe(9999)
    expect(execNoise.notifications).toBe(exec.length)
    expect(execNoise.ratio).toBeGreaterThan(1000)
    expect(noise.find((r) => r.rule.startsWith('Create'))).toMatchObject({ detections: 1, notifications: 1 })
  })
})
