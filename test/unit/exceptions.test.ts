/** The exceptions file: hidden, shown, expired and stale exceptions, and clear errors for a bad file. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { run } from '../helpers/cli.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-exceptions-'))
const pod = join(tmp, 'pod.yaml')
writeFileSync(
  pod,
  'apiVersion: v1\nkind: Pod\nmetadata: {name: gpu-installer, namespace: team-a, labels: {team: gpu}}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n    securityContext:\n      privileged: true\n',
)
const exceptions = join(tmp, 'exceptions.yaml')
writeFileSync(
  exceptions,
  `apiVersion: plimsoll.dev/v1
kind: ExceptionList
exceptions:
  - checks: [pss-privileged]
    namespaces: ["team-*"]
    labels: {team: gpu}
    owner: gpu-team@example.com
    reason: the NVIDIA driver installer needs it
    expires: 2999-12-31
  - checks: [pss-seccomp-restricted]
    names: [gpu-*]
    owner: platform@example.com
    reason: waiting for the runtime upgrade
    expires: 2001-01-01
  - checks: ["rbac-*"]
    owner: nobody@example.com
    reason: copied from another repository
    expires: 2999-12-31
`,
)
const json = (args: string[]) =>
  JSON.parse(run(['scan', pod, '--format', 'json', '--exceptions', exceptions, ...args]).stdout)

describe('exceptions file', () => {
  it('hides a matching, unexpired exception and does not fail the gate on it', () => {
    const r = run(['scan', pod, '--exceptions', exceptions])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(/pss-privileged/)
    expect(json([]).summary.excepted).toBe(1)
  })

  it('shows it with owner and expiry under --show-excepted', () => {
    const priv = json(['--show-excepted']).findings.find(
      (f: { checkId: string }) => f.checkId === 'pss-privileged',
    )
    expect(priv.excepted).toMatchObject({
      source: 'file',
      owner: 'gpu-team@example.com',
      expires: '2999-12-31',
    })
    expect(run(['scan', pod, '--exceptions', exceptions, '--show-excepted']).stdout).toMatch(
      /EXCEPTED .*\(excepted: the NVIDIA driver installer needs it; owner gpu-team@example.com, until 2999-12-31\)/,
    )
  })

  it('stops hiding an expired exception and says that it expired', () => {
    const seccomp = json([]).findings.find((f: { checkId: string }) => f.checkId === 'pss-seccomp-restricted')
    expect(seccomp.excepted).toBeUndefined()
    expect(seccomp.exceptionExpired).toEqual({
      owner: 'platform@example.com',
      reason: 'waiting for the runtime upgrade',
      expires: '2001-01-01',
    })
    expect(run(['scan', pod, '--exceptions', exceptions]).stdout).toMatch(
      /\(exception expired 2001-01-01; owner platform@example.com\)/,
    )
  })

  it('reports an exception that matches nothing as stale', () => {
    expect(json([]).staleExceptions).toEqual([
      {
        file: exceptions,
        index: 2,
        owner: 'nobody@example.com',
        reason: 'copied from another repository',
        checks: ['rbac-*'],
      },
    ])
    expect(run(['scan', pod, '--exceptions', exceptions]).stdout).toMatch(
      /Stale exception .*exceptions.yaml #3 \(rbac-\*; owner nobody@example.com\) matches no finding/,
    )
  })

  it('requires an owner, a reason and an expiry date', () => {
    const bad = join(tmp, 'bad.yaml')
    writeFileSync(
      bad,
      'apiVersion: plimsoll.dev/v1\nkind: ExceptionList\nexceptions:\n  - checks: [pss-privileged]\n    owner: me\n    reason: because\n',
    )
    const r = run(['scan', pod, '--exceptions', bad])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /--exceptions: .*bad.yaml: exceptions\[0\].expires: required, a date like 2027-03-31/,
    )
  })
})
