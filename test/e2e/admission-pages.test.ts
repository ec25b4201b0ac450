/**
 * The admissions and enforcement plan pages in a real browser (Debian's Chromium, driven by
 * playwright-core) against a real `plimsoll serve --db`, over a store filled here with the store's own
 * functions: a cluster scan of two namespaces (one with a privileged Deployment) recorded as the watcher
 * records it, and the webhook's decisions as its recorder writes them. The pages must show what went in:
 * the outcomes by count, the check denied most, each decision with its failing checks, filtering by
 * outcome (in the URL), older decisions on demand, and the plan's ladder (a check nothing fails is ready
 * to enforce everywhere; a check an object fails suggests warn in its namespace). A server over an empty
 * store shows how to start recording. Screenshots are saved under test-output/screenshots.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { AdmissionCheck, AdmissionOutcome } from '../../src/api-types.js'
import { loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'
import { type AdmissionRecord, recordAdmissions } from '../../src/store/admissions.js'
import { openStore } from '../../src/store/connect.js'
import { recordRun } from '../../src/store/record-run.js'
import { screenshot } from '../helpers/browser.js'
import { dashboardSession, type Served } from '../helpers/dashboard-session.js'

const CLUSTER = 'lab'
/** A second cluster the webhook records for: enough allowed decisions to need a second page. */
const OTHER = 'staging'
const OTHER_ALLOWED = 60

/** A privileged Deployment in legacy (fails pss-privileged), and an ordinary one in shop. */
const MANIFESTS = `apiVersion: apps/v1
kind: Deployment
metadata: { name: old-agent, namespace: legacy }
spec:
  selector: { matchLabels: { app: old-agent } }
  template:
    metadata: { labels: { app: old-agent } }
    spec:
      containers:
        - name: agent
          image: registry.example/agent:1.2
          securityContext: { privileged: true }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: registry.example/web:1.0
`

const PRIVILEGED: AdmissionCheck = {
  id: 'pss-privileged',
  mode: 'enforce',
  severity: 'critical',
  message: 'container agent is privileged',
  path: 'spec.containers[0].securityContext.privileged',
}
const NON_ROOT_WARN: AdmissionCheck = {
  id: 'pss-run-as-non-root',
  mode: 'warn',
  severity: 'medium',
  message: 'container web may run as root',
  path: 'spec.securityContext.runAsNonRoot',
}
/** A Kyverno rule's id: not a check of the library, so not a link. */
const TEAM_LABEL: AdmissionCheck = {
  id: 'require-team:owner-label',
  mode: 'enforce',
  severity: 'medium',
  message: 'label team is required',
  path: 'metadata.labels',
}
const READ_ONLY_AUDIT: AdmissionCheck = {
  id: 'read-only-root-filesystem',
  mode: 'audit',
  severity: 'low',
  message: 'container web has a writable root filesystem',
  path: 'spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem',
}

type Decision = Omit<AdmissionRecord, 'at' | 'cluster' | 'group' | 'weight'> &
  Partial<Pick<AdmissionRecord, 'cluster' | 'weight'>>

const decision = (
  outcome: AdmissionOutcome,
  kind: string,
  namespace: string,
  name: string,
  checks: AdmissionCheck[],
  extra: Partial<Decision> = {},
): Decision => ({
  operation: 'CREATE',
  kind,
  namespace,
  name,
  username: 'alice@example.com',
  outcome,
  checks,
  ...extra,
})

/** The lab cluster's decisions, oldest first. */
const LAB: Decision[] = [
  decision('allowed', 'Deployment', 'shop', 'cart', [], { weight: 3 }),
  decision('exempt', 'DaemonSet', 'kube-system', 'kube-proxy', [], { username: 'system:admin' }),
  decision('warned', 'Deployment', 'shop', 'web', [NON_ROOT_WARN]),
  decision('audited', 'Deployment', 'shop', 'web', [READ_ONLY_AUDIT]),
  decision('denied', 'Deployment', 'legacy', 'old-agent', [PRIVILEGED], { operation: 'UPDATE' }),
  decision('denied', 'Deployment', 'payments', 'api', [TEAM_LABEL], { username: 'bob@example.com' }),
  decision('denied', 'Deployment', 'shop', 'web-canary', [PRIVILEGED]),
  decision('warned', 'Deployment', 'shop', 'web', [NON_ROOT_WARN], { operation: 'UPDATE' }),
  decision('allowed', 'Service', 'shop', 'web', []),
  decision('denied', 'Pod', 'legacy', 'old-agent-x', [PRIVILEGED, NON_ROOT_WARN], {
    username: 'system:serviceaccount:legacy:deployer',
  }),
]
const LAB_OUTCOMES = { denied: 4, warned: 2, audited: 1, allowed: 4, exempt: 1 }
const LAB_TOTAL = 12

let dir: string
const session = dashboardSession(() => dir && rmSync(dir, { recursive: true, force: true }))
let server: Served
let empty: Served
let page: Page

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-admission-pages-'))
  const db = join(dir, 'store.db')
  const store = await openStore(db)
  try {
    // The cluster scan, as the watcher records it: a run of source 'cluster' whose target is the cluster.
    writeFileSync(join(dir, 'cluster.yaml'), MANIFESTS)
    const report = await scan({ inputs: [join(dir, 'cluster.yaml')], library: loadLibrary({}), jobs: 1 })
    await recordRun(store, report, { source: 'cluster', target: CLUSTER, plimsollVersion: 'test' })
    // The webhook's decisions, as its recorder writes them: the last minutes, oldest first.
    const now = Date.now()
    const all = [
      ...Array.from({ length: OTHER_ALLOWED }, (_, i) =>
        decision('allowed', 'ConfigMap', 'batch', `settings-${i}`, [], { cluster: OTHER }),
      ),
      ...LAB,
    ]
    const records: AdmissionRecord[] = all.map((d, i) => ({
      at: new Date(now - (all.length - i) * 5_000).toISOString(),
      cluster: CLUSTER,
      group: d.kind === 'Pod' || d.kind === 'Service' || d.kind === 'ConfigMap' ? '' : 'apps',
      weight: 1,
      ...d,
    }))
    await recordAdmissions(store, records)
  } finally {
    await store.close()
  }
  server = await session.serve(['--db', db, '--anonymous-read'])
  empty = await session.serve(['--db', join(dir, 'empty.db'), '--anonymous-read'])
  page = await session.open()
}, 90_000)

const clusterSelect = () => page.getByRole('combobox', { name: 'Cluster' })
const figure = (outcome: string) => page.getByTestId(`outcome-${outcome}`).textContent()
const decisionsTable = () => page.getByRole('table', { name: 'Admission decisions' })
const decisionRows = () => decisionsTable().locator('tbody tr')

describe('the admissions page', () => {
  it('shows the decisions by outcome, the checks and namespaces denied most, across clusters', async () => {
    await page.goto(server.url)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admissions' }).click()
    await expect.poll(() => page.url()).toMatch(/\/admissions$/)
    await expect.poll(() => figure('denied')).toBe('4')
    // Both clusters: the lab's, and staging's allowed ones.
    expect(await figure('allowed')).toBe(String(LAB_OUTCOMES.allowed + OTHER_ALLOWED))
    expect(await figure('warned')).toBe('2')
    expect(await figure('audited')).toBe('1')
    expect(await figure('exempt')).toBe('1')

    const checks = page.getByRole('table', { name: 'Top denied checks' })
    const first = checks.locator('tbody tr').first()
    // The check denied most, by its title, linking to its page; its count.
    await expect.poll(() => first.getByRole('rowheader').textContent()).toMatch(/pss-privileged/)
    expect(await first.getByRole('link').getAttribute('href')).toBe('/checks/pss-privileged')
    expect(await first.getByRole('cell').last().textContent()).toBe('3')
    // A Kyverno rule is not a check of the library: named, not linked.
    const kyverno = checks.getByTestId('denied-check-require-team:owner-label')
    expect(await kyverno.textContent()).toMatch(/require-team:owner-label\s*1/)
    expect(await kyverno.getByRole('link').count()).toBe(0)

    const namespaces = page.getByRole('table', { name: 'Top denied namespaces' })
    expect(await namespaces.locator('tbody tr').first().textContent()).toMatch(/^legacy\s*2$/)
    // Denials over time: the chart's summary counts them.
    expect(
      await page.getByRole('img', { name: /Denied admissions per day/ }).getAttribute('aria-label'),
    ).toMatch(/4 denials in the last 7 days/)
    await screenshot(page, 'admissions-1-all')
  })

  it('narrows to a cluster and lists its decisions with what each failing check did', async () => {
    await clusterSelect().selectOption(CLUSTER)
    await expect.poll(() => page.url()).toMatch(/[?&]cluster=lab\b/)
    await expect.poll(() => figure('allowed')).toBe(String(LAB_OUTCOMES.allowed))
    for (const [outcome, n] of Object.entries(LAB_OUTCOMES)) expect(await figure(outcome)).toBe(String(n))
    await expect.poll(() => decisionRows().count()).toBe(LAB.length)
    // Newest first: the denied Pod, its two failing checks with their modes and messages.
    const pod = decisionRows().first()
    expect(await pod.getByRole('rowheader').textContent()).toBe('Pod legacy/old-agent-x')
    const text = (await pod.textContent())!
    expect(text).toContain('system:serviceaccount:legacy:deployer')
    expect(text).toMatch(/denied/)
    expect(text).toMatch(/pss-privileged\s*enforce\s*container agent is privileged/)
    expect(text).toMatch(/pss-run-as-non-root\s*warn\s*container web may run as root/)
    expect(await pod.getByRole('link', { name: 'pss-privileged' }).getAttribute('href')).toBe(
      '/checks/pss-privileged',
    )
    // The sampled allowed decision says how many it stands for.
    expect(await decisionRows().last().textContent()).toMatch(/allowed\s*stands for 3/)
    await screenshot(page, 'admissions-2-lab')
  })

  it('filters the decisions by outcome, in the URL', async () => {
    await page.getByRole('combobox', { name: 'Outcome' }).selectOption('denied')
    await expect.poll(() => page.url()).toMatch(/[?&]outcome=denied\b/)
    await expect.poll(() => decisionRows().count()).toBe(LAB_OUTCOMES.denied)
    for (const row of await decisionRows().all())
      expect(await row.getByRole('cell').nth(3).textContent()).toBe('denied')
    expect(await decisionsTable().textContent()).not.toMatch(/Service shop\/web/)
    // The link restores it.
    const shared = page.url()
    await page.goto(`${server.url}/admissions`)
    await expect.poll(() => decisionRows().count()).toBe(50)
    await page.goto(shared)
    await expect.poll(() => page.getByRole('combobox', { name: 'Outcome' }).inputValue()).toBe('denied')
    await expect.poll(() => decisionRows().count()).toBe(LAB_OUTCOMES.denied)
    await screenshot(page, 'admissions-3-denied')
  })

  it('loads older decisions a page at a time', async () => {
    await page.getByRole('button', { name: 'Clear filters' }).click()
    await expect.poll(() => page.url()).toMatch(/\/admissions\?cluster=lab$/)
    // From the lab's page (loaded from its link), the other cluster is still there to choose.
    await clusterSelect().selectOption(OTHER)
    await expect.poll(() => page.url()).toMatch(/\/admissions\?cluster=staging$/)
    await expect.poll(() => figure('allowed')).toBe(String(OTHER_ALLOWED))
    expect(await figure('denied')).toBe('0')
    await expect.poll(() => decisionRows().count()).toBe(50)
    expect(await decisionRows().first().getByRole('rowheader').textContent()).toBe(
      `ConfigMap batch/settings-${OTHER_ALLOWED - 1}`,
    )
    await page.getByRole('button', { name: 'Load older decisions' }).click()
    await expect.poll(() => decisionRows().count()).toBe(OTHER_ALLOWED)
    expect(await decisionRows().last().getByRole('rowheader').textContent()).toBe(
      'ConfigMap batch/settings-0',
    )
    await expect.poll(() => page.getByRole('button', { name: 'Load older decisions' }).count()).toBe(0)
  })

  it('over an empty store, says how to record decisions', async () => {
    await page.goto(`${empty.url}/admissions`)
    await expect
      .poll(() => page.getByTestId('admissions-empty').textContent())
      .toMatch(/No admission decisions recorded yet: run plimsoll webhook serve --store …/)
    expect(await decisionsTable().count()).toBe(0)
    await screenshot(page, 'admissions-4-empty')
  })
})

describe('the enforcement plan page', () => {
  it('shows the ladder: ready where nothing fails, warn first where an object fails', async () => {
    await page.goto(`${server.url}/admissions`)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Enforcement' }).click()
    await expect.poll(() => page.url()).toMatch(/\/enforcement$/)
    // The only scanned cluster is chosen.
    await expect.poll(() => clusterSelect().inputValue()).toBe(CLUSTER)
    await expect.poll(() => page.getByTestId('plan-admissions').textContent()).toBe(String(LAB_TOTAL))

    // Nothing fails pss-host-namespaces and no admission named it: ready to enforce in every namespace.
    const ready = page
      .getByRole('table', { name: 'Checks with nothing against them' })
      .getByTestId('plan-pss-host-namespaces')
    expect(await ready.getByRole('rowheader').textContent()).toMatch(/pss-host-namespaces/)
    const readyNow = (await ready.getByTestId('ladder-enforce').textContent())!
    for (const ns of ['legacy', 'shop', 'payments']) expect(readyNow).toContain(ns)
    expect(readyNow).not.toMatch(/Warn first/)
    // And it is not among the checks with evidence, where pss-privileged is.
    const evidence = page.getByRole('region', { name: /^Checks with evidence \(\d+\)$/ })
    expect(await evidence.getByTestId('plan-pss-privileged').count()).toBe(1)
    expect(await evidence.getByTestId('plan-pss-host-namespaces').count()).toBe(0)

    // pss-privileged fails the Deployment in legacy: warn there first; shop is ready.
    const privileged = page.getByTestId('plan-pss-privileged')
    expect(await privileged.getByTestId('plan-failing').textContent()).toBe('1')
    expect(await privileged.getByTestId('ladder-warn').textContent()).toContain('legacy')
    expect(await privileged.getByTestId('ladder-warn').textContent()).not.toContain('shop')
    expect(await privileged.getByTestId('ladder-enforce').textContent()).toContain('shop')
    await privileged.getByText(/^Namespaces \(\d+\)$/).click()
    const legacy = privileged
      .getByRole('table', { name: 'Namespaces for pss-privileged' })
      .getByTestId('plan-ns-legacy')
    const cells = legacy.getByRole('cell')
    // Teams, Failing, Examples, Would have denied, Denied, Current mode, Suggested, Reason.
    expect(await cells.nth(1).textContent()).toBe('1')
    expect(await cells.nth(2).textContent()).toBe('Deployment/old-agent')
    expect(await cells.nth(4).textContent()).toBe('2')
    expect(await cells.nth(6).textContent()).toBe('warn')
    expect(await cells.nth(7).textContent()).toMatch(/1 object fails it now/)
    expect(await page.getByTestId('apply-command').textContent()).toContain(
      'plimsoll enforce plan --store … --cluster-name lab --apply-to enforcement.yaml',
    )
    await screenshot(page, 'enforcement-1-plan')
  })

  it('says when there is nothing to plan from', async () => {
    // A cluster the store knows nothing of: no scan, no decision.
    await page.goto(`${server.url}/enforcement?cluster=nowhere`)
    await expect
      .poll(() => page.getByTestId('plan-empty').textContent())
      .toMatch(/nowhere has no scan in the store/)
    expect(await page.getByTestId('plan-admissions').count()).toBe(0)
    // Back to a cluster with a plan.
    await clusterSelect().selectOption(CLUSTER)
    await expect.poll(() => page.getByTestId('plan-admissions').textContent()).toBe(String(LAB_TOTAL))
    // The webhook's cluster without a scan: planned from its decisions, and it says the scan is missing.
    await page.goto(`${server.url}/enforcement?cluster=${OTHER}`)
    await expect
      .poll(() => page.getByTestId('plan-source').textContent())
      .toMatch(/No scan of staging is in the store/)
    expect(await page.getByTestId('plan-admissions').textContent()).toBe(String(OTHER_ALLOWED))
    // An empty store: how to fill it.
    await page.goto(`${empty.url}/enforcement`)
    await expect
      .poll(() => page.getByTestId('plan-empty').textContent())
      .toMatch(/No cluster scan and no admission recorded yet/)
    await screenshot(page, 'enforcement-2-empty')
  })
})
