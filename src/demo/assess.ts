/**
 * The demo's two maturity assessments, a month apart, made the way `plimsoll assess --store` makes
 * them: the real collectors over the demo's platform repository as it was then and is now (written to a
 * temporary folder), over the demo store (its history up to each date), and, for the second, over the
 * live demo cluster; with the questionnaire answered a little more the second time. The story: a
 * month ago the repository had a plaintext Secret, no policy check or image scan in CI and nothing on
 * GitOps; Plimsoll had just been installed (no history yet) and no cluster was connected. Now CI runs
 * `plimsoll scan --store` and trivy, secrets are sealed, Argo CD deploys, alert rules and dashboards
 * are in Git, and the cluster is read.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { ApiClient } from '../cluster/client.js'
import { answersOf } from '../maturity/answers.js'
import { assess } from '../maturity/assess.js'
import { BUILTIN_CRITERIA_DIR, loadCatalogue } from '../maturity/catalogue.js'
import { collectClusterFacts } from '../maturity/collect/cluster.js'
import { collectRepoFacts } from '../maturity/collect/repo.js'
import { collectStoreFacts } from '../maturity/collect/store.js'
import { mergeFacts } from '../maturity/facts.js'
import { recordAssessment, type StoredAnswer, saveAnswers } from '../store/assessments.js'
import type { Store } from '../store/connect.js'

const DAY_MS = 86_400_000

export interface AssessSeedSummary {
  /** the two assessments' ids, earlier first */
  readonly ids: readonly [number, number]
  /** Level 3 criteria met then and now, of how many */
  readonly met: readonly [number, number]
  readonly total: number
  readonly score: readonly [number, number]
}

const WORKFLOW_BEFORE = `name: ci
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci
      - run: npm test
      - run: docker build -t registry.example.com/shop/checkout:\${{ github.sha }} .
`

const WORKFLOW_NOW = `name: ci
on: [push, pull_request]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci
      - run: npm test
      - run: npx plimsoll scan deploy/ --fail-on high --store "$PLIMSOLL_STORE"
      - run: docker build -t registry.example.com/shop/checkout:\${{ github.sha }} .
      - uses: aquasecurity/trivy-action@0.28.0
        with:
          image-ref: registry.example.com/shop/checkout:\${{ github.sha }}
          exit-code: '1'
          severity: CRITICAL,HIGH
`

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: { app: checkout }
  template:
    metadata:
      labels: { app: checkout }
    spec:
      containers:
        - name: checkout
          image: registry.example.com/shop/checkout:1.42.0
          resources:
            requests: { cpu: 250m, memory: 256Mi }
            limits: { memory: 512Mi }
`

/** the value is not a secret: it is the demo's */
const PLAINTEXT_SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: checkout-db
  namespace: shop
stringData:
  password: demo-not-a-secret
`

const SEALED_SECRET = `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: checkout-db
  namespace: shop
spec:
  encryptedData:
    password: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq
`

const CHART = `apiVersion: v2
name: checkout
version: 1.42.0
`

const KUSTOMIZATION = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - sealed-secret.yaml
`

const APPLICATION = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  namespace: argocd
spec:
  project: default
  source: { repoURL: 'https://git.example.com/platform/shop.git', path: deploy, targetRevision: main }
  destination: { server: 'https://kubernetes.default.svc', namespace: shop }
  syncPolicy: { automated: { prune: true, selfHeal: true } }
`

const RULES = `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: checkout
  namespace: shop
spec:
  groups:
    - name: checkout
      rules:
        - alert: CheckoutErrorRate
          expr: sum(rate(http_requests_total{job="checkout",code=~"5.."}[5m])) / sum(rate(http_requests_total{job="checkout"}[5m])) > 0.05
          for: 10m
          labels: { severity: page }
`

const DASHBOARD = `${JSON.stringify({ title: 'Checkout', schemaVersion: 39, panels: [{ type: 'timeseries', title: 'Requests' }] }, null, 2)}\n`

const TERRAFORM = `resource "google_container_cluster" "prod" {
  name     = "prod-cluster"
  location = "europe-west1"
}
`

/** The platform repository as it was a month ago, and as it is now. */
function repository(now: boolean): Record<string, string> {
  const files: Record<string, string> = {
    '.github/workflows/ci.yaml': now ? WORKFLOW_NOW : WORKFLOW_BEFORE,
    'deploy/deployment.yaml': DEPLOYMENT,
    'chart/Chart.yaml': CHART,
    'src/checkout.test.ts': "import { test } from 'vitest'\ntest('pays', () => {})\n",
  }
  if (!now) return { ...files, 'deploy/secret.yaml': PLAINTEXT_SECRET }
  return {
    ...files,
    'deploy/sealed-secret.yaml': SEALED_SECRET,
    'deploy/kustomization.yaml': KUSTOMIZATION,
    'gitops/shop-application.yaml': APPLICATION,
    'monitoring/checkout-rules.yaml': RULES,
    'monitoring/checkout-dashboard.json': DASHBOARD,
    'infra/main.tf': TERRAFORM,
  }
}

/** The questionnaire: a few answers a month ago, more now (self-reported by the platform team). */
function answers(now: boolean, at: string): StoredAnswer[] {
  const by = 'Platform team (demo)'
  const list: Array<[string, 'yes' | 'partly' | 'no', string?]> = now
    ? [
        ['platform-team', 'yes', 'a platform team of four owns the clusters and CI templates'],
        ['centre-of-excellence', 'partly', 'a weekly guild; no charter yet'],
        ['production-approval-gate', 'yes'],
        ['cka-ckad', 'partly', 'CKA for 3 engineers, CKAD booked'],
        ['early-training', 'yes'],
        ['audit-critical-alerts', 'yes'],
        ['no-human-production-access', 'partly', 'break-glass accounts remain'],
        ['culture-comfortable', 'yes'],
      ]
    : [
        ['platform-team', 'partly', 'two engineers part time'],
        ['production-approval-gate', 'no'],
        ['early-training', 'partly'],
      ]
  return list.map(([question, value, note]) => ({
    question,
    value,
    ...(note ? { note } : {}),
    answeredBy: by,
    answeredAt: at,
  }))
}

export async function seedAssessments(
  store: Store,
  options: { now: Date; cluster?: { client: ApiClient; name: string } },
): Promise<AssessSeedSummary> {
  const { criteria } = loadCatalogue(BUILTIN_CRITERIA_DIR)
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-demo-assess-'))
  try {
    const ids: number[] = []
    const met: number[] = []
    const score: number[] = []
    let total = 0
    for (const now of [false, true]) {
      const at = now ? options.now : new Date(options.now.getTime() - 30 * DAY_MS)
      // the repository is named as the team would pass it, not by the temporary folder
      const repo = join(dir, now ? 'now' : 'before', 'platform')
      for (const [file, text] of Object.entries(repository(now))) {
        mkdirSync(dirname(join(repo, file)), { recursive: true })
        writeFileSync(join(repo, file), text)
      }
      const given = answers(now, at.toISOString().slice(0, 10))
      const { facts, problems } = mergeFacts([
        await collectRepoFacts([repo]),
        await collectStoreFacts(store, { now: at }),
        now && options.cluster ? await collectClusterFacts(options.cluster.client) : undefined,
      ])
      const shown = (text: string) => text.split(repo).join('platform')
      const a = assess(
        criteria,
        new Map([...facts].map(([k, v]) => [k, { value: v.value, sources: v.sources.map(shown) }])),
        answersOf('the dashboard', given, criteria),
        {
          now: at,
          problems: problems.map(shown),
          inputs: {
            repositories: ['platform'],
            ...(now && options.cluster ? { cluster: options.cluster.name } : {}),
            store: store.location,
            answers: {
              origin: 'the dashboard',
              answeredBy: 'Platform team (demo)',
              answeredAt: at.toISOString(),
            },
          },
        },
      )
      ids.push(await recordAssessment(store, a))
      if (now) await saveAnswers(store, given)
      met.push(a.level3.meets)
      score.push(a.level3.score)
      total = a.level3.total
    }
    return { ids: [ids[0]!, ids[1]!], met: [met[0]!, met[1]!], total, score: [score[0]!, score[1]!] }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function demoAssessLine(s: AssessSeedSummary): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`
  return `2 maturity assessments a month apart: Level 3 criteria met ${s.met[0]} -> ${s.met[1]} of ${s.total} (score ${pct(s.score[0])} -> ${pct(s.score[1])})`
}
