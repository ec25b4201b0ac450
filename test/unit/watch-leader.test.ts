/**
 * `plimsoll watch --leader-elect`: active/standby over a coordination.k8s.io/v1 Lease on the local
 * control plane. The election's logic with two candidates racing on one Lease (409 Conflict: exactly
 * one wins), then two watcher processes on one store: one leads, the leader is killed -9, the other
 * takes over within the lease's semantics, and findings go on without duplicates.
 *
 * The only timing checked is the Lease's own semantics (a standby may take over only after
 * renewTime + leaseDurationSeconds, and does at its next try): that is the election's correctness, not
 * a performance assertion. Waits are generous timeouts that then check what the Lease records.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadAll } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiClient, loadKubeConfig } from '../../src/cluster/client.js'
import { LeaderElector, type LeaseApi, type LeaseSpec } from '../../src/cluster/leader.js'
import type { ControlPlane } from '../../src/control-plane/server.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { BIN, runAsync } from '../helpers/cli.js'
import { create, deployment, kube } from '../helpers/kube.js'
import { LEASE_NS, leasePath, leaseSpec, QUICK_ELECTION, startLeaseCluster } from '../helpers/lease.js'
import { until } from '../helpers/until.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-leader-'))
const NS = LEASE_NS

let cp: ControlPlane
let client: ApiClient

beforeAll(async () => {
  cp = await startLeaseCluster()
  client = new ApiClient(loadKubeConfig({ kubeconfig: cp.kubeconfig(join(tmp, 'admin.kubeconfig')) }))
}, 60_000)

afterAll(async () => {
  await cp?.stop()
})

/** The client, with every update held until `gate` opens: both candidates read before either writes. */
function gated(gate: Promise<void>): LeaseApi {
  return {
    get: (path) => client.get(path),
    create: async (path, object) => {
      await gate
      return client.create(path, object)
    },
    update: async (path, object) => {
      await gate
      return client.update(path, object)
    },
  }
}

describe('leader election over a Lease (no processes)', () => {
  it('two candidates racing: exactly one wins each round, the other gets a 409 and stands by', async () => {
    const name = 'race'
    let clock = Date.now()
    const now = () => clock
    const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 1000, now }
    // Round 1, the Lease absent: both read 404, both create; the API server creates one (409 AlreadyExists).
    let open!: () => void
    let gate = new Promise<void>((r) => {
      open = r
    })
    const a = new LeaderElector({ client: gated(gate), namespace: NS, name, identity: 'a', ...timing })
    const b = new LeaderElector({ client: gated(gate), namespace: NS, name, identity: 'b', ...timing })
    let results = Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()])
    await new Promise((r) => setTimeout(r, 200))
    open()
    let [wonA, wonB] = await results
    expect([wonA, wonB].filter(Boolean)).toHaveLength(1)
    const first = wonA ? 'a' : 'b'
    let spec = (await leaseSpec(cp, name))!
    expect(spec.holderIdentity).toBe(first)
    expect(spec.leaseDurationSeconds).toBe(3)
    expect(spec.leaseTransitions).toBe(0)

    // While the lease is valid, the other may not take it; the holder renews (acquireTime kept).
    const [holder, other] = wonA ? [a, b] : [b, a]
    clock += 1000
    expect(await other.tryAcquireOrRenew()).toBe(false)
    expect(await holder.tryAcquireOrRenew()).toBe(true)
    const renewed = (await leaseSpec(cp, name))!
    expect(renewed.acquireTime).toBe(spec.acquireTime)
    expect(Date.parse(renewed.renewTime!)).toBeGreaterThan(Date.parse(spec.renewTime!))

    // Round 2, the lease expired (renewTime + 3 s passed): both read it, both PUT with the
    // resourceVersion they read; the API server takes one and answers the other 409 Conflict.
    clock += 3500
    gate = new Promise<void>((r) => {
      open = r
    })
    const a2 = new LeaderElector({ client: gated(gate), namespace: NS, name, identity: 'a', ...timing })
    const b2 = new LeaderElector({ client: gated(gate), namespace: NS, name, identity: 'b', ...timing })
    results = Promise.all([a2.tryAcquireOrRenew(), b2.tryAcquireOrRenew()])
    await new Promise((r) => setTimeout(r, 200))
    open()
    ;[wonA, wonB] = await results
    expect([wonA, wonB].filter(Boolean)).toHaveLength(1)
    spec = (await leaseSpec(cp, name))!
    expect(spec.holderIdentity).toBe(wonA ? 'a' : 'b')
    expect(spec.leaseTransitions).toBe(spec.holderIdentity === first ? 0 : 1)

    // Release: holder cleared, 1 s; the other takes it at once (no waiting for expiry), a transition.
    const [winner, loser] = wonA ? [a2, b2] : [b2, a2]
    expect(await loser.release()).toBe(false)
    expect(await winner.release()).toBe(true)
    const released = (await leaseSpec(cp, name))!
    expect(released.holderIdentity).toBe('')
    expect(released.leaseDurationSeconds).toBe(1)
    expect(await loser.tryAcquireOrRenew()).toBe(true)
    expect((await leaseSpec(cp, name))!.holderIdentity).toBe(loser.identity)
  })
})

describe('a campaign (no processes)', () => {
  it('leads, and stops leading (says so) when it finds another holder in the Lease', async () => {
    const name = 'campaign'
    const logs: string[] = []
    const elector = new LeaderElector({
      client,
      namespace: NS,
      name,
      identity: 'c',
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 1000,
      log: (line) => logs.push(line),
    })
    let leading = 0
    let stopped = 0
    const campaign = elector.campaign(() => {
      leading++
      return async () => {
        stopped++
      }
    })
    try {
      await until('leading', () => leading === 1, 10_000)
      // Another writes itself in as holder (as a candidate would that found the lease expired).
      const lease = await kube(cp, 'GET', leasePath(name))
      const now = new Date().toISOString()
      const spec = { ...(lease.body.spec as LeaseSpec), holderIdentity: 'intruder', renewTime: now }
      expect((await kube(cp, 'PUT', leasePath(name), { ...lease.body, spec })).status).toBe(200)
      await until('stopped leading', () => stopped === 1, 10_000)
      expect(logs).toContainEqual(
        expect.stringMatching(/^lost leadership \('intruder' holds the lease now\)/),
      )
    } finally {
      await campaign.stop()
    }
    // It did not hold the Lease at the stop: nothing released, the intruder keeps it.
    expect((await leaseSpec(cp, name))!.holderIdentity).toBe('intruder')
  })
})

interface Watcher {
  identity: string
  child: ChildProcess
  stderr: string
  exited: Promise<number | null>
}

function startWatch(identity: string, kubeconfig: string, db: string): Watcher {
  // Not spawnSync: the control plane answers from this process's event loop.
  const child = spawn(
    process.execPath,
    [
      BIN,
      'watch',
      '--leader-elect',
      '--kubeconfig',
      kubeconfig,
      '--cluster-name',
      'prod',
      '--store',
      db,
      '--identity',
      identity,
      ...QUICK_ELECTION,
    ],
    { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  const w: Watcher = {
    identity,
    child,
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  }
  child.stderr!.on('data', (d: Buffer) => {
    w.stderr += d.toString()
  })
  return w
}

async function fingerprintCounts(store: Store): Promise<Map<string, number>> {
  const rows = await store.db
    .selectFrom('findings')
    .select(['fingerprint', 'resource_name'])
    .where('target', '=', 'prod')
    .execute()
  const counts = new Map<string, number>()
  for (const r of rows) counts.set(r.fingerprint, (counts.get(r.fingerprint) ?? 0) + 1)
  return counts
}

describe('plimsoll watch --leader-elect, two processes on one store', () => {
  it('one leads; killed -9, the other takes over within duration + retry; findings go on once', async () => {
    const kubeconfig = cp.kubeconfig(join(tmp, 'watch.kubeconfig'))
    const db = join(tmp, 'leader.db')
    const watchers = [startWatch('replica-a', kubeconfig, db), startWatch('replica-b', kubeconfig, db)]
    let store: Store | undefined
    try {
      // Exactly one leads: the Lease names it, it syncs, the other says it stands by.
      const leaderId = await until(
        'a leader',
        async () => {
          const spec = await leaseSpec(cp, 'plimsoll-watcher')
          const leader = watchers.find((w) => w.identity === spec?.holderIdentity)
          return leader && /synced \d+ objects/.test(leader.stderr) ? leader.identity : undefined
        },
        60_000,
      )
      const leader = watchers.find((w) => w.identity === leaderId)!
      const standby = watchers.find((w) => w.identity !== leaderId)!
      await until('the standby to stand by', () => /standing by: 'replica-/.test(standby.stderr), 30_000)
      expect(standby.stderr).not.toMatch(/leading:|synced/)
      store = await openStore(db)
      const runsBefore = await store.db.selectFrom('runs').selectAll().where('target', '=', 'prod').execute()
      expect(runsBefore).toHaveLength(1)
      const before = await fingerprintCounts(store)
      expect(before.size).toBeGreaterThan(0)

      // kill -9: no release; the Lease stays with the dead leader until it expires.
      leader.child.kill('SIGKILL')
      await leader.exited
      const last = (await leaseSpec(cp, 'plimsoll-watcher'))!
      expect(last.holderIdentity).toBe(leaderId)

      const taken = await until(
        'the standby to take over',
        async () => {
          const spec = await leaseSpec(cp, 'plimsoll-watcher')
          return spec?.holderIdentity === standby.identity && /synced \d+ objects/.test(standby.stderr)
            ? spec
            : undefined
        },
        60_000,
      )
      expect(standby.stderr).toMatch(/leading: replica-/)
      expect(taken.leaseTransitions).toBe((last.leaseTransitions ?? 0) + 1)
      // The lease's semantics (correctness, not speed): not before renewTime + duration (no two leaders),
      // and at the first try after (duration + one retry period). The 500 ms allow for the try's own
      // round trip and the timer's lateness on a loaded machine.
      const gap = Date.parse(taken.acquireTime!) - Date.parse(last.renewTime!)
      expect(gap).toBeGreaterThan(3000)
      expect(gap).toBeLessThanOrEqual(3000 + 1000 + 500)

      // Findings go on: a new failing object after the takeover appears once; nothing before is doubled.
      await create(cp, deployment('late', 'shop', true))
      await until(
        'the new finding in the store',
        async () =>
          (
            await store!.db
              .selectFrom('findings')
              .select('id')
              .where('target', '=', 'prod')
              .where('resource_name', '=', 'late')
              .execute()
          ).length > 0,
        30_000,
      )
      const after = await fingerprintCounts(store)
      expect([...after.values()].every((n) => n === 1)).toBe(true)
      for (const fp of before.keys()) expect(after.has(fp)).toBe(true)
      const added = await store.db
        .selectFrom('findings')
        .select(['fingerprint', 'resource_name'])
        .where('target', '=', 'prod')
        .execute()
      const newOnes = added.filter((r) => !before.has(r.fingerprint))
      expect(newOnes.length).toBeGreaterThan(0)
      expect(newOnes.every((r) => r.resource_name === 'late')).toBe(true)
      const runsAfter = await store.db.selectFrom('runs').selectAll().where('target', '=', 'prod').execute()
      expect(runsAfter).toHaveLength(2)

      // A graceful stop releases the Lease.
      standby.child.kill('SIGTERM')
      await standby.exited
      expect(standby.stderr).toMatch(/released lease plimsoll\/plimsoll-watcher/)
      expect((await leaseSpec(cp, 'plimsoll-watcher'))!.holderIdentity).toBe('')
    } finally {
      for (const w of watchers)
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL')
      await Promise.all(watchers.map((w) => w.exited))
      await store?.close()
    }
  }, 120_000)
})

describe('plimsoll watch rbac --leader-elect', () => {
  it('adds a Role in the lease namespace: get/update on the Lease by name, create on leases', async () => {
    const kubeconfig = cp.kubeconfig(join(tmp, 'rbac.kubeconfig'))
    const { code, stdout } = await runAsync([
      'watch',
      'rbac',
      '--kubeconfig',
      kubeconfig,
      '--leader-elect',
      '--service-namespace',
      NS,
    ])
    expect(code).toBe(0)
    const docs = loadAll(stdout) as Record<string, unknown>[]
    const role = docs.find((d) => d.kind === 'Role')!
    expect((role.metadata as { namespace: string }).namespace).toBe(NS)
    expect(role.rules).toEqual([
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['plimsoll-watcher'],
        verbs: ['get', 'update'],
      },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    ])
    expect(docs.find((d) => d.kind === 'RoleBinding')).toBeDefined()
    // A user with exactly these rules can run the election on that Lease, and may not read another.
    cp.user('elector', { rules: role.rules as never })
    const elector = new ApiClient(
      loadKubeConfig({ kubeconfig: cp.kubeconfig(join(tmp, 'elector.kubeconfig'), { user: 'elector' }) }),
    )
    const mine = new LeaderElector({
      client: elector,
      namespace: NS,
      name: 'plimsoll-watcher',
      identity: 'x',
    })
    await kube(cp, 'DELETE', leasePath('plimsoll-watcher'))
    expect(await mine.tryAcquireOrRenew()).toBe(true)
    expect(await mine.tryAcquireOrRenew()).toBe(true)
    expect(await mine.release()).toBe(true)
    const other = new LeaderElector({ client: elector, namespace: NS, name: 'another', identity: 'x' })
    await kube(cp, 'POST', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'another', namespace: NS },
      spec: {},
    })
    await expect(other.tryAcquireOrRenew()).rejects.toMatchObject({ code: 403 })
    const without = await runAsync(['watch', 'rbac', '--kubeconfig', kubeconfig])
    expect(without.stdout).not.toMatch(/leases/)
  })
})
