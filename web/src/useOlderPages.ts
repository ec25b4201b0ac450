/**
 * A list read newest first, a page at a time: the first page as fetched, then older ones on demand
 * ("Load older …"), each read before the oldest shown.
 */
import { useMemo, useState } from 'react'
import type { ApiError } from './api'
import { useAction } from './useAction'

export interface OlderPages<T> {
  /** the first page, then the older ones read */
  all: T[]
  /** whether the last page read was full: then there may be older ones */
  more: boolean
  busy: boolean
  error: ApiError | undefined
  loadOlder: () => Promise<void>
}

/** `read(before)`: the page of at most `pageSize` items older than the item `before` (an id). */
export function useOlderPages<T extends { id: number }>(
  first: T[],
  pageSize: number,
  read: (before: number) => Promise<T[]>,
): OlderPages<T> {
  const [older, setOlder] = useState<T[]>([])
  const [olderMore, setMore] = useState<boolean>()
  const { busy, error, run } = useAction()
  const all = useMemo(() => [...first, ...older], [first, older])
  const more = olderMore ?? first.length >= pageSize
  const loadOlder = async () => {
    const last = all[all.length - 1]
    if (!last) return
    await run(async () => {
      const page = await read(last.id)
      setOlder((o) => [...o, ...page])
      setMore(page.length >= pageSize)
    })
  }
  return { all, more, busy, error, loadOlder }
}
