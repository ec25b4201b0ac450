/** --kustomize and --helm: rendered with the machine's tools, or a clear error when they are missing. */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { onPath, templateFile } from '../../src/resources/render.js'
import { BIN, run } from '../helpers/cli.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-render-'))
const overlay = join(tmp, 'overlay')
mkdirSync(overlay)
copyFileSync(
  resolve(import.meta.dirname, '..', '..', 'examples', 'shop', 'cart.yaml'),
  join(overlay, 'cart.yaml'),
)
writeFileSync(join(overlay, 'kustomization.yaml'), 'resources:\n- cart.yaml\nnamespace: shop-prod\n')

const kustomizeTool = onPath('kustomize')
  ? 'kustomize build'
  : onPath('kubectl')
    ? 'kubectl kustomize'
    : undefined

/** A PATH that holds node and nothing else. */
function bareEnv() {
  const bin = join(tmp, 'bin')
  mkdirSync(bin, { recursive: true })
  try {
    symlinkSync(process.execPath, join(bin, 'node'))
  } catch {
    // already there
  }
  return { ...process.env, PATH: bin, NO_COLOR: '1' }
}

describe('--kustomize', () => {
  it(`scans the rendered overlay with ${kustomizeTool ?? 'the machine tool (missing here: asserts the error)'}`, () => {
    const r = run(['scan', '--kustomize', overlay, '--format', 'json', '--fail-on', 'none'])
    if (kustomizeTool === undefined) {
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/--kustomize needs `kustomize` or `kubectl`/)
      return
    }
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    const cart = report.findings.find((f: { resource: { kind: string } }) => f.resource.kind === 'Deployment')
    // The overlay's namespace proves the rendering ran; the file is named after the command.
    expect(cart.resource).toMatchObject({ name: 'cart', namespace: 'shop-prod' })
    expect(cart.location.file).toBe(`${kustomizeTool} ${overlay}`)
    expect(cart.location.line).toBeGreaterThan(1)
  })

  it('says what is missing when neither kustomize nor kubectl is installed', () => {
    const r = spawnSync(process.execPath, [BIN, 'scan', '--kustomize', overlay], {
      encoding: 'utf8',
      env: bareEnv(),
    })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/--kustomize needs `kustomize` or `kubectl` on the PATH; neither was found/)
  })
})

describe('--helm', () => {
  it('says what is missing when helm is not installed, and how to do without it', () => {
    const r = spawnSync(process.execPath, [BIN, 'scan', '--helm', dirname(overlay)], {
      encoding: 'utf8',
      env: bareEnv(),
    })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(
      /--helm needs `helm` on the PATH; it was not found \(or render yourself: helm template \.\.\. \| plimsoll scan -\)/,
    )
  })
})

it('asks for something to scan', () => {
  const r = run(['scan'])
  expect(r.code).toBe(2)
  expect(r.stderr).toMatch(/nothing to scan/)
})

describe('rendered Helm output', () => {
  // What `helm template shop ./charts/shop` prints: each document headed by the template it came from.
  const rendered = `---
# Source: shop/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shop
---
# Source: shop/charts/redis/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: redis
spec:
  template:
    spec:
      containers:
      - name: redis
        image: redis:latest
        securityContext: {privileged: true}
`

  it('names the template of each finding, from the # Source: comment', () => {
    const r = run(['scan', '-', '--format', 'json', '--fail-on', 'none'], rendered)
    expect(r.code).toBe(0)
    const findings = JSON.parse(r.stdout).findings as { checkId: string; location: Record<string, unknown> }[]
    const privileged = findings.find((f) => f.checkId === 'pss-privileged')!
    expect(privileged.location).toMatchObject({
      file: '<stdin>',
      line: 19,
      template: 'shop/charts/redis/templates/deployment.yaml',
    })
    const text = run(['scan', '-', '--fail-on', 'none'], rendered).stdout
    expect(text).toMatch(/^ {2}Deployment redis {2}from shop\/charts\/redis\/templates\/deployment\.yaml$/m)
  })

  it('maps a template to its file under the chart directory', () => {
    expect(templateFile('charts/shop', 'shop/templates/web.yaml')).toBe(
      join('charts/shop', 'templates/web.yaml'),
    )
    expect(templateFile('/src/shop', 'shop/charts/redis/templates/d.yaml')).toBe(
      '/src/shop/charts/redis/templates/d.yaml',
    )
  })
})

describe('--helm with a chart directory', () => {
  // helm is not installed on every machine; a stand-in prints what `helm template` prints, so that the
  // part under test (running the tool, reading # Source:, mapping templates into the chart) is ours.
  const bin = join(tmp, 'fake-helm-bin')
  const chart = join(tmp, 'charts', 'shop')
  mkdirSync(bin, { recursive: true })
  mkdirSync(join(chart, 'templates'), { recursive: true })
  writeFileSync(join(chart, 'templates', 'web.yaml'), '# the template\n')
  writeFileSync(
    join(bin, 'helm'),
    `#!/bin/sh\n[ "$1" = template ] || exit 3\ncat <<'OUT'\n---\n# Source: shop/templates/web.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n    securityContext: {privileged: true}\nOUT\n`,
    { mode: 0o755 },
  )
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' }

  it('points findings at the template file under the chart, and SARIF at that file', () => {
    const sarif = join(tmp, 'helm.sarif')
    const r = spawnSync(
      process.execPath,
      [BIN, 'scan', '--helm', chart, '--format', `json,sarif=${sarif}`, '--fail-on', 'none'],
      { encoding: 'utf8', env },
    )
    expect(r.status).toBe(0)
    const f = JSON.parse(r.stdout).findings.find((x: { checkId: string }) => x.checkId === 'pss-privileged')
    expect(f.location).toMatchObject({
      file: `helm template ${chart}`,
      template: join(chart, 'templates', 'web.yaml'),
    })
    const result = JSON.parse(readFileSync(sarif, 'utf8')).runs[0].results.find(
      (x: { ruleId: string }) => x.ruleId === 'pss-privileged',
    )
    expect(result.locations[0].physicalLocation.artifactLocation.uri).toBe(
      `file://${join(chart, 'templates', 'web.yaml')}`,
    )
    expect(result.message.text).toMatch(/rendered by helm template .*, line \d+\)$/)
  })
})
