/** Runs, targets and the check library. */
import type { CheckMetadata } from '../../api-types.js'
import { checkOfFindings, listRuns, listTargets } from '../../store/queries.js'
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
        // The library's ids, and other tools' (`trivy:KSV-0001`, `grype:GHSA-...`, a Kyverno
        // policy/rule): what a finding's check id can be.
        properties: { id: { type: 'string', maxLength: 300, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$' } },
      },
      response: { 200: { type: 'object', additionalProperties: true } },
    },
    handler: async (ctx, req, reply): Promise<CheckMetadata | undefined> => {
      const { id } = req.params as { id: string }
      const check = ctx.checks.get(id)
      if (check) return check
      const seen = await checkOfFindings(ctx.store, id)
      if (!seen) return notFound(reply, `check '${id}'`)
      const tool = id.includes(':') ? id.slice(0, id.indexOf(':')) : undefined
      return {
        id,
        title: id,
        severity: seen.severity,
        category: seen.category,
        rationale: tool
          ? `Found by ${tool} and imported into Plimsoll (\`plimsoll import\`): ${tool}'s own documentation explains it.`
          : 'Not a check of the library this server serves: a custom policy, or a library of another version.',
        controls: [],
        external: { ...(tool ? { tool } : {}), findings: seen.findings, open: seen.open },
      }
    },
  },
]
