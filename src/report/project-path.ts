import { isAbsolute, relative, sep } from 'node:path'

/**
 * A finding's file as a path within the directory the scan ran in, by segments: a relative path as
 * given, an absolute one made relative; undefined for a file outside that directory (code scanning
 * services then need an absolute URI or the path as it was).
 */
export function projectSegments(file: string, cwd: string): string[] | undefined {
  let rel = file
  if (isAbsolute(file) || /^[A-Za-z]:[\\/]/.test(file)) {
    rel = relative(cwd, file)
    if (rel.startsWith('..') || rel === '') return undefined
  }
  return rel.split(sep === '\\' ? /[\\/]/ : '/')
}
