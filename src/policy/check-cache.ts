/**
 * The built-in check files, read once at build time: `npm run build` writes each file's definitions as
 * JSON next to the compiled code, keyed by a hash of the file's text. Reading YAML with the positions
 * error messages need costs about 150 ms a process (and a scan starts one per thread); JSON.parse of the
 * same is a few. A file whose text is not in the cache (edited since the build, or the user's own) is
 * read from its YAML as always: the cache can be stale or absent and the result is the same.
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CheckDefinition } from './check.js'
import { parseCheckFile } from './check-loader.js'

// dist/check-cache.json of the package, whether this module runs from dist/ or (in tests) from src/.
const CACHE_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'check-cache.json')
const FORMAT = 1

interface CacheFile {
  format: number
  /** text hash -> the file's definitions as JSON, `origin.file` left empty */
  entries: Record<string, string>
}

let entries: Record<string, string> | null | undefined

const hashOf = (text: string) => createHash('sha256').update(text).digest('hex')

function load(): Record<string, string> | null {
  try {
    const cache = JSON.parse(readFileSync(CACHE_FILE, 'utf8')) as CacheFile
    return cache.format === FORMAT ? cache.entries : null
  } catch {
    return null
  }
}

/** The definitions of a check file whose text the cache holds, each a fresh object; else undefined. */
export function cachedDefinitions(file: string, text: string): CheckDefinition[] | undefined {
  if (entries === undefined) entries = load()
  const json = entries?.[hashOf(text)]
  if (json === undefined) return undefined
  const defs = JSON.parse(json) as CheckDefinition[]
  for (const def of defs) def.origin.file = file
  return defs
}

/** Writes the cache for these check files (the build's step); returns how many files it holds. */
export function writeCheckCache(files: readonly string[], out = CACHE_FILE): number {
  const cache: CacheFile = { format: FORMAT, entries: {} }
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const defs = parseCheckFile(file, text).map((d) => ({ ...d, origin: { ...d.origin, file: '' } }))
    cache.entries[hashOf(text)] = JSON.stringify(defs)
  }
  writeFileSync(out, JSON.stringify(cache))
  return files.length
}
