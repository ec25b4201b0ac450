/** The debt register over HTTP: anyone may read it, admins change it. */
import {
  createException,
  deleteException,
  type ExceptionInput,
  getException,
  listExceptions,
  updateException,
} from '../../store/exceptions.js'
import { ID_PARAMS, type JsonSchema, notFound, type Route } from '../route.js'

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
  },
}

function future(expires: string): boolean {
  return expires >= new Date().toISOString().slice(0, 10)
}

export const exceptionRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/exceptions',
    summary: 'The debt register: every exception, soonest to expire first',
    tag: 'exceptions',
    access: 'viewer',
    schema: { response: { 200: { type: 'array', items: EXCEPTION } } },
    handler: (ctx) => listExceptions(ctx.store),
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
      if (!future(input.expires))
        return reply.code(400).send({
          error: 'invalid request',
          details: [{ in: 'body', path: '/expires', message: 'must be today or later' }],
        })
      const created = await createException(ctx.store, input, req.caller?.token?.name ?? 'anonymous')
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
    handler: async (ctx, req, reply) =>
      (await updateException(ctx.store, (req.params as { id: number }).id, req.body as ExceptionInput)) ??
      notFound(reply, 'exception'),
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
