/**
 * The estates of `plimsoll assess`'s tests, shared by the collectors' tests
 * (maturity-collect-cluster, maturity-collect-store), the evidence test (assess-evidence) and the CLI's
 * (cli-assess):
 *
 * - clusters for the local control plane: a team at Level 3 (level3Objects: Plimsoll's and Kyverno's
 *   webhooks, Gatekeeper's and the monitoring, GitOps, cert-manager, Istio, KEDA and VPA CRDs installed
 *   as `kubectl create -f` installs them, their controllers' workloads, PSA labels, replicated workloads
 *   with PDBs, autoscalers), the same consolidated on Plimsoll alone (consolidatedObjects), a bare
 *   cluster (bareObjects) and a poor one (poorObjects: the bare one with a replicated workload that no
 *   PDB covers, so that every share is known);
 * - scans, admissions, exceptions and audit events to record in a store, and two stores with history
 *   (fillGoodStore: a Level 3 practice; fillPoorStore: history present but poor), each fact of the
 *   store collector known in both.
 */

import type { AdmissionCheck } from '../../src/api-types.js'
import { Aggregator } from '../../src/audit/alerts/aggregator.js'
import { parseAlertsConfig } from '../../src/audit/alerts/config.js'
import type { ControlPlane } from '../../src/control-plane/server.js'
import { readReport } from '../../src/import/read.js'
import { importReport, recordImport } from '../../src/import/record.js'
import type { Finding, ScanReport } from '../../src/scan/scan.js'
import { type AdmissionRecord, recordAdmissions } from '../../src/store/admissions.js'
import { saveAlertState } from '../../src/store/alert-state.js'
import { enqueueAuditEvents } from '../../src/store/audit-queue.js'
import type { Store } from '../../src/store/connect.js'
import { createException } from '../../src/store/exceptions.js'
import { recordRun } from '../../src/store/record-run.js'
import type { RunSource } from '../../src/store/schema.js'
import { ALERTS_YAML, fillAuditStore } from './audit-alerts-store.js'
import { auditEvent, execAction } from './audit-events.js'
import { corpusPath } from './corpus.js'
import { create, deployment, kube } from './kube.js'
import { until } from './until.js'
import { prodReport, recordUsage } from './usage-snapshots.js'

// ------------------------------------------------------------------------------------------ clusters

/** A CustomResourceDefinition keeping whatever its objects hold, as many charts' CRDs do at heart. */
export function crd(
  group: string,
  version: string,
  kind: string,
  scope: 'Namespaced' | 'Cluster' = 'Namespaced',
) {
  const lower = kind.toLowerCase()
  const plural = lower.endsWith('s')
    ? `${lower}es`
    : lower.endsWith('y')
      ? `${lower.slice(0, -1)}ies`
      : `${lower}s`
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope,
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  }
}

export const CRDS = [
  crd('kyverno.io', 'v1', 'ClusterPolicy', 'Cluster'),
  crd('kyverno.io', 'v1', 'Policy'),
  crd('templates.gatekeeper.sh', 'v1', 'ConstraintTemplate', 'Cluster'),
  crd('monitoring.coreos.com', 'v1', 'Prometheus'),
  crd('monitoring.coreos.com', 'v1', 'Alertmanager'),
  crd('argoproj.io', 'v1alpha1', 'Application'),
  crd('kustomize.toolkit.fluxcd.io', 'v1', 'Kustomization'),
  crd('cert-manager.io', 'v1', 'Certificate'),
  crd('networking.istio.io', 'v1', 'VirtualService'),
  crd('keda.sh', 'v1alpha1', 'ScaledObject'),
  crd('autoscaling.k8s.io', 'v1', 'VerticalPodAutoscaler'),
]

export async function installCrds(
  cp: ControlPlane,
  crds: readonly ReturnType<typeof crd>[] = CRDS,
): Promise<void> {
  for (const c of crds) await create(cp, c)
  await until('the custom resources served', async () => {
    for (const c of crds) {
      const { group, versions, names } = c.spec
      const answer = await kube(cp, 'GET', `/apis/${group}/${versions[0]!.name}/${names.plural}`)
      if (answer.status !== 200) return false
    }
    return true
  })
}

export const probe = { httpGet: { path: '/healthz', port: 8080 } }

/** A container with requests, a memory limit and both probes, less what `lacks` names. */
export function container(name: string, image: string, lacks: ('liveness' | 'resources')[] = []) {
  return {
    name,
    image,
    ...(lacks.includes('resources')
      ? {}
      : { resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } } }),
    readinessProbe: probe,
    ...(lacks.includes('liveness') ? {} : { livenessProbe: probe }),
  }
}

export function podTemplate(labels: Record<string, string>, containers: unknown[]) {
  return { metadata: { labels }, spec: { containers } }
}

export function workload(
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet',
  namespace: string,
  name: string,
  replicas: number,
  containers: unknown[],
  labels: Record<string, string> = { app: name },
) {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace, labels },
    spec: {
      ...(kind === 'DaemonSet' ? {} : { replicas }),
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      selector: { matchLabels: labels },
      template: podTemplate(labels, containers),
    },
  }
}

export function pdb(namespace: string, name: string, selector: unknown) {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace },
    spec: { minAvailable: 1, selector },
  }
}

export function namespace(name: string, enforce?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        'kubernetes.io/metadata.name': name,
        ...(enforce ? { 'pod-security.kubernetes.io/enforce': enforce } : {}),
      },
    },
  }
}

export function webhookConfiguration(name: string, webhook: string) {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name },
    webhooks: [
      {
        name: webhook,
        admissionReviewVersions: ['v1'],
        clientConfig: { url: 'https://127.0.0.1:9/validate' },
        // Matches nothing: the control plane honours stored webhooks, and none of these is served.
        rules: [],
        failurePolicy: 'Ignore',
        sideEffects: 'None',
      },
    ],
  }
}

export const custom = (apiVersion: string, kind: string, namespace: string, name: string, extra = {}) => ({
  apiVersion,
  kind,
  metadata: { name, namespace },
  spec: {},
  ...extra,
})

/** The estate of a team at Level 3. */
export function level3Objects() {
  const app = (name: string, image = 'registry.example.com/shop/app:1.4.2') => [container(name, image)]
  return [
    ...['shop', 'payments', 'monitoring', 'argocd', 'flux-system', 'cert-manager', 'istio-system'].map((n) =>
      namespace(n, 'restricted'),
    ),
    // kube-system's own add-ons are not the team's: never counted in the shares.
    workload('Deployment', 'kube-system', 'coredns', 1, [
      { name: 'coredns', image: 'coredns/coredns:1.11.1' },
    ]),
    workload('Deployment', 'shop', 'web', 3, [
      container('app', 'registry.example.com/shop/web:2.0.1'),
      container('log-shipper', 'fluent/fluent-bit:3.1', ['liveness']),
    ]),
    workload('StatefulSet', 'shop', 'db', 2, app('postgres', 'postgres:16.4')),
    workload('Deployment', 'payments', 'api', 2, app('api')),
    workload(
      'Deployment',
      'monitoring',
      'prometheus-operator',
      2,
      app('operator', 'quay.io/prometheus-operator/prometheus-operator:v0.75.2'),
      { 'app.kubernetes.io/name': 'prometheus-operator' },
    ),
    // The StatefulSet the operator makes of Prometheus k8s.
    workload(
      'StatefulSet',
      'monitoring',
      'prometheus-k8s',
      2,
      app('prometheus', 'quay.io/prometheus/prometheus:v2.54.1'),
      {
        'app.kubernetes.io/name': 'prometheus',
      },
    ),
    workload(
      'Deployment',
      'monitoring',
      'kube-state-metrics',
      1,
      app('kube-state-metrics', 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0'),
    ),
    workload(
      'DaemonSet',
      'monitoring',
      'node-exporter',
      1,
      app('node-exporter', 'quay.io/prometheus/node-exporter:v1.8.2'),
    ),
    workload(
      'StatefulSet',
      'argocd',
      'argocd-application-controller',
      2,
      app('application-controller', 'quay.io/argoproj/argocd:v2.12.3'),
      { 'app.kubernetes.io/name': 'argocd-application-controller' },
    ),
    workload(
      'Deployment',
      'flux-system',
      'kustomize-controller',
      2,
      app('manager', 'ghcr.io/fluxcd/kustomize-controller:v1.3.0'),
    ),
    workload(
      'Deployment',
      'cert-manager',
      'cert-manager',
      2,
      app('cert-manager-controller', 'quay.io/jetstack/cert-manager-controller:v1.15.3'),
    ),
    workload('Deployment', 'istio-system', 'istiod', 2, app('discovery', 'docker.io/istio/pilot:1.23.0')),
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: 'shop' },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: { spec: { template: podTemplate({ job: 'nightly' }, app('report')) } },
      },
    },
    // A Job the CronJob made: its template is the CronJob's, counted there, not again (and its
    // containers, without requests, would otherwise fall short).
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'nightly-28950300',
        namespace: 'shop',
        ownerReferences: [
          { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: 'u-1', controller: true },
        ],
      },
      spec: { template: podTemplate({ job: 'nightly' }, [{ name: 'report', image: 'busybox' }]) },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', namespace: 'shop' },
      spec: { template: podTemplate({ job: 'migrate' }, app('migrate')) },
    },
    // PDBs: by labels, by expressions, a whole namespace ({}); istiod's selects the gateway only, and
    // one for istiod in another namespace does not count.
    pdb('shop', 'web', { matchLabels: { app: 'web' } }),
    pdb('shop', 'db', { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'replica'] }] }),
    pdb('payments', 'api', { matchLabels: { app: 'api' } }),
    pdb('monitoring', 'everything', {}),
    pdb('argocd', 'controller', {
      matchLabels: { 'app.kubernetes.io/name': 'argocd-application-controller' },
    }),
    pdb('flux-system', 'kustomize', {
      matchLabels: { app: 'kustomize-controller' },
      matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }],
    }),
    pdb('cert-manager', 'cert-manager', { matchLabels: { app: 'cert-manager' } }),
    pdb('istio-system', 'gateway', { matchLabels: { app: 'istio-ingressgateway' } }),
    pdb('default', 'istiod', { matchLabels: { app: 'istiod' } }),
    // Autoscalers: an HPA, a VPA, a ScaledObject and the HPA KEDA made of it (counted once).
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 3,
        maxReplicas: 10,
      },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: {
        name: 'keda-hpa-queue',
        namespace: 'shop',
        ownerReferences: [
          { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name: 'queue', uid: 'u-2' },
        ],
      },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'queue' },
        minReplicas: 1,
        maxReplicas: 5,
      },
    },
    custom('keda.sh/v1alpha1', 'ScaledObject', 'shop', 'queue'),
    custom('autoscaling.k8s.io/v1', 'VerticalPodAutoscaler', 'payments', 'api'),
    custom('monitoring.coreos.com/v1', 'Prometheus', 'monitoring', 'k8s'),
    custom('monitoring.coreos.com/v1', 'Alertmanager', 'monitoring', 'main'),
    custom('argoproj.io/v1alpha1', 'Application', 'argocd', 'shop'),
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'require-team-label' },
      spec: { policyName: 'require-team-label', validationActions: ['Deny'] },
    },
    webhookConfiguration('plimsoll', 'validate.plimsoll.dev'),
    webhookConfiguration('kyverno-resource-validating-webhook-cfg', 'validate.kyverno.svc-fail'),
  ]
}

/**
 * Loads a Level 3 cluster into `cp`: its CRDs served, its objects, and the default namespace labelled
 * for Pod Security (baseline). `consolidated`: Plimsoll alone as the admission engine.
 */
export async function loadLevel3(cp: ControlPlane, options: { consolidated?: boolean } = {}): Promise<void> {
  await installCrds(cp, options.consolidated ? CONSOLIDATED_CRDS : CRDS)
  cp.load(options.consolidated ? consolidatedObjects() : level3Objects(), { asCreated: true })
  const labelled = await kube(
    cp,
    'PATCH',
    '/api/v1/namespaces/default',
    { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } },
    { contentType: 'application/merge-patch+json' },
  )
  if (labelled.status !== 200) throw new Error(`labelling namespace default: ${labelled.status}`)
}

/** The Level 3 cluster consolidated on one admission engine (Plimsoll): no Kyverno, Gatekeeper or VAP. */
export const CONSOLIDATED_CRDS = CRDS.filter(
  (c) => c.spec.group !== 'kyverno.io' && c.spec.group !== 'templates.gatekeeper.sh',
)

export function consolidatedObjects() {
  return level3Objects().filter(
    (o) =>
      o.kind !== 'ValidatingAdmissionPolicyBinding' &&
      !(o.kind === 'ValidatingWebhookConfiguration' && o.metadata.name.startsWith('kyverno')),
  )
}

/** A bare cluster: three namespaces without PSA labels, two single-replica Deployments without requests or probes. */
export function bareObjects(): Record<string, unknown>[] {
  return [
    ...['app', 'tools', 'batch'].map((n) => namespace(n)),
    deployment('web', 'app', false),
    deployment('worker', 'app', false),
  ]
}

/**
 * A poor cluster: the bare one, and a Deployment of 2 replicas that no PodDisruptionBudget covers, so
 * that the PDB share is known (0) and the replicated share low (1 of 3).
 */
export function poorObjects(): Record<string, unknown>[] {
  return [
    ...bareObjects(),
    { ...deployment('api', 'app', false), spec: { ...deploymentSpec('api'), replicas: 2 } },
  ]
}

function deploymentSpec(name: string): Record<string, unknown> {
  return (deployment(name, 'app', false) as { spec: Record<string, unknown> }).spec
}

// -------------------------------------------------------------------------------------------- stores

const DAY = 86_400_000
const iso = (ms: number) => new Date(ms).toISOString()

/** A finding of check pss-privileged on Deployment app-<i>; excepted when asked. */
export function finding(i: number, excepted = false): Finding {
  return {
    checkId: 'pss-privileged',
    title: 'Privileged',
    severity: 'critical',
    category: 'security',
    status: 'fail',
    message: `app-${i} is privileged`,
    resource: { apiVersion: 'apps/v1', kind: 'Deployment', name: `app-${i}`, namespace: 'shop' },
    container: { name: 'app', type: 'containers' },
    path: 'spec.template.spec.containers[0].securityContext.privileged',
    location: { file: 'deploy.yaml', line: i + 1, column: 3, documentIndex: i },
    ...(excepted
      ? {
          excepted: {
            source: 'file' as const,
            file: 'exceptions.yaml',
            index: 0,
            owner: 'ops',
            reason: 'legacy',
            expires: '2099-01-01',
          },
        }
      : {}),
  }
}

export interface ScanOptions {
  durationMs?: number
  excepted?: boolean
}

/** A complete scan started at `startedAt` that finds app-0 .. app-<open - 1>, and app-100 excepted. */
export function scanReport(startedAt: number, open: number, options: ScanOptions = {}): ScanReport {
  const findings = Array.from({ length: open }, (_, i) => finding(i))
  if (options.excepted) findings.push(finding(100, true))
  return {
    policyVersion: 'latest',
    startedAt: iso(startedAt),
    durationMs: options.durationMs ?? 1000,
    summary: {
      files: 1,
      resources: open,
      checks: 1,
      passed: 0,
      findings: open,
      bySeverity: { critical: open, high: 0, medium: 0, low: 0, info: 0 },
      errors: 0,
      skipped: 0,
      excepted: options.excepted ? 1 : 0,
    },
    findings,
    errors: [],
    skipped: [],
    skippedCharts: [],
    checks: [],
    checkStats: {},
    namespaceStats: {},
    staleExceptions: [],
  }
}

/** Records scanReport(startedAt, open) as a run of `source` on `target`. */
export async function recordScan(
  store: Store,
  source: RunSource,
  target: string,
  startedAt: number,
  open: number,
  options: ScanOptions = {},
): Promise<void> {
  await recordRun(store, scanReport(startedAt, open, options), {
    source,
    target,
    plimsollVersion: '0.0.0-test',
  })
}

/** The webhook's decision on Deployment `web` of `namespace`, failing `check` in `mode` (none: passing). */
export function admission(
  cluster: string,
  namespace: string,
  mode: AdmissionCheck['mode'] | 'none',
  at: number,
  check = 'pss-privileged',
): AdmissionRecord {
  return {
    at: iso(at),
    cluster,
    operation: 'CREATE',
    group: 'apps',
    kind: 'Deployment',
    namespace,
    name: 'web',
    username: 'alice',
    outcome:
      mode === 'enforce' ? 'denied' : mode === 'warn' ? 'warned' : mode === 'audit' ? 'audited' : 'allowed',
    checks:
      mode === 'none' ? [] : [{ id: check, mode, severity: 'critical', message: 'privileged', path: '' }],
    weight: 1,
  }
}

/** An exception of the register for pss-privileged, owned by `owner` ('' or blank: nobody). */
export const exception = (owner: string) => ({
  checks: ['pss-privileged'],
  owner,
  reason: 'legacy workload',
  expires: '2099-12-31',
})

/** `n` audit events of alice exec'ing into shop/web-0 at `at`. */
export const execEvents = (at: number, n: number) =>
  Array.from({ length: n }, () =>
    auditEvent(
      { username: 'alice', ip: '10.0.0.1', userAgent: 'kubectl' },
      execAction('shop', 'web-0', ['sh']),
      at,
    ),
  )

/** Grype's scan of a Ruby image: three highs, two with a fix (a real report of the corpus). */
export const RUBY_SCAN = ['tool-reports', 'grype/chainguard-ruby-test.json'] as const
/** Trivy's scan of alpine 3.10: four mediums, all with a fix. */
export const ALPINE_SCAN = ['tool-reports', 'trivy/alpine-310.json.golden'] as const

/** `plimsoll import` of a real image scan of the corpus into `target`, as if run at `at`. */
export async function importImageScan(
  store: Store,
  scan: readonly [string, string],
  target: string,
  at: number,
): Promise<void> {
  const file = corpusPath(...scan)
  const report = importReport([{ file, report: readReport(file, 'auto') }], [], new Date(at))
  await recordImport(store, report, target, '0.0.0-test')
}

/**
 * A store of a Level 3 practice, its history ending at `end` (before the assessment, within minutes):
 * CI scans of repo-a on 22 of the last 30 days (10 findings 40 days ago, 6 for the last 5 days), clusters
 * prod (5 findings, 35 and 2 days ago) and staging scanned; 3 exceptions, all owned; prod/shop enforced
 * by the webhook; audit events of the last days and the alert pipelines of audit-alerts-store.ts
 * (4 notifications for 16 detections); 4 weekly usage snapshots of prod whose waste goes down as
 * checkout's over-requested pods go from 6 to 3; alpine's image scanned 40 days ago and yesterday, nothing overdue.
 */
export async function fillGoodStore(store: Store, end: number): Promise<void> {
  const ago = (days: number) => end - days * DAY
  await recordScan(store, 'ci', 'repo-a', ago(40), 10)
  for (let d = 22; d >= 1; d--) await recordScan(store, 'ci', 'repo-a', ago(d), d >= 6 ? 10 : 6)
  await recordScan(store, 'cluster', 'prod', ago(35), 5)
  await recordScan(store, 'cluster', 'prod', ago(2), 5)
  await recordScan(store, 'cluster', 'staging', ago(10), 0)
  for (const owner of ['alice', 'bob', 'ops']) await createException(store, exception(owner), 'test')
  await recordAdmissions(store, [
    admission('prod', 'shop', 'enforce', ago(5)),
    admission('prod', 'web', 'warn', ago(4)),
    admission('prod', 'shop', 'none', ago(1)),
  ])
  await enqueueAuditEvents(store, 'webhook', execEvents(ago(1), 3), { receivedAt: iso(ago(1)) })
  await fillAuditStore(store, end - 5 * 60_000)
  for (const [weeks, pods] of [
    [3, 6],
    [2, 5],
    [1, 4],
    [0, 3],
  ] as const) {
    const to = end - weeks * 7 * DAY - 3_600_000
    await recordUsage(store, prodReport(to, pods, 1), iso(to + 60_000))
  }
  // Scanned before the window too, so that its four findings do not move the findings trend.
  await importImageScan(store, ALPINE_SCAN, 'alpine/trivy', ago(40))
  await importImageScan(store, ALPINE_SCAN, 'alpine/trivy', ago(1))
}

/**
 * A store whose history is there but poor, ending at `end`: CI scans of legacy only 45 and 35 days ago
 * (4 findings), and since then 3 more found by the webhook (admission runs) and none fixed: the findings
 * rising; no cluster scanned; 2 exceptions without an owner; the webhook only warning and auditing;
 * audit events 10 days old only (none in the last 7 days); an alert pipeline that notified every
 * detection (3 for 3); 2 usage snapshots of prod whose waste rises as checkout goes from 3 pods to 6,
 * or, with `usage: false`, no usage snapshot at all (store.usageSnapshots 0, store.wasteTrend unknown);
 * one image scan, 45 days ago, its two fixable highs never fixed.
 */
export async function fillPoorStore(
  store: Store,
  end: number,
  options: { usage?: boolean } = {},
): Promise<void> {
  const ago = (days: number) => end - days * DAY
  await importImageScan(store, RUBY_SCAN, 'ruby/grype', ago(45))
  await recordScan(store, 'ci', 'legacy', ago(45), 4)
  await recordScan(store, 'ci', 'legacy', ago(35), 4)
  await recordScan(store, 'admission', 'prod', ago(3), 3)
  for (const owner of ['', '  ']) await createException(store, exception(owner), 'test')
  await recordAdmissions(store, [
    admission('prod', 'shop', 'warn', ago(5)),
    admission('prod', 'web', 'audit', ago(3)),
  ])
  await enqueueAuditEvents(store, 'webhook', execEvents(ago(10), 2), { receivedAt: iso(ago(10)) })
  const aggregator = new Aggregator(parseAlertsConfig('alerts.yml', ALERTS_YAML))
  const at = ago(10)
  for (const [i, rule] of ['Attach/Exec Pod', 'Create/Modify Secret', 'Delete Namespace'].entries())
    aggregator.ingest(
      {
        rule,
        source: 'falco-rules',
        priority: 'warning',
        output: `${rule} (user=alice)`,
        time: iso(at + i),
        tags: ['k8s'],
        labels: { rule, priority: 'warning', source: 'falco-rules', user: 'alice' },
      },
      at + i,
    )
  aggregator.tick(at + 31_000)
  await saveAlertState(store.db, 'prod', aggregator.snapshot(), at + 60_000)
  if (options.usage === false) return
  for (const [weeks, pods] of [
    [2, 3],
    [0, 6],
  ] as const) {
    const to = end - weeks * 7 * DAY - 3_600_000
    await recordUsage(store, prodReport(to, pods, 1), iso(to + 60_000))
  }
}

// ------------------------------------------------------------------------------------- repositories

/** The repository of the Level 3 estate: every repo.* fact found (no plaintext Secret). */
export const SCALE_REPO = 'test/data/assess/repo-scale'
/** The poor estate's repository: application code only, every repo.* count 0. */
export const POOR_REPO = 'test/data/assess/repo-poor'

// ------------------------------------------------------------------------------------------ answers

/** An answers file answering every question `questions` names with `value`. */
export function answersYaml(
  questions: Iterable<string>,
  value: 'yes' | 'partly' | 'no',
  answeredBy = 'Platform team',
  answeredAt = '2026-12-01',
): string {
  const lines = [`answeredBy: ${answeredBy}`, `answeredAt: ${answeredAt}`, 'answers:']
  for (const q of questions) lines.push(`  ${q}: ${value}`)
  return `${lines.join('\n')}\n`
}
