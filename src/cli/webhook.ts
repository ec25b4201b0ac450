/** `plimsoll webhook`: the admission door's tools. */
import type { Command } from 'commander'
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js'

interface CertsFlags {
  outDir: string
  service: string
  namespace: string
  name: string[]
  days: string
  caDays: string
}

function days(value: string, flag: string): number | string {
  const n = Number(value)
  return Number.isInteger(n) && n > 0 && n <= 36_500
    ? n
    : `${flag} ${value}: expected a whole number of days, 1 to 36500`
}

export function registerWebhook(program: Command): void {
  const webhook = program
    .command('webhook')
    .summary('the admission webhook: certificates')
    .description(
      'The admission door: the same policies that run in CI and in the cluster scan, decided when the ' +
        'API server admits an object. `webhook certs` makes the TLS certificates the API server needs.',
    )
  webhook
    .command('certs')
    .description(
      "Write a CA and the webhook's serving certificate (EC P-256) for its Service, and print the " +
        'caBundle for the webhook configurations. A CA already in --out-dir is kept, so that renewing ' +
        'the serving certificate does not change the caBundle. Keys are written readable by their owner only.',
    )
    .requiredOption('--out-dir <dir>', 'where ca.crt, ca.key, tls.crt and tls.key go')
    .option('--service <name>', 'the Service in front of the webhook', 'plimsoll-webhook')
    .option('-n, --namespace <name>', "the Service's namespace", 'plimsoll')
    .option(
      '--name <name>',
      'another DNS name or IP address for the certificate (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--days <n>', 'validity of the serving certificate', '365')
    .option('--ca-days <n>', 'validity of a new CA', '3650')
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll webhook certs --out-dir ./certs
  $ kubectl -n plimsoll create secret tls plimsoll-webhook-tls --cert certs/tls.crt --key certs/tls.key
  $ plimsoll webhook certs --out-dir ./certs --name 127.0.0.1     # also for a webhook run locally`,
    )
    .action(async (flags: CertsFlags) => {
      process.exitCode = await certs(flags)
    })
}

async function certs(flags: CertsFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`plimsoll webhook certs: ${line}\n`)
  const serving = days(flags.days, '--days')
  const ca = days(flags.caDays, '--ca-days')
  for (const d of [serving, ca])
    if (typeof d === 'string') {
      say(d)
      return EXIT_USAGE
    }
  const { writeCertificates } = await import('../webhook/certificates.js')
  try {
    const written = writeCertificates({
      dir: flags.outDir,
      service: flags.service,
      namespace: flags.namespace,
      extraNames: flags.name,
      days: serving as number,
      caDays: ca as number,
    })
    say(`${written.keptCa ? 'kept the CA in' : 'wrote a new CA to'} ${written.caFile}`)
    say(`wrote ${written.certFile} and ${written.keyFile} for ${written.names.join(', ')}`)
    say('caBundle (for clientConfig.caBundle) on stdout')
    process.stdout.write(`${written.caBundle}\n`)
    return EXIT_OK
  } catch (err) {
    say((err as Error).message)
    return EXIT_USAGE
  }
}
