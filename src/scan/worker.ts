/**
 * A scan worker thread: loads the same library as the main thread, then scans the files it is sent,
 * one at a time, replying with plain-data results.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Engine } from '../policy/engine.js'
import { type LibraryOptions, loadLibrary } from '../policy/library.js'
import { readSource } from '../resources/inputs.js'
import type { ParseLimits } from '../resources/parse.js'
import { type ExceptionContext, type FileResult, scanText } from './scan-file.js'

export interface WorkerInit {
  library: LibraryOptions
  version: number
  limits: ParseLimits
  exceptions?: ExceptionContext
}

export interface WorkerRequest {
  index: number
  file: string
}

export type WorkerReply = { index: number; result: FileResult } | { index: number; readError: string }

const init = workerData as WorkerInit
const library = loadLibrary(init.library)
const engine = new Engine(library.checks, library.podTemplates, { version: init.version }, library.foreign)

parentPort!.on('message', async ({ index, file }: WorkerRequest) => {
  let reply: WorkerReply
  try {
    reply = { index, result: scanText(engine, file, await readSource(file), init.limits, init.exceptions) }
  } catch (err) {
    reply = { index, readError: (err as NodeJS.ErrnoException).code ?? (err as Error).message }
  }
  parentPort!.postMessage(reply)
})
