/**
 * The demo's cluster, live: `prod-cluster` as it runs today, served by the local control plane inside
 * the demo's process and watched by a real watcher (the same code `plimsoll watch` runs), so that the
 * dashboard's cluster page shows a watch's health, Pod Security Admission per namespace, and findings
 * appearing and resolving as the cluster changes. Its first sync continues the seeded month's history.
 *
 * What it adds to the estate: Pod Security labels on two namespaces, a running pod for each Deployment
 * there (a cluster runs pods; the repositories hold Deployments), and someone starting the debug shell
 * by hand every so often and deleting it a little later.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadAll } from 'js-yaml'
import { ApiClient, loadKubeConfig } from '../cluster/client.js'
import { startWatcher } from '../cluster/run.js'
import { startControlPlane } from '../control-plane/server.js'
import { LATEST_VERSION } from '../policy/engine.js'
import type { Library } from '../policy/library.js'
import { KUBERNETES_YAML_SCHEMA } from '../resources/yaml-schema.js'
import type { LiveClusterSource } from '../server/live-clusters.js'
import type { Store } from '../store/connect.js'
import { deleteAsAdmin } from './cluster-admin.js'
import { CLUSTER_TARGET, demoEstate } from './estate.js'

type Obj = Record<string, unknown>

/** What Pod Security Admission enforces, warns of and audits in the demo's namespaces. */
const PSA_LABELS: Record<string, Record<string, string>> = {
  payments: {
    'pod-security.kubernetes.io/enforce': 'baseline',
    'pod-security.kubernetes.io/enforce-version': 'v1.30',
    'pod-security.kubernetes.io/warn': 'restricted',
  },
  shop: {
    'pod-security.kubernetes.io/warn': 'restricted',
    'pod-security.kubernetes.io/audit': 'restricted',
  },
}

/** A pod as a Deployment's ReplicaSet would have made it, running. */
function podOf(deployment: Obj): Obj {
  const meta = deployment.metadata as { name: string; namespace: string }
  const template = ((deployment.spec as Obj).template ?? {}) as Obj
  const rs = `${meta.name}-6c9f7d5b8`
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...((template.metadata as Obj | undefined) ?? {}),
      name: `${rs}-x2k4p`,
      namespace: meta.namespace,
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `${rs}-uid`, controller: true },
      ],
    },
    spec: template.spec ?? {},
    status: { phase: 'Running' },
  }
}

/** The objects of prod-cluster on the seeded month's last day, with what a running cluster adds. */
export function todaysObjects(days: number, lastDay: string): Obj[] {
  const estate = demoEstate(days, { lastDay })
  const cluster = estate.inputs(days - 1).find((i) => i.target === CLUSTER_TARGET)
  const objects: Obj[] = []
  for (const source of cluster?.sources ?? [])
    for (const doc of loadAll(source.text, { schema: KUBERNETES_YAML_SCHEMA }))
      if (doc && typeof doc === 'object') objects.push(doc as Obj)
  for (const o of objects) {
    // The cluster serves the PodDisruptionBudget the repository still writes as policy/v1beta1 at
    // policy/v1 (the API server converted it when it was applied; v1beta1 is gone since v1.25).
    if (o.apiVersion === 'policy/v1beta1') o.apiVersion = 'policy/v1'
    const meta = o.metadata as { name: string; labels?: Record<string, string> }
    if (o.kind === 'Namespace' && PSA_LABELS[meta.name])
      meta.labels = { ...meta.labels, ...PSA_LABELS[meta.name] }
  }
  const pods = objects
    .filter((o) => o.kind === 'Deployment' && PSA_LABELS[(o.metadata as { namespace: string }).namespace])
    .map(podOf)
  return [...objects, ...pods]
}

const DEBUG_SHELL = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'debug-shell', namespace: 'payments', labels: { team: 'payments' } },
  spec: {
    hostPID: true,
    containers: [
      {
        name: 'shell',
        image: 'busybox:latest',
        command: ['sleep', '3600'],
        securityContext: { privileged: true },
      },
    ],
  },
  status: { phase: 'Running' },
}

export interface LiveDemo {
  source: LiveClusterSource
  /** a client of the demo cluster (as the watcher's), for one-off reads such as `assess` */
  client: ApiClient
  stop(): Promise<void>
}

export async function startLiveDemoCluster(
  store: Store,
  library: Library,
  seeded: { days: number; to: string },
  options: { churnMs?: number; log?: (line: string) => void } = {},
): Promise<LiveDemo> {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-demo-cluster-'))
  const cp = await startControlPlane({ anonymous: false })
  cp.load(todaysObjects(seeded.days, seeded.to.slice(0, 10)))
  const kubeconfig = cp.kubeconfig(join(dir, 'kubeconfig'))
  const client = new ApiClient(loadKubeConfig({ kubeconfig }))
  const running = startWatcher({
    client,
    library,
    version: LATEST_VERSION,
    target: CLUSTER_TARGET,
    fileRules: [],
    store,
    log: options.log ?? (() => {}),
  })
  await running.synced
  // Someone starts the debug shell by hand, and deletes it a little later: findings come and go.
  let present = false
  const churn = setInterval(() => {
    present = !present
    if (present) cp.load([structuredClone(DEBUG_SHELL)])
    else deleteAsAdmin(cp, '/api/v1/namespaces/payments/pods/debug-shell', options.log)
  }, options.churnMs ?? 20_000)
  churn.unref()
  return {
    source: running.source,
    client,
    async stop() {
      clearInterval(churn)
      await running.stop()
      await cp.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
