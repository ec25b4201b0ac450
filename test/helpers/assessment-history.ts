/**
 * Two assessments a month apart, judged by the real assess() over the built-in catalogue from hand-made
 * facts, recorded in a store as `plimsoll assess --store` would: the first read a repository and a
 * cluster only (the store's facts unknown, no questionnaire); the second read all three and more of it is
 * met (policy checks in CI, an admission engine, owned exceptions), with answers from a file, a fact of
 * many sources (shown capped) and one fact missing (store.wasteTrend: its criterion unknown). The store
 * also holds an answer given on the dashboard.
 */
import { parseAnswers } from '../../src/maturity/answers.js'
import { type Assessment, assess } from '../../src/maturity/assess.js'
import { loadCatalogue } from '../../src/maturity/catalogue.js'
import type { FactValue } from '../../src/maturity/facts.js'
import { recordAssessment, type StoredAnswer, saveAnswers } from '../../src/store/assessments.js'
import type { Store } from '../../src/store/connect.js'

const catalogue = loadCatalogue()

const fact = (value: number | string[], sources: string[] = []): FactValue => ({ value, sources })

/** repo.ciPolicyChecks' sources in the second: more than the page shows. */
export const POLICY_CHECK_SOURCES = Array.from(
  { length: 8 },
  (_, i) => `.github/workflows/policy-${i + 1}.yml:${10 + i}`,
)

const REPO_BEFORE: [string, FactValue][] = [
  ['repo.ciWorkflows', fact(1, ['.github/workflows/ci.yml'])],
  ['repo.ciPolicyChecks', fact(0)],
  ['repo.ciImageScans', fact(0)],
  ['repo.ciTests', fact(1, ['.github/workflows/ci.yml:22'])],
  ['repo.testFiles', fact(12, ['test/app.test.ts'])],
  ['repo.manifests', fact(40, ['deploy/app.yaml', 'deploy/db.yaml'])],
  ['repo.helmCharts', fact(0)],
  ['repo.kustomizations', fact(1, ['deploy/kustomization.yaml'])],
  ['repo.gitopsApplications', fact(0)],
  ['repo.iacFiles', fact(0)],
  ['repo.plaintextSecrets', fact(3, ['deploy/secret.yaml:1'])],
  ['repo.managedSecrets', fact(0)],
  ['repo.alertRules', fact(0)],
  ['repo.dashboards', fact(0)],
]

const CLUSTER_BEFORE: [string, FactValue][] = [
  ['cluster.admissionEngines', fact([])],
  ['cluster.psaEnforcedShare', fact(0.1, ['Namespace shop'])],
  ['cluster.monitoring', fact(['prometheus'], ['StatefulSet monitoring/prometheus'])],
  ['cluster.gitopsControllers', fact([])],
  ['cluster.certificateAutomation', fact([])],
  ['cluster.requestsLimitsShare', fact(0.4, ['Deployment shop/checkout'])],
  ['cluster.probesShare', fact(0.3, ['Deployment shop/checkout'])],
  ['cluster.replicatedShare', fact(0.4, ['Deployment shop/checkout'])],
  ['cluster.pdbShare', fact(0)],
  ['cluster.autoscalers', fact(0)],
]

export const BEFORE_FACTS: ReadonlyMap<string, FactValue> = new Map([...REPO_BEFORE, ...CLUSTER_BEFORE])

export const AFTER_FACTS: ReadonlyMap<string, FactValue> = new Map<string, FactValue>([
  ...REPO_BEFORE,
  ['repo.ciPolicyChecks', fact(8, POLICY_CHECK_SOURCES)],
  ['repo.ciImageScans', fact(1, ['.github/workflows/image.yml:14'])],
  ['repo.helmCharts', fact(2, ['charts/shop/Chart.yaml', 'charts/api/Chart.yaml'])],
  ['repo.managedSecrets', fact(2, ['deploy/sealed.yaml:1', 'deploy/external.yaml:1'])],
  ['repo.plaintextSecrets', fact(0)],
  ['repo.alertRules', fact(4, ['monitoring/rules.yaml'])],
  ['repo.dashboards', fact(2, ['monitoring/dashboards/shop.json'])],
  ...CLUSTER_BEFORE,
  ['cluster.admissionEngines', fact(['plimsoll'], ['Deployment plimsoll/webhook'])],
  ['cluster.psaEnforcedShare', fact(0.85, ['Namespace shop', 'Namespace payments'])],
  [
    'cluster.monitoring',
    fact(
      ['prometheus', 'kube-state-metrics'],
      ['StatefulSet monitoring/prometheus', 'Deployment monitoring/kube-state-metrics'],
    ),
  ],
  ['cluster.requestsLimitsShare', fact(0.9, ['Deployment shop/checkout', 'Deployment shop/cart'])],
  ['cluster.autoscalers', fact(2, ['HorizontalPodAutoscaler shop/checkout'])],
  ['store.ciScanDays', fact(14, ['scans'])],
  ['store.clusters', fact(1, ['scans'])],
  ['store.findingsTrend', fact(-0.2, ['findings'])],
  ['store.exceptionsOwnedShare', fact(0.9, ['exceptions'])],
  ['store.enforcedNamespaces', fact(2, ['admission_modes'])],
  ['store.auditEvents', fact(1200, ['audit_events'])],
  ['store.alertNoiseRatio', fact(0.4, ['notifications', 'detections'])],
  ['store.usageSnapshots', fact(5, ['usage_snapshots'])],
  // store.wasteTrend is missing: l3-business-outcomes-right-sizing is unknown
])

/** The second assessment's answers file. */
export const ANSWERS_YAML = `answeredBy: Platform team
answeredAt: 2026-11-28
answers:
  platform-team: yes
  policy-tests: yes
  production-approval-gate:
    answer: partly
    note: production deploys need a change ticket
`

/** An answer given on the dashboard before the page is opened. */
export const DASHBOARD_ANSWER: StoredAnswer = {
  question: 'threat-modeling',
  value: 'partly',
  note: 'for the payment services only',
  answeredBy: 'ada-admin',
  answeredAt: '2026-11-30T10:00:00.000Z',
}

export const BEFORE_AT = new Date('2026-11-02T09:00:00Z')
export const AFTER_AT = new Date('2026-12-02T09:00:00Z')

export function beforeAssessment(): Assessment {
  return assess(catalogue.criteria, BEFORE_FACTS, undefined, {
    now: BEFORE_AT,
    inputs: { repositories: ['./infra'], cluster: 'prod-eu' },
  })
}

export function afterAssessment(): Assessment {
  const answers = parseAnswers('answers.yaml', ANSWERS_YAML, catalogue.criteria)
  return assess(catalogue.criteria, AFTER_FACTS, answers, {
    now: AFTER_AT,
    inputs: {
      repositories: ['./infra'],
      cluster: 'prod-eu',
      store: 'plimsoll.db',
      answers: { origin: answers.origin, answeredBy: answers.answeredBy, answeredAt: answers.answeredAt },
    },
    problems: ['cluster: listing poddisruptionbudgets in namespace kube-system was refused (403)'],
  })
}

export interface AssessmentHistory {
  before: { id: number; assessment: Assessment }
  after: { id: number; assessment: Assessment }
}

/** Records both assessments (oldest first) and the dashboard's answer. */
export async function fillAssessmentStore(store: Store): Promise<AssessmentHistory> {
  const before = beforeAssessment()
  const after = afterAssessment()
  const beforeId = await recordAssessment(store, before)
  const afterId = await recordAssessment(store, after)
  await saveAnswers(store, [DASHBOARD_ANSWER])
  return { before: { id: beforeId, assessment: before }, after: { id: afterId, assessment: after } }
}
