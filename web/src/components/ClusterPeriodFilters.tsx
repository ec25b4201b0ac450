/**
 * A page's head with its Cluster and Period filters (the Alerts and Admissions pages): the cluster's
 * select only where there is a choice, the period's from the page's own periods, the first of them
 * the default (left out of the URL).
 */
import { useMemo } from 'react'
import { sinceDaysAgo } from '../format'
import { useLocation } from '../router'
import { periodOptions, plainOptions, SelectField } from './SelectField'

/** The `days` of a query string, when it is one of `periods`; else the first of them. */
export function periodOf(search: URLSearchParams, periods: readonly number[]): number {
  const days = Number(search.get('days'))
  return periods.includes(days) ? days : periods[0]!
}

/** `days` for a URL: left out when it is the default (the first of `periods`). */
export const periodParam = (days: number, periods: readonly number[]): number | undefined =>
  days === periods[0] ? undefined : days

/** The clusters to choose from, sorted, the chosen one too: a link may name one with nothing recorded yet. */
export function clusterNames(known: readonly string[], chosen: string): string[] {
  return [...new Set([...known, ...(chosen ? [chosen] : [])])].sort()
}

/**
 * The page's view, read from the query string by `parse`, and what its reads take from it: the
 * window's start (`since`) and the cluster (undefined for all).
 */
export function useClusterPeriodView<V extends { cluster: string; days: number }>(
  parse: (search: URLSearchParams) => V,
): { view: V; since: string; cluster: string | undefined } {
  const { search } = useLocation()
  const view = parse(search)
  const since = useMemo(() => sinceDaysAgo(view.days), [view.days])
  return { view, since, cluster: view.cluster || undefined }
}

export function ClusterPeriodFilters({
  title,
  names,
  cluster,
  days,
  periods,
  onChange,
}: {
  title: string
  /** the clusters to choose from (`clusterNames`) */
  names: readonly string[]
  /** the chosen cluster; '' for all */
  cluster: string
  days: number
  periods: readonly number[]
  onChange: (change: { cluster: string } | { days: number }) => void
}) {
  return (
    <div className="page-head">
      <h1>{title}</h1>
      <div className="filter-row">
        {(names.length > 1 || cluster) && (
          <SelectField
            label="Cluster"
            inline
            all="All clusters"
            value={cluster}
            options={plainOptions(names)}
            onChange={(c) => onChange({ cluster: c })}
          />
        )}
        <SelectField
          label="Period"
          inline
          value={String(days)}
          options={periodOptions(periods)}
          onChange={(d) => onChange({ days: Number(d) })}
        />
      </div>
    </div>
  )
}
