/**
 * A watch's health: whether its findings are whole yet (synced), how busy it is, how long a change
 * takes to reach the store, and each watched kind's state, the refused ones shown as the problem they
 * are (their findings are missing, not clean).
 */
import type { ClusterSummary, WatchedKindStatus, WatchHealth } from '../api'
import { formatNumber, formatTime, plural } from '../format'
import { Table } from './Table'

/** Live: watched here, or its agent reporting; an agent that stopped reporting is said to be silent. */
export function LiveBadge({ live, agent, standby }: Pick<ClusterSummary, 'live' | 'agent' | 'standby'>) {
  if (live) return <span className="badge live">{agent ? 'live (agent)' : 'live'}</span>
  if (standby) return <span className="badge not-live">standby (another replica watches)</span>
  if (agent) return <span className="badge not-live">agent silent</span>
  return <span className="badge not-live">not watched here</span>
}

const latest = (times: (string | undefined)[]): string | undefined =>
  times.reduce<string | undefined>((a, t) => (t && (!a || t > a) ? t : a), undefined)

/** When the watch last listed its kinds in full (live), else when the store's last run ended. */
export function lastSyncOf(c: Pick<ClusterSummary, 'health' | 'lastRun'>): string | undefined {
  if (c.health) return latest(c.health.kinds.map((k) => k.lastSync))
  return c.lastRun?.finishedAt
}

const PROBLEM_STATES: ReadonlySet<WatchedKindStatus['state']> = new Set(['forbidden', 'backoff'])

const kindName = (k: WatchedKindStatus) => `${k.kind} (${k.group ? `${k.group}/` : ''}${k.version})`

export function HealthFacts({ health: h }: { health: WatchHealth }) {
  const forbidden = h.kinds.filter((k) => k.state === 'forbidden')
  const retrying = h.kinds.filter((k) => k.state === 'backoff')
  const last = lastSyncOf({ health: h })
  return (
    <>
      <dl className="facts">
        <div>
          <dt>State</dt>
          <dd>
            {h.synced ? (
              <span className="badge synced">synced</span>
            ) : (
              <span className="badge syncing">syncing: the findings are not whole yet</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Objects</dt>
          <dd data-testid="health-objects">{formatNumber(h.objects)}</dd>
        </div>
        <div>
          <dt>Events/s</dt>
          <dd>{h.eventsPerSecond.toFixed(1)}</dd>
        </div>
        {h.commitMs && (
          <div>
            <dt>To the store (p50 / p99)</dt>
            <dd>
              {h.commitMs.p50} ms / {h.commitMs.p99} ms
            </dd>
          </div>
        )}
        <div>
          <dt>Last sync</dt>
          <dd>{last ? formatTime(last) : '–'}</dd>
        </div>
        <div>
          <dt>Watching since</dt>
          <dd>{formatTime(h.startedAt)}</dd>
        </div>
      </dl>
      {forbidden.length > 0 && (
        <div className="problem" data-testid="forbidden-kinds">
          <strong>{plural(forbidden.length, 'kind')} forbidden to the watcher</strong>:{' '}
          {forbidden.map((k) => k.kind).join(', ')}. Their objects are not checked, so their findings are
          missing, not clean. Grant the watcher <code>list</code> and <code>watch</code> on them;{' '}
          <code>plimsoll watch rbac</code> prints the role it needs.
        </div>
      )}
      {retrying.length > 0 && (
        <div className="problem">
          <strong>{plural(retrying.length, 'kind')} retrying after an error</strong>:{' '}
          {retrying.map((k) => k.kind).join(', ')}; their findings may be out of date until they list again.
        </div>
      )}
      {h.discoveryErrors.length > 0 && (
        <div className="problem">
          <strong>Discovery failed for some API groups</strong>; their kinds are not watched:
          <ul>
            {h.discoveryErrors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </div>
      )}
    </>
  )
}

export function KindsTable({ kinds }: { kinds: WatchedKindStatus[] }) {
  // The kinds in trouble first: they are what someone opening this table looks for.
  const sorted = [...kinds].sort(
    (a, b) => Number(PROBLEM_STATES.has(b.state)) - Number(PROBLEM_STATES.has(a.state)),
  )
  return (
    <Table
      caption="Watched kinds"
      columns={[
        'Kind',
        'State',
        'Mode',
        { label: 'Listed', num: true },
        { label: 'Events', num: true },
        { label: 'Lists', num: true },
        'Last sync',
        'Error',
      ]}
      items={sorted}
    >
      {(k) => (
        <tr
          key={`${k.group}/${k.version}/${k.resource}`}
          className={PROBLEM_STATES.has(k.state) ? 'problem-row' : undefined}
        >
          <th scope="row" className="cell-text">
            {kindName(k)}
          </th>
          <td>
            <span className={`badge kind-${k.state}`}>{k.state}</span>
          </td>
          <td className="small">{k.mode}</td>
          <td className="num">{k.listed === undefined ? '–' : formatNumber(k.listed)}</td>
          <td className="num">{formatNumber(k.events)}</td>
          <td className="num">{formatNumber(k.lists)}</td>
          <td className="small nowrap">
            {k.lastSync ? formatTime(k.lastSync) : '–'}
            {k.listMs !== undefined && <div className="muted">in {formatNumber(k.listMs)} ms</div>}
          </td>
          <td className="small reason">{k.error ?? ''}</td>
        </tr>
      )}
    </Table>
  )
}
