/**
 * kubectl, the second real client the local control plane is held to (test/unit/control-plane-*.test.ts):
 * the one on PATH, or Debian's (package kubernetes-client) installed with apt-get when there is none.
 */
import { spawnSync } from 'node:child_process'
import { aptInstall } from './apt.js'

const hasKubectl = () => spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0

export async function setup(): Promise<void> {
  if (hasKubectl()) return
  await aptInstall(['kubernetes-client'], 'kubectl, for the control-plane tests (no kubectl on PATH)')
  if (!hasKubectl()) throw new Error('apt-get installed kubernetes-client, but kubectl is still not on PATH')
}
