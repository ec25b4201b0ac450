import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { freshDatabase, postgresUrl } from '../helpers/postgres.js'

const open: pg.Client[] = []

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url })
  open.push(client)
  await client.connect()
  return client
}

async function one<T>(client: pg.Client, sql: string): Promise<T> {
  const { rows } = await client.query(sql)
  return Object.values(rows[0] as Record<string, unknown>)[0] as T
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => undefined)))
})

describe('the test PostgreSQL server (test/setup/postgres.ts)', () => {
  it('is a PostgreSQL server, reached at the provided URL as a superuser of plimsoll_test', async () => {
    const url = new URL(postgresUrl())
    expect(url.protocol).toBe('postgres:')
    expect(url.hostname).toBe('127.0.0.1')
    expect(url.username).toBe('plimsoll')
    expect(url.pathname).toBe('/plimsoll_test')
    const client = await connect(url.href)
    expect(await one<string>(client, 'select version()')).toMatch(/^PostgreSQL \d+/)
    expect(await one<string>(client, 'select current_database()')).toBe('plimsoll_test')
    expect(await one<string>(client, 'select current_user')).toBe('plimsoll')
    expect(await one<boolean>(client, 'select rolsuper from pg_roles where rolname = current_user')).toBe(
      true,
    )
    expect(await one<string>(client, 'show server_encoding')).toBe('UTF8')
  })

  it('is handed to child processes in PLIMSOLL_TEST_POSTGRES_URL', () => {
    expect(process.env.PLIMSOLL_TEST_POSTGRES_URL).toBe(postgresUrl())
  })

  it('listens on 127.0.0.1 only', async () => {
    const client = await connect(postgresUrl())
    expect(await one<string>(client, 'show listen_addresses')).toBe('127.0.0.1')
    expect(await one<string>(client, 'select host(inet_server_addr())')).toBe('127.0.0.1')
    expect(await one<string>(client, 'show unix_socket_directories')).not.toContain('/var/run/postgresql')
  })

  it('requires the password', async () => {
    const url = new URL(postgresUrl())
    url.password = 'not-the-password'
    const client = new pg.Client({ connectionString: url.href })
    const error = await client.connect().then(
      () => undefined,
      (err: unknown) => err,
    )
    await client.end().catch(() => undefined)
    expect(error).toMatchObject({ code: '28P01' }) // invalid_password
    expect(String(error)).toMatch(/password authentication failed/)
  })

  it('gives each freshDatabase its own empty database', async () => {
    const [a, b] = await Promise.all([freshDatabase('Service Test!'), freshDatabase('service-test')])
    expect(a).not.toBe(b)
    expect(new URL(a).pathname).toMatch(/^\/service_test_[0-9a-f]{12}$/)
    expect(new URL(b).pathname).toMatch(/^\/service_test_[0-9a-f]{12}$/)

    const ca = await connect(a)
    const cb = await connect(b)
    expect(await one<string>(ca, 'select current_database()')).toBe(new URL(a).pathname.slice(1))
    await ca.query('create table policies (name text primary key)')
    await ca.query(`insert into policies values ('only-in-a')`)
    expect(await one<number>(ca, 'select count(*)::int from policies')).toBe(1)
    expect(await one<string | null>(cb, `select to_regclass('public.policies')::text`)).toBeNull()
    const shared = await connect(postgresUrl())
    expect(await one<string | null>(shared, `select to_regclass('public.policies')::text`)).toBeNull()
  })
})
