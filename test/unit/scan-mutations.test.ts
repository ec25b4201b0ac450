/**
 * Mutating policies in `plimsoll scan`: each resource mutated as admission would mutate it, the checks and
 * validate policies run on the mutated resource, what each policy changed in the text and JSON reports,
 * and findings still located in the file as written.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { diffJson } from '../../src/policy/json-diff.js'
import { applyJsonPatch } from '../../src/policy/json-patch.js'
import { loadLibrary } from '../../src/policy/library.js'
import { renderJson } from '../../src/report/json.js'
import { renderText } from '../../src/report/text.js'
import { writtenPath } from '../../src/scan/mutate.js'
import { type ScanReport, scan } from '../../src/scan/scan.js'
import { run } from '../helpers/cli.js'
import { corpusPath } from '../helpers/corpus.js'
import { oneRulePolicy } from '../helpers/kyverno-policy.js'
import { tempFiles } from '../helpers/temp-files.js'

const { dir: tmp, file } = tempFiles('plimsoll-scan-mutations-')
const DATA = join(import.meta.dirname, '..', 'data', 'mutate')
/** A Deployment whose container sets no securityContext, and a ConfigMap no policy touches. */
const app = join(DATA, 'app.yaml')
/** Adds runAsNonRoot and allowPrivilegeEscalation: false to every container that lacks them. */
const defaults = join(DATA, 'add-defaults.yaml')

async function scanWith(inputs: string[], policies: string[], jobs = 1): Promise<ScanReport> {
  return scan({ inputs, library: loadLibrary({ policies }), jobs })
}

const ids = (r: ScanReport) => new Set(r.findings.map((f) => f.checkId))

describe('scan with mutating policies', () => {
  it('checks the mutated resource: a finding the mutation fixes is gone, the others stay', async () => {
    const written = await scanWith([app], [])
    const mutated = await scanWith([app], [defaults])
    // The Deployment as written breaks both; admitted through the policy, it breaks neither.
    for (const id of ['pss-run-as-non-root', 'pss-privilege-escalation']) {
      expect(ids(written)).toContain(id)
      expect(ids(mutated)).not.toContain(id)
    }
    const untouched = [...ids(written)].filter(
      (id) => id !== 'pss-run-as-non-root' && id !== 'pss-privilege-escalation',
    )
    expect([...ids(mutated)].sort()).toEqual(untouched.sort())
    // Without mutating policies the report has no mutation section at all (the JSON contract is unchanged).
    expect(written.mutations).toBeUndefined()
    expect(written.summary.mutated).toBeUndefined()
  })

  it('reports what each policy and rule changed, per resource, in the JSON report', async () => {
    const report = await scanWith([app], [defaults])
    const json = JSON.parse(renderJson(report)) as {
      summary: { mutated: number }
      mutations: {
        resource: { kind: string; name: string; namespace: string }
        location: { file: string; line: number; documentIndex: number }
        mutations: { policyKind: string; policy: string; rule: string; status: string; patch: unknown[] }[]
      }[]
    }
    // The ConfigMap matched no policy: only the Deployment is listed.
    expect(json.summary.mutated).toBe(1)
    expect(json.mutations).toHaveLength(1)
    const [m] = json.mutations
    expect(m!.resource).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' })
    expect(m!.location).toEqual({ file: app, line: 2, documentIndex: 0 })
    // Kyverno's autogen rule for Deployments made the change (pkg/autogen/v1/rule.go).
    expect(m!.mutations).toEqual([
      {
        policyKind: 'ClusterPolicy',
        policy: 'add-defaults',
        rule: 'autogen-run-as-non-root',
        status: 'pass',
        patch: [
          {
            op: 'add',
            path: '/spec/template/spec/containers/0/securityContext',
            value: { runAsNonRoot: true, allowPrivilegeEscalation: false },
          },
        ],
      },
    ])
  })

  it('lists the changes in the text report under the resource, naming the policy and rule', async () => {
    const text = renderText(await scanWith([app], [defaults]), { color: false })
    const lines = text.split('\n')
    const at = lines.indexOf('  Deployment shop/web')
    expect(at).toBeGreaterThan(0)
    expect(lines[at + 1]).toBe('    mutated by ClusterPolicy add-defaults, rule autogen-run-as-non-root:')
    expect(lines[at + 2]).toBe(
      '      + /spec/template/spec/containers/0/securityContext: {"runAsNonRoot":true,"allowPrivilegeEscalation":false}',
    )
    expect(text).toMatch(/1 resource mutated by policies/)
  })

  it('reports a finding a mutation introduces, located at the nearest field the file holds', async () => {
    const privileged = file(
      'privileged.yaml',
      oneRulePolicy(
        'make-privileged',
        'privileged',
        'Deployment',
        `      mutate:
        patchesJson6902: |-
          - op: add
            path: /spec/template/spec/containers/0/securityContext
            value: {privileged: true}
`,
      ),
    )
    const written = await scanWith([app], [])
    const report = await scanWith([app], [privileged])
    expect(ids(written)).not.toContain('pss-privileged')
    const f = report.findings.find((x) => x.checkId === 'pss-privileged')
    expect(f?.path).toBe('spec.template.spec.containers[0].securityContext.privileged')
    // The file has no securityContext: the finding points at the container it was added to.
    const lines = readFileSync(app, 'utf8').split('\n')
    expect(lines[f!.location.line - 1]).toBe('        - name: app')
  })

  it('locates a finding on a container the file holds at its own line when a mutation put another in front', async () => {
    const sidecar = file(
      'sidecar.yaml',
      oneRulePolicy(
        'inject-proxy',
        'proxy',
        'Pod',
        `      mutate:
        patchStrategicMerge:
          spec:
            containers:
              - name: proxy
                image: envoy:1.30
                securityContext: {privileged: true}
`,
      ),
    )
    // The app's own container is privileged where it is written, inline.
    const pod = file(
      'pod.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n' +
        '    - {name: app, image: nginx:1.27, securityContext: {privileged: true}}\n',
    )
    const report = await scanWith([pod], [sidecar])
    const lines = readFileSync(pod, 'utf8').split('\n')
    const privileged = report.findings.filter((x) => x.checkId === 'pss-privileged')
    // kustomize's merge puts the patch's new list items first (Kyverno's strategic merge).
    const proxy = privileged.find((x) => x.container?.name === 'proxy')
    const own = privileged.find((x) => x.container?.name === 'app')
    expect(proxy?.path).toBe('spec.containers[0].securityContext.privileged')
    expect(own?.path).toBe('spec.containers[1].securityContext.privileged')
    // The app's own field, where it is written; the proxy's, at the list it was added to.
    const ownLine = lines[own!.location.line - 1]!
    expect(ownLine.slice(own!.location.column - 1)).toBe('privileged: true}}')
    expect(lines[proxy!.location.line - 1]).toBe('  containers:')
    expect(report.mutations?.[0]?.mutations[0]?.patch).toEqual([
      {
        op: 'add',
        path: '/spec/containers/0',
        value: { name: 'proxy', image: 'envoy:1.30', securityContext: { privileged: true } },
      },
    ])
  })

  it("runs Kyverno's validate rules after its mutate rules, on the mutated resource", async () => {
    // Kyverno applies mutations before validation (pkg/webhooks/resource/handlers.go: mutation, then
    // validation of the patched resource; the CLI's policy_processor.go does the same).
    const requireTeam = oneRulePolicy(
      'team',
      'require-team',
      'ConfigMap',
      `      validate:
        message: needs a team
        pattern: {metadata: {labels: {team: "?*"}}}
`,
    )
    const addTeam = oneRulePolicy(
      'label-team',
      'add-team',
      'ConfigMap',
      `      mutate:
        patchStrategicMerge:
          metadata: {labels: {+(team): core}}
`,
    )
    const team = file('team.yaml', `${requireTeam}---\n${addTeam}`)
    const validateOnly = file('team-validate.yaml', requireTeam)
    const before = await scanWith([app], [validateOnly])
    const after = await scanWith([app], [team])
    expect(before.findings.map((f) => f.checkId)).toContain('team:require-team')
    expect(after.findings.map((f) => f.checkId)).not.toContain('team:require-team')
    expect(after.checkStats['team:require-team']).toEqual({ applied: 1, failed: 0 })
  })

  it('applies bound MutatingAdmissionPolicies first and warns about unbound ones', async () => {
    /** A MutatingAdmissionPolicy on Deployments that applies one JSON patch. */
    const jsonPatchPolicy = (name: string, patch: string) => `apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicy
metadata: {name: ${name}}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  mutations:
    - patchType: JSONPatch
      jsonPatch:
        expression: '[JSONPatch{${patch}}]'
`
    const map = file(
      'map.yaml',
      `${jsonPatchPolicy('host-network', 'op: "add", path: "/spec/template/spec/hostNetwork", value: true')}---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicyBinding
metadata: {name: everywhere}
spec: {policyName: host-network}
---
${jsonPatchPolicy('unbound', 'op: "add", path: "/spec/replicas", value: 3')}`,
    )
    const library = loadLibrary({ policies: [map, defaults] })
    expect(library.policyWarnings.join('\n')).toMatch(
      /MutatingAdmissionPolicy 'unbound': not run: no MutatingAdmissionPolicyBinding names it/,
    )
    expect(library.policyWarnings.join('\n')).not.toMatch(/'host-network'|add-defaults/)
    const report = await scan({ inputs: [app], library, jobs: 1 })
    const steps = report.mutations?.[0]?.mutations ?? []
    // The API server's MutatingAdmissionPolicy plugin runs before the mutating webhooks (Kyverno's).
    expect(steps.map((s) => [s.policyKind, s.policy, s.rule])).toEqual([
      ['MutatingAdmissionPolicy', 'host-network', 'everywhere'],
      ['ClusterPolicy', 'add-defaults', 'autogen-run-as-non-root'],
    ])
    expect(ids(report)).toContain('pss-host-namespaces')
    expect(report.findings.map((f) => f.checkId)).not.toContain('single-replica:unbound')
  })

  it("runs a MutatingPolicy on what the ClusterPolicies left: Kyverno's add-safe-to-evict twins", async () => {
    const pod = file(
      'evict.yaml',
      `apiVersion: v1
kind: Pod
metadata: {name: cache}
spec:
  containers: [{name: app, image: redis:7}]
  volumes: [{name: tmp, emptyDir: {}}]
`,
    )
    const cluster = corpusPath(
      'kyverno-policies',
      'best-practices',
      'add-safe-to-evict',
      'add-safe-to-evict.yaml',
    )
    const mpol = corpusPath(
      'kyverno-policies',
      'best-practices-mpol',
      'add-safe-to-evict',
      'add-safe-to-evict.yaml',
    )
    const key = '/metadata/annotations'
    const alone = await scanWith([pod], [mpol])
    expect(alone.mutations?.[0]?.mutations).toEqual([
      {
        policyKind: 'MutatingPolicy',
        policy: 'add-safe-to-evict',
        status: 'pass',
        patch: [
          { op: 'add', path: key, value: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' } },
        ],
      },
    ])
    // The ClusterPolicy adds the annotation; the MutatingPolicy's match condition then sees it and skips.
    const both = await scanWith([pod], [mpol, cluster])
    expect(both.mutations?.[0]?.mutations.map((s) => [s.policyKind, s.rule])).toEqual([
      ['ClusterPolicy', 'annotate-empty-dir'],
    ])
  })

  it('keeps reporting generate rules and GeneratingPolicies as not run, and mutate rules no longer', () => {
    const library = loadLibrary({
      builtin: false,
      policies: [
        corpusPath('kyverno-policies', 'best-practices', 'add-network-policy', 'add-network-policy.yaml'),
        corpusPath('kyverno-policies', 'best-practices', 'add-safe-to-evict', 'add-safe-to-evict.yaml'),
      ],
    })
    const warnings = library.policyWarnings.join('\n')
    expect(warnings).toMatch(
      /policy 'add-networkpolicy', rule '[^']+': not run: generate: generate rules create resources/,
    )
    expect(warnings).not.toContain('add-safe-to-evict')
    expect(library.mutator?.size).toBe(1)
  })

  it('gives the same report on worker threads', () => {
    // Over 4 MB in two files, so that the scan spreads over threads (scan.ts, MIN_BYTES_FOR_WORKERS);
    // a long comment makes up the size at little cost. Workers run the built modules: the CLI it is.
    const doc = readFileSync(app, 'utf8')
    const docs = Array.from({ length: 300 }, (_, i) => doc.replaceAll('web', `web-${i}`)).join('---\n')
    const big = `# ${'x'.repeat(2_200_000)}\n${docs}`
    const inputs = [file('big-1.yaml', big), file('big-2.yaml', big)]
    const report = (jobs: string) => {
      const out = join(tmp, `report-${jobs}.json`)
      const r = run([
        'scan',
        ...inputs,
        '-p',
        defaults,
        '-f',
        'json',
        '-o',
        out,
        '--fail-on',
        'none',
        '-j',
        jobs,
      ])
      expect(r.code).toBe(0)
      return JSON.parse(readFileSync(out, 'utf8')) as Pick<ScanReport, 'mutations' | 'findings'>
    }
    const one = report('1')
    const two = report('2')
    expect(one.mutations).toHaveLength(600)
    expect(two.mutations).toEqual(one.mutations)
    expect(two.findings).toEqual(one.findings)
  }, 60_000)
})

describe('diffJson', () => {
  const cases: [string, unknown, unknown][] = [
    ['a key added, one removed, one replaced', { a: 1, b: 2, c: { d: 1 } }, { a: 1, c: { d: 2 }, e: 'x' }],
    [
      'a named item put in front, another changed',
      { l: [{ name: 'a', v: 1 }] },
      { l: [{ name: 'p' }, { name: 'a', v: 2 }] },
    ],
    [
      'a named item removed',
      { l: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] },
      { l: [{ name: 'a' }, { name: 'c' }] },
    ],
    ['items appended to a plain list', { l: [1, 2] }, { l: [1, 2, 3, 4] }],
    ['items removed from a plain list', { l: [1, 2, 3, 4] }, { l: [1, 4] }],
    ['a list changed in several places', { l: [1, 2, 3] }, { l: [0, 2, 5, 6] }],
    ['named items reordered', { l: [{ name: 'a' }, { name: 'b' }] }, { l: [{ name: 'b' }, { name: 'a' }] }],
    ['a key with / and ~', { m: {} }, { m: { 'a/b~c': 1 } }],
  ]
  it.each(cases)('turns before into after when applied in order: %s', (_, before, after) => {
    const patch = diffJson(before, after)
    expect(patch.length).toBeGreaterThan(0)
    expect(applyJsonPatch(before, patch)).toEqual(after)
  })

  it('says nothing of what did not change', () => {
    expect(diffJson({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([])
  })
})

describe('writtenPath', () => {
  it('follows named items to where the file has them, and stops where the file has nothing', () => {
    const written = { spec: { containers: [{ name: 'app' }] } }
    const mutated = { spec: { containers: [{ name: 'proxy' }, { name: 'app', securityContext: { x: 1 } }] } }
    expect(writtenPath(['spec', 'containers', 1, 'securityContext', 'x'], mutated, written)).toEqual([
      'spec',
      'containers',
      0,
      'securityContext',
    ])
    expect(writtenPath(['spec', 'containers', 0, 'name'], mutated, written)).toEqual(['spec', 'containers'])
  })
})
