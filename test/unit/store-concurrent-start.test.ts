/**
 * Concurrent start (issue 17): several replicas open one store at the same instant and the schema is
 * migrated once. Three `plimsoll serve` processes (the built CLI) on one fresh PostgreSQL database; three
 * openStore() at once in this process on a fresh PostgreSQL database; and three on one new SQLite file.
 * Each time: every opener comes up, kysely_migration lists each migration exactly once, nothing failed.
 */
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../../src/store/connect.js'
import { migrate, SQLITE_ID } from '../../src/store/migrations.js'
import { freshDatabase } from '../helpers/postgres.js'
import { serve, stopped } from '../helpers/serve.js'
import { tempFiles } from '../helpers/temp-files.js'

const { dir } = tempFiles('plimsoll-concurrent-start-')

/** The names of every migration, from a new SQLite store migrated from nothing. */
async function allMigrations(): Promise<string[]> {
  const store = await openStore(join(dir, `all-${Math.random().toString(36).slice(2)}.db`))
  try {
    const rows = await store.db
      .selectFrom('kysely_migration' as never)
      .select('name' as never)
      .execute()
    return (rows as { name: string }[]).map((r) => r.name).sort()
  } finally {
    await store.close()
  }
}

async function appliedOnPostgres(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ name: string }>('select name from kysely_migration order by name')
    return rows.map((r) => r.name)
  } finally {
    await client.end()
  }
}

async function appliedIn(store: Store): Promise<string[]> {
  const rows = await store.db
    .selectFrom('kysely_migration' as never)
    .select('name' as never)
    .orderBy('name' as never)
    .execute()
  return (rows as { name: string }[]).map((r) => r.name)
}

describe('concurrent start', () => {
  const children: Awaited<ReturnType<typeof serve>>['child'][] = []
  afterAll(async () => {
    await Promise.all(children.map((c) => stopped(c)))
  })

  it('three `plimsoll serve` on one empty PostgreSQL database come up, and migrate it once', async () => {
    const expected = await allMigrations()
    expect(expected.length).toBeGreaterThan(5)
    const url = await freshDatabase('concurrent_serve')
    const started = await Promise.allSettled([0, 1, 2].map(() => serve(['--db', url, '--anonymous-read'])))
    for (const s of started) if (s.status === 'fulfilled') children.push(s.value.child)
    const failed = started.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []))
    expect(failed).toEqual([])
    const servers = started.map((s) => (s as PromiseFulfilledResult<Awaited<ReturnType<typeof serve>>>).value)

    for (const { url: base } of servers) {
      const ready = await fetch(`${base}/readyz`)
      expect(ready.status).toBe(200)
      const runs = await fetch(`${base}/api/runs`)
      expect(runs.status).toBe(200)
    }
    expect(await appliedOnPostgres(url)).toEqual(expected)

    const outputs = servers.map((s) => s.out)
    for (const code of await Promise.all(servers.map((s) => stopped(s.child)))) expect(code).toBe(0)
    for (const out of outputs) expect(out).not.toMatch(/migration|cannot open the store|error/i)
  }, 60_000)

  it('three openStore() at once on one empty PostgreSQL database', async () => {
    const expected = await allMigrations()
    const url = await freshDatabase('concurrent_open')
    const opened = await Promise.allSettled([0, 1, 2].map(() => openStore(url)))
    const stores = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
    try {
      expect(opened.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []))).toEqual([])
      for (const store of stores) expect(await appliedIn(store)).toEqual(expected)
    } finally {
      await Promise.all(stores.map((s) => s.close()))
    }
  }, 60_000)

  it('three openStore() at once on one new SQLite file', async () => {
    const expected = await allMigrations()
    const file = join(dir, 'concurrent.db')
    const opened = await Promise.allSettled([0, 1, 2].map(() => openStore(file)))
    const stores = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
    try {
      expect(opened.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []))).toEqual([])
      for (const store of stores) expect(await appliedIn(store)).toEqual(expected)
      // and once more, as a replica restarting beside the others: nothing left to do
      expect(await migrate(stores[0]!.db as never, SQLITE_ID)).toEqual([])
    } finally {
      await Promise.all(stores.map((s) => s.close()))
    }
  }, 60_000)
})
