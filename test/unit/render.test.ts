/** --kustomize and --helm: rendered with the machine's tools, or a clear error when they are missing. */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { onPath } from '../../src/resources/render.js'
import { BIN, run } from '../helpers/cli.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-render-'))
const overlay = join(tmp, 'overlay')
mkdirSync(overlay)
copyFileSync(
  resolve(import.meta.dirname, '..', '..', 'examples', 'shop', 'cart.yaml'),
  join(overlay, 'cart.yaml'),
)
writeFileSync(join(overlay, 'kustomization.yaml'), 'resources:\n- cart.yaml\nnamespace: shop-prod\n')

const available = (tool: string) => spawnSync(tool, ['version'], { stdio: 'ignore' }).error === undefined
const kustomizeTool = available('kustomize')
  ? 'kustomize build'
  : available('kubectl')
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
