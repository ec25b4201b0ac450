/**
 * Clusters: those this server watches live (`plimsoll serve --cluster`) and those a watcher or an agent
 * recorded elsewhere, each with its open findings and when it was last in sync.
 */
import { type ClusterSummary, endpoints } from '../api'
import { LiveBadge, lastSyncOf } from '../components/ClusterHealth'
import { OpenCounts, openTotal } from '../components/OpenCounts'
import { Fetched } from '../components/Status'
import { Table } from '../components/Table'
import { explorerHref } from '../explorer'
import { formatNumber, formatTime } from '../format'
import { Link } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

export const clusterHref = (name: string) => `/clusters/${encodeURIComponent(name)}`

function LastSync({ cluster: c }: { cluster: ClusterSummary }) {
  const at = lastSyncOf(c)
  if (c.health && !c.health.synced) return <span className="badge syncing">syncing</span>
  return at ? <span className="nowrap">{formatTime(at)}</span> : <span className="muted">never</span>
}

function ClustersTable({ clusters }: { clusters: ClusterSummary[] }) {
  return (
    <Table
      caption="Clusters"
      columns={[
        'Cluster',
        'Watch',
        { label: 'Open', num: true },
        'By severity',
        { label: 'Excepted', num: true },
        'Last sync',
        { label: 'Resources', num: true },
      ]}
      items={clusters}
    >
      {(c) => (
        <tr key={c.name} data-testid={`cluster-${c.name}`}>
          <th scope="row" className="cell-text">
            <Link to={clusterHref(c.name)}>{c.name}</Link>
          </th>
          <td>
            <LiveBadge live={c.live} agent={c.agent} standby={c.standby} />
          </td>
          <td className="num">
            <Link to={explorerHref({ target: c.name })} aria-label={`${openTotal(c.open)} open in ${c.name}`}>
              {formatNumber(openTotal(c.open))}
            </Link>
          </td>
          <td>
            <OpenCounts open={c.open} />
          </td>
          <td className="num">{formatNumber(c.excepted)}</td>
          <td>
            <LastSync cluster={c} />
          </td>
          <td className="num">
            {c.lastRun ? formatNumber(c.lastRun.resources) : <span className="muted">–</span>}
          </td>
        </tr>
      )}
    </Table>
  )
}

export function ClustersPage() {
  usePageTitle('Clusters')
  const clusters = useApi(endpoints.clusters())
  return (
    <>
      <h1>Clusters</h1>
      <p className="lead">
        Clusters watched live by this server, and clusters whose findings a watcher or an agent recorded
        elsewhere.
      </p>
      <Fetched
        state={clusters}
        loading="Loading the clusters"
        isEmpty={(list) => list.length === 0}
        empty={
          <>
            No cluster is recorded yet. <code>plimsoll serve --cluster</code> watches one from this server;{' '}
            <code>plimsoll agent</code> pushes one to it from inside the cluster; <code>plimsoll watch</code>{' '}
            records one into the store from anywhere.
          </>
        }
      >
        {(list) => <ClustersTable clusters={list} />}
      </Fetched>
    </>
  )
}
