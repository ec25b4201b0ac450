/**
 * Every built-in audit rule (policies/audit-rules) ships at least one event it detects and one it
 * ignores, and reaches the documented verdict (and output, where the example names one) on each.
 */
import { describe, expect, it } from 'vitest'
import { loadAuditRules, runAuditRuleExamples, stagesOf } from '../../src/audit/rules/index.js'

const set = loadAuditRules()

it('the built-in rules are there, listening at the stages an audit policy must not omit', () => {
  expect(set.rules.length).toBeGreaterThanOrEqual(19)
  expect(stagesOf(set.rules).sort()).toEqual(['ResponseComplete', 'ResponseStarted'])
})

describe.each(set.rules.map((r) => ({ id: r.metadata.id, rule: r })))('$id', ({ rule }) => {
  it('has at least one example it detects and one it ignores', () => {
    const kinds = rule.definition.examples.map((e) => e.expect)
    expect(kinds).toContain('detect')
    expect(kinds).toContain('ignore')
  })

  it('reaches the expected verdict on every example', () => {
    const wrong = runAuditRuleExamples(rule)
      .filter((o) => !o.ok)
      .map(
        (o) =>
          `${o.file}:${o.line} '${o.example}': expected ${o.expected}, got ${o.got}: ${o.messages.join('; ')}`,
      )
    expect(wrong, wrong.join('\n')).toEqual([])
  })

  it('says what it finds, why it matters and what to do', () => {
    const m = rule.metadata
    expect(m.description?.length).toBeGreaterThan(20)
    expect(m.rationale?.length).toBeGreaterThan(20)
    expect(m.remediation?.length).toBeGreaterThan(20)
    expect(m.tags).toContain('k8s')
  })

  it('is one rule per file, named after its id', () => {
    expect(rule.definition.origin.file.endsWith(`/${rule.metadata.id}.yaml`)).toBe(true)
  })
})
