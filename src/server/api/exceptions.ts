/** The debt register over HTTP: anyone may read it, admins change it. */
import type { FastifyReply } from 'fastify'
import {
  type CursorPage,
  EXCEPTION_STATES,
  EXPIRING_WITHIN_DAYS,
  type StoredExceptionView,
} from '../../api-types.js'
import { exceptionListYaml } from '../../policy/exception-list.js'
import {
  createException,
  deleteException,
  type ExceptionFilter,
  type ExceptionInput,
  getException,
  listExceptions,
  pageExceptions,
  registerSummary,
  updateException,
} from '../../store/exceptions.js'
import { callerName, ID_PARAMS, type JsonSchema, notFound, query, type Route } from '../route.js'
import { CURSOR_PAGE_QUERY, cursorPageOf, withCursor } from './paging.js'

const GLOBS = { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 253 } }

const INPUT: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['checks', 'owner', 'reason', 'expires'],
  properties: {
    checks: { ...GLOBS, minItems: 1, description: 'check ids or globs (`pss-*`)' },
    kinds: { ...GLOBS, description: 'resource kinds (globs); empty: any' },
    namespaces: { ...GLOBS, description: 'namespaces (globs); empty: any' },
    names: { ...GLOBS, description: 'resource names (globs); empty: any' },
    labels: { type: 'object', maxProperties: 50, additionalProperties: { type: 'string', maxLength: 63 } },
    owner: { type: 'string', minLength: 1, maxLength: 200, description: 'who answers for it' },
    reason: { type: 'string', minLength: 1, maxLength: 2000 },
    expires: {
      type: 'string',
      format: 'date',
      description: 'YYYY-MM-DD; the exception holds through that day',
    },
  },
}

const EXCEPTION: JsonSchema = {
  type: 'object',
  properties: {
    ...(INPUT.properties as object),
    id: { type: 'integer' },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    expired: { type: 'boolean' },
    matches: { type: 'integer', description: "findings it covers in the targets' latest runs" },
    stale: {
      type: 'boolean',
      description: 'every target scanned since it was created, and it matched nothing',
    },
  },
}

/** The schema makes `expires` a date; an exception added or replaced must not have expired already. */
function refusePast(reply: FastifyReply, expires: string) {
  if (expires >= new Date().toISOString().slice(0, 10)) return undefined
  return reply.code(400).send({
    error: 'invalid request',
    details: [{ in: 'body', path: '/expires', message: 'must be today or later' }],
  })
}

export const exceptionRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/exceptions',
    summary: 'The debt register, soonest to expire first: filtered and paged',
    tag: 'exceptions',
    access: 'viewer',
    schema: {
      querystring: query({
        state: {
          type: 'string',
          enum: [...EXCEPTION_STATES],
          description: `active (in force), expiring (within ${EXPIRING_WITHIN_DAYS} days), expired, stale (matching nothing)`,
        },
        owner: { type: 'string', maxLength: 200, description: 'exactly this owner' },
        check: { type: 'string', maxLength: 253, description: 'exceptions listing this check id or glob' },
        q: {
          type: 'string',
          maxLength: 200,
          description: 'words to find in checks, matchers, owner or reason',
        },
        ...CURSOR_PAGE_QUERY,
      }),
      response: { 200: cursorPageOf(EXCEPTION) },
    },
    handler: async (ctx, req, reply) => {
      const { limit, offset, cursor, ...filter } = req.query as ExceptionFilter & {
        limit: number
        offset: number
        cursor?: string
      }
      return withCursor(reply, { offset, ...(cursor ? { cursor } : {}) }, async () => {
        const page = await pageExceptions(ctx.store, filter, { limit, offset, ...(cursor ? { cursor } : {}) })
        return { ...page, limit, offset } satisfies CursorPage<StoredExceptionView>
      })
    },
  },
  {
    method: 'GET',
    url: '/api/exceptions/export',
    summary:
      'The register as an ExceptionList file (YAML) for a Git repository: the format --exceptions reads',
    tag: 'exceptions',
    access: 'viewer',
    schema: {
      querystring: query({
        expired: { type: 'boolean', default: false, description: 'keep the expired entries too' },
      }),
      response: { 200: { type: 'string' } },
    },
    handler: async (ctx, req, reply) => {
      const text = exceptionListYaml(await listExceptions(ctx.store), {
        source: 'the Plimsoll server',
        at: new Date().toISOString(),
        includeExpired: (req.query as { expired: boolean }).expired,
      })
      return reply
        .type('application/yaml; charset=utf-8')
        .header('content-disposition', 'attachment; filename="exceptions.yaml"')
        .send(text)
    },
  },
  {
    method: 'GET',
    url: '/api/exceptions/summary',
    summary: 'The whole register in figures: by state, in force until when, owners',
    tag: 'exceptions',
    access: 'viewer',
    schema: {
      response: {
        200: {
          type: 'object',
          properties: {
            total: { type: 'integer' },
            active: { type: 'integer' },
            expiring: { type: 'integer' },
            expired: { type: 'integer' },
            stale: { type: 'integer' },
            expiringWithinDays: { type: 'integer' },
            inForce: {
              type: 'array',
              description: 'exceptions in force by expiry date',
              items: {
                type: 'object',
                properties: { expires: { type: 'string' }, count: { type: 'integer' } },
              },
            },
            owners: {
              type: 'array',
              description: 'owners with most exceptions first (200 at most)',
              items: {
                type: 'object',
                properties: { owner: { type: 'string' }, count: { type: 'integer' } },
              },
            },
          },
        },
      },
    },
    handler: (ctx) => registerSummary(ctx.store),
  },
  {
    method: 'GET',
    url: '/api/exceptions/:id',
    summary: 'One exception',
    tag: 'exceptions',
    access: 'viewer',
    schema: { params: ID_PARAMS, response: { 200: EXCEPTION } },
    handler: async (ctx, req, reply) =>
      (await getException(ctx.store, (req.params as { id: number }).id)) ?? notFound(reply, 'exception'),
  },
  {
    method: 'POST',
    url: '/api/exceptions',
    summary: 'Add an exception (admin)',
    tag: 'exceptions',
    access: 'admin',
    schema: { body: INPUT, response: { 201: EXCEPTION } },
    handler: async (ctx, req, reply) => {
      const input = req.body as ExceptionInput
      const refused = refusePast(reply, input.expires)
      if (refused) return refused
      const created = await createException(ctx.store, input, callerName(req))
      return reply.code(201).send(created)
    },
  },
  {
    method: 'PUT',
    url: '/api/exceptions/:id',
    summary: 'Replace an exception (admin)',
    tag: 'exceptions',
    access: 'admin',
    schema: { params: ID_PARAMS, body: INPUT, response: { 200: EXCEPTION } },
    handler: async (ctx, req, reply) => {
      const input = req.body as ExceptionInput
      return (
        refusePast(reply, input.expires) ??
        (await updateException(ctx.store, (req.params as { id: number }).id, input)) ??
        notFound(reply, 'exception')
      )
    },
  },
  {
    method: 'DELETE',
    url: '/api/exceptions/:id',
    summary: 'Remove an exception (admin)',
    tag: 'exceptions',
    access: 'admin',
    schema: { params: ID_PARAMS, response: { 204: { type: 'null' } } },
    handler: async (ctx, req, reply) =>
      (await deleteException(ctx.store, (req.params as { id: number }).id))
        ? reply.code(204).send()
        : notFound(reply, 'exception'),
  },
]
