/**
 * --leader-elect beyond `plimsoll watch`: two `serve --cluster` replicas on one store, and two
 * `plimsoll agent` replicas pushing to one central server, each pair against the local control plane.
 * In each pair one leads; killed -9, the other takes over once the Lease expires, and the findings go
 * on without duplicates. A standby server says which replica watches instead of pretending to sync.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterSummary } from '../../src/api-types.js'
import type { ControlPlane } from '../../src/control-plane/server.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { BIN } from '../helpers/cli.js'
import { create, deployment } from '../helpers/kube.js'
import { leaseSpec, QUICK_ELECTION, startLeaseCluster } from '../helpers/lease.js'
import { serve, stopped } from '../helpers/serve.js'
import { until } from '../helpers/until.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-replicas-'))
const execFileAsync = promisify(execFile)
let cp: ControlPlane

beforeAll(async () => {
  cp = await startLeaseCluster()
}, 60_000)

afterAll(async () => {
  await cp?.stop()
})

const holder = async (lease: string) => (await leaseSpec(cp, lease))?.holderIdentity

async function clusterOn(url: string, name: string): Promise<ClusterSummary | undefined> {
  const res = await fetch(`${url}/api/clusters`)
  if (!res.ok) return undefined
  return ((await res.json()) as ClusterSummary[]).find((c) => c.name === name)
}

/** Each fingerprint of the target's findings, counted: a duplicate shows as a count above 1. */
async function fingerprintCounts(store: Store, target: string): Promise<Map<string, number>> {
  const rows = await store.db
    .selectFrom('findings')
    .select('fingerprint')
    .where('target', '=', target)
    .execute()
  const counts = new Map<string, number>()
  for (const r of rows) counts.set(r.fingerprint, (counts.get(r.fingerprint) ?? 0) + 1)
  return counts
}

const findingsOf = async (store: Store, target: string, name: string) =>
  (
    await store.db
      .selectFrom('findings')
      .select('id')
      .where('target', '=', target)
      .where('resource_name', '=', name)
      .execute()
  ).length

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.on('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

describe('plimsoll serve --cluster --leader-elect, two replicas on one store', () => {
  it('the leader watches, the standby says who does; killed -9, the standby takes over', async () => {
    const kubeconfig = cp.kubeconfig(join(tmp, 'serve.kubeconfig'))
    const db = join(tmp, 'serve.db')
    const args = (identity: string) => [
      '--db',
      db,
      '--anonymous-read',
      '--cluster',
      '--kubeconfig',
      kubeconfig,
      '--cluster-name',
      'prod',
      '--leader-elect',
      '--identity',
      identity,
      ...QUICK_ELECTION,
    ]
    // One after the other: the first creates the store, the second finds it made.
    const a = await serve(args('server-a'))
    const b = await serve(args('server-b'))
    const replicas = { 'server-a': a, 'server-b': b }
    let store: Store | undefined
    try {
      const leaderId = (await until('a leader', async () => holder('plimsoll-watcher'), 30_000)) as
        | 'server-a'
        | 'server-b'
      const standbyId = leaderId === 'server-a' ? 'server-b' : 'server-a'
      const leader = replicas[leaderId]
      const standby = replicas[standbyId]
      const led = await until(
        'the leader synced',
        async () => {
          const c = await clusterOn(leader.url, 'prod')
          return c?.live && c.health?.synced ? c : undefined
        },
        30_000,
      )
      expect(led.standby).toBeUndefined()
      // The standby shows the store's view, naming the leader; no health of its own.
      const waiting = (await clusterOn(standby.url, 'prod'))!
      expect(waiting.live).toBe(false)
      expect(waiting.health).toBeUndefined()
      expect(waiting.standby).toEqual({ holder: leaderId })
      expect(waiting.open).toEqual(led.open)

      store = await openStore(db)
      const before = await fingerprintCounts(store, 'prod')
      expect(before.size).toBeGreaterThan(0)

      await kill9(leader.child)
      const taken = await until(
        'the standby to watch',
        async () => {
          const c = await clusterOn(standby.url, 'prod')
          return c?.live && c.health?.synced ? c : undefined
        },
        30_000,
      )
      expect(taken.standby).toBeUndefined()
      expect(await holder('plimsoll-watcher')).toBe(standbyId)
      await create(cp, deployment('late', 'shop', true))
      await until('the new finding', async () => (await findingsOf(store!, 'prod', 'late')) > 0, 30_000)
      const after = await fingerprintCounts(store, 'prod')
      expect([...after.values()].every((n) => n === 1)).toBe(true)
      for (const fp of before.keys()) expect(after.has(fp)).toBe(true)
      expect(await stopped(standby.child)).toBe(0)
      expect(await holder('plimsoll-watcher')).toBe('')
    } finally {
      await Promise.all([kill9(a.child), kill9(b.child)])
      await store?.close()
    }
  }, 120_000)
})

interface Agent {
  identity: string
  child: ChildProcess
  stderr: string
}

describe('plimsoll agent --leader-elect, two replicas pushing to one server', () => {
  it('one pushes; killed -9, the other takes over and the central store has each finding once', async () => {
    const db = join(tmp, 'central.db')
    const central = await serve(['--db', db])
    const { stdout } = await execFileAsync(process.execPath, [
      BIN,
      'token',
      'create',
      '--name',
      'edge-agent',
      '--role',
      'agent',
      '--cluster',
      'edge',
      '--db',
      db,
    ])
    const kubeconfig = cp.kubeconfig(join(tmp, 'agent.kubeconfig'))
    const start = (identity: string): Agent => {
      // Not spawnSync: the control plane answers from this process's event loop.
      const child = spawn(
        process.execPath,
        [
          BIN,
          'agent',
          '--central',
          central.url,
          '--kubeconfig',
          kubeconfig,
          '--leader-elect',
          '--identity',
          identity,
          ...QUICK_ELECTION,
        ],
        {
          env: { ...process.env, NO_COLOR: '1', PLIMSOLL_TOKEN: stdout.trim() },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      )
      const agent: Agent = { identity, child, stderr: '' }
      child.stderr!.on('data', (d: Buffer) => {
        agent.stderr += d.toString()
      })
      return agent
    }
    const agents = [start('agent-a'), start('agent-b')]
    const store = await openStore(db)
    try {
      const leaderId = await until('a leader', async () => holder('plimsoll-agent'), 30_000)
      const leader = agents.find((x) => x.identity === leaderId)!
      const standby = agents.find((x) => x.identity !== leaderId)!
      await until('its findings centrally', async () => (await findingsOf(store, 'edge', 'web')) > 0, 30_000)
      await until('the standby to stand by', () => /standing by: 'agent-/.test(standby.stderr), 30_000)
      expect(standby.stderr).not.toMatch(/leading:/)
      const before = await fingerprintCounts(store, 'edge')

      await kill9(leader.child)
      await until(
        'the standby to lead',
        async () => (await holder('plimsoll-agent')) === standby.identity,
        30_000,
      )
      await create(cp, deployment('later', 'shop', true))
      await until('the new finding', async () => (await findingsOf(store, 'edge', 'later')) > 0, 30_000)
      expect(standby.stderr).toMatch(/leading: agent-/)
      const after = await fingerprintCounts(store, 'edge')
      expect([...after.values()].every((n) => n === 1)).toBe(true)
      for (const fp of before.keys()) expect(after.has(fp)).toBe(true)
      // A graceful stop drains, then releases the Lease; the exit is clean.
      const exited = new Promise<number | null>((resolve) => standby.child.on('exit', resolve))
      standby.child.kill('SIGTERM')
      expect(await exited).toBe(0)
      expect(standby.stderr).toMatch(/released lease plimsoll\/plimsoll-agent/)
    } finally {
      await Promise.all(agents.map((x) => kill9(x.child)))
      await store.close()
      await stopped(central.child)
    }
  }, 120_000)
})
