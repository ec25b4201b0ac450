/**
 * The demo's second cluster, `edge-cluster`, pushed by an agent: a local control plane running the
 * shop as prod-cluster runs it today (the estate deploys it to both), watched by the same
 * agent `plimsoll agent` runs, which pushes to the demo's own server over its address with an agent
 * token, as an agent in another cluster would. The Clusters page shows it beside prod-cluster: live
 * while the agent reports, with its session, and a rogue Deployment that someone keeps deploying and
 * removing. It is as clean as prod-cluster: the month's trend (debt paid down) holds across both.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Central } from '../agent/central.js'
import { type RunningAgent, startAgent } from '../agent/run.js'
import { ApiClient, loadKubeConfig } from '../cluster/client.js'
import { startControlPlane } from '../control-plane/server.js'
import { LATEST_VERSION } from '../policy/engine.js'
import type { Library } from '../policy/library.js'
import type { Store } from '../store/connect.js'
import { createToken } from '../store/tokens.js'
import { deleteAsAdmin } from './cluster-admin.js'
import { todaysObjects } from './live-cluster.js'

export const AGENT_CLUSTER = 'edge-cluster'

const ROGUE = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'node-debugger', namespace: 'shop', labels: { app: 'node-debugger' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'node-debugger' } },
    template: {
      metadata: { labels: { app: 'node-debugger' } },
      spec: {
        hostNetwork: true,
        containers: [{ name: 'debugger', image: 'busybox:latest', securityContext: { privileged: true } }],
      },
    },
  },
}

/** The edge runs the shop only: its namespace and what is in it. */
function inShop(o: Record<string, unknown>): boolean {
  const meta = o.metadata as { name: string; namespace?: string }
  return o.kind === 'Namespace' ? meta.name === 'shop' : meta.namespace === 'shop'
}

export interface DemoAgentCluster {
  agent: RunningAgent
  stop(): Promise<void>
}

/** Starts edge-cluster and its agent, pushing to the server at `url` (`ca`: its certificate, over HTTPS). */
export async function startDemoAgentCluster(
  store: Store,
  library: Library,
  url: string,
  seeded: { days: number; to: string },
  options: { ca?: Buffer; churnMs?: number; log?: (line: string) => void } = {},
): Promise<DemoAgentCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-demo-agent-'))
  const cp = await startControlPlane({ anonymous: false })
  cp.load(todaysObjects(seeded.days, seeded.to.slice(0, 10)).filter(inShop))
  const { token } = await createToken(store, 'edge-cluster-agent', { role: 'agent', cluster: AGENT_CLUSTER })
  const kubeconfig = cp.kubeconfig(join(dir, 'kubeconfig'))
  const agent = await startAgent({
    client: new ApiClient(loadKubeConfig({ kubeconfig })),
    library,
    version: LATEST_VERSION,
    fileRules: [],
    central: new Central({ url, token, ...(options.ca ? { ca: options.ca } : {}) }),
    log: options.log ?? (() => {}),
  })
  // Someone deploys a debugging tool with the host's privileges, and removes it a little later.
  let present = false
  const churn = setInterval(() => {
    present = !present
    if (present) cp.load([structuredClone(ROGUE)], { asCreated: true })
    else deleteAsAdmin(cp, '/apis/apps/v1/namespaces/shop/deployments/node-debugger', options.log)
  }, options.churnMs ?? 25_000)
  churn.unref()
  return {
    agent,
    async stop() {
      clearInterval(churn)
      await agent.stop()
      await cp.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
