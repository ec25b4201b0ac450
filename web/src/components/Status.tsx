/** What a page shows while it loads, and when the API said no. */
import type { ApiError } from '../api'
import { useAuth } from '../auth'

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
