/**
 * Cost (`/usage/cost`): what the latest snapshots cost a month (OpenCost's model: the nodes, the
 * workloads' allocation, idle = nodes - workloads), the waste (requests above the recommendations) and
 * the savings, per namespace or team, and how they moved from snapshot to snapshot. Cluster and grouping
 * are in the query string.
 */
import { useMemo } from 'react'
import { endpoints, USAGE_COST_GROUPS, type UsageCost, type UsageCostGroup } from '../api'
import { Card } from '../components/Card'
import { SelectField } from '../components/SelectField'
import { Fetched } from '../components/Status'
import { Table } from '../components/Table'
import type { SeriesSpec } from '../components/TimeSeriesChart'
import {
  byHour,
  formatMoney,
  formatShare,
  LatestSnapshots,
  NoUsage,
  SnapshotChart,
  UsageHead,
  useUsageClusters,
} from '../components/UsageParts'
import { formatNumber } from '../format'
import { href, Link, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

interface CostView {
  cluster: string
  by: UsageCostGroup
}

function costView(search: URLSearchParams): CostView {
  const by = search.get('by') as UsageCostGroup | null
  return { cluster: search.get('cluster') ?? '', by: by && USAGE_COST_GROUPS.includes(by) ? by : 'namespace' }
}

function costHref(view: CostView, change: Partial<CostView> = {}): string {
  const next = { ...view, ...change }
  return href('/usage/cost', { cluster: next.cluster, by: next.by === 'namespace' ? undefined : next.by })
}

const GROUP_COLOURS = [
  'var(--accent)',
  'var(--sev-high)',
  'var(--excepted)',
  'var(--sev-medium)',
  'var(--pass)',
]

function Totals({ data }: { data: UsageCost }) {
  const c = data.currency
  const t = data.totals
  const figure = (id: string, label: string, value: number | null, note: string) => (
    <div className="cost-figure">
      <p className="big-number" data-testid={`cost-${id}`}>
        {value === null ? '—' : formatMoney(value, c)}
      </p>
      <p className="muted small">
        {label}
        {note && <>: {note}</>}
      </p>
    </div>
  )
  return (
    <Card title="A month at this rate">
      <div className="cost-figures">
        {figure('nodes', 'Nodes', t.nodes, t.nodes === null ? 'no node was read' : 'capacity x price')}
        {figure('workloads', 'Workloads', t.workloads, 'max(request, usage) x price')}
        {figure(
          'idle',
          'Idle',
          t.idle,
          t.idle === null || t.nodes === null
            ? 'unknown without the nodes'
            : `${formatShare(t.idle, t.nodes)} of the nodes`,
        )}
        {figure('waste', 'Waste', t.waste, 'requests above the recommendations')}
        {figure('savings', 'Savings', t.savings, 'if the recommendations were applied')}
      </div>
    </Card>
  )
}

function Groups({ data, view }: { data: UsageCost; view: CostView }) {
  const c = data.currency
  const showCluster = data.by === 'namespace' && data.snapshots.length > 1
  const total = data.totals.workloads
  return (
    <Table
      caption={`Cost per ${data.by}`}
      columns={[
        data.by === 'namespace' ? 'Namespace' : 'Team',
        ...(showCluster ? ['Cluster'] : []),
        { label: 'Containers', num: true },
        { label: 'Cost / month', num: true },
        { label: 'Share', num: true },
        { label: 'Waste / month', num: true },
        { label: 'Savings / month', num: true },
      ]}
      items={data.groups}
      testId="cost-groups"
      empty="No container in the latest snapshots."
    >
      {(g) => (
        <tr key={`${g.cluster}/${g.key}`} data-testid={`cost-group-${g.key}`}>
          <th scope="row" className="cell-text">
            <Link
              to={href('/usage/rightsizing', {
                cluster: g.cluster ?? view.cluster,
                ...(data.by === 'namespace' ? { namespace: g.key } : { team: g.key }),
              })}
            >
              {g.key === '__unallocated__' ? 'no team label' : g.key}
            </Link>
          </th>
          {showCluster && <td>{g.cluster}</td>}
          <td className="num">{formatNumber(g.containers)}</td>
          <td className="num">{formatMoney(g.cost.monthly, c)}</td>
          <td className="num">{formatShare(g.cost.monthly, total)}</td>
          <td className="num">{formatMoney(g.waste.monthly, c)}</td>
          <td className="num">{formatMoney(g.savings.monthly, c)}</td>
        </tr>
      )}
    </Table>
  )
}

function Trend({ data, cluster }: { data: UsageCost; cluster: string }) {
  const points = useMemo(() => data.trend.filter((t) => t.cluster === cluster), [data.trend, cluster])
  const totals = useMemo(() => {
    const { hours, points: ps } = byHour(points)
    const hasNodes = ps.some((p) => p.nodes !== null)
    const series: SeriesSpec[] = [
      ...(hasNodes
        ? [{ label: 'Nodes', color: 'var(--muted)', dash: [6, 4], values: ps.map((p) => p.nodes ?? 0) }]
        : []),
      { label: 'Workloads', color: 'var(--accent)', width: 3, values: ps.map((p) => p.workloads) },
      ...(hasNodes ? [{ label: 'Idle', color: 'var(--sev-high)', values: ps.map((p) => p.idle ?? 0) }] : []),
      { label: 'Savings', color: 'var(--pass)', values: ps.map((p) => p.savings) },
    ]
    return { hours, ps, series }
  }, [points])
  const groups = useMemo(() => {
    const { hours, points: ps } = byHour(points)
    const last = ps[ps.length - 1]
    const top = (last?.groups ?? []).slice(0, 5).map((g) => g.key)
    const series: SeriesSpec[] = top.map((key, i) => ({
      label: key === '__unallocated__' ? 'no team label' : key,
      color: GROUP_COLOURS[i % GROUP_COLOURS.length]!,
      values: ps.map((p) => p.groups.find((g) => g.key === key)?.cost ?? 0),
    }))
    return { hours, series }
  }, [points])
  if (points.length === 0) return null
  const c = data.currency
  const first = totals.ps[0]!
  const last = totals.ps[totals.ps.length - 1]!
  const summary =
    totals.ps.length === 1
      ? `One snapshot: workloads ${formatMoney(last.workloads, c)} a month${last.idle !== null ? `, idle ${formatMoney(last.idle, c)}` : ''}.`
      : `${formatNumber(totals.ps.length)} snapshots: workloads from ${formatMoney(first.workloads, c)} to ${formatMoney(last.workloads, c)} a month${last.idle !== null ? `, idle now ${formatMoney(last.idle, c)}` : ''}, savings now ${formatMoney(last.savings, c)}.`
  return (
    <section aria-labelledby={`cost-trend-${cluster}`} data-testid={`cost-trend-${cluster}`}>
      <h2 id={`cost-trend-${cluster}`}>Over time, {cluster}</h2>
      <div className="grid cards-2">
        <Card title={`Cost a month, ${cluster}`}>
          <SnapshotChart
            title={`Nodes, workloads, idle and savings a month (${c}), ${cluster}`}
            hours={totals.hours}
            series={totals.series}
            summary={summary}
          />
        </Card>
        <Card title={`Top ${data.by === 'namespace' ? 'namespaces' : 'teams'}, ${cluster}`}>
          <SnapshotChart
            title={`Cost a month per ${data.by} (${c}), ${cluster}`}
            hours={groups.hours}
            series={groups.series}
            summary={topSummary(groups.series.length, data.by)}
          />
        </Card>
      </div>
    </section>
  )
}

function topSummary(n: number, by: UsageCostGroup): string {
  if (n === 0) return `No ${by} in the latest snapshot.`
  if (n === 1) return `The ${by} of the latest snapshot, in each snapshot.`
  return `The ${n} ${by === 'namespace' ? 'namespaces' : 'teams'} that cost most in the latest snapshot, in each snapshot.`
}

export function CostPage() {
  usePageTitle('Cost')
  const { search } = useLocation()
  const view = costView(search)
  const { clusters, nothing } = useUsageClusters(view.cluster)
  const data = useApi(endpoints.usageCost({ cluster: view.cluster || undefined, by: view.by }), {
    keep: true,
  })
  const go = (change: Partial<CostView>) => navigate(costHref(view, change))
  return (
    <>
      <UsageHead
        title="Cost"
        cluster={view.cluster}
        clusters={clusters}
        onCluster={(c) => go({ cluster: c })}
        filters={
          <SelectField
            label="Group by"
            inline
            value={view.by}
            options={[
              { value: 'namespace', label: 'Namespace' },
              { value: 'team', label: 'Team' },
            ]}
            onChange={(by) => go({ by: by as UsageCostGroup })}
          />
        }
      />
      <p className="lead">
        What the latest snapshots cost, as monthly rates (OpenCost&apos;s model and default prices unless the
        price sheet says otherwise): the nodes, the workloads&apos; share (max of request and usage), the idle
        rest, and what the{' '}
        <Link to={href('/usage/rightsizing', { cluster: view.cluster })}>recommendations</Link> would save.
      </p>
      {nothing ? (
        <NoUsage />
      ) : (
        <Fetched state={data} loading="Loading the cost">
          {(d) => (
            <>
              <LatestSnapshots snapshots={d.snapshots} />
              <Totals data={d} />
              <section aria-labelledby="cost-groups-title">
                <h2 id="cost-groups-title">Per {d.by}</h2>
                <Groups data={d} view={view} />
              </section>
              {d.snapshots.map((s) => (
                <Trend key={s.cluster} data={d} cluster={s.cluster} />
              ))}
            </>
          )}
        </Fetched>
      )}
    </>
  )
}
