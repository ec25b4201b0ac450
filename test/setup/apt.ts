/**
 * Installs Debian packages that the tests need (PostgreSQL, Chromium) when they are missing: CI runs
 * as root on a fresh Debian machine that reaches Debian's mirrors. Anywhere else it fails with a message
 * that says what to install, never silently.
 */
import { type SpawnOptions, spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs'

export const isRoot = process.getuid?.() === 0

export function run(
  file: string,
  args: string[],
  options: SpawnOptions = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.on('error', (err) => resolve({ code: -1, output: `${output}${err.message}\n` }))
    child.on('close', (code) => resolve({ code: code ?? -1, output }))
  })
}

export function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

/**
 * `apt-get install --no-install-recommends <packages>`, after `apt-get update` if the first attempt
 * fails (a fresh machine has no package lists). `missing` says what is missing, for the error message.
 */
export async function aptInstall(packages: string[], missing: string): Promise<void> {
  const cannot = `The tests need ${missing}.`
  if (!isRoot)
    throw new Error(`${cannot} Installing it needs root; install Debian's ${packages.join(' ')} package.`)
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0)
    throw new Error(`${cannot} apt-get is not available to install it; install ${packages.join(' ')} first.`)
  process.stdout.write(
    `${missing}: installing ${packages.join(' ')} with apt-get (this can take a minute or two)\n`,
  )
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  // Wait for a running apt (a fresh machine's daily upgrade) rather than fail on its lock.
  const apt = ['-o', 'DPkg::Lock::Timeout=300', '-q', '-y']
  const installArgs = [...apt, 'install', '--no-install-recommends', ...packages]
  let r = await run('apt-get', installArgs, { env })
  if (r.code !== 0) {
    const update = await run('apt-get', [...apt, 'update'], { env })
    if (update.code !== 0) throw new Error(`${cannot} apt-get update failed:\n${tail(update.output)}`)
    r = await run('apt-get', installArgs, { env })
  }
  if (r.code !== 0)
    throw new Error(`${cannot} apt-get install ${packages.join(' ')} failed:\n${tail(r.output)}`)
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d'

/**
 * aptInstall of packages that ship a service (an init script, a systemd unit) which would start on
 * every interface and outlive the tests: while they install, a policy-rc.d forbids starting services
 * (unless the machine has one already, as Docker images do). `name` (e.g. `Prometheus`) goes into the
 * policy's comment.
 */
export async function aptInstallWithoutServices(
  packages: string[],
  missing: string,
  name: string,
): Promise<void> {
  const wrotePolicy = !existsSync(POLICY_RC_D)
  try {
    if (wrotePolicy) {
      try {
        writeFileSync(
          POLICY_RC_D,
          `#!/bin/sh\n# Written by Plimsoll's tests while they install ${name}\nexit 101\n`,
        )
        chmodSync(POLICY_RC_D, 0o755)
      } catch {
        // Not fatal (not root: aptInstall says so): at worst the package's own service starts.
      }
    }
    await aptInstall(packages, missing)
  } finally {
    if (wrotePolicy) rmSync(POLICY_RC_D, { force: true })
  }
}
