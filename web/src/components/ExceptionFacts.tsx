/** What a finding's exception says about itself: where it is, who owns it, until when, or that it expired. */
import { entryName, type FindingException, isUnaccounted } from '../api'

/** Where an exception is kept: an annotation, the register's entry, an exceptions file's. */
export function exceptedBy(e: FindingException): string {
  return e.source === 'annotation' ? 'annotation' : entryName(e.file, e.index)
}

export function UnaccountedBadge({ exception }: { exception: FindingException }) {
  if (!isUnaccounted(exception)) return null
  return (
    <span className="badge unaccounted" title="Add .owner and .expires annotations beside it">
      no owner, no expiry
    </span>
  )
}

/** One line under a finding: by what it is (or was) excepted, whose it is, until when, and why. */
export function ExceptionNote({ exception: e }: { exception: FindingException & { expired?: true } }) {
  const by = e.source === 'annotation' ? 'an annotation' : exceptedBy(e)
  const owner = e.owner === undefined ? 'no owner' : `owned by ${e.owner}`
  if (e.expired)
    return (
      <div className="small" data-testid="exception-expired">
        <span className="badge expired">exception expired</span> The exception ({by}, {owner}) expired on{' '}
        {e.expires}: {e.reason}
      </div>
    )
  if (isUnaccounted(e))
    return (
      <div className="small muted">
        Excepted by an annotation: {e.reason} <UnaccountedBadge exception={e} />
      </div>
    )
  return (
    <div className="small muted">
      Excepted by {by}, {owner}, {e.expires === undefined ? 'with no expiry' : `until ${e.expires}`}:{' '}
      {e.reason}
    </div>
  )
}
