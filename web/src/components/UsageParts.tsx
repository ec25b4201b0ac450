/**
 * What the usage pages (Utilisation, Rightsizing, Cost) share: their tabs, the cluster choice, units
 * (cores, bytes, money), the notice of a partial snapshot with its gaps, the empty state that says how
 * to record usage, a snapshot's time as the x of a plot, and the percentile plot of a container.
 */
import { type ReactNode, useMemo } from 'react'
import { endpoints, type ResourceEvidence, type UsageSnapshotView } from '../api'
import { formatTime } from '../format'
import { href, Link, useLocation } from '../router'
import { useApi } from '../useApi'
import { clusterNames } from './ClusterPeriodFilters'
import { plainOptions, SelectField } from './SelectField'
import { type SeriesSpec, TimeSeriesChart } from './TimeSeriesChart'

export const MIB = 1024 * 1024
export const GIB = 1024 * MIB

const trim = (n: number, digits: number) => String(Number(n.toFixed(digits)))

/** 0.42 -> "420m", 5.5738 -> "5.57 cores" */
export function formatCores(cores: number): string {
  if (cores === 0) return '0'
  if (Math.abs(cores) < 1) return `${trim(cores * 1000, 0)}m`
  return `${trim(cores, 2)} ${Math.abs(cores) === 1 ? 'core' : 'cores'}`
}

/** 805306368 -> "768 MiB", 48318382080 -> "45 GiB" */
export function formatBytes(bytes: number): string {
  if (bytes === 0) return '0'
  if (Math.abs(bytes) >= GIB) return `${trim(bytes / GIB, 2)} GiB`
  return `${trim(bytes / MIB, 0)} MiB`
}

export function formatResource(resource: 'cpu' | 'memory', value: number): string {
  return resource === 'cpu' ? formatCores(value) : formatBytes(value)
}

/** `$1,234.57` in the sheet's currency (a label: no conversion is done). */
export function formatMoney(amount: number, currency = 'USD'): string {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).format(amount)
  } catch {
    return `${amount.toFixed(2)} ${currency}`
  }
}

export const formatShare = (part: number, whole: number): string =>
  whole > 0 ? `${trim((part / whole) * 100, 1)}%` : '—'

/** The tabs of the usage pages, keeping the cluster chosen. */
export function UsageTabs({ cluster }: { cluster: string }) {
  const { pathname } = useLocation()
  const tabs = [
    { to: '/usage', label: 'Utilisation' },
    { to: '/usage/rightsizing', label: 'Rightsizing' },
    { to: '/usage/cost', label: 'Cost' },
  ]
  return (
    <nav aria-label="Usage" className="tabs">
      <ul>
        {tabs.map((t) => (
          <li key={t.to}>
            <Link to={href(t.to, { cluster })} aria-current={pathname === t.to ? 'page' : undefined}>
              {t.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  )
}

/** Nothing recorded: how to record usage. */
export function NoUsage() {
  return (
    <div className="empty teach" data-testid="usage-empty">
      <p>
        No usage recorded yet: run <code>plimsoll usage --prometheus URL --store …</code> (
        <span className="mono">docs/usage.md</span>).
      </p>
      <p className="muted">
        Each run with <code>--store</code> (the same store as this server's) records a snapshot of one
        cluster: what its containers requested and used over the window (from the Prometheus that scrapes
        cAdvisor and kube-state-metrics), the recommended requests and limits, and what it cost. Run it on a
        schedule (a CronJob, daily) and these pages show the trends.
      </p>
    </div>
  )
}

/** A snapshot whose collection missed something: what, and what it leaves out. */
export function GapsNotice({ snapshot }: { snapshot: UsageSnapshotView }) {
  if (!snapshot.partial) return null
  return (
    <div className="notice usage-gaps" role="note" data-testid={`usage-gaps-${snapshot.cluster}`}>
      <p>
        <strong>Partial snapshot</strong> of {snapshot.cluster}, taken {formatTime(snapshot.takenAt)}: the
        collection could not read everything, and the figures that depend on it are missing.
      </p>
      <ul>
        {snapshot.gaps.map((g) => (
          <li key={`${g.what}|${g.message}`}>
            <strong>{g.what}</strong>: {g.message}
          </li>
        ))}
      </ul>
    </div>
  )
}

/** The notices of the partial ones among snapshots. */
export function Gaps({ snapshots }: { snapshots: readonly UsageSnapshotView[] }) {
  return (
    <>
      {snapshots.map((s) => (
        <GapsNotice key={s.id} snapshot={s} />
      ))}
    </>
  )
}

/** The notices of the partial ones among the latest snapshots, then a line saying what each is. */
export function LatestSnapshots({ snapshots }: { snapshots: readonly UsageSnapshotView[] }) {
  return (
    <>
      <Gaps snapshots={snapshots} />
      <p className="muted small">
        {snapshots.map((s) => (
          <span key={s.id} className="snapshot-line">
            Latest snapshot of <SnapshotLine snapshot={s} />.{' '}
          </span>
        ))}
      </p>
    </>
  )
}

/** "Latest snapshot of prod: 2026-12-06 16:00 UTC, over 7 days (strategy simple)." */
export function SnapshotLine({ snapshot }: { snapshot: UsageSnapshotView }) {
  const days = snapshot.windowHours / 24
  return (
    <>
      {snapshot.cluster}: {formatTime(snapshot.takenAt)}, over{' '}
      {days >= 1 ? `${trim(days, 1)} days` : `${trim(snapshot.windowHours, 1)} hours`} ({snapshot.containers}{' '}
      containers, {snapshot.nodes} nodes, strategy <span className="mono">{snapshot.strategy}</span>)
    </>
  )
}

/**
 * The x of a plot of snapshots: their UTC hours (`YYYY-MM-DDTHH`), the last snapshot of an hour
 * standing for it; `pick` gives each point's values.
 */
export function byHour<P extends { takenAt: string }>(
  points: readonly P[],
): { hours: string[]; points: P[] } {
  const last = new Map<string, P>()
  for (const p of points) last.set(p.takenAt.slice(0, 13), p)
  const sorted = [...last].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return { hours: sorted.map(([h]) => h), points: sorted.map(([, p]) => p) }
}

/**
 * A plot of snapshots (x: their hours, from byHour); with fewer than two there is no line to draw, so
 * the figures are said in words instead.
 */
export function SnapshotChart({
  title,
  hours,
  series,
  summary,
  height = 220,
  tooFew = <>A plot needs two snapshots or more: record one a day to see the trend.</>,
}: {
  title: string
  hours: string[]
  series: SeriesSpec[]
  summary: string
  height?: number
  /** what to say instead of a plot of fewer than two points */
  tooFew?: ReactNode
}) {
  if (hours.length >= 2)
    return (
      <TimeSeriesChart
        title={title}
        days={hours}
        step="hour"
        series={series}
        summary={summary}
        height={height}
      />
    )
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <p className="chart-summary" role="img" aria-label={`${title}: ${summary}`}>
        {summary}
      </p>
      <p className="muted small">{tooFew}</p>
    </figure>
  )
}

/**
 * The clusters the usage pages choose from (those with snapshots, and the chosen one: `clusterNames`),
 * and whether nothing is recorded at all (then a page shows NoUsage).
 */
export function useUsageClusters(chosen: string): { clusters: string[]; nothing: boolean } {
  const snapshots = useApi(endpoints.usageSnapshots({ limit: 1000 }))
  const clusters = useMemo(
    () =>
      clusterNames(
        (snapshots.data ?? []).map((s) => s.cluster),
        chosen,
      ),
    [snapshots.data, chosen],
  )
  return { clusters, nothing: snapshots.data !== undefined && snapshots.data.length === 0 }
}

/**
 * The usage pages' heading: title, filters (the Cluster's first, only where there is a choice:
 * `clusters` from useUsageClusters), tabs.
 */
export function UsageHead({
  title,
  cluster,
  clusters,
  onCluster,
  filters,
}: {
  title: string
  /** the chosen cluster; '' for all */
  cluster: string
  clusters: readonly string[]
  onCluster: (cluster: string) => void
  /** the page's other filters */
  filters?: ReactNode
}) {
  const clusterFilter = (clusters.length > 1 || cluster !== '') && (
    <SelectField
      label="Cluster"
      inline
      all="All clusters"
      value={cluster}
      options={plainOptions(clusters)}
      onChange={onCluster}
    />
  )
  return (
    <>
      <div className="page-head">
        <h1>{title}</h1>
        {(clusterFilter || filters) && (
          <div className="filter-row">
            {clusterFilter}
            {filters}
          </div>
        )}
      </div>
      <UsageTabs cluster={cluster} />
    </>
  )
}

const W = 260
const BAR_Y = 16
const BAR_H = 12

/**
 * One resource of one container as a plot: its usage's p50, p95, p99 and maximum as stacked bars, and
 * its request (solid), limit (dashed) and the recommended request (green) as marks on the same scale;
 * the figures beside it in words.
 */
export function PercentilePlot({
  resource,
  evidence,
  testId,
}: {
  resource: 'cpu' | 'memory'
  evidence: ResourceEvidence
  testId?: string
}) {
  const f = (v: number) => formatResource(resource, v)
  const u = evidence.usage
  const rec = evidence.recommended
  const top = Math.max(
    u?.max ?? 0,
    evidence.request ?? 0,
    evidence.limit ?? 0,
    rec.request ?? 0,
    rec.limit ?? 0,
    rec.upper ?? 0,
  )
  const x = (v: number) => (top > 0 ? (v / top) * (W - 8) + 4 : 4)
  const name = resource === 'cpu' ? 'CPU' : 'Memory'
  const usageText = u
    ? `p50 ${f(u.p50)}, p95 ${f(u.p95)}, p99 ${f(u.p99)}, max ${f(u.max)}`
    : 'no usage series in the window'
  const current = `request ${evidence.request === null ? 'none' : f(evidence.request)}, limit ${evidence.limit === null ? 'none' : f(evidence.limit)}`
  const recommended =
    rec.request === null && rec.limit === null
      ? 'no recommendation'
      : `recommended request ${rec.request === null ? 'none' : f(rec.request)}, limit ${rec.limit === null ? 'none' : f(rec.limit)}`
  const label = `${name}: ${usageText}; ${current}; ${recommended}`
  const segments = u
    ? [
        { from: 0, to: u.p50, cls: 'pct-p50', label: 'p50' },
        { from: u.p50, to: u.p95, cls: 'pct-p95', label: 'p95' },
        { from: u.p95, to: u.p99, cls: 'pct-p99', label: 'p99' },
        { from: u.p99, to: u.max, cls: 'pct-max', label: 'max' },
      ]
    : []
  return (
    <figure className="percentile-plot" data-testid={testId}>
      <svg viewBox={`0 0 ${W} 40`} width={W} height={40} role="img" aria-label={label}>
        <rect x={4} y={BAR_Y} width={W - 8} height={BAR_H} className="pct-track" />
        {segments.map((s) => (
          <rect
            key={s.label}
            x={x(s.from)}
            y={BAR_Y}
            width={Math.max(0, x(s.to) - x(s.from))}
            height={BAR_H}
            className={s.cls}
          />
        ))}
        {evidence.request !== null && (
          <line x1={x(evidence.request)} x2={x(evidence.request)} y1={8} y2={36} className="pct-request" />
        )}
        {evidence.limit !== null && (
          <line x1={x(evidence.limit)} x2={x(evidence.limit)} y1={8} y2={36} className="pct-limit" />
        )}
        {rec.request !== null && (
          <>
            <line x1={x(rec.request)} x2={x(rec.request)} y1={6} y2={38} className="pct-recommended" />
            <path
              d={`M${x(rec.request) - 4} 2 L${x(rec.request) + 4} 2 L${x(rec.request)} 8 Z`}
              className="pct-recommended-mark"
            />
          </>
        )}
      </svg>
      <figcaption className="small">
        <span className="muted">{name}</span> {usageText}
        <br />
        <span className="muted">now</span> {current}
        <br />
        <span className="muted">→</span> <span className="recommended-text">{recommended}</span>
      </figcaption>
    </figure>
  )
}

/** The legend of the percentile plots. */
export function PercentileLegend() {
  return (
    <p className="small percentile-legend" aria-hidden="true">
      <span className="swatch pct-p50" /> p50 <span className="swatch pct-p95" /> p95{' '}
      <span className="swatch pct-p99" /> p99 <span className="swatch pct-max" /> max{' '}
      <span className="mark pct-request-mark" /> request <span className="mark pct-limit-mark" /> limit{' '}
      <span className="mark pct-recommended-legend" /> recommended request
    </p>
  )
}
