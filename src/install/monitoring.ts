/**
 * Prometheus Operator objects and a Grafana dashboard for one part: a ServiceMonitor on its /metrics,
 * a PrometheusRule alerting on Plimsoll's own health (up, its error counters) and on new critical
 * findings, and the dashboard in a ConfigMap labelled grafana_dashboard (Grafana's sidecar loads it).
 * Every metric named here is one Plimsoll exports: src/server/metrics.ts (plimsoll_open_findings,
 * plimsoll_watch_synced), src/webhook/server.ts (plimsoll_webhook_*), src/audit/ingest/receiver.ts
 * (plimsoll_audit_*).
 */
import { labelsOf, type Obj } from './pod.js'

export type Part = 'server' | 'watcher' | 'webhook' | 'audit'

export interface MonitoringOptions {
  namespace: string
  component: string
  /** the Service whose port `https` serves /metrics */
  service: string
  parts: readonly Part[]
}

/** key `token`: a viewer token (`plimsoll token create --role viewer`): the server's /metrics asks for one */
export const METRICS_TOKEN_SECRET = 'plimsoll-metrics-token'
const TLS_SECRET = 'plimsoll-tls'

interface Alert {
  alert: string
  expr: string
  for: string
  labels: { severity: string }
  annotations: { summary: string }
}

function alertsOf(part: Part, job: string): Alert[] {
  const sel = `job="${job}"`
  switch (part) {
    case 'server':
      return [
        {
          alert: 'PlimsollNewCriticalFindings',
          expr: `sum(plimsoll_open_findings{${sel},severity="critical"}) > sum(plimsoll_open_findings{${sel},severity="critical"} offset 15m)`,
          for: '0m',
          labels: { severity: 'critical' },
          annotations: { summary: 'More critical findings are open than 15 minutes ago' },
        },
      ]
    case 'watcher':
      return [
        {
          alert: 'PlimsollWatcherNotSynced',
          expr: `max by (cluster) (plimsoll_watch_synced{${sel}}) == 0`,
          for: '15m',
          labels: { severity: 'warning' },
          annotations: {
            summary:
              'The watcher of {{ $labels.cluster }} has not listed every kind: its findings are not whole',
          },
        },
      ]
    case 'webhook':
      return [
        {
          alert: 'PlimsollWebhookErrors',
          expr: `sum(rate(plimsoll_webhook_reviews_total{${sel},outcome="error"}[5m])) / sum(rate(plimsoll_webhook_reviews_total{${sel}}[5m])) > 0.01`,
          for: '10m',
          labels: { severity: 'warning' },
          annotations: { summary: 'More than 1% of admission reviews end in an error' },
        },
        {
          alert: 'PlimsollWebhookSlow',
          expr: `histogram_quantile(0.99, sum by (le) (rate(plimsoll_webhook_review_seconds_bucket{${sel}}[5m]))) > 0.1`,
          for: '10m',
          labels: { severity: 'warning' },
          annotations: { summary: 'The webhook takes over 100 ms at p99 (the API server waits for it)' },
        },
      ]
    case 'audit':
      return [
        {
          alert: 'PlimsollAuditRejecting',
          expr: `sum(rate(plimsoll_audit_rejected_requests_total{${sel}}[5m])) > 0`,
          for: '15m',
          labels: { severity: 'warning' },
          annotations: { summary: 'The audit receiver refuses batches (see the reason label)' },
        },
      ]
  }
}

function panel(id: number, title: string, expr: string, legend: string, y: number, x: number): Obj {
  return {
    id,
    type: 'timeseries',
    title,
    // Grafana's own variable syntax, not a template string.
    datasource: { type: 'prometheus', uid: ['$', '{datasource}'].join('') },
    gridPos: { h: 8, w: 12, x, y },
    targets: [{ refId: 'A', expr, legendFormat: legend }],
  }
}

function panelsOf(part: Part, job: string): [string, string, string][] {
  const sel = `job="${job}"`
  switch (part) {
    case 'server':
      return [
        ['Open findings by severity', `sum by (severity) (plimsoll_open_findings{${sel}})`, '{{severity}}'],
      ]
    case 'watcher':
      return [['Watcher synced', `plimsoll_watch_synced{${sel}}`, '{{cluster}}']]
    case 'webhook':
      return [
        [
          'Admission reviews by outcome',
          `sum by (outcome) (rate(plimsoll_webhook_reviews_total{${sel}}[5m]))`,
          '{{outcome}}',
        ],
        [
          'Review latency p99',
          `histogram_quantile(0.99, sum by (le) (rate(plimsoll_webhook_review_seconds_bucket{${sel}}[5m])))`,
          'p99',
        ],
      ]
    case 'audit':
      return [
        ['Audit batches', `sum(rate(plimsoll_audit_batches_total{${sel}}[5m]))`, 'batches/s'],
        [
          'Refused requests by reason',
          `sum by (reason) (rate(plimsoll_audit_rejected_requests_total{${sel}}[5m]))`,
          '{{reason}}',
        ],
      ]
  }
}

export function dashboardOf(options: MonitoringOptions): Obj {
  const job = options.service
  const rows: [string, string, string][] = [
    ['Up', `up{job="${job}"}`, '{{pod}}'],
    ...options.parts.flatMap((p) => panelsOf(p, job)),
  ]
  return {
    title: `Plimsoll (${options.component})`,
    uid: `plimsoll-${options.component}`,
    schemaVersion: 39,
    tags: ['plimsoll'],
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' }],
    },
    panels: rows.map(([title, expr, legend], i) =>
      panel(i + 1, title, expr, legend, Math.floor(i / 2) * 8, (i % 2) * 12),
    ),
  }
}

export function monitoringObjects(options: MonitoringOptions): Obj[] {
  const { namespace, component, service } = options
  const labels = labelsOf(component)
  const job = service
  const serverPart = options.parts.includes('server')
  const endpoint: Obj = {
    port: 'https',
    path: '/metrics',
    scheme: 'https',
    interval: '30s',
    tlsConfig: {
      ca: { secret: { name: TLS_SECRET, key: 'ca.crt' } },
      serverName: `${service}.${namespace}.svc`,
    },
    ...(serverPart
      ? { authorization: { type: 'Bearer', credentials: { name: METRICS_TOKEN_SECRET, key: 'token' } } }
      : {}),
  }
  const alerts: Alert[] = [
    {
      alert: 'PlimsollDown',
      expr: `up{job="${job}"} == 0 or absent(up{job="${job}"})`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: { summary: `Prometheus cannot scrape ${service} in ${namespace}` },
    },
    ...options.parts.flatMap((p) => alertsOf(p, job)),
  ]
  return [
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: service, namespace, labels },
      spec: {
        selector: { matchLabels: labels },
        namespaceSelector: { matchNames: [namespace] },
        endpoints: [endpoint],
      },
    },
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: service, namespace, labels },
      spec: { groups: [{ name: `plimsoll-${component}`, rules: alerts }] },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `${service}-dashboard`,
        namespace,
        labels: { ...labels, grafana_dashboard: '1' },
      },
      data: { [`plimsoll-${component}.json`]: `${JSON.stringify(dashboardOf(options), null, 2)}\n` },
    },
  ]
}
