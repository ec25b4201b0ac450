/** The posture now: score, open findings by severity, the trend, and where the findings are. */
import { useMemo } from 'react'
import { endpoints, SEVERITIES, type Summary, type TrendPoint } from '../api'
import { Card } from '../components/Card'
import { CheckRowHeader } from '../components/Links'
import { SeverityBadge } from '../components/SeverityBadge'
import { Fetched } from '../components/Status'
import { Table } from '../components/Table'
import { TargetSelect } from '../components/TargetSelect'
import { type SeriesSpec, TimeSeriesChart } from '../components/TimeSeriesChart'
import { explorerHref } from '../explorer'
import { capitalize, formatNumber, formatPercent, plural } from '../format'
import { href, Link, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

function ScoreCard({ summary: s }: { summary: Summary }) {
  return (
    <Card title="Score" className="score-card">
      <p className="big-number" data-testid="score">
        {formatPercent(s.score)}
      </p>
      <p className="muted">
        of {plural(s.applied, 'evaluation')} (check × resource
        {s.vulnerabilities.images > 0 ? ', and one per scanned image' : ''}) pass; {formatNumber(s.failed)}{' '}
        fail.
      </p>
    </Card>
  )
}

function SeverityCounts({ summary: s, target }: { summary: Summary; target: string }) {
  const total = SEVERITIES.reduce((n, sev) => n + (s.open[sev] ?? 0), 0)
  return (
    <Card title="Open findings">
      <p className="big-number">
        <Link to={explorerHref({ target })}>{formatNumber(total)}</Link>
      </p>
      <ul className="severity-counts">
        {SEVERITIES.map((sev) => (
          <li key={sev}>
            <Link to={explorerHref({ severity: [sev], target })} aria-label={`${s.open[sev] ?? 0} ${sev}`}>
              <span className="count">{formatNumber(s.open[sev] ?? 0)}</span> <SeverityBadge severity={sev} />
            </Link>
          </li>
        ))}
      </ul>
    </Card>
  )
}

/** Imported image scans: shown once there are any (`plimsoll import`). */
function VulnerabilityCounts({ summary: s, target }: { summary: Summary; target: string }) {
  const v = s.vulnerabilities
  if (v.images === 0) return null
  const link = (q: Record<string, string>) => href('/vulnerabilities', { target, ...q })
  return (
    <Card title="Vulnerabilities">
      <ul data-testid="overview-vulnerabilities">
        <li>
          <Link to={link({})}>{plural(v.open, 'open vulnerability', 'open vulnerabilities')}</Link>,{' '}
          <Link to={link({ fixable: 'yes' })}>{formatNumber(v.fixable)} with a fix</Link>
        </li>
        <li>
          {plural(v.failingImages, 'image')} of {formatNumber(v.images)} scanned need a critical or high fix
        </li>
        <li>
          <span data-testid="overview-vulnerabilities-overdue">
            {plural(v.overdue, 'fixable critical or high', 'fixable critical or high')}
          </span>{' '}
          open over {v.overdueDays} days
        </li>
      </ul>
    </Card>
  )
}

const TREND_SERIES: {
  key: 'open' | (typeof SEVERITIES)[number]
  label: string
  color: string
  width?: number
}[] = [
  { key: 'open', label: 'All open', color: 'var(--fg)', width: 3 },
  { key: 'critical', label: 'Critical', color: 'var(--sev-critical)' },
  { key: 'high', label: 'High', color: 'var(--sev-high)' },
  { key: 'medium', label: 'Medium', color: 'var(--sev-medium)' },
  { key: 'low', label: 'Low', color: 'var(--sev-low)' },
  { key: 'info', label: 'Info', color: 'var(--sev-info)' },
]

function Trend({ points }: { points: TrendPoint[] }) {
  const days = useMemo(() => points.map((p) => p.day), [points])
  const series = useMemo<SeriesSpec[]>(
    () =>
      TREND_SERIES.map((s) => ({
        label: s.label,
        color: s.color,
        ...(s.width ? { width: s.width } : {}),
        values: points.map((p) => (s.key === 'open' ? p.open : p.bySeverity[s.key])),
      })),
    [points],
  )
  const first = points[0]
  const last = points[points.length - 1]
  if (!first || !last) return <p className="empty">No runs recorded yet.</p>
  const delta = last.open - first.open
  const summary = `Open findings went from ${formatNumber(first.open)} on ${first.day} to ${formatNumber(last.open)} on ${last.day} (${delta === 0 ? 'no change' : `${delta > 0 ? 'up' : 'down'} ${formatNumber(Math.abs(delta))}`}); ${formatNumber(last.bySeverity.critical)} critical and ${formatNumber(last.bySeverity.high)} high now.`
  return (
    <TimeSeriesChart
      title="Open findings over the last 30 days"
      days={days}
      series={series}
      summary={summary}
    />
  )
}

function TopChecks({ summary: s, target }: { summary: Summary; target: string }) {
  return (
    <Card title="Top failing checks">
      <Table
        caption="Top failing checks"
        columns={['Check', 'Severity', { label: 'Open', num: true }]}
        items={s.topChecks}
        empty="No open findings."
      >
        {(c) => (
          <tr key={c.checkId}>
            <CheckRowHeader id={c.checkId} title={c.title} />
            <td>
              <SeverityBadge severity={c.severity} />
            </td>
            <td className="num">
              <Link
                to={explorerHref({ check: [c.checkId], target })}
                aria-label={`${c.open} open: ${c.checkId}`}
              >
                {formatNumber(c.open)}
              </Link>
            </td>
          </tr>
        )}
      </Table>
    </Card>
  )
}

function TopNamespaces({ summary: s, target }: { summary: Summary; target: string }) {
  const scores = new Map(s.byNamespace.map((n) => [n.namespace, n.score]))
  return (
    <Card title="Top failing namespaces">
      <Table
        caption="Top failing namespaces"
        columns={['Namespace', { label: 'Score', num: true }, { label: 'Open', num: true }]}
        items={s.topNamespaces}
        empty="No open findings."
      >
        {(n) => (
          <tr key={n.namespace}>
            <th scope="row" className="cell-text">
              {n.namespace ? (
                <Link to={explorerHref({ namespace: [n.namespace], target })}>{n.namespace}</Link>
              ) : (
                '(cluster-scoped)'
              )}
            </th>
            <td className="num">{scores.has(n.namespace) ? formatPercent(scores.get(n.namespace)!) : '–'}</td>
            <td className="num">{formatNumber(n.open)}</td>
          </tr>
        )}
      </Table>
    </Card>
  )
}

function ScoreList({
  title,
  items,
}: {
  title: string
  items: { key: string; label: string; score: number; to?: string }[]
}) {
  return (
    <Card title={title}>
      <ul className="score-list">
        {items.map((i) => (
          <li key={i.key}>
            <span className="score-label">{i.to ? <Link to={i.to}>{i.label}</Link> : i.label}</span>
            <meter
              min={0}
              max={100}
              low={80}
              high={95}
              optimum={100}
              value={i.score}
              aria-label={`${i.label} score`}
            />
            <span className="num">{formatPercent(i.score)}</span>
          </li>
        ))}
      </ul>
    </Card>
  )
}

export function OverviewPage() {
  usePageTitle('Overview')
  const { search } = useLocation()
  const target = search.get('target') ?? ''
  const summary = useApi(endpoints.summary(target || undefined), { keep: true })
  const trends = useApi(endpoints.trends(30, target || undefined), { keep: true })

  return (
    <>
      <div className="page-head">
        <h1>Overview</h1>
        <TargetSelect
          value={target}
          targets={summary.data?.targets ?? []}
          onChange={(t) => navigate(href('/', { target: t }))}
        />
      </div>
      <Fetched state={summary} loading="Loading the posture">
        {(s) => (
          <>
            <div className="grid cards-3">
              <ScoreCard summary={s} />
              <SeverityCounts summary={s} target={target} />
              <ScoreList
                title="Frameworks"
                items={s.byFramework.map((f) => ({
                  key: f.id,
                  label: f.title.replace(/\s*\(.*\)$/, ''),
                  score: f.score,
                  to: href(`/compliance/${f.id}`, { target }),
                }))}
              />
            </div>
            <Card title="Trend">
              <Fetched state={trends} loading="Loading the trend">
                {(points) => <Trend points={points} />}
              </Fetched>
            </Card>
            <VulnerabilityCounts summary={s} target={target} />
            <div className="grid cards-2">
              <TopChecks summary={s} target={target} />
              <TopNamespaces summary={s} target={target} />
            </div>
            <ScoreList
              title="Categories"
              items={s.byCategory.map((c) => ({
                key: c.category,
                label: capitalize(c.category),
                score: c.score,
              }))}
            />
          </>
        )}
      </Fetched>
    </>
  )
}
