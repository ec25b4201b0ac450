/** Every built-in check links to a page that explains it; reports use the link as the rule's help URI (SARIF `helpUri`). */
import { describe, expect, it } from 'vitest'
import { loadLibrary } from '../../src/policy/library.js'

const library = loadLibrary()

describe('built-in library docs links', () => {
  it('loads the built-in checks', () => {
    expect(library.checks.length).toBeGreaterThan(0)
  })

  it.each(library.checks.map((c) => ({ id: c.metadata.id, docs: c.metadata.docs })))(
    '$id has an https docs URL',
    ({ docs }) => {
      expect(docs, 'metadata.docs is missing').toBeTypeOf('string')
      const url = new URL(docs as string)
      expect(url.protocol).toBe('https:')
      expect(url.hostname).not.toBe('')
    },
  )
})
