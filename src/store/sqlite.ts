/**
 * The embedded store's Kysely driver: two connections to one SQLite file, and no statement that waits
 * inside SQLite.
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
 * A worker thread owning the write connection would free the loop too, but every row of every write
 * would cross threads (a scan records tens of thousands of findings in one transaction) and
 * transactions would need a protocol of their own; a retry costs nothing until the store is locked.
 *
 * Transactions begin IMMEDIATE, taking the write lock up front: the only statement that can then find
 * the store locked is the BEGIN, which is safe to try again (a deferred transaction that read first
 * could only be rolled back). A transaction set `read only` runs on the read connection instead.
 */
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

type Sqlite = SqliteDatabase.Database

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

function isBusy(err: unknown): boolean {
  return err instanceof SqliteDatabase.SqliteError && err.code.startsWith('SQLITE_BUSY')
}

interface Pair {
  reader: Sqlite
  writer: Sqlite
  readTurns: Turns
  writeTurns: Turns
  lockWaitMs: number
}

/** `attempt`, tried again while the store is locked, until `deadline` (epoch ms). */
async function patiently<T>(pair: Pair, deadline: number, attempt: () => T): Promise<T> {
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    try {
      return attempt()
    } catch (err) {
      if (!isBusy(err)) throw err
      const left = deadline - Date.now()
      if (left <= 0) throw new StoreBusyError(pair.lockWaitMs)
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)))
    }
  }
}

const statements = new WeakMap<Sqlite, Map<string, SqliteDatabase.Statement>>()

/**
 * A connection's statement for this SQL, prepared once: the API asks the same few queries again and
 * again, and preparing was a tenth of a page's time. Bounded: a connection's cache starts afresh past
 * 500 statements. (SQLite prepares a statement anew by itself when the schema changes under it.)
 */
function prepared(db: Sqlite, sql: string): SqliteDatabase.Statement {
  let cache = statements.get(db)
  if (!cache) {
    cache = new Map()
    statements.set(db, cache)
  }
  let stmt = cache.get(sql)
  if (!stmt) {
    if (cache.size >= 500) cache.clear()
    stmt = db.prepare(sql)
    cache.set(sql, stmt)
  }
  return stmt
}

function results<R>(stmt: SqliteDatabase.Statement, parameters: readonly unknown[]): QueryResult<R> {
  if (stmt.reader) return { rows: stmt.all(parameters) as R[] }
  const { changes, lastInsertRowid } = stmt.run(parameters)
  return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) }
}

class SplitConnection implements DatabaseConnection {
  /** the connection this one's transaction runs on, and the end of its turn there */
  #tx: { db: Sqlite; end: () => void } | undefined

  constructor(private readonly pair: Pair) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const { pair } = this
    const deadline = Date.now() + pair.lockWaitMs
    const tx = this.#tx
    if (tx) return patiently(pair, deadline, () => results<R>(prepared(tx.db, query.sql), query.parameters))
    // Prepared on the read connection first, to learn whether it writes (a write prepares there, too:
    // the read connection is query_only, so a misrouted write fails instead of taking the lock there).
    const endRead = await pair.readTurns.take()
    try {
      const stmt = await patiently(pair, deadline, () => prepared(pair.reader, query.sql))
      if (stmt.readonly) return await patiently(pair, deadline, () => results<R>(stmt, query.parameters))
    } finally {
      endRead()
    }
    const endWrite = await pair.writeTurns.take()
    try {
      return await patiently(pair, deadline, () =>
        results<R>(prepared(pair.writer, query.sql), query.parameters),
      )
    } finally {
      endWrite()
    }
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('only a select can be streamed from SQLite')
    // The open statement keeps its snapshot: other reads wait, lest they read from it.
    const end = this.#tx ? undefined : await this.pair.readTurns.take()
    try {
      const db = this.#tx?.db ?? this.pair.reader
      for (const row of db.prepare(query.sql).iterate(query.parameters)) yield { rows: [row as R] }
    } finally {
      end?.()
    }
  }

  async begin(readOnly: boolean): Promise<void> {
    const { pair } = this
    const deadline = Date.now() + pair.lockWaitMs
    const db = readOnly ? pair.reader : pair.writer
    const end = await (readOnly ? pair.readTurns : pair.writeTurns).take()
    try {
      await patiently(pair, deadline, () => db.exec(readOnly ? 'BEGIN' : 'BEGIN IMMEDIATE'))
    } catch (err) {
      end()
      throw err
    }
    this.#tx = { db, end }
  }

  /** A failed COMMIT keeps the turn: Kysely rolls back next, and that always ends it. */
  async finish(how: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const tx = this.#tx
    if (!tx) throw new Error(`${how} without a transaction`)
    const deadline = Date.now() + this.pair.lockWaitMs
    let done = false
    try {
      await patiently(this.pair, deadline, () => tx.db.exec(how))
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
    this.pair.writer.close()
  }
}

/**
 * The store at `location`, opened twice; throws if it cannot be opened. The connections wait up to
 * `lockWaitMs` while opening (as a command starting up may), never afterwards.
 */
export function splitSqliteDialect(location: string, lockWaitMs: number): Dialect {
  const writer = new SqliteDatabase(location, { timeout: lockWaitMs })
  let reader: Sqlite
  try {
    writer.pragma('journal_mode = WAL')
    writer.pragma('synchronous = NORMAL')
    writer.pragma('foreign_keys = ON')
    reader = new SqliteDatabase(location, { timeout: lockWaitMs })
    reader.pragma('query_only = ON')
  } catch (err) {
    writer.close()
    throw err
  }
  writer.pragma('busy_timeout = 0')
  reader.pragma('busy_timeout = 0')
  const pair: Pair = { reader, writer, readTurns: new Turns(), writeTurns: new Turns(), lockWaitMs }
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new SplitDriver(pair),
    createIntrospector: (db: Kysely<unknown>): DatabaseIntrospector => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  }
}
