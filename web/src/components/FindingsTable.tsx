/**
 * The explorer's table: one row per finding, grouped when asked (a row group per check, resource or
 * namespace), sortable by its column headers. A row opens its resource (click, Enter or Space).
 */
import type { KeyboardEvent, MouseEvent } from 'react'
import type { Finding, FindingSort, Order } from '../api'
import type { Group } from '../explorer'
import { formatDay, resourceName } from '../format'
import { Link, navigate } from '../router'
import { CheckLink, checkHref, FindingResourceLink, findingHref } from './Links'
import { SeverityBadge, StateBadge } from './SeverityBadge'

interface FindingsTableProps {
  items: Finding[]
  group: Group
  sort: FindingSort
  order: Order
  onSort: (sort: FindingSort) => void
}

interface Column {
  label: string
  sort?: FindingSort
  className?: string
}

const COLUMNS: Column[] = [
  { label: 'Severity', sort: 'severity' },
  { label: 'Check', sort: 'check' },
  { label: 'Resource', sort: 'resource' },
  { label: 'Message' },
  { label: 'First seen', sort: 'first_seen', className: 'nowrap' },
  { label: 'Last seen', sort: 'last_seen', className: 'nowrap' },
]

interface GroupOf {
  key: string
  label: string
  to?: string
  items: Finding[]
}

function groupsOf(items: Finding[], group: Group): GroupOf[] {
  const groups = new Map<string, GroupOf>()
  for (const f of items) {
    const [key, label, to] =
      group === 'check'
        ? [f.checkId, f.checkId, checkHref(f.checkId)]
        : group === 'resource'
          ? [String(f.resource.id), resourceName(f.resource), `/resources/${f.resource.id}`]
          : [f.resource.namespace, f.resource.namespace || '(cluster-scoped)', undefined]
    const g = groups.get(key) ?? { key, label, ...(to ? { to } : {}), items: [] }
    g.items.push(f)
    groups.set(key, g)
  }
  return [...groups.values()]
}

function SortHeader({
  column,
  sort,
  order,
  onSort,
  sortable,
}: {
  column: Column
  sort: FindingSort
  order: Order
  onSort: (sort: FindingSort) => void
  sortable: boolean
}) {
  const active = column.sort === sort
  const ariaSort = active ? (order === 'asc' ? 'ascending' : 'descending') : undefined
  if (!column.sort || !sortable)
    return (
      <th scope="col" className={column.className} aria-sort={sortable ? undefined : ariaSort}>
        {column.label}
      </th>
    )
  const s = column.sort
  return (
    <th scope="col" className={column.className} aria-sort={ariaSort}>
      <button type="button" className="sort-button" onClick={() => onSort(s)}>
        {column.label}
        <span aria-hidden="true" className="sort-mark">
          {active ? (order === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </button>
    </th>
  )
}

function FindingRow({ finding: f }: { finding: Finding }) {
  const open = () => navigate(findingHref(f))
  const onClick = (e: MouseEvent<HTMLTableRowElement>) => {
    if ((e.target as Element).closest('a, button')) return
    open()
  }
  const onKeyDown = (e: KeyboardEvent<HTMLTableRowElement>) => {
    if (e.target !== e.currentTarget) return
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault()
      open()
    }
  }
  return (
    <tr
      className="clickable"
      tabIndex={0}
      onClick={onClick}
      onKeyDown={onKeyDown}
      data-testid={`finding-${f.id}`}
    >
      <td>
        <SeverityBadge severity={f.severity} />
      </td>
      <td>
        <CheckLink id={f.checkId} />
      </td>
      <td>
        <FindingResourceLink finding={f} />
        <div className="muted small">{f.target}</div>
      </td>
      <td>
        {f.state !== 'open' && (
          <>
            <StateBadge state={f.state} />{' '}
          </>
        )}
        {f.message}
        <div className="muted small mono">
          {f.file}:{f.line}
        </div>
      </td>
      <td className="nowrap">{formatDay(f.firstSeen)}</td>
      <td className="nowrap">{formatDay(f.lastSeen)}</td>
    </tr>
  )
}

export function FindingsTable({ items, group, sort, order, onSort }: FindingsTableProps) {
  const sortable = group === 'none'
  const groups = sortable ? [{ key: 'all', label: '', items }] : groupsOf(items, group)
  return (
    <div className="table-wrap">
      <table className="findings-table">
        <caption className="visually-hidden">Findings</caption>
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <SortHeader
                key={c.label}
                column={c}
                sort={sort}
                order={order}
                onSort={onSort}
                sortable={sortable}
              />
            ))}
          </tr>
        </thead>
        {groups.map((g) => (
          <tbody key={g.key}>
            {!sortable && (
              <tr className="group-row">
                <th scope="rowgroup" colSpan={COLUMNS.length}>
                  {g.to ? <Link to={g.to}>{g.label}</Link> : g.label}{' '}
                  <span className="muted">({g.items.length} on this page)</span>
                </th>
              </tr>
            )}
            {g.items.map((f) => (
              <FindingRow key={f.id} finding={f} />
            ))}
          </tbody>
        ))}
      </table>
    </div>
  )
}
