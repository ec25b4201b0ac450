/** `plimsoll install`: the manifests of a topology, as YAML or as a Kustomize base. */
import type { Command } from 'commander'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'

interface InstallFlags {
  topology?: string
  namespace: string
  image?: string
  replicas?: string
  central?: string
  dbSecret?: string
  kustomize?: string
}

export function registerInstall(program: Command): void {
  program
    .command('install')
    .summary('print the manifests that run Plimsoll in a cluster, for a topology')
    .description(
      'Print the Kubernetes objects of a topology as multi-document YAML: Namespace, ServiceAccount, ' +
        'least-privilege RBAC, Deployment (Restricted Pod Security), Service, PodDisruptionBudget (more than ' +
        'one replica), NetworkPolicy, ServiceMonitor, PrometheusRule and a Grafana dashboard. Secrets are ' +
        'referred to by name, never made (docs/install.md). Topologies: all-in-one (serve --cluster, SQLite ' +
        'on a volume), central (serve on PostgreSQL), agent (one cluster pushing to central), webhook ' +
        '(admission webhook), audit (audit receiver).',
    )
    .option('--topology <name>', 'all-in-one, central, agent, webhook or audit')
    .option('-n, --namespace <name>', 'the namespace to install in', 'plimsoll')
    .option('--image <ref>', 'the image (default: ghcr.io/plimsoll/plimsoll:<this version>)')
    .option(
      '--replicas <n>',
      'replicas (default 2; a PodDisruptionBudget above 1): agent and all-in-one on PostgreSQL elect the one that watches; all-in-one on SQLite runs one',
    )
    .option(
      '--central <url>',
      "agent: the central server's URL (default: https://plimsoll.<namespace>.svc:8080)",
    )
    .option('--db-secret <name>', "all-in-one: PostgreSQL's URL from this Secret's key `url`, not SQLite")
    .option(
      '--kustomize <dir>',
      'write a Kustomize base there (kustomization.yaml, one file per kind) instead',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll install --topology all-in-one | kubectl apply -f -
  $ plimsoll install --topology central --replicas 3 --kustomize deploy/base
  $ plimsoll install --topology agent --central https://plimsoll.example.com:8080`,
    )
    .action(async (flags: InstallFlags) => {
      process.exitCode = await install(flags)
    })
}

async function install(flags: InstallFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`plimsoll install: ${line}\n`)
  const { TOPOLOGIES, defaultOptions, installObjects, isTopology } = await import('../install/topology.js')
  const problems: string[] = []
  const topology = flags.topology ?? ''
  if (!isTopology(topology))
    problems.push(
      `--topology ${flags.topology === undefined ? '(missing)' : `'${topology}'`}: expected one of ${TOPOLOGIES.join(', ')}`,
    )
  const replicas = Number(flags.replicas ?? '2')
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 100)
    problems.push(`--replicas ${flags.replicas}: expected a whole number, 1 to 100`)
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(flags.namespace))
    problems.push(`--namespace ${flags.namespace}: not a valid namespace name`)
  if (flags.central !== undefined) {
    try {
      new URL(flags.central)
    } catch {
      problems.push(`--central ${flags.central}: not a URL`)
    }
  }
  if (problems.length > 0 || !isTopology(topology)) {
    for (const problem of problems) say(problem)
    return EXIT_USAGE
  }
  const defaults = defaultOptions()
  const options = {
    namespace: flags.namespace,
    image: flags.image ?? defaults.image,
    replicas,
    central: flags.central ?? `https://plimsoll.${flags.namespace}.svc:8080`,
    ...(flags.dbSecret ? { postgresSecret: flags.dbSecret } : {}),
  }
  const { loadLibrary } = await import('../policy/library.js')
  const objects = installObjects(topology, options, loadLibrary())
  const { toYamlStream, writeKustomizeBase } = await import('../install/output.js')
  if (flags.kustomize) {
    try {
      const files = writeKustomizeBase(flags.kustomize, objects)
      say(`wrote ${files.length} files to ${flags.kustomize}: ${files.join(', ')}`)
    } catch (err) {
      say(`--kustomize ${flags.kustomize}: ${(err as Error).message}`)
      return EXIT_USAGE
    }
    return EXIT_OK
  }
  process.stdout.write(toYamlStream(objects))
  return EXIT_OK
}
