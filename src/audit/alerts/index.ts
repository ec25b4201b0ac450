/** The audit alerts: config, aggregator (the noise filter), silences, notifiers and their outbox. */
export * from './aggregator.js'
export * from './config.js'
export * from './fingerprint.js'
export * from './matchers.js'
export * from './notifiers.js'
export * from './outbox.js'
export * from './pipeline.js'
export * from './silences.js'
