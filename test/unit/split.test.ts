import { describe, expect, it } from 'vitest'
import { splitDocuments } from '../../src/resources/split.js'

describe('splitDocuments', () => {
  it('splits on --- lines and keeps each document start line', () => {
    const chunks = splitDocuments('a: 1\n---\nb: 2\n--- # note\nc: 3\n')
    expect(chunks.map((c) => c.startLine)).toEqual([0, 1, 3])
    expect(chunks.map((c) => c.text.trim())).toEqual(['a: 1', 'b: 2', '# note\nc: 3'])
  })

  it('drops empty and comment-only documents, and a leading ---', () => {
    const chunks = splitDocuments('# header\n---\n---\n# only a comment\n---\nx: 1\n...\n')
    expect(chunks).toHaveLength(1)
    expect(chunks[0]!.startLine).toBe(4)
  })

  it('keeps content that follows the marker on the same line, at its column', () => {
    const [chunk] = splitDocuments('--- {a: 1}\n')
    expect(chunk!.text).toBe('    {a: 1}\n')
  })

  it('does not split on --- that is not a whole marker', () => {
    expect(splitDocuments('a: |\n  ---\nb: ---x\n')).toHaveLength(1)
    expect(splitDocuments('----\n')).toHaveLength(1)
  })

  it('lets directives introduce the next document', () => {
    const chunks = splitDocuments('%YAML 1.1\n---\na: 1\n')
    expect(chunks).toHaveLength(1)
    expect(chunks[0]!.text.trim()).toBe('a: 1')
  })

  it('handles CRLF line endings', () => {
    expect(splitDocuments('a: 1\r\n---\r\nb: 2\r\n')).toHaveLength(2)
  })
})
