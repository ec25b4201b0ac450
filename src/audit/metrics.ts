/**
 * `audit serve`'s own counters beside the receiver's (at the same /metrics): what the rules did with the
 * queued events, what the alert pipeline made of the detections, and what waits in the outbox. Read from
 * the parts' counts when Prometheus scrapes, so the parts know nothing of prom-client.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import { countPendingOutbox } from '../store/alerts.js'
import type { Store } from '../store/connect.js'
import type { PipelineCounts } from './alerts/pipeline.js'
import type { ConsumerCounts } from './pipeline.js'

export interface AuditMetricSources {
  readonly consumer: { readonly counts: ConsumerCounts }
  readonly alerts?: { readonly counts: PipelineCounts }
  /** Falco runtime alerts accepted at /falco, and the entries of those posts that were not alerts */
  readonly falco: { readonly counts: { accepted: number; skipped: number } }
  readonly store: Store
}

/** A counter whose value is read from `value()` at each scrape. */
function readCounter(registry: Registry, name: string, help: string, value: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset()
      this.inc(value())
    },
  })
}

export function registerAuditMetrics(registry: Registry, from: AuditMetricSources): void {
  readCounter(
    registry,
    'plimsoll_audit_events_processed_total',
    'Queued audit events evaluated by every detector (once each, whatever restarts)',
    () => from.consumer.counts.events,
  )
  readCounter(
    registry,
    'plimsoll_audit_detections_total',
    'Detections recorded by the rules and the baselines',
    () => from.consumer.counts.detections,
  )
  readCounter(
    registry,
    'plimsoll_audit_detector_errors_total',
    'Events a detector failed on (the event goes on to the others and is marked processed)',
    () => from.consumer.counts.detectorErrors,
  )
  readCounter(
    registry,
    'plimsoll_audit_falco_alerts_total',
    'Falco runtime alerts accepted at /falco and recorded as detections',
    () => from.falco.counts.accepted,
  )
  readCounter(
    registry,
    'plimsoll_audit_falco_skipped_total',
    'Entries posted to /falco that were not Falco alerts (counted, skipped)',
    () => from.falco.counts.skipped,
  )
  const alerts = from.alerts
  if (!alerts) return
  readCounter(
    registry,
    'plimsoll_alert_detections_total',
    'Detections taken in by the alert pipeline (the noise ratio is this over notifications)',
    () => alerts.counts.detections,
  )
  readCounter(
    registry,
    'plimsoll_alert_notifications_total',
    'Notifications written to the outbox',
    () => alerts.counts.notifications,
  )
  readCounter(
    registry,
    'plimsoll_alert_failed_passes_total',
    'Alert pipeline passes the store refused (taken again at the next pass)',
    () => alerts.counts.failedPasses,
  )
  new Gauge({
    name: 'plimsoll_alert_outbox_pending',
    help: 'Notifications written and not yet accepted by their receiver (a receiver that is down)',
    registers: [registry],
    async collect() {
      this.set(await countPendingOutbox(from.store).catch(() => Number.NaN))
    },
  })
}
