import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { run } from '../helpers/cli.js'

const POLICIES = resolve(import.meta.dirname, '..', '..', 'policies')
const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-policy-'))

describe('plimsoll policy test', () => {
  it("passes on the library's own examples", () => {
    const r = run(['policy', 'test', POLICIES])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^✓ {2}pss-privileged: \d+\/\d+ examples$/m)
    expect(r.stdout).toMatch(/^Examples: \d+ passed, 0 failed$/m)
  })

  it('fails, naming the example, when a check does not reach the documented verdict', () => {
    const original = readFileSync(join(POLICIES, 'hardening', 'ssh-port.yaml'), 'utf8')
    const wrong = join(tmp, 'ssh-port-wrong.yaml')
    writeFileSync(wrong, original.replace('orValue(0) == 22)', 'orValue(0) == 2222)'))
    const r = run(['policy', 'test', wrong])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/✗ {2}ssh-port-exposed: 1\/2 examples/)
    expect(r.stdout).toMatch(/ssh-port-wrong.yaml:\d+ 'port 22': expected fail, got pass/)
    expect(r.stdout).toMatch(/^Examples: 1 passed, 1 failed$/m)
  })
})

describe('plimsoll policy lint', () => {
  it('reports every invalid file with the position of the CEL mistake, and still checks the others', () => {
    const bad = join(tmp, 'bad.yaml')
    writeFileSync(
      bad,
      'apiVersion: plimsoll.dev/v1\nkind: Check\nmetadata: {id: x, title: t, severity: low, category: c}\nspec:\n  match: {kinds: [Pod]}\n  validations:\n  - expression: object.spec.replicas >\n    message: m\n',
    )
    const r = run(['policy', 'lint', bad, join(POLICIES, 'rbac')])
    expect(r.code).toBe(2)
    expect(r.stdout).toMatch(
      /ERROR .*bad.yaml:7: check 'x': validations\[0\].expression: CEL syntax error: Unexpected token: EOF\n.*\| object\.spec\.replicas >\n +\^/,
    )
    expect(r.stdout).toMatch(/^ok {4}.*rbac\/wildcard.yaml \(1 check\)$/m)
    expect(r.stdout).toMatch(/^\d+ files, 1 error$/m)
  })

  it('reports a check id defined twice, with both places', () => {
    const copy = join(tmp, 'copy.yaml')
    writeFileSync(copy, readFileSync(join(POLICIES, 'hardening', 'ssh-port.yaml'), 'utf8'))
    const r = run(['policy', 'lint', join(POLICIES, 'hardening'), copy])
    expect(r.code).toBe(2)
    expect(r.stdout).toMatch(
      /ERROR .*copy.yaml:1: check 'ssh-port-exposed': metadata.id: duplicate id, first defined at .*ssh-port.yaml:1/,
    )
  })

  it('accepts the built-in library', () => {
    const r = run(['policy', 'lint', POLICIES])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/, 0 errors$/m)
  })
})
