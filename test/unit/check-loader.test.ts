import { describe, expect, it } from 'vitest'
import { CheckLoadError, parseCheckFile } from '../../src/policy/check-loader.js'
import { compileCheck } from '../../src/policy/compile.js'
import { checkYaml } from '../helpers/checks.js'

function loadError(yaml: string): CheckLoadError {
  try {
    parseCheckFile('my-check.yaml', yaml).map(compileCheck)
  } catch (err) {
    if (err instanceof CheckLoadError) return err
    throw err
  }
  throw new Error('expected the check to be rejected')
}

const valid = `match: {kinds: [Deployment]}\nvalidations:\n- {expression: "true", message: m}`

describe('check loading', () => {
  it('loads a valid check with its origin line', () => {
    const [c] = parseCheckFile('a.yaml', `# comment\n---\n${checkYaml('ok', valid)}`)
    expect(c!.metadata).toMatchObject({ id: 'ok', severity: 'high', controls: [] })
    expect(c!.origin).toEqual({ file: 'a.yaml', line: 3 })
  })

  it('names the file, line, check and field of a bad severity', () => {
    const err = loadError(checkYaml('x', valid, 'urgent'))
    expect(err.message).toBe(
      "my-check.yaml:6: check 'x': metadata.severity: expected one of: info, low, medium, high, critical",
    )
  })

  it('rejects unknown fields, naming the allowed ones', () => {
    const err = loadError(checkYaml('x', `${valid}\nmatchh: {}`))
    expect(err.message).toMatch(
      /my-check.yaml:12: check 'x': spec.matchh: unknown field \(expected one of: match, scope/,
    )
  })

  it('reports a CEL syntax error with the line and the expression', () => {
    const err = loadError(
      checkYaml(
        'x',
        `match: {kinds: [Deployment]}\nvalidations:\n- message: m\n  expression: object.spec.replicas >`,
      ),
    )
    expect(err.line).toBe(12)
    expect(err.message).toMatch(/check 'x': validations\[0\].expression: CEL syntax error/)
    // The expression is drawn with a caret under the offending position.
    expect(err.message).toMatch(/\| object\.spec\.replicas >\n +\^/)
  })

  it('reports a CEL type error and a non-bool validation', () => {
    expect(
      loadError(
        checkYaml('x', `match: {kinds: [Pod]}\nvalidations:\n- {expression: "1 + 'a' == 2", message: m}`),
      ).message,
    ).toMatch(/CEL type error/)
    expect(
      loadError(checkYaml('x', `match: {kinds: [Pod]}\nvalidations:\n- {expression: "'a'", message: m}`))
        .message,
    ).toMatch(/expected an expression of type bool, got string/)
    expect(
      loadError(
        checkYaml('x', `match: {kinds: [Pod]}\nvalidations:\n- {expression: "nosuchfn(1)", message: m}`),
      ).message,
    ).toMatch(/nosuchfn/)
  })

  it('requires a message, valid ids, versions and scopes', () => {
    expect(
      loadError(checkYaml('x', `match: {kinds: [Pod]}\nvalidations:\n- {expression: "true"}`)).message,
    ).toMatch(/needs a 'message' or a 'messageExpression'/)
    expect(loadError(checkYaml('Bad_Id', valid)).message).toMatch(/metadata.id: must match/)
    expect(
      loadError(
        checkYaml(
          'x',
          `match: {kinds: [Pod]}\nversions:\n- since: 1.25\n  validations: [{expression: "true", message: m}]`,
        ),
      ).message,
    ).toMatch(/since: expected a version like 'v1.25'/)
    expect(
      loadError(
        checkYaml('x', `match: {kinds: [Pod]}\nscope: container\n${valid.split('\n').slice(1).join('\n')}`),
      ).message,
    ).toMatch(/scope: pod and container scopes need match kind 'PodTemplate'/)
  })

  it('reads examples and rejects malformed ones', () => {
    const withExamples = `${checkYaml('ok', valid)}examples:\n- name: good\n  expect: pass\n  version: v1.25\n  resource: {apiVersion: v1, kind: Pod}\n`
    const [c] = parseCheckFile('a.yaml', withExamples)
    expect(c!.examples).toEqual([
      { name: 'good', expect: 'pass', version: 25, resource: { apiVersion: 'v1', kind: 'Pod' }, line: 13 },
    ])
    expect(loadError(withExamples.replace('expect: pass', 'expect: maybe')).message).toMatch(
      /examples\[0\].expect: expected one of: pass, fail, skip/,
    )
    expect(loadError(withExamples.replace('version: v1.25', 'version: 25')).message).toMatch(
      /examples\[0\].version: expected a version/,
    )
  })

  it('reports invalid YAML in a check file with its line', () => {
    const err = loadError(`${checkYaml('ok', valid)}---\napiVersion: [\n`)
    expect(err.message).toMatch(/^my-check.yaml:14: invalid YAML/)
  })
})
