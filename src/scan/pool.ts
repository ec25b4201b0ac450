/**
 * Spreads a scan over threads: this one and `threads - 1` workers. YAML parsing and evaluation are
 * CPU-bound, so on a CI runner with several cores the files of a large input are scanned in parallel.
 * This thread takes its share because it has the library compiled already (a worker spends a third of
 * a second compiling its own) and its results need no copying between threads.
 *
 * The cross-resource checks run where their resources were read: each thread keeps its files' subjects
 * and, once every file is read, is sent the inventory of the whole input (small records) and evaluates
 * them. Copying the subjects to one thread instead cost more than evaluating them.
 *
 * Results come back by file index, so reports are the same whatever the number of threads.
 */
import { Worker } from 'node:worker_threads'
import type { Mutator } from '../policy/adapters/mutator.js'
import type { Engine } from '../policy/engine.js'
import { Inventory, type InventoryRecord } from '../policy/inventory.js'
import { type ServerDefaulting, serverDefaulting } from '../resources/as-server.js'
import { readSource, readSourceSync, STDIN } from '../resources/inputs.js'
import type { DetachedResource } from '../resources/types.js'
import { type CrossTally, crossResults, scanText } from './scan-file.js'
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker.js'

export type FileOutcome = Extract<WorkerReply, { index: number }>

/** One file's cross-resource results. */
export interface CrossPart {
  index: number
  tally: CrossTally
}

/** The subjects a thread kept, by file index, and their evaluation once the inventory is known. */
export class KeptSubjects {
  private readonly byFile = new Map<number, DetachedResource[]>()

  /** Takes the file's subjects out of its outcome (they stay in this thread). */
  keep(outcome: FileOutcome): FileOutcome {
    const cross = 'result' in outcome ? outcome.result.cross : undefined
    if (cross?.subjects) {
      if (cross.subjects.length > 0) this.byFile.set(outcome.index, cross.subjects)
      delete cross.subjects
    }
    return outcome
  }

  evaluate(engine: Engine, inventory: Inventory, init: Pick<WorkerInit, 'exceptions'>): CrossPart[] {
    const parts = [...this.byFile].map(([index, subjects]) => ({
      index,
      tally: crossResults(engine, subjects, inventory, init.exceptions),
    }))
    this.byFile.clear()
    return parts
  }
}

/** Scans one file in this thread; a file that cannot be read is an outcome too. */
export async function scanHere(
  engine: Engine,
  file: string,
  index: number,
  init: WorkerInit,
  mutator?: Mutator,
  server?: ServerDefaulting,
): Promise<FileOutcome> {
  let text: string
  try {
    text = file === STDIN ? await readSource(file) : readSourceSync(file)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    return { index, readError: e.code ?? e.message }
  }
  return {
    index,
    result: scanText(
      engine,
      file === STDIN ? '<stdin>' : file,
      text,
      init.limits,
      init.exceptions,
      mutator,
      server,
    ),
  }
}

export class ScanPool {
  private readonly workers: Worker[]
  private readonly failed: Promise<never>
  readonly kept = new KeptSubjects()
  /** `--as-server`: the API server changes this thread applies (each worker compiles its own) */
  readonly server: ServerDefaulting | undefined

  constructor(
    private readonly engine: Engine,
    private readonly init: WorkerInit,
    threads: number,
    private readonly mutator?: Mutator,
  ) {
    this.server = init.asServer === undefined ? undefined : serverDefaulting(init.asServer)
    this.workers = Array.from(
      { length: Math.max(0, threads - 1) },
      // A small young generation: a worker's garbage is short-lived (one file's parse), and on the
      // workload bench 8 MB took 20 MB less peak memory and no more time than V8's default.
      () =>
        new Worker(new URL('./worker.js', import.meta.url), {
          workerData: init,
          resourceLimits: { maxYoungGenerationSizeMb: 8 },
        }),
    )
    // A worker that dies fails the scan, whatever it was doing.
    this.failed = new Promise<never>((_, reject) => {
      for (const worker of this.workers) {
        worker.on('error', reject)
        worker.on('exit', (code) => {
          if (code !== 0) reject(new Error(`scan worker exited with code ${code}`))
        })
      }
    })
    this.failed.catch(() => {})
  }

  async scanFiles(files: readonly string[], onDone: (done: number) => void): Promise<FileOutcome[]> {
    const outcomes: FileOutcome[] = new Array(files.length)
    let next = 0
    let done = 0
    const finish = (outcome: FileOutcome) => {
      outcomes[outcome.index] = outcome
      onDone(++done)
    }
    const inWorker = (worker: Worker) =>
      new Promise<void>((resolve) => {
        let inFlight = 0
        const feed = () => {
          if (next < files.length) {
            const index = next++
            inFlight++
            worker.postMessage({ type: 'file', index, file: files[index]! } satisfies WorkerRequest)
          } else if (inFlight === 0) {
            worker.off('message', onReply)
            resolve()
          }
        }
        const onReply = (reply: FileOutcome) => {
          inFlight--
          finish(reply)
          feed()
        }
        worker.on('message', onReply)
        // Two files in flight per worker, so that one is read while the other is parsed.
        feed()
        feed()
      })
    const here = async () => {
      while (next < files.length) {
        const index = next++
        finish(
          this.kept.keep(
            await scanHere(this.engine, files[index]!, index, this.init, this.mutator, this.server),
          ),
        )
        // Let the workers' replies in between files, so that they are fed without waiting on this one.
        if (this.workers.length > 0) await new Promise((resolve) => setImmediate(resolve))
      }
    }
    await Promise.race([Promise.all([here(), ...this.workers.map(inWorker)]), this.failed])
    return outcomes
  }

  /** The cross-resource checks on every thread's subjects, against the inventory of the whole input. */
  async cross(records: InventoryRecord[]): Promise<CrossPart[]> {
    const replies = this.workers.map(
      (worker) =>
        new Promise<CrossPart[]>((resolve) => {
          worker.once('message', (reply: Extract<WorkerReply, { type: 'cross' }>) => resolve(reply.parts))
          worker.postMessage({ type: 'cross', records } satisfies WorkerRequest)
        }),
    )
    const here = this.kept.evaluate(this.engine, new Inventory(records), this.init)
    const there = await Promise.race([Promise.all(replies), this.failed])
    return [...here, ...there.flat()].sort((a, b) => a.index - b.index)
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
