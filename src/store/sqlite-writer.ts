/**
 * The store's write connection in a thread of its own (sqlite.ts, `writerThread`): statements arrive
 * one at a time, as the main thread's turns allow, and their outcomes go back. This thread may wait
 * inside SQLite, nobody else waits on it: a statement that finds the store locked is tried again until
 * its deadline, as on the main thread, but asleep.
 *
 * The WAL is copied back into the database (checkpointed) after a transaction's outcome has gone back,
 * not inside its COMMIT as SQLite would do it: a checkpoint writes a thousand pages and syncs the file,
 * 15-90 ms here, which made one change in fifty wait as much longer to be said committed.
 */
import { statSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { execute, isBusy, type Outcome, openWriter, prepared } from './sqlite-connection.js'

export interface WriterRequest {
  id: number
  sql: string
  parameters: readonly unknown[]
  /** run as a script (BEGIN, COMMIT...): no parameters, no outcome */
  exec: boolean
  /** epoch ms: past it, a locked store fails the statement */
  deadline: number
}

export type WriterReply = { id: number } & (
  | Outcome
  | { ok: true }
  | { error: { message: string; code: string | undefined; busy: boolean } }
)

const { location, lockWaitMs } = workerData as { location: string; lockWaitMs: number }
const port = parentPort!
const db = openWriter(location, lockWaitMs)
const nap = new Int32Array(new SharedArrayBuffer(4))
db.pragma('wal_autocheckpoint = 0')
/** SQLite's own threshold: a checkpoint once the WAL holds a thousand pages. */
const walBytes = 1000 * (db.pragma('page_size', { simple: true }) as number)

function checkpointIfLong(): void {
  try {
    if (statSync(`${location}-wal`).size >= walBytes) db.pragma('wal_checkpoint(PASSIVE)')
  } catch {
    // No WAL file (nothing written yet), or a checkpoint that could not run now: the next one will.
  }
}

function answer(request: WriterRequest): WriterReply {
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    try {
      if (request.exec) {
        db.exec(request.sql)
        return { id: request.id, ok: true }
      }
      return { id: request.id, ...execute(prepared(db, request.sql), request.parameters) }
    } catch (err) {
      const left = request.deadline - Date.now()
      if (isBusy(err) && left > 0) {
        Atomics.wait(nap, 0, 0, Math.min(pause, left))
        continue
      }
      const e = err as { message?: string; code?: string }
      return { id: request.id, error: { message: e.message ?? String(err), code: e.code, busy: isBusy(err) } }
    }
  }
}

port.on('message', (request: WriterRequest | 'close') => {
  if (request === 'close') {
    // The last connection to close checkpoints the WAL into the file.
    db.close()
    port.close()
    return
  }
  port.postMessage(answer(request))
  if (!db.inTransaction) checkpointIfLong()
})
