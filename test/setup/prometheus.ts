/**
 * Prometheus for the usage tests (test/unit/usage-*.test.ts): Debian's `prometheus` package (2.42), which
 * gives /usr/bin/prometheus and /usr/bin/promtool, installed with apt-get when missing. Only installed
 * here, once per run: each test file backfills its own TSDB from generated series
 * (test/helpers/prometheus-backfill.ts) and starts its own Prometheus over it on 127.0.0.1
 * (test/helpers/prometheus.ts), because history can only be backfilled before a server opens the
 * directory, and each file asserts against the series it wrote and nothing else.
 *
 * The package ships an init script / systemd unit that would start a system Prometheus on every
 * interface, port 9090, scraping itself and outliving the tests: while it installs, a policy-rc.d forbids
 * starting services (unless the machine has one already, as Docker images do). Its Recommends
 * (prometheus-node-exporter, which would start a service too) are not installed.
 *
 * `PLIMSOLL_TEST_PROMETHEUS` (default `/usr/bin/prometheus`) and `PLIMSOLL_TEST_PROMTOOL` (default
 * `/usr/bin/promtool`) are the binaries used.
 */
import { spawnSync } from 'node:child_process'
import type { TestProject } from 'vitest/node'
import { aptInstallWithoutServices } from './apt.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** the Prometheus server binary */
    prometheusPath: string
    /** promtool, for `tsdb create-blocks-from openmetrics` */
    promtoolPath: string
  }
}

const PROMETHEUS = process.env.PLIMSOLL_TEST_PROMETHEUS || '/usr/bin/prometheus'
const PROMTOOL = process.env.PLIMSOLL_TEST_PROMTOOL || '/usr/bin/promtool'

const runs = (bin: string) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0
const works = () => runs(PROMETHEUS) && runs(PROMTOOL)

export async function setup(project: TestProject): Promise<void> {
  if (!works()) {
    await aptInstallWithoutServices(
      ['prometheus'],
      `Prometheus for the usage tests (no ${PROMETHEUS} or ${PROMTOOL})`,
      'Prometheus',
    )
    if (!works())
      throw new Error(`apt-get installed prometheus, but ${PROMETHEUS} or ${PROMTOOL} does not run`)
  }
  project.provide('prometheusPath', PROMETHEUS)
  project.provide('promtoolPath', PROMTOOL)
}
