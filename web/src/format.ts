/** Words and numbers as the pages show them. */

const number = new Intl.NumberFormat('en')

export const formatNumber = (n: number): string => number.format(n)

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatNumber(n)} ${n === 1 ? one : many}`
}

export const formatPercent = (score: number): string => `${score.toFixed(1)}%`

/** An ISO time as its UTC day (the API's days are UTC). */
export const formatDay = (iso: string): string => iso.slice(0, 10)

export function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
}

/** Today, YYYY-MM-DD in UTC, as the API compares expiry dates. */
export const today = (): string => new Date().toISOString().slice(0, 10)

export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
}

const ACRONYMS = new Set(['rbac', 'cis', 'nsa', 'pss'])

export function capitalize(s: string): string {
  return ACRONYMS.has(s) ? s.toUpperCase() : s.charAt(0).toUpperCase() + s.slice(1)
}

/** A resource as people name it: `Deployment shop/api`, or `ClusterRole admin` when cluster-scoped. */
export function resourceName(r: { kind: string; namespace: string; name: string }): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`
}

/** "a, b, c" into a list, blanks dropped. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

/** An ISO time to the second, for what happens live: `04:45:35 UTC`. */
export function formatClock(iso: string): string {
  return `${iso.slice(11, 19)} UTC`
}

/** A window's start: `days` before the current hour (one value an hour, so that the URL of a read is stable). */
export function sinceDaysAgo(days: number): string {
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000
  return new Date(hour - days * 86_400_000).toISOString()
}
