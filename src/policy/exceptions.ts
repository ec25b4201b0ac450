/**
 * Exceptions written on the resource itself: `plimsoll.dev/except.<check-id>: "<why>"`. One annotation
 * per excepted check, so that each exception carries its own reason and is reviewed with the manifest.
 * (The exceptions file, with owners and expiry dates, extends this.)
 */
export const EXCEPTION_ANNOTATION_PREFIX = 'plimsoll.dev/except.'

export interface Exception {
  source: 'annotation'
  reason: string
}

export function annotationException(object: Record<string, unknown>, checkId: string): Exception | undefined {
  const metadata = object.metadata
  if (metadata === null || typeof metadata !== 'object') return undefined
  const annotations = (metadata as Record<string, unknown>).annotations
  if (annotations === null || typeof annotations !== 'object') return undefined
  const value = (annotations as Record<string, unknown>)[`${EXCEPTION_ANNOTATION_PREFIX}${checkId}`]
  if (value === undefined || value === null) return undefined
  return { source: 'annotation', reason: String(value).trim() || '(no reason given)' }
}
