import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
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

/** A user-written audit rule (docs/audit-rules-plimsoll.md), with one example of each verdict. */
const RULE = `apiVersion: plimsoll.dev/v1
kind: AuditRule
metadata:
  id: team-secret-deleted
  title: A Secret was deleted
  priority: warning
spec:
  match:
    verbs: [delete]
    resources: [secrets]
  condition: event.?responseStatus.?code.orValue(200) < 400
  output: '{{ event.user.username }} deleted secret {{ event.objectRef.name }}'
examples:
  - name: deleted
    expect: detect
    output: alice deleted secret db
    event:
      kind: Event
      stage: ResponseComplete
      verb: delete
      user: {username: alice}
      objectRef: {resource: secrets, namespace: shop, name: db}
      responseStatus: {code: 200}
  - name: refused
    expect: ignore
    event:
      kind: Event
      stage: ResponseComplete
      verb: delete
      user: {username: bob}
      objectRef: {resource: secrets, namespace: shop, name: db}
      responseStatus: {code: 403}
`

/** RULE under another id (ids are unique across the files linted together). */
const ruleWithId = (id: string) => RULE.replace('id: team-secret-deleted', `id: ${id}`)

/** The 1-based line of the first line of `text` that contains `part`. */
function lineOf(text: string, part: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(part))
  if (i < 0) throw new Error(`'${part}' is not in the text`)
  return i + 1
}

function write(dir: string, name: string, text: string): string {
  const file = join(dir, name)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, text)
  return file
}

describe('plimsoll policy lint, on audit rules (kind AuditRule)', () => {
  it('accepts the built-in audit rules, each read as an audit rule with its examples run', () => {
    const rules = readdirSync(join(POLICIES, 'audit-rules')).filter((f) => f.endsWith('.yaml'))
    const r = run(['policy', 'lint', join(POLICIES, 'audit-rules')])
    expect(r.code).toBe(0)
    const ok = r.stdout.match(
      /^ok {4}.*\/audit-rules\/[a-z0-9-]+\.yaml \(1 audit rule, \d+ examples passed\)$/gm,
    )
    expect(ok).toHaveLength(rules.length)
    expect(r.stdout).not.toMatch(/ERROR|no examples/)
    expect(r.stdout).toMatch(new RegExp(`^${rules.length} files, 0 errors$`, 'm'))
    expect(r.stdout).toMatch(
      /^ok {4}.*\/audit-rules\/pod-port-forward\.yaml \(1 audit rule, 3 examples passed\)$/m,
    )
  })

  it('lints the audit rules of the whole built-in library too, as audit rules', () => {
    const r = run(['policy', 'lint', POLICIES])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      /^ok {4}.*\/audit-rules\/secret-read\.yaml \(1 audit rule, \d+ examples passed\)$/m,
    )
    expect(r.stdout).toMatch(/^ok {4}.*\/pss\/privileged\.yaml \(1 check\)$/m)
    expect(r.stdout).not.toMatch(/kind: expected 'Check'/)
  })

  it('accepts a valid user rule, and notes one without examples', () => {
    const dir = join(tmp, 'rules-ok')
    const good = write(dir, 'team.yaml', RULE)
    const bare = write(dir, 'bare.yaml', ruleWithId('team-bare').split('examples:')[0]!)
    const r = run(['policy', 'lint', good, bare])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`ok    ${good} (1 audit rule, 2 examples passed)\n`)
    expect(r.stdout).toContain(`ok    ${bare} (1 audit rule, 0 examples passed) (no examples: team-bare)\n`)
    expect(r.stdout).toMatch(/^2 files, 0 errors$/m)
  })

  it('reports a bad CEL condition, a missing field and an example that fails, each with its file and line', () => {
    const dir = join(tmp, 'rules-broken')
    const badCelText = ruleWithId('team-bad-cel').replace('orValue(200) < 400', 'orValue(200) <')
    const badCel = write(dir, 'bad-cel.yaml', badCelText)
    const missingText = ruleWithId('team-missing').replace(/^ {2}output: .*\n/m, '')
    const missing = write(dir, 'missing-output.yaml', missingText)
    const wrongText = RULE.replace('{code: 403}', '{code: 204}')
    const wrong = write(dir, 'wrong-example.yaml', wrongText)
    const r = run(['policy', 'lint', dir])
    expect(r.code).toBe(2)
    expect(r.stdout).toMatch(
      new RegExp(
        `^ERROR ${badCel}:${lineOf(badCelText, 'condition:')}: rule 'team-bad-cel': spec\\.condition: CEL syntax error: .*\\n(.*\\n)*.*\\| event\\.\\?responseStatus\\.\\?code\\.orValue\\(200\\) <\\n +\\^`,
        'm',
      ),
    )
    expect(r.stdout).toContain(
      `ERROR ${missing}:${lineOf(missingText, 'spec:')}: rule 'team-missing': spec.output: is required (a string)\n`,
    )
    expect(r.stdout).toContain(
      `ERROR ${wrong}:${lineOf(wrongText, '- name: refused')}: rule 'team-secret-deleted': examples[1]: 'refused': expected ignore, got detect (bob deleted secret db)\n`,
    )
    // the good example of the same file is not reported, and no file is read as a check
    expect(r.stdout).not.toMatch(/'deleted'|kind: expected 'Check'|^ok/m)
    expect(r.stdout).toMatch(/^3 files, 3 errors$/m)
  })

  it('reports an example whose output differs, and an audit rule id defined twice', () => {
    const dir = join(tmp, 'rules-output')
    const outputText = ruleWithId('team-output').replace(
      'output: alice deleted secret db',
      'output: alice removed secret db',
    )
    const output = write(dir, 'a-output.yaml', outputText)
    const copy = write(dir, 'b-copy.yaml', RULE)
    const original = write(join(tmp, 'rules-first'), 'team.yaml', RULE)
    const r = run(['policy', 'lint', original, dir])
    expect(r.code).toBe(2)
    expect(r.stdout).toContain(
      `ERROR ${output}:${lineOf(outputText, '- name: deleted')}: rule 'team-output': examples[0]: 'deleted': expected detect, got detect (output: alice deleted secret db; expected output: alice removed secret db)\n`,
    )
    expect(r.stdout).toMatch(
      new RegExp(
        `^ERROR ${copy}:1: rule 'team-secret-deleted': metadata\\.id: duplicate id, first defined at ${original}:1$`,
        'm',
      ),
    )
    expect(r.stdout).toMatch(/^3 files, 2 errors$/m)
  })

  it('lints a directory mixing checks and audit rules, each with its own loader', () => {
    const dir = join(tmp, 'mixed')
    const check = write(dir, 'check.yaml', readFileSync(join(POLICIES, 'hardening', 'ssh-port.yaml'), 'utf8'))
    const rule = write(dir, 'rules/team.yaml', RULE)
    const builtinRule = write(
      dir,
      'rules/secret-read.yaml',
      readFileSync(join(POLICIES, 'audit-rules', 'secret-read.yaml'), 'utf8'),
    )
    const clean = run(['policy', 'lint', dir])
    expect(clean.code).toBe(0)
    expect(clean.stdout).toContain(`ok    ${check} (1 check)\n`)
    expect(clean.stdout).toContain(`ok    ${rule} (1 audit rule, 2 examples passed)\n`)
    expect(clean.stdout).toMatch(
      new RegExp(`^ok {4}${builtinRule} \\(1 audit rule, \\d+ examples passed\\)$`, 'm'),
    )
    expect(clean.stdout).toMatch(/^3 files, 0 errors$/m)

    // one broken rule and one broken check among them: both reported, the others still ok
    const badRule = write(
      dir,
      'rules/bad.yaml',
      RULE.replace('team-secret-deleted', 'team-bad').replace('priority: warning', 'priority: urgent'),
    )
    const badCheck = write(
      dir,
      'bad-check.yaml',
      'apiVersion: plimsoll.dev/v1\nkind: Check\nmetadata: {id: x, title: t, severity: low, category: c}\nspec:\n  match: {kinds: [Pod]}\n  validations:\n  - expression: object.spec.replicas >\n    message: m\n',
    )
    const broken = run(['policy', 'lint', dir])
    expect(broken.code).toBe(2)
    expect(broken.stdout).toMatch(
      new RegExp(
        `^ERROR ${badRule}:6: rule 'team-bad': metadata\\.priority: expected one of: emergency, `,
        'm',
      ),
    )
    expect(broken.stdout).toMatch(
      new RegExp(`^ERROR ${badCheck}:7: check 'x': validations\\[0\\]\\.expression: CEL syntax error`, 'm'),
    )
    expect(broken.stdout).toContain(`ok    ${rule} (1 audit rule, 2 examples passed)\n`)
    expect(broken.stdout).toContain(`ok    ${check} (1 check)\n`)
    expect(broken.stdout).toMatch(/^5 files, 2 errors$/m)
  })
})

describe('plimsoll policy test, on audit rules', () => {
  it("runs the audit rules' examples beside the checks', and fails naming the one that does not hold", () => {
    const dir = join(tmp, 'test-mixed')
    write(dir, 'check.yaml', readFileSync(join(POLICIES, 'hardening', 'ssh-port.yaml'), 'utf8'))
    write(dir, 'rules/team.yaml', RULE)
    const good = run(['policy', 'test', dir])
    expect(good.code).toBe(0)
    expect(good.stdout).toMatch(/^✓ {2}team-secret-deleted: 2\/2 examples$/m)
    expect(good.stdout).toMatch(/^✓ {2}ssh-port-exposed: \d+\/\d+ examples$/m)
    const wrongText = RULE.replace('{code: 403}', '{code: 204}')
    const wrong = write(dir, 'rules/team.yaml', wrongText)
    const bad = run(['policy', 'test', dir])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/^✗ {2}team-secret-deleted: 1\/2 examples$/m)
    expect(bad.stdout).toContain(
      `     ${wrong}:${lineOf(wrongText, '- name: refused')} 'refused': expected ignore, got detect (bob deleted secret db)\n`,
    )
    // the built-in rules on their own
    const builtin = run(['policy', 'test', join(POLICIES, 'audit-rules')])
    expect(builtin.code).toBe(0)
    expect(builtin.stdout).toMatch(/^Examples: \d+ passed, 0 failed$/m)
  })
})
