/**
 * Follows a cluster's live events for a page: connects, hands each event to `onEvent`, reconnects with
 * a growing delay when the stream drops, and stops when the page goes (or the cluster is not watched
 * here). Signing in or out connects again with the new token.
 */
import { useEffect, useRef, useState } from 'react'
import { type ApiError, type ClusterEvent, streamClusterEvents } from './api'
import { useAuth } from './auth'

export type Connection =
  | { state: 'off' }
  | { state: 'connecting' }
  | { state: 'open'; since: string }
  /** dropped; the next try is at `at` (ms since the epoch) */
  | { state: 'retrying'; at: number; error: string }
  /** the server said no for good: 404 (not watched here), 401, 403 */
  | { state: 'refused'; error: ApiError }

/** The first retry waits about a second, each next one twice as long, up to half a minute. */
const FIRST_DELAY_MS = 1000
const MAX_DELAY_MS = 30_000
/** The server says the health every 5 s: this long without a line, the connection is taken as lost. */
const SILENCE_MS = 20_000

function delayOf(attempt: number): number {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt)
  // Jitter, so that every open dashboard does not come back at the same instant after a restart.
  return Math.round(base * (0.5 + Math.random() * 0.5))
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}

/**
 * `onEvent` gets every event; `onOpen` is called when a connection opens, since what changed before it
 * (between the page's fetch and the stream, or while it was down) was not told: the page fetches again.
 * `enabled` false: no connection.
 */
export function useClusterEvents(
  name: string,
  enabled: boolean,
  onEvent: (event: ClusterEvent) => void,
  onOpen: () => void,
): Connection {
  const { version } = useAuth()
  const [connection, setConnection] = useState<Connection>({ state: enabled ? 'connecting' : 'off' })
  // The latest callbacks, without reconnecting when the page passes new ones on each render.
  const handlers = useRef({ onEvent, onOpen })
  useEffect(() => {
    handlers.current = { onEvent, onOpen }
  })

  useEffect(() => {
    void version // a new token: connect again with it
    if (!enabled) {
      setConnection({ state: 'off' })
      return
    }
    const controller = new AbortController()
    const { signal } = controller
    const follow = async () => {
      let attempt = 0
      while (!signal.aborted) {
        setConnection({ state: 'connecting' })
        let opened = false
        let error = 'the server ended the stream'
        // One connection: ended by the page going, or by silence (a connection lost without a word).
        const current = new AbortController()
        const end = () => current.abort()
        signal.addEventListener('abort', end, { once: true })
        let silent = false
        let watchdog: ReturnType<typeof setTimeout> | undefined
        const arm = () => {
          clearTimeout(watchdog)
          watchdog = setTimeout(() => {
            silent = true
            current.abort()
          }, SILENCE_MS)
        }
        arm()
        try {
          await streamClusterEvents(
            name,
            (event) => {
              arm()
              if (!opened) {
                // The server sends the health at once: the first line says the stream is up.
                opened = true
                attempt = 0
                setConnection({ state: 'open', since: new Date().toISOString() })
                handlers.current.onOpen()
              }
              handlers.current.onEvent(event)
            },
            current.signal,
          )
        } catch (e) {
          const err = e as ApiError
          if (err.status === 404 || err.status === 401 || err.status === 403) {
            setConnection({ state: 'refused', error: err })
            return
          }
          error = err.message
        } finally {
          clearTimeout(watchdog)
          signal.removeEventListener('abort', end)
        }
        if (signal.aborted) return
        if (silent) error = `no word from the server in ${SILENCE_MS / 1000} s`
        const wait = delayOf(attempt++)
        setConnection({ state: 'retrying', at: Date.now() + wait, error })
        await sleep(wait, signal)
      }
    }
    void follow()
    return () => controller.abort()
  }, [name, enabled, version])

  return connection
}
