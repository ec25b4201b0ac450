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
    // Which entry expired, as `excepted` names the one that holds: to renew it or remove it.
    expect(seccomp.exceptionExpired).toEqual({
      source: 'file',
      file: exceptions,
      index: 1,
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

describe('exception annotations', () => {
  const annotated = join(tmp, 'annotated.yaml')
  writeFileSync(
    annotated,
    `apiVersion: v1
kind: Pod
metadata:
  name: node-agent
  namespace: monitoring
  annotations:
    # owned, until a date
    plimsoll.dev/except.pss-privileged: "reads the host's devices (PLAT-88)"
    plimsoll.dev/except.pss-privileged.owner: platform@example.com
    plimsoll.dev/except.pss-privileged.expires: "2999-12-31"
    # expired
    plimsoll.dev/except.pss-seccomp-restricted: waiting for the runtime upgrade
    plimsoll.dev/except.pss-seccomp-restricted.owner: platform@example.com
    plimsoll.dev/except.pss-seccomp-restricted.expires: "2001-01-01"
    # the old form: neither owner nor expiry
    plimsoll.dev/except.pss-run-as-non-root: vendor image
    # an expiry that is not a date does not hold
    plimsoll.dev/except.read-only-root-filesystem: writes its cache under /
    plimsoll.dev/except.read-only-root-filesystem.owner: platform@example.com
    plimsoll.dev/except.read-only-root-filesystem.expires: next quarter
    # an owner without expiry
    plimsoll.dev/except.liveness-probe-missing: a batch agent
    plimsoll.dev/except.liveness-probe-missing.owner: platform@example.com
spec:
  containers:
  - name: agent
    image: nginx:1.27
    securityContext:
      privileged: true
`,
  )
  const scanned = (args: string[] = []) => run(['scan', annotated, '--fail-on', 'critical', ...args])
  const findings = () =>
    JSON.parse(scanned(['--format', 'json', '--show-excepted']).stdout).findings as {
      checkId: string
      excepted?: unknown
      exceptionExpired?: unknown
    }[]
  const of = (checkId: string) => findings().find((f) => f.checkId === checkId)!

  it('carries an owner and an expiry, and hides the finding until then', () => {
    expect(of('pss-privileged').excepted).toEqual({
      source: 'annotation',
      reason: "reads the host's devices (PLAT-88)",
      owner: 'platform@example.com',
      expires: '2999-12-31',
    })
    const r = scanned()
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(/pss-privileged/)
    expect(scanned(['--show-excepted']).stdout).toMatch(
      /EXCEPTED .*\(excepted: reads the host's devices \(PLAT-88\); owner platform@example.com, until 2999-12-31\)/,
    )
  })

  it('stops hiding the finding once expired, and says so', () => {
    const seccomp = of('pss-seccomp-restricted')
    expect(seccomp.excepted).toBeUndefined()
    expect(seccomp.exceptionExpired).toEqual({
      source: 'annotation',
      reason: 'waiting for the runtime upgrade',
      owner: 'platform@example.com',
      expires: '2001-01-01',
    })
    expect(scanned().stdout).toMatch(
      /MEDIUM .*\(exception expired 2001-01-01; owner platform@example.com\)\s+\[pss-seccomp-restricted\]/,
    )
  })

  it('does not let an expiry that is not a date hide the finding', () => {
    const rofs = of('read-only-root-filesystem')
    expect(rofs.excepted).toBeUndefined()
    expect(rofs.exceptionExpired).toMatchObject({ source: 'annotation', expires: 'next quarter' })
    expect(scanned().stdout).toMatch(
      /\(exception's expiry 'next quarter' is not a date like 2027-01-31; owner platform@example.com\)\s+\[read-only-root-filesystem\]/,
    )
  })

  it('keeps the old form working, and warns that it has neither owner nor expiry', () => {
    expect(of('pss-run-as-non-root').excepted).toEqual({ source: 'annotation', reason: 'vendor image' })
    const r = scanned()
    expect(r.stdout).not.toMatch(/\[pss-run-as-non-root\]/)
    expect(r.stdout).toMatch(
      /Exception without owner or expiry: plimsoll.dev\/except.pss-run-as-non-root on Pod monitoring\/node-agent \(.*annotated.yaml\): add plimsoll.dev\/except.pss-run-as-non-root.owner and .expires annotations/,
    )
    expect(r.stderr).toMatch(
      /plimsoll: warning: 1 exception has no owner and no expiry: plimsoll.dev\/except.pss-run-as-non-root on Pod monitoring\/node-agent/,
    )
    expect(scanned(['--show-excepted']).stdout).toMatch(
      /EXCEPTED .*\(excepted: vendor image; no owner, no expiry\)\s+\[pss-run-as-non-root\]/,
    )
    // The warning is for the exceptions that have neither: one with an owner only is shown as it is.
    expect(r.stderr).not.toMatch(/liveness-probe-missing/)
    expect(of('liveness-probe-missing').excepted).toEqual({
      source: 'annotation',
      reason: 'a batch agent',
      owner: 'platform@example.com',
    })
    expect(scanned(['--show-excepted']).stdout).toMatch(
      /\(excepted: a batch agent; owner platform@example.com, no expiry\)/,
    )
  })

  it('warns in JSON runs too, on stderr, leaving the report alone', () => {
    const r = scanned(['--format', 'json'])
    expect(r.stderr).toMatch(/warning: 1 exception has no owner and no expiry/)
    expect(JSON.parse(r.stdout).summary.excepted).toBe(3)
  })
})
