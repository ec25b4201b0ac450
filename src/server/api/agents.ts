/**
 * The door agents push through (`plimsoll agent`, one per cluster): an agent opens a session, then
 * sends its run as numbered messages, each applied exactly once (see src/store/agent-sessions.ts); it
 * reports its watch's health every few seconds and reads the exceptions register. Only agent tokens
 * are let in, and each writes only the cluster its token names.
 */
import type { FastifyReply } from 'fastify'
import {
  type AgentMessage,
  applyMessage,
  currentSession,
  openSession,
  SessionRefused,
} from '../../store/agent-sessions.js'
import { exceptionRules } from '../../store/exceptions.js'
import type { TokenInfo } from '../../store/tokens.js'
import type { AgentStatus } from '../agent-hub.js'
import type { JsonSchema, Route } from '../route.js'
import { MESSAGE_BODY, MESSAGE_BYTES, SESSION_BODY, SESSION_ID, STATUS_BODY } from './agent-schemas.js'

type AgentToken = TokenInfo & { role: 'agent' }

const SESSION_PARAMS: JsonSchema = {
  type: 'object',
  required: ['session'],
  additionalProperties: false,
  properties: { session: SESSION_ID },
}

/** The agent token's cluster (the route's access lets no other token in). */
function clusterOf(caller: { token?: TokenInfo } | undefined): string {
  const token = caller?.token as AgentToken | undefined
  if (token?.role !== 'agent') throw new Error('agent route reached without an agent token')
  return token.cluster
}

/** A refusal as the agent reads it: 404 (open a new session), 409 (stop, or resend from `expected`). */
function refuse(reply: FastifyReply, err: SessionRefused) {
  const status = err.reason === 'unknown' ? 404 : 409
  return reply.code(status).send({
    error: err.message,
    reason: err.reason,
    ...(err.expected !== undefined ? { expected: err.expected } : {}),
  })
}

const REFUSAL: JsonSchema = {
  type: 'object',
  required: ['error', 'reason'],
  properties: { error: { type: 'string' }, reason: { type: 'string' }, expected: { type: 'integer' } },
}

export const agentRoutes: Route[] = [
  {
    method: 'POST',
    url: '/api/agent/sessions',
    summary:
      "An agent opens its session (or finds it opened by an earlier try): a new run of the token's cluster",
    tag: 'agents',
    access: 'agent',
    schema: {
      body: SESSION_BODY,
      response: {
        200: {
          type: 'object',
          properties: {
            cluster: { type: 'string' },
            runId: { type: 'integer' },
            lastSeq: { type: 'integer' },
          },
        },
        409: REFUSAL,
      },
    },
    handler: async (ctx, req, reply) => {
      const cluster = clusterOf(req.caller)
      const body = req.body as {
        session: string
        agentVersion: string
        run: { startedAt: string; plimsollVersion: string; policyVersion: string; checks: number }
      }
      try {
        const opened = await openSession(ctx.store, {
          session: body.session,
          cluster,
          tokenId: req.caller!.token!.id,
          agentVersion: body.agentVersion,
          run: body.run,
        })
        return { cluster, ...opened }
      } catch (err) {
        if (err instanceof SessionRefused) return refuse(reply, err)
        throw err
      }
    },
  },
  {
    method: 'POST',
    url: '/api/agent/sessions/:session/messages',
    summary:
      "An agent's next message (changes, or its first sync done), applied once: a message sent again is answered as a duplicate",
    tag: 'agents',
    access: 'agent',
    bodyLimit: MESSAGE_BYTES,
    schema: {
      params: SESSION_PARAMS,
      body: MESSAGE_BODY,
      response: {
        200: {
          type: 'object',
          properties: {
            seq: { type: 'integer' },
            applied: { type: 'boolean' },
            opened: { type: 'integer' },
            reopened: { type: 'integer' },
            resolved: { type: 'integer' },
          },
        },
        404: REFUSAL,
        409: REFUSAL,
      },
    },
    handler: async (ctx, req, reply) => {
      const cluster = clusterOf(req.caller)
      const { session } = req.params as { session: string }
      const message = req.body as AgentMessage
      try {
        const outcome = await applyMessage(ctx.store, { session, cluster }, message)
        if (!outcome.applied) return { seq: message.seq, applied: false }
        if (message.type === 'sync') {
          ctx.agents.synced(cluster)
          return { seq: message.seq, applied: true, resolved: outcome.resolved ?? 0 }
        }
        const changes = outcome.changes!
        if (changes.described)
          ctx.agents.committed(cluster, changes.described, message.batch.totals.bySeverity)
        return {
          seq: message.seq,
          applied: true,
          opened: changes.opened,
          reopened: changes.reopened,
          resolved: changes.resolved,
        }
      } catch (err) {
        if (err instanceof SessionRefused) return refuse(reply, err)
        throw err
      }
    },
  },
  {
    method: 'PUT',
    url: '/api/agent/sessions/:session/status',
    summary:
      "An agent's watch health and Pod Security view, shown live by the dashboard (its latest kept in the store, for every replica)",
    tag: 'agents',
    access: 'agent',
    bodyLimit: MESSAGE_BYTES,
    schema: {
      params: SESSION_PARAMS,
      body: STATUS_BODY,
      response: { 204: { type: 'null' }, 404: REFUSAL, 409: REFUSAL },
    },
    handler: async (ctx, req, reply) => {
      const cluster = clusterOf(req.caller)
      const { session } = req.params as { session: string }
      const current = await currentSession(ctx.store, cluster)
      if (current?.session !== session)
        return refuse(
          reply,
          current
            ? new SessionRefused('superseded', `session ${session} is not cluster ${cluster}'s current one`)
            : new SessionRefused('unknown', `no session ${session} for cluster ${cluster}`),
        )
      if (!(await ctx.agents.report(cluster, session, req.body as AgentStatus)))
        return reply.code(409).send({
          error: `cluster ${cluster} is watched by this server itself; its agent's view is not shown`,
          reason: 'watched-here',
        })
      return reply.code(204).send()
    },
  },
  {
    method: 'GET',
    url: '/api/agent/exceptions',
    summary:
      "The token's cluster, and the exceptions register as the rules its agent applies (read again every minute)",
    tag: 'agents',
    access: 'agent',
    schema: {
      response: {
        200: {
          type: 'object',
          properties: {
            cluster: { type: 'string' },
            rules: { type: 'array', items: { type: 'object', additionalProperties: true } },
          },
        },
      },
    },
    handler: async (ctx, req) => ({ cluster: clusterOf(req.caller), rules: await exceptionRules(ctx.store) }),
  },
]
