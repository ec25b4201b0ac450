// A fresh database for a bench's PostgreSQL figures, on the server PLIMSOLL_BENCH_PG names; or a line
// saying why there are none.

/** The URL of a new database `<prefix>_<now>` on PLIMSOLL_BENCH_PG's server, or undefined (said why). */
export async function benchDatabase(prefix) {
  const base = process.env.PLIMSOLL_BENCH_PG
  if (!base) {
    console.log(
      '  PostgreSQL: not measured (set PLIMSOLL_BENCH_PG to a postgres:// URL of a server to create a database on)',
    )
    return undefined
  }
  const name = `${prefix}_${Date.now()}`
  const { default: pg } = await import('pg')
  const admin = new pg.Client({ connectionString: base })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(base)
  url.pathname = `/${name}`
  return url.toString()
}
