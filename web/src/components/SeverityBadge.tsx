import type { FindingState, Severity } from '../api'

export function SeverityBadge({ severity }: { severity: Severity }) {
  return <span className={`badge sev-${severity}`}>{severity}</span>
}

export function StateBadge({ state }: { state: FindingState }) {
  return <span className={`badge state-${state}`}>{state}</span>
}
