/**
 * The flags that say which cluster to watch and which of its namespaces, shared by `watch` and
 * `serve --cluster`.
 */
import { type Command, Option } from 'commander'
import type { ApiClient } from '../cluster/client.js'
import { wildcardMatch } from '../policy/kyverno/wildcard.js'
import { collect } from './library-flags.js'

export interface KubeFlags {
  kubeconfig?: string
  context?: string
  inCluster?: boolean
  clusterName?: string
  namespace: string[]
  excludeNamespace: string[]
}

/** `clusterName: false` for a door whose cluster is named elsewhere (an agent's, by its token). */
export function addKubeOptions(command: Command, { clusterName = true } = {}): Command {
  command
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: its current context)')
    .option('--in-cluster', "use the pod's service account (default inside a pod without a kubeconfig)")
  if (clusterName)
    command.option(
      '--cluster-name <name>',
      "the cluster's name in the store and the dashboard (default: the context's name)",
    )
  return command
    .addOption(
      new Option('-n, --namespace <glob>', 'watch only namespaces matching this glob (repeatable)')
        .argParser(collect)
        .default([], 'all'),
    )
    .addOption(
      new Option('--exclude-namespace <glob>', 'do not watch namespaces matching this glob (repeatable)')
        .argParser(collect)
        .default([], 'none'),
    )
}

/** Whether a name matches one of the globs (`*` any run, `?` one character), as Kyverno's do. */
function globMatcher(globs: readonly string[]): (name: string) => boolean {
  return (name) => globs.some((g) => wildcardMatch(g, name))
}

export interface Connection {
  client: ApiClient
  /** the cluster's name: --cluster-name, or the context's */
  target: string
  includeNamespace: (namespace: string) => boolean
}

/** The client the flags describe (the cluster modules loaded only now), or what is wrong. */
export async function connectionOf(flags: KubeFlags): Promise<Connection | string> {
  const { ApiClient, loadKubeConfig } = await import('../cluster/client.js')
  let client: ApiClient
  try {
    client = new ApiClient(
      loadKubeConfig({
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
        ...(flags.inCluster ? { inCluster: true } : {}),
      }),
    )
  } catch (err) {
    return (err as Error).message
  }
  const include = flags.namespace.length > 0 ? globMatcher(flags.namespace) : () => true
  const exclude = globMatcher(flags.excludeNamespace)
  return {
    client,
    target: flags.clusterName ?? client.contextName,
    includeNamespace: (namespace) => include(namespace) && !exclude(namespace),
  }
}
