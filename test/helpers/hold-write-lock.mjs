// Holds a store's write lock from another process, as `plimsoll scan --store` does while it records a big
// run: `node hold-write-lock.mjs <store> <ms>`. It prints `locked <epoch ms>` once it holds the lock, and
// `releasing <epoch ms>` just before it lets go, so that a test can tell what happened while it was held.
import Database from 'better-sqlite3'
import pg from 'pg'

const [, , location, ms] = process.argv
const say = (what) => process.stdout.write(`${what} ${Date.now()}\n`)
const pause = () => new Promise((resolve) => setTimeout(resolve, Number(ms)))

if (/^postgres(ql)?:\/\//.test(location)) {
  const client = new pg.Client({ connectionString: location })
  await client.connect()
  await client.query('BEGIN')
  // EXCLUSIVE: others may still read these tables, not change them (what the API writes).
  await client.query('LOCK TABLE tokens, exceptions IN EXCLUSIVE MODE')
  say('locked')
  await pause()
  say('releasing')
  await client.query('COMMIT')
  await client.end()
} else {
  const db = new Database(location)
  db.pragma('busy_timeout = 5000')
  db.exec('BEGIN IMMEDIATE')
  // A change in the WAL, uncommitted, as a scan being recorded leaves while it works.
  db.exec('UPDATE tokens SET name = name')
  say('locked')
  await pause()
  say('releasing')
  db.exec('COMMIT')
  db.close()
}
