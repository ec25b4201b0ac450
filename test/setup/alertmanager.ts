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
import type { TestProject } from 'vitest/node'
import { aptInstallWithoutServices } from './apt.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** the Alertmanager binary */
    alertmanagerPath: string
  }
}

const ALERTMANAGER = process.env.PLIMSOLL_TEST_ALERTMANAGER || '/usr/bin/prometheus-alertmanager'

const works = () => spawnSync(ALERTMANAGER, ['--version'], { stdio: 'ignore' }).status === 0

export async function setup(project: TestProject): Promise<void> {
  if (!works()) {
    await aptInstallWithoutServices(
      ['prometheus-alertmanager'],
      `Alertmanager for the audit alerts' tests (no ${ALERTMANAGER})`,
      'Alertmanager',
    )
    if (!works())
      throw new Error(`apt-get installed prometheus-alertmanager, but ${ALERTMANAGER} does not run`)
  }
  project.provide('alertmanagerPath', ALERTMANAGER)
}
