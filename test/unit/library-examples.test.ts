/** Every built-in check ships a passing and a failing example, and reaches the documented verdict on each. */
import { describe, expect, it } from 'vitest'
import { runExamples } from '../../src/policy/examples.js'
import { loadLibrary } from '../../src/policy/library.js'

const library = loadLibrary()

describe.each(library.checks.map((c) => ({ id: c.metadata.id, check: c })))('$id', ({ check }) => {
  it('has at least one passing and one failing example', () => {
    const kinds = check.definition.examples.map((e) => e.expect)
    expect(kinds).toContain('pass')
    expect(kinds).toContain('fail')
  })

  it('reaches the expected verdict on every example', () => {
    const wrong = runExamples(check, library.podTemplates)
      .filter((o) => !o.ok)
      .map(
        (o) =>
          `${o.file}:${o.line} '${o.example}': expected ${o.expected}, got ${o.got} ${o.messages.join('; ')}`,
      )
    expect(wrong, wrong.join('\n')).toEqual([])
  })
})
