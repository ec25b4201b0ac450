/**
 * Versioned migrations, run on every open; each runs once, in order, in a transaction, and the applied
 * ones are recorded by Kysely in `kysely_migration`. They live in code (not files) so that the built
 * package carries them. Never edit a released migration: add the next one.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely'

/** `integer primary key` that counts up, in the dialect's own words. */
type IdColumn = (db: Kysely<unknown>) => ReturnType<typeof sql.raw>

const migrations = (serial: IdColumn): Record<string, Migration> => ({
  '0001-initial': {
    async up(db) {
      await db.schema
        .createTable('runs')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text', (c) => c.notNull())
        .addColumn('plimsoll_version', 'text', (c) => c.notNull())
        .addColumn('policy_version', 'text', (c) => c.notNull())
        .addColumn('complete', 'integer', (c) => c.notNull())
        .addColumn('files', 'integer', (c) => c.notNull())
        .addColumn('resources', 'integer', (c) => c.notNull())
        .addColumn('checks', 'integer', (c) => c.notNull())
        .addColumn('findings', 'integer', (c) => c.notNull())
        .addColumn('critical', 'integer', (c) => c.notNull())
        .addColumn('high', 'integer', (c) => c.notNull())
        .addColumn('medium', 'integer', (c) => c.notNull())
        .addColumn('low', 'integer', (c) => c.notNull())
        .addColumn('info', 'integer', (c) => c.notNull())
        .addColumn('excepted', 'integer', (c) => c.notNull())
        .addColumn('errors', 'integer', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('runs_target_started')
        .on('runs')
        .columns(['target', 'started_at'])
        .execute()

      await db.schema
        .createTable('resources')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('api_group', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addUniqueConstraint('resources_identity', ['target', 'api_group', 'kind', 'namespace', 'name'])
        .execute()

      await db.schema
        .createTable('findings')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('check_id', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'integer', (c) => c.notNull().references('resources.id'))
        .addColumn('container', 'text')
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('line', 'integer', (c) => c.notNull())
        .addColumn('column', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('exception', 'text')
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addColumn('resolved_at', 'text')
        .addColumn('first_run_id', 'integer', (c) => c.notNull().references('runs.id'))
        .addColumn('last_run_id', 'integer', (c) => c.notNull().references('runs.id'))
        .addColumn('reopened', 'integer', (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint('findings_identity', ['target', 'fingerprint'])
        .execute()
      await db.schema.createIndex('findings_state').on('findings').columns(['state', 'severity']).execute()
      await db.schema.createIndex('findings_check').on('findings').columns(['check_id']).execute()
      await db.schema.createIndex('findings_resource').on('findings').columns(['resource_id']).execute()

      await db.schema
        .createTable('exceptions')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('checks', 'text', (c) => c.notNull())
        .addColumn('kinds', 'text', (c) => c.notNull())
        .addColumn('namespaces', 'text', (c) => c.notNull())
        .addColumn('names', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('expires', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
    },
  },
})

class InCodeMigrations implements MigrationProvider {
  constructor(private readonly serial: IdColumn) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.serial)
  }
}

export const SQLITE_ID: IdColumn = () => sql.raw('integer')
// serial, not bigserial: node-postgres returns int8 as a string, and two billion rows is plenty here.
export const POSTGRES_ID: IdColumn = () => sql.raw('serial')

/** Brings the schema up to date; throws, naming the migration, when one fails. */
export async function migrate(db: Kysely<unknown>, serial: IdColumn): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new InCodeMigrations(serial) })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error || failed) {
    const cause = error instanceof Error ? error.message : String(error ?? 'unknown error')
    throw new Error(`store migration ${failed?.migrationName ?? ''} failed: ${cause}`)
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
