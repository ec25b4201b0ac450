/**
 * `plimsoll scan --as-server v1.N`: each pod (and built-in pod template) judged as that release's API
 * server would store it. For every change of policies/data/server-defaulting.yaml, a manifest whose
 * verdict differs as written and as stored, at releases on both sides of the change's boundaries; the
 * Pod Security fixtures come from the shared corpus (PLIMSOLL_CORPUS).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type Library, loadLibrary } from '../../src/policy/library.js'
import {
  asServerRelease,
  builtinServerDefaulting,
  parseServerDefaulting,
  ServerDefaultingError,
  serverDefaulting,
} from '../../src/resources/as-server.js'
import { parseSource } from '../../src/resources/parse.js'
import { PodTemplateTable } from '../../src/resources/pod-templates.js'
import { type ScanReport, scan } from '../../src/scan/scan.js'
import { run } from '../helpers/cli.js'
import { corpusPath } from '../helpers/corpus.js'
import { tempFiles } from '../helpers/temp-files.js'

const { file } = tempFiles('plimsoll-as-server-')
const fixture = (...parts: string[]) => corpusPath('psa-fixtures', ...parts)

/** A check over the AppArmor field only (as field-only policies are): a container must be confined by it. */
const apparmorFieldCheck = file(
  'apparmor-field.yaml',
  `apiVersion: plimsoll.dev/v1
kind: Check
metadata:
  id: apparmor-field-set
  title: Containers are confined by the appArmorProfile field
  severity: high
  category: security
spec:
  match: { kinds: [PodTemplate] }
  scope: container
  validations:
    - expression: >-
        container.?securityContext.?appArmorProfile.?type.orValue(
        podSpec.?securityContext.?appArmorProfile.?type.orValue('')) in ['RuntimeDefault', 'Localhost']
      messageExpression: "'container ' + container.name + ' has no confining appArmorProfile field'"
      path: securityContext.appArmorProfile
`,
)

/** A check over the legacy AppArmor annotations only (as annotation-only policies were). */
const apparmorAnnotationCheck = file(
  'apparmor-annotation.yaml',
  `apiVersion: plimsoll.dev/v1
kind: Check
metadata:
  id: apparmor-annotation-set
  title: Containers are confined by the AppArmor annotation
  severity: high
  category: security
spec:
  match: { kinds: [PodTemplate] }
  scope: container
  validations:
    - expression: >-
        podMetadata.?annotations.orValue({})[?('container.apparmor.security.beta.kubernetes.io/' +
        container.name)].orValue('') == 'runtime/default'
      message: no runtime/default AppArmor annotation
      path: securityContext
`,
)

const builtin = loadLibrary({})
const withApparmorChecks = loadLibrary({ policies: [apparmorFieldCheck, apparmorAnnotationCheck] })

async function scanAs(
  input: string,
  { asServer, pss, library = builtin }: { asServer?: number; pss?: number; library?: Library } = {},
): Promise<ScanReport> {
  expect(library.policyErrors).toEqual([])
  return scan({
    inputs: [input],
    library,
    jobs: 1,
    ...(pss === undefined ? {} : { version: pss }),
    ...(asServer === undefined ? {} : { asServer }),
  })
}

const fails = (r: ScanReport, checkId: string) => r.findings.some((f) => f.checkId === checkId)

/** Whether the check fails as written, then as each release would store the input. */
async function verdicts(
  input: string,
  checkId: string,
  releases: number[],
  options: { pss?: number; library?: Library } = {},
): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = { written: fails(await scanAs(input, options), checkId) }
  for (const n of releases) out[`v1.${n}`] = fails(await scanAs(input, { ...options, asServer: n }), checkId)
  return out
}

describe('the data file', () => {
  it('covers v1.16 to the newest release, and every entry has a source', () => {
    const table = builtinServerDefaulting()
    expect(table.oldest).toBe(16)
    expect(table.newest).toBeGreaterThanOrEqual(35)
    expect(table.entries.map((e) => e.id)).toEqual([
      'seccomp-annotation-to-field',
      'seccomp-field-to-annotation',
      'apparmor-annotation-to-field',
      'apparmor-field-to-annotation',
      'procmount-default-while-gate-off',
    ])
    for (const e of table.entries) expect(e.source.length).toBeGreaterThan(0)
  })

  it('names the file, line and field of a mistake', () => {
    const text = `apiVersion: plimsoll.dev/v1
kind: ServerDefaulting
oldest: v1.16
newest: v1.35
changes:
  - id: seccomp-annotation-to-field
    title: t
    objects: [Pod]
    from: v1.19
    until: v1.19
    what: w
    source: [https://example.org]
`
    expect(() => parseServerDefaulting('sd.yaml', text)).toThrow(ServerDefaultingError)
    expect(() => parseServerDefaulting('sd.yaml', text)).toThrow(
      'sd.yaml:10: changes[0].until: is not after from',
    )
    expect(() =>
      parseServerDefaulting('sd.yaml', text.replace('seccomp-annotation-to-field', 'made-up')),
    ).toThrow(/sd\.yaml:6: changes\[0\]\.id: expected one of the changes Plimsoll can make/)
  })

  it('accepts v1.N within the covered releases and says which are covered otherwise', () => {
    expect(asServerRelease('v1.26')).toBe(26)
    expect(asServerRelease('1.33')).toBe(33)
    expect(asServerRelease('v1.15')).toMatch(
      /v1\.15 is not covered: the releases known are v1\.16 to v1\.3\d/,
    )
    expect(asServerRelease('v1.99')).toMatch(/not covered/)
    expect(asServerRelease('latest')).toMatch(
      /expected a Kubernetes release like v1\.26 \(v1\.16 to v1\.3\d\)/,
    )
  })
})

describe('seccomp annotations copied into the fields (v1.19 to v1.26, Pods)', () => {
  it('a pod annotated unconfined passes Baseline as written, fails as v1.19..v1.26 store it, passes from v1.27', async () => {
    const pod = fixture('baseline', 'v1.0', 'fail', 'seccompprofile_baseline0.yaml')
    expect(await verdicts(pod, 'pss-seccomp-baseline', [18, 19, 26, 27])).toEqual({
      written: false,
      'v1.18': false,
      'v1.19': true,
      'v1.26': true,
      'v1.27': false,
    })
  })

  it('runtime/default and localhost/ annotations meet Restricted only where they are copied', async () => {
    const pod = fixture('baseline', 'v1.0', 'pass', 'seccompprofile_baseline0.yaml')
    expect(await verdicts(pod, 'pss-seccomp-restricted', [18, 26, 27])).toEqual({
      written: true,
      'v1.18': true,
      'v1.26': false,
      'v1.27': true,
    })
  })

  it('records what changed, and points the finding at the annotation it came from', async () => {
    const pod = fixture('baseline', 'v1.0', 'fail', 'seccompprofile_baseline0.yaml')
    const report = await scanAs(pod, { asServer: 26 })
    expect(report.asServer?.version).toBe('v1.26')
    expect(report.asServer?.changed).toEqual([
      {
        resource: { apiVersion: 'v1', kind: 'Pod', name: 'seccompprofile_baseline0' },
        location: { file: pod, line: 1, documentIndex: 0 },
        changes: [
          {
            change: 'seccomp-annotation-to-field',
            path: 'spec.securityContext.seccompProfile',
            value: { type: 'Unconfined' },
            from: 'metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]',
          },
        ],
      },
    ])
    const finding = report.findings.find((f) => f.checkId === 'pss-seccomp-baseline')!
    const annotationLine =
      readFileSync(pod, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('seccomp.security.alpha.kubernetes.io/pod')) + 1
    expect(finding.location.line).toBe(annotationLine)
  })

  it('leaves a Deployment template as written: only Pods are synced', async () => {
    const deployment = file(
      'seccomp-deployment.yaml',
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata:
      labels: { app: web }
      annotations: { seccomp.security.alpha.kubernetes.io/pod: unconfined }
    spec:
      containers: [{ name: app, image: nginx }]
`,
    )
    const report = await scanAs(deployment, { asServer: 26 })
    expect(fails(report, 'pss-seccomp-baseline')).toBe(false)
    expect(report.asServer?.changed).toEqual([])
  })
})

describe('seccomp fields copied into the annotations (v1.19 to v1.24, Pods)', () => {
  it('an Unconfined field fails the pre-v1.19 Baseline (which reads annotations) as v1.24 stores it, not as v1.25 does', async () => {
    const pod = file(
      'seccomp-field.yaml',
      `apiVersion: v1
kind: Pod
metadata: { name: web }
spec:
  securityContext: { seccompProfile: { type: Unconfined } }
  containers: [{ name: app, image: nginx }]
`,
    )
    expect(await verdicts(pod, 'pss-seccomp-baseline', [18, 19, 24, 25], { pss: 18 })).toEqual({
      written: false,
      'v1.18': false,
      'v1.19': true,
      'v1.24': true,
      'v1.25': false,
    })
  })
})

describe('AppArmor annotations copied into the fields (v1.30 on, Pods)', () => {
  it('an annotation-only pod meets a field-only check from v1.30', async () => {
    const pod = file(
      'apparmor-annotation.yaml',
      `apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations: { container.apparmor.security.beta.kubernetes.io/app: runtime/default }
spec:
  containers: [{ name: app, image: nginx }]
`,
    )
    const options = { library: withApparmorChecks }
    expect(await verdicts(pod, 'apparmor-field-set', [29, 30, 35], options)).toEqual({
      written: true,
      'v1.29': true,
      'v1.30': false,
      'v1.35': false,
    })
  })

  it('is not copied for a Windows pod, nor when the pod-level field already says the same', async () => {
    const server = serverDefaulting(35)
    const table = builtin.podTemplates
    const pod = (spec: string) =>
      parseSource(
        'p.yaml',
        `apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations: { container.apparmor.security.beta.kubernetes.io/app: runtime/default }
spec:
${spec}
  containers: [{ name: app, image: nginx }]
`,
      ).resources[0]!
    expect(server.apply(pod('  os: { name: windows }'), table)).toBeUndefined()
    expect(
      server.apply(pod('  securityContext: { appArmorProfile: { type: RuntimeDefault } }'), table),
    ).toBeUndefined()
    expect(
      server.apply(pod('  securityContext: { appArmorProfile: { type: Unconfined } }'), table)?.changes,
    ).toEqual([
      {
        change: 'apparmor-annotation-to-field',
        path: 'spec.containers[0].securityContext.appArmorProfile',
        value: { type: 'RuntimeDefault' },
        from: 'metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"]',
      },
    ])
  })
})

describe('AppArmor fields copied into the annotations (v1.30 to v1.33, Pods)', () => {
  it('a field-only pod meets an annotation-only check as v1.30..v1.33 store it, not from v1.34', async () => {
    const pod = file(
      'apparmor-field.yaml',
      `apiVersion: v1
kind: Pod
metadata: { name: web }
spec:
  securityContext: { appArmorProfile: { type: RuntimeDefault } }
  containers: [{ name: app, image: nginx }]
`,
    )
    const options = { library: withApparmorChecks }
    expect(await verdicts(pod, 'apparmor-annotation-set', [29, 30, 33, 34], options)).toEqual({
      written: true,
      'v1.29': true,
      'v1.30': false,
      'v1.33': false,
      'v1.34': true,
    })
  })
})

describe('procMount reset to Default while the ProcMountType gate is off (to v1.32, Pods and templates)', () => {
  it('an Unmasked /proc passes Baseline as v1.16..v1.32 store it, and fails from v1.33', async () => {
    // The fixture runs in a user namespace (hostUsers: false), which policy v1.35 exempts: judge at v1.34.
    const pod = fixture('baseline', 'v1.0', 'fail', 'procmount0.yaml')
    expect(await verdicts(pod, 'pss-proc-mount', [16, 30, 32, 33, 35], { pss: 34 })).toEqual({
      written: true,
      'v1.16': false,
      'v1.30': false,
      'v1.32': false,
      'v1.33': true,
      'v1.35': true,
    })
  })

  it('resets an init container of a Deployment template too, but not a custom resource', async () => {
    const workloads = file(
      'procmount-workloads.yaml',
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      initContainers: [{ name: init, image: busybox, securityContext: { procMount: Unmasked } }]
      containers: [{ name: app, image: nginx }]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: { name: web }
spec:
  template:
    spec:
      containers: [{ name: app, image: nginx, securityContext: { procMount: Unmasked } }]
`,
    )
    const report = await scanAs(workloads, { asServer: 32 })
    const failing = report.findings.filter((f) => f.checkId === 'pss-proc-mount').map((f) => f.resource.kind)
    expect(failing).toEqual(['Rollout'])
    expect(report.asServer?.changed.map((c) => c.changes)).toEqual([
      [
        {
          change: 'procmount-default-while-gate-off',
          path: 'spec.template.spec.initContainers[0].securityContext.procMount',
          value: 'Default',
          was: 'Unmasked',
        },
      ],
    ])
  })
})

describe('without changes', () => {
  it('returns nothing, and copies nothing, for an object the release leaves alone', () => {
    const table = new PodTemplateTable([
      { apiGroup: '', kind: 'Pod', podSpec: ['spec'], podMetadata: ['metadata'] },
    ])
    const object = deepFreeze({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } },
      spec: { containers: [{ name: 'app', image: 'nginx', securityContext: { procMount: 'Unmasked' } }] },
    })
    // v1.27 neither syncs seccomp nor (gate on from v1.33) resets procMount; v1.35 neither.
    expect(serverDefaulting(35).apply({ group: '', kind: 'Pod', object }, table)).toBeUndefined()
    // v1.26 changes the frozen object's copy, not the object: a throw here would mean it was written to.
    const changed = serverDefaulting(26).apply({ group: '', kind: 'Pod', object }, table)!
    expect(changed.object).not.toBe(object)
    expect(changed.object.metadata).toBe(object.metadata)
    expect(changed.changes.map((c) => c.change)).toEqual([
      'seccomp-annotation-to-field',
      'procmount-default-while-gate-off',
    ])
  })

  it('does not report asServer at all without the option (the JSON contract is unchanged)', async () => {
    const report = await scanAs(fixture('baseline', 'v1.0', 'fail', 'seccompprofile_baseline0.yaml'))
    expect(report.asServer).toBeUndefined()
  })
})

describe('plimsoll scan --as-server', () => {
  it('judges as the release would store, and records the release in the JSON and SARIF reports', () => {
    const pod = fixture('baseline', 'v1.0', 'fail', 'seccompprofile_baseline0.yaml')
    const json = file('report.json', '')
    const sarif = file('report.sarif', '')
    const r = run(['scan', pod, '--as-server', 'v1.26', '--format', `text,json=${json},sarif=${sarif}`])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('pss-seccomp-baseline')
    expect(r.stdout).toContain('as v1.26 would store them: 1 resource changed')
    const report = JSON.parse(readFileSync(json, 'utf8'))
    expect(report.asServer.version).toBe('v1.26')
    expect(report.asServer.changed[0].changes[0].change).toBe('seccomp-annotation-to-field')
    expect(JSON.parse(readFileSync(sarif, 'utf8')).runs[0].properties.asServer).toBe('v1.26')
  })

  it('refuses a release it does not cover, naming the flag and the range', () => {
    const r = run(['scan', 'k8s/', '--as-server', 'v1.12'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /^plimsoll: --as-server: v1\.12 is not covered: the releases known are v1\.16 to v1\.3\d/,
    )
  })
})

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}
