/**
 * `plimsoll scan --store`: records the run, then says in one line what changed. The store's modules
 * (database drivers, Kysely) are imported only when a scan has a store: loading them costs a scan
 * without one a third of a second and 30 MB.
 */
import { readFileSync } from 'node:fs'
import { InvalidArgumentError } from 'commander'
import type { RenderedSource } from '../resources/render.js'
import type { ScanReport } from '../scan/scan.js'
import type { Store } from '../store/connect.js'
import { RUN_SOURCES, type RunSource } from '../store/schema.js'
import { toolInfo } from '../version.js'

export interface StoreFlags {
  /** true: the default store; a string: a file or a postgres:// URL */
  store?: string | true
  target?: string
  source: RunSource
}

/** A scan's sources: `import` runs are `plimsoll import`'s, of reports other tools wrote. */
const SCAN_SOURCES = RUN_SOURCES.filter((s) => s !== 'import')

export function parseSource(value: string): RunSource {
  if (!(SCAN_SOURCES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${SCAN_SOURCES.join(', ')}, got '${value}'`)
  return value as RunSource
}

/** What a run is about, when --target does not say: the inputs as given, in order. */
export function defaultTarget(inputs: readonly string[], rendered: readonly string[]): string {
  return [...inputs, ...rendered].join(' ') || '-'
}

/** Opens the run's store (once per scan: its exceptions apply, then the run goes in); a message on failure. */
export async function openRunStore(flags: StoreFlags): Promise<Store | string> {
  const { defaultStorePath, openStore } = await import('../store/connect.js')
  try {
    return await openStore(
      flags.store === true || flags.store === undefined ? defaultStorePath() : flags.store,
    )
  } catch (err) {
    return (err as Error).message
  }
}

/** Records the report; returns an error message instead of throwing, for the CLI to print. */
export async function storeRun(
  store: Store,
  report: ScanReport,
  flags: StoreFlags,
  target: string,
  rendered: readonly RenderedSource[],
): Promise<string | undefined> {
  const { manifestsOf } = await import('../store/manifests.js')
  const { recordRun, resourceKeyOf } = await import('../store/record-run.js')
  try {
    const renderedText = new Map(rendered.map((r) => [r.name, r.text]))
    const readText = (file: string) => {
      if (renderedText.has(file)) return renderedText.get(file)
      try {
        return readFileSync(file, 'utf8')
      } catch {
        return undefined // stdin, or gone since: the resource is kept without its manifest
      }
    }
    const r = await recordRun(store, report, {
      source: flags.source,
      target,
      plimsollVersion: toolInfo().version,
      manifests: manifestsOf(report.findings, resourceKeyOf, readText),
    })
    const resolved = r.complete ? `${r.resolved} resolved` : 'none resolved (some input could not be read)'
    process.stderr.write(
      `plimsoll: recorded run ${r.runId} of '${target}' in ${store.location}: ${r.opened} new, ${r.reopened} reopened, ${r.seenAgain} seen again, ${resolved}\n`,
    )
    return undefined
  } catch (err) {
    return `cannot record the run in ${store.location}: ${(err as Error).message}`
  } finally {
    await store.close()
  }
}
