/**
 * The embedded store's Kysely driver: two connections to one SQLite file, and no statement that waits
 * inside SQLite on the event loop.
 *
 * `plimsoll serve` must answer health checks and reads while another process (`plimsoll scan --store`)
 * holds the store's write lock, for seconds at a time. WAL lets one connection read while another
 * writes, but better-sqlite3 is synchronous: a connection that waits for a lock (busy_timeout) waits on
 * the event loop, and every request waits with it, health included. So:
 * - a read outside a transaction goes to a connection of its own, which no write ever holds;
 * - writes and transactions take turns on the other connection (they share it, so one at a time);
 * - neither waits inside SQLite (busy_timeout 0): a statement that finds the store locked is tried again
 *   from a timer, backing off to 50 ms between tries, until `lockWaitMs` has passed since it was asked
 *   for, then fails with StoreBusyError (the API answers 503). The event loop is free all the while.
 *
 * The write connection lives on the main thread by default: every statement of a write then crosses no
 * thread, and a command that records a scan and exits starts none. A process that writes all the time
 * while it has other work (the cluster watcher: SQLite took as long as evaluating the cluster, both on
 * one thread) opens the store with `writerThread`: the write connection then lives in a worker thread
 * (sqlite-writer.ts), each statement goes there and its outcome comes back, and SQLite's work runs on
 * another core while the event loop goes on. Reads stay on the main thread, as before.
 *
 * Transactions begin IMMEDIATE, taking the write lock up front: the only statement that can then find
 * the store locked is the BEGIN, which is safe to try again (a deferred transaction that read first
 * could only be rolled back). A transaction set `read only` runs on the read connection instead.
 */
import { Worker } from 'node:worker_threads'
import SqliteDatabase from 'better-sqlite3'
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type TransactionSettings,
} from 'kysely'
import { execute, isBusy, type Outcome, openWriter, prepared, type Sqlite } from './sqlite-connection.js'
import type { WriterReply, WriterRequest } from './sqlite-writer.js'

/** The store stayed locked by another process for longer than a statement may wait for it. */
export class StoreBusyError extends Error {
  readonly code = 'STORE_BUSY'
  constructor(readonly waitedMs: number) {
    super(`the store is busy: another process has held its write lock for over ${waitedMs / 1000} s`)
  }
}

/** First come, first served: one holder at a time. */
class Turns {
  #last: Promise<void> = Promise.resolve()
  /** Resolves, once every earlier turn has ended, with the function that ends this one. */
  take(): Promise<() => void> {
    let end!: () => void
    const mine = new Promise<void>((resolve) => {
      end = resolve
    })
    const before = this.#last
    this.#last = before.then(() => mine)
    return before.then(() => end)
  }
}

/** The write connection: statements and scripts, each failing with StoreBusyError past its deadline. */
interface Writer {
  query<R>(sql: string, parameters: readonly unknown[], deadline: number): Promise<QueryResult<R>>
  exec(sql: string, deadline: number): Promise<void>
  close(): Promise<void>
}

interface Pair {
  reader: Sqlite
  writer: Writer
  readTurns: Turns
  writeTurns: Turns
  lockWaitMs: number
}

/** `attempt`, tried again while the store is locked, until `deadline` (epoch ms). */
async function patiently<T>(lockWaitMs: number, deadline: number, attempt: () => T): Promise<T> {
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    try {
      return attempt()
    } catch (err) {
      if (!isBusy(err)) throw err
      const left = deadline - Date.now()
      if (left <= 0) throw new StoreBusyError(lockWaitMs)
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)))
    }
  }
}

function results<R>(outcome: Outcome): QueryResult<R> {
  if ('rows' in outcome) return { rows: outcome.rows as R[] }
  return {
    rows: [],
    numAffectedRows: BigInt(outcome.changes),
    insertId: BigInt(outcome.lastInsertRowid),
  }
}

/** The write connection on this thread. */
class LocalWriter implements Writer {
  constructor(
    private readonly db: Sqlite,
    private readonly lockWaitMs: number,
  ) {}

  query<R>(sql: string, parameters: readonly unknown[], deadline: number): Promise<QueryResult<R>> {
    return patiently(this.lockWaitMs, deadline, () => results<R>(execute(prepared(this.db, sql), parameters)))
  }

  async exec(sql: string, deadline: number): Promise<void> {
    await patiently(this.lockWaitMs, deadline, () => this.db.exec(sql))
  }

  async close(): Promise<void> {
    this.db.close()
  }
}

/** The write connection in a worker thread of its own (sqlite-writer.ts). */
class ThreadWriter implements Writer {
  readonly #worker: Worker
  readonly #waiting = new Map<
    number,
    { resolve: (reply: WriterReply) => void; reject: (err: Error) => void }
  >()
  #next = 0
  #failed: Error | undefined
  readonly #exited: Promise<void>

  constructor(
    location: string,
    private readonly lockWaitMs: number,
  ) {
    // Its heap holds one statement's parameters at a time.
    this.#worker = new Worker(new URL('./sqlite-writer.js', import.meta.url), {
      workerData: { location, lockWaitMs },
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    })
    // Idle, it keeps no process alive; a statement on its way does (see #ask).
    this.#worker.unref()
    this.#worker.on('message', (reply: WriterReply) => {
      const waiting = this.#waiting.get(reply.id)
      this.#waiting.delete(reply.id)
      if (this.#waiting.size === 0) this.#worker.unref()
      if ('error' in reply) waiting?.reject(this.#error(reply.error))
      else waiting?.resolve(reply)
    })
    const fail = (err: Error) => {
      this.#failed ??= err
      for (const { reject } of this.#waiting.values()) reject(this.#failed)
      this.#waiting.clear()
    }
    this.#worker.on('error', fail)
    this.#exited = new Promise((resolve) =>
      this.#worker.once('exit', (code) => {
        fail(new Error(`the store's writer thread has ended (exit code ${code})`))
        resolve()
      }),
    )
  }

  #error(e: { message: string; code: string | undefined; busy: boolean }): Error {
    if (e.busy) return new StoreBusyError(this.lockWaitMs)
    return e.code ? new SqliteDatabase.SqliteError(e.message, e.code) : new Error(e.message)
  }

  #ask(request: Omit<WriterRequest, 'id'>): Promise<WriterReply> {
    if (this.#failed) return Promise.reject(this.#failed)
    const id = this.#next++
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject })
      this.#worker.ref()
      this.#worker.postMessage({ id, ...request })
    })
  }

  async query<R>(sql: string, parameters: readonly unknown[], deadline: number): Promise<QueryResult<R>> {
    return results<R>((await this.#ask({ sql, parameters, exec: false, deadline })) as Outcome)
  }

  async exec(sql: string, deadline: number): Promise<void> {
    await this.#ask({ sql, parameters: [], exec: true, deadline })
  }

  async close(): Promise<void> {
    if (this.#failed) return
    this.#worker.ref()
    this.#worker.postMessage('close')
    await this.#exited
  }
}

class SplitConnection implements DatabaseConnection {
  /** this connection's transaction: on which connection, and the end of its turn there */
  #tx: { readOnly: boolean; end: () => void } | undefined

  constructor(private readonly pair: Pair) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const { pair } = this
    const deadline = Date.now() + pair.lockWaitMs
    const tx = this.#tx
    if (tx?.readOnly)
      return patiently(pair.lockWaitMs, deadline, () =>
        results<R>(execute(prepared(pair.reader, query.sql), query.parameters)),
      )
    if (tx) return pair.writer.query<R>(query.sql, query.parameters, deadline)
    // Prepared on the read connection first, to learn whether it writes (a write prepares there, too:
    // the read connection is query_only, so a misrouted write fails instead of taking the lock there).
    const endRead = await pair.readTurns.take()
    try {
      const stmt = await patiently(pair.lockWaitMs, deadline, () => prepared(pair.reader, query.sql))
      if (stmt.readonly)
        return await patiently(pair.lockWaitMs, deadline, () => results<R>(execute(stmt, query.parameters)))
    } finally {
      endRead()
    }
    const endWrite = await pair.writeTurns.take()
    try {
      return await pair.writer.query<R>(query.sql, query.parameters, deadline)
    } finally {
      endWrite()
    }
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('only a select can be streamed from SQLite')
    if (this.#tx && !this.#tx.readOnly) {
      // The write connection may be in another thread: the rows come at once.
      for (const row of (await this.executeQuery<R>(query)).rows) yield { rows: [row] }
      return
    }
    // The open statement keeps its snapshot: other reads wait, lest they read from it.
    const end = this.#tx ? undefined : await this.pair.readTurns.take()
    try {
      for (const row of this.pair.reader.prepare(query.sql).iterate(query.parameters))
        yield { rows: [row as R] }
    } finally {
      end?.()
    }
  }

  async begin(readOnly: boolean): Promise<void> {
    const { pair } = this
    const deadline = Date.now() + pair.lockWaitMs
    const end = await (readOnly ? pair.readTurns : pair.writeTurns).take()
    try {
      if (readOnly) await patiently(pair.lockWaitMs, deadline, () => pair.reader.exec('BEGIN'))
      else await pair.writer.exec('BEGIN IMMEDIATE', deadline)
    } catch (err) {
      end()
      throw err
    }
    this.#tx = { readOnly, end }
  }

  /** A failed COMMIT keeps the turn: Kysely rolls back next, and that always ends it. */
  async finish(how: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const tx = this.#tx
    if (!tx) throw new Error(`${how} without a transaction`)
    const { pair } = this
    const deadline = Date.now() + pair.lockWaitMs
    let done = false
    try {
      if (tx.readOnly) await patiently(pair.lockWaitMs, deadline, () => pair.reader.exec(how))
      else await pair.writer.exec(how, deadline)
      done = true
    } finally {
      if (done || how === 'ROLLBACK') {
        this.#tx = undefined
        tx.end()
      }
    }
  }
}

class SplitDriver implements Driver {
  constructor(private readonly pair: Pair) {}
  async init(): Promise<void> {}
  // No turn here: a connection takes one per statement, or for its transaction.
  async acquireConnection(): Promise<DatabaseConnection> {
    return new SplitConnection(this.pair)
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await (connection as SplitConnection).begin(settings.accessMode === 'read only')
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as SplitConnection).finish('COMMIT')
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as SplitConnection).finish('ROLLBACK')
  }
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {
    // The writer last: the last connection to close checkpoints the WAL into the file.
    this.pair.reader.close()
    await this.pair.writer.close()
  }
}

/**
 * SQLite as Kysely knows it, but with DDL in transactions, which SQLite has. Kysely's Migrator reads it:
 * with it, the migrations run in one transaction, and ours begin IMMEDIATE, so another process (or
 * another openStore in this one) migrating the same file at the same time waits for the write lock and
 * then finds them applied. Without it Kysely takes no lock at all on SQLite: two stores opened at once on
 * a new file both ran 0001-initial, and one failed with `table "runs" already exists`.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true
  }
}

/**
 * The store at `location`, opened twice; throws if it cannot be opened. The connections wait up to
 * `lockWaitMs` while opening (as a command starting up may), never afterwards. `writerThread`: the
 * write connection in a worker thread of its own (see above).
 */
export function splitSqliteDialect(
  location: string,
  lockWaitMs: number,
  options: { writerThread?: boolean } = {},
): Dialect {
  // Opened here even for a writer thread: the file is created, in WAL mode, before the reader opens it,
  // and a store that cannot be opened says so now.
  const local = openWriter(location, lockWaitMs)
  let reader: Sqlite
  try {
    reader = new SqliteDatabase(location, { timeout: lockWaitMs })
    reader.pragma('query_only = ON')
  } catch (err) {
    local.close()
    throw err
  }
  reader.pragma('busy_timeout = 0')
  let writer: Writer = new LocalWriter(local, lockWaitMs)
  if (options.writerThread) {
    local.close()
    writer = new ThreadWriter(location, lockWaitMs)
  }
  const pair: Pair = { reader, writer, readTurns: new Turns(), writeTurns: new Turns(), lockWaitMs }
  return {
    createAdapter: () => new TransactionalDdlSqliteAdapter(),
    createDriver: () => new SplitDriver(pair),
    createIntrospector: (db: Kysely<unknown>): DatabaseIntrospector => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  }
}
