/** Findings: the explorer's list (filters, search, sort, pages), one finding, one resource. */
import type { CursorPage, FindingRow, ResourceDetail } from '../../api-types.js'
import { SEVERITIES } from '../../policy/check.js'
import {
  FINDING_SORTS,
  type FindingSort,
  getFinding,
  getResource,
  listFindings,
  listFindingsJson,
} from '../../store/queries.js'
import { FINDING_STATES, type FindingState } from '../../store/schema.js'
import {
  ID_PARAMS,
  type JsonSchema,
  listParam,
  notFound,
  query,
  type Route,
  splitList,
  TARGET_PARAM,
} from '../route.js'
import { CURSOR_PAGE_QUERY, cursorPageJson, cursorPageOf, withCursor } from './paging.js'

const RESOURCE: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string' },
    namespace: { type: 'string' },
    name: { type: 'string' },
    group: { type: 'string' },
  },
}

export const FINDING: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    target: { type: 'string' },
    checkId: { type: 'string' },
    severity: { type: 'string' },
    category: { type: 'string' },
    message: { type: 'string' },
    state: { type: 'string', enum: [...FINDING_STATES] },
    path: { type: 'string' },
    container: { type: ['string', 'null'] },
    file: { type: 'string' },
    line: { type: 'integer' },
    column: { type: 'integer' },
    firstSeen: { type: 'string' },
    lastSeen: { type: 'string' },
    resolvedAt: { type: ['string', 'null'] },
    reopened: { type: 'integer' },
    exception: {},
    resource: RESOURCE,
  },
}

/** What Fastify sends JSON as; a string of it is sent as it is. */
const JSON_TYPE = 'application/json; charset=utf-8'

const NAME_LIST = { type: 'string', maxLength: 2000, pattern: '^[^,]+(,[^,]+)*$' }

export const findingRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/findings',
    summary: 'Findings, filtered, searched, sorted and paged',
    tag: 'findings',
    access: 'viewer',
    schema: {
      querystring: query({
        target: TARGET_PARAM,
        state: listParam(FINDING_STATES, 'lifecycle states (default: open)'),
        severity: listParam(SEVERITIES, 'severities'),
        check: { ...NAME_LIST, description: 'check ids, comma-separated' },
        namespace: { ...NAME_LIST, description: 'namespaces, comma-separated' },
        kind: { ...NAME_LIST, description: 'resource kinds, comma-separated' },
        resource: { type: 'integer', minimum: 1, description: 'one resource, by id' },
        q: {
          type: 'string',
          maxLength: 200,
          description: 'words to find in message, check, resource name or path',
        },
        sort: { type: 'string', enum: [...FINDING_SORTS], default: 'severity' },
        order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
        ...CURSOR_PAGE_QUERY,
      }),
      response: { 200: cursorPageOf(FINDING) },
    },
    handler: async (ctx, req, reply) => {
      const q = req.query as Record<string, string | number | undefined> & {
        limit: number
        offset: number
        cursor?: string
      }
      const filter = {
        ...(q.target ? { target: String(q.target) } : {}),
        state: (splitList(q.state as string) ?? ['open']) as FindingState[],
        ...(q.severity ? { severity: splitList(q.severity as string)! } : {}),
        ...(q.check ? { check: splitList(q.check as string)! } : {}),
        ...(q.namespace ? { namespace: splitList(q.namespace as string)! } : {}),
        ...(q.kind ? { kind: splitList(q.kind as string)! } : {}),
        ...(q.resource ? { resourceId: Number(q.resource) } : {}),
        ...(q.q ? { q: String(q.q) } : {}),
      }
      const options = {
        sort: q.sort as FindingSort,
        descending: q.order === 'desc',
        limit: q.limit,
        offset: q.offset,
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }
      return withCursor(reply, q, async () => {
        // On SQLite the items come as JSON, written by SQLite: the answer is the response schema's bytes
        // without an object made of each finding (the list's busiest requests).
        if (ctx.store.dialect === 'sqlite') {
          const page = await listFindingsJson(ctx.store, filter, options)
          reply.type(JSON_TYPE)
          return cursorPageJson({ ...page, limit: q.limit, offset: q.offset })
        }
        const page = await listFindings(ctx.store, filter, options)
        return { ...page, limit: q.limit, offset: q.offset } satisfies CursorPage<FindingRow>
      })
    },
  },
  {
    method: 'GET',
    url: '/api/findings/:id',
    summary: 'One finding, with its resource and the check that found it',
    tag: 'findings',
    access: 'viewer',
    schema: {
      params: ID_PARAMS,
      response: {
        200: {
          type: 'object',
          properties: {
            ...(FINDING.properties as object),
            check: { type: 'object', additionalProperties: true },
          },
        },
      },
    },
    handler: async (ctx, req, reply) => {
      const finding = await getFinding(ctx.store, (req.params as { id: number }).id)
      if (!finding) return notFound(reply, 'finding')
      return { ...finding, check: ctx.checks.get(finding.checkId) ?? { id: finding.checkId } }
    },
  },
  {
    method: 'GET',
    url: '/api/resources/:id',
    summary: 'One resource (with findings), where it was last seen',
    tag: 'findings',
    access: 'viewer',
    schema: {
      params: ID_PARAMS,
      response: { 200: { type: 'object', additionalProperties: true } },
    },
    handler: async (ctx, req, reply) => {
      const id = (req.params as { id: number }).id
      const resource = await getResource(ctx.store, id)
      if (!resource) return notFound(reply, 'resource')
      const findings = await listFindings(
        ctx.store,
        { resourceId: id, state: ['open', 'excepted', 'resolved'] },
        { sort: 'severity', descending: true, limit: 500, offset: 0 },
      )
      return { ...resource, findings: findings.items } satisfies ResourceDetail
    },
  },
]
