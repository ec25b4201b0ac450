/**
 * Assessments for the report tests, judged by the real assess() over the built-in catalogue: one with
 * nothing read (every criterion unknown), and a rich one from hand-made facts and answers where some
 * criteria are met, some partly and some not yet, with a fact of many sources (capped in the reports),
 * sources and a note that need escaping, and answers of two dates; and one whose criterion's condition
 * fails at run time on the evidence (its why a CEL error of several lines).
 */
import { parseAnswers } from '../../src/maturity/answers.js'
import { type Assessment, assess } from '../../src/maturity/assess.js'
import { loadCatalogue, parseCriterionFile } from '../../src/maturity/catalogue.js'
import type { FactValue } from '../../src/maturity/facts.js'

export const catalogue = loadCatalogue()

/** A source an HTML report must escape. */
export const HOSTILE_SOURCE = 'charts/<script>alert(1)</script>/values.yaml & co'
export const HOSTILE_NOTE = 'prod deploys need a <b>change ticket</b> & staging does not'

/** repo.ciPolicyChecks' sources: more than the reports show. */
export const POLICY_CHECK_SOURCES = Array.from(
  { length: 8 },
  (_, i) => `.github/workflows/policy-${i + 1}.yml:${10 + i}`,
)

const fact = (value: number | string[], sources: string[]): FactValue => ({ value, sources })

export const RICH_FACTS: ReadonlyMap<string, FactValue> = new Map<string, FactValue>([
  ['repo.ciWorkflows', fact(3, ['.github/workflows/ci.yml', '.gitlab-ci.yml', 'Jenkinsfile'])],
  ['repo.ciPolicyChecks', fact(8, POLICY_CHECK_SOURCES)],
  ['repo.ciImageScans', fact(0, [])],
  ['repo.ciTests', fact(2, ['.github/workflows/ci.yml:30', '.gitlab-ci.yml:12'])],
  ['repo.testFiles', fact(40, ['test/app.test.ts', 'test/api.test.ts'])],
  ['repo.manifests', fact(120, ['deploy/app.yaml', 'deploy/db.yaml'])],
  ['repo.helmCharts', fact(2, [HOSTILE_SOURCE, 'charts/api/Chart.yaml'])],
  ['repo.kustomizations', fact(3, ['deploy/kustomization.yaml'])],
  ['repo.gitopsApplications', fact(0, [])],
  ['repo.iacFiles', fact(0, [])],
  ['repo.plaintextSecrets', fact(2, ['deploy/secret.yaml:1', 'deploy/db-secret.yaml:1'])],
  ['repo.managedSecrets', fact(1, ['deploy/sealed.yaml:1'])],
  ['repo.alertRules', fact(4, ['monitoring/rules.yaml'])],
  ['repo.dashboards', fact(0, [])],
  [
    'cluster.admissionEngines',
    fact(['plimsoll', 'kyverno'], ['Deployment plimsoll/webhook', 'Deployment kyverno/kyverno']),
  ],
  ['cluster.psaEnforcedShare', fact(0.6, ['Namespace shop', 'Namespace payments', 'Namespace lab'])],
  [
    'cluster.monitoring',
    fact(
      ['prometheus', 'kube-state-metrics'],
      ['StatefulSet monitoring/prometheus', 'Deployment monitoring/ksm'],
    ),
  ],
  ['cluster.gitopsControllers', fact([], [])],
  ['cluster.certificateAutomation', fact(['cert-manager'], ['Deployment cert-manager/cert-manager'])],
  ['cluster.requestsLimitsShare', fact(0.85, ['Deployment shop/checkout', 'Deployment shop/cart'])],
  ['cluster.probesShare', fact(0.4, ['Deployment shop/checkout'])],
  ['cluster.replicatedShare', fact(0.6, ['Deployment shop/checkout'])],
  ['cluster.pdbShare', fact(0.3, ['PodDisruptionBudget shop/checkout'])],
  ['cluster.autoscalers', fact(5, ['HorizontalPodAutoscaler shop/checkout'])],
  ['store.ciScanDays', fact(12, ['scans'])],
  ['store.clusters', fact(1, ['scans'])],
  ['store.findingsTrend', fact(-0.15, ['findings'])],
  ['store.exceptionsOwnedShare', fact(0.9, ['exceptions'])],
  ['store.enforcedNamespaces', fact(3, ['admission_modes'])],
  ['store.auditEvents', fact(1500, ['audit_events'])],
  ['store.alertNoiseRatio', fact(0.5, ['notifications', 'detections'])],
  ['store.usageSnapshots', fact(6, ['usage_snapshots'])],
  // store.wasteTrend is missing: unknown
])

export const RICH_ANSWERS_YAML = `answeredBy: Platform team
answeredAt: 2026-11-20
answers:
  platform-team: yes
  centre-of-excellence: partly
  cka-ckad: no
  repeatable-patterns: yes
  same-deployment-process: yes
  policy-tests: yes
  production-approval-gate:
    answer: partly
    note: ${HOSTILE_NOTE}
    answeredAt: 2026-11-21
  dora-metrics: no
`

const NOW = new Date('2026-12-01T09:30:00Z')

export function emptyAssessment(): Assessment {
  return assess(catalogue.criteria, new Map(), undefined, { now: NOW, inputs: { repositories: [] } })
}

export function richAssessment(): Assessment {
  const answers = parseAnswers('answers.yaml', RICH_ANSWERS_YAML, catalogue.criteria)
  return assess(catalogue.criteria, RICH_FACTS, answers, {
    now: NOW,
    inputs: {
      repositories: ['./infra', './apps'],
      cluster: 'prod-eu',
      store: 'plimsoll.db',
      answers: { origin: answers.origin, answeredBy: answers.answeredBy, answeredAt: answers.answeredAt },
    },
    problems: ['cluster: listing poddisruptionbudgets in namespace <kube-system> was refused (403)'],
  })
}

/** The criterion whose condition fails at run time: it reads an index its list does not have. */
export const CEL_ERROR_CRITERION = parseCriterionFile(
  'l3-technology-monitoring-usage.yaml',
  `id: l3-technology-monitoring-usage
level: 3
aspect: technology
title: The monitoring is used
quote:
  page: level-3.md
  text: "A sentence of the model."
advice: Do the thing.
judged: automatic
facts: [cluster.monitoring]
meets: cluster.monitoring[3] == 'alertmanager'
`,
)

/** An assessment of CEL_ERROR_CRITERION alone: unknown, its why a CEL runtime error with a code frame. */
export function celErrorAssessment(): Assessment {
  return assess(
    [CEL_ERROR_CRITERION],
    new Map([['cluster.monitoring', fact(['prometheus'], ['StatefulSet monitoring/prometheus'])]]),
    undefined,
    { now: NOW, inputs: { repositories: [], cluster: 'prod-eu' } },
  )
}
