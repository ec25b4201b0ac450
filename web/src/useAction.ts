/** A write (or a read on demand) a button starts: busy while it runs, the API's refusal kept to show. */
import { useState } from 'react'
import { type ApiError, asApiError } from './api'

export interface Action {
  busy: boolean
  error: ApiError | undefined
  /** Runs `action`: busy meanwhile, the last error cleared first and what it throws kept. */
  run: (action: () => Promise<void>) => Promise<void>
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<ApiError>()
  const run = async (action: () => Promise<void>) => {
    setBusy(true)
    setError(undefined)
    try {
      await action()
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setBusy(false)
    }
  }
  return { busy, error, run }
}
