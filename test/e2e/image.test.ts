/**
 * The container image, built from the Dockerfile by scripts/build-image.sh (with the tools
 * test/setup/image.ts installs): its configuration, what its filesystem holds and does not hold, and
 * the image run as Kubernetes runs it from `plimsoll install`'s Deployments: podman with the image's
 * own user and entrypoint, a read-only root filesystem with only /tmp writable, every capability
 * dropped, no network.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { USER_ID } from '../../src/install/pod.js'
import { run as runHost } from '../helpers/cli.js'
import { run, tail } from '../setup/apt.js'

const image = inject('imageName')
const ROOT = resolve(import.meta.dirname, '..', '..')
const EXAMPLE = join(ROOT, 'examples', 'shop')
/** A build after a change to package-lock.json compiles better-sqlite3 again: minutes, not seconds. */
const BUILD_TIMEOUT_MS = 20 * 60_000
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }

function tool(file: string, args: string[]): string {
  const r = spawnSync(file, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}`)
  return r.stdout.trim()
}

/**
 * `podman run` as a kubelet would start the container. runc, not crun: crun refuses this machine's
 * hybrid cgroup layout. Explicit rlimits: podman's defaults exceed the hard limits here, which root
 * without CAP_SYS_RESOURCE (in a container) cannot raise.
 */
function podman(args: string[], options: { entrypoint?: string; volume?: string } = {}) {
  const r = spawnSync(
    'podman',
    [
      '--runtime',
      'runc',
      'run',
      '--rm',
      '--ulimit',
      'nofile=4096:4096',
      '--ulimit',
      'nproc=4096:4096',
      '--read-only',
      '--read-only-tmpfs=false',
      '--tmpfs',
      '/tmp:rw,size=64m',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--network',
      'none',
      '--env',
      'NO_COLOR=1',
      ...(options.volume ? ['--volume', options.volume] : []),
      ...(options.entrypoint ? ['--entrypoint', options.entrypoint] : []),
      image,
      ...args,
    ],
    { encoding: 'utf8' },
  )
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Every path under dir, relative to it. */
function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
}

describe('the container image', () => {
  let config: {
    User?: string
    Entrypoint?: string[]
    Cmd?: string[]
    WorkingDir?: string
    Env?: string[]
  }
  let container = ''
  let rootfs = ''

  beforeAll(async () => {
    // Stages are cached: only what changed since the last build (usually the sources) is built again.
    const built = await run('scripts/build-image.sh', ['--tag', image], { cwd: ROOT })
    if (built.code !== 0)
      throw new Error(
        `scripts/build-image.sh --tag ${image} failed (exit ${built.code}):\n${tail(built.output)}`,
      )
    const inspected = JSON.parse(tool('buildah', ['inspect', '--type', 'image', image])) as {
      OCIv1: { config: typeof config }
    }
    config = inspected.OCIv1.config
    container = tool('buildah', ['from', '--pull=never', '--quiet', image])
    rootfs = tool('buildah', ['mount', container])
  }, BUILD_TIMEOUT_MS)

  afterAll(() => {
    if (container) tool('buildah', ['rm', container])
  })

  it('runs plimsoll as the numeric user of the installed Deployments, in production mode', () => {
    expect(config.User).toBe(`${USER_ID}:${USER_ID}`)
    // Deployments set only `args`: the entrypoint must be plimsoll itself, with no shell in between.
    expect(config.Entrypoint).toEqual(['/nodejs/bin/node', '/app/bin/plimsoll.js'])
    expect(config.WorkingDir).toBe('/app')
    expect(config.Env).toContain('NODE_ENV=production')
  })

  it('holds no shell, no package manager and no dpkg database', () => {
    const files = walk(rootfs).filter(
      (p) => !statSync(join(rootfs, p), { throwIfNoEntry: false })?.isDirectory(),
    )
    const names = new Set(files.map((p) => p.split('/').pop()))
    for (const name of ['sh', 'bash', 'dash', 'busybox', 'apt', 'apt-get', 'dpkg', 'npm'])
      expect(names.has(name), `${name} in the image`).toBe(false)
    expect(() => statSync(join(rootfs, 'var/lib/dpkg/status'))).toThrow()
  })

  it('holds the published package, built, with its production dependencies and no others', () => {
    const app = join(rootfs, 'app')
    for (const file of ['bin/plimsoll.js', 'dist/cli/main.js', 'dist/web/index.html', 'package.json'])
      expect(statSync(join(app, file)).isFile(), file).toBe(true)
    expect(readdirSync(join(app, 'policies')).length).toBeGreaterThan(0)
    // Only what package.json's `files` publishes, never the sources or the tests.
    for (const absent of ['src', 'test', 'web', 'tsconfig.json'])
      expect(() => statSync(join(app, absent)), absent).toThrow()
    expect(
      statSync(join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')).isFile(),
    ).toBe(true)

    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>
    }
    const installed = (path: string) => {
      try {
        return statSync(join(app, path, 'package.json')).isFile()
      } catch {
        return false
      }
    }
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'))
    const dev = entries.filter(([, p]) => p.dev).map(([path]) => path)
    const production = entries.filter(([, p]) => !p.dev && !p.optional).map(([path]) => path)
    expect(dev).toContain('node_modules/vitest')
    expect(dev.filter(installed)).toEqual([])
    expect(production.filter((path) => !installed(path))).toEqual([])
  })

  it('cannot be changed by the user it runs as', () => {
    const app = join(rootfs, 'app')
    const writable = walk(app).filter((p) => {
      const s = statSync(join(app, p))
      return s.uid === USER_ID || (s.mode & 0o022) !== 0
    })
    expect(writable).toEqual([])
  })

  it('runs `plimsoll --version` through its entrypoint, read-only, as its own user', () => {
    const r = podman(['--version'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toContain(pkg.version)
  })

  it('writes only to /tmp, as 10001:10001 with no capabilities', () => {
    const probe = [
      'const fs = require("node:fs")',
      'const tryWrite = (p) => { try { fs.writeFileSync(p, "x"); return "ok" } catch (e) { return e.code } }',
      'console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(),',
      '  root: tryWrite("/x"), app: tryWrite("/app/x"), tmp: tryWrite("/tmp/x") }))',
    ].join('\n')
    const r = podman(['-e', probe], { entrypoint: '/nodejs/bin/node' })
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({
      uid: USER_ID,
      gid: USER_ID,
      root: 'EROFS',
      app: 'EROFS',
      tmp: 'ok',
    })
  })

  it('loads its native SQLite addon, built for the Node and glibc it runs on', () => {
    const probe =
      'const Database = require("better-sqlite3"); console.log(new Database(":memory:").prepare("select 6 * 7 as n").get().n)'
    const r = podman(['-e', probe], { entrypoint: '/nodejs/bin/node' })
    expect(r.stderr).toBe('')
    expect(r.stdout.trim()).toBe('42')
  })

  it('scans manifests as the same command does outside the container', () => {
    // The example at the same path inside, so findings name the same files.
    const args = ['scan', '--format', 'json', EXAMPLE]
    const inside = podman(args, { volume: `${EXAMPLE}:${EXAMPLE}:ro` })
    const outside = runHost(args)
    expect(inside.stderr).toBe('')
    expect(inside.code).toBe(outside.code)
    const report = (json: string) => {
      const { startedAt: _s, durationMs: _d, ...rest } = JSON.parse(json) as Record<string, unknown>
      return rest
    }
    const got = report(inside.stdout)
    expect(got.summary).toMatchObject({ files: 6, errors: 0 })
    expect(got).toEqual(report(outside.stdout))
  })
})
