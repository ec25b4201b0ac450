/**
 * The audit door over HTTP (docs/audit.md#dashboard-and-api): the rules' detections, each with its
 * audit event while the queue keeps it (credentials redacted), the detections summed with the alert
 * pipelines' noise per rule, the open alert groups, and the silences (audit-silences.ts).
 */
import {
  AUDIT_PRIORITIES,
  type AuditDetectionDetail,
  type AuditPriority,
  type AuditSummary,
  DETECTION_SOURCES,
  type DetectionSourceName,
} from '../../api-types.js'
import { alertGroups, noiseOf, pipelinesOf } from '../../audit/alerts/state-view.js'
import { redactAuditEvent } from '../../audit/redact.js'
import type { DetectionSource, Priority } from '../../audit/types.js'
import { listAlertStates } from '../../store/alert-state.js'
import { listSilences } from '../../store/alerts.js'
import { detectionSummary, getDetection, listDetections } from '../../store/audit-detections.js'
import { findAuditEvents } from '../../store/audit-queue.js'
import type { Store } from '../../store/connect.js'
import { ID_PARAMS, type JsonSchema, notFound, query, type Route } from '../route.js'
import { baselineRoutes } from './audit-baselines.js'
import { silenceRoutes } from './audit-silences.js'

// The wire's lists are the pipeline's (src/audit/types.ts): a priority or source added on one side and
// not the other fails the typecheck here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const sameLists: [Same<Priority, AuditPriority>, Same<DetectionSource, DetectionSourceName>] = [true, true]
void sameLists

const CLUSTER = {
  type: 'string',
  maxLength: 253,
  description: 'only this cluster (`plimsoll audit serve --cluster-name`)',
}
const SINCE = { type: 'string', format: 'date-time', description: 'only detections at or after this time' }
const LABELS: JsonSchema = { type: 'object', additionalProperties: { type: 'string' } }
const COUNT = { type: 'integer' }

const DETECTION: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    cluster: { type: 'string' },
    rule: { type: 'string' },
    source: { type: 'string', enum: [...DETECTION_SOURCES] },
    priority: { type: 'string', enum: [...AUDIT_PRIORITIES] },
    output: { type: 'string' },
    time: { type: 'string' },
    labels: LABELS,
    tags: { type: 'array', items: { type: 'string' } },
    auditID: { type: 'string' },
  },
}

const PIPELINES: JsonSchema = {
  type: 'array',
  description: 'the alert pipelines and when each last saved its state',
  items: { type: 'object', properties: { cluster: { type: 'string' }, updatedAt: { type: 'string' } } },
}

const NOISE: JsonSchema = {
  type: 'object',
  properties: {
    rule: { type: 'string' },
    detections: COUNT,
    allowlisted: COUNT,
    rateLimited: COUNT,
    deduped: COUNT,
    silenced: COUNT,
    alerts: COUNT,
    notifications: COUNT,
    ratio: { type: 'number' },
  },
}

const ALERT: JsonSchema = {
  type: 'object',
  properties: {
    fingerprint: { type: 'string' },
    labels: LABELS,
    annotations: LABELS,
    startsAt: { type: 'string' },
    endsAt: { type: 'string' },
    status: { type: 'string', enum: ['firing', 'resolved'] },
    silencedBy: { type: 'array', items: { type: 'string' }, description: 'the silences muting it now' },
  },
}

/** The alert pipelines' states, or the one of `cluster` (none when it has no pipeline). */
async function statesOf(store: Store, cluster: string | undefined) {
  const states = await listAlertStates(store)
  return cluster === undefined ? states : states.filter((s) => s.name === cluster)
}

const detectionRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/audit/detections',
    summary: "The audit rules' detections, newest first",
    tag: 'audit',
    access: 'viewer',
    schema: {
      querystring: query({
        cluster: CLUSTER,
        rule: { type: 'string', maxLength: 500, description: 'only this rule (exactly)' },
        priority: { type: 'string', enum: [...AUDIT_PRIORITIES] },
        source: { type: 'string', enum: [...DETECTION_SOURCES] },
        since: SINCE,
        before: { type: 'integer', minimum: 1, description: 'the next page: detections older than this id' },
        limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
      }),
      response: { 200: { type: 'array', items: DETECTION } },
    },
    handler: async (ctx, req) => {
      const q = req.query as {
        cluster?: string
        rule?: string
        priority?: Priority
        source?: DetectionSource
        since?: string
        before?: number
        limit: number
      }
      return listDetections(ctx.store, {
        ...(q.cluster !== undefined ? { cluster: q.cluster } : {}),
        ...(q.rule !== undefined ? { rule: q.rule } : {}),
        ...(q.priority !== undefined ? { priority: q.priority } : {}),
        ...(q.source !== undefined ? { source: q.source } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
        ...(q.before !== undefined ? { beforeId: q.before } : {}),
        limit: q.limit,
      })
    },
  },
  {
    method: 'GET',
    url: '/api/audit/detections/:id',
    summary:
      "One detection, with its audit event (every stage stored) while the queue keeps it; Secrets' values redacted",
    tag: 'audit',
    access: 'viewer',
    schema: {
      params: ID_PARAMS,
      response: {
        200: {
          type: 'object',
          properties: {
            detection: DETECTION,
            events: {
              type: 'array',
              description: 'empty once the queue no longer keeps the event (`audit serve --retention-hours`)',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'integer' },
                  stage: { type: ['string', 'null'] },
                  receivedAt: { type: 'string' },
                  source: { type: 'string' },
                  event: { type: 'object', additionalProperties: true },
                },
              },
            },
          },
        },
      },
    },
    handler: async (ctx, req, reply) => {
      const detection = await getDetection(ctx.store, (req.params as { id: number }).id)
      if (!detection) return notFound(reply, `detection ${(req.params as { id: number }).id}`)
      const stored = detection.auditID ? await findAuditEvents(ctx.store, detection.auditID) : []
      return {
        detection: { ...detection, labels: { ...detection.labels }, tags: [...detection.tags] },
        events: stored.map((e) => ({
          id: e.id,
          stage: e.stage ?? null,
          receivedAt: e.receivedAt,
          source: e.source,
          event: redactAuditEvent(e.event) as Record<string, unknown>,
        })),
      } satisfies AuditDetectionDetail
    },
  },
  {
    method: 'GET',
    url: '/api/audit/summary',
    summary: 'Detections by priority and hour, the rules and identities most found, and the noise per rule',
    tag: 'audit',
    access: 'viewer',
    schema: {
      querystring: query({ cluster: CLUSTER, since: SINCE }),
      response: {
        200: {
          type: 'object',
          properties: {
            priorities: { type: 'object', additionalProperties: { type: 'integer' } },
            byHour: {
              type: 'array',
              items: { type: 'object', properties: { hour: { type: 'string' }, detections: COUNT } },
            },
            topRules: {
              type: 'array',
              items: {
                type: 'object',
                properties: { rule: { type: 'string' }, source: { type: 'string' }, detections: COUNT },
              },
            },
            topUsers: {
              type: 'array',
              items: { type: 'object', properties: { user: { type: 'string' }, detections: COUNT } },
            },
            noise: {
              type: 'array',
              description: "per rule, since each pipeline's state began (not only since `since`)",
              items: NOISE,
            },
            totals: {
              type: 'object',
              properties: { detections: COUNT, notifications: COUNT, ratio: { type: 'number' } },
            },
            pipelines: PIPELINES,
          },
        },
      },
    },
    handler: async (ctx, req) => {
      const q = req.query as { cluster?: string; since?: string }
      const summary = await detectionSummary(ctx.store, {
        ...(q.cluster !== undefined ? { cluster: q.cluster } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
      })
      const states = await statesOf(ctx.store, q.cluster)
      return { ...summary, ...noiseOf(states), pipelines: pipelinesOf(states) } satisfies AuditSummary
    },
  },
  {
    method: 'GET',
    url: '/api/audit/alerts',
    summary: 'The open alert groups of the alert pipelines, most recent activity first',
    tag: 'audit',
    access: 'viewer',
    schema: {
      querystring: query({ cluster: CLUSTER }),
      response: {
        200: {
          type: 'object',
          properties: {
            pipelines: PIPELINES,
            groups: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  cluster: { type: 'string' },
                  key: { type: 'string' },
                  receiver: { type: 'string' },
                  groupLabels: LABELS,
                  nextFlushAt: { type: 'string' },
                  hasFlushed: { type: 'boolean' },
                  lastNotifiedAt: { type: ['string', 'null'] },
                  alerts: { type: 'array', items: ALERT },
                },
              },
            },
          },
        },
      },
    },
    handler: async (ctx, req) => {
      const cluster = (req.query as { cluster?: string }).cluster
      const now = Date.now()
      const states = await statesOf(ctx.store, cluster)
      const silences = await listSilences(ctx.store, { notEndedAt: new Date(now).toISOString() })
      return { pipelines: pipelinesOf(states), groups: alertGroups(states, silences, now) }
    },
  },
]

export const auditRoutes: Route[] = [...detectionRoutes, ...silenceRoutes, ...baselineRoutes]
