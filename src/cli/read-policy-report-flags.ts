/**
 * `--read-policy-reports` and its interval, as `watch` and `serve --cluster` take them: both run the
 * same watcher, so the same reader is attached to it (src/cluster/policy-report-reader.ts).
 */
import { type Command, Option } from 'commander'
import type { ClusterReaderSetup } from '../cluster/policy-report-reader.js'
import type { Attachment, RunningWatcher } from '../cluster/run.js'
import { parsePositive } from './scan.js'

export interface ReadPolicyReportFlags {
  readPolicyReports?: boolean
  readPolicyReportInterval: number
}

/** The two options; `scope` says when the first applies (serve: only with --cluster). */
export function addReadPolicyReportOptions(command: Command, scope = ''): Command {
  return command
    .option(
      '--read-policy-reports',
      `${scope}record other tools' PolicyReports and ClusterPolicyReports (Kyverno, Kubescape, ...; not Plimsoll's own) ` +
        "in the store as an import of target '<cluster>/policy-report', kept current: a result gone from the " +
        'cluster is resolved (needs get, list, watch on them: `watch rbac --read-policy-reports`)',
    )
    .addOption(
      new Option(
        '--read-policy-report-interval <seconds>',
        'at most one record of the read reports this often, and only when their findings changed',
      )
        .argParser(parsePositive)
        .default(30),
    )
}

/** The watcher's attachments the flags ask for: the reader, or none. */
export async function policyReportReaders(
  flags: ReadPolicyReportFlags,
  setup: Omit<ClusterReaderSetup, 'intervalSeconds'>,
): Promise<((running: RunningWatcher) => Attachment)[]> {
  if (!flags.readPolicyReports) return []
  const { readClusterPolicyReports } = await import('../cluster/policy-report-reader.js')
  return [readClusterPolicyReports({ ...setup, intervalSeconds: flags.readPolicyReportInterval })]
}
