import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'
import PlainSummaryReporter from './test/helpers/plain-summary-reporter.js'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the CPUs: on CI's 2-core machine, one file at a time.
    // Most files wait on servers, browsers and child processes more than they compute, so two run well
    // side by side there.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // A throwaway PostgreSQL server for the run, Chromium for the browser tests, kubectl for the
    // control plane's, Alertmanager for the audit alerts' and Prometheus for the usage tests', Go and
    // Sprig for the Helm chart's renderer, buildah and podman for the image (each installed with apt-get
    // if missing; the alerts and usage tests start their own Alertmanagers and Prometheuses); see the
    // files.
    globalSetup: [
      'test/setup/postgres.ts',
      'test/setup/chromium.ts',
      'test/setup/kubectl.ts',
      'test/setup/alertmanager.ts',
      'test/setup/prometheus.ts',
      'test/setup/helm-render.ts',
      'test/setup/image.ts',
    ],
    reporters: ['default', new PlainSummaryReporter()],
  },
})
