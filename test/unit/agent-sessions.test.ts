/**
 * Agents' sessions in the store, on both backends: each numbered message is applied exactly once,
 * whether it comes again after a lost answer, twice at the same time, or out of turn; a newer session
 * of a cluster supersedes an older one; a session belongs to its cluster.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Finding } from '../../src/scan/scan.js'
import {
  type AgentMessage,
  applyMessage,
  currentSession,
  openSession,
  type SessionStart,
} from '../../src/store/agent-sessions.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { freshDatabase } from '../helpers/postgres.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-agent-sessions-'))
const backends: [string, (name: string) => Promise<string>][] = [
  ['sqlite', async (name) => join(tmp, `${name}.db`)],
  ['postgres', (name) => freshDatabase(name)],
]

const finding = (name: string): Finding => ({
  checkId: 'pss-privileged',
  title: 'Privileged container',
  severity: 'high',
  category: 'security',
  status: 'fail',
  message: `container app of ${name} is privileged`,
  resource: { apiVersion: 'apps/v1', kind: 'Deployment', name, namespace: 'shop' },
  container: { name: 'app', type: 'container' },
  path: 'spec.template.spec.containers[0].securityContext.privileged',
  location: { file: 'alpha', line: 1, column: 1, documentIndex: 0 },
})

const zeros = { critical: 0, high: 0, medium: 0, low: 0, info: 0 }

function changes(seq: number, at: string, names: string[]): AgentMessage {
  return {
    seq,
    type: 'changes',
    batch: {
      at,
      changes: names.map((name) => ({
        resource: { group: 'apps', kind: 'Deployment', namespace: 'shop', name },
        upserts: [finding(name)],
        resolved: [],
      })),
      totals: { resources: names.length, passed: 0, findings: names.length, excepted: 0, bySeverity: zeros },
    },
  }
}

const start = (session: string, cluster = 'alpha'): SessionStart => ({
  session,
  cluster,
  tokenId: 1,
  agentVersion: '0.0.0-test',
  run: {
    startedAt: '2026-12-01T00:00:00.000Z',
    plimsollVersion: '0.0.0-test',
    policyVersion: 'latest',
    checks: 10,
  },
})

async function openCount(store: Store, target: string): Promise<number> {
  const row = await store.db
    .selectFrom('findings')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('target', '=', target)
    .where('state', '=', 'open')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

describe.each(backends)("agents' sessions (%s)", (name, location) => {
  it('apply each message once: again after a lost answer, twice at once, never out of turn', async () => {
    const store = await openStore(await location(`agent_sessions_${name}`))
    try {
      const opened = await openSession(store, start('session-one-0123456789'))
      expect(opened.lastSeq).toBe(0)
      // Opening again (the answer was lost) finds the same run.
      expect(await openSession(store, start('session-one-0123456789'))).toEqual(opened)
      const to = { session: 'session-one-0123456789', cluster: 'alpha' }

      const first = await applyMessage(store, to, changes(1, '2026-12-01T00:00:01.000Z', ['a', 'b']))
      expect(first).toMatchObject({ applied: true, changes: { opened: 2 } })
      // The same message again: nothing done, said so.
      expect(await applyMessage(store, to, changes(1, '2026-12-01T00:00:01.000Z', ['a', 'b']))).toEqual({
        applied: false,
        duplicate: true,
      })
      expect(await openCount(store, 'alpha')).toBe(2)

      // Out of turn: refused, naming the one expected.
      await expect(
        applyMessage(store, to, changes(3, '2026-12-01T00:00:03.000Z', ['d'])),
      ).rejects.toMatchObject({
        reason: 'gap',
        expected: 2,
      })

      // Two copies of message 2 at once: one is applied, the other is a duplicate.
      const both = await Promise.all([
        applyMessage(store, to, changes(2, '2026-12-01T00:00:02.000Z', ['c'])),
        applyMessage(store, to, changes(2, '2026-12-01T00:00:02.000Z', ['c'])),
      ])
      expect(both.filter((o) => o.applied)).toHaveLength(1)
      expect(both.filter((o) => !o.applied)).toHaveLength(1)
      expect(await openCount(store, 'alpha')).toBe(3)
      const reopened = await store.db
        .selectFrom('findings')
        .select('reopened')
        .where('target', '=', 'alpha')
        .execute()
      expect(reopened.every((r) => Number(r.reopened) === 0)).toBe(true)

      // The sync closes: what this run did not see of the cluster is resolved (nothing here).
      const sync = await applyMessage(store, to, {
        seq: 3,
        type: 'sync',
        at: '2026-12-01T00:00:04.000Z',
        complete: true,
        errors: 0,
      })
      expect(sync).toEqual({ applied: true, resolved: 0 })
      expect((await currentSession(store, 'alpha'))?.lastSeq).toBe(3)
    } finally {
      await store.close()
    }
  })

  it('let a newer session supersede an older one, and keep each session to its cluster', async () => {
    const store = await openStore(await location(`agent_supersede_${name}`))
    try {
      await openSession(store, start('session-old-0123456789'))
      await applyMessage(
        store,
        { session: 'session-old-0123456789', cluster: 'alpha' },
        changes(1, '2026-12-01T00:00:01.000Z', ['a', 'b']),
      )
      // Another cluster's token cannot use alpha's session.
      await expect(
        applyMessage(
          store,
          { session: 'session-old-0123456789', cluster: 'beta' },
          changes(2, '2026-12-01T00:00:02.000Z', ['x']),
        ),
      ).rejects.toMatchObject({ reason: 'unknown' })
      await expect(openSession(store, start('session-old-0123456789', 'beta'))).rejects.toMatchObject({
        reason: 'conflict',
      })

      // The agent restarted: its new session lists everything again; only b is still there.
      await openSession(store, start('session-new-0123456789'))
      await expect(
        applyMessage(
          store,
          { session: 'session-old-0123456789', cluster: 'alpha' },
          changes(2, '2026-12-01T00:00:02.000Z', ['z']),
        ),
      ).rejects.toMatchObject({ reason: 'superseded' })
      const to = { session: 'session-new-0123456789', cluster: 'alpha' }
      await applyMessage(store, to, changes(1, '2026-12-01T00:01:00.000Z', ['b']))
      const sync = await applyMessage(store, to, {
        seq: 2,
        type: 'sync',
        at: '2026-12-01T00:01:01.000Z',
        complete: true,
        errors: 0,
      })
      expect(sync).toEqual({ applied: true, resolved: 1 })
      const open = await store.db
        .selectFrom('findings')
        .select('resource_name')
        .where('target', '=', 'alpha')
        .where('state', '=', 'open')
        .execute()
      expect(open.map((r) => r.resource_name)).toEqual(['b'])
      expect((await currentSession(store, 'alpha'))?.session).toBe('session-new-0123456789')
    } finally {
      await store.close()
    }
  })

  it("keep no manifest a watcher would not: a Secret's, or one a check found a credential in", async () => {
    const store = await openStore(await location(`agent_manifests_${name}`))
    try {
      await openSession(store, start('session-manifests-0123456789'))
      const withEnv = { ...finding('leaky'), checkId: 'credentials-in-env' }
      const secret = {
        ...finding('token'),
        checkId: 'default-namespace',
        resource: { apiVersion: 'v1', kind: 'Secret', name: 'token', namespace: 'shop' },
      }
      const message: AgentMessage = {
        seq: 1,
        type: 'changes',
        batch: {
          at: '2026-12-01T00:00:01.000Z',
          changes: [
            {
              resource: { group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'plain' },
              upserts: [finding('plain')],
              resolved: [],
              manifest: 'kind: Deployment # plain',
            },
            {
              resource: { group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'leaky' },
              upserts: [withEnv],
              resolved: [],
              manifest: 'kind: Deployment # leaky',
            },
            {
              resource: { group: '', kind: 'Secret', namespace: 'shop', name: 'token' },
              upserts: [secret],
              resolved: [],
              manifest: 'kind: Secret # token',
            },
          ],
          totals: { resources: 3, passed: 0, findings: 3, excepted: 0, bySeverity: zeros },
        },
      }
      await applyMessage(store, { session: 'session-manifests-0123456789', cluster: 'alpha' }, message)
      const rows = await store.db
        .selectFrom('resources')
        .select(['name', 'manifest'])
        .where('target', '=', 'alpha')
        .orderBy('name')
        .execute()
      expect(rows).toEqual([
        { name: 'leaky', manifest: null },
        { name: 'plain', manifest: 'kind: Deployment # plain' },
        { name: 'token', manifest: null },
      ])
    } finally {
      await store.close()
    }
  })
})
