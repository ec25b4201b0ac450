/**
 * Per-identity baselines of audit events (src/audit/anomaly/baselines.ts): learned quietly for a
 * period, then each first-seen action, namespace, source range or client raises one detection, and is
 * learned; baselines survive a restart through changes(), and are reset per identity.
 */
import { describe, expect, it } from 'vitest'
import {
  type Baseline,
  Baselines,
  clientOf,
  sourceRange,
  valuesOf,
} from '../../src/audit/anomaly/baselines.js'
import type { AuditEvent } from '../../src/audit/types.js'

const DAY = 24 * 60 * 60 * 1000
const T0 = Date.parse('2026-11-01T09:00:00Z')

function event(
  user: string,
  at: number,
  over: { verb?: string; resource?: string; sub?: string; ns?: string; ip?: string; ua?: string } = {},
): AuditEvent {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    auditID: `id-${user}-${at}`,
    stage: 'ResponseComplete',
    verb: over.verb ?? 'get',
    user: { username: user },
    sourceIPs: [over.ip ?? '10.0.1.7'],
    userAgent: over.ua ?? 'kubectl/v1.32.0 (linux/amd64) kubernetes/abc',
    objectRef: {
      resource: over.resource ?? 'pods',
      namespace: over.ns ?? 'shop',
      name: 'web',
      ...(over.sub ? { subresource: over.sub } : {}),
    },
    requestURI: `/api/v1/namespaces/${over.ns ?? 'shop'}/pods/web`,
    stageTimestamp: new Date(at).toISOString(),
  }
}

describe('anomaly baselines', () => {
  it('reads the dimensions of an event: action with subresource, namespace, /24 or /64, client product', () => {
    expect(valuesOf(event('alice', T0, { verb: 'create', sub: 'exec' }))).toEqual({
      action: 'create pods/exec',
      namespace: 'shop',
      source: '10.0.1.0/24',
      client: 'kubectl',
    })
    expect(sourceRange('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64')
    expect(sourceRange('fd00::1')).toBe('fd00:0:0:0::/64')
    expect(clientOf('Go-http-client/2.0')).toBe('Go-http-client')
  })

  it('learns quietly during the learning period, then reports each first-seen thing once', () => {
    const b = new Baselines({ learningMs: DAY })
    expect(b.observe(event('alice', T0))).toEqual([])
    // still learning: a new namespace is learned, not reported
    expect(b.observe(event('alice', T0 + DAY / 2, { ns: 'payments' }))).toEqual([])
    expect(b.observe(event('alice', T0 + 2 * DAY, { ns: 'payments' }))).toEqual([])
    const exec = b.observe(event('alice', T0 + 2 * DAY, { verb: 'create', sub: 'exec', ip: '192.168.9.1' }))
    expect(exec.map((d) => d.rule).sort()).toEqual([
      'anomaly: first action',
      'anomaly: first source address range',
    ])
    expect(exec[0]).toMatchObject({
      source: 'anomaly',
      priority: 'notice',
      auditID: `id-alice-${T0 + 2 * DAY}`,
    })
    expect(exec.find((d) => d.labels.dimension === 'action')!.labels).toMatchObject({
      user: 'alice',
      value: 'create pods/exec',
      namespace: 'shop',
    })
    // once reported, it is known
    expect(
      b.observe(event('alice', T0 + 3 * DAY, { verb: 'create', sub: 'exec', ip: '192.168.9.1' })),
    ).toEqual([])
    // another identity's learning is its own
    expect(b.observe(event('bob', T0 + 3 * DAY, { verb: 'delete' }))).toEqual([])
  })

  it('attributes impersonated requests to the impersonated user, and ignores what it is told to', () => {
    const b = new Baselines({ learningMs: DAY, ignore: ['system:node:*'] })
    const impersonated = { ...event('admin', T0), impersonatedUser: { username: 'carol' } }
    expect(b.observe(impersonated)).toEqual([])
    expect(b.get('carol')).toBeDefined()
    expect(b.get('admin')).toBeUndefined()
    b.observe(event('system:node:n1', T0))
    expect(b.get('system:node:n1')).toBeUndefined()
  })

  it('survives a restart through changes(), and forgets an identity on reset', () => {
    const b = new Baselines({ learningMs: DAY })
    b.observe(event('alice', T0))
    b.observe(event('alice', T0 + DAY / 2, { ns: 'payments' }))
    const saved: Baseline[] = b.changes()
    expect(saved).toHaveLength(1)
    expect(saved[0]!.seen.namespace.sort()).toEqual(['payments', 'shop'])
    expect(b.changes()).toEqual([])
    const again = new Baselines({ learningMs: DAY }, saved)
    expect(again.observe(event('alice', T0 + 2 * DAY, { ns: 'payments' }))).toEqual([])
    expect(again.observe(event('alice', T0 + 2 * DAY, { ns: 'search' })).map((d) => d.labels.value)).toEqual([
      'search',
    ])
    expect(again.reset('alice')).toBe(true)
    // learned again from scratch: its next event starts a new learning period
    expect(again.observe(event('alice', T0 + 3 * DAY, { ns: 'data' }))).toEqual([])
    expect(again.reset('nobody')).toBe(false)
  })

  it('in a burst of 10,000 events from 20 identities after learning, reports only the one doing something new', () => {
    const b = new Baselines({ learningMs: DAY })
    const users = Array.from({ length: 20 }, (_, i) => `system:serviceaccount:team-${i}:deployer`)
    const routine = (u: string, i: number, at: number) =>
      event(u, at, { verb: ['get', 'list', 'update'][i % 3]!, resource: 'deployments', ns: u.split(':')[2]! })
    // a day of learning
    for (let i = 0; i < 2_000; i++) b.observe(routine(users[i % 20]!, i, T0 + (i * DAY) / 2_000))
    const detections = []
    for (let i = 0; i < 10_000; i++) {
      const at = T0 + DAY + 60_000 + i * 100
      const u = users[i % 20]!
      // team-7's deployer starts reading Secrets in another namespace, once
      const e =
        i === 5_007 ? event(u, at, { verb: 'list', resource: 'secrets', ns: 'payments' }) : routine(u, i, at)
      detections.push(...b.observe(e))
    }
    expect(detections.map((d) => [d.labels.user, d.labels.dimension, d.labels.value])).toEqual([
      ['system:serviceaccount:team-7:deployer', 'action', 'list secrets'],
      ['system:serviceaccount:team-7:deployer', 'namespace', 'payments'],
    ])
  })
})
