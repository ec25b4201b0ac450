/**
 * Spreads files over worker threads. YAML parsing is most of a scan's cost and is CPU-bound, so on a
 * CI runner with several cores the files of a large input are scanned in parallel. Results come back
 * in input order, so reports are the same whatever the number of workers.
 */
import { Worker } from 'node:worker_threads'
import type { WorkerInit, WorkerReply } from './worker.js'

export type FileOutcome = WorkerReply

export async function scanInWorkers(
  files: readonly string[],
  init: WorkerInit,
  workers: number,
  onDone: (done: number) => void,
): Promise<FileOutcome[]> {
  const outcomes: FileOutcome[] = new Array(files.length)
  let next = 0
  let done = 0
  const pool = Array.from(
    { length: Math.min(workers, files.length) },
    () => new Worker(new URL('./worker.js', import.meta.url), { workerData: init }),
  )
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let inFlight = 0
            const feed = () => {
              if (next < files.length) {
                const index = next++
                inFlight++
                worker.postMessage({ index, file: files[index] })
              } else if (inFlight === 0) {
                resolve()
              }
            }
            worker.on('message', (reply: WorkerReply) => {
              inFlight--
              outcomes[reply.index] = reply
              onDone(++done)
              feed()
            })
            worker.on('error', reject)
            worker.on('exit', (code) => {
              if (code !== 0) reject(new Error(`scan worker exited with code ${code}`))
            })
            // Two files in flight per worker, so that one is read while the other is parsed.
            feed()
            feed()
          }),
      ),
    )
  } finally {
    await Promise.all(pool.map((w) => w.terminate()))
  }
  return outcomes
}
