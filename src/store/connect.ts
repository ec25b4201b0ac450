/**
 * Opens the store: an embedded SQLite file (the default, in the user's data directory) or a PostgreSQL
 * server (`postgres://...`). Either way the schema is brought up to date before anything else runs.
 */
import { mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { Kysely, type Dialect as KyselyDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import { migrate, POSTGRES_ID, SQLITE_ID } from './migrations.js'
import type { Database } from './schema.js'
import { splitSqliteDialect } from './sqlite.js'

export { StoreBusyError } from './sqlite.js'

export type Dialect = 'sqlite' | 'postgres'

export interface Store {
  db: Kysely<Database>
  dialect: Dialect
  /** where it is, for messages: the file, or the server without its password */
  location: string
  close(): Promise<void>
}

/** `$XDG_DATA_HOME/plimsoll/plimsoll.db`, or `~/.local/share/plimsoll/plimsoll.db`. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  return join(base, 'plimsoll', 'plimsoll.db')
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location)
}

function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://(unparsable URL)'
  }
}

export interface StoreOptions {
  /**
   * SQLite: how long a statement waits for another process's write lock (a scan being recorded) before
   * it fails with StoreBusyError. It waits on a timer, never blocking the event loop. Default 10 s.
   * PostgreSQL locks rows, not the store, and its waits never block the loop; it ignores this.
   */
  lockWaitMs?: number
  /**
   * SQLite: the write connection in a worker thread of its own, for a process that writes all the
   * time beside other work (the cluster watcher); see sqlite.ts. PostgreSQL ignores it.
   */
  writerThread?: boolean
}

export async function openStore(
  location: string = defaultStorePath(),
  options: StoreOptions = {},
): Promise<Store> {
  if (isPostgresUrl(location)) {
    // int8 (count(*), sums) comes back as text by default; every count here fits a JS number.
    pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v))
    const pool = new pg.Pool({ connectionString: location, max: 10 })
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    try {
      await migrate(db as Kysely<unknown>, POSTGRES_ID)
    } catch (err) {
      await db.destroy()
      throw new Error(`cannot open the store at ${redact(location)}: ${(err as Error).message}`)
    }
    return { db, dialect: 'postgres', location: redact(location), close: () => db.destroy() }
  }
  mkdirSync(dirname(location), { recursive: true })
  let dialect: KyselyDialect
  try {
    dialect = splitSqliteDialect(location, options.lockWaitMs ?? 10_000, {
      writerThread: options.writerThread ?? false,
    })
  } catch (err) {
    throw new Error(`cannot open the store at ${location}: ${(err as Error).message}`)
  }
  const db = new Kysely<Database>({ dialect })
  try {
    await migrate(db as Kysely<unknown>, SQLITE_ID)
  } catch (err) {
    await db.destroy()
    throw new Error(`cannot open the store at ${location}: ${(err as Error).message}`)
  }
  return { db, dialect: 'sqlite', location, close: () => db.destroy() }
}
