/**
 * The audit rules' detections in the store: written by the audit pipeline in the transaction that marks
 * their events processed (so each event's detections are written exactly once), read by the API
 * (recent detections, detections over time, what fires most, who). Never a Secret's value: a detection
 * holds its rule's output and labels, not the event's objects.
 */
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely'
import type { Detection, DetectionSource, Priority } from '../audit/types.js'
import type { Store } from './connect.js'
import type { AuditDetectionTable, Database } from './schema.js'

type Db = Kysely<Database> | Transaction<Database>

/** Rows per statement: well under both dialects' limits on bound values. */
const CHUNK = 200

export async function recordDetections(
  db: Db,
  cluster: string,
  detections: readonly Detection[],
): Promise<void> {
  for (let i = 0; i < detections.length; i += CHUNK)
    await db
      .insertInto('audit_detections')
      .values(
        detections.slice(i, i + CHUNK).map((d) => ({
          at: d.time,
          cluster,
          rule: d.rule,
          source: d.source,
          priority: d.priority,
          output: d.output,
          labels: JSON.stringify(d.labels),
          tags: JSON.stringify(d.tags),
          audit_id: d.auditID ?? null,
        })),
      )
      .execute()
}

export interface StoredDetection extends Detection {
  readonly id: number
  readonly cluster: string
}

export interface DetectionFilter {
  cluster?: string
  rule?: string
  priority?: Priority
  source?: DetectionSource
  /** ISO time: at or after */
  since?: string
  /** the next page, newest first: detections with a smaller id */
  beforeId?: number
  limit?: number
}

export async function listDetections(store: Store, filter: DetectionFilter = {}): Promise<StoredDetection[]> {
  let q = store.db.selectFrom('audit_detections').selectAll()
  if (filter.cluster !== undefined) q = q.where('cluster', '=', filter.cluster)
  if (filter.rule !== undefined) q = q.where('rule', '=', filter.rule)
  if (filter.priority !== undefined) q = q.where('priority', '=', filter.priority)
  if (filter.source !== undefined) q = q.where('source', '=', filter.source)
  if (filter.since !== undefined) q = q.where('at', '>=', filter.since)
  if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId)
  const rows = await q
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .execute()
  return rows.map(toDetection)
}

export function toDetection(r: Selectable<AuditDetectionTable>): StoredDetection {
  return {
    id: Number(r.id),
    cluster: r.cluster,
    rule: r.rule,
    source: r.source as DetectionSource,
    priority: r.priority as Priority,
    output: r.output,
    time: r.at,
    labels: JSON.parse(r.labels) as Record<string, string>,
    tags: JSON.parse(r.tags) as string[],
    ...(r.audit_id !== null ? { auditID: r.audit_id } : {}),
  }
}

export interface DetectionSummary {
  /** detections by priority */
  priorities: Partial<Record<Priority, number>>
  /** detections per hour (`YYYY-MM-DDTHH`), oldest first */
  byHour: { hour: string; detections: number }[]
  /** the rules that fired most */
  topRules: { rule: string; source: string; detections: number }[]
  /** the identities most detections name */
  topUsers: { user: string; detections: number }[]
}

export async function detectionSummary(
  store: Store,
  filter: Pick<DetectionFilter, 'cluster' | 'since'> = {},
): Promise<DetectionSummary> {
  let base = store.db.selectFrom('audit_detections')
  if (filter.cluster !== undefined) base = base.where('cluster', '=', filter.cluster)
  if (filter.since !== undefined) base = base.where('at', '>=', filter.since)
  const priorities = await base
    .select(['priority', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('priority')
    .execute()
  const hour = sql<string>`substr(at, 1, 13)`
  const byHour = await base
    .select([hour.as('hour'), (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(hour)
    .orderBy(hour)
    .execute()
  const topRules = await base
    .select(['rule', 'source', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['rule', 'source'])
    .orderBy('n', 'desc')
    .limit(10)
    .execute()
  // The user is a label inside the JSON, and the dialects' JSON functions differ: the labels of the
  // newest 50,000 detections are counted here instead.
  const labels = await base.select('labels').orderBy('id', 'desc').limit(50_000).execute()
  const users = new Map<string, number>()
  for (const r of labels) {
    const user = (JSON.parse(r.labels) as Record<string, string>).user
    if (user) users.set(user, (users.get(user) ?? 0) + 1)
  }
  return {
    priorities: Object.fromEntries(priorities.map((r) => [r.priority, Number(r.n)])),
    byHour: byHour.map((r) => ({ hour: r.hour, detections: Number(r.n) })),
    topRules: topRules.map((r) => ({ rule: r.rule, source: r.source, detections: Number(r.n) })),
    topUsers: [...users]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([user, detections]) => ({ user, detections })),
  }
}

export async function getDetection(store: Store, id: number): Promise<StoredDetection | undefined> {
  const row = await store.db
    .selectFrom('audit_detections')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? toDetection(row) : undefined
}
