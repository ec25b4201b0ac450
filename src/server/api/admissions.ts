/** The admission webhook's decisions: recent ones, and what denies most (docs/admission.md). */
import { ADMISSION_OUTCOMES, admissionSummary, listAdmissions } from '../../store/admissions.js'
import { query, type Route } from '../route.js'

const CLUSTER = {
  type: 'string',
  maxLength: 253,
  description: "only this cluster (the webhook's --cluster-name)",
}
const SINCE = { type: 'string', format: 'date-time', description: 'only decisions at or after this time' }

export const admissionRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/admissions',
    summary: "The webhook's decisions, newest first: who asked for what, and what each failing check did",
    tag: 'admissions',
    access: 'viewer',
    schema: {
      querystring: query({
        cluster: CLUSTER,
        outcome: { type: 'string', enum: [...ADMISSION_OUTCOMES] },
        namespace: { type: 'string', maxLength: 253 },
        since: SINCE,
        before: { type: 'integer', minimum: 1, description: 'the next page: decisions older than this id' },
        limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
      }),
      response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } },
    },
    handler: async (ctx, req) => {
      const q = req.query as {
        cluster?: string
        outcome?: (typeof ADMISSION_OUTCOMES)[number]
        namespace?: string
        since?: string
        before?: number
        limit: number
      }
      return listAdmissions(ctx.store, {
        ...(q.cluster !== undefined ? { cluster: q.cluster } : {}),
        ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
        ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
        ...(q.before !== undefined ? { beforeId: q.before } : {}),
        limit: q.limit,
      })
    },
  },
  {
    method: 'GET',
    url: '/api/admissions/summary',
    summary: 'Decisions by outcome, denials per hour, the checks and namespaces denied most',
    tag: 'admissions',
    access: 'viewer',
    schema: {
      querystring: query({ cluster: CLUSTER, since: SINCE }),
      response: { 200: { type: 'object', additionalProperties: true } },
    },
    handler: async (ctx, req) => {
      const q = req.query as { cluster?: string; since?: string }
      return admissionSummary(ctx.store, {
        ...(q.cluster !== undefined ? { cluster: q.cluster } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
      })
    },
  },
]
