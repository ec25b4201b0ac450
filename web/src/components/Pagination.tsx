/** Previous and next pages of a list whose page is in the URL. */
import { formatNumber } from '../format'
import { Link } from '../router'

interface PaginationProps {
  page: number
  pageSize: number
  total: number
  /** the URL of another page */
  hrefOf: (page: number) => string
  label: string
}

export function Pagination({ page, pageSize, total, hrefOf, label }: PaginationProps) {
  const pages = Math.max(1, Math.ceil(total / pageSize))
  const first = total === 0 ? 0 : (page - 1) * pageSize + 1
  const last = Math.min(total, page * pageSize)
  return (
    <nav className="pagination" aria-label={label}>
      {page > 1 ? (
        <Link to={hrefOf(page - 1)} rel="prev">
          Previous page
        </Link>
      ) : (
        <span className="disabled" aria-hidden="true">
          Previous page
        </span>
      )}
      <span>
        Page {formatNumber(page)} of {formatNumber(pages)}
        {total > 0 && (
          <span className="muted">
            {' '}
            ({formatNumber(first)}–{formatNumber(last)} of {formatNumber(total)})
          </span>
        )}
      </span>
      {page < pages ? (
        <Link to={hrefOf(page + 1)} rel="next">
          Next page
        </Link>
      ) : (
        <span className="disabled" aria-hidden="true">
          Next page
        </span>
      )}
    </nav>
  )
}
