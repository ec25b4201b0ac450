/** The findings explorer: filters, search, grouping, sorting and pages, all held in the URL. */
import { useCallback, useMemo } from 'react'
import { endpoints, type FindingSort } from '../api'
import { ExplorerFilters, type FilterOptions } from '../components/ExplorerFilters'
import { FindingsTable } from '../components/FindingsTable'
import { Pagination } from '../components/Pagination'
import { Fetched } from '../components/Status'
import {
  apiQuery,
  COMMON_KINDS,
  type ExplorerState,
  effectiveSort,
  explorerHref,
  naturalOrder,
  PAGE_SIZE,
  parseExplorer,
} from '../explorer'
import { plural } from '../format'
import { Link, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

function useFilterOptions(state: ExplorerState): FilterOptions {
  const checks = useApi(endpoints.checks())
  const summary = useApi(endpoints.summary())
  return useMemo(
    () => ({
      checks: [...(checks.data ?? [])]
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((c) => ({ value: c.id, label: c.id })),
      namespaces: (summary.data?.byNamespace ?? [])
        .map((n) => n.namespace)
        .filter(Boolean)
        .sort(),
      kinds: [...new Set([...COMMON_KINDS, ...state.kind])].sort(),
      targets: summary.data?.targets ?? [],
    }),
    [checks.data, summary.data, state.kind],
  )
}

export function FindingsPage() {
  usePageTitle('Findings')
  const { search } = useLocation()
  const state = useMemo(() => parseExplorer(search), [search])
  const options = useFilterOptions(state)
  const findings = useApi(endpoints.findings(apiQuery(state)), { keep: true })

  const change = useCallback(
    (c: Partial<ExplorerState>, replace = false) =>
      navigate(explorerHref({ ...state, ...c, page: 1 }), { replace }),
    [state],
  )
  const sortBy = (sort: FindingSort) =>
    change({
      sort,
      order: sort === state.sort ? (state.order === 'asc' ? 'desc' : 'asc') : naturalOrder(sort),
    })

  const page = findings.data
  return (
    <>
      <h1>Findings</h1>
      <ExplorerFilters
        state={state}
        options={options}
        onChange={change}
        onClear={() => navigate('/findings')}
      />
      <div className="results-head">
        <p role="status" aria-live="polite" className="result-count">
          {page ? plural(page.total, 'finding') : ''}
          {findings.loading && <span className="muted"> (loading…)</span>}
        </p>
        {state.group !== 'none' && (
          <p className="muted">
            Grouped by {state.group}: sorted by{' '}
            {effectiveSort(state) === 'check' ? 'check' : 'namespace and name'}; groups count the rows on this
            page.
          </p>
        )}
      </div>
      <Fetched
        state={findings}
        loading="Loading findings"
        isEmpty={(p) => p.items.length === 0}
        empty={
          state.page > 1 && (page?.total ?? 0) > 0 ? (
            <>
              This page is past the end.{' '}
              <Link to={explorerHref({ ...state, page: 1 })}>Go to the first page</Link>.
            </>
          ) : (
            'No finding matches these filters.'
          )
        }
      >
        {(p) => (
          <>
            <FindingsTable
              items={p.items}
              group={state.group}
              sort={state.sort}
              order={state.order}
              onSort={sortBy}
            />
            <Pagination
              label="Findings pages"
              page={state.page}
              pageSize={PAGE_SIZE}
              total={p.total}
              hrefOf={(n) => explorerHref({ ...state, page: n })}
            />
          </>
        )}
      </Fetched>
    </>
  )
}
