/**
 * Versioned migrations, run on every open; each runs once, in order, in a transaction, and the applied
 * ones are recorded by Kysely in `kysely_migration`. They live in code (not files) so that the built
 * package carries them. Never edit a released migration: add the next one.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, SqliteAdapter, sql } from 'kysely'

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
  '0002-posture-and-tokens': {
    async up(db) {
      // Per run: evaluations by check and by namespace, from which posture scores are computed.
      await db.schema
        .alterTable('runs')
        .addColumn('passed', 'integer', (c) => c.notNull().defaultTo(0))
        .execute()
      await db.schema
        .createTable('run_checks')
        .addColumn('run_id', 'integer', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('check_id', 'text', (c) => c.notNull())
        .addColumn('applied', 'integer', (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_checks_pk', ['run_id', 'check_id'])
        .execute()
      await db.schema
        .createTable('run_namespaces')
        .addColumn('run_id', 'integer', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('applied', 'integer', (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_namespaces_pk', ['run_id', 'namespace'])
        .execute()
      // The findings list filters and sorts on these without joining resources or computing per row:
      // the resource's identity (it never changes for a resource row), a severity rank (0 = critical),
      // and the lower-cased text that search looks in.
      for (const [column, type] of [
        ['api_group', 'text'],
        ['kind', 'text'],
        ['namespace', 'text'],
        ['resource_name', 'text'],
        ['severity_rank', 'integer'],
        ['search_text', 'text'],
      ] as const)
        await db.schema
          .alterTable('findings')
          .addColumn(column, type, (c) => c.notNull().defaultTo(type === 'text' ? '' : 0))
          .execute()
      const of = (column: string) =>
        sql.raw(`(select ${column} from resources r where r.id = findings.resource_id)`)
      await sql`update findings set
        api_group = ${of('api_group')}, kind = ${of('kind')}, namespace = ${of('namespace')},
        resource_name = ${of('name')},
        severity_rank = case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 when 'low' then 3 else 4 end`.execute(
        db,
      )
      await sql`update findings set search_text = lower(message || ' ' || check_id || ' ' || kind || '/' || namespace || '/' || resource_name || ' ' || path)`.execute(
        db,
      )
      await db.schema.dropIndex('findings_state').execute()
      await db.schema
        .createIndex('findings_worst_first')
        .on('findings')
        .columns(['state', 'severity_rank', 'id'])
        .execute()
      await db.schema
        .createIndex('findings_by_namespace')
        .on('findings')
        .columns(['namespace', 'state', 'severity_rank'])
        .execute()
      await db.schema
        .createIndex('findings_by_last_seen')
        .on('findings')
        .columns(['state', 'last_seen'])
        .execute()
      await db.schema.dropIndex('findings_check').execute()
      await db.schema
        .createIndex('findings_by_check')
        .on('findings')
        .columns(['check_id', 'state', 'last_seen'])
        .execute()
      // API tokens: only a hash of each is kept; the token itself is shown once, when it is created.
      await db.schema
        .createTable('tokens')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute()
    },
  },
  '0003-manifests': {
    async up(db) {
      // The resource's YAML document as last scanned (never for Secrets or anything holding a credential).
      await db.schema.alterTable('resources').addColumn('manifest', 'text').execute()
      await db.schema.alterTable('resources').addColumn('manifest_line', 'integer').execute()
    },
  },
  '0004-list-indexes-and-search': {
    async up(db) {
      // One index per sort of the findings list, within a state and with ties by id, so that a page (by
      // cursor) is the next entries of an index walk instead of a sort of every matching row. PostgreSQL
      // needs the id spelled out; SQLite has it in every index anyway (the rowid).
      for (const [name, columns] of [
        ['findings_by_state_check', ['state', 'check_id', 'id']],
        ['findings_by_state_resource', ['state', 'namespace', 'resource_name', 'id']],
        ['findings_by_state_first_seen', ['state', 'first_seen', 'id']],
        ['findings_by_state_last_seen', ['state', 'last_seen', 'id']],
      ] as const)
        await db.schema
          .createIndex(name)
          .on('findings')
          .columns([...columns])
          .execute()
      await db.schema.dropIndex('findings_by_last_seen').execute()
      await db.schema
        .createIndex('exceptions_by_expiry')
        .on('exceptions')
        .columns(['expires', 'id'])
        .execute()
      if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return
      // Search looks for substrings. In SQLite a trigram index finds those of three characters or more
      // without reading every row; the triggers keep it in step with the findings (it reads their text
      // from the findings table rather than keeping a copy). PostgreSQL reads the rows instead.
      await sql`create virtual table findings_search using fts5(
        search_text, content='findings', content_rowid='id', tokenize='trigram')`.execute(db)
      await sql`create trigger findings_search_insert after insert on findings begin
        insert into findings_search(rowid, search_text) values (new.id, new.search_text);
      end`.execute(db)
      await sql`create trigger findings_search_delete after delete on findings begin
        insert into findings_search(findings_search, rowid, search_text) values ('delete', old.id, old.search_text);
      end`.execute(db)
      // Recording a run sets every finding's text again; only a changed one is indexed again.
      await sql`create trigger findings_search_update after update of search_text on findings
        when old.search_text <> new.search_text begin
        insert into findings_search(findings_search, rowid, search_text) values ('delete', old.id, old.search_text);
        insert into findings_search(rowid, search_text) values (new.id, new.search_text);
      end`.execute(db)
      await sql`insert into findings_search(findings_search) values ('rebuild')`.execute(db)
    },
  },
  '0005-agents': {
    async up(db) {
      // An agent token writes one cluster's findings and nothing else.
      await db.schema.alterTable('tokens').addColumn('cluster', 'text').execute()
      await db.schema
        .createTable('agent_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('cluster', 'text', (c) => c.notNull())
        .addColumn('token_id', 'integer', (c) => c.notNull())
        .addColumn('run_id', 'integer', (c) => c.notNull().references('runs.id'))
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('last_seq', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('last_push_at', 'text', (c) => c.notNull())
        .addColumn('agent_version', 'text', (c) => c.notNull())
        .addUniqueConstraint('agent_sessions_generation', ['cluster', 'generation'])
        .execute()
    },
  },
  '0006-admissions': {
    async up(db) {
      // The admission webhook's decisions: who asked for what, and what each failing check did to it.
      await db.schema
        .createTable('admissions')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('cluster', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('api_group', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('checks', 'text', (c) => c.notNull())
        .addColumn('weight', 'integer', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('admissions_cluster_at')
        .on('admissions')
        .columns(['cluster', 'at'])
        .execute()
      await db.schema
        .createIndex('admissions_outcome_at')
        .on('admissions')
        .columns(['outcome', 'at'])
        .execute()
    },
  },
  '0007-audit-queue': {
    async up(db) {
      // The API server's audit events as received (webhook batches, log files), each its JSON text, until
      // a consumer has processed them; processed ones are deleted after a retention (audit-queue.ts).
      await db.schema
        .createTable('audit_events')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('audit_id', 'text')
        .addColumn('stage', 'text')
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('processed', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('processed_at', 'text')
        .execute()
      await db.schema
        .createIndex('audit_events_pending')
        .on('audit_events')
        .columns(['processed', 'id'])
        .execute()
      await db.schema
        .createIndex('audit_events_processed_at')
        .on('audit_events')
        .columns(['processed', 'processed_at'])
        .execute()
      // A batch the API server sends again (after a timeout) is stored once: an event is its auditID and
      // stage while its row is kept. Events without either are never taken for duplicates (NULLs differ).
      await db.schema
        .createIndex('audit_events_identity')
        .on('audit_events')
        .columns(['audit_id', 'stage'])
        .unique()
        .execute()
      // Where each followed audit log file was read up to, moved in the transaction that stores its events.
      await db.schema
        .createTable('audit_log_positions')
        .addColumn('source', 'text', (c) => c.primaryKey())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('dev', 'text', (c) => c.notNull())
        .addColumn('ino', 'text', (c) => c.notNull())
        .addColumn('byte_offset', 'bigint', (c) => c.notNull())
        .addColumn('line_number', 'bigint', (c) => c.notNull())
        .addColumn('head', 'text', (c) => c.notNull())
        .addColumn('head_bytes', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
    },
  },
  '0008-alerts': {
    async up(db) {
      // Silences of the audit alerts (src/audit/alerts): Alertmanager's, kept here so every replica sees them.
      await db.schema
        .createTable('alert_silences')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('matchers', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'text', (c) => c.notNull())
        .addColumn('ends_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('comment', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('alert_silences_ends_at')
        .on('alert_silences')
        .columns(['ends_at'])
        .execute()
      // The notifiers' outbox: one row per notification and receiver integration, written before it is
      // sent, retried until delivered; delivered in id order within its integration and group.
      await db.schema
        .createTable('alert_outbox')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('receiver', 'text', (c) => c.notNull())
        .addColumn('integration', 'text', (c) => c.notNull())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('delivered', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('delivered_at', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('lease_until', 'text')
        .addColumn('last_error', 'text')
        .execute()
      await db.schema
        .createIndex('alert_outbox_pending')
        .on('alert_outbox')
        .columns(['delivered', 'id'])
        .execute()
    },
  },
  '0009-audit-detections': {
    async up(db) {
      // What the audit rules found: each detection with its labels (what alerts group and silence by).
      await db.schema
        .createTable('audit_detections')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('cluster', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('priority', 'text', (c) => c.notNull())
        .addColumn('output', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('audit_id', 'text')
        .execute()
      await db.schema
        .createIndex('audit_detections_cluster_at')
        .on('audit_detections')
        .columns(['cluster', 'at'])
        .execute()
      await db.schema
        .createIndex('audit_detections_rule_at')
        .on('audit_detections')
        .columns(['rule', 'at'])
        .execute()
      // Each identity's baseline (src/audit/anomaly/baselines.ts), per cluster.
      await db.schema
        .createTable('audit_baselines')
        .addColumn('cluster', 'text', (c) => c.notNull())
        .addColumn('identity', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addColumn('seen', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_baselines_pk', ['cluster', 'identity'])
        .execute()
    },
  },
  '0010-alert-state': {
    async up(db) {
      // The alert aggregator's state (alert groups survive a restart), and which detections it has taken
      // in: a mark set in the transaction that saves the state, not a cursor over ids, since PostgreSQL
      // commits ids out of order when the rules and Falco's runtime alerts write at once.
      await db.schema
        .createTable('alert_state')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .alterTable('audit_detections')
        .addColumn('alerted', 'integer', (c) => c.notNull().defaultTo(0))
        .execute()
      await db.schema
        .createIndex('audit_detections_unalerted')
        .on('audit_detections')
        .columns(['cluster', 'alerted', 'id'])
        .execute()
      // Baselines to forget, asked for through the API or the CLI while `audit serve` may hold them in
      // memory: its consumer takes each request up between pages and deletes it with what it writes.
      await db.schema
        .createTable('audit_baseline_resets')
        .addColumn('cluster', 'text', (c) => c.notNull())
        .addColumn('identity', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_baseline_resets_pk', ['cluster', 'identity'])
        .execute()
    },
  },
  '0011-usage': {
    async up(db) {
      // `plimsoll usage --store` (src/store/usage.ts): one row per collection of one cluster with its
      // totals, the containers (usage, requests, recommendation, cost) and nodes it saw, and its
      // namespaces' and teams' sums, so that trends read one small row per snapshot and group.
      // Amounts are double precision: CPU in cores, memory in bytes, money in unrounded dollars.
      const num = 'double precision' as const
      await db.schema
        .createTable('usage_snapshots')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('cluster', 'text', (c) => c.notNull())
        .addColumn('taken_at', 'text', (c) => c.notNull())
        .addColumn('window_from', 'text', (c) => c.notNull())
        .addColumn('window_to', 'text', (c) => c.notNull())
        .addColumn('window_hours', num, (c) => c.notNull())
        .addColumn('strategy', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('gaps', 'text', (c) => c.notNull())
        .addColumn('containers', 'integer', (c) => c.notNull())
        .addColumn('nodes', 'integer', (c) => c.notNull())
        .addColumn('cpu_requested', num, (c) => c.notNull())
        .addColumn('cpu_used', num, (c) => c.notNull())
        .addColumn('cpu_allocatable', num)
        .addColumn('cpu_capacity', num)
        .addColumn('memory_requested', num, (c) => c.notNull())
        .addColumn('memory_used', num, (c) => c.notNull())
        .addColumn('memory_allocatable', num)
        .addColumn('memory_capacity', num)
        .addColumn('node_cost', num)
        .addColumn('workload_cost', num, (c) => c.notNull())
        .addColumn('idle_cost', num)
        .addColumn('waste', num, (c) => c.notNull())
        .addColumn('savings', num, (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('usage_snapshots_cluster_taken')
        .on('usage_snapshots')
        .columns(['cluster', 'taken_at'])
        .execute()
      await db.schema
        .createTable('usage_containers')
        .addColumn('snapshot_id', 'integer', (c) => c.notNull().references('usage_snapshots.id'))
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('workload', 'text', (c) => c.notNull())
        .addColumn('container', 'text', (c) => c.notNull())
        .addColumn('team', 'text')
        .addColumn('pods', 'integer', (c) => c.notNull())
        .addColumn('max_replicas', 'integer', (c) => c.notNull())
        .addColumn('running_seconds', num, (c) => c.notNull())
        .addColumn('restarts', 'integer', (c) => c.notNull())
        .addColumn('cpu_throttled', num)
        .addColumn('cpu_request', num)
        .addColumn('cpu_limit', num)
        .addColumn('cpu_p50', num)
        .addColumn('cpu_p95', num)
        .addColumn('cpu_p99', num)
        .addColumn('cpu_max', num)
        .addColumn('cpu_mean', num)
        .addColumn('memory_request', num)
        .addColumn('memory_limit', num)
        .addColumn('memory_p50', num)
        .addColumn('memory_p95', num)
        .addColumn('memory_p99', num)
        .addColumn('memory_max', num)
        .addColumn('memory_mean', num)
        .addColumn('rec_cpu_request', num)
        .addColumn('rec_cpu_limit', num)
        .addColumn('rec_memory_request', num)
        .addColumn('rec_memory_limit', num)
        .addColumn('confidence', 'text')
        .addColumn('cost', num, (c) => c.notNull())
        .addColumn('waste', num)
        .addColumn('savings', num)
        .addColumn('details', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('usage_containers_snapshot')
        .on('usage_containers')
        .columns(['snapshot_id', 'namespace'])
        .execute()
      await db.schema
        .createTable('usage_nodes')
        .addColumn('snapshot_id', 'integer', (c) => c.notNull().references('usage_snapshots.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('instance_type', 'text')
        .addColumn('capacity_type', 'text')
        .addColumn('capacity_cpu', num, (c) => c.notNull())
        .addColumn('capacity_memory', num, (c) => c.notNull())
        .addColumn('allocatable_cpu', num, (c) => c.notNull())
        .addColumn('allocatable_memory', num, (c) => c.notNull())
        .addColumn('requested_cpu', num, (c) => c.notNull())
        .addColumn('requested_memory', num, (c) => c.notNull())
        .addColumn('used_cpu', num, (c) => c.notNull())
        .addColumn('used_memory', num, (c) => c.notNull())
        .addColumn('running_seconds', num, (c) => c.notNull())
        .addColumn('cost', num, (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_nodes_pk', ['snapshot_id', 'name'])
        .execute()
      await db.schema
        .createTable('usage_namespaces')
        .addColumn('snapshot_id', 'integer', (c) => c.notNull().references('usage_snapshots.id'))
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('containers', 'integer', (c) => c.notNull())
        .addColumn('cpu_requested', num, (c) => c.notNull())
        .addColumn('cpu_used', num, (c) => c.notNull())
        .addColumn('memory_requested', num, (c) => c.notNull())
        .addColumn('memory_used', num, (c) => c.notNull())
        .addColumn('cost', num, (c) => c.notNull())
        .addColumn('waste', num, (c) => c.notNull())
        .addColumn('savings', num, (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_namespaces_pk', ['snapshot_id', 'namespace'])
        .execute()
      await db.schema
        .createTable('usage_teams')
        .addColumn('snapshot_id', 'integer', (c) => c.notNull().references('usage_snapshots.id'))
        .addColumn('team', 'text', (c) => c.notNull())
        .addColumn('containers', 'integer', (c) => c.notNull())
        .addColumn('cost', num, (c) => c.notNull())
        .addColumn('waste', num, (c) => c.notNull())
        .addColumn('savings', num, (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_teams_pk', ['snapshot_id', 'team'])
        .execute()
    },
  },
  '0012-assessments': {
    async up(db) {
      // `plimsoll assess --store` (src/store/assessments.ts): one row per assessment, its Level 3
      // standing and counts as columns (the trend reads those), the whole assessment as JSON (the
      // report is rendered again from it); and the questionnaire's answers given on the dashboard,
      // the latest per question, read by the next assessment.
      await db.schema
        .createTable('assessments')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('taken_at', 'text', (c) => c.notNull())
        .addColumn('standing', 'text', (c) => c.notNull())
        .addColumn('score', 'double precision', (c) => c.notNull())
        .addColumn('meets', 'integer', (c) => c.notNull())
        .addColumn('partly', 'integer', (c) => c.notNull())
        .addColumn('not_yet', 'integer', (c) => c.notNull())
        .addColumn('unknown', 'integer', (c) => c.notNull())
        .addColumn('aspects', 'text', (c) => c.notNull())
        .addColumn('assessment', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('assessments_taken_at').on('assessments').column('taken_at').execute()
      await db.schema
        .createTable('assessment_answers')
        .addColumn('question', 'text', (c) => c.primaryKey())
        .addColumn('answer', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('answered_by', 'text', (c) => c.notNull())
        .addColumn('answered_at', 'text', (c) => c.notNull())
        .execute()
    },
  },
  '0013-agent-status': {
    async up(db) {
      // The current session's latest status report (JSON) and when it came: with several server
      // replicas, an agent reports to one of them, and every replica shows the cluster live from here.
      await db.schema.alterTable('agent_sessions').addColumn('status', 'text').execute()
      await db.schema.alterTable('agent_sessions').addColumn('reported_at', 'text').execute()
    },
  },
  '0014-vulnerabilities': {
    async up(db) {
      // An imported vulnerability's facts (src/store/vulnerabilities.ts), one row per finding, keyed
      // as the finding is: its state, severity and resource stay on the finding, read by a join, so
      // that resolving or reopening a finding needs no write here and the two cannot disagree.
      await db.schema
        .createTable('vulnerabilities')
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('tool', 'text', (c) => c.notNull())
        .addColumn('advisory', 'text', (c) => c.notNull())
        .addColumn('aliases', 'text', (c) => c.notNull())
        .addColumn('package', 'text', (c) => c.notNull())
        .addColumn('package_type', 'text', (c) => c.notNull())
        .addColumn('installed_version', 'text', (c) => c.notNull())
        .addColumn('fixed_version', 'text')
        .addColumn('fix_state', 'text', (c) => c.notNull())
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_run_id', 'integer', (c) => c.notNull().references('runs.id'))
        .addPrimaryKeyConstraint('vulnerabilities_pk', ['target', 'fingerprint'])
        .execute()
      await db.schema
        .createIndex('vulnerabilities_advisory')
        .on('vulnerabilities')
        .column('advisory')
        .execute()
      await db.schema
        .createIndex('vulnerabilities_artifact')
        .on('vulnerabilities')
        .column('artifact')
        .execute()
    },
  },
  '0015-upgrade-checks': {
    async up(db) {
      // `plimsoll upgrade-check --store` (src/store/upgrade-checks.ts): every check kept, its counts as
      // columns (the dashboard lists the latest per target and release from them alone), the rest of
      // the report (notes, what manifests cannot show, the cluster's served APIs) as JSON; and its
      // findings one row each, so that one check's can be read by impact and area.
      await db.schema
        .createTable('upgrade_checks')
        .addColumn('id', serial(db), (c) => c.primaryKey())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('checked_at', 'text', (c) => c.notNull())
        .addColumn('from_minor', 'integer', (c) => c.notNull())
        .addColumn('to_minor', 'integer', (c) => c.notNull())
        .addColumn('from_source', 'text', (c) => c.notNull())
        .addColumn('newest_known', 'integer', (c) => c.notNull())
        .addColumn('cluster_version', 'text')
        .addColumn('objects', 'integer', (c) => c.notNull())
        .addColumn('files', 'integer', (c) => c.notNull())
        .addColumn('errors', 'integer', (c) => c.notNull())
        .addColumn('breaks', 'integer', (c) => c.notNull())
        .addColumn('deprecated', 'integer', (c) => c.notNull())
        .addColumn('changes', 'integer', (c) => c.notNull())
        .addColumn('by_area', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('plimsoll_version', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('upgrade_checks_latest')
        .on('upgrade_checks')
        .columns(['target', 'to_minor', 'checked_at'])
        .execute()
      await db.schema
        .createTable('upgrade_check_findings')
        .addColumn('check_id', 'integer', (c) =>
          c.notNull().references('upgrade_checks.id').onDelete('cascade'),
        )
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('rank', 'integer', (c) => c.notNull())
        .addColumn('area', 'text', (c) => c.notNull())
        .addColumn('impact', 'text', (c) => c.notNull())
        .addColumn('finding_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('api_version', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('file', 'text')
        .addColumn('line', 'integer')
        .addColumn('column', 'integer')
        .addColumn('path', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('replacement', 'text')
        .addColumn('notes', 'text')
        .addPrimaryKeyConstraint('upgrade_check_findings_pk', ['check_id', 'seq'])
        .execute()
      await db.schema
        .createIndex('upgrade_check_findings_order')
        .on('upgrade_check_findings')
        .columns(['check_id', 'rank', 'finding_id', 'seq'])
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
