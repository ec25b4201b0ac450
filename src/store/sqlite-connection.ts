/**
 * What the store's SQLite connections share, on the main thread and in the writer's thread
 * (sqlite-writer.ts): how the write connection is opened, statements prepared once per connection, and
 * how a statement's outcome is told. Nothing here imports Kysely, so the writer's thread starts light.
 */
import SqliteDatabase from 'better-sqlite3'

export type Sqlite = SqliteDatabase.Database

export function isBusy(err: unknown): boolean {
  return err instanceof SqliteDatabase.SqliteError && err.code.startsWith('SQLITE_BUSY')
}

/** The write connection, in WAL mode; waits up to `lockWaitMs` while opening, never afterwards. */
export function openWriter(location: string, lockWaitMs: number): Sqlite {
  const writer = new SqliteDatabase(location, { timeout: lockWaitMs })
  try {
    writer.pragma('journal_mode = WAL')
    writer.pragma('synchronous = NORMAL')
    writer.pragma('foreign_keys = ON')
  } catch (err) {
    writer.close()
    throw err
  }
  writer.pragma('busy_timeout = 0')
  // 4 MB of pages where the build's default is 16: writing 100,000 findings took no longer with it, and
  // the watcher's process 12-15 MB less (reads have their own connection, and keep the default).
  writer.pragma('cache_size = -4096')
  return writer
}

/** A connection's prepared statements, least recently used first, and the length of their SQL. */
interface Statements {
  bySql: Map<string, SqliteDatabase.Statement>
  sqlLength: number
}

const statements = new WeakMap<Sqlite, Statements>()

/**
 * SQL kept prepared per connection, in characters. Bounded by size, not by count: a statement's memory
 * grows with its SQL (an INSERT of 250 rows of VALUES took 570 KB), and a writer that was handed
 * IN-lists and VALUES lists of every length kept hundreds of them. The API's queries, a few KB each,
 * stay.
 */
const CACHED_SQL = 256 * 1024

/**
 * A connection's statement for this SQL, prepared once: the API asks the same few queries again and
 * again, and preparing was a tenth of a page's time. (SQLite prepares a statement anew by itself when
 * the schema changes under it.)
 */
export function prepared(db: Sqlite, sql: string): SqliteDatabase.Statement {
  let cache = statements.get(db)
  if (!cache) {
    cache = { bySql: new Map(), sqlLength: 0 }
    statements.set(db, cache)
  }
  let stmt = cache.bySql.get(sql)
  if (stmt) cache.bySql.delete(sql)
  else {
    stmt = db.prepare(sql)
    cache.sqlLength += sql.length
    for (const [old] of cache.bySql) {
      if (cache.sqlLength <= CACHED_SQL) break
      cache.bySql.delete(old)
      cache.sqlLength -= old.length
    }
  }
  cache.bySql.set(sql, stmt)
  return stmt
}

/** A statement's outcome as plain data (it may cross threads): its rows, or what it changed. */
export type Outcome = { rows: unknown[] } | { changes: number; lastInsertRowid: number | bigint }

/**
 * Parameters as better-sqlite3 binds them. SQLite has no arrays: an array is bound as its JSON text
 * (upserts read their rows so: record-run.ts), made here, in the writer's thread when the store has
 * one, rather than by the caller, whose heap a string of a megabyte for every thousand rows filled.
 * A Buffer that crossed threads came as a Uint8Array, which better-sqlite3 does not bind as a blob.
 */
function bindable(parameters: readonly unknown[]): unknown[] {
  return parameters.map((p) =>
    Array.isArray(p)
      ? JSON.stringify(p)
      : p instanceof Uint8Array && !Buffer.isBuffer(p)
        ? Buffer.from(p.buffer, p.byteOffset, p.byteLength)
        : p,
  )
}

export function execute(stmt: SqliteDatabase.Statement, parameters: readonly unknown[]): Outcome {
  const values = bindable(parameters)
  if (stmt.reader) return { rows: stmt.all(values) }
  const { changes, lastInsertRowid } = stmt.run(values)
  return { changes, lastInsertRowid }
}
