import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { run } from '../helpers/cli.js'
import { serve, stopped } from '../helpers/serve.js'

describe('plimsoll serve', () => {
  it('--demo seeds a fresh store with a month of history, lets anyone read, and cleans up', async () => {
    const { child, out, url } = await serve(['--demo'])
    try {
      expect(out).toMatch(/demo estate: 6 targets, 180 runs over 30 days/)
      expect(out).toMatch(
        /demo audit: \d{4,} audit events on prod-cluster over a week, \d{3,} detections, \d+ open alert group\(s\), \d+ notifications/,
      )
      // The month of usage and cost: a snapshot a day per cluster, read by the dashboard's pages.
      expect(out).toMatch(
        /demo usage: 60 snapshots of prod-cluster and edge-cluster, a day apart over 30 days: \d{2,} containers on \d+ nodes, \$[\d,]+\.\d\d\/month \(\$[\d,]+\.\d\d idle\), savings \$[\d,]+\.\d\d\/month/,
      )
      const usage = (await (await fetch(`${url}/api/usage/cost?by=team`)).json()) as {
        trend: unknown[]
        groups: { key: string }[]
      }
      expect(usage.trend).toHaveLength(60)
      expect(usage.groups.map((g) => g.key)).toContain('payments')
      const token = /admin token (plm_\S+)/.exec(out)![1]!
      const summary = (await (await fetch(`${url}/api/summary`)).json()) as { targets: string[] }
      expect(summary.targets).toContain('prod-cluster')
      const trend = (await (await fetch(`${url}/api/trends?days=30`)).json()) as { open: number }[]
      expect(trend[29]!.open).toBeLessThan(trend[0]!.open / 2) // debt paid down
      const body = JSON.stringify({
        checks: ['pss-privileged'],
        owner: 'demo',
        reason: 'trying it',
        expires: '2099-01-01',
      })
      const headers = { 'content-type': 'application/json' }
      expect((await fetch(`${url}/api/exceptions`, { method: 'POST', body, headers })).status).toBe(401)
      const asAdmin = await fetch(`${url}/api/exceptions`, {
        method: 'POST',
        body,
        headers: { ...headers, authorization: `Bearer ${token}` },
      })
      expect(asAdmin.status).toBe(201)
      // edge-cluster: pushed by an agent through this server's own door, shown live with its session.
      const deadline = Date.now() + 30_000
      let edge: { live: boolean; agent?: { messages: number }; lastRun?: { complete: boolean } } | undefined
      while (Date.now() < deadline && !(edge?.lastRun?.complete && edge.live)) {
        const clusters = (await (await fetch(`${url}/api/clusters`)).json()) as ({
          name: string
        } & typeof edge)[]
        edge = clusters.find((c) => c?.name === 'edge-cluster')
        await new Promise((r) => setTimeout(r, 200))
      }
      expect(edge).toMatchObject({ live: true, lastRun: { complete: true } })
      expect(edge?.agent?.messages).toBeGreaterThan(1)
    } finally {
      const dir = /over (.*)\/demo\.db$/m.exec(out)![1]!
      expect(await stopped(child)).toBe(0)
      expect(existsSync(dir)).toBe(false)
    }
  }, 60_000)

  it('refuses to serve plain HTTP beyond loopback, and half a TLS configuration', () => {
    const open = run(['serve', '--host', '0.0.0.0', '--port', '0'])
    expect(open.code).toBe(2)
    expect(open.stderr).toMatch(/reachable from the network; give --tls-cert and --tls-key/)
    const half = run(['serve', '--tls-cert', 'x.pem', '--port', '0'])
    expect(half.code).toBe(2)
    expect(half.stderr).toMatch(/--tls-cert and --tls-key go together/)
  })
})
