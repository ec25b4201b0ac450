/** Runs, targets and the check library. */
import { listRuns, listTargets } from '../../store/queries.js'
import { notFound, pageOf, query, type Route, TARGET_PARAM } from '../route.js'
import { BOUNDED_PAGE_QUERY } from './paging.js'

export const runRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/runs',
    summary: 'Recorded scan runs, newest first',
    tag: 'runs',
    access: 'viewer',
    schema: {
      querystring: query({ target: TARGET_PARAM, ...BOUNDED_PAGE_QUERY }),
      response: { 200: pageOf({ type: 'object', additionalProperties: true }) },
    },
    handler: async (ctx, req) => {
      const q = req.query as { target?: string; limit: number; offset: number }
      return { ...(await listRuns(ctx.store, q.target, q.limit, q.offset)), limit: q.limit, offset: q.offset }
    },
  },
  {
    method: 'GET',
    url: '/api/targets',
    summary: 'Every target that has runs',
    tag: 'runs',
    access: 'viewer',
    schema: { response: { 200: { type: 'array', items: { type: 'string' } } } },
    handler: (ctx) => listTargets(ctx.store),
  },
  {
    method: 'GET',
    url: '/api/checks',
    summary: 'The check library: id, title, severity, category, rationale, remediation, controls',
    tag: 'checks',
    access: 'viewer',
    schema: { response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } } },
    handler: async (ctx) => [...ctx.checks.values()],
  },
  {
    method: 'GET',
    url: '/api/checks/:id',
    summary: 'One check',
    tag: 'checks',
    access: 'viewer',
    schema: {
      params: {
        type: 'object',
        required: ['id'],
        additionalProperties: false,
        properties: { id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' } },
      },
      response: { 200: { type: 'object', additionalProperties: true } },
    },
    handler: async (ctx, req, reply) => {
      const check = ctx.checks.get((req.params as { id: string }).id)
      return check ?? notFound(reply, 'check')
    },
  },
]
