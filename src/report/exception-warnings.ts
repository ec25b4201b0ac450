/**
 * Exceptions that nobody answers for and that never end: annotations without `.owner` and `.expires`.
 * They still hide their findings (the old form keeps working), but the scan says so, once per annotation,
 * so that the debt they hide gets an owner and a date.
 */
import { exceptionAnnotation, isUnaccounted } from '../policy/exceptions.js'
import type { Finding } from '../scan/scan.js'

export interface UnaccountedException {
  /** the annotation's key, `plimsoll.dev/except.<check-id>` */
  annotation: string
  resource: Finding['resource']
  file: string
}

/** One entry per annotation and resource, however many findings (containers) it hides, in input order. */
export function unaccountedExceptions(findings: readonly Finding[]): UnaccountedException[] {
  const out = new Map<string, UnaccountedException>()
  for (const f of findings) {
    if (!f.excepted || !isUnaccounted(f.excepted)) continue
    const { resource: r, location: l } = f
    const key = [l.file, l.documentIndex, r.kind, r.namespace ?? '', r.name, f.checkId].join('\u0000')
    if (!out.has(key))
      out.set(key, { annotation: exceptionAnnotation(f.checkId), resource: r, file: l.template ?? l.file })
  }
  return [...out.values()]
}

export function resourceLabel(r: Finding['resource']): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name || '(unnamed)'}`
}

/** The one warning line a scan prints on stderr, naming the first few. */
export function unaccountedWarning(list: readonly UnaccountedException[]): string | undefined {
  if (list.length === 0) return undefined
  const shown = list.slice(0, 3).map((u) => `${u.annotation} on ${resourceLabel(u.resource)}`)
  const more = list.length > shown.length ? `, and ${list.length - shown.length} more` : ''
  const has = list.length === 1 ? '1 exception has' : `${list.length} exceptions have`
  return `${has} no owner and no expiry: ${shown.join(', ')}${more}; give each a .owner and an .expires annotation (see docs/cli.md#exceptions)`
}
