/**
 * At the Restricted level, Pod Security Admission runs a Restricted check instead of the Baseline one it
 * supersedes (capabilities, seccomp, volume types over hostPath volumes, /proc mount from v1.35), so a
 * pod is told about each problem once. The level engines (what Kyverno's podSecurity subrule and the
 * cluster's PSA view ask) must do the same, and only from the version at which the Restricted check
 * applies.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { evaluatePodSecurity } from '../../src/policy/kyverno/pod-security.js'
import { builtinPodSecurity } from '../../src/policy/library.js'
import { run } from '../helpers/cli.js'

const secure = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  seccompProfile: { type: 'RuntimeDefault' },
  capabilities: { drop: ['ALL'] },
}

function pod(spec: Record<string, unknown>) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec }
}

function failing(level: 'baseline' | 'restricted', version: string, object: Record<string, unknown>) {
  return [
    ...new Set(
      builtinPodSecurity
        .evaluate(level, version, object)
        .filter((r) => r.status === 'fail')
        .map((r) => r.check.id),
    ),
  ].sort()
}

const addsSysAdmin = pod({
  containers: [
    { name: 'c', image: 'nginx', securityContext: { ...secure, capabilities: { add: ['SYS_ADMIN'] } } },
  ],
})
const hostPath = pod({
  containers: [{ name: 'c', image: 'nginx', securityContext: secure }],
  volumes: [{ name: 'h', hostPath: { path: '/var/log' } }],
})
const unconfined = pod({
  containers: [
    { name: 'c', image: 'nginx', securityContext: { ...secure, seccompProfile: { type: 'Unconfined' } } },
  ],
})

describe('Restricted controls that supersede Baseline ones', () => {
  it('reports added capabilities once, as the Restricted control', () => {
    expect(failing('restricted', 'latest', addsSysAdmin)).toEqual(['pss-capabilities-restricted'])
    expect(failing('baseline', 'latest', addsSysAdmin)).toEqual(['pss-capabilities-baseline'])
  })

  it('reports a hostPath volume once, as a restricted volume type', () => {
    expect(failing('restricted', 'latest', hostPath)).toEqual(['pss-volume-types'])
    expect(failing('baseline', 'latest', hostPath)).toEqual(['pss-host-path-volumes'])
  })

  it('reports an Unconfined seccomp profile once', () => {
    expect(failing('restricted', 'latest', unconfined)).toEqual(['pss-seccomp-restricted'])
  })

  it('keeps the Baseline check before the Restricted one applies', () => {
    // capabilities_restricted starts at v1.22, seccompProfile_restricted at v1.19
    expect(failing('restricted', 'v1.21', addsSysAdmin)).toEqual(['pss-capabilities-baseline'])
    const annotated = {
      ...pod({ containers: [{ name: 'c', image: 'nginx', securityContext: secure }] }),
      metadata: { name: 'p', annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } },
    }
    expect(failing('restricted', 'v1.18', annotated)).toEqual(['pss-seccomp-baseline'])
  })

  it('names each control once in a Kyverno podSecurity message', () => {
    const v = { type: 'podSecurity' as const, level: 'restricted' as const, version: 'latest', exclude: [] }
    const out = evaluatePodSecurity(v, hostPath, builtinPodSecurity)
    expect(out.ok).toBe(false)
    const message = out.ok ? '' : out.message
    expect(message).toContain('Volume Types')
    expect(message).not.toContain('HostPath Volumes')
  })
})

describe('plimsoll scan --framework pss-restricted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-restricted-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'pod.yaml')
  writeFileSync(
    file,
    `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: nginx:1.27
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL], add: [SYS_ADMIN]}}
  volumes:
  - {name: h, hostPath: {path: /var/log}}
`,
  )
  interface Report {
    findings: { checkId: string; severity: string }[]
    compliance: { controls: { framework: string; id: string; status: string; checks: string[] }[] }
  }
  const scan = (...extra: string[]) => {
    const r = run([
      'scan',
      file,
      '--framework',
      'pss-restricted',
      '--fail-on',
      'none',
      '--format',
      'json',
      ...extra,
    ])
    expect(r.stderr).toBe('')
    return JSON.parse(r.stdout) as Report
  }

  it('reports each problem once, as the Restricted control, at the Baseline severity', () => {
    const report = scan()
    expect(report.findings.map((f) => [f.checkId, f.severity]).sort()).toEqual([
      ['pss-capabilities-restricted', 'high'],
      ['pss-volume-types', 'high'],
    ])
    // The Baseline rows of the compliance report follow the Restricted checks that enforce them.
    const row = (framework: string, id: string) =>
      report.compliance.controls.find((c) => c.framework === framework && c.id === id)
    expect(row('pss-baseline', 'host-path-volumes')).toMatchObject({
      status: 'fail',
      checks: ['pss-volume-types'],
    })
    expect(row('pss-baseline', 'capabilities')).toMatchObject({
      status: 'fail',
      checks: ['pss-capabilities-restricted'],
    })
  })

  it('keeps the Baseline capabilities check at a version before the Restricted one', () => {
    const ids = scan('--pss-version', 'v1.21')
      .findings.map((f) => f.checkId)
      .sort()
    expect(ids).toEqual(['pss-capabilities-baseline', 'pss-volume-types'])
  })
})
