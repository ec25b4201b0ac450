/** What a page shows while it loads, and when the API said no. */
import type { ReactNode } from 'react'
import type { ApiError } from '../api'
import { useAuth } from '../auth'
import type { ApiState } from '../useApi'

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" role="status">
      {what}…
    </p>
  )
}

export function ErrorMessage({ error, retry }: { error: ApiError; retry?: () => void }) {
  const { openSignIn } = useAuth()
  const title =
    error.status === 404
      ? 'Not found'
      : error.status === 401
        ? 'Sign in to see this'
        : error.status === 403
          ? 'Not allowed'
          : 'Something went wrong'
  return (
    <div className="error-box" role="alert">
      <p>
        <strong>{title}</strong>: {error.message}
      </p>
      {error.details.length > 0 && (
        <ul>
          {error.details.map((d) => (
            <li key={`${d.in}${d.path}${d.message}`}>
              {d.path || d.in}: {d.message}
            </li>
          ))}
        </ul>
      )}
      <div className="actions">
        {error.status === 401 && (
          <button type="button" onClick={() => openSignIn()}>
            Sign in
          </button>
        )}
        {retry && error.status !== 404 && (
          <button type="button" onClick={retry}>
            Try again
          </button>
        )}
      </div>
    </div>
  )
}

interface FetchedProps<T> {
  state: ApiState<T>
  /** the loading status's text, e.g. "Loading the checks" */
  loading: string
  /** whether the answer has nothing to show: then `empty` is shown instead of `children` */
  isEmpty?: (data: T) => boolean
  empty?: ReactNode
  children: (data: T) => ReactNode
}

/**
 * What an endpoint's answer shows: its error (with "Try again"), a loading status until it comes, then
 * `children` (or `empty`). An answer kept while the next one loads stays shown under the next one's error.
 */
export function Fetched<T>({ state, loading, isEmpty, empty, children }: FetchedProps<T>) {
  const { data, error } = state
  return (
    <>
      {error && <ErrorMessage error={error} retry={state.reload} />}
      {data === undefined ? (
        !error && <Loading what={loading} />
      ) : isEmpty?.(data) ? (
        <p className="empty">{empty}</p>
      ) : (
        children(data)
      )}
    </>
  )
}

/** A change the API refused: what went wrong, and "Sign in as admin" when it needs an admin token. */
export function ChangeError({ error, children }: { error: ApiError; children: ReactNode }) {
  const { openSignIn } = useAuth()
  return (
    <div className="error-box" role="alert">
      {children}
      {(error.status === 401 || error.status === 403) && (
        <button type="button" onClick={() => openSignIn()}>
          Sign in as admin
        </button>
      )}
    </div>
  )
}
