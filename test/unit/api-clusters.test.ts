/**
 * The clusters API over real HTTP: clusters the store knows and clusters watched here (a live source
 * handed to the server), a cluster's namespaces with their Pod Security view, the live event stream
 * (authenticated, NDJSON, ended when the server closes), and the watch's metrics.
 */

import { mkdtempSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterEvent, NamespacePodSecurity, WatchHealth } from '../../src/api-types.js'
import { loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'
import { buildServer } from '../../src/server/app.js'
import type { LiveClusterSource } from '../../src/server/live-clusters.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { recordRun } from '../../src/store/record-run.js'
import { createToken } from '../../src/store/tokens.js'
import { request } from '../helpers/http.js'

const library = loadLibrary({})
let store: Store
let viewer: string

const health: WatchHealth = {
  synced: true,
  kinds: [
    {
      group: '',
      version: 'v1',
      kind: 'Pod',
      resource: 'pods',
      mode: 'evaluate',
      state: 'watching',
      events: 7,
      lists: 1,
      listMs: 120,
    },
    {
      group: '',
      version: 'v1',
      kind: 'Secret',
      resource: 'secrets',
      mode: 'evaluate',
      state: 'forbidden',
      error: 'secrets is forbidden',
      events: 0,
      lists: 0,
    },
  ],
  objects: 42,
  eventsPerSecond: 1.5,
  commitMs: { p50: 4, p99: 30 },
  discoveryErrors: [],
  startedAt: '2026-12-06T00:00:00.000Z',
}
const psa: NamespacePodSecurity = {
  namespace: 'shop',
  modes: { enforce: { level: 'baseline', version: 'latest' } },
  pods: 2,
  levels: { privileged: 1, baseline: 1, restricted: 0 },
  violating: [{ name: 'web-1', level: 'privileged', violations: ['pss-privileged'] }],
  whatBreaks: [{ level: 'restricted', version: 'latest', pods: [] }],
}
const listeners = new Set<(e: ClusterEvent) => void>()
const live: LiveClusterSource = {
  name: 'lab',
  health: () => health,
  podSecurity: () => [psa],
  subscribe(listener) {
    listeners.add(listener)
    return () => listeners.delete(listener)
  },
}

beforeAll(async () => {
  store = await openStore(join(mkdtempSync(join(tmpdir(), 'plimsoll-api-clusters-')), 'api.db'))
  const report = await scan({ inputs: ['examples/'], library, jobs: 1, showExcepted: true })
  // A cluster recorded elsewhere (an agent, another watcher): the store knows it, nobody watches it here.
  await recordRun(store, report, { source: 'cluster', target: 'elsewhere', plimsollVersion: 'test' })
  await recordRun(store, report, { source: 'ci', target: 'repo', plimsollVersion: 'test' })
  viewer = (await createToken(store, 'val', { role: 'viewer' })).token
})

afterAll(async () => {
  await store.close()
})

async function server() {
  const app = await buildServer({
    store,
    checks: library.checks.map((c) => c.metadata),
    frameworks: [],
    clusters: [live],
  })
  return { app, base: await app.listen({ host: '127.0.0.1', port: 0 }) }
}

describe('the clusters API', () => {
  it('lists the clusters of the store and those watched here, and not CI targets', async () => {
    const { app, base } = await server()
    try {
      expect((await request(base, '/api/clusters')).status).toBe(401)
      const list = await request(base, '/api/clusters', { token: viewer })
      expect(list.status).toBe(200)
      const clusters = list.body as unknown as {
        name: string
        live: boolean
        open: Record<string, number>
        health?: WatchHealth
      }[]
      expect(clusters.map((c) => [c.name, c.live])).toEqual([
        ['elsewhere', false],
        ['lab', true],
      ])
      expect(clusters[0]!.open.critical).toBeGreaterThan(0)
      expect(clusters[1]!.health?.kinds.find((k) => k.kind === 'Secret')?.state).toBe('forbidden')

      const detail = await request(base, '/api/clusters/lab', { token: viewer })
      expect(detail.status).toBe(200)
      const namespaces = detail.body.namespaces as { namespace: string; podSecurity?: NamespacePodSecurity }[]
      expect(namespaces.find((n) => n.namespace === 'shop')?.podSecurity?.violating[0]?.name).toBe('web-1')
      const other = await request(base, '/api/clusters/elsewhere', { token: viewer })
      expect((other.body.namespaces as unknown[]).length).toBeGreaterThan(0)
      expect((await request(base, '/api/clusters/nope', { token: viewer })).status).toBe(404)
      expect((await request(base, '/api/clusters/elsewhere/events', { token: viewer })).status).toBe(404)

      const metrics = await request(base, '/metrics', { token: viewer })
      const text = metrics.text
      expect(text).toMatch(/^plimsoll_watch_objects\{cluster="lab"\} 42$/m)
      expect(text).toMatch(
        /^plimsoll_watch_kind_state\{cluster="lab",group="",kind="Secret",state="forbidden"\} 1$/m,
      )
      expect(text).toMatch(/^plimsoll_watch_commit_seconds\{cluster="lab",quantile="0.99"\} 0.03$/m)
    } finally {
      await app.close()
    }
  })

  it('streams live events as NDJSON, and ends the stream when the server closes', async () => {
    const { app, base } = await server()
    const lines: ClusterEvent[] = []
    let ended = false
    await new Promise<void>((resolve, reject) => {
      get(`${base}/api/clusters/lab/events`, { headers: { authorization: `Bearer ${viewer}` } }, (res) => {
        expect(res.statusCode).toBe(200)
        expect(res.headers['content-type']).toMatch(/application\/x-ndjson/)
        let buffer = ''
        res.on('data', (d: Buffer) => {
          buffer += d.toString()
          for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
            lines.push(JSON.parse(buffer.slice(0, i)) as ClusterEvent)
            buffer = buffer.slice(i + 1)
          }
          if (lines.length === 1) resolve()
        })
        res.on('end', () => {
          ended = true
        })
      }).on('error', reject)
    })
    expect(lines[0]?.type).toBe('health')
    for (const listener of listeners)
      listener({
        type: 'changes',
        at: 'now',
        opened: [],
        resolved: [],
        open: { critical: 1, high: 0, medium: 0, low: 0, info: 0 },
      })
    await expect.poll(() => lines.map((l) => l.type)).toEqual(['health', 'changes'])
    const started = Date.now()
    await app.close()
    expect(Date.now() - started).toBeLessThan(2000)
    await expect.poll(() => ended).toBe(true)
    expect(listeners.size).toBe(0)
  })
})
