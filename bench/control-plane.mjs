#!/usr/bin/env node
// The local control plane under a cluster-sized load: 50,000 generated objects (pods, deployments,
// replicasets, services, configmaps, service accounts and RBAC, with realistic managedFields; pods
// 3-5 KB each, see src/control-plane/seed-objects.ts), then a full paged list (limit=500) of each kind
// from @kubernetes/client-node, as Plimsoll's cluster watcher makes it, and the server's RSS. The
// server runs in its own process, so its RSS is its own.
// Usage: node bench/control-plane.mjs [--objects 50000] [--dist DIR]   (needs `npm run build` first)
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { args, dist, mod, opt } from './lib/args.mjs'

if (args[0] === '--server') {
  // Child: start, load, report; then answer "rss" lines until stdin closes.
  const [, count, kubeconfig] = args
  const { startControlPlane } = await mod('control-plane/server.js')
  const { generateObjects } = await mod('control-plane/seed-objects.js')
  const t0 = performance.now()
  const objects = generateObjects(Number(count), 1)
  const t1 = performance.now()
  const cp = await startControlPlane()
  const t2 = performance.now()
  cp.load(objects)
  const t3 = performance.now()
  objects.length = 0
  cp.kubeconfig(kubeconfig)
  globalThis.gc?.()
  const report = (extra) =>
    process.stdout.write(
      `${JSON.stringify({ rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed, ...extra })}\n`,
    )
  report({ generateMs: t1 - t0, startMs: t2 - t1, loadMs: t3 - t2, revision: cp.revision })
  for await (const line of createInterface({ input: process.stdin })) if (line === 'rss') report({})
  await cp.stop()
  process.exit(0)
}

const count = Number(opt('objects', '50000'))
const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-cp-'))
const kubeconfig = join(dir, 'kubeconfig')
console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, load average ${loadavg()[0].toFixed(1)}`,
)
const child = spawn(
  process.execPath,
  ['--expose-gc', fileURLToPath(import.meta.url), '--server', String(count), kubeconfig, '--dist', dist],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
)
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
const next = async () => JSON.parse((await lines.next()).value)
const ready = await next()
const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`
console.log(
  `server: ${count} objects generated in ${ready.generateMs.toFixed(0)} ms, started in ${ready.startMs.toFixed(0)} ms, loaded in ${ready.loadMs.toFixed(0)} ms; RSS ${mb(ready.rss)} (heap ${mb(ready.heap)})`,
)

const k8s = await import('@kubernetes/client-node')
const kc = new k8s.KubeConfig()
kc.loadFromFile(kubeconfig)
const core = kc.makeApiClient(k8s.CoreV1Api)
const apps = kc.makeApiClient(k8s.AppsV1Api)
const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api)
const kinds = [
  ['pods', (p) => core.listPodForAllNamespaces(p)],
  ['deployments', (p) => apps.listDeploymentForAllNamespaces(p)],
  ['replicasets', (p) => apps.listReplicaSetForAllNamespaces(p)],
  ['services', (p) => core.listServiceForAllNamespaces(p)],
  ['configmaps', (p) => core.listConfigMapForAllNamespaces(p)],
  ['serviceaccounts', (p) => core.listServiceAccountForAllNamespaces(p)],
  ['roles', (p) => rbac.listRoleForAllNamespaces(p)],
  ['rolebindings', (p) => rbac.listRoleBindingForAllNamespaces(p)],
]
let total = 0
let totalMs = 0
console.log('full paged list (limit=500) from client-node:')
for (const [kind, list] of kinds) {
  const t0 = performance.now()
  let items = 0
  let pages = 0
  let cont
  do {
    const page = await list({ limit: 500, ...(cont ? { _continue: cont } : {}) })
    items += page.items.length
    pages++
    cont = page.metadata?._continue
  } while (cont)
  const ms = performance.now() - t0
  total += items
  totalMs += ms
  console.log(
    `  ${kind.padEnd(16)} ${String(items).padStart(6)} objects in ${String(pages).padStart(3)} pages: ${ms.toFixed(0).padStart(6)} ms (${((items / ms) * 1000).toFixed(0)}/s)`,
  )
}
// The same pod pages without client-node's typed decoding: how much of the above is the server.
{
  const { request } = await import('node:https')
  const user = kc.getCurrentUser()
  const cluster = kc.getCurrentCluster()
  const get = (path) =>
    new Promise((resolve, reject) => {
      const req = request(
        new URL(path, cluster.server),
        {
          ca: Buffer.from(cluster.caData, 'base64'),
          cert: Buffer.from(user.certData, 'base64'),
          key: Buffer.from(user.keyData, 'base64'),
          headers: { Accept: 'application/json' },
        },
        (res) => {
          const chunks = []
          res.on('data', (d) => chunks.push(d))
          res.on('end', () => resolve(Buffer.concat(chunks)))
        },
      )
      req.on('error', reject)
      req.end()
    })
  const t0 = performance.now()
  let items = 0
  let bytes = 0
  let cont
  do {
    const body = await get(`/api/v1/pods?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`)
    bytes += body.length
    const page = JSON.parse(body.toString('utf8'))
    items += page.items.length
    cont = page.metadata.continue
  } while (cont)
  const ms = performance.now() - t0
  console.log(
    `  pods, raw https + JSON.parse (no client-node decoding): ${items} objects, ${(bytes / 1024 / 1024).toFixed(0)} MB (${(bytes / items / 1024).toFixed(1)} KB each) in ${ms.toFixed(0)} ms (${((items / ms) * 1000).toFixed(0)}/s)`,
  )
}
child.stdin.write('rss\n')
const after = await next()
console.log(
  `all kinds: ${total} objects in ${totalMs.toFixed(0)} ms (${((total / totalMs) * 1000).toFixed(0)}/s); server RSS after the lists ${mb(after.rss)}`,
)
child.stdin.end()
await new Promise((r) => child.on('exit', r))
rmSync(dir, { recursive: true, force: true })
