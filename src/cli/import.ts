/**
 * `plimsoll import`: other scanners' reports (Trivy, Grype, Kubescape, Polaris, kube-linter,
 * PolicyReports, SARIF) recorded in the store as a run of their target, with the same lifecycle,
 * exceptions register and dashboard as Plimsoll's own scans.
 */
import { type Command, InvalidArgumentError, Option } from 'commander'
import type { ImportedReport } from '../import/types.js'
import { SEVERITIES } from '../policy/check.js'
import { toolInfo } from '../version.js'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import { withStore } from './with-store.js'

const FORMATS = ['trivy', 'grype', 'kubescape', 'polaris', 'kube-linter', 'policy-report', 'sarif', 'auto']

export interface ImportFlags {
  format: string
  target: string
  store?: string
}

function parseFormat(value: string): string {
  if (!FORMATS.includes(value)) throw new InvalidArgumentError(`expected one of ${FORMATS.join(', ')}`)
  return value
}

/** Reads every report first: one that cannot be read records nothing, as a partial import would resolve. */
export async function runImport(
  files: readonly string[],
  flags: ImportFlags,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  const { readReport } = await import('../import/read.js')
  const { ImportError } = await import('../import/types.js')
  const { importReport, recordImport, targetConflict } = await import('../import/record.js')
  const reports: { file: string; report: ImportedReport }[] = []
  for (const file of files) {
    try {
      reports.push({ file, report: readReport(file, flags.format as Parameters<typeof readReport>[1]) })
    } catch (e) {
      if (!(e instanceof ImportError)) throw e
      err(`plimsoll import: ${e.message}`)
      return EXIT_USAGE
    }
  }
  return withStore(flags.store, 'plimsoll import', async (store) => {
    const { exceptionRules } = await import('../store/exceptions.js')
    const report = importReport(reports, await exceptionRules(store))
    const conflict = await targetConflict(store, flags.target, report)
    if (conflict) {
      err(`plimsoll import: ${conflict}`)
      return EXIT_USAGE
    }
    const r = await recordImport(store, report, flags.target, toolInfo().version)
    for (const { file, report: one } of reports)
      out(
        `${file}: ${one.format} (${one.tools.map((t) => t.name).join(', ') || 'no tool named'}), ${one.findings.length} results`,
      )
    out(
      `recorded run ${r.runId} of '${flags.target}' in ${store.location}: ${r.opened} new, ${r.reopened} reopened, ${r.seenAgain} seen again, ${r.resolved} resolved`,
    )
    const s = report.summary
    const bySeverity = [...SEVERITIES]
      .reverse()
      .map((sev) => `${s.bySeverity[sev]} ${sev}`)
      .join(', ')
    out(`open: ${s.findings} (${bySeverity}); excepted: ${s.excepted}; resources: ${s.resources}`)
    return EXIT_OK
  })
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .summary("record other scanners' reports in the store")
    .description(
      "Record other tools' reports in the store as findings of their own (ids namespaced by the tool: " +
        'trivy:KSV-0001, grype:CVE-2021-42376, kubescape:C-0017, polaris:runAsRootAllowed...), as one run of ' +
        '--target with source `import`. A finding seen before is seen again; one the newer report no longer ' +
        'has is resolved; the exceptions register applies, matched on the namespaced id. All reports are ' +
        'read before anything is recorded: one that cannot be read records nothing. See docs/import.md.',
    )
    .argument('<report...>', 'report files (JSON; PolicyReports also YAML)')
    .addOption(
      new Option('--format <format>', `the reports' format: ${FORMATS.join(', ')}`)
        .argParser(parseFormat)
        .default('auto'),
    )
    .requiredOption(
      '--target <name>',
      'what the reports are of (an image, a cluster, a repository); give each tool a target of its own',
    )
    .option('--store <db>', 'the store: a file, or postgres://... (default: the default store)')
    .addHelpText(
      'after',
      `
Examples:
  $ trivy image -f json -o trivy.json registry.example/shop/api:1.4
  $ plimsoll import --format trivy trivy.json --target registry.example/shop/api
  $ grype -o json busybox:1.32.1 > grype.json && plimsoll import grype.json --target busybox/grype
  $ kubescape scan k8s/ --format json --output ks.json && plimsoll import --format kubescape ks.json --target shop/kubescape
  $ kubectl get policyreports -A -o yaml > polr.yaml && plimsoll import --format policy-report polr.yaml --target prod/kyverno
  $ plimsoll import --format sarif kubeaudit.sarif --target shop/kubeaudit --store postgres://plimsoll@db/plimsoll

Importing the same report again changes nothing; importing a newer one resolves what it no longer has.
A target holds one format: importing Grype into a target that holds Trivy imports (or Plimsoll's own
scans) is refused, as each run resolves whatever its target's last one found and it does not.`,
    )
    .action(async (files: string[], flags: ImportFlags) => {
      process.exitCode = await runImport(files, flags)
    })
}
