/**
 * The build's cache of the built-in check files (src/policy/check-cache.ts): what it gives is what
 * reading the YAML gives, and a file whose text changed since the build is read from its YAML.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cachedDefinitions, writeCheckCache } from '../../src/policy/check-cache.js'
import { parseCheckFile } from '../../src/policy/check-loader.js'
import { BUILTIN_POLICY_DIR, checkFiles } from '../../src/policy/library.js'
import { tempFiles } from '../helpers/temp-files.js'

const files = checkFiles(BUILTIN_POLICY_DIR)

describe('the built-in checks cache', () => {
  it('holds every built-in check file, each exactly as its YAML reads', () => {
    expect(files.length).toBeGreaterThan(50)
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      expect(cachedDefinitions(file, text), file).toEqual(parseCheckFile(file, text))
    }
  })

  it('misses a text the build did not see, and gives fresh objects on each hit', () => {
    const file = files[0]!
    const text = readFileSync(file, 'utf8')
    expect(cachedDefinitions(file, `${text}\n# edited`)).toBeUndefined()
    const a = cachedDefinitions(file, text)!
    a[0]!.metadata.title = 'changed'
    expect(cachedDefinitions(file, text)![0]!.metadata.title).not.toBe('changed')
  })

  it('writes a cache of the files it is given', () => {
    const { dir } = tempFiles('plimsoll-check-cache-')
    const out = join(dir, 'cache.json')
    expect(writeCheckCache(files.slice(0, 2), out)).toBe(2)
    const written = JSON.parse(readFileSync(out, 'utf8')) as { entries: Record<string, string> }
    expect(Object.keys(written.entries)).toHaveLength(2)
  })
})
