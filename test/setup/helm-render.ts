/**
 * test/helm-render (our own renderer of a chart directory with Go's text/template and Sprig, the engine
 * Helm renders with), built once per run for test/unit/helm-chart.test.ts: no helm binary can be
 * installed on these machines, Debian's Go and Sprig can. Installs Debian's golang-go and the Go source
 * packages it builds from (/usr/share/gocode) with apt-get when missing, builds in GOPATH mode (the
 * Debian packages are sources, not modules) and caches the binary under the system's temporary folder,
 * keyed by the program's hash: a second run, or a run after an edit elsewhere, does not build again.
 *
 * `PLIMSOLL_TEST_HELM_RENDER`: a helm-render binary to use instead (nothing installed or built).
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { TestProject } from 'vitest/node'
import { aptInstall, run, tail } from './apt.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** test/helm-render built: renders a chart directory as `helm template` does */
    helmRenderPath: string
  }
}

const SOURCE_DIR = resolve(import.meta.dirname, '..', 'helm-render')
const GOPATH = '/usr/share/gocode'
/** Debian package -> the Go import path it puts under GOPATH/src */
const GO_SOURCES: Record<string, string> = {
  'golang-github-masterminds-sprig-dev': 'github.com/Masterminds/sprig',
  'golang-github-ghodss-yaml-dev': 'github.com/ghodss/yaml',
  'golang-github-xeipuuv-gojsonschema-dev': 'github.com/xeipuuv/gojsonschema',
}

const hasGo = () => spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0
const missing = () => [
  ...(hasGo() ? [] : ['golang-go']),
  ...Object.entries(GO_SOURCES)
    .filter(([, path]) => !existsSync(join(GOPATH, 'src', path)))
    .map(([pkg]) => pkg),
]

export async function setup(project: TestProject): Promise<void> {
  const given = process.env.PLIMSOLL_TEST_HELM_RENDER
  if (given) {
    project.provide('helmRenderPath', given)
    return
  }
  const main = readFileSync(join(SOURCE_DIR, 'main.go'))
  const hash = createHash('sha256').update(main).digest('hex').slice(0, 16)
  const dir = join(tmpdir(), `plimsoll-helm-render-${hash}`)
  const binary = join(dir, 'helm-render')
  if (!existsSync(binary)) {
    const packages = missing()
    if (packages.length > 0) {
      await aptInstall(packages, 'Go and Sprig, to render the Helm chart as Helm does (test/helm-render)')
      const still = missing()
      if (still.length > 0) throw new Error(`apt-get installed, but still missing: ${still.join(', ')}`)
    }
    mkdirSync(dir, { recursive: true })
    // Built under a name of this process's own and renamed: two runs at once never see half a binary.
    const building = `${binary}.${process.pid}`
    const built = await run('go', ['build', '-o', building, '.'], {
      cwd: SOURCE_DIR,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH,
        GOFLAGS: '',
        // Shared between versions of the program: an edit rebuilds main.go, not Sprig.
        GOCACHE: join(tmpdir(), 'plimsoll-helm-render-gocache'),
      },
    })
    if (built.code !== 0) throw new Error(`go build of ${SOURCE_DIR} failed:\n${tail(built.output)}`)
    renameSync(building, binary)
  }
  project.provide('helmRenderPath', binary)
}
