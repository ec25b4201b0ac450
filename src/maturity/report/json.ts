/**
 * The assessment as JSON (`plimsoll assess --format json`): the Assessment as it is (src/maturity/
 * assess.ts), `version` first, 2-space indent and a trailing newline. Its shape is a contract: fields
 * are only ever added, and `version` changes if one is removed or changes meaning. Every criterion
 * carries its standing, why, the evidence with its sources, the answer (marked selfReported) and the
 * advice; `gaps`, `foundations` and `next` are ids of criteria.
 */
import type { Assessment } from '../assess.js'

/** Finite numbers as they are; Infinity and NaN (which JSON has not) as null. */
function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value
}

export function renderAssessmentJson(a: Assessment): string {
  const { version, ...rest } = a
  return `${JSON.stringify({ version, ...rest }, replacer, 2)}\n`
}
