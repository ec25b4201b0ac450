/**
 * Conformance of MutatingPolicy and GeneratingPolicy with Kyverno's policy library: the `*-mpol` and
 * `*-gpol` categories of kyverno/policies (read in place from the shared corpus) run through `plimsoll
 * kyverno test`'s runner; their patched and generated resources are compared with the tests' files. The
 * target of issue 12 (>= 95% of these results reproduced) is asserted.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { findKyvernoTests } from '../../src/kyverno-test/discover.js'
import { runKyvernoTest } from '../../src/kyverno-test/run.js'
import { readKyvernoTest } from '../../src/kyverno-test/test-file.js'
import { corpusPath } from '../helpers/corpus.js'

const root = corpusPath('kyverno-policies')
const categories = readdirSync(root).filter((d) => /-(mpol|gpol)$/.test(d))
const entries = categories
  .flatMap((c) => findKyvernoTests(join(root, c)))
  .flatMap((f) => runKyvernoTest(readKyvernoTest(f)).entries)

const tally = (kind: string) => {
  const mine = entries.filter((e) => e.kind === kind)
  return { total: mine.length, matched: mine.filter((e) => e.outcome === 'matched').length }
}

describe('MutatingPolicy and GeneratingPolicy (kyverno/policies *-mpol and *-gpol tests)', () => {
  it('reproduces their mutate and generate results', () => {
    const mutate = tally('mutate')
    const generate = tally('generate')
    // 32 mutate and 1 generate results at kyverno/policies b9c4317.
    expect(mutate.total).toBeGreaterThanOrEqual(32)
    expect(generate.total).toBeGreaterThanOrEqual(1)
    expect(mutate.matched / mutate.total).toBeGreaterThanOrEqual(0.95)
    expect(generate.matched / generate.total).toBeGreaterThanOrEqual(0.95)
    expect(
      entries.filter((e) => e.outcome !== 'matched').map((e) => `${e.expected.policy}: ${e.detail}`),
    ).toEqual([])
  })
})
