import { defineConfig } from 'vitest/config'
import PlainSummaryReporter from './test/helpers/plain-summary-reporter.js'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // A throwaway PostgreSQL server for the run, Chromium for the browser tests, kubectl for the
    // control plane's and Alertmanager for the audit alerts' (each installed with apt-get if missing;
    // the alerts tests start their own Alertmanagers); see the files.
    globalSetup: [
      'test/setup/postgres.ts',
      'test/setup/chromium.ts',
      'test/setup/kubectl.ts',
      'test/setup/alertmanager.ts',
    ],
    reporters: ['default', new PlainSummaryReporter()],
  },
})
