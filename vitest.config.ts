import { defineConfig } from 'vitest/config'
import PlainSummaryReporter from './test/helpers/plain-summary-reporter.js'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', new PlainSummaryReporter()],
  },
})
