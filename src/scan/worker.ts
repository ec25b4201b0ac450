/**
 * A scan worker thread: loads the same library as the main thread, scans the files it is sent, one at a
 * time, replying with plain-data results, and keeps their cross-resource subjects until it is sent the
 * inventory of the whole input (see pool.ts).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Engine } from '../policy/engine.js'
import { Inventory, type InventoryRecord } from '../policy/inventory.js'
import { type LibraryOptions, loadLibrary } from '../policy/library.js'
import { serverDefaulting } from '../resources/as-server.js'
import type { ParseLimits } from '../resources/parse.js'
import { type CrossPart, KeptSubjects, scanHere } from './pool.js'
import type { ExceptionContext, FileResult } from './scan-file.js'
import { type UsageInput, usageIndex } from './usage.js'

export interface WorkerInit {
  library: LibraryOptions
  version: number
  limits: ParseLimits
  exceptions?: ExceptionContext
  /** the scan's usage reports (`--usage`), for CEL's `usage` */
  usage?: UsageInput
  /** `--as-server`: the release (v1.N -> N) whose API server changes are applied before the checks */
  asServer?: number
}

export type WorkerRequest =
  | { type: 'file'; index: number; file: string }
  | { type: 'cross'; records: InventoryRecord[] }

export type WorkerReply =
  | { index: number; result: FileResult }
  | { index: number; readError: string }
  | { type: 'cross'; parts: CrossPart[] }

const init = workerData as WorkerInit
const library = loadLibrary(init.library)
const engine = new Engine(
  library.checks,
  library.podTemplates,
  { version: init.version, ...(init.usage ? { usage: usageIndex(init.usage) } : {}) },
  library.foreign,
)
const server = init.asServer === undefined ? undefined : serverDefaulting(init.asServer)
const kept = new KeptSubjects()

parentPort!.on('message', async (request: WorkerRequest) => {
  if (request.type === 'cross') {
    const parts = kept.evaluate(engine, new Inventory(request.records), init)
    parentPort!.postMessage({ type: 'cross', parts } satisfies WorkerReply)
    return
  }
  const { index, file } = request
  let reply: WorkerReply
  try {
    reply = kept.keep(await scanHere(engine, file, index, init, library.mutator, server))
  } catch (err) {
    reply = { index, readError: (err as NodeJS.ErrnoException).code ?? (err as Error).message }
  }
  parentPort!.postMessage(reply)
})
