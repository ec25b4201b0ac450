/**
 * A small router over the history API: the location as React state, navigate(), <Link>, and matching
 * of path patterns like `/resources/:id`. Every page has a URL; query strings hold page state.
 */
import { type AnchorHTMLAttributes, type MouseEvent, useMemo, useSyncExternalStore } from 'react'

const NAVIGATE_EVENT = 'plimsoll:navigate'

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange)
  window.addEventListener(NAVIGATE_EVENT, onChange)
  return () => {
    window.removeEventListener('popstate', onChange)
    window.removeEventListener(NAVIGATE_EVENT, onChange)
  }
}

const snapshot = () => window.location.pathname + window.location.search

export interface Location {
  pathname: string
  search: URLSearchParams
}

export function useLocation(): Location {
  const href = useSyncExternalStore(subscribe, snapshot)
  return useMemo(() => {
    const url = new URL(href, window.location.origin)
    return { pathname: url.pathname, search: url.searchParams }
  }, [href])
}

/** Goes to an app URL; `replace` rewrites the current history entry (typing in a search box). */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return
  const samePage = new URL(to, window.location.origin).pathname === window.location.pathname
  if (options.replace) window.history.replaceState(null, '', to)
  else window.history.pushState(null, '', to)
  window.dispatchEvent(new Event(NAVIGATE_EVENT))
  if (!samePage) window.scrollTo(0, 0)
}

/** `path` with `params` as its query string (empty values left out). */
export function href(path: string, params: Record<string, string | number | undefined> = {}): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(key, String(value))
  const qs = search.toString()
  return qs ? `${path}?${qs}` : path
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }

/** An ordinary link (open in a new tab works) that navigates in the page on a plain click. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e)
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    if (rest.target && rest.target !== '_self') return
    e.preventDefault()
    navigate(to)
  }
  return <a href={to} onClick={handle} {...rest} />
}

/** The parameters of `pattern` (`/checks/:id`) in `pathname`, decoded; undefined if it does not match. */
export function match(pattern: string, pathname: string): Record<string, string> | undefined {
  const want = pattern.split('/').filter(Boolean)
  const have = pathname.split('/').filter(Boolean)
  if (want.length !== have.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    const h = have[i]!
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(h)
      } catch {
        return undefined
      }
    } else if (w !== h) return undefined
  }
  return params
}
