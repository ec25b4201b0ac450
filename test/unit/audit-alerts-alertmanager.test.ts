/**
 * Plimsoll's alerts handed to a real Alertmanager (Debian's, started by test/helpers/alertmanager.ts):
 * they arrive through its v2 API with their labels, annotations, times and generatorURL, Alertmanager
 * groups them as its own config says (its API and the webhook it notifies both show it), and a silence
 * created in Alertmanager is respected there.
 */
import { mkdtempSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAlertsConfig } from '../../src/audit/alerts/config.js'
import { fingerprint } from '../../src/audit/alerts/fingerprint.js'
import { AlertPipeline } from '../../src/audit/alerts/pipeline.js'
import type { Detection, Priority } from '../../src/audit/types.js'
import { countPendingOutbox } from '../../src/store/alerts.js'
import { recordDetections } from '../../src/store/audit-detections.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { type RunningAlertmanager, startAlertmanager } from '../helpers/alertmanager.js'
import { until } from '../helpers/until.js'

interface AmAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
  fingerprint: string
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] }
  receivers: { name: string }[]
}
interface AmGroup {
  labels: Record<string, string>
  receiver: { name: string }
  alerts: AmAlert[]
}
interface AmWebhook {
  groupLabels: Record<string, string>
  alerts: { labels: Record<string, string> }[]
}

function detection(rule: string, user: string, priority: Priority = 'warning'): Detection {
  return {
    rule,
    source: 'falco-rules',
    priority,
    output: `${rule} (user=${user})`,
    time: new Date().toISOString(),
    labels: { rule, priority, source: 'falco-rules', user, namespace: 'shop' },
    tags: ['k8s', 'mitre_execution'],
    auditID: `audit-${user}`,
  }
}

describe('a real Alertmanager behind the alertmanager receiver', () => {
  let am: RunningAlertmanager
  let hook: Server
  const notified: AmWebhook[] = []
  let store: Store
  let pipeline: AlertPipeline

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c.toString()
      })
      req.on('end', () => {
        notified.push(JSON.parse(body) as AmWebhook)
        res.writeHead(200).end()
      })
    })
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', () => resolve()))
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alertmanager`
    // Alertmanager's own config: group by rule, a webhook as its receiver
    am = await startAlertmanager(`
route:
  receiver: team-hook
  group_by: [rule]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: team-hook
    webhook_configs:
      - url: ${hookUrl}
        send_resolved: false
`)
    // Plimsoll's: every alert its own group, sent on at once: the grouping is Alertmanager's
    const config = parseAlertsConfig(
      'alerts.yml',
      `
global:
  resolve_timeout: 10m
  external_url: https://plimsoll.example/audit/rules/{rule}
route:
  receiver: alertmanager
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1m
receivers:
  - name: alertmanager
    alertmanager_configs:
      - url: ${am.url}
`,
    )
    store = await openStore(join(mkdtempSync(join(tmpdir(), 'plimsoll-am-')), 'store.db'))
    pipeline = new AlertPipeline(store, config, {
      cluster: 'shop-cluster',
      outbox: { pollMs: 50, backoff: { initialMs: 50, factor: 2, maxMs: 500 } },
    })
    await pipeline.start()
  })

  /** a detection as the audit consumer leaves it: in the store, the pipeline told */
  const push = async (d: Detection) => {
    await recordDetections(store.db, 'shop-cluster', [d])
    pipeline.notify()
  }

  afterAll(async () => {
    await pipeline?.stop()
    await store?.close()
    await am?.stop()
    await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()))
  })

  it('receives the alerts through its v2 API and groups them as its config says', async () => {
    await push(detection('Terminal shell in container', 'alice'))
    await push(detection('Terminal shell in container', 'bob'))
    await push(detection('Terminal shell in container', 'alice')) // deduped
    await push(detection('Create ClusterRoleBinding', 'carol', 'critical'))
    await push(detection('Terminal shell in container', 'dave'))

    const alerts = await until(
      'Alertmanager to hold the four alerts',
      async () => {
        const a = await am.get<AmAlert[]>('/api/v2/alerts')
        return a.length === 4 ? a : undefined
      },
      20_000,
    )
    // The outbox row is marked sent once Alertmanager's answer is back, a moment after it holds them.
    await until('the outbox to drain', async () => (await countPendingOutbox(store)) === 0)
    const carol = alerts.find((a) => a.labels.user === 'carol')!
    expect(carol.labels).toEqual({
      alertname: 'Create ClusterRoleBinding',
      rule: 'Create ClusterRoleBinding',
      priority: 'critical',
      source: 'falco-rules',
      user: 'carol',
      namespace: 'shop',
    })
    expect(carol.annotations).toEqual({
      summary: 'Create ClusterRoleBinding (user=carol)',
      tags: 'k8s,mitre_execution',
      auditID: 'audit-carol',
    })
    expect(carol.generatorURL).toBe('https://plimsoll.example/audit/rules/Create%20ClusterRoleBinding')
    expect(carol.status.state).toBe('active')
    expect(Date.parse(carol.endsAt) - Date.parse(carol.startsAt)).toBeGreaterThanOrEqual(9 * 60_000)
    // the fingerprints agree: the same labels hash to the same id on both sides
    for (const a of alerts) expect(fingerprint(a.labels)).toBe(a.fingerprint)
    const noise = pipeline.aggregator.noiseReport()
    expect(noise.find((r) => r.rule === 'Terminal shell in container')).toMatchObject({
      detections: 4,
      deduped: 1,
    })

    const groups = await am.get<AmGroup[]>('/api/v2/alerts/groups')
    const summary = groups
      .map((g) => [g.labels, g.receiver.name, g.alerts.map((a) => a.labels.user).sort()])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    expect(summary).toEqual([
      [{ rule: 'Create ClusterRoleBinding' }, 'team-hook', ['carol']],
      [{ rule: 'Terminal shell in container' }, 'team-hook', ['alice', 'bob', 'dave']],
    ])

    // and Alertmanager notified its webhook once per group, after its group_wait
    await until('Alertmanager to notify both groups', () => notified.length >= 2, 20_000)
    const byGroup = new Map<string, Set<string>>()
    for (const n of notified) {
      const users = byGroup.get(n.groupLabels.rule!) ?? new Set()
      for (const a of n.alerts) users.add(a.labels.user!)
      byGroup.set(n.groupLabels.rule!, users)
    }
    expect([...byGroup.keys()].sort()).toEqual(['Create ClusterRoleBinding', 'Terminal shell in container'])
    expect([...byGroup.get('Terminal shell in container')!].sort()).toEqual(['alice', 'bob', 'dave'])
  })

  it('respects a silence created in Alertmanager', async () => {
    const now = Date.now()
    const { silenceID } = await am.post<{ silenceID: string }>('/api/v2/silences', {
      matchers: [
        { name: 'user', value: 'erin', isRegex: false, isEqual: true },
        { name: 'rule', value: 'Terminal.*', isRegex: true, isEqual: true },
      ],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: 'plimsoll-tests',
      comment: 'erin is on the incident',
    })
    expect(silenceID).toMatch(/\S/)
    const before = notified.length
    await push(detection('Terminal shell in container', 'erin'))
    await push(detection('Terminal shell in container', 'frank'))

    const alerts = await until(
      'Alertmanager to hold erin and frank',
      async () => {
        const a = await am.get<AmAlert[]>('/api/v2/alerts')
        return a.some((x) => x.labels.user === 'erin') && a.some((x) => x.labels.user === 'frank')
          ? a
          : undefined
      },
      20_000,
    )
    const erin = alerts.find((a) => a.labels.user === 'erin')!
    expect(erin.status).toMatchObject({ state: 'suppressed', silencedBy: [silenceID] })
    expect(alerts.find((a) => a.labels.user === 'frank')!.status.state).toBe('active')
    const unsilenced = await am.get<AmAlert[]>('/api/v2/alerts?silenced=false')
    expect(unsilenced.map((a) => a.labels.user)).not.toContain('erin')
    expect(unsilenced.map((a) => a.labels.user)).toContain('frank')

    // its webhook hears of frank, never of erin
    await until(
      'Alertmanager to notify frank',
      () => notified.slice(before).some((n) => n.alerts.some((a) => a.labels.user === 'frank')),
      20_000,
    )
    const later = notified.slice(before)
    expect(later.flatMap((n) => n.alerts.map((a) => a.labels.user))).not.toContain('erin')
  })
})
