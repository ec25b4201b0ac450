/** The check library, by severity then id, with a filter on its words. */
import { useId, useMemo } from 'react'
import { endpoints, SEVERITIES } from '../api'
import { SeverityBadge } from '../components/SeverityBadge'
import { ErrorMessage, Loading } from '../components/Status'
import { capitalize } from '../format'
import { href, Link, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

export function ChecksPage() {
  usePageTitle('Checks')
  const checks = useApi(endpoints.checks())
  const { search } = useLocation()
  const q = search.get('q') ?? ''
  const inputId = useId()
  const shown = useMemo(() => {
    const words = q.toLowerCase().split(/\s+/).filter(Boolean)
    return [...(checks.data ?? [])]
      .filter((c) => words.every((w) => `${c.id} ${c.title} ${c.category}`.toLowerCase().includes(w)))
      .sort(
        (a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || a.id.localeCompare(b.id),
      )
  }, [checks.data, q])

  return (
    <>
      <h1>Checks</h1>
      <div className="field inline-field">
        <label htmlFor={inputId}>Filter checks</label>
        <input
          id={inputId}
          type="search"
          value={q}
          onChange={(e) => navigate(href('/checks', { q: e.target.value }), { replace: true })}
        />
      </div>
      {checks.error && <ErrorMessage error={checks.error} retry={checks.reload} />}
      {!checks.data && !checks.error && <Loading what="Loading the checks" />}
      {checks.data && (
        <>
          <p role="status" className="result-count">
            {shown.length} of {checks.data.length} checks
          </p>
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Checks</caption>
              <thead>
                <tr>
                  <th scope="col">Check</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Category</th>
                  <th scope="col">Controls</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((c) => (
                  <tr key={c.id}>
                    <th scope="row" className="cell-text">
                      <Link to={`/checks/${c.id}`}>{c.title}</Link>
                      <div className="small muted mono">{c.id}</div>
                    </th>
                    <td>
                      <SeverityBadge severity={c.severity} />
                    </td>
                    <td>{capitalize(c.category)}</td>
                    <td className="small">
                      {c.controls.map((x) => `${x.framework} ${x.id}`).join(', ') || '–'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  )
}
