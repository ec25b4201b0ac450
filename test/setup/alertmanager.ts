/**
 * Alertmanager for the audit alerts' tests (test/unit/audit-alerts-alertmanager.test.ts): Debian's
 * prometheus-alertmanager, installed with apt-get when missing. Only installed here, once per run; each
 * test starts its own instance on 127.0.0.1 with its own config (test/helpers/alertmanager.ts).
 *
 * The package ships an init script that would start a system Alertmanager on every interface, port
 * 9093, and outlive the tests: while it installs, a policy-rc.d forbids starting services (unless the
 * machine has one already, as Docker images do).
 *
 * `PLIMSOLL_TEST_ALERTMANAGER` (default `/usr/bin/prometheus-alertmanager`) is the binary used.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs'
import type { TestProject } from 'vitest/node'
import { aptInstall } from './apt.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** the Alertmanager binary */
    alertmanagerPath: string
  }
}

const ALERTMANAGER = process.env.PLIMSOLL_TEST_ALERTMANAGER || '/usr/bin/prometheus-alertmanager'
const POLICY_RC_D = '/usr/sbin/policy-rc.d'

const works = () => spawnSync(ALERTMANAGER, ['--version'], { stdio: 'ignore' }).status === 0

export async function setup(project: TestProject): Promise<void> {
  if (!works()) {
    const wrotePolicy = !existsSync(POLICY_RC_D)
    try {
      if (wrotePolicy) {
        try {
          writeFileSync(
            POLICY_RC_D,
            "#!/bin/sh\n# Written by Plimsoll's tests while they install Alertmanager\nexit 101\n",
          )
          chmodSync(POLICY_RC_D, 0o755)
        } catch {
          // Not fatal (not root: aptInstall says so): at worst the package's own service starts.
        }
      }
      await aptInstall(
        ['prometheus-alertmanager'],
        `Alertmanager for the audit alerts' tests (no ${ALERTMANAGER})`,
      )
    } finally {
      if (wrotePolicy) rmSync(POLICY_RC_D, { force: true })
    }
    if (!works())
      throw new Error(`apt-get installed prometheus-alertmanager, but ${ALERTMANAGER} does not run`)
  }
  project.provide('alertmanagerPath', ALERTMANAGER)
}
