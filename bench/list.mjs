#!/usr/bin/env node
// `kind: List` benchmark: scans one List document of N Deployments (each with findings, each a
// cross-resource subject) and, for comparison, the same N resources as N separate documents. A scan of
// a List should cost about what the separate documents cost; it used to grow with N².
// Usage: node bench/list.mjs [--sizes 8000,16000,100000] [--timeout 300]   (after `npx tsc -p .`)
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : dflt
}

if (args[0] === '--child') {
  const file = args[1]
  const { loadLibrary } = await import('../dist/policy/library.js')
  const { scan } = await import('../dist/scan/scan.js')
  const { DEFAULT_LIMITS } = await import('../dist/resources/parse.js')
  const library = loadLibrary()
  const t0 = performance.now()
  const report = await scan({
    inputs: [file],
    library,
    jobs: 1,
    limits: { ...DEFAULT_LIMITS, maxDocumentBytes: 256 * 1024 * 1024 },
  })
  const ms = performance.now() - t0
  const { resources, findings, errors } = report.summary
  process.stdout.write(
    JSON.stringify({ ms, resources, findings, errors, rss: process.resourceUsage().maxRSS * 1024 }),
  )
  process.exit(0)
}

const item = (i, indent) =>
  `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-${i}
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web-${i}}
  template:
    metadata:
      labels: {app: web-${i}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        securityContext:
          privileged: true
`
    .split('\n')
    .map((line, n) => (line === '' ? line : n === 0 ? `- ${line}` : `${' '.repeat(indent)}${line}`))
    .join('\n')

const sizes = opt('sizes', '8000,16000,100000').split(',').map(Number)
const timeoutMs = Number(opt('timeout', '300')) * 1000
const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-list-'))

const run = (file) => {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', file], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 1024 * 1024,
  })
  if (r.error?.code === 'ETIMEDOUT') return undefined
  if (r.status !== 0) throw new Error(`scan of ${file} failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}
const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`
const show = (r) =>
  r
    ? `${(r.ms / 1000).toFixed(2)} s (${r.resources} resources, ${r.findings} findings, peak RSS ${mb(r.rss)})`
    : `unfinished after ${timeoutMs / 1000} s`

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${mb(totalmem())} RAM, node ${process.version}`,
)
try {
  for (const n of sizes) {
    const items = Array.from({ length: n }, (_, i) => item(i, 2))
    const list = join(dir, `list-${n}.yaml`)
    writeFileSync(list, `apiVersion: v1\nkind: List\nitems:\n${items.join('')}`)
    const docs = join(dir, `docs-${n}.yaml`)
    writeFileSync(docs, Array.from({ length: n }, (_, i) => item(i, 0).slice(2)).join('---\n'))
    const asList = run(list)
    const asDocs = run(docs)
    const ratio = asList && asDocs ? `  (List / documents: ${(asList.ms / asDocs.ms).toFixed(2)}x)` : ''
    console.log(`${n} items: List ${show(asList)}; separate documents ${show(asDocs)}${ratio}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
