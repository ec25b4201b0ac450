/**
 * The cluster pages in a real browser (Debian's Chromium, driven by playwright-core) against a real
 * `plimsoll serve --cluster` watching the local control plane (an HTTPS kube-apiserver in this
 * process): a bad Deployment created through the Kubernetes API shows up on the open page without a
 * reload, a kind the watcher may not read (Secrets) is shown as a problem, Pod Security says which
 * running pod violates its namespace's label and what tightening it would refuse, and a cluster recorded
 * elsewhere shows what the store knows. Screenshots are saved under test-output/screenshots.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { screenshot } from '../helpers/browser.js'
import { BIN } from '../helpers/cli.js'
import { dashboardSession, type Served } from '../helpers/dashboard-session.js'

const CLUSTER = 'lab'
/** A second cluster, recorded into the same store by a watcher that has gone: the server does not watch it. */
const ELSEWHERE = 'elsewhere'
const LEGACY_POD = 'legacy-agent-5d8f9c-x2x7q'

let dir: string
let controlPlane: ControlPlane
const session = dashboardSession(async () => {
  await controlPlane?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})
let server: Served
let page: Page

/** The namespace labelled to enforce baseline, and a privileged pod running in it from before the label. */
const SEED = [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'shop',
      labels: { 'kubernetes.io/metadata.name': 'shop', 'pod-security.kubernetes.io/enforce': 'baseline' },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: LEGACY_POD,
      namespace: 'shop',
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'legacy-agent-5d8f9c',
          uid: 'u-1',
          controller: true,
        },
      ],
    },
    spec: {
      containers: [
        { name: 'agent', image: 'registry.example/agent:1.2', securityContext: { privileged: true } },
      ],
    },
    status: { phase: 'Running' },
  },
]

const READ = ['get', 'list', 'watch']
const WATCHER_RULES = [
  {
    verbs: READ,
    apiGroups: [''],
    resources: [
      'configmaps',
      'namespaces',
      'pods',
      'podtemplates',
      'replicationcontrollers',
      'serviceaccounts',
      'services',
    ],
  },
  {
    verbs: READ,
    apiGroups: ['apps'],
    resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'],
  },
  { verbs: READ, apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'] },
  { verbs: READ, apiGroups: ['batch'], resources: ['cronjobs', 'jobs'] },
  { verbs: READ, apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'] },
  { verbs: READ, apiGroups: ['policy'], resources: ['poddisruptionbudgets'] },
  {
    verbs: READ,
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['clusterrolebindings', 'clusterroles', 'rolebindings', 'roles'],
  },
]

const BAD_DEPLOYMENT = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx:1.27', securityContext: { privileged: true } }] },
    },
  },
}

/** POSTs an object to the control plane as its admin, over HTTPS with its CA, as any client would. */
function create(cp: ControlPlane, path: string, object: unknown): Promise<number> {
  const body = JSON.stringify(object)
  return new Promise((resolve, reject) => {
    const req = request(
      `${cp.url}${path}`,
      {
        method: 'POST',
        ca: cp.ca,
        headers: {
          authorization: `Bearer ${cp.admin.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** The shop namespace's row of the namespaces table. */
const shopRow = () => page.getByRole('table', { name: 'Namespaces' }).getByTestId('namespace-shop')
/** A row's open findings by severity ("1 critical, 6 medium, 4 low"): its cells are Open, then By severity. */
const bySeverity = (row: ReturnType<typeof shopRow>) => row.getByRole('cell').nth(1).textContent()
const openIn = async (row: ReturnType<typeof shopRow>) =>
  Number((await row.getByTestId('namespace-open').textContent())!.replace(/\D/g, ''))

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-cluster-page-'))
  controlPlane = await startControlPlane()
  controlPlane.load(structuredClone(SEED))
  const kubeconfig = controlPlane.kubeconfig(join(dir, 'kubeconfig'))
  // The server's watcher as it is often deployed: read access to what it checks, but not to Secrets.
  controlPlane.user('plimsoll-watcher', { rules: WATCHER_RULES })
  const watcherConfig = controlPlane.kubeconfig(join(dir, 'watcher-kubeconfig'), { user: 'plimsoll-watcher' })
  const db = join(dir, 'store.db')
  // A watcher that ran once and went: the store knows this cluster, the server will not watch it. Not
  // spawnSync: the control plane it lists answers from this very process.
  await promisify(execFile)(
    process.execPath,
    [BIN, 'watch', '--once', '--store', db, '--kubeconfig', kubeconfig, '--cluster-name', ELSEWHERE],
    { timeout: 60_000 },
  )
  server = await session.serve([
    '--cluster',
    '--kubeconfig',
    watcherConfig,
    '--cluster-name',
    CLUSTER,
    '--db',
    db,
    '--anonymous-read',
  ])
  page = await session.open()
}, 90_000)

describe('the cluster pages', () => {
  it('list the clusters: the one watched here is live, the one recorded elsewhere is not', async () => {
    await page.goto(server.url)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click()
    const table = page.getByRole('table', { name: 'Clusters' })
    await expect.poll(() => table.getByRole('row').count()).toBe(3)
    expect(await table.getByTestId(`cluster-${CLUSTER}`).textContent()).toMatch(/live/)
    expect(await table.getByTestId(`cluster-${ELSEWHERE}`).textContent()).toMatch(/not watched here/)
    await screenshot(page, 'cluster-1-list')
    await table.getByRole('link', { name: CLUSTER, exact: true }).click()
    await expect.poll(() => page.url()).toMatch(/\/clusters\/lab$/)
  })

  it('shows a finding appear after a bad Deployment is created, without a reload', async () => {
    await expect.poll(() => page.getByTestId('live-indicator').textContent()).toBe('Live')
    // The first sync must be over: what it finds is the starting point, not a change.
    await expect.poll(() => page.getByText('synced', { exact: true }).count(), { timeout: 20_000 }).toBe(1)
    // Secrets are not the watcher's to read: the page says so as a problem, not as a clean bill.
    expect(await page.getByTestId('forbidden-kinds').textContent()).toMatch(
      /1 kind forbidden to the watcher: Secret\./,
    )
    const secrets = page
      .getByRole('table', { name: 'Watched kinds' })
      .getByRole('row', { name: /^Secret \(v1\)/ })
    expect(await secrets.textContent()).toMatch(/forbidden/)
    const row = shopRow()
    await expect.poll(() => bySeverity(row)).toMatch(/^1 critical,/)
    const before = await openIn(row)
    // A page load would lose this, and count a load.
    await page.evaluate(() => {
      ;(globalThis as Record<string, unknown>).plimsollMarker = 'same page'
    })
    let loads = 0
    page.on('load', () => loads++)

    const created = Date.now()
    expect(await create(controlPlane, '/apis/apps/v1/namespaces/shop/deployments', BAD_DEPLOYMENT)).toBe(201)

    const log = page.getByRole('log', { name: 'Live changes' })
    await expect
      .poll(() => log.textContent())
      .toMatch(/opened: critical pss-privileged Deployment shop\/web — container web is privileged/)
    const shownMs = Date.now() - created
    // The counts follow: the namespace's row and the cluster's totals, fetched again on the event.
    await expect.poll(() => bySeverity(row)).toMatch(/^2 critical,/)
    await expect.poll(() => openIn(row)).toBeGreaterThan(before)
    await expect.poll(() => page.getByTestId('cluster-totals').textContent()).toMatch(/\b2 critical\b/)
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).plimsollMarker)).toBe(
      'same page',
    )
    expect(loads).toBe(0)
    // The newest line is on top.
    expect(await log.getByTestId('live-line').first().textContent()).toMatch(
      /opened: critical pss-privileged/,
    )
    // The namespace's count links to its findings in the explorer.
    const link = new URL((await row.getByTestId('namespace-open').getAttribute('href'))!, server.url)
    expect(link.pathname).toBe('/findings')
    expect(Object.fromEntries(link.searchParams)).toEqual({ target: CLUSTER, namespace: 'shop' })
    console.log(`the finding was on the page ${shownMs} ms after the Deployment was created`)
    await screenshot(page, 'cluster-2-live-finding')
  })

  it('shows Pod Security: the privileged pod running under enforce=baseline violates it, and what restricted would refuse', async () => {
    const row = shopRow()
    expect(await row.textContent()).toMatch(/enforce\s*baseline\s*latest/)
    expect(await row.textContent()).toMatch(/1 running pod/)
    const violating = row.getByTestId('violating-shop')
    expect(await violating.textContent()).toMatch(/1 pod violates enforce baseline latest/)
    // The pods are a click away (a closed <details>): open it, and they show.
    expect(await violating.getByText(LEGACY_POD).isVisible()).toBe(false)
    await violating.locator('summary').click()
    await expect.poll(() => violating.getByText(LEGACY_POD).isVisible()).toBe(true)
    const pod = await violating.getByRole('listitem').filter({ hasText: LEGACY_POD }).textContent()
    expect(pod).toContain('ReplicaSet/legacy-agent-5d8f9c')
    expect(pod).toMatch(/meets privileged; fails pss-privileged/)
    const breaks = row.getByTestId('what-breaks-shop')
    expect(await breaks.textContent()).toMatch(/enforce restricted latest: 1 pod refused/)
    await breaks.locator('summary').first().click()
    await expect.poll(() => breaks.getByText(LEGACY_POD).isVisible()).toBe(true)
    await screenshot(page, 'cluster-3-pod-security')
  })

  it('shows a cluster recorded elsewhere from the store, and says it is not watched here', async () => {
    await page.goto(`${server.url}/clusters/${ELSEWHERE}`)
    await expect.poll(() => page.getByTestId('live-indicator').textContent()).toBe('Not watched here')
    expect(await page.getByText('This cluster is not watched by this server').count()).toBe(1)
    await expect.poll(() => bySeverity(shopRow())).toMatch(/^1 critical,/)
    expect(await page.getByRole('log', { name: 'Live changes' }).count()).toBe(0)
    await screenshot(page, 'cluster-4-not-live')
  })
})
