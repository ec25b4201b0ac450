/**
 * The demo's audit door: a week of prod-cluster's audit events taken through the real pipeline, so the
 * store reads as if `plimsoll audit serve --cluster-name prod-cluster --learning-days 5 --alerts
 * alerts.yaml` (DEMO_ALERTS_YAML) had run for that week.
 *
 * - The events (audit-traffic.ts): a few thousand audit.k8s.io/v1 Events as the API server writes them
 *   under the demo's audit policy, from about twenty identities with their daily rhythms (the
 *   controllers, the scheduler, the ingress controller, Prometheus, Argo CD, the teams' CI deployers,
 *   four people with kubectl) and the kubelet of each node the autoscaler adds, then the incidents of the
 *   last day and a half: a shell in a payments pod, a privileged pod on the host network, a NodePort
 *   Service, a ConfigMap with a password key (the key only: its value is an unfilled placeholder), a
 *   scanner's anonymous requests refused (403) and still coming, a service account listing the Secrets
 *   of another namespace, and the on-call engineer's account from an unknown address with curl (the
 *   anomaly) granting cluster-admin.
 * - Stored in the audit queue in the API server's batches of 400 (`enqueueAuditEvents`, source
 *   `webhook`; received and processed now, as the store writes them: `audit serve` keeps processed
 *   events 24 h), then read by a real AuditConsumer with Plimsoll's built-in audit rules and per-identity
 *   baselines learned for 5 days (so the last two days' new behaviour is reported). Falco's rules files
 *   are not shipped with Plimsoll, so the demo uses Plimsoll's own rules only.
 * - The detections go through a real Aggregator under DEMO_ALERTS_YAML, its clock walking through the
 *   week (tick() before each detection, as the pipeline's passes would). Its allowlist drops the ingress
 *   controller's Secret watches, the nightly report's host-network pods and the kubelets' anomalies; its
 *   rate limits hold back the scanner and the anomalies; the notifications it made are
 *   written to the outbox at their flush times, delivered but for the last few (to a webhook URL that
 *   does not resolve: nothing is ever sent); its snapshot is saved as prod-cluster's alert state and the
 *   detections are marked taken in. Two silences: one active (node-exporter's host access, in
 *   monitoring), one expired (the data team's shells in airflow workers).
 *
 * Deterministic but for what the store makes up (ids, received/processed times, silence ids): the same
 * `now` gives the same events, detections, alerts and notifications.
 */
import type { Notification } from '../audit/alerts/aggregator.js'
import { Aggregator } from '../audit/alerts/aggregator.js'
import { parseAlertsConfig } from '../audit/alerts/config.js'
import { integrationKeys } from '../audit/alerts/outbox.js'
import { addSilence, currentSilences } from '../audit/alerts/silences.js'
import { Baselines } from '../audit/anomaly/baselines.js'
import { AuditConsumer } from '../audit/pipeline.js'
import { loadAuditRules } from '../audit/rules/index.js'
import type { Detection } from '../audit/types.js'
import { markAllAlerted, saveAlertState } from '../store/alert-state.js'
import { insertOutbox, markDelivered, type NewOutboxEntry } from '../store/alerts.js'
import { enqueueAuditEvents } from '../store/audit-queue.js'
import type { Store } from '../store/connect.js'
import { type AuditTrafficOptions, demoAuditTraffic } from './audit-traffic.js'
import { CLUSTER_TARGET } from './estate.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** How long an identity is learned before what it does new is reported (`--learning-days`). */
export const DEMO_LEARNING_DAYS = 5

/** The webhook the notifications are addressed to: `.invalid` never resolves (RFC 2606). */
export const DEMO_WEBHOOK_URL = 'https://hooks.example.invalid/plimsoll'

/** The platform team's alerts file for prod-cluster, as they would write it. */
export const DEMO_ALERTS_YAML = `# plimsoll audit serve --cluster-name prod-cluster --alerts alerts.yaml
global:
  resolve_timeout: 15m
  external_url: https://plimsoll.example.com/audit/rules/{rule}

route:
  receiver: security-team
  group_by: [rule, namespace]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    # what is new about someone: one message per identity
    - matchers: [source="anomaly"]
      group_by: [user]
    - matchers: ['namespace=~"kube-system|monitoring|ingress-nginx"']
      receiver: platform-team

inhibit_rules:
  # while someone's critical alert fires, their warnings are left out
  - source_matchers: [priority="critical"]
    target_matchers: [priority="warning"]
    equal: [user]
  # and while a rule's warning about someone fires, what is merely new about them adds nothing
  - source_matchers: [priority="warning"]
    target_matchers: [source="anomaly"]
    equal: [user]

receivers:
  - name: security-team
    webhook_configs:
      - url: ${DEMO_WEBHOOK_URL}
  - name: platform-team
    webhook_configs:
      - url: ${DEMO_WEBHOOK_URL}-platform
        send_resolved: false

allowlist:
  - matchers: ['user="system:serviceaccount:ingress-nginx:ingress-nginx"', rule="secret-read"]
    comment: the ingress controller watches the TLS Secrets of its Ingresses
  - matchers: [namespace="shop", rule="host-namespace-pod-created", 'name=~"nightly-report-.*"']
    comment: the nightly report's pods use the host network (accepted in the debt register)
  - matchers: [source="anomaly", 'user=~"system:node:.*"']
    comment: a kubelet starts whatever is scheduled on its node, in any namespace

rate_limits:
  - matchers: [source="anomaly"]
    max_alerts: 10
    per: 1h
  # the internet knocks all day: a few new alerts a quarter of an hour say enough
  - matchers: [rule="unauthorized-request", user="system:anonymous"]
    max_alerts: 3
    per: 15m
`

/** The traffic's: `now` (no event after it), `days` of events, the estate and its inputs. */
export type AuditSeedOptions = AuditTrafficOptions

export interface AuditSeedSummary {
  /** events stored in the queue (all processed) */
  events: number
  /** detections recorded, and of them by source */
  detections: number
  bySource: Record<string, number>
  /** alerts the aggregator made (a detection of a firing alert only refreshes it) */
  alerts: number
  /** detections the allowlist dropped, the rate limits refused, and those that arrived under a silence */
  allowlisted: number
  rateLimited: number
  silenced: number
  /** alert groups open in the saved state */
  groups: number
  notifications: number
  /** notifications left undelivered in the outbox */
  pending: number
  silences: number
  /** identities with a baseline */
  identities: number
  from: string
  to: string
  /** how long seeding took, ms */
  ms: number
}

/** Notifications left pending in the outbox: the dashboard shows what waits for a receiver. */
const PENDING = 3
const BATCH = 400

/** Refuses a store that already has audit events, detections or alert state: demo data never mixes in. */
async function assertNoAudit(store: Store): Promise<void> {
  for (const table of ['audit_events', 'audit_detections', 'alert_state'] as const) {
    const { n } = await store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    if (Number(n) > 0)
      throw new Error(
        `the store at ${store.location} already holds ${n} row(s) of ${table}; the demo's audit week is only seeded into a store without audit data`,
      )
  }
}

export async function seedAudit(store: Store, options: AuditSeedOptions = {}): Promise<AuditSeedSummary> {
  const started = performance.now()
  await assertNoAudit(store)
  const cluster = CLUSTER_TARGET
  const now = (options.now ?? new Date()).getTime()
  const days = options.days ?? 7
  const traffic = demoAuditTraffic({
    now: new Date(now),
    days,
    ...(options.estate ? { estate: options.estate } : {}),
    ...(options.inputs ? { inputs: options.inputs } : {}),
  })
  // As the API server's webhook backend sends them: batches of at most 400.
  for (let i = 0; i < traffic.events.length; i += BATCH)
    await enqueueAuditEvents(store, 'webhook', traffic.events.slice(i, i + BATCH))

  // The detectors `audit serve` builds without --falco-rules.
  const rules = loadAuditRules({ builtin: true, paths: [], cluster })
  const baselines = new Baselines({ learningMs: DEMO_LEARNING_DAYS * DAY })
  const found: Detection[] = []
  const consumer = new AuditConsumer({
    store,
    cluster,
    detectors: [{ name: 'plimsoll rules', evaluate: (e) => rules.evaluate(e) }],
    baselines,
    onDetections: (d) => found.push(...d),
  })
  await consumer.drain()

  // The silences the teams made during the week.
  const start = now - days * DAY
  await addSilence(
    store,
    {
      matchers: [
        'namespace="monitoring"',
        'rule=~"host-namespace-pod-created|sensitive-hostpath-pod-created"',
      ],
      startsAt: new Date(start + 9 * HOUR).toISOString(),
      endsAt: new Date(now + 24 * DAY).toISOString(),
      createdBy: 'alice@example.com',
      comment:
        "node-exporter on every new node: the host's network, PID namespace and /proc by design (PLAT-88)",
    },
    start + 9 * HOUR,
  )
  await addSilence(
    store,
    {
      matchers: ['namespace="data-pipeline"', 'rule="pod-exec-attach"'],
      startsAt: new Date(start + 2 * HOUR).toISOString(),
      endsAt: new Date(now - 2 * DAY - 5 * HOUR).toISOString(),
      createdBy: 'carol@example.com',
      comment: 'debugging stuck airflow tasks in the workers until DATA-231 (ephemeral containers) ships',
    },
    start + 2 * HOUR,
  )

  // The alert pipeline's week: each detection taken in when it happened, the flushes at their times.
  const config = parseAlertsConfig('alerts.yaml', DEMO_ALERTS_YAML)
  let clock = start
  const aggregator = new Aggregator(config, { now: () => clock })
  aggregator.setSilences(await currentSilences(store, start))
  const sent: Notification[] = []
  const ordered = found
    .map((d, i) => ({ d, i, t: Date.parse(d.time) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
  for (const { d, t } of ordered) {
    clock = Math.max(clock, t)
    sent.push(...aggregator.tick(clock))
    aggregator.ingest(d, clock)
  }
  clock = now
  sent.push(...aggregator.tick(now))
  const snapshot = aggregator.snapshot()

  // What the pipeline commits: the notifications, the marks, the state.
  await store.db.transaction().execute(async (trx) => {
    for (const n of sent) {
      const receiver = config.receivers.get(n.receiver)!
      const payload = JSON.stringify(n)
      const entries: NewOutboxEntry[] = integrationKeys(receiver.integrations).map((integration) => ({
        receiver: n.receiver,
        integration,
        groupKey: n.groupKey,
        payload,
      }))
      await insertOutbox(trx, entries, Date.parse(n.time))
    }
    await markAllAlerted(trx, cluster)
    await saveAlertState(trx, cluster, snapshot, now)
  })
  // The receiver took all but the last few, a fraction of a second after each was written.
  const rows = await store.db.selectFrom('alert_outbox').select(['id', 'created_at']).orderBy('id').execute()
  for (const r of rows.slice(0, Math.max(0, rows.length - PENDING)))
    await markDelivered(store, Number(r.id), Date.parse(r.created_at) + 180 + (Number(r.id) % 7) * 40)

  const noise = aggregator.noiseReport()
  const bySource: Record<string, number> = {}
  for (const d of found) bySource[d.source] = (bySource[d.source] ?? 0) + 1
  const { n: identities } = await store.db
    .selectFrom('audit_baselines')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('cluster', '=', cluster)
    .executeTakeFirstOrThrow()
  return {
    events: traffic.events.length,
    detections: consumer.counts.detections,
    bySource,
    alerts: noise.reduce((a, r) => a + r.alerts, 0),
    allowlisted: noise.reduce((a, r) => a + r.allowlisted, 0),
    rateLimited: noise.reduce((a, r) => a + r.rateLimited, 0),
    silenced: noise.reduce((a, r) => a + r.silenced, 0),
    groups: snapshot.groups.length,
    notifications: sent.length,
    pending: Math.min(PENDING, rows.length),
    silences: 2,
    identities: Number(identities),
    from: traffic.from,
    to: traffic.to,
    ms: Math.round(performance.now() - started),
  }
}
