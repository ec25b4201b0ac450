import { type PathSegment, parsePath } from '../resources/types.js'

/**
 * What a validation's path is relative to: the scope's root (resource, pod spec or container), the
 * resource itself (`$.`), or the pod template's metadata (`@podMetadata.`), where annotations live.
 */
export type PathRoot = 'scope' | 'resource' | 'podMetadata'

export function splitPathRoot(text: string): { root: PathRoot; path: PathSegment[] } {
  if (text.startsWith('$.')) return { root: 'resource', path: parsePath(text.slice(2)) }
  if (text.startsWith('@podMetadata.'))
    return { root: 'podMetadata', path: parsePath(text.slice('@podMetadata.'.length)) }
  return { root: 'scope', path: parsePath(text) }
}
