/**
 * The facts an assessment can know: what each evidence collector measures, by name. This is the
 * contract between the criteria (maturity/criteria/*.yaml, whose conditions are CEL over these
 * names) and the collectors (src/maturity/collect/*), so that a criterion can only name a fact some
 * collector produces, and the report can say where each came from.
 *
 * A fact a collector did not produce (no repository given, no cluster reachable, an empty store) is
 * unknown, never zero: a criterion over an unknown fact is unknown, not "not yet".
 */

export type FactSource = 'repo' | 'cluster' | 'store'

export type FactType =
  /** how many were found */
  | 'count'
  /** a share from 0 to 1 */
  | 'share'
  /** names of what was found, e.g. ['kyverno', 'plimsoll'] */
  | 'list'
  /** a signed number (a trend: negative is down) */
  | 'number'

export interface FactDefinition {
  readonly source: FactSource
  readonly name: string
  readonly type: FactType
  /** what it measures, as the report explains it */
  readonly description: string
}

const fact = (source: FactSource, name: string, type: FactType, description: string): FactDefinition => ({
  source,
  name,
  type,
  description,
})

/** Every fact, by `<source>.<name>`. */
export const FACTS: readonly FactDefinition[] = [
  // repositories (paths given to `plimsoll assess --repo`)
  fact(
    'repo',
    'ciWorkflows',
    'count',
    'CI definitions: GitHub Actions workflows, .gitlab-ci.yml, Jenkinsfiles, pre-commit configurations',
  ),
  fact(
    'repo',
    'ciPolicyChecks',
    'count',
    'CI definition files that run a policy or configuration check on manifests (plimsoll, kyverno, conftest, opa, kube-linter, polaris, kubeconform, kubeval, checkov, kubescape, datree, gator)',
  ),
  fact(
    'repo',
    'ciImageScans',
    'count',
    'CI definition files that scan container images for vulnerabilities (trivy, grype, snyk, docker scout, clair, GitLab Container-Scanning)',
  ),
  fact('repo', 'ciTests', 'count', 'CI definition files that run tests'),
  fact('repo', 'testFiles', 'count', 'test files in the repositories'),
  fact('repo', 'manifests', 'count', 'Kubernetes manifests in the repositories'),
  fact('repo', 'helmCharts', 'count', 'Helm charts (Chart.yaml)'),
  fact('repo', 'kustomizations', 'count', 'Kustomize kustomization files'),
  fact(
    'repo',
    'gitopsApplications',
    'count',
    'GitOps objects: Argo CD Applications and ApplicationSets; Flux Kustomizations, HelmReleases, GitRepositories, OCIRepositories and HelmRepositories',
  ),
  fact(
    'repo',
    'iacFiles',
    'count',
    'infrastructure as code: Terraform files (.tf, .tf.json); Crossplane Compositions, CompositeResourceDefinitions, Providers, Configurations and Functions',
  ),
  fact(
    'repo',
    'plaintextSecrets',
    'count',
    'Secret manifests with their values in the repository (data or stringData)',
  ),
  fact(
    'repo',
    'managedSecrets',
    'count',
    'secrets kept out of plain text: SealedSecrets; ExternalSecrets and their SecretStores; SecretProviderClasses; Vault Secrets Operator secrets; SOPS-encrypted files and .sops.yaml',
  ),
  fact('repo', 'alertRules', 'count', 'alerting rules: PrometheusRule objects and Prometheus rule files'),
  fact(
    'repo',
    'dashboards',
    'count',
    'Grafana dashboards: dashboard JSON, GrafanaDashboard objects, ConfigMaps labelled grafana_dashboard',
  ),
  // a cluster (`--kubeconfig` / in cluster), read once
  fact(
    'cluster',
    'admissionEngines',
    'list',
    'admission policy engines in the cluster: plimsoll, kyverno, gatekeeper, vap (ValidatingAdmissionPolicyBindings)',
  ),
  fact(
    'cluster',
    'psaEnforcedShare',
    'share',
    'namespaces (other than kube-system, kube-public, kube-node-lease) with a pod-security.kubernetes.io/enforce label',
  ),
  fact(
    'cluster',
    'monitoring',
    'list',
    'monitoring in the cluster: prometheus, prometheus-operator, kube-state-metrics, alertmanager',
  ),
  fact('cluster', 'gitopsControllers', 'list', 'GitOps controllers in the cluster: argocd, flux'),
  fact(
    'cluster',
    'certificateAutomation',
    'list',
    'certificate automation and service meshes: cert-manager, istio, linkerd, spire',
  ),
  fact(
    'cluster',
    'requestsLimitsShare',
    'share',
    'containers of workloads with CPU and memory requests and a memory limit',
  ),
  fact(
    'cluster',
    'probesShare',
    'share',
    'containers of Deployments, StatefulSets and DaemonSets with readiness and liveness probes',
  ),
  fact('cluster', 'replicatedShare', 'share', 'Deployments and StatefulSets with 2 replicas or more'),
  fact(
    'cluster',
    'pdbShare',
    'share',
    'Deployments and StatefulSets of 2 replicas or more that a PodDisruptionBudget covers',
  ),
  fact(
    'cluster',
    'autoscalers',
    'count',
    'HorizontalPodAutoscalers, VerticalPodAutoscalers and KEDA ScaledObjects',
  ),
  // Plimsoll's own store
  fact(
    'store',
    'ciScanDays',
    'count',
    'days in the last 30 with a scan of files recorded with source ci (plimsoll scan --store)',
  ),
  fact('store', 'clusters', 'count', 'clusters whose scans are recorded in the last 30 days'),
  fact(
    'store',
    'findingsTrend',
    'number',
    'the change in open findings over the last 30 days, as a share of where they started (negative: burn-down)',
  ),
  fact('store', 'exceptionsOwnedShare', 'share', 'exceptions that name an owner'),
  fact(
    'store',
    'enforcedNamespaces',
    'count',
    'namespaces where a failing check was last enforced by the admission webhook (denied) in the last 30 days',
  ),
  fact(
    'store',
    'auditEvents',
    'count',
    'audit events received in the last 7 days and still held (audit serve keeps processed events for --retention-hours, 24 by default)',
  ),
  fact(
    'store',
    'alertNoiseRatio',
    'number',
    'notifications sent per audit detection, counted since each alert pipeline started (lower is quieter; above 1 when groups are re-notified)',
  ),
  fact(
    'store',
    'usageSnapshots',
    'count',
    'usage snapshots recorded in the last 30 days (plimsoll usage --store)',
  ),
  fact(
    'store',
    'wasteTrend',
    'number',
    'the change in monthly waste over the last 30 days, as a share of where it started (negative: less waste)',
  ),
  fact(
    'store',
    'imageScans',
    'count',
    'images whose vulnerabilities were imported (plimsoll import of a Trivy or Grype report) in the last 30 days',
  ),
  fact(
    'store',
    'overdueVulnerabilities',
    'count',
    'open critical and high vulnerabilities with a fix available, first seen over 30 days ago',
  ),
]

export const FACT_NAMES: ReadonlySet<string> = new Set(FACTS.map((f) => `${f.source}.${f.name}`))

/** One fact's value as a collector found it, with where it was seen. */
export interface FactValue {
  readonly value: number | readonly string[]
  /**
   * where: file paths (with a line where there is one), cluster objects (kind namespace/name), store
   * tables; for a count of 0 or an empty list, where it was sought (the repositories and how many files
   * of them were read, the cluster objects looked through, the store table and its window)
   */
  readonly sources: readonly string[]
}

/** What the collectors found: `<source>.<name>` -> value. A missing name is unknown. */
export type Facts = ReadonlyMap<string, FactValue>

/** What one collector found, and what it could not read (said in the report, never hidden). */
export interface CollectedFacts {
  readonly facts: ReadonlyMap<string, FactValue>
  /** e.g. "repository ./infra: no such directory", "cluster: listing poddisruptionbudgets was refused (403)" */
  readonly problems: readonly string[]
}

/** What several collectors found, as one: their facts (a later collector's name wins) and problems. */
export function mergeFacts(found: ReadonlyArray<CollectedFacts | undefined>): {
  facts: Map<string, FactValue>
  problems: string[]
} {
  const facts = new Map<string, FactValue>()
  const problems: string[] = []
  for (const f of found) {
    if (!f) continue
    for (const [k, v] of f.facts) facts.set(k, v)
    problems.push(...f.problems)
  }
  return { facts, problems }
}
