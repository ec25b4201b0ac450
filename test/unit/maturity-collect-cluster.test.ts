/**
 * The cluster evidence collector of `plimsoll assess` against the local control plane: a cluster at
 * Level 3 (Plimsoll's and Kyverno's webhooks, Gatekeeper's and the monitoring, GitOps, cert-manager,
 * Istio, KEDA and VPA CRDs installed as `kubectl create -f` installs them, with their controllers'
 * workloads, PSA labels, replicated workloads with PDBs, autoscalers), read in pages of 2; a bare
 * cluster (nothing found, each empty list citing where it was sought, shares at 0, the PDB share
 * unknown for want of replicated workloads), then with Kyverno's webhook alone (not Kyverno); and
 * an account whose RBAC does not let it list PodDisruptionBudgets (said, that fact unknown, the others
 * still there), which kubectl is refused too.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ApiClient, loadKubeConfig } from '../../src/cluster/client.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { collectClusterFacts, imageName } from '../../src/maturity/collect/cluster.js'
import { FACTS, type FactValue } from '../../src/maturity/facts.js'
import { bareObjects, loadLevel3, webhookConfiguration } from '../helpers/assess-estate.js'

const execFileAsync = promisify(execFile)
const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-maturity-cluster-'))

const CLUSTER_FACTS = FACTS.filter((f) => f.source === 'cluster').map((f) => `cluster.${f.name}`)

function clientFor(cp: ControlPlane, user?: string): ApiClient {
  const kubeconfig = cp.kubeconfig(join(tmp, `${user ?? 'admin'}-${cp.port}.kubeconfig`), user)
  return new ApiClient(loadKubeConfig({ kubeconfig }))
}

const value = (facts: ReadonlyMap<string, FactValue>, name: string) => facts.get(name)?.value

describe('collectClusterFacts', () => {
  let level3: ControlPlane
  let bare: ControlPlane

  beforeAll(async () => {
    ;[level3, bare] = await Promise.all([startControlPlane(), startControlPlane()])
    await loadLevel3(level3)
    bare.load(bareObjects(), { asCreated: true })
  })

  afterAll(async () => {
    await Promise.all([level3?.stop(), bare?.stop()])
  })

  it('finds a Level 3 cluster: every engine and controller, shares at or near 1, read in pages', async () => {
    const client = clientFor(level3)
    const get = vi.spyOn(client, 'get')
    const { facts, problems } = await collectClusterFacts(client, { pageSize: 2 })
    expect(problems).toEqual([])
    // Lists in pages of 2, each page after the first asked with the continue token (8 Deployments:
    // 4 pages); no Secret read.
    const lists = get.mock.calls.filter(([path]) => !/^\/apis?(\/[^/]+){0,2}$/.test(path))
    expect(lists.every(([, query]) => query?.limit === 2)).toBe(true)
    expect(
      lists.filter(([path, query]) => path === '/apis/apps/v1/deployments' && query?.continue),
    ).toHaveLength(3)
    expect(lists.some(([path]) => path.includes('secrets'))).toBe(false)
    expect([...facts.keys()].sort()).toEqual([...CLUSTER_FACTS].sort())

    expect(value(facts, 'cluster.admissionEngines')).toEqual(['plimsoll', 'kyverno', 'gatekeeper', 'vap'])
    expect(facts.get('cluster.admissionEngines')!.sources).toEqual([
      'plimsoll: ValidatingWebhookConfiguration plimsoll',
      'kyverno: API kyverno.io/v1 ClusterPolicy served',
      'kyverno: API kyverno.io/v1 Policy served',
      'kyverno: ValidatingWebhookConfiguration kyverno-resource-validating-webhook-cfg',
      'gatekeeper: API templates.gatekeeper.sh/v1 ConstraintTemplate served',
      'vap: ValidatingAdmissionPolicyBinding require-team-label',
    ])
    expect(value(facts, 'cluster.monitoring')).toEqual([
      'prometheus',
      'prometheus-operator',
      'kube-state-metrics',
      'alertmanager',
    ])
    expect(facts.get('cluster.monitoring')!.sources).toContain(
      'prometheus: StatefulSet monitoring/prometheus-k8s',
    )
    expect(facts.get('cluster.monitoring')!.sources).toContain('prometheus: Prometheus monitoring/k8s')
    expect(value(facts, 'cluster.gitopsControllers')).toEqual(['argocd', 'flux'])
    expect(facts.get('cluster.gitopsControllers')!.sources).toContain(
      'argocd: StatefulSet argocd/argocd-application-controller',
    )
    expect(value(facts, 'cluster.certificateAutomation')).toEqual(['cert-manager', 'istio'])

    // default, shop, payments, monitoring, argocd, flux-system, cert-manager, istio-system: all labelled.
    expect(value(facts, 'cluster.psaEnforcedShare')).toBe(1)
    expect(facts.get('cluster.psaEnforcedShare')!.sources).toEqual([
      '8 of 8 namespaces have a pod-security.kubernetes.io/enforce label',
    ])
    // 14 containers: 12 of Deployments, StatefulSets and the DaemonSet, the CronJob's, the Job's.
    expect(value(facts, 'cluster.requestsLimitsShare')).toBe(1)
    expect(facts.get('cluster.requestsLimitsShare')!.sources[0]).toBe(
      '14 of 14 containers have cpu and memory requests and a memory limit',
    )
    expect(value(facts, 'cluster.probesShare')).toBe(11 / 12)
    expect(facts.get('cluster.probesShare')!.sources).toEqual([
      '11 of 12 containers have readiness and liveness probes',
      'Deployment shop/web (log-shipper: no liveness probe)',
    ])
    expect(value(facts, 'cluster.replicatedShare')).toBe(9 / 10)
    expect(facts.get('cluster.replicatedShare')!.sources).toEqual([
      '9 of 10 Deployments and StatefulSets have 2 replicas or more',
      'Deployment monitoring/kube-state-metrics (1 replica)',
    ])
    expect(value(facts, 'cluster.pdbShare')).toBe(8 / 9)
    expect(facts.get('cluster.pdbShare')!.sources).toEqual([
      '8 of 9 Deployments and StatefulSets of 2 replicas or more have a PodDisruptionBudget',
      'Deployment istio-system/istiod',
    ])
    expect(value(facts, 'cluster.autoscalers')).toBe(3)
    expect([...facts.get('cluster.autoscalers')!.sources].sort()).toEqual([
      'HorizontalPodAutoscaler shop/web',
      'ScaledObject shop/queue',
      'VerticalPodAutoscaler payments/api',
    ])
  })

  it('finds nothing in a bare cluster: lists empty, shares at 0, the PDB share unknown', async () => {
    const { facts, problems } = await collectClusterFacts(clientFor(bare), { maxSources: 2 })
    expect(problems).toEqual([])
    // Nothing found, and each empty list cites where it was sought: one source of what was looked
    // through (counted) and what is not served.
    expect(facts.get('cluster.admissionEngines')).toEqual({
      value: [],
      sources: [
        'cluster: no plimsoll, kyverno or gatekeeper webhook among 0 ValidatingWebhookConfigurations and 0 MutatingWebhookConfigurations; no kyverno.io or templates.gatekeeper.sh API served; no ValidatingAdmissionPolicyBinding',
      ],
    })
    expect(facts.get('cluster.monitoring')).toEqual({
      value: [],
      sources: [
        'cluster: no prometheus, prometheus-operator, kube-state-metrics or alertmanager among 2 Deployments and 0 StatefulSets; no Prometheus or Alertmanager',
      ],
    })
    expect(facts.get('cluster.gitopsControllers')).toEqual({
      value: [],
      sources: [
        'cluster: no argocd-application-controller, kustomize-controller or source-controller among 2 Deployments and 0 StatefulSets; no argoproj.io or kustomize.toolkit.fluxcd.io API served',
      ],
    })
    expect(facts.get('cluster.certificateAutomation')).toEqual({
      value: [],
      sources: [
        'cluster: no cert-manager, istiod, linkerd control plane or spire-server among 2 Deployments and 0 StatefulSets; no cert-manager.io, networking.istio.io, security.istio.io, linkerd.io, policy.linkerd.io or spire.spiffe.io API served',
      ],
    })
    // default, app, tools, batch: none labelled; the sources bounded.
    expect(facts.get('cluster.psaEnforcedShare')).toEqual({
      value: 0,
      sources: [
        '0 of 4 namespaces have a pod-security.kubernetes.io/enforce label',
        'Namespace app',
        'Namespace batch',
        '... and 2 more',
      ],
    })
    expect(value(facts, 'cluster.requestsLimitsShare')).toBe(0)
    expect(facts.get('cluster.requestsLimitsShare')!.sources).toEqual([
      '0 of 2 containers have cpu and memory requests and a memory limit',
      'Deployment app/web (app: no cpu request, no memory request, no memory limit)',
      'Deployment app/worker (app: no cpu request, no memory request, no memory limit)',
    ])
    expect(value(facts, 'cluster.probesShare')).toBe(0)
    expect(value(facts, 'cluster.replicatedShare')).toBe(0)
    // No workload of 2 replicas: nothing a PDB could cover, unknown rather than 0.
    expect(facts.has('cluster.pdbShare')).toBe(false)
    expect(facts.get('cluster.autoscalers')).toEqual({
      value: 0,
      sources: ['cluster: no HorizontalPodAutoscaler, VerticalPodAutoscaler or ScaledObject'],
    })
  })

  it('says of a member found in part which part is missing', async () => {
    // Kyverno is its webhook and its policy API: the webhook alone is not Kyverno.
    bare.load([webhookConfiguration('kyverno-resource-validating-webhook-cfg', 'validate.kyverno.svc')], {
      asCreated: true,
    })
    const { facts, problems } = await collectClusterFacts(clientFor(bare))
    expect(problems).toEqual([])
    expect(facts.get('cluster.admissionEngines')).toEqual({
      value: [],
      sources: [
        'cluster: no plimsoll or gatekeeper webhook among 1 ValidatingWebhookConfiguration and 0 MutatingWebhookConfigurations; no kyverno.io or templates.gatekeeper.sh API served; no ValidatingAdmissionPolicyBinding',
      ],
    })
  })

  it('says a list RBAC refuses, leaves its fact unknown and brings the others', async () => {
    const readable = [
      'namespaces',
      'validatingwebhookconfigurations',
      'mutatingwebhookconfigurations',
      'validatingadmissionpolicybindings',
      'deployments',
      'statefulsets',
      'daemonsets',
      'jobs',
      'cronjobs',
      'horizontalpodautoscalers',
      'verticalpodautoscalers',
      'scaledobjects',
      'prometheuses',
      'alertmanagers',
    ]
    level3.user('no-pdbs', { rules: [{ verbs: ['get', 'list'], apiGroups: ['*'], resources: readable }] })
    const { facts, problems } = await collectClusterFacts(clientFor(level3, 'no-pdbs'))
    expect(problems).toEqual([
      'cluster: listing poddisruptionbudgets was refused (403): cluster.pdbShare unknown',
    ])
    expect(facts.has('cluster.pdbShare')).toBe(false)
    expect([...facts.keys()].sort()).toEqual(CLUSTER_FACTS.filter((f) => f !== 'cluster.pdbShare').sort())
    expect(value(facts, 'cluster.replicatedShare')).toBe(9 / 10)
    expect(value(facts, 'cluster.admissionEngines')).toEqual(['plimsoll', 'kyverno', 'gatekeeper', 'vap'])

    // kubectl, with the same account, is refused the same list.
    const kubeconfig = level3.kubeconfig(join(tmp, 'no-pdbs-kubectl.kubeconfig'), 'no-pdbs')
    const refused = await execFileAsync(
      'kubectl',
      ['--kubeconfig', kubeconfig, 'get', 'poddisruptionbudgets', '-A'],
      {
        timeout: 30_000,
      },
    ).catch((err: { stderr: string }) => err)
    expect(refused.stderr).toContain(
      'User "no-pdbs" cannot list resource "poddisruptionbudgets" in API group "policy" at the cluster scope',
    )
  })

  it('keeps what it found when a list fails, and says the rest may be incomplete', async () => {
    level3.user('no-statefulsets', {
      rules: [
        {
          verbs: ['list'],
          apiGroups: ['*'],
          resources: ['deployments', 'prometheuses', 'alertmanagers', 'validatingwebhookconfigurations'],
        },
      ],
    })
    const { facts, problems } = await collectClusterFacts(clientFor(level3, 'no-statefulsets'))
    // Prometheus is found by its object, kube-state-metrics by its Deployment: both stay.
    expect(value(facts, 'cluster.monitoring')).toEqual([
      'prometheus',
      'prometheus-operator',
      'kube-state-metrics',
      'alertmanager',
    ])
    // argocd's controller is a StatefulSet: nothing seen, and that is unknown, not absent.
    expect(value(facts, 'cluster.gitopsControllers')).toEqual(['flux'])
    expect(facts.has('cluster.probesShare')).toBe(false)
    expect(problems).toContain(
      'cluster: listing statefulsets was refused (403): cluster.requestsLimitsShare unknown, cluster.probesShare unknown, cluster.replicatedShare unknown, cluster.pdbShare unknown, cluster.gitopsControllers may be incomplete, cluster.certificateAutomation may be incomplete',
    )
    expect(problems).toContain(
      'cluster: listing mutatingwebhookconfigurations.admissionregistration.k8s.io was refused (403): cluster.admissionEngines may be incomplete',
    )
  })
})

describe('imageName', () => {
  it('is the last segment of the repository, without tag or digest', () => {
    expect(imageName('quay.io/prometheus/prometheus:v2.54.1')).toBe('prometheus')
    expect(imageName('registry.local:5000/mirror/kube-state-metrics@sha256:abc')).toBe('kube-state-metrics')
    expect(imageName('prometheus')).toBe('prometheus')
  })
})
