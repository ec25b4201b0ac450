/**
 * Utilisation (`/usage`): what the clusters requested, used and had allocatable, per snapshot that
 * `plimsoll usage --store` recorded, as plots per cluster (or per namespace: requested and used, since
 * allocatable is a node's), the latest figures, the namespaces, and the nodes (the bin-packing view).
 * Cluster, namespace and period are in the query string.
 */
import { useMemo } from 'react'
import { endpoints, type UsageSnapshotView, type UsageUtilisation, type UtilisationPoint } from '../api'
import { Card } from '../components/Card'
import { useClusterPeriodView } from '../components/ClusterPeriodFilters'
import { periodOptions, plainOptions, SelectField } from '../components/SelectField'
import { Fetched } from '../components/Status'
import { Table } from '../components/Table'
import type { SeriesSpec } from '../components/TimeSeriesChart'
import {
  byHour,
  formatBytes,
  formatCores,
  formatShare,
  Gaps,
  GIB,
  NoUsage,
  SnapshotChart,
  SnapshotLine,
  UsageHead,
  useUsageClusters,
} from '../components/UsageParts'
import { formatNumber } from '../format'
import { href, Link, navigate } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

const PERIODS = [30, 90, 365]

interface UtilisationView {
  cluster: string
  namespace: string
  days: number
}

function utilisationView(search: URLSearchParams): UtilisationView {
  const days = Number(search.get('days'))
  return {
    cluster: search.get('cluster') ?? '',
    namespace: search.get('namespace') ?? '',
    days: PERIODS.includes(days) ? days : PERIODS[1]!,
  }
}

function utilisationHref(view: UtilisationView, change: Partial<UtilisationView> = {}): string {
  const next = { ...view, ...change }
  return href('/usage', {
    cluster: next.cluster,
    namespace: next.namespace,
    days: next.days === PERIODS[1] ? undefined : next.days,
  })
}

function ResourceChart({
  title,
  resource,
  points,
}: {
  title: string
  resource: 'cpu' | 'memory'
  points: UtilisationPoint[]
}) {
  const { hours, series, summary } = useMemo(() => {
    const { hours, points: ps } = byHour(points)
    const scale = resource === 'cpu' ? 1 : 1 / GIB
    const pick = (p: UtilisationPoint) => (resource === 'cpu' ? p.cpu : p.memory)
    const hasAllocatable = ps.some((p) => pick(p).allocatable !== null)
    const series: SeriesSpec[] = [
      ...(hasAllocatable
        ? [
            {
              label: 'Allocatable',
              color: 'var(--muted)',
              dash: [6, 4],
              values: ps.map((p) => (pick(p).allocatable ?? 0) * scale),
            },
          ]
        : []),
      {
        label: 'Requested',
        color: 'var(--accent)',
        width: 3,
        values: ps.map((p) => pick(p).requested * scale),
      },
      { label: 'Used', color: 'var(--pass)', width: 3, values: ps.map((p) => pick(p).used * scale) },
    ]
    const last = ps[ps.length - 1]
    const f = resource === 'cpu' ? formatCores : formatBytes
    const summary = last
      ? `${ps.length === 1 ? '1 snapshot' : `${formatNumber(ps.length)} snapshots`}; the latest: requested ${f(pick(last).requested)}, used ${f(pick(last).used)} (${formatShare(pick(last).used, pick(last).requested)} of requested)` +
        (pick(last).allocatable !== null
          ? `, allocatable ${f(pick(last).allocatable!)} (${formatShare(pick(last).requested, pick(last).allocatable!)} requested)`
          : '') +
        '.'
      : 'No snapshot in this period.'
    return { hours, series, summary }
  }, [points, resource])
  if (hours.length === 0) return <p className="empty">No snapshot in this period.</p>
  return (
    <SnapshotChart
      title={`${title} (${resource === 'cpu' ? 'cores' : 'GiB'})`}
      hours={hours}
      series={series}
      summary={summary}
    />
  )
}

function Latest({ snapshot }: { snapshot: UsageSnapshotView }) {
  const row = (label: string, f: (n: number) => string, r: UsageSnapshotView['cpu']) => (
    <tr>
      <th scope="row">{label}</th>
      <td className="num">{f(r.requested)}</td>
      <td className="num">{f(r.used)}</td>
      <td className="num">{r.allocatable === null ? '—' : f(r.allocatable)}</td>
      <td className="num">{formatShare(r.used, r.requested)}</td>
      <td className="num">{r.allocatable === null ? '—' : formatShare(r.requested, r.allocatable)}</td>
    </tr>
  )
  return (
    <div className="table-wrap">
      <table data-testid={`usage-latest-${snapshot.cluster}`}>
        <caption className="visually-hidden">The latest snapshot of {snapshot.cluster}</caption>
        <thead>
          <tr>
            <th scope="col">Resource</th>
            <th scope="col" className="num">
              Requested
            </th>
            <th scope="col" className="num">
              Used
            </th>
            <th scope="col" className="num">
              Allocatable
            </th>
            <th scope="col" className="num">
              Used of requested
            </th>
            <th scope="col" className="num">
              Requested of allocatable
            </th>
          </tr>
        </thead>
        <tbody>
          {row('CPU', formatCores, snapshot.cpu)}
          {row('Memory', formatBytes, snapshot.memory)}
        </tbody>
      </table>
    </div>
  )
}

function Namespaces({ data, view }: { data: UsageUtilisation; view: UtilisationView }) {
  const showCluster = new Set(data.namespaces.map((n) => n.cluster)).size > 1
  const columns = [
    'Namespace',
    ...(showCluster ? ['Cluster'] : []),
    { label: 'Containers', num: true },
    { label: 'CPU requested', num: true },
    { label: 'CPU used', num: true },
    { label: 'Used of requested', num: true },
    { label: 'Memory requested', num: true },
    { label: 'Memory used', num: true },
  ]
  return (
    <Table
      caption="Namespaces in the latest snapshot"
      columns={columns}
      items={data.namespaces}
      testId="usage-namespaces"
      empty="No namespace in the latest snapshot."
    >
      {(n) => (
        <tr key={`${n.cluster}/${n.namespace}`} data-testid={`usage-namespace-${n.cluster}-${n.namespace}`}>
          <th scope="row" className="cell-text">
            <Link to={utilisationHref(view, { cluster: n.cluster, namespace: n.namespace })}>
              {n.namespace}
            </Link>
          </th>
          {showCluster && <td>{n.cluster}</td>}
          <td className="num">{formatNumber(n.containers)}</td>
          <td className="num">{formatCores(n.cpu.requested)}</td>
          <td className="num">{formatCores(n.cpu.used)}</td>
          <td className="num">{formatShare(n.cpu.used, n.cpu.requested)}</td>
          <td className="num">{formatBytes(n.memory.requested)}</td>
          <td className="num">{formatBytes(n.memory.used)}</td>
        </tr>
      )}
    </Table>
  )
}

function Nodes({ data }: { data: UsageUtilisation }) {
  const showCluster = new Set(data.nodes.map((n) => n.cluster)).size > 1
  return (
    <Table
      caption="Nodes in the latest snapshot"
      columns={[
        'Node',
        ...(showCluster ? ['Cluster'] : []),
        'Type',
        { label: 'CPU allocatable', num: true },
        { label: 'CPU requested', num: true },
        { label: 'CPU used', num: true },
        { label: 'Memory allocatable', num: true },
        { label: 'Memory requested', num: true },
        { label: 'Memory used', num: true },
      ]}
      items={data.nodes}
      testId="usage-nodes"
      empty="No node was read in the latest snapshot."
    >
      {(n) => (
        <tr key={`${n.cluster}/${n.name}`}>
          <th scope="row" className="cell-text mono small">
            {n.name}
          </th>
          {showCluster && <td>{n.cluster}</td>}
          <td className="small">
            {n.instanceType ?? '—'}
            {n.capacityType && <div className="muted">{n.capacityType}</div>}
          </td>
          <td className="num">{formatCores(n.allocatable.cpu)}</td>
          <td className="num">
            {formatCores(n.requested.cpu)}{' '}
            <span className="muted small">({formatShare(n.requested.cpu, n.allocatable.cpu)})</span>
          </td>
          <td className="num">{formatCores(n.used.cpu)}</td>
          <td className="num">{formatBytes(n.allocatable.memory)}</td>
          <td className="num">
            {formatBytes(n.requested.memory)}{' '}
            <span className="muted small">({formatShare(n.requested.memory, n.allocatable.memory)})</span>
          </td>
          <td className="num">{formatBytes(n.used.memory)}</td>
        </tr>
      )}
    </Table>
  )
}

export function UsagePage() {
  usePageTitle('Utilisation')
  const { view, since, cluster } = useClusterPeriodView(utilisationView)
  const { clusters, nothing } = useUsageClusters(view.cluster)
  const data = useApi(
    endpoints.usageUtilisation({
      cluster,
      namespace: view.namespace || undefined,
      since,
    }),
    { keep: true },
  )
  // The namespaces to choose from: the latest snapshots' (without a namespace chosen, all of them).
  const namespaceData = useApi(view.namespace ? endpoints.usageUtilisation({ cluster, since }) : null)
  const namespaces = useMemo(() => {
    const from = (view.namespace ? namespaceData.data : data.data)?.namespaces ?? []
    return [...new Set([...from.map((n) => n.namespace), ...(view.namespace ? [view.namespace] : [])])].sort()
  }, [data.data, namespaceData.data, view.namespace])
  const go = (change: Partial<UtilisationView>) => navigate(utilisationHref(view, change))

  return (
    <>
      <UsageHead
        title="Utilisation"
        cluster={view.cluster}
        clusters={clusters}
        onCluster={(c) => go({ cluster: c, namespace: '' })}
        filters={
          <>
            <SelectField
              label="Namespace"
              inline
              all="All namespaces"
              value={view.namespace}
              options={plainOptions(namespaces)}
              onChange={(n) => go({ namespace: n })}
            />
            <SelectField
              label="Period"
              inline
              value={String(view.days)}
              options={periodOptions(PERIODS)}
              onChange={(days) => go({ days: Number(days) })}
            />
          </>
        }
      />
      <p className="lead">
        What the workloads requested and used, against what the nodes had allocatable, in each snapshot{' '}
        <code>plimsoll usage --store</code> recorded: averages over each snapshot&apos;s window. What to set
        instead: <Link to={href('/usage/rightsizing', { cluster: view.cluster })}>rightsizing</Link>; what it
        costs: <Link to={href('/usage/cost', { cluster: view.cluster })}>cost</Link>.
      </p>
      {nothing ? (
        <NoUsage />
      ) : (
        <Fetched state={data} loading="Loading the utilisation">
          {(d) => (
            <>
              <Gaps snapshots={d.latest} />
              {d.series.length === 0 && (
                <p className="empty" data-testid="usage-none-in-period">
                  No snapshot {view.namespace ? `with namespace ${view.namespace} ` : ''}in the last{' '}
                  {view.days} days.
                </p>
              )}
              {d.series.map((s) => {
                const name = s.namespace ? `${s.cluster}/${s.namespace}` : s.cluster
                const latest = d.latest.find((l) => l.cluster === s.cluster)
                return (
                  <section
                    key={name}
                    aria-labelledby={`usage-${name}`}
                    data-testid={`utilisation-${s.cluster}`}
                  >
                    <h2 id={`usage-${name}`}>{name}</h2>
                    {latest && (
                      <p className="muted small" data-testid={`usage-snapshot-${s.cluster}`}>
                        Latest snapshot of <SnapshotLine snapshot={latest} />
                      </p>
                    )}
                    {latest && !s.namespace && <Latest snapshot={latest} />}
                    <div className="grid cards-2">
                      <Card title={`CPU, ${name}`}>
                        <ResourceChart
                          title={`CPU requested${s.namespace ? ' and used' : ', used and allocatable'}, ${name}`}
                          resource="cpu"
                          points={s.points}
                        />
                      </Card>
                      <Card title={`Memory, ${name}`}>
                        <ResourceChart
                          title={`Memory requested${s.namespace ? ' and used' : ', used and allocatable'}, ${name}`}
                          resource="memory"
                          points={s.points}
                        />
                      </Card>
                    </div>
                  </section>
                )
              })}
              <section aria-labelledby="usage-namespaces-title">
                <h2 id="usage-namespaces-title">Namespaces</h2>
                <p className="muted small">In the latest snapshot; a namespace opens its plots.</p>
                <Namespaces data={d} view={view} />
              </section>
              {!view.namespace && (
                <section aria-labelledby="usage-nodes-title">
                  <h2 id="usage-nodes-title">Nodes</h2>
                  <p className="muted small">
                    The bin-packing view of the latest snapshot: what is requested of each node now, against
                    its allocatable, and what it used on average.
                  </p>
                  <Nodes data={d} />
                </section>
              )}
            </>
          )}
        </Fetched>
      )}
    </>
  )
}
