/**
 * The observed usage a scan is given (`plimsoll scan --usage report.json`): the files `plimsoll usage
 * --format json` writes, read and checked here, and passed to the scan's threads as plain data.
 */
import { readFileSync } from 'node:fs'
import { readUsageReport, UsageDataError, UsageIndex } from '../policy/usage.js'
import type { UsageReport } from '../usage/types.js'

export interface UsageInput {
  reports: readonly UsageReport[]
  /** only this cluster's usage */
  cluster?: string
}

/** The index each thread looks workloads up in (policy/usage.ts). */
export function usageIndex(input: UsageInput): UsageIndex {
  return new UsageIndex(input.reports, input.cluster)
}

/** A usage file that cannot be used; the message names the file and what is wrong with it. */
export class UsageFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`)
    this.name = 'UsageFileError'
  }
}

/**
 * One usage report from a file: the JSON of `plimsoll usage --format json`, a UsageReport, or
 * `{report: UsageReport}`. Throws UsageFileError, naming the file and the offending field.
 */
export function readUsageFile(file: string): UsageReport {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new UsageFileError(file, `cannot read: ${e.code ?? e.message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new UsageFileError(file, `not JSON: ${(err as Error).message}`)
  }
  try {
    return readUsageReport(json)
  } catch (err) {
    if (err instanceof UsageDataError)
      throw new UsageFileError(file, `not a usage report (plimsoll usage --format json): ${err.message}`)
    throw err
  }
}
