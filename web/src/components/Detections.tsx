/**
 * The audit rules' recent detections, newest first, older ones on demand; each opens its audit event
 * (as the API gives it: Secrets' values redacted), or says that the queue no longer keeps it.
 */
import { Fragment, useState } from 'react'
import { type AuditDetection, type AuditEventRecord, type DetectionQuery, endpoints, get } from '../api'
import { formatTime, plural } from '../format'
import { useApi } from '../useApi'
import { useOlderPages } from '../useOlderPages'
import { ErrorMessage, Fetched } from './Status'
import { Table } from './Table'

const PAGE_SIZE = 50

function EventStage({ record }: { record: AuditEventRecord }) {
  return (
    <details open className="audit-event">
      <summary>
        {record.stage ?? 'no stage'} · received {formatTime(record.receivedAt)} from {record.source}
      </summary>
      <pre className="manifest mono small" data-testid="audit-event-json">
        {JSON.stringify(record.event, null, 2)}
      </pre>
    </details>
  )
}

function DetectionEvent({ id }: { id: number }) {
  const detail = useApi(endpoints.detection(id))
  return (
    <Fetched state={detail} loading="Loading the audit event">
      {(d) =>
        d.events.length > 0 ? (
          <div data-testid="detection-event">
            {d.events.map((e) => (
              <EventStage key={e.id} record={e} />
            ))}
            <p className="hint">Secrets' values are redacted by the server: only their sizes are shown.</p>
          </div>
        ) : (
          <p className="empty" data-testid="detection-event-gone">
            {d.detection.auditID
              ? 'The event is no longer kept (the queue keeps processed events for --retention-hours).'
              : 'This detection came from no audit event (a Falco runtime alert).'}
          </p>
        )
      }
    </Fetched>
  )
}

function DetectionRows({
  d,
  open,
  toggle,
  showCluster,
  columns,
}: {
  d: AuditDetection
  open: boolean
  toggle: () => void
  showCluster: boolean
  columns: number
}) {
  return (
    <>
      <tr data-testid={`detection-${d.id}`}>
        <td className="small nowrap">
          <time dateTime={d.time}>{formatTime(d.time)}</time>
        </td>
        {showCluster && <td className="small">{d.cluster}</td>}
        <th scope="row" className="cell-text">
          {d.rule}
          <div className="small muted">{d.output}</div>
        </th>
        <td>
          <span className={`badge priority-${d.priority}`}>{d.priority}</span>
        </td>
        <td className="small mono">{d.labels.user ?? ''}</td>
        <td>
          <button type="button" className="link-button" aria-expanded={open} onClick={toggle}>
            {open ? 'Hide event' : 'Show event'}
          </button>
        </td>
      </tr>
      {open && (
        <tr className="detail-row">
          <td colSpan={columns}>
            <DetectionEvent id={d.id} />
          </td>
        </tr>
      )}
    </>
  )
}

export function Detections({
  first,
  query,
  showCluster,
}: {
  first: AuditDetection[]
  query: DetectionQuery
  showCluster: boolean
}) {
  const { all, more, busy, error, loadOlder } = useOlderPages(first, PAGE_SIZE, (before) =>
    get(endpoints.detections({ ...query, before, limit: PAGE_SIZE })),
  )
  const [opened, setOpened] = useState<ReadonlySet<number>>(new Set())
  const toggle = (id: number) =>
    setOpened((s) => {
      const next = new Set(s)
      if (!next.delete(id)) next.add(id)
      return next
    })
  const columns = ['Time', ...(showCluster ? ['Cluster'] : []), 'Rule', 'Priority', 'User', 'Audit event']
  return (
    <>
      <p className="visually-hidden" role="status">
        {plural(all.length, 'detection')} shown
      </p>
      <Table caption="Recent detections" columns={columns} items={all} testId="detections-table">
        {(d) => (
          <Fragment key={d.id}>
            <DetectionRows
              d={d}
              open={opened.has(d.id)}
              toggle={() => toggle(d.id)}
              showCluster={showCluster}
              columns={columns.length}
            />
          </Fragment>
        )}
      </Table>
      {error && <ErrorMessage error={error} retry={loadOlder} />}
      {more && (
        <p className="actions">
          <button type="button" onClick={loadOlder} disabled={busy}>
            {busy ? 'Loading older detections…' : 'Load older detections'}
          </button>
        </p>
      )}
    </>
  )
}

export { PAGE_SIZE as DETECTIONS_PAGE_SIZE }
