/**
 * `plimsoll kyverno test` and Kyverno policies in `plimsoll scan --policy`, end to end with the built
 * binary: verdicts, a broken rule named with its policy, rule and line while the run goes on, and
 * unsupported features reported with the reason instead of passing.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { run } from '../helpers/cli.js'
import { corpusPath } from '../helpers/corpus.js'

const DATA = join(import.meta.dirname, '..', 'data', 'kyverno')

describe('plimsoll kyverno test', () => {
  it('passes a corpus test whose every expected result is reproduced', () => {
    const r = run([
      'kyverno',
      'test',
      corpusPath('kyverno-policies', 'best-practices', 'disallow-latest-tag'),
    ])
    expect(r.stdout).toMatch(/^PASS disallow-latest-tag \(\d+\/\d+ results reproduced\)/m)
    expect(r.stdout).toContain('1 tests: 1 passed, 0 not')
    expect(r.code).toBe(0)
  })

  it('names the broken rule, applies the mutate rule, and still checks the good rule', () => {
    const r = run(['kyverno', 'test', join(DATA, 'broken')])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain("policy 'team-rules', rule 'bad-operator': validate.deny.conditions")
    expect(r.stdout).toContain('Equalz')
    expect(r.stdout).toMatch(
      /ERROR team-rules\/bad-operator on Pod labelled: expected pass: .*policies\.yaml:8/,
    )
    // The summary counts validate and mutate results apart.
    expect(r.stdout).toContain(
      'validate: 2 of 3 expected results reproduced (66.7%), 0 unsupported, 0 not reproduced, 1 errors',
    )
    expect(r.stdout).toContain('mutate: 1 of 1 expected results reproduced (100.0%), 0 unsupported')
    const detailed = run(['kyverno', 'test', join(DATA, 'broken'), '--detailed'])
    expect(detailed.stdout).toMatch(/ok {3}team-rules\/require-team-label on Pod unlabelled: expected fail/)
    expect(detailed.stdout).toMatch(/ok {3}team-rules\/add-default-label on Pod labelled: expected pass/)
  })

  it('writes JSON, and says when nothing was found', () => {
    const r = run(['kyverno', 'test', join(DATA, 'broken'), '--format', 'json'])
    const json = JSON.parse(r.stdout) as { total: number; matched: number; unsupported: number }
    expect(json).toMatchObject({
      total: 4,
      matched: 3,
      unsupported: 0,
      byKind: {
        validate: { total: 3, matched: 2, unsupported: 0, error: 1, failed: 0 },
        mutate: { total: 1, matched: 1, unsupported: 0, error: 0, failed: 0 },
      },
    })
    const none = run(['kyverno', 'test', join(DATA, '..', 'vap')])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('no kyverno-test.yaml found')
  })
})

/** `plimsoll scan` of the two pods with the team's policies (one rule broken, one mutate), never gating. */
const scanBroken = (flags: string[]) =>
  run([
    'scan',
    join(DATA, 'broken', 'pods.yaml'),
    '--policy',
    join(DATA, 'broken', 'policies.yaml'),
    ...flags,
    '--fail-on',
    'none',
  ])

describe('plimsoll scan --policy with Kyverno policies', () => {
  it('reports findings from the policies that load, and the broken rule as an input error', () => {
    const r = scanBroken(['--no-builtin', '--format', 'json'])
    const report = JSON.parse(r.stdout) as {
      findings: { checkId: string; resource: { name: string }; message: string; location: { line: number } }[]
      errors: { file: string; message: string }[]
      mutations: { resource: { name: string }; mutations: { rule: string; patch: unknown[] }[] }[]
    }
    expect(report.findings.map((f) => [f.checkId, f.resource.name])).toEqual([
      ['team-rules:require-team-label', 'unlabelled'],
    ])
    expect(report.findings[0]!.message).toContain('Pod unlabelled needs a team label.')
    expect(report.errors).toHaveLength(1)
    expect(report.errors[0]!.message).toContain("rule 'bad-operator'")
    // The mutate rule runs before validation, as admission runs it, on both pods.
    expect(r.stderr).not.toContain("rule 'add-default-label': not run")
    expect(report.mutations.map((m) => [m.resource.name, m.mutations.map((x) => x.rule)])).toEqual([
      ['labelled', ['add-default-label']],
      ['unlabelled', ['add-default-label']],
    ])
    expect(report.mutations[0]!.mutations[0]!.patch).toEqual([
      { op: 'add', path: '/metadata/labels/managed', value: 'true' },
    ])
    expect(r.code).toBe(2)
  })

  it('puts Kyverno findings in SARIF with the rule as the SARIF rule', () => {
    const r = scanBroken(['--format', 'sarif'])
    const sarif = JSON.parse(r.stdout) as {
      runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string }[] }[]
    }
    expect(sarif.runs[0]!.tool.driver.rules.map((x) => x.id)).toContain('team-rules:require-team-label')
    expect(sarif.runs[0]!.results.map((x) => x.ruleId)).toContain('team-rules:require-team-label')
  })

  it('runs ValidatingAdmissionPolicies with their bindings and params from the policy folder', () => {
    const vap = join(import.meta.dirname, '..', 'data', 'vap')
    const r = run([
      'scan',
      join(DATA, 'vap-deployments.yaml'),
      '--policy',
      join(vap, 'replica-limit.yaml'),
      '--policy',
      join(vap, 'replica-limit-params.yaml'),
      '--no-builtin',
      '--format',
      'json',
      '--fail-on',
      'high',
    ])
    const report = JSON.parse(r.stdout) as {
      findings: { checkId: string; resource: { name: string }; message: string }[]
    }
    // Namespace `shop` has no environment=test label here: the non-test binding (limit 100) applies.
    expect(report.findings.map((f) => [f.checkId, f.resource.name, f.message])).toEqual([
      [
        'replicalimit-policy.example.com:replicalimit-binding-nontest',
        'huge',
        'object.spec.replicas must be no greater than 100 (params replica-limit-prod.example.com)',
      ],
    ])
    expect(r.code).toBe(1)
  })
})
