import { useEffect } from 'react'

/** The document's title: the page's own, then the app's. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Plimsoll` : 'Plimsoll'
  }, [title])
}
