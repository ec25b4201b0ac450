/**
 * --leader-elect and its tuning, shared by the doors that watch a cluster (watch, serve --cluster,
 * agent): of several replicas, only the holder of a coordination.k8s.io Lease watches.
 */
import { hostname } from 'node:os'
import { type Command, Option } from 'commander'
import type { ApiClient } from '../cluster/client.js'
import type { LeaderElectionOptions } from '../cluster/leader.js'
import { parsePositive } from './scan.js'

export interface LeaderFlags {
  leaderElect?: boolean
  leaseName: string
  leaseNamespace?: string
  identity?: string
  leaseDuration: number
  renewDeadline: number
  retryPeriod: number
}

export function addLeaderOptions(command: Command, what: string, defaultLease: string): Command {
  return command
    .option(
      '--leader-elect',
      `run active/standby: ${what} only while holding a coordination.k8s.io Lease, stand by otherwise ` +
        '(needs `watch rbac --leader-elect`)',
    )
    .option('--lease-name <name>', 'the Lease of --leader-elect', defaultLease)
    .option(
      '--lease-namespace <namespace>',
      "the Lease's namespace (default: the pod's, or the context's, or default)",
    )
    .option('--identity <name>', 'this candidate, unique among replicas (default: hostname-pid)')
    .addOption(
      new Option('--lease-duration <seconds>', 'how long a Lease not renewed keeps standbys away')
        .argParser(parsePositive)
        .default(15),
    )
    .addOption(
      new Option('--renew-deadline <seconds>', 'how long the leader tries to renew before it stops')
        .argParser(parsePositive)
        .default(10),
    )
    .addOption(
      new Option('--retry-period <seconds>', 'how often standbys try and the leader renews')
        .argParser(parsePositive)
        .default(2),
    )
}

/** The election the flags ask for; undefined without --leader-elect; a string says what is wrong. */
export function electionOf(
  flags: LeaderFlags,
  client: ApiClient,
  log: (line: string) => void,
): LeaderElectionOptions | undefined | string {
  if (!flags.leaderElect) return undefined
  if (!(flags.leaseDuration > flags.renewDeadline && flags.renewDeadline > flags.retryPeriod))
    return '--leader-elect needs --lease-duration > --renew-deadline > --retry-period'
  return {
    client,
    log,
    name: flags.leaseName,
    namespace: flags.leaseNamespace ?? client.access.namespace ?? 'default',
    identity: flags.identity ?? `${hostname()}-${process.pid}`,
    leaseDurationMs: flags.leaseDuration * 1000,
    renewDeadlineMs: flags.renewDeadline * 1000,
    retryPeriodMs: flags.retryPeriod * 1000,
  }
}
