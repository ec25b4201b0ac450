/**
 * The audit alerts' store parts, on SQLite and PostgreSQL: silences, and the notifiers' outbox against a
 * real local HTTP receiver that is down, then up (every notification delivered exactly once, in order
 * per group), across a restart (a new outbox over the store opened again), with verifiable signatures.
 */
import { mkdtempSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Aggregator, type Notification } from '../../src/audit/alerts/aggregator.js'
import { parseAlertsConfig } from '../../src/audit/alerts/config.js'
import {
  NOTIFICATION_ID_HEADER,
  render,
  SIGNATURE_HEADER,
  signBody,
  verifySignature,
} from '../../src/audit/alerts/notifiers.js'
import { backoffDelay, Outbox } from '../../src/audit/alerts/outbox.js'
import { AlertPipeline } from '../../src/audit/alerts/pipeline.js'
import { addSilence, currentSilences, expire } from '../../src/audit/alerts/silences.js'
import type { Detection } from '../../src/audit/types.js'
import { countPendingOutbox, getSilence, listOutbox } from '../../src/store/alerts.js'
import { recordDetections } from '../../src/store/audit-detections.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { freshDatabase } from '../helpers/postgres.js'
import { until } from '../helpers/until.js'

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-alerts-'))
const SECRET = 'correct horse battery staple'

interface Received {
  path: string
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A receiver on 127.0.0.1 that can be taken down (not listening at all) and brought back on its port. */
class Receiver {
  received: Received[] = []
  /** answer 503 to the first N requests whose body contains the text */
  refuse: { text: string; times: number } | undefined
  private server: Server | undefined
  port = 0

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        if (this.refuse && this.refuse.times > 0 && body.includes(this.refuse.text)) {
          this.refuse.times--
          res.writeHead(503).end('busy')
          return
        }
        this.received.push({ path: req.url ?? '', headers: req.headers, body })
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  async down(): Promise<void> {
    const s = this.server
    this.server = undefined
    if (!s) return
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }
}

function alertsConfig(url: string) {
  return parseAlertsConfig(
    'alerts.yml',
    `
route:
  receiver: team
  group_by: [rule]
  group_wait: 0s
  group_interval: 1m
receivers:
  - name: team
    webhook_configs:
      - url: ${url}/hook
        secret: '${SECRET}'
    slack_configs:
      - api_url: ${url}/slack
        channel: '#security'
        send_resolved: true
`,
  )
}

let seq = 0
function notification(group: string, n: number): Notification {
  const at = new Date(Date.UTC(2026, 2, 1, 10, 0, seq++)).toISOString()
  return {
    receiver: 'team',
    groupKey: `{}:{rule="${group}"}`,
    status: 'firing',
    groupLabels: { rule: group },
    commonLabels: { alertname: group, rule: group },
    commonAnnotations: {},
    externalURL: '',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: group, rule: group, user: `user-${n}` },
        annotations: { summary: `${group} #${n} <b>&</b>` },
        startsAt: at,
        endsAt: new Date(Date.parse(at) + 300_000).toISOString(),
        generatorURL: '',
        fingerprint: `${group}-${n}`,
      },
    ],
    time: at,
  }
}

const fast = { initialMs: 20, factor: 2, maxMs: 200 }

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => join(dir, `alerts-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', () => freshDatabase('alerts')],
]

describe.each(backends)('audit alerts in the store (%s)', (_name, location) => {
  let where: string
  let store: Store
  const receiver = new Receiver()
  beforeAll(async () => {
    where = await location()
    store = await openStore(where)
    await receiver.up()
  })
  afterAll(async () => {
    await receiver.down()
    await store?.close()
  })

  it('keeps silences: created, listed while not ended, expired', async () => {
    const now = Date.now()
    const s = await addSilence(
      store,
      {
        matchers: ['user="alice"', 'rule=~"Exec.*"'],
        endsAt: new Date(now + 3_600_000).toISOString(),
        createdBy: 'sre@example.com',
        comment: 'drill',
      },
      now,
    )
    const later = await addSilence(
      store,
      {
        matchers: [
          { name: 'namespace', type: '!~', value: 'prod|payments' },
          { name: 'user', type: '!=', value: '' },
        ],
        startsAt: new Date(now + 600_000).toISOString(),
        endsAt: new Date(now + 7_200_000).toISOString(),
        createdBy: 'sre@example.com',
        comment: 'later',
      },
      now,
    )
    expect((await currentSilences(store, now)).map((x) => x.id).sort()).toEqual([s.id, later.id].sort())
    expect(await getSilence(store, s.id)).toMatchObject({
      matchers: [
        { name: 'user', type: '=', value: 'alice' },
        { name: 'rule', type: '=~', value: 'Exec.*' },
      ],
      createdBy: 'sre@example.com',
      comment: 'drill',
    })
    expect(await expire(store, s.id, now + 1000)).toBe(true)
    expect(await expire(store, s.id, now + 2000)).toBe(false)
    expect((await currentSilences(store, now + 2000)).map((x) => x.id)).toEqual([later.id])
    // what the aggregator makes of the stored silences: the later one mutes only once started
    const agg = new Aggregator(alertsConfig(receiver.url), { now: () => now })
    agg.setSilences(await currentSilences(store, now + 2000))
    expect(agg.silencedBy({ user: 'bob', namespace: 'dev' }, now + 2000)).toHaveLength(0)
    expect(agg.silencedBy({ user: 'bob', namespace: 'dev' }, now + 700_000)).toHaveLength(1)
    expect(agg.silencedBy({ user: 'bob', namespace: 'prod' }, now + 700_000)).toHaveLength(0)
  })

  it('delivers every notification exactly once, in order per group, after the receiver was down', async () => {
    const config = alertsConfig(receiver.url)
    await receiver.down()
    const errors: string[] = []
    const outbox = new Outbox(store, config, {
      backoff: fast,
      onError: (_e, err) => errors.push(err.message),
    })
    const sent = [
      notification('Exec into pod', 1),
      notification('Read secret', 1),
      notification('Exec into pod', 2),
      notification('Exec into pod', 3),
      notification('Read secret', 2),
    ]
    await outbox.enqueue(sent.slice(0, 3))
    const pass = await outbox.deliverDue()
    expect(pass).toEqual({ delivered: 0, failed: 4 }) // the head of each group, to each of two integrations
    await outbox.enqueue(sent.slice(3))
    expect(await countPendingOutbox(store)).toBe(10)
    await new Promise((r) => setTimeout(r, 60))
    await outbox.deliverDue()
    const failed = await listOutbox(store, { delivered: false })
    expect(failed.filter((e) => e.attempts > 0).length).toBe(4) // only the heads were tried
    expect(failed.every((e) => e.attempts === 0 || e.lastError?.includes('ECONNREFUSED'))).toBe(true)
    expect(errors.length).toBeGreaterThanOrEqual(4)

    await receiver.up()
    await until('every notification delivered', async () => {
      await outbox.deliverDue()
      return (await countPendingOutbox(store)) === 0
    })
    const hooks = receiver.received.filter((r) => r.path === '/hook')
    const slack = receiver.received.filter((r) => r.path === '/slack')
    expect(hooks).toHaveLength(5)
    expect(slack).toHaveLength(5)
    const order = (rs: Received[], field: (b: Record<string, unknown>) => string) =>
      rs.map((r) => field(JSON.parse(r.body) as Record<string, unknown>))
    const hookOrder = order(
      hooks,
      (b) => (b.alerts as { annotations: { summary: string } }[])[0]!.annotations.summary,
    )
    const inGroup = (g: string) => hookOrder.filter((s) => s.startsWith(g))
    expect(inGroup('Exec into pod')).toEqual([
      'Exec into pod #1 <b>&</b>',
      'Exec into pod #2 <b>&</b>',
      'Exec into pod #3 <b>&</b>',
    ])
    expect(inGroup('Read secret')).toEqual(['Read secret #1 <b>&</b>', 'Read secret #2 <b>&</b>'])
    expect(new Set(hooks.map((h) => h.headers[NOTIFICATION_ID_HEADER])).size).toBe(5)
    // signed: HMAC-SHA256 of the body, verifiable with the shared secret only
    for (const h of hooks) {
      const sig = h.headers[SIGNATURE_HEADER] as string
      expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/)
      expect(sig).toBe(signBody(SECRET, h.body))
      expect(verifySignature(SECRET, h.body, sig)).toBe(true)
      expect(verifySignature('wrong secret', h.body, sig)).toBe(false)
      expect(verifySignature(SECRET, `${h.body} `, sig)).toBe(false)
      expect(JSON.parse(h.body)).toMatchObject({ version: '4', receiver: 'team', status: 'firing' })
    }
    const slackBody = JSON.parse(slack[0]!.body) as {
      text: string
      channel: string
      blocks: { type: string }[]
    }
    expect(slackBody.channel).toBe('#security')
    expect(slackBody.text).toContain('&lt;b&gt;&amp;&lt;/b&gt;')
    expect(slackBody.blocks.map((b) => b.type)).toEqual(['header', 'context', 'section'])
    // delivered ones stay delivered: another pass sends nothing
    expect(await outbox.deliverDue()).toEqual({ delivered: 0, failed: 0 })
    expect(receiver.received).toHaveLength(10)
  })

  it('keeps a group waiting behind its failing head while other groups go on', async () => {
    receiver.received = []
    const outbox = new Outbox(store, alertsConfig(receiver.url), { backoff: fast })
    receiver.refuse = { text: 'Stuck #1', times: 6 } // both integrations, three attempts each
    await outbox.enqueue([notification('Stuck', 1), notification('Stuck', 2), notification('Free', 1)])
    await outbox.deliverDue()
    const paths = () => receiver.received.map((r) => `${r.path} ${/(Stuck|Free) #\d/.exec(r.body)?.[0]}`)
    expect(paths().sort()).toEqual(['/hook Free #1', '/slack Free #1'])
    await until('the stuck group delivered', async () => {
      await outbox.deliverDue()
      return (await countPendingOutbox(store)) === 0
    })
    expect(paths().filter((p) => p.startsWith('/hook'))).toEqual([
      '/hook Free #1',
      '/hook Stuck #1',
      '/hook Stuck #2',
    ])
    const stuck = (await listOutbox(store, { delivered: true })).filter((e) => e.payload.includes('Stuck #1'))
    expect(stuck.map((e) => e.attempts)).toEqual([4, 4])
  })

  it('a new outbox over the store opened again sends what the last one did not', async () => {
    receiver.received = []
    await receiver.down()
    const first = new Outbox(store, alertsConfig(receiver.url), { backoff: fast })
    await first.enqueue([notification('Restart', 1), notification('Restart', 2)])
    await first.deliverDue()
    await store.close()
    // "restart": the store opened again, a new outbox
    store = await openStore(where)
    await receiver.up()
    const second = new Outbox(store, alertsConfig(receiver.url), { backoff: fast })
    second.start()
    try {
      await until('the restarted outbox delivered', async () => (await countPendingOutbox(store)) === 0)
    } finally {
      await second.stop()
    }
    const hooks = receiver.received
      .filter((r) => r.path === '/hook')
      .map((r) => /Restart #\d/.exec(r.body)?.[0])
    expect(hooks).toEqual(['Restart #1', 'Restart #2'])
  })

  it('two senders over one store (two replicas) never send a notification twice', async () => {
    receiver.received = []
    const other = await openStore(where)
    try {
      const a = new Outbox(store, alertsConfig(receiver.url), { backoff: fast })
      const b = new Outbox(other, alertsConfig(receiver.url), { backoff: fast })
      await a.enqueue(Array.from({ length: 8 }, (_, i) => notification(`Replica ${i % 2}`, i)))
      await until('both replicas delivered everything', async () => {
        await Promise.all([a.deliverDue(), b.deliverDue()])
        return (await countPendingOutbox(store)) === 0
      })
      const hooks = receiver.received.filter((r) => r.path === '/hook')
      expect(hooks).toHaveLength(8)
      expect(new Set(hooks.map((h) => h.headers[NOTIFICATION_ID_HEADER])).size).toBe(8)
      for (const g of ['Replica 0', 'Replica 1']) {
        const order = hooks.map((h) => new RegExp(`${g} #(\\d)`).exec(h.body)?.[1]).filter(Boolean)
        expect(order).toHaveLength(4)
        expect(order).toEqual([...order].sort())
      }
    } finally {
      await other.close()
    }
  })

  it('runs the whole pipeline: detections in, grouped notifications delivered', async () => {
    receiver.received = []
    const pipeline = new AlertPipeline(store, alertsConfig(receiver.url), {
      cluster: 'pipeline-cluster',
      outbox: { backoff: fast, pollMs: 50 },
    })
    await pipeline.start()
    try {
      const d = (user: string): Detection => ({
        rule: 'Pipeline rule',
        source: 'plimsoll',
        priority: 'error',
        output: `pipeline ${user}`,
        time: new Date().toISOString(),
        labels: { rule: 'Pipeline rule', priority: 'error', user },
        tags: [],
      })
      await recordDetections(
        store.db,
        'pipeline-cluster',
        Array.from({ length: 50 }, (_, i) => d(`u${i % 3}`)),
      )
      pipeline.notify()
      await until('the pipeline delivered', () => receiver.received.some((r) => r.path === '/hook'))
      const body = JSON.parse(receiver.received.find((r) => r.path === '/hook')!.body) as {
        alerts: unknown[]
      }
      expect(body.alerts).toHaveLength(3)
    } finally {
      await pipeline.stop()
    }
  })
})

describe('notifier payloads', () => {
  const config = parseAlertsConfig(
    'alerts.yml',
    `
global: { resolve_timeout: 5m }
route: { receiver: am, repeat_interval: 1m }
receivers:
  - name: am
    alertmanager_configs: [{ url: 'http://127.0.0.1:9093' }]
    slack_configs: [{ api_url: 'https://hooks.slack.example/x' }]
`,
  )
  const integrations = config.receivers.get('am')!.integrations
  const am = integrations.find((i) => i.type === 'alertmanager')
  const slack = integrations.find((i) => i.type === 'slack')
  it('Alertmanager v2: the alerts with labels, annotations, times and generatorURL', () => {
    const n = notification('AM rule', 1)
    const req = render(
      am!,
      { ...n, alerts: [{ ...n.alerts[0]!, generatorURL: 'https://plimsoll.example/rules/AM' }] },
      1,
    )!
    expect(req.url).toBe('http://127.0.0.1:9093/api/v2/alerts')
    expect(JSON.parse(req.body)).toEqual([
      {
        labels: n.alerts[0]!.labels,
        annotations: n.alerts[0]!.annotations,
        startsAt: n.alerts[0]!.startsAt,
        endsAt: n.alerts[0]!.endsAt,
        generatorURL: 'https://plimsoll.example/rules/AM',
      },
    ])
  })
  it('Slack leaves resolved alerts out unless send_resolved', () => {
    const n = notification('Slack rule', 1)
    const resolved = {
      ...n,
      status: 'resolved' as const,
      alerts: [{ ...n.alerts[0]!, status: 'resolved' as const }],
    }
    expect(render(slack!, resolved, 1)).toBeUndefined()
    expect(render(am!, resolved, 1)).toBeDefined()
  })
  it('backs off exponentially up to the maximum', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay({ initialMs: 1000, factor: 2, maxMs: 5000 }, n))).toEqual(
      [1000, 2000, 4000, 5000, 5000],
    )
  })
})
