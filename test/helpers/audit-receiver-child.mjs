// The audit receiver in a process of its own, for tests that kill it (kill -9) while batches arrive:
// `node audit-receiver-child.mjs <store> <certFile> <keyFile> <token>`. The TypeScript sources are loaded
// through Vite, as vitest loads them, so that nothing needs building first. It prints
// `listening <url>` once it takes batches, and stops on SIGTERM.
import { resolve } from 'node:path'
import { createServer } from 'vite'

const [, , location, certFile, keyFile, token] = process.argv
const root = resolve(import.meta.dirname, '..', '..')
const vite = await createServer({
  root,
  configFile: false,
  logLevel: 'error',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, ws: false },
  optimizeDeps: { noDiscovery: true, include: [] },
})
const { openStore } = await vite.ssrLoadModule('/src/store/connect.ts')
const { startAuditReceiver } = await vite.ssrLoadModule('/src/audit/ingest/receiver.ts')
const store = await openStore(location)
const receiver = await startAuditReceiver({
  host: '127.0.0.1',
  port: 0,
  certFile,
  keyFile,
  tokens: [token],
  store,
  log: (line) => process.stderr.write(`${line}\n`),
})
process.stdout.write(`listening ${receiver.url}\n`)
process.on('SIGTERM', async () => {
  await receiver.stop()
  await store.close()
  await vite.close()
  process.exit(0)
})
