import { Link } from '../router'
import { usePageTitle } from '../usePageTitle'

export function NotFoundPage() {
  usePageTitle('Not found')
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <Link to="/">Go to the overview</Link>.
      </p>
    </>
  )
}
