/** The user-written check in docs/check-format.md loads, compiles and reaches its documented verdicts. */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { expect, it } from 'vitest'
import { parseCheckFile } from '../../src/policy/check-loader.js'
import { compileCheck } from '../../src/policy/compile.js'
import { runExamples } from '../../src/policy/examples.js'
import { podTemplates } from '../helpers/checks.js'

it('the example check in docs/check-format.md works as documented', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '..', '..', 'docs', 'check-format.md'), 'utf8')
  const block = /## A complete example[^\n]*\n+```yaml\n([\s\S]*?)```/.exec(doc)?.[1]
  expect(block).toBeDefined()
  const [check] = parseCheckFile('docs/check-format.md', block!).map(compileCheck)
  expect(check!.metadata.id).toBe('acme-team-label')
  const outcomes = runExamples(check!, podTemplates)
  expect(outcomes.map((o) => [o.example, o.got])).toEqual([
    ['labelled', 'pass'],
    ['unlabelled', 'fail'],
  ])
})
