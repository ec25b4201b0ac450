/**
 * Many clusters, one view: two agents (`plimsoll agent`'s core, each watching its own local control
 * plane) push to a central `plimsoll serve` over HTTPS, with a PostgreSQL store. The central server is
 * killed (SIGKILL) in the middle of the first pushes and started again; one agent's connection is cut
 * while it pushes a change. In the end the central store holds exactly each agent's own view of its
 * cluster: no finding lost, none doubled. The API filters by cluster, and each token keeps to its role.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { Central } from '../../src/agent/central.js'
import { type RunningAgent, startAgent } from '../../src/agent/run.js'
import { Backoff } from '../../src/cluster/backoff.js'
import { ApiClient, loadKubeConfig } from '../../src/cluster/client.js'
import { Pki } from '../../src/control-plane/certs.js'
import { generateObjects } from '../../src/control-plane/seed-objects.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { LATEST_VERSION } from '../../src/policy/engine.js'
import { loadLibrary } from '../../src/policy/library.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { BIN } from '../helpers/cli.js'
import { create, deployment, kube, remove } from '../helpers/kube.js'
import { freshDatabase } from '../helpers/postgres.js'
import { serve, stopped } from '../helpers/serve.js'
import { freePort, startProxy, type TcpProxy } from '../helpers/tcp-proxy.js'
import { until } from '../helpers/until.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-agents-'))
const execFileAsync = promisify(execFile)
const library = loadLibrary({})

async function plimsoll(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } })
}

/** Runs the CLI; resolves with its exit code and stderr, whatever the code. */
async function exitOf(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await execFileAsync(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
    })
    return { code: 0, stderr }
  } catch (err) {
    const failed = err as { code: number; stderr: string }
    return { code: failed.code, stderr: failed.stderr }
  }
}

interface Site {
  name: string
  cp: ControlPlane
  proxy: TcpProxy
  token: string
  logs: string[]
  agent?: RunningAgent
}

let db: string
let store: Store
let centralPort: number
let tls: { cert: string; key: string; ca: string }
let central: Awaited<ReturnType<typeof serve>> | undefined
let viewer: string
const sites: Site[] = []

const startCentral = () =>
  serve(['--port', String(centralPort), '--db', db, '--tls-cert', tls.cert, '--tls-key', tls.key])

async function site(name: string, seed: number): Promise<Site> {
  const cp = await startControlPlane()
  cp.load(generateObjects(1200, seed))
  const { stdout } = await plimsoll([
    'token',
    'create',
    '--name',
    `${name}-agent`,
    '--role',
    'agent',
    '--cluster',
    name,
    '--db',
    db,
  ])
  const proxy = await startProxy(centralPort)
  return { name, cp, proxy, token: stdout.trim(), logs: [] }
}

async function launch(s: Site): Promise<RunningAgent> {
  const kubeconfig = s.cp.kubeconfig(join(tmp, `${s.name}.kubeconfig`))
  s.agent = await startAgent({
    client: new ApiClient(loadKubeConfig({ kubeconfig })),
    library,
    version: LATEST_VERSION,
    fileRules: [],
    log: (line) => s.logs.push(line),
    central: new Central({ url: `https://127.0.0.1:${s.proxy.port}`, token: s.token, ca: tls.ca }),
    // Small messages, so that the first sync is many of them; quick retries, so that the test is short.
    push: { messageChanges: 40, backoff: new Backoff({ initialMs: 50, maxMs: 500 }) },
    reportEveryMs: 300,
  })
  return s.agent
}

/** The cluster's findings (not resolved) in the central store: `fingerprint excepted?`. */
async function centralView(cluster: string): Promise<string[]> {
  const rows = await store.db
    .selectFrom('findings')
    .select(['fingerprint', 'state'])
    .where('target', '=', cluster)
    .where('state', '<>', 'resolved')
    .execute()
  return rows.map((r) => `${r.fingerprint} ${r.state === 'excepted'}`).sort()
}

/** The agent's own view: every finding its live objects have now. */
function agentView(agent: RunningAgent): string[] {
  return [...agent.running.state.findingMarks()].map((m) => `${m.fingerprint} ${m.excepted}`).sort()
}

async function lastSeq(cluster: string): Promise<number> {
  const row = await store.db
    .selectFrom('agent_sessions')
    .select('last_seq')
    .where('cluster', '=', cluster)
    .orderBy('generation', 'desc')
    .executeTakeFirst()
  return Number(row?.last_seq ?? 0)
}

/** Everything the agent has seen is pushed and answered for. */
async function settled(agent: RunningAgent): Promise<void> {
  await until('the agent to evaluate what it saw', () => agent.running.state.pending === 0, 30_000)
  await agent.running.recorder!.drain()
}

async function api(path: string, token: string): Promise<{ status: number; body: unknown }> {
  const central = new Central({ url: `https://127.0.0.1:${centralPort}`, token, ca: tls.ca })
  try {
    return await central.request('GET', path)
  } finally {
    central.close()
  }
}

beforeAll(async () => {
  db = await freshDatabase('agents')
  store = await openStore(db)
  const pki = new Pki()
  writeFileSync(join(tmp, 'central.crt'), pki.server.cert)
  writeFileSync(join(tmp, 'central.key'), pki.server.key, { mode: 0o600 })
  tls = { cert: join(tmp, 'central.crt'), key: join(tmp, 'central.key'), ca: pki.serverCa.cert }
  centralPort = await freePort()
  sites.push(await site('alpha', 1), await site('beta', 2))
  viewer = (
    await plimsoll(['token', 'create', '--name', 'val', '--role', 'viewer', '--db', db])
  ).stdout.trim()
}, 60_000)

afterAll(async () => {
  for (const s of sites) {
    // Whatever state the central server is in, nothing is left to push.
    s.agent?.writer.stop()
    await s.agent?.stop().catch(() => {})
    await s.proxy.close()
    await s.cp.stop()
  }
  if (central) await stopped(central.child)
  await store?.close()
})

describe('two agents and a central server on PostgreSQL', () => {
  it('end with exactly both clusters’ findings, through a central restart and a cut connection', async () => {
    const [alpha, beta] = sites as [Site, Site]
    onTestFailed(() => {
      for (const s of sites) console.error(`${s.name}'s agent said:\n  ${s.logs.join('\n  ')}`)
      console.error(`the central server said:\n${central?.out}`)
    })
    central = await startCentral()
    const agents = await Promise.all([launch(alpha), launch(beta)])

    // Killed mid-push: a few of alpha's first messages are in, the rest (and beta's) are not yet.
    await until("alpha's first messages", async () => (await lastSeq('alpha')) >= 3, 30_000)
    central.child.kill('SIGKILL')
    await stopped(central.child)
    const seqAtKill = await lastSeq('alpha')
    // The clusters change while the central server is away.
    await create(alpha.cp, deployment('rogue', 'default', true))
    await remove(beta.cp, await firstDeployment(beta.cp))
    await until('a push to fail', () => alpha.logs.some((l) => /cannot push message \d+/.test(l)), 30_000)

    central = await startCentral()
    const synced = await Promise.all(agents.map((a) => a.running.synced))
    expect(synced.map((s) => s.refused)).toEqual([[], []])
    expect(await lastSeq('alpha')).toBeGreaterThan(seqAtKill)

    // beta's link goes down while it pushes a change, and comes back.
    await settled(agents[1])
    const before = beta.proxy.connections
    const saidBefore = beta.logs.length
    beta.proxy.cut(1500)
    await create(beta.cp, deployment('rogue-b', 'default', true))
    // An agent says a change once the central server has committed it.
    await until(
      "rogue-b's findings pushed",
      () => beta.logs.some((l) => /pss-privileged Deployment default\/rogue-b/.test(l)),
      30_000,
    )
    await settled(agents[1])
    expect(beta.proxy.connections).toBeGreaterThan(before)
    // The push of rogue-b's change met the cut, and went through once the link was back.
    const since = beta.logs.slice(saidBefore)
    expect(since.some((l) => /cannot push message \d+/.test(l))).toBe(true)
    expect(since.some((l) => /answers again/.test(l))).toBe(true)
    await settled(agents[0])

    for (const [s, agent] of [
      [alpha, agents[0]],
      [beta, agents[1]],
    ] as const) {
      const own = agentView(agent)
      expect(own.length).toBeGreaterThan(100)
      expect(await centralView(s.name)).toEqual(own)
      // The run's sums are the agent's too.
      const run = await store.db
        .selectFrom('runs')
        .select(['findings', 'resources', 'complete'])
        .where('target', '=', s.name)
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow()
      expect(Number(run.findings)).toBe(agent.running.state.totals.findings)
      expect(Number(run.resources)).toBe(agent.running.state.totals.resources)
      expect(Number(run.complete)).toBe(1)
      // One session each: a restart of the central server does not make an agent start over.
      const sessions = await store.db
        .selectFrom('agent_sessions')
        .select('id')
        .where('cluster', '=', s.name)
        .execute()
      expect(sessions).toHaveLength(1)
    }
    const rogue = await store.db
      .selectFrom('findings')
      .select(['target', 'state'])
      .where('resource_name', 'in', ['rogue', 'rogue-b'])
      .where('check_id', '=', 'pss-privileged')
      .orderBy('target')
      .execute()
    expect(rogue).toEqual([
      { target: 'alpha', state: 'open' },
      { target: 'beta', state: 'open' },
    ])

    // The API: both clusters, each with its agent; findings filtered by cluster.
    const clusters = (await api('/api/clusters', viewer)).body as {
      name: string
      live: boolean
      agent?: unknown
    }[]
    expect(clusters.map((c) => [c.name, c.live, c.agent !== undefined])).toEqual([
      ['alpha', true, true],
      ['beta', true, true],
    ])
    // Each agent's Pod Security view comes through, checked field by field on its way in.
    const alphaDetail = (await api('/api/clusters/alpha', viewer)).body as {
      namespaces: { podSecurity?: { pods: number; levels: Record<string, number> } }[]
    }
    const views = alphaDetail.namespaces.flatMap((n) => (n.podSecurity ? [n.podSecurity] : []))
    expect(views.reduce((sum, v) => sum + v.pods, 0)).toBeGreaterThan(0)
    const session = await store.db
      .selectFrom('agent_sessions')
      .select('id')
      .where('cluster', '=', 'alpha')
      .orderBy('generation', 'desc')
      .executeTakeFirstOrThrow()
    const pushAs = new Central({ url: `https://127.0.0.1:${centralPort}`, token: alpha.token, ca: tls.ca })
    try {
      const health = {
        synced: true,
        kinds: [],
        objects: 0,
        eventsPerSecond: 0,
        discoveryErrors: [],
        startedAt: new Date().toISOString(),
      }
      const view = {
        namespace: 'shop',
        modes: {},
        pods: 1,
        levels: { privileged: 1, baseline: 0, restricted: 0 },
        violating: [],
        whatBreaks: [],
      }
      const refused = await pushAs.request('PUT', `/api/agent/sessions/${session.id}/status`, {
        health,
        podSecurity: [{ ...view, levels: { privileged: 'many', baseline: 0, restricted: 0 } }],
      })
      expect(refused.status).toBe(400)
      expect(JSON.stringify(refused.body)).toMatch(/levels\/privileged/)
      const odd = await pushAs.request('PUT', `/api/agent/sessions/${session.id}/status`, {
        health,
        podSecurity: [{ ...view, violating: [{ name: 'web', level: 'root', violations: [] }] }],
      })
      expect(odd.status).toBe(400)
    } finally {
      pushAs.close()
    }
    const betaOnly = (await api('/api/findings?target=beta&limit=500', viewer)).body as {
      total: number
      items: { target: string }[]
    }
    expect(betaOnly.total).toBe((await centralView('beta')).filter((f) => f.endsWith('false')).length)
    expect(new Set(betaOnly.items.map((f) => f.target))).toEqual(new Set(['beta']))
    // An agent token pushes and does nothing else; a viewer's cannot push.
    expect((await api('/api/findings', alpha.token)).status).toBe(403)
    expect((await api('/api/agent/exceptions', viewer)).status).toBe(403)
    expect(((await api('/api/agent/exceptions', beta.token)).body as { cluster: string }).cluster).toBe(
      'beta',
    )
  }, 120_000)
})

describe('plimsoll agent', () => {
  it('pushes its cluster from its own process, stops cleanly on SIGTERM, and says what is wrong', async () => {
    central ??= await startCentral()
    const gamma = await startControlPlane()
    try {
      gamma.load(generateObjects(300, 3))
      const kubeconfig = gamma.kubeconfig(join(tmp, 'gamma.kubeconfig'))
      writeFileSync(join(tmp, 'ca.crt'), tls.ca)
      const token = (
        await plimsoll([
          'token',
          'create',
          '--name',
          'gamma-agent',
          '--role',
          'agent',
          '--cluster',
          'gamma',
          '--db',
          db,
        ])
      ).stdout.trim()
      const args = [
        'agent',
        '--central',
        `https://127.0.0.1:${centralPort}`,
        '--central-ca',
        join(tmp, 'ca.crt'),
        '--kubeconfig',
        kubeconfig,
      ]
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { ...process.env, PLIMSOLL_TOKEN: token, NO_COLOR: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let said = ''
      child.stderr.on('data', (d) => {
        said += d
      })
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
      await until('the agent to sync', () => /synced \d+ objects/.test(said), 60_000)
      const run = await store.db
        .selectFrom('runs')
        .select(['findings', 'complete'])
        .where('target', '=', 'gamma')
        .executeTakeFirstOrThrow()
      expect(Number(run.complete)).toBe(1)
      expect(Number(run.findings)).toBeGreaterThan(0)
      // Open and excepted findings: the run's sum counts the open ones.
      expect((await centralView('gamma')).filter((f) => f.endsWith('false'))).toHaveLength(
        Number(run.findings),
      )
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      expect(said).toMatch(/stopping: pushing what is pending/)
      expect(said).not.toContain(token)

      // Revoked, the token is refused for good: the agent says so and exits 2.
      const id = /^(\d+)\s+agent\s+gamma-agent/m.exec(
        (await plimsoll(['token', 'list', '--db', db])).stdout,
      )![1]!
      await plimsoll(['token', 'revoke', id, '--db', db])
      const revoked = await exitOf(args, { PLIMSOLL_TOKEN: token })
      expect(revoked.code).toBe(2)
      expect(revoked.stderr).toMatch(/refused the agent's token \(401: invalid token\)/)
    } finally {
      await gamma.stop()
    }
    // Usage errors, each named.
    const usage = await exitOf(['agent', '--central', 'http://10.1.2.3:8080', '--cluster-name', 'x'], {
      PLIMSOLL_TOKEN: '',
    })
    expect(usage.code).toBe(2)
    // The token names the cluster: there is no --cluster-name to contradict it.
    expect(usage.stderr).toMatch(/unknown option '--cluster-name'/)
    const noToken = await exitOf(['agent', '--central', 'https://10.1.2.3:8080'], { PLIMSOLL_TOKEN: '' })
    expect(noToken.code).toBe(2)
    expect(noToken.stderr).toMatch(/no token: give --token-file, or set PLIMSOLL_TOKEN/)
    const plain = await exitOf(['agent', '--central', 'http://10.1.2.3:8080'], { PLIMSOLL_TOKEN: 'plm_x' })
    expect(plain.code).toBe(2)
    expect(plain.stderr).toMatch(/would cross the network in clear; use https:\/\//)
  }, 120_000)
})

/** Some Deployment of the cluster, as `remove` takes it (list items carry no kind). */
async function firstDeployment(cp: ControlPlane): Promise<Record<string, unknown>> {
  const answer = await kube(cp, 'GET', '/apis/apps/v1/deployments?limit=1')
  const [item] = answer.body.items as { metadata: { name: string; namespace: string } }[]
  if (!item) throw new Error('no Deployment to delete')
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: item.metadata.name, namespace: item.metadata.namespace },
  }
}
