import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'

/** The built binary, run as a user runs it. `npm test` builds first. */
export const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'plimsoll.js')

export function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
