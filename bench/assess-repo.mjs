#!/usr/bin/env node
// The repository evidence collector of `plimsoll assess` (src/maturity/collect/repo.ts) on a generated
// repository of 20,000 files in a temporary directory, laid out as a monorepo of services: source files
// and their tests, multi-document manifests (Deployments, Services, ConfigMaps, Secrets), kustomize bases
// and overlays, Helm charts with templates, GitOps objects, Terraform, Grafana dashboards, alert rules,
// GitHub Actions workflows, READMEs, package.json files and a node_modules directory that is skipped.
// Each run is a fresh process (so its peak RSS is the collector's own); three runs, the best printed with
// the spread (best-worst) and the load average, since the machine is often shared.
// Usage: npx tsc -p . && npm run bench:assess-repo [-- --files 20000] [-- --runs 3] [-- --dist DIR]
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { args, mod, opt } from './lib/args.mjs'

if (args[0] === '--child') {
  const { collectRepoFacts } = await mod('maturity/collect/repo.js')
  const t0 = performance.now()
  const result = await collectRepoFacts([args[1]])
  const ms = performance.now() - t0
  const facts = Object.fromEntries([...result.facts].map(([name, f]) => [name.slice(5), f.value]))
  process.stdout.write(
    `${JSON.stringify({ ms, rss: process.resourceUsage().maxRSS * 1024, facts, problems: result.problems.length })}\n`,
  )
  process.exit(0)
}

const target = Number(opt('files', '20000'))
const runs = Number(opt('runs', '3'))
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`

const deployment = (name) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  replicas: 2
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
        - name: app
          image: registry.example.com/${name}:1.0.0
          ports: [{containerPort: 8080}]
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 256Mi}
          readinessProbe: {httpGet: {path: /ready, port: 8080}}
          livenessProbe: {httpGet: {path: /health, port: 8080}}
`
const service = (name) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: {app: ${name}}
  ports: [{port: 80, targetPort: 8080}]
`
const configMap = (name) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-config
data:
  LOG_LEVEL: info
  FEATURES: "a,b,c"
`
const secret = (name) => `apiVersion: v1
kind: Secret
metadata:
  name: ${name}-db
stringData:
  password: bench-fake-value
`
const workflow = (name) => `name: ${name}
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: |
          npm ci
          npm test
      - run: npx plimsoll scan services/${name}/k8s --fail-on high
      - uses: aquasecurity/trivy-action@0.28.0
        with: {image-ref: "registry.example.com/${name}:1.0.0"}
`
const dashboard = (name) =>
  JSON.stringify(
    {
      title: name,
      schemaVersion: 39,
      panels: Array.from({ length: 8 }, (_, i) => ({ id: i, type: 'timeseries', title: `p${i}` })),
    },
    null,
    2,
  )
const rule = (name) => `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: ${name}
spec:
  groups:
    - name: ${name}
      rules:
        - alert: ${name}Down
          expr: up{job="${name}"} == 0
          for: 5m
`
const source = (i) =>
  `// service code ${i}\nexport function handler${i}(input: string): string {\n  return input.trim().toUpperCase()\n}\n`.repeat(
    8,
  )

/** Writes a repository of about `target` files under `root`; returns how many. */
function generate(root) {
  let files = 0
  const write = (path, text) => {
    const abs = join(root, path)
    mkdirSync(dirname(abs), { recursive: true })
    writeFileSync(abs, text)
    files++
  }
  // one service: 40 files
  for (let s = 0; files < target; s++) {
    const name = `svc${s}`
    const base = `services/${name}`
    for (let i = 0; i < 16; i++) write(`${base}/src/module${i}.ts`, source(i))
    for (let i = 0; i < 8; i++) write(`${base}/src/module${i}.test.ts`, source(i))
    write(`${base}/README.md`, `# ${name}\n\nThe ${name} service.\n`.repeat(10))
    write(
      `${base}/package.json`,
      JSON.stringify({ name, version: '1.0.0', scripts: { test: 'vitest run' } }, null, 2),
    )
    write(
      `${base}/tsconfig.json`,
      JSON.stringify({ compilerOptions: { strict: true, outDir: 'dist' } }, null, 2),
    )
    write(`${base}/k8s/base/app.yaml`, [deployment(name), service(name), configMap(name)].join('---\n'))
    write(`${base}/k8s/base/kustomization.yaml`, 'resources: [app.yaml]\n')
    write(`${base}/k8s/overlays/prod/kustomization.yaml`, 'resources: [../../base]\n')
    write(`${base}/k8s/overlays/prod/secret.yaml`, secret(name))
    write(`${base}/chart/Chart.yaml`, `apiVersion: v2\nname: ${name}\nversion: 1.0.0\n`)
    write(`${base}/chart/values.yaml`, 'replicaCount: 2\nimage: {repository: x, tag: ""}\n')
    write(`${base}/chart/templates/deployment.yaml`, deployment('{{ .Release.Name }}'))
    write(
      `${base}/gitops/application.yaml`,
      `apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: ${name}}\nspec: {project: default}\n`,
    )
    write(`${base}/monitoring/rules.yaml`, rule(name))
    write(`${base}/monitoring/dashboard.json`, dashboard(name))
    write(`${base}/infra/main.tf`, `resource "null_resource" "${name}" {}\n`)
    write(`.github/workflows/${name}.yaml`, workflow(name))
    write(`${base}/node_modules/dep/index.js`, 'module.exports = {}\n')
    write(`${base}/node_modules/dep/package.json`, '{"name": "dep"}\n')
  }
  return files
}

function child(dir) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dir, ...args], {
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-bench-assess-repo-'))
try {
  const t0 = performance.now()
  const files = generate(dir)
  console.log(`repository: ${files} files generated in ${(performance.now() - t0).toFixed(0)} ms (${dir})`)
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}`)
  const results = Array.from({ length: runs }, () => child(dir))
  const best = results.reduce((a, b) => (b.ms < a.ms ? b : a))
  const worst = Math.max(...results.map((r) => r.ms))
  console.log(
    `collectRepoFacts: ${(best.ms / 1000).toFixed(2)} s (spread ${((worst - best.ms) / 1000).toFixed(2)} s over ${runs} runs), ` +
      `${Math.round((files / best.ms) * 1000)} files/s, peak RSS ${mb(best.rss)}`,
  )
  console.log(`facts: ${JSON.stringify(best.facts)}; problems: ${best.problems}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
