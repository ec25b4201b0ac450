/**
 * What a watched cluster's findings do while the page is open: each finding opened or resolved, newest
 * first, in a polite live region (a screen reader tells them without interrupting), and the state of
 * the connection that brings them.
 */
import { type ClusterEvent, type LiveFinding, SEVERITIES } from '../api'
import { formatClock, resourceName } from '../format'
import type { Connection } from '../useClusterEvents'
import { SeverityBadge } from './SeverityBadge'

export interface LiveLine {
  /** unique while the page is open: the list's key */
  id: number
  at: string
  change: 'opened' | 'resolved'
  finding: LiveFinding
}

/** Lines kept: the panel is for what just happened; the explorer has the rest. */
export const LIVE_LINES = 50

const worstFirst = (a: LiveFinding, b: LiveFinding) =>
  SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity)

/** An event's lines, the opened ones first (worst first), so the top of the panel is what matters most. */
export function linesOf(event: Extract<ClusterEvent, { type: 'changes' }>, firstId: number): LiveLine[] {
  const lines: LiveLine[] = []
  let id = firstId
  for (const change of ['opened', 'resolved'] as const)
    for (const finding of [...event[change]].sort(worstFirst))
      lines.push({ id: id++, at: event.at, change, finding })
  return lines
}

/** The connection in a few words. */
export function connectionText(c: Connection): string {
  switch (c.state) {
    case 'open':
      return `Connected since ${formatClock(c.since)}: changes appear here as the watcher commits them.`
    case 'connecting':
      return 'Connecting…'
    case 'retrying':
      return `The connection dropped (${c.error}); trying again at ${formatClock(new Date(c.at).toISOString())}.`
    case 'refused':
      return c.error.status === 404
        ? 'This cluster is not watched by this server: there are no live changes to show.'
        : `The server refused the live changes: ${c.error.message}.`
    case 'off':
      return 'Not watched by this server: no live changes.'
  }
}

export function LiveChanges({ lines, connection }: { lines: LiveLine[]; connection: Connection }) {
  return (
    <>
      <p className={`connection connection-${connection.state}`}>{connectionText(connection)}</p>
      <div className="live-log" role="log" aria-live="polite" aria-label="Live changes">
        <ol>
          {lines.map((l) => (
            <li key={l.id} className={`live-${l.change}`} data-testid="live-line">
              <time dateTime={l.at} className="small muted">
                {formatClock(l.at)}
              </time>{' '}
              <span className="change">{l.change}:</span> <SeverityBadge severity={l.finding.severity} />{' '}
              <span className="mono">{l.finding.checkId}</span> {resourceName(l.finding)}
              <span className="message"> — {l.finding.message}</span>
            </li>
          ))}
        </ol>
      </div>
      {lines.length === 0 && connection.state === 'open' && (
        <p className="empty">No finding has opened or resolved since this page opened.</p>
      )}
    </>
  )
}
