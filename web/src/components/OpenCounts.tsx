/** Open findings by severity in a line ("1 critical 7 medium"), for the rows of the cluster pages. */
import { SEVERITIES, type Severity } from '../api'
import { formatNumber } from '../format'
import { SeverityBadge } from './SeverityBadge'

export const openTotal = (open: Record<Severity, number>): number =>
  SEVERITIES.reduce((n, s) => n + (open[s] ?? 0), 0)

/** The severities with open findings, worst first; "none" when there are none. */
export function OpenCounts({ open }: { open: Record<Severity, number> }) {
  const present = SEVERITIES.filter((s) => (open[s] ?? 0) > 0)
  if (present.length === 0) return <span className="muted">none</span>
  return (
    <span className="open-counts">
      {present.map((s, i) => (
        // The hidden comma makes it read as a list ("1 critical, 7 medium"); the eye has the gap.
        <span key={s} className="sev-count">
          {i > 0 && <span className="visually-hidden">, </span>}
          <span className="count">{formatNumber(open[s])}</span> <SeverityBadge severity={s} />
        </span>
      ))}
    </span>
  )
}
