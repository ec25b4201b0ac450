/** Reads one endpoint for a component: fetched again when its path or the signed-in token changes. */
import { useCallback, useEffect, useState } from 'react'
import { type ApiError, asApiError, type Endpoint, get } from './api'
import { useAuth } from './auth'

export interface ApiState<T> {
  data: T | undefined
  error: ApiError | undefined
  loading: boolean
  reload: () => void
}

interface Held<T> {
  path: string | null
  data?: T
  error?: ApiError
  loading: boolean
}

/**
 * `keep`: while the next answer loads, go on showing the previous one (a list being filtered) instead of
 * nothing (a different resource).
 */
export function useApi<T>(endpoint: Endpoint<T> | null, options: { keep?: boolean } = {}): ApiState<T> {
  const path = endpoint?.path ?? null
  const { version } = useAuth()
  const [nonce, setNonce] = useState(0)
  const [held, setHeld] = useState<Held<T>>({ path: null, loading: path !== null })

  useEffect(() => {
    // The token's version and a reload count are reasons to fetch again, not inputs.
    void version
    void nonce
    if (path === null) return
    const controller = new AbortController()
    setHeld((h) => ({ ...h, loading: true }))
    get<T>({ path }, controller.signal).then(
      (data) => setHeld({ path, data, loading: false }),
      (e: unknown) => {
        if (!controller.signal.aborted) setHeld({ path, error: asApiError(e), loading: false })
      },
    )
    return () => controller.abort()
  }, [path, version, nonce])

  const reload = useCallback(() => setNonce((n) => n + 1), [])
  const current = held.path === path
  return {
    data: current || options.keep ? held.data : undefined,
    error: current ? held.error : undefined,
    loading: !current || held.loading,
    reload,
  }
}
