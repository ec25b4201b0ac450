/**
 * Conformance with Kubernetes' own Pod Security Admission fixtures: for every level, every version and
 * every fixture Pod, our verdict (allowed = no failing check) must equal the fixture's (pass/ or fail/).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseVersion } from '../../src/policy/check-loader.js'
import { loadLibrary } from '../../src/policy/library.js'
import { podSecurityEngine } from '../../src/policy/pod-security-levels.js'
import { parseSource } from '../../src/resources/parse.js'
import { corpusPath } from '../helpers/corpus.js'

const root = corpusPath('psa-fixtures')
const library = loadLibrary()
const LEVELS = { baseline: ['pss-baseline'], restricted: ['pss-baseline', 'pss-restricted'] } as const

function checksFor(level: keyof typeof LEVELS) {
  const frameworks: readonly string[] = LEVELS[level]
  return library.checks.filter((c) => c.metadata.controls.some((ctl) => frameworks.includes(ctl.framework)))
}

const cases: { level: keyof typeof LEVELS; version: string }[] = []
for (const level of Object.keys(LEVELS) as (keyof typeof LEVELS)[]) {
  for (const version of readdirSync(join(root, level))) cases.push({ level, version })
}
cases.sort((a, b) => a.level.localeCompare(b.level) || parseVersion(a.version)! - parseVersion(b.version)!)

describe('Pod Security Admission fixtures', () => {
  it('finds fixtures for both levels and every version v1.0..v1.32', () => {
    expect(cases.filter((c) => c.level === 'baseline').map((c) => c.version)).toContain('v1.0')
    expect(cases.filter((c) => c.level === 'restricted').map((c) => c.version)).toContain('v1.32')
    expect(cases.length).toBe(66)
  })

  it('has Pod Security checks for both levels', () => {
    expect(checksFor('baseline').length).toBeGreaterThanOrEqual(10)
    expect(checksFor('restricted').length).toBeGreaterThan(checksFor('baseline').length)
  })

  it.each(cases)('$level $version: every verdict matches', ({ level, version }) => {
    // The level engines Kyverno's podSecurity subrule and the cluster's PSA view use: at Restricted, the
    // Baseline checks a Restricted one supersedes at this version are left out, as PSA leaves them out.
    const engine = podSecurityEngine(level, version)
    const mismatches: string[] = []
    let total = 0
    for (const expected of ['pass', 'fail'] as const) {
      const dir = join(root, level, version, expected)
      let files: string[]
      try {
        files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
      } catch {
        continue
      }
      for (const file of files) {
        const { resources, errors } = parseSource(join(dir, file), readFileSync(join(dir, file), 'utf8'))
        expect(errors).toEqual([])
        for (const resource of resources) {
          total++
          const bad = engine.evaluate(resource).filter((r) => r.status !== 'pass')
          const got = bad.length === 0 ? 'pass' : 'fail'
          if (got !== expected) {
            const why = bad
              .map((r) => `${r.check.id}${r.status === 'error' ? ' (error)' : ''}: ${r.message}`)
              .join('; ')
            mismatches.push(
              `${level}/${version}/${expected}/${file}: expected ${expected}, got ${got}${why ? ` — ${why}` : ''}`,
            )
          }
        }
      }
    }
    expect(total).toBeGreaterThan(0)
    expect(mismatches, mismatches.join('\n')).toEqual([])
  })
})
