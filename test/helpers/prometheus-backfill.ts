/**
 * History for a real Prometheus, the way an operator backfills one: series written as an OpenMetrics
 * text file and turned into TSDB blocks by `promtool tsdb create-blocks-from openmetrics <file> <dir>`
 * (promtool installed by test/setup/prometheus.ts). Prometheus must then be started on that directory
 * (test/helpers/prometheus.ts) with a retention that covers the history (it deletes older blocks at
 * once); promtool must run before Prometheus opens the directory.
 *
 * The file: one `# HELP`/`# TYPE` per metric family (a counter's family is its name without `_total`,
 * as OpenMetrics wants), every sample of a series together and sorted by time, timestamps in seconds,
 * `# EOF` at the end.
 *
 * promtool reads the whole file once per block it makes: with its default 2-hour blocks, 15 days of
 * history is 180 passes over the file (minutes for a million samples). 2.42 accepts
 * --max-block-duration (not in its --help): given the history's span, it makes blocks of the largest of
 * its ranges (2h x 3^n: 2h, 6h, 18h, 54h, 162h, 486h) that fits, so 15 days is 3 passes (~10 s for 0.9
 * million samples here).
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, mkdirSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'

export type Labels = Readonly<Record<string, string>>

/** A series' samples on a regular grid: `value(t)` at t = from, from + step, ... <= to (ms). */
export interface SampleGrid {
  from: number
  to: number
  step: number
  /** the value at t (ms); undefined for no sample at t */
  value: (t: number) => number | undefined
}

export interface SeriesDef {
  /** the sample's name, e.g. `container_cpu_usage_seconds_total` */
  name: string
  type: 'counter' | 'gauge'
  help?: string
  labels: Labels
  /** [timestamp ms, value] pairs (sorted here), or a grid */
  samples: ReadonlyArray<readonly [number, number]> | SampleGrid
}

export interface BackfillResult {
  /** the TSDB directory */
  dir: string
  /** how many promtools made the blocks, at once */
  promtools: number
  series: number
  samples: number
  bytes: number
  /** seconds to write the file, and for promtool to make the blocks */
  writeSeconds: number
  promtoolSeconds: number
  /** the oldest and newest sample (ms) */
  minTime: number
  maxTime: number
}

/** The OpenMetrics family a sample name belongs to: a counter's family drops `_total`. */
export function familyName(def: Pick<SeriesDef, 'name' | 'type'>): string {
  return def.type === 'counter' && def.name.endsWith('_total')
    ? def.name.slice(0, -'_total'.length)
    : def.name
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

function labelText(labels: Labels): string {
  const keys = Object.keys(labels).sort()
  if (keys.length === 0) return ''
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(3)
}

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Number.POSITIVE_INFINITY) return '+Inf'
  if (v === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(v)
}

function* samplesOf(def: SeriesDef): Iterable<readonly [number, number]> {
  const s = def.samples
  if (Array.isArray(s)) {
    const sorted = [...(s as ReadonlyArray<readonly [number, number]>)].sort((a, b) => a[0] - b[0])
    yield* sorted
    return
  }
  const grid = s as SampleGrid
  for (let t = grid.from; t <= grid.to; t += grid.step) {
    const v = grid.value(t)
    if (v !== undefined) yield [t, v]
  }
}

/** Writes the series as OpenMetrics text; counts what it wrote. */
export async function writeOpenMetrics(
  series: readonly SeriesDef[],
  file: string,
): Promise<{ series: number; samples: number; bytes: number; minTime: number; maxTime: number }> {
  const families = new Map<string, SeriesDef[]>()
  for (const def of series) {
    const family = familyName(def)
    const list = families.get(family)
    if (list) {
      if (list[0]!.type !== def.type)
        throw new Error(`metric family ${family} is both ${list[0]!.type} and ${def.type}`)
      list.push(def)
    } else families.set(family, [def])
  }
  const out = createWriteStream(file)
  let buffer = ''
  let bytes = 0
  let samples = 0
  let minTime = Number.POSITIVE_INFINITY
  let maxTime = Number.NEGATIVE_INFINITY
  const flush = async () => {
    bytes += Buffer.byteLength(buffer)
    if (!out.write(buffer)) await once(out, 'drain')
    buffer = ''
  }
  for (const [family, defs] of families) {
    const help = defs.find((d) => d.help)?.help
    if (help) buffer += `# HELP ${family} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`
    buffer += `# TYPE ${family} ${defs[0]!.type}\n`
    for (const def of defs) {
      const prefix = `${def.name}${labelText(def.labels)} `
      let last = Number.NEGATIVE_INFINITY
      for (const [t, v] of samplesOf(def)) {
        if (t === last) throw new Error(`${prefix.trim()}: two samples at ${t}`)
        last = t
        buffer += `${prefix}${number(v)} ${seconds(t)}\n`
        samples++
        if (t < minTime) minTime = t
        if (t > maxTime) maxTime = t
        if (buffer.length > 1 << 20) await flush()
      }
    }
  }
  buffer += '# EOF\n'
  await flush()
  out.end()
  await once(out, 'finish')
  return { series: series.length, samples, bytes, minTime, maxTime }
}

function runPromtool(args: string[]): Promise<string> {
  const promtool = inject('promtoolPath')
  if (!promtool)
    throw new Error('No promtool: vitest.config.ts must list test/setup/prometheus.ts in globalSetup')
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`promtool ${args.join(' ')} exited ${code}:\n${output.slice(-3000)}`)),
    )
  })
}

/**
 * Writes `series` to OpenMetrics files in `dir` and makes TSDB blocks from them in `<dir>/data` (the
 * directory to give Prometheus as --storage.tsdb.path); the files are removed once the blocks are made.
 * With `parallel` > 1 (default: 2, or 1 on a single CPU), the series are split between that many files,
 * each turned into blocks by its own promtool at the same time: the blocks overlap in time (not in
 * series), which Prometheus 2.42 accepts (it warns "Overlapping blocks found", merges them when it
 * queries and compacts them later).
 */
export async function backfill(
  series: readonly SeriesDef[],
  dir: string,
  options: { parallel?: number } = {},
): Promise<BackfillResult> {
  mkdirSync(dir, { recursive: true })
  const data = join(dir, 'data')
  const parts = Math.max(1, Math.min(options.parallel ?? Math.min(2, availableParallelism()), series.length))
  const groups: SeriesDef[][] = Array.from({ length: parts }, () => [])
  for (const [i, def] of series.entries()) groups[i % parts]!.push(def)
  const files = groups.map((_, i) => join(dir, `backfill-${i}.om`))
  const t0 = performance.now()
  const written = await Promise.all(groups.map((group, i) => writeOpenMetrics(group, files[i]!)))
  const t1 = performance.now()
  const minTime = Math.min(...written.map((w) => w.minTime))
  const maxTime = Math.max(...written.map((w) => w.maxTime))
  const spanHours = Math.max(2, Math.ceil((maxTime - minTime) / 3_600_000) + 1)
  try {
    await Promise.all(
      files.map((file) =>
        runPromtool([
          'tsdb',
          'create-blocks-from',
          'openmetrics',
          '--quiet',
          `--max-block-duration=${spanHours}h`,
          file,
          data,
        ]),
      ),
    )
  } finally {
    for (const file of files) rmSync(file, { force: true })
  }
  const t2 = performance.now()
  const sum = (key: 'series' | 'samples' | 'bytes') => written.reduce((n, w) => n + w[key], 0)
  return {
    dir: data,
    series: sum('series'),
    samples: sum('samples'),
    bytes: sum('bytes'),
    minTime,
    maxTime,
    promtools: parts,
    writeSeconds: (t1 - t0) / 1000,
    promtoolSeconds: (t2 - t1) / 1000,
  }
}
