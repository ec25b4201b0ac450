/**
 * A cluster: its open findings by namespace, Pod Security in each namespace (and what tightening it
 * would break), the watch's health, and what changes as it happens. A cluster watched by this server
 * follows its live events and updates its figures without a reload; one recorded elsewhere shows what
 * the store knows.
 */
import { useCallback, useEffect, useRef, useState } from 'react'
import {
  type ClusterDetail,
  type ClusterEvent,
  type ClusterNamespace,
  type ClusterSummary,
  endpoints,
  type WatchHealth,
} from '../api'
import { Card } from '../components/Card'
import { HealthFacts, KindsTable, lastSyncOf } from '../components/ClusterHealth'
import { LIVE_LINES, LiveChanges, type LiveLine, linesOf } from '../components/LiveChanges'
import { OpenCounts, openTotal } from '../components/OpenCounts'
import { PodLevels, PsaModes, WhatBreaksList } from '../components/PodSecurity'
import { ErrorMessage, Loading } from '../components/Status'
import { type Column, Table } from '../components/Table'
import { explorerHref } from '../explorer'
import { formatNumber, formatTime, plural } from '../format'
import { Link } from '../router'
import { useApi } from '../useApi'
import { type Connection, useClusterEvents } from '../useClusterEvents'
import { usePageTitle } from '../usePageTitle'

/** Calls `fn` at once, then at most once per `ms` however often asked (a burst of changes: one fetch or two). */
function useThrottled(fn: () => void, ms: number): () => void {
  const latest = useRef(fn)
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const pending = useRef(false)
  useEffect(() => {
    latest.current = fn
  })
  useEffect(() => () => clearTimeout(timer.current), [])
  return useCallback(() => {
    if (timer.current !== undefined) {
      pending.current = true
      return
    }
    latest.current()
    const tick = () => {
      if (pending.current) {
        pending.current = false
        latest.current()
        timer.current = setTimeout(tick, ms)
      } else timer.current = undefined
    }
    timer.current = setTimeout(tick, ms)
  }, [ms])
}

function LiveIndicator({ live, connection }: { live: boolean; connection: Connection }) {
  const [state, text] = !live
    ? ['off', 'Not watched here']
    : connection.state === 'open'
      ? ['open', 'Live']
      : connection.state === 'retrying'
        ? ['retrying', 'Reconnecting…']
        : connection.state === 'refused'
          ? ['off', 'Live changes refused']
          : ['connecting', 'Connecting…']
  return (
    <p className={`live-indicator indicator-${state}`} role="status" data-testid="live-indicator">
      <span className="dot" aria-hidden="true" />
      {text}
    </p>
  )
}

function Totals({ cluster: c }: { cluster: ClusterDetail }) {
  const total = openTotal(c.open)
  const last = lastSyncOf(c)
  return (
    <>
      <p className="lead" data-testid="cluster-totals">
        <Link to={explorerHref({ target: c.name })}>{plural(total, 'open finding')}</Link>
        {total > 0 && (
          <>
            : <OpenCounts open={c.open} />
          </>
        )}
        ; {formatNumber(c.excepted)} excepted.
      </p>
      {c.agent && (
        <p className="muted" data-testid="agent-session">
          Pushed by its agent (plimsoll {c.agent.version}): session since {formatTime(c.agent.startedAt)},{' '}
          {plural(c.agent.messages, 'message')}, the last at {formatTime(c.agent.lastPushAt)}.
        </p>
      )}
      <p className="muted">
        {!c.lastRun ? (
          'No run recorded yet.'
        ) : c.live ? (
          <>
            Watched in run #{c.lastRun.id}: {plural(c.lastRun.resources, 'resource')}
            {last && <>, last listed in full {formatTime(last)}</>}
            {/* While the first sync runs the run is not complete yet: the health says "syncing". */}
            {!c.lastRun.complete && c.health?.synced && ' (incomplete: some kinds could not be listed)'}.
          </>
        ) : (
          <>
            Last recorded in run #{c.lastRun.id}: {plural(c.lastRun.resources, 'resource')}, written until{' '}
            {formatTime(c.lastRun.finishedAt)}
            {!c.lastRun.complete && ' (incomplete: some kinds could not be listed)'}.
          </>
        )}
      </p>
    </>
  )
}

/** The explorer at a namespace's findings; cluster-scoped ones cannot be filtered by namespace there. */
const namespaceFindingsHref = (cluster: string, namespace: string) =>
  explorerHref({ target: cluster, ...(namespace ? { namespace: [namespace] } : {}) })

function NamespacesTable({ cluster: c }: { cluster: ClusterDetail }) {
  const withPsa = c.namespaces.some((n) => n.podSecurity)
  const columns: Column[] = withPsa
    ? [
        'Namespace',
        { label: 'Open', num: true },
        'By severity',
        'Pod Security labels',
        'Running pods',
        'What breaks',
      ]
    : ['Namespace', { label: 'Open', num: true }, 'By severity']
  return (
    <Table
      caption="Namespaces"
      columns={columns}
      items={c.namespaces}
      testId="namespaces-table"
      empty="No namespace has findings, and none is watched."
    >
      {(n: ClusterNamespace) => {
        const label = n.namespace || '(cluster-scoped)'
        const total = openTotal(n.open)
        return (
          <tr key={n.namespace} data-testid={`namespace-${n.namespace || '-'}`}>
            <th scope="row" className="cell-text">
              {label}
            </th>
            <td className="num">
              <Link
                to={namespaceFindingsHref(c.name, n.namespace)}
                aria-label={`${formatNumber(total)} open in ${label}`}
                data-testid="namespace-open"
              >
                {formatNumber(total)}
              </Link>
            </td>
            <td>
              <OpenCounts open={n.open} />
            </td>
            {withPsa &&
              (n.podSecurity ? (
                <>
                  <td>
                    <PsaModes psa={n.podSecurity} />
                  </td>
                  <td className="small">
                    <PodLevels psa={n.podSecurity} />
                  </td>
                  <td className="small">
                    <WhatBreaksList psa={n.podSecurity} />
                  </td>
                </>
              ) : (
                <td colSpan={3} className="muted small">
                  {n.namespace ? 'not watched' : 'not a namespace'}
                </td>
              ))}
          </tr>
        )
      }}
    </Table>
  )
}

function NotWatchedHere({ standby }: { standby: ClusterSummary['standby'] }) {
  if (standby)
    return (
      <p className="notice" data-testid="standby">
        This replica of the server stands by:{' '}
        {standby.holder ? (
          <>
            replica <code>{standby.holder}</code> holds the Lease and watches the cluster
          </>
        ) : (
          'no replica holds the Lease yet'
        )}
        . What is shown is what the store knows from the runs it recorded; Pod Security, the watch's health
        and live changes are on the leading replica.
      </p>
    )
  return (
    <p className="notice">
      This cluster is not watched by this server: what is shown is what the store knows from the runs a
      watcher or an agent recorded elsewhere. Pod Security, the watch's health and live changes need{' '}
      <code>plimsoll serve --cluster</code> on this cluster, or its <code>plimsoll agent</code> reporting to
      this server.
    </p>
  )
}

export function ClusterPage({ name }: { name: string }) {
  usePageTitle(`Cluster ${name}`)
  // The same path for the page's life: keep the figures shown while they are fetched again.
  const detail = useApi(endpoints.cluster(name), { keep: true })
  const [lines, setLines] = useState<LiveLine[]>([])
  // The newest health either way: the stream's (every 5 s) or the cluster's fetched again on a change.
  const [health, setHealth] = useState<WatchHealth>()
  useEffect(() => {
    if (detail.data?.health) setHealth(detail.data.health)
  }, [detail.data])
  const nextId = useRef(0)
  const syncedBefore = useRef<boolean>(undefined)
  const refetch = useThrottled(detail.reload, 500)

  const onEvent = useCallback(
    (event: ClusterEvent) => {
      if (event.type === 'health') {
        setHealth(event.health)
        // The first sync's findings are not told as changes: while it runs, fetch the figures again at
        // the health's pace (every 5 s); its end is told ('synced').
        if (!event.health.synced || syncedBefore.current === false) refetch()
        syncedBefore.current = event.health.synced
        return
      }
      if (event.type === 'synced') {
        refetch()
        return
      }
      const added = linesOf(event, nextId.current)
      nextId.current += added.length
      setLines((shown) => [...added, ...shown].slice(0, LIVE_LINES))
      // The event comes once its findings are committed: the store has them now.
      refetch()
    },
    [refetch],
  )
  const c = detail.data
  // What changed before the stream opened (or while it was down) was not told: fetch again then.
  const connection = useClusterEvents(name, c?.live === true, onEvent, refetch)

  if (!c)
    return (
      <>
        <h1>{name}</h1>
        {detail.error ? (
          <ErrorMessage error={detail.error} retry={detail.reload} />
        ) : (
          <Loading what="Loading the cluster" />
        )}
      </>
    )
  const shown = health ?? c.health
  return (
    <>
      <p className="breadcrumb">
        <Link to="/clusters">Clusters</Link> / {name}
      </p>
      <div className="page-head">
        <h1>{name}</h1>
        <LiveIndicator live={c.live} connection={connection} />
      </div>
      {detail.error && <ErrorMessage error={detail.error} retry={detail.reload} />}
      <Totals cluster={c} />
      {!c.live && <NotWatchedHere standby={c.standby} />}
      {c.live && (
        <div className="grid cards-2">
          <Card title="Watch health">
            {shown ? <HealthFacts health={shown} /> : <p className="empty">No health reported yet.</p>}
          </Card>
          <Card title="Live" className="live-card">
            <LiveChanges lines={lines} connection={connection} />
          </Card>
        </div>
      )}
      <section aria-labelledby="namespaces-title">
        <h2 id="namespaces-title">Namespaces</h2>
        {shown && !shown.synced && (
          <p className="notice">The watch is still listing: these figures are partial until it is synced.</p>
        )}
        <NamespacesTable cluster={c} />
      </section>
      {shown && (
        <section aria-labelledby="kinds-title">
          <h2 id="kinds-title">Watched kinds</h2>
          <KindsTable kinds={shown.kinds} />
        </section>
      )}
    </>
  )
}
