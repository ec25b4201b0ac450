/**
 * A store with what the audit door leaves in it, made by the real parts: the rules' detections
 * (recordDetections, as the audit pipeline writes them), a Secret's audit event in the queue, and each
 * alert pipeline's state as a real Aggregator (fed those detections on an injected clock) snapshots it,
 * saved with saveAlertState. For the audit API's tests and the alerts page's.
 *
 * The timeline, before `now`: the prod pipeline took a `Delete Namespace` detection 20 minutes ago
 * (notified, resolved since), a burst a minute ago (Attach/Exec Pod 5 times by alice and once by bob,
 * twice by the allowlisted deployer; a Secret created; two anomalies, the second rate-limited), flushed
 * 15 s ago, and a `Create Privileged Pod` 10 s ago (its group has not flushed yet). bob was
 * silenced (in the aggregator) while his detection came. The dev pipeline took three Attach/Exec Pod by
 * carol two minutes ago.
 */
import { Aggregator } from '../../src/audit/alerts/aggregator.js'
import { parseAlertsConfig } from '../../src/audit/alerts/config.js'
import type { Detection } from '../../src/audit/types.js'
import { saveAlertState } from '../../src/store/alert-state.js'
import { recordDetections } from '../../src/store/audit-detections.js'
import { enqueueAuditEvents } from '../../src/store/audit-queue.js'
import type { Store } from '../../src/store/connect.js'
import { secretCreateEvent } from './audit-secret-events.js'

export const ALERTS_YAML = `
route:
  receiver: security-team
  group_by: [rule]
  group_wait: 30s
  group_interval: 1h
receivers:
  - name: security-team
    webhook_configs:
      - url: http://127.0.0.1:9/hook
allowlist:
  - matchers: ['user="system:serviceaccount:ci:deployer"']
    comment: the deploy pipeline
rate_limits:
  - matchers: ['source="anomaly"']
    max_alerts: 1
    per: 10m
`

export const DEPLOYER = 'system:serviceaccount:ci:deployer'
export const SECRET_RULE = 'Create/Modify Secret'
export const EXEC_RULE = 'Attach/Exec Pod'
export const ANOMALY_RULE = 'anomaly: first secrets list by identity'

/** What the fixture's noise per rule must be (prod only; dev adds 3 detections of EXEC_RULE). */
export const PROD_NOISE = {
  [EXEC_RULE]: { detections: 8, allowlisted: 2, deduped: 4, silenced: 1, alerts: 2, notifications: 1 },
  [SECRET_RULE]: { detections: 1, alerts: 1, notifications: 1 },
  [ANOMALY_RULE]: { detections: 2, rateLimited: 1, alerts: 1, notifications: 1 },
  'Delete Namespace': { detections: 1, alerts: 1, notifications: 1 },
  'Create Privileged Pod': { detections: 1, alerts: 1, notifications: 0 },
}

export interface Filled {
  /** the auditID of the Secret's event, kept in the queue */
  secretAuditID: string
  /** every detection, by cluster, in the order recorded */
  detections: { prod: Detection[]; dev: Detection[] }
}

function detection(
  rule: string,
  user: string,
  at: number,
  extra: Partial<Detection> & { labels?: Record<string, string> } = {},
): Detection {
  const source = extra.source ?? 'falco-rules'
  const priority = extra.priority ?? 'warning'
  return {
    rule,
    source,
    priority,
    output: `${rule} (user=${user})`,
    time: new Date(at).toISOString(),
    tags: ['k8s'],
    ...extra,
    labels: { rule, priority, source, user, ...extra.labels },
  }
}

export async function fillAuditStore(store: Store, now = Date.now()): Promise<Filled> {
  const config = parseAlertsConfig('alerts.yml', ALERTS_YAML)
  const secretEvent = secretCreateEvent()
  const secretAuditID = secretEvent.auditID!
  await enqueueAuditEvents(store, 'webhook', [secretEvent])

  // prod
  const prod = new Aggregator(config)
  const taken: Detection[] = []
  const take = (d: Detection, at: number) => {
    prod.ingest(d, at)
    taken.push(d)
  }
  let t = now - 20 * 60_000
  take(detection('Delete Namespace', 'alice', t, { priority: 'critical', labels: { verb: 'delete' } }), t)
  prod.tick(t + 31_000)
  t = now - 60_000
  prod.setSilences([
    {
      id: 'in-memory',
      matchers: [{ name: 'user', type: '=', value: 'bob' }],
      startsAt: new Date(t - 1000).toISOString(),
      endsAt: new Date(t + 5000).toISOString(),
      createdBy: 'test',
      comment: 'bob is testing',
    },
  ])
  const ns = { namespace: 'shop', name: 'web-0', verb: 'create', resource: 'pods' }
  for (let i = 0; i < 5; i++) take(detection(EXEC_RULE, 'alice', t, { labels: ns }), t++)
  take(detection(EXEC_RULE, 'bob', t, { labels: ns }), t++)
  for (let i = 0; i < 2; i++) take(detection(EXEC_RULE, DEPLOYER, t, { labels: ns }), t++)
  take(
    detection(SECRET_RULE, 'minikube-user', t, {
      priority: 'notice',
      auditID: secretAuditID,
      labels: { verb: 'create', resource: 'secrets', namespace: 'default', name: 'example-secret' },
    }),
    t++,
  )
  for (const user of ['carol', 'dave'])
    take(detection(ANOMALY_RULE, user, t, { source: 'anomaly', priority: 'notice' }), t++)
  prod.setSilences([])
  prod.tick(now - 15_000)
  take(detection('Create Privileged Pod', 'mallory', now - 10_000, { priority: 'critical' }), now - 10_000)

  // dev
  const dev = new Aggregator(config)
  const devTaken: Detection[] = []
  for (let i = 0; i < 3; i++) {
    // Their events have been pruned from the queue (audit serve --retention-hours).
    const d = detection(EXEC_RULE, 'carol', now - 120_000 + i, { labels: ns, auditID: `pruned-${i}` })
    dev.ingest(d, now - 120_000 + i)
    devTaken.push(d)
  }

  await store.db.transaction().execute(async (trx) => {
    await recordDetections(trx, 'prod', taken)
    await recordDetections(trx, 'dev', devTaken)
    await saveAlertState(trx, 'prod', prod.snapshot(), now - 5_000)
    await saveAlertState(trx, 'dev', dev.snapshot(), now - 100_000)
  })
  return { secretAuditID, detections: { prod: taken, dev: devTaken } }
}
