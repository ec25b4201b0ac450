/**
 * An API route as data: its method, URL, who may call it, the JSON schemas of what it takes and gives
 * (Fastify validates requests with them, and the OpenAPI document is built from them), and a handler.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CheckMetadata } from '../policy/check.js'
import type { Framework } from '../policy/frameworks.js'
import type { Store } from '../store/connect.js'
import type { TokenInfo } from '../store/tokens.js'
import type { AgentHub } from './agent-hub.js'
import type { LiveClusterSource } from './live-clusters.js'

/** Who may call a route: anyone, a viewer or admin token, an admin token, or an agent token only. */
export type Access = 'public' | 'viewer' | 'admin' | 'agent'

import type { EnforcementConfig } from '../webhook/enforcement.js'

export type JsonSchema = Record<string, unknown>

export interface ApiContext {
  store: Store
  /** clusters shown live, by name: watched here (serve --cluster), or pushed by a reporting agent */
  clusters: ReadonlyMap<string, LiveClusterSource>
  /** the agents' clusters: their reports and committed changes, told to live streams */
  agents: AgentHub
  /** what ends each open stream: called when the server closes (a stream never ends by itself) */
  streams: Set<() => void>
  checks: ReadonlyMap<string, CheckMetadata>
  /** by id, built once */
  frameworks: ReadonlyMap<string, Framework>
  /** the webhook's modes and exemptions, as the enforcement plan reads them */
  enforcement: EnforcementConfig
}

export type Caller =
  /** a person or a tool; without a token for anonymous read access */
  { token?: TokenInfo; role: 'viewer' | 'admin' } | { token: TokenInfo & { role: 'agent' }; role: 'agent' }

/**
 * Who made a change, as the store records it: the name of the caller's token (an admin route always
 * has one: anonymous callers only read).
 */
export function callerName(request: { caller?: Caller }): string {
  return request.caller?.token?.name ?? 'anonymous'
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  url: string
  summary: string
  tag: string
  access: Access
  schema: {
    querystring?: JsonSchema
    params?: JsonSchema
    body?: JsonSchema
    response: Record<number, JsonSchema>
  }
  /** the largest body it takes, bytes (default 64 KiB) */
  bodyLimit?: number
  handler(
    ctx: ApiContext,
    request: FastifyRequest & { caller?: Caller },
    reply: FastifyReply,
  ): Promise<unknown>
}

/** `a,b,c` query values, each one of `values`. */
export function listParam(values: readonly string[], description: string): JsonSchema {
  const one = `(${values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`
  return {
    type: 'string',
    pattern: `^${one}(,${one})*$`,
    description: `${description}: comma-separated, of ${values.join(', ')}`,
  }
}

export function splitList(value: string | undefined): string[] | undefined {
  return value ? value.split(',').filter(Boolean) : undefined
}

export const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string' },
    details: {
      type: 'array',
      items: {
        type: 'object',
        properties: { in: { type: 'string' }, path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
}

/** A query string of these parameters, and no others. */
export function query(properties: Record<string, unknown>): JsonSchema {
  return { type: 'object', additionalProperties: false, properties }
}

export const TARGET_PARAM: JsonSchema = { type: 'string', maxLength: 500, description: 'only this target' }

/** A page of a list: `{total, limit, offset, items}`. */
export function pageOf(item: JsonSchema): JsonSchema {
  return {
    type: 'object',
    properties: {
      total: { type: 'integer' },
      limit: { type: 'integer' },
      offset: { type: 'integer' },
      items: { type: 'array', items: item },
    },
  }
}

export const PAGE_QUERY = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'items per page' },
  offset: { type: 'integer', minimum: 0, default: 0, description: 'items to skip' },
} as const

export const ID_PARAMS: JsonSchema = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'integer', minimum: 1 } },
}

export function notFound(reply: FastifyReply, what: string) {
  return reply.code(404).send({ error: `${what} not found` })
}
