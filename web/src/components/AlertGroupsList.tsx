/**
 * The open alert groups of the audit alert pipelines: per group its labels, receiver, alerts firing,
 * resolved and silenced, the oldest start and the next flush; opened, its alerts with their summaries.
 */
import type { AlertGroupView, AlertView } from '../api'
import { formatTime, plural } from '../format'
import { Table } from './Table'

const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ') || '(all alerts of the route)'

function AlertStatus({ alert }: { alert: AlertView }) {
  return (
    <>
      <span className={`badge alert-${alert.status}`}>{alert.status}</span>
      {alert.silencedBy.length > 0 && (
        <span className="badge alert-silenced" title={`silenced by ${alert.silencedBy.join(', ')}`}>
          silenced
        </span>
      )}
    </>
  )
}

function GroupAlerts({ group }: { group: AlertGroupView }) {
  return (
    <Table
      caption={`Alerts of ${labelText(group.groupLabels)}`}
      columns={['Summary', 'User', 'Namespace', 'Started', 'Ends', 'Status']}
      items={group.alerts}
    >
      {(a) => (
        <tr key={a.fingerprint} data-testid={`alert-${a.fingerprint}`}>
          <th scope="row" className="cell-text small">
            {a.annotations.summary ?? a.labels.alertname}
          </th>
          <td className="small mono">{a.labels.user ?? ''}</td>
          <td className="small">{a.labels.namespace ?? ''}</td>
          <td className="small nowrap">{formatTime(a.startsAt)}</td>
          <td className="small nowrap">{formatTime(a.endsAt)}</td>
          <td>
            <AlertStatus alert={a} />
          </td>
        </tr>
      )}
    </Table>
  )
}

function Group({ group, showCluster }: { group: AlertGroupView; showCluster: boolean }) {
  const firing = group.alerts.filter((a) => a.status === 'firing').length
  const silenced = group.alerts.filter((a) => a.silencedBy.length > 0).length
  // ISO times in UTC: the smallest string is the earliest.
  const oldest = group.alerts.map((a) => a.startsAt).sort()[0]!
  return (
    <details className="alert-group" data-testid="alert-group">
      <summary>
        <span className="mono" data-testid="group-labels">
          {labelText(group.groupLabels)}
        </span>{' '}
        <span className="muted small">
          {showCluster && <>{group.cluster} · </>}to {group.receiver} · {plural(group.alerts.length, 'alert')}
          :{' '}
          <span data-testid="group-counts">
            {firing} firing, {group.alerts.length - firing} resolved, {silenced} silenced
          </span>{' '}
          · since {formatTime(oldest)} ·{' '}
          {group.hasFlushed
            ? `${group.lastNotifiedAt ? `last notified ${formatTime(group.lastNotifiedAt)}` : 'nothing sent (silenced or inhibited)'}, next look ${formatTime(group.nextFlushAt)}`
            : `first notification at ${formatTime(group.nextFlushAt)} (group_wait)`}
        </span>
      </summary>
      <GroupAlerts group={group} />
    </details>
  )
}

export function AlertGroupsList({ groups, showCluster }: { groups: AlertGroupView[]; showCluster: boolean }) {
  if (groups.length === 0)
    return (
      <p className="empty">
        No open alert group: nothing has fired within the pipelines' <code>resolve_timeout</code>.
      </p>
    )
  return (
    <div className="alert-groups">
      {groups.map((g) => (
        <Group key={`${g.cluster}|${g.key}`} group={g} showCluster={showCluster} />
      ))}
    </div>
  )
}
