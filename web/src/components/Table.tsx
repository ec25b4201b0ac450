/**
 * A table of items: one row each under a row of column headers, named by a caption only screen readers
 * see (the page's heading says it for the eye). With `empty`, no items show that text instead of a table.
 */
import type { ReactNode } from 'react'

/** A column header: its text, or with `num` a column of numbers, with `hidden` one only screen readers read. */
export type Column = string | { label: string; num?: boolean; hidden?: boolean }

interface TableProps<T> {
  caption: string
  columns: readonly Column[]
  items: readonly T[]
  /** the row of an item, with its key */
  children: (item: T) => ReactNode
  /** what to say when there are no items (else an empty table) */
  empty?: ReactNode
  testId?: string
}

function ColumnHeader({ column }: { column: Column }) {
  const c = typeof column === 'string' ? { label: column } : column
  return (
    <th scope="col" className={c.num ? 'num' : undefined}>
      {c.hidden ? <span className="visually-hidden">{c.label}</span> : c.label}
    </th>
  )
}

export function Table<T>({ caption, columns, items, children, empty, testId }: TableProps<T>) {
  if (items.length === 0 && empty !== undefined) return <p className="empty">{empty}</p>
  return (
    <div className="table-wrap">
      <table data-testid={testId}>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <ColumnHeader key={typeof c === 'string' ? c : c.label} column={c} />
            ))}
          </tr>
        </thead>
        <tbody>{items.map(children)}</tbody>
      </table>
    </div>
  )
}
