/**
 * The PostgreSQL server of the test run (started by test/setup/postgres.ts, vitest's globalSetup).
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'

/** The URL of the run's shared database `plimsoll_test`, as a superuser. */
export function postgresUrl(): string {
  const url = inject('postgresUrl')
  if (!url)
    throw new Error(
      'No test PostgreSQL server: vitest.config.ts must list test/setup/postgres.ts in globalSetup',
    )
  return url
}

/**
 * Creates a new, empty database named `<prefix>_<random>` on the run's server and returns its URL (same
 * superuser). Nothing drops it: the whole server is thrown away after the run.
 */
export async function freshDatabase(prefix = 'test'): Promise<string> {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 40) || 'test'
  const name = `${clean}_${randomBytes(6).toString('hex')}`
  const url = new URL(postgresUrl())
  const client = new pg.Client({ connectionString: url.href })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`)
  } finally {
    await client.end()
  }
  url.pathname = `/${name}`
  return url.href
}
