/**
 * Alerts: what the audit door found and what its alert pipelines made of it (`plimsoll audit serve`):
 * the open alert groups, detections per hour, the noise per rule (detections in, notifications out),
 * the identities most detections name, the recent detections with their audit events, and the
 * silences (admins add and expire them). Cluster and period are in the query string.
 */
import { useMemo } from 'react'
import { type AuditSummary, endpoints, type RuleNoiseView } from '../api'
import { AlertGroupsList } from '../components/AlertGroupsList'
import { Card } from '../components/Card'
import {
  ClusterPeriodFilters,
  clusterNames,
  periodOf,
  periodParam,
  useClusterPeriodView,
} from '../components/ClusterPeriodFilters'
import { DETECTIONS_PAGE_SIZE, Detections } from '../components/Detections'
import { Silences } from '../components/Silences'
import { Fetched } from '../components/Status'
import { Table } from '../components/Table'
import { type SeriesSpec, TimeSeriesChart } from '../components/TimeSeriesChart'
import { formatNumber, formatTime, plural } from '../format'
import { href, navigate } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

const PERIODS = [1, 7, 30]

interface AlertsView {
  cluster: string
  days: number
}

function alertsView(search: URLSearchParams): AlertsView {
  return { cluster: search.get('cluster') ?? '', days: periodOf(search, PERIODS) }
}

function alertsHref(view: AlertsView, change: Partial<AlertsView> = {}): string {
  const next = { ...view, ...change }
  return href('/alerts', { cluster: next.cluster, days: periodParam(next.days, PERIODS) })
}

/** Every hour of the window, `YYYY-MM-DDTHH`, as the API names them. */
function hoursFrom(since: string, days: number): string[] {
  const start = Date.parse(since)
  return Array.from({ length: days * 24 + 1 }, (_, i) =>
    new Date(start + i * 3_600_000).toISOString().slice(0, 13),
  )
}

function DetectionsOverTime({
  summary,
  since,
  days,
}: {
  summary: AuditSummary
  since: string
  days: number
}) {
  const x = useMemo(() => hoursFrom(since, days), [since, days])
  const series = useMemo<SeriesSpec[]>(() => {
    const byHour = new Map(summary.byHour.map((h) => [h.hour, h.detections]))
    return [{ label: 'Detections', color: 'var(--fail)', width: 2, values: x.map((h) => byHour.get(h) ?? 0) }]
  }, [summary, x])
  const total = summary.byHour.reduce((n, h) => n + h.detections, 0)
  if (total === 0) return <p className="empty">No detection in the last {plural(days, 'day')}.</p>
  const busiest = [...summary.byHour].sort(
    (a, b) => b.detections - a.detections || a.hour.localeCompare(b.hour),
  )[0]!
  const text =
    `${plural(total, 'detection')} in the last ${plural(days, 'day')}` +
    `; the busiest hour ${busiest.hour.slice(11, 13)}:00 UTC on ${busiest.hour.slice(0, 10)} (${formatNumber(busiest.detections)}).`
  return (
    <TimeSeriesChart
      title={`Detections per hour, last ${plural(days, 'day')}`}
      days={x}
      step="hour"
      series={series}
      summary={text}
      height={200}
    />
  )
}

const ratioText = (n: RuleNoiseView) =>
  n.notifications > 0 ? `${formatNumber(Math.round(n.ratio * 10) / 10)} : 1` : '—'

function NoiseTable({ summary }: { summary: AuditSummary }) {
  return (
    <Table
      caption="Noise per rule"
      testId="noise-table"
      columns={[
        'Rule',
        { label: 'Detections in', num: true },
        { label: 'Notifications out', num: true },
        { label: 'Detections per notification', num: true },
        { label: 'Deduped', num: true },
        { label: 'Silenced', num: true },
        { label: 'Rate-limited', num: true },
        { label: 'Allowlisted', num: true },
      ]}
      items={summary.noise}
      empty={
        <>
          No alert pipeline has saved its state: run <code>plimsoll audit serve --alerts alerts.yaml</code> (
          <span className="mono">docs/audit-alerts.md</span>).
        </>
      }
    >
      {(n) => (
        <tr key={n.rule} data-testid={`noise-${n.rule}`}>
          <th scope="row" className="cell-text">
            {n.rule}
          </th>
          <td className="num">{formatNumber(n.detections)}</td>
          <td className="num">{formatNumber(n.notifications)}</td>
          <td className="num">{ratioText(n)}</td>
          <td className="num">{formatNumber(n.deduped)}</td>
          <td className="num">{formatNumber(n.silenced)}</td>
          <td className="num">{formatNumber(n.rateLimited)}</td>
          <td className="num">{formatNumber(n.allowlisted)}</td>
        </tr>
      )}
    </Table>
  )
}

function TopIdentities({ summary }: { summary: AuditSummary }) {
  return (
    <Table
      caption="Top identities"
      testId="top-identities"
      columns={['Identity', { label: 'Detections', num: true }]}
      items={summary.topUsers}
      empty="No detection names an identity."
    >
      {(u) => (
        <tr key={u.user}>
          <th scope="row" className="cell-text mono small">
            {u.user}
          </th>
          <td className="num">{formatNumber(u.detections)}</td>
        </tr>
      )}
    </Table>
  )
}

/** Nothing recorded: how to start. */
function NoDetections() {
  return (
    <div className="empty teach" data-testid="alerts-empty">
      <p>
        No detections yet: run <code>plimsoll audit serve --store …</code> with the API server's audit webhook
        pointed at it (<span className="mono">docs/audit.md</span>).
      </p>
      <p className="muted">
        With <code>--falco-rules</code> (Falco's k8saudit rules), Plimsoll's built-in rules and{' '}
        <code>--alerts alerts.yaml</code>, each detection is stored here, grouped into alerts, and sent to
        your receivers; this page then shows the open alerts and how much noise each rule makes.
      </p>
    </div>
  )
}

function Freshness({ summary }: { summary: AuditSummary }) {
  if (summary.pipelines.length === 0) return null
  return (
    <p className="muted small" data-testid="alert-state-freshness">
      Alert state as last saved by{' '}
      {summary.pipelines.map((p, i) => (
        <span key={p.cluster}>
          {i > 0 && ', '}
          {p.cluster} at {formatTime(p.updatedAt)}
        </span>
      ))}
      .
    </p>
  )
}

export function AlertsPage() {
  usePageTitle('Alerts')
  const { view, since, cluster } = useClusterPeriodView(alertsView)
  const me = useApi(endpoints.me())
  const all = useApi(endpoints.auditSummary())
  const summary = useApi(endpoints.auditSummary({ cluster, since }), { keep: true })
  const groups = useApi(endpoints.alertGroups(cluster), { keep: true })
  const query = { cluster, since, limit: DETECTIONS_PAGE_SIZE }
  const detections = useApi(endpoints.detections(query))
  const ever = useApi(endpoints.detections({ limit: 1 }))
  const admin = me.data?.role === 'admin'
  const names = useMemo(
    () =>
      clusterNames(
        (all.data?.pipelines ?? []).map((p) => p.cluster),
        view.cluster,
      ),
    [all.data, view.cluster],
  )
  const go = (change: Partial<AlertsView>) => navigate(alertsHref(view, change))
  const nothingEver =
    ever.data !== undefined && ever.data.length === 0 && (all.data?.pipelines.length ?? 0) === 0

  return (
    <>
      <ClusterPeriodFilters
        title="Alerts"
        names={names}
        cluster={view.cluster}
        days={view.days}
        periods={PERIODS}
        onChange={go}
      />
      <p className="lead">
        What the audit rules found{view.cluster ? <> in {view.cluster}</> : null} and what the alert pipelines
        made of it: the alerts open now, how many detections each notification stands for, and who the
        detections name.
      </p>
      {nothingEver ? (
        <NoDetections />
      ) : (
        <>
          <section aria-labelledby="groups-title">
            <h2 id="groups-title">Open alert groups</h2>
            {summary.data && <Freshness summary={summary.data} />}
            <Fetched state={groups} loading="Loading the alert groups">
              {(g) => <AlertGroupsList groups={g.groups} showCluster={!view.cluster && names.length > 1} />}
            </Fetched>
          </section>
          <Fetched state={summary} loading="Loading the detections">
            {(s) => (
              <>
                <div className="grid cards-2">
                  <Card title="Detections over time">
                    <DetectionsOverTime summary={s} since={since} days={view.days} />
                  </Card>
                  <Card title="Top identities">
                    <TopIdentities summary={s} />
                  </Card>
                </div>
                <Card title="Noise per rule">
                  <p className="muted small" data-testid="noise-totals">
                    {plural(s.totals.detections, 'detection')} in,{' '}
                    {plural(s.totals.notifications, 'notification')} out, since each pipeline's state began.
                  </p>
                  <NoiseTable summary={s} />
                </Card>
              </>
            )}
          </Fetched>
          <section aria-labelledby="detections-title">
            <h2 id="detections-title">Recent detections</h2>
            <Fetched
              state={detections}
              loading="Loading the detections"
              isEmpty={(d) => d.length === 0}
              empty={<>No detection in the last {plural(view.days, 'day')}.</>}
            >
              {(first) => (
                <Detections
                  key={endpoints.detections(query).path}
                  first={first}
                  query={query}
                  showCluster={!view.cluster && names.length > 1}
                />
              )}
            </Fetched>
          </section>
        </>
      )}
      <section aria-labelledby="silences-title">
        <h2 id="silences-title">Silences</h2>
        <p className="muted small">
          A silence mutes the alerts its matchers match, in every pipeline, from its start to its end (as
          Alertmanager's).
          {!admin && ' Adding and expiring silences needs an admin token.'}
        </p>
        <Silences admin={admin} onChange={groups.reload} />
      </section>
    </>
  )
}
