/** The check library, by severity then id, with a filter on its words. */
import { useId, useMemo } from 'react'
import { endpoints, SEVERITIES } from '../api'
import { CheckRowHeader } from '../components/Links'
import { SeverityBadge } from '../components/SeverityBadge'
import { Fetched } from '../components/Status'
import { Table } from '../components/Table'
import { capitalize } from '../format'
import { href, navigate, useLocation } from '../router'
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
      <Fetched state={checks} loading="Loading the checks">
        {(all) => (
          <>
            <p role="status" className="result-count">
              {shown.length} of {all.length} checks
            </p>
            <Table caption="Checks" columns={['Check', 'Severity', 'Category', 'Controls']} items={shown}>
              {(c) => (
                <tr key={c.id}>
                  <CheckRowHeader id={c.id} title={c.title} />
                  <td>
                    <SeverityBadge severity={c.severity} />
                  </td>
                  <td>{capitalize(c.category)}</td>
                  <td className="small">
                    {c.controls.map((x) => `${x.framework} ${x.id}`).join(', ') || '–'}
                  </td>
                </tr>
              )}
            </Table>
          </>
        )}
      </Fetched>
    </>
  )
}
