/**
 * `plimsoll upgrade-check`: the shared API lifecycle table (and the deprecated-api-version check that
 * reads it), the features table's detectors, the assessment over the corpus's real manifests, and a
 * cluster read through the real client from the local control plane (its /version, discovery, objects
 * last applied with removed API versions).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerUpgradeCheck } from '../../src/cli/upgrade-check.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { ApiLifecycleError, builtinApiLifecycle, parseApiLifecycle } from '../../src/policy/api-lifecycle.js'
import { Engine } from '../../src/policy/engine.js'
import { BUILTIN_POD_TEMPLATES, builtinPodSecurity, loadLibrary } from '../../src/policy/library.js'
import { asResource } from '../../src/policy/pod-security-engines.js'
import { PodTemplateTable } from '../../src/resources/pod-templates.js'
import { assessUpgrade, type UpgradeObject } from '../../src/upgrade/evaluate.js'
import {
  loadUpgradeFeatures,
  parseUpgradeFeatures,
  UpgradeFeaturesError,
} from '../../src/upgrade/features.js'
import { corpusPath } from '../helpers/corpus.js'
import { create } from '../helpers/kube.js'
import { tempFiles } from '../helpers/temp-files.js'

const tmp = tempFiles('plimsoll-upgrade-')
const lifecycle = builtinApiLifecycle()
const features = loadUpgradeFeatures()
const podTemplates = PodTemplateTable.fromFiles([BUILTIN_POD_TEMPLATES])

interface JsonFinding {
  area: string
  impact: string
  id: string
  object: { kind: string; name: string; namespace?: string }
  file?: string
  line?: number
  path?: string
  version: string
  message: string
  replacement?: string
}

interface JsonReport {
  from: string
  to: string
  fromSource: string
  summary: { breaks: number; deprecated: number; changes: number }
  findings: JsonFinding[]
  notVisibleInManifests: { id: string }[]
  podSecurityStandardChanges: { id: string; level: string; versions: string[] }[]
  cluster?: {
    gitVersion: string
    servedAtRisk: { apiVersion: string; kind: string; replacement?: string }[]
    notRead: { what: string; message: string }[]
  }
  notes: string[]
  errors: unknown[]
}

let runs = 0

/** Runs the command in this process as main.ts would; the report goes to a file, read back. */
async function upgradeCheck(args: string[], format: 'json' | 'text' = 'json') {
  const output = join(tmp.dir, `report-${++runs}.${format}`)
  const program = new Command().name('plimsoll').exitOverride()
  registerUpgradeCheck(program)
  const before = process.exitCode
  try {
    await program.parseAsync(
      ['node', 'plimsoll', 'upgrade-check', ...args, '--format', format, '-o', output],
      {
        from: 'node',
      },
    )
    const code = process.exitCode
    // A usage error (a bad flag, an unreachable cluster) writes no report.
    const text = existsSync(output) ? readFileSync(output, 'utf8') : ''
    return { code, text, report: format === 'json' && text ? (JSON.parse(text) as JsonReport) : undefined }
  } finally {
    process.exitCode = before
  }
}

const summary = (f: JsonFinding) =>
  `${f.impact} ${f.id} ${f.object.kind} ${f.object.name} ${f.file?.split('real-manifests/')[1] ?? ''}:${f.line ?? ''}`

describe('the API lifecycle table', () => {
  it('holds the deprecation guide: removals by release, replacements, the newest release', () => {
    expect(lifecycle.newest).toBeGreaterThanOrEqual(35)
    const removed = (minor: number) =>
      lifecycle.entries
        .filter((e) => e.removedIn === minor)
        .map((e) => `${e.apiVersion} ${e.kind}`)
        .sort()
    expect(removed(25)).toEqual([
      'autoscaling/v2beta1 HorizontalPodAutoscaler',
      'batch/v1beta1 CronJob',
      'discovery.k8s.io/v1beta1 EndpointSlice',
      'events.k8s.io/v1beta1 Event',
      'node.k8s.io/v1beta1 RuntimeClass',
      'policy/v1beta1 PodDisruptionBudget',
      'policy/v1beta1 PodSecurityPolicy',
    ])
    expect(removed(32)).toEqual([
      'flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema',
      'flowcontrol.apiserver.k8s.io/v1beta3 PriorityLevelConfiguration',
    ])
    expect(lifecycle.lookup('extensions/v1beta1', 'Ingress')).toMatchObject({
      deprecatedIn: 14,
      removedIn: 22,
      replacement: 'networking.k8s.io/v1',
      replacementSince: 19,
    })
    expect(lifecycle.lookup('apps/v1', 'Deployment')).toBeUndefined()
  })

  it('names the file, line and field of a mistake', () => {
    const text = [
      'apiVersion: plimsoll.dev/v1',
      'kind: ApiLifecycle',
      'newest: v1.35',
      'apis:',
      '  - apiVersion: batch/v1beta1',
      '    kinds: [CronJob]',
      '    removedIn: 1.25',
    ].join('\n')
    expect(() => parseApiLifecycle('lifecycle.yaml', text)).toThrow(ApiLifecycleError)
    expect(() => parseApiLifecycle('lifecycle.yaml', text)).toThrow(
      "lifecycle.yaml:7: apis[0].removedIn: expected a version like 'v1.25'",
    )
    const twice = `${text.replace('1.25', 'v1.25')}\n  - {apiVersion: batch/v1beta1, kinds: [CronJob], removedIn: v1.25}`
    expect(() => parseApiLifecycle('lifecycle.yaml', twice)).toThrow(/lifecycle.yaml:8: .*listed twice/)
  })

  it('is what the deprecated-api-version check reads, at the policy version in force', () => {
    const check = loadLibrary({}).checks.filter((c) => c.metadata.id === 'deprecated-api-version')
    expect(check).toHaveLength(1)
    const verdict = (minor: number, apiVersion: string, kind: string) =>
      new Engine(check, podTemplates, { version: minor })
        .evaluate(asResource({ apiVersion, kind, metadata: { name: 'x' } }))
        .map((r) => `${r.status}${r.message ? `: ${r.message}` : ''}`)
    expect(verdict(24, 'batch/v1beta1', 'CronJob')).toEqual(['pass'])
    expect(verdict(25, 'batch/v1beta1', 'CronJob')).toEqual([
      'fail: batch/v1beta1 CronJob was removed in Kubernetes v1.25; use batch/v1',
    ])
    // Every removal in the table, and only those, fails at the newest release.
    for (const e of lifecycle.entries) {
      const [status] = verdict(lifecycle.newest, e.apiVersion, e.kind)
      expect(
        status?.startsWith(e.removedIn === undefined ? 'pass' : 'fail'),
        `${e.apiVersion} ${e.kind}`,
      ).toBe(true)
    }
  })
})

describe('the features table', () => {
  it('names the file, line and field of a mistake', () => {
    const text = [
      'apiVersion: plimsoll.dev/v1',
      'kind: UpgradeFeatures',
      'features:',
      '  - id: x',
      '    title: X',
      '    breaksIn: v1.30',
      '    instead: do Y',
      '    detect: { volume: cephfs, annotation: a }',
    ].join('\n')
    expect(() => parseUpgradeFeatures('f.yaml', text)).toThrow(UpgradeFeaturesError)
    expect(() => parseUpgradeFeatures('f.yaml', text)).toThrow(/^f.yaml:8: features\[0\]\.detect: one of/)
  })

  const pod = (spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'app', image: 'nginx' }], ...spec },
  })
  const assess = (object: Record<string, unknown>, from: number, to: number) =>
    assessUpgrade([{ object }], {
      from,
      to,
      lifecycle,
      features,
      podTemplates,
      podSecurity: () => [],
    }).findings.map((f) => `${f.impact} ${f.id} ${f.path} v1.${f.version}`)

  it('finds each kind of use, and judges it by the target release', () => {
    const seccomp = pod({}, { 'seccomp.security.alpha.kubernetes.io/pod': 'runtime/default' })
    expect(assess(seccomp, 18, 18)).toEqual([])
    expect(assess(seccomp, 26, 26)).toEqual([
      'deprecated seccomp-annotations metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"] v1.19',
    ])
    expect(assess(seccomp, 26, 27)).toEqual([
      'breaks seccomp-annotations metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"] v1.27',
    ])
    // A pod that sets the field too (the API server copied it into the annotation up to v1.26).
    const synced = pod(
      { securityContext: { seccompProfile: { type: 'RuntimeDefault' } } },
      { 'seccomp.security.alpha.kubernetes.io/pod': 'runtime/default' },
    )
    expect(assess(synced, 26, 27)).toEqual([])
    const gitRepo = pod({ volumes: [{ name: 'src', gitRepo: { repository: 'https://example.com/r.git' } }] })
    expect(assess(gitRepo, 32, 33)).toEqual(['breaks volume-git-repo spec.volumes[0].gitRepo v1.33'])
    expect(assess(gitRepo, 30, 32)).toEqual(['deprecated volume-git-repo spec.volumes[0].gitRepo v1.11'])
    const pv = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'data' },
      spec: { capacity: { storage: '1Gi' }, cephfs: { monitors: ['10.0.0.1:6789'] } },
    }
    expect(assess(pv, 30, 31)).toEqual(['breaks volume-cephfs spec.cephfs v1.31'])
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { schedule: 'CRON_TZ=Europe/Paris 0 3 * * *', jobTemplate: { spec: { template: { spec: {} } } } },
    }
    expect(assess(cron, 28, 29)).toEqual(['breaks cronjob-schedule-time-zone spec.schedule v1.29'])
    const labels = pod({
      serviceAccount: 'builder',
      nodeSelector: { 'beta.kubernetes.io/os': 'linux' },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'failure-domain.beta.kubernetes.io/zone' }],
    })
    // What the API server serves: the alias written back equal to the real field.
    expect(assess(pod({ serviceAccount: 'builder', serviceAccountName: 'builder' }), 30, 31)).toEqual([])
    expect(assess(labels, 30, 31)).toEqual([
      'deprecated service-account-field spec.serviceAccount v1.0',
      'deprecated beta-node-labels spec.nodeSelector["beta.kubernetes.io/os"] v1.17',
      'deprecated beta-node-labels spec.topologySpreadConstraints[0].topologyKey v1.17',
    ])
  })

  it('lists what manifests cannot show when the upgrade reaches it', () => {
    const unseen = (from: number, to: number) =>
      assessUpgrade([], { from, to, lifecycle, features, podTemplates, podSecurity: () => [] }).unseen.map(
        (u) => u.id,
      )
    expect(unseen(34, 35)).toEqual(['cgroup-v1'])
    expect(unseen(23, 24)).toEqual(['dockershim'])
    expect(unseen(25, 30)).toEqual([])
  })
})

describe('Pod Security verdicts between releases', () => {
  const podSecurity = (level: 'baseline' | 'restricted', minor: number, object: Record<string, unknown>) =>
    builtinPodSecurity.evaluate(level, `v1.${minor}`, object)
  const deployment = (namespace: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace },
    spec: {
      template: {
        spec: {
          securityContext: { runAsNonRoot: true },
          containers: [
            {
              name: 'app',
              image: 'nginx',
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  })
  const namespace = (name: string, labels: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels },
  })

  it('reports the controls that start failing, and breaks where a namespace enforces the level at latest', () => {
    const objects: UpgradeObject[] = [
      { object: namespace('strict', { 'pod-security.kubernetes.io/enforce': 'restricted' }) },
      {
        object: namespace('pinned', {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'v1.18',
        }),
      },
      { object: deployment('strict') },
      { object: deployment('pinned') },
    ]
    const { findings } = assessUpgrade(objects, {
      from: 18,
      to: 19,
      lifecycle,
      features,
      podTemplates,
      podSecurity,
    })
    expect(findings.map((f) => `${f.impact} ${f.id} ${f.object.namespace} ${f.path}`)).toEqual([
      'breaks pss-seccomp-restricted strict spec.template.spec.containers[0].securityContext.seccompProfile',
      'changes pss-seccomp-restricted pinned spec.template.spec.containers[0].securityContext.seccompProfile',
    ])
    expect(findings[0]?.message).toContain('was not part of the standard at v1.18')
    expect(findings[0]?.message).toContain('namespace strict enforces restricted at latest')
  })
})

describe('over the corpus real manifests', () => {
  const corpus = corpusPath('real-manifests')

  it('finds the removed API versions and the Docker socket mounts, with file and line, and exits 1', async () => {
    const { code, report } = await upgradeCheck([corpus, '--from', 'v1.24', '--to', 'v1.25'])
    expect(code).toBe(1)
    expect(report?.errors).toEqual([])
    expect(
      report?.findings
        .filter((f) => f.impact === 'breaks')
        .map(summary)
        .sort(),
    ).toEqual([
      'breaks dockershim DaemonSet newrelic-infra-agent kubernetes__examples/_archived/newrelic-infrastructure/newrelic-infra-daemonset.yaml:52',
      'breaks dockershim DaemonSet sysdig-agent kubernetes__examples/_archived/sysdig-cloud/sysdig-daemonset.yaml:21',
      'breaks extensions/v1beta1 DaemonSet DaemonSet newrelic-infra-agent kubernetes__examples/_archived/newrelic-infrastructure/newrelic-infra-daemonset.yaml:1',
      'breaks policy/v1beta1 PodDisruptionBudget PodDisruptionBudget cockroachdb-budget kubernetes__examples/_archived/cockroachdb/cockroachdb-statefulset.yaml:57',
    ])
    // What the standards change in v1.25, whatever the objects (Windows pods' exemptions).
    expect(report?.podSecurityStandardChanges.map((c) => `${c.id} ${c.level} ${c.versions}`)).toEqual([
      'pss-capabilities-restricted restricted v1.25',
      'pss-privilege-escalation restricted v1.25',
      'pss-seccomp-restricted restricted v1.25',
    ])
    const pdb = report?.findings.find((f) => f.id === 'policy/v1beta1 PodDisruptionBudget')
    expect(pdb).toMatchObject({
      replacement: 'policy/v1 PodDisruptionBudget',
      version: 'v1.25',
      path: 'apiVersion',
    })
  })

  it('is quiet about what still works, says deprecations, and exits 0', async () => {
    const file = join(corpus, 'kubernetes__examples/_archived/cockroachdb/cockroachdb-statefulset.yaml')
    const { code, report } = await upgradeCheck([file, '--from', 'v1.23', '--to', 'v1.24'])
    expect(code).toBe(0)
    expect(report?.findings.map(summary)).toEqual([
      'deprecated policy/v1beta1 PodDisruptionBudget PodDisruptionBudget cockroachdb-budget kubernetes__examples/_archived/cockroachdb/cockroachdb-statefulset.yaml:57',
    ])
  })

  it('shows the Restricted seccomp control arriving in v1.19, grouped with its replacement in text', async () => {
    const file = join(
      corpus,
      'kubernetes__examples/_archived/storage/minio/minio-distributed-statefulset.yaml',
    )
    const { code, text } = await upgradeCheck([file, '--to', 'v1.19'], 'text')
    expect(code).toBe(0)
    expect(text).toContain('Upgrade from v1.18 (assumed: give --from) to v1.19')
    expect(text).toContain('note: --from not given: assuming an upgrade from v1.18')
    expect(text).toContain('Pod Security verdicts that change at v1.19 (1)')
    expect(text).toMatch(
      /pss-seccomp-restricted: restricted control newly failing\n {6}instead: Set `securityContext.seccompProfile: \{type: RuntimeDefault\}`[^\n]*\n {6}\S+minio-distributed-statefulset.yaml:\d+:\d+ {2}StatefulSet minio/,
    )
  })

  it('refuses a bad release and an upgrade backwards', async () => {
    expect((await upgradeCheck([corpus, '--to', '1.x'])).code).toBe(2)
    expect((await upgradeCheck([corpus, '--from', 'v1.30', '--to', 'v1.29'])).code).toBe(2)
  })
})

describe('against the local control plane', () => {
  let cp: ControlPlane
  let kubeconfig: string

  beforeAll(async () => {
    cp = await startControlPlane()
    kubeconfig = cp.kubeconfig(join(tmp.dir, 'kubeconfig'))
    const lastApplied = (object: Record<string, unknown>) => ({
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(object),
    })
    await create(cp, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } })
    await create(cp, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } })
    const pdb = {
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } },
    }
    // Applied long ago with policy/v1beta1; the server now stores and serves it as policy/v1.
    await create(cp, {
      apiVersion: 'policy/v1',
      ...pdb,
      metadata: { ...pdb.metadata, annotations: lastApplied({ apiVersion: 'policy/v1beta1', ...pdb }) },
    })
    await create(cp, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'docs', namespace: 'shop' },
      spec: {
        containers: [{ name: 'app', image: 'nginx' }],
        volumes: [{ name: 'src', gitRepo: { repository: 'https://example.com/docs.git' } }],
      },
    })
    await create(cp, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'legacy', namespace: 'other' },
      spec: {
        selector: { matchLabels: { app: 'legacy' } },
        template: {
          metadata: {
            labels: { app: 'legacy' },
            annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'runtime/default' },
          },
          spec: { containers: [{ name: 'app', image: 'nginx' }] },
        },
      },
    })
  })

  afterAll(async () => {
    await cp?.stop()
  })

  it("starts from the cluster's /version and finds what breaks in its objects", async () => {
    const { code, report } = await upgradeCheck(['--cluster', '--kubeconfig', kubeconfig, '--to', 'v1.35'])
    expect(code).toBe(1)
    expect(report).toMatchObject({ from: 'v1.32', fromSource: 'cluster', to: 'v1.35' })
    expect(report?.cluster?.gitVersion).toMatch(/^v1\.32\./)
    const breaking = report?.findings
      .filter((f) => f.impact === 'breaks')
      .map((f) => `${f.id} ${f.object.kind} ${f.object.namespace}/${f.object.name} ${f.path}`)
      .sort()
    expect(breaking).toEqual([
      'policy/v1beta1 PodDisruptionBudget PodDisruptionBudget shop/web apiVersion',
      'seccomp-annotations Deployment other/legacy spec.template.metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]',
      'volume-git-repo Pod shop/docs spec.volumes[0].gitRepo',
    ])
    const pdb = report?.findings.find((f) => f.id === 'policy/v1beta1 PodDisruptionBudget')
    expect(pdb?.message).toContain('last applied as policy/v1beta1, read as policy/v1')
    expect(pdb?.message).toContain('already not served at v1.32')
    expect(report?.notVisibleInManifests.map((u) => u.id)).toEqual(['cgroup-v1'])
    // The control plane serves v1 Endpoints: deprecated in v1.33, still served.
    expect(report?.cluster?.servedAtRisk).toContainEqual({
      apiVersion: 'v1',
      kind: 'Endpoints',
      deprecatedIn: 'v1.33',
      replacement: 'discovery.k8s.io/v1 EndpointSlice',
    })
  })

  it('reads only the namespaces asked for, and prints the groups in text', async () => {
    const { code, text } = await upgradeCheck(
      ['--cluster', '--kubeconfig', kubeconfig, '--to', 'v1.35', '-n', 'other'],
      'text',
    )
    expect(code).toBe(1)
    expect(text).toContain('Upgrade from v1.32 (the cluster runs v1.32.')
    expect(text).toContain('seccomp-annotations: Seccomp annotations are ignored')
    expect(text).not.toContain('shop/')
  })

  it('reports the kinds it may not list, and judges the rest', async () => {
    cp.user('pods-only', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] })
    const limited = cp.kubeconfig(join(tmp.dir, 'pods-only.kubeconfig'), 'pods-only')
    const { code, report } = await upgradeCheck(['--cluster', '--kubeconfig', limited, '--to', 'v1.35'])
    expect(code).toBe(1)
    expect(report?.findings.filter((f) => f.impact === 'breaks').map((f) => f.id)).toEqual([
      'volume-git-repo',
    ])
    const notRead = report?.cluster?.notRead ?? []
    expect(notRead.map((n) => n.what)).toContain('PodDisruptionBudget (/apis/policy/v1/poddisruptionbudgets)')
    expect(notRead.find((n) => n.what.startsWith('Deployment'))?.message).toMatch(/forbidden/i)
  })

  it('says when the cluster cannot be reached or is past the target, with exit 2', async () => {
    const unreachable = tmp.file(
      'unreachable.kubeconfig',
      readFileSync(kubeconfig, 'utf8').replace(/server: https:\/\/[^\s]+/, 'server: https://127.0.0.1:1'),
    )
    const { code } = await upgradeCheck(['--cluster', '--kubeconfig', unreachable])
    expect(code).toBe(2)
    // The cluster runs v1.32: a v1.30 target would be a downgrade.
    expect((await upgradeCheck(['--cluster', '--kubeconfig', kubeconfig, '--to', 'v1.30'])).code).toBe(2)
  })
})
