/**
 * The audit alerts' silences over HTTP: anyone may list them, admins add and expire them. They are
 * Alertmanager's (src/audit/alerts/silences.ts): the same validation, and expiring one ends it now.
 * Every alert pipeline re-reads them within 10 s.
 */
import { SILENCE_STATES, type SilenceRequest, type SilenceState } from '../../api-types.js'
import { parseDuration } from '../../audit/alerts/config.js'
import { MATCH_TYPES } from '../../audit/alerts/matchers.js'
import { addSilence, expire, SilenceError } from '../../audit/alerts/silences.js'
import { silenceView } from '../../audit/alerts/state-view.js'
import { getSilence, listSilences } from '../../store/alerts.js'
import { callerName, type JsonSchema, notFound, query, type Route } from '../route.js'

const SILENCE: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    matchers: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, type: { type: 'string' }, value: { type: 'string' } },
      },
    },
    startsAt: { type: 'string' },
    endsAt: { type: 'string' },
    createdBy: { type: 'string' },
    comment: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    state: { type: 'string', enum: [...SILENCE_STATES] },
  },
}

const INPUT: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['matchers', 'comment'],
  properties: {
    matchers: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      description: 'Alertmanager matchers: `user="ci-bot"`, `rule=~"Attach.*"`, or {name, type, value}',
      items: {
        anyOf: [
          { type: 'string', minLength: 1, maxLength: 1000 },
          {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'type', 'value'],
            properties: {
              name: { type: 'string', maxLength: 200 },
              type: { type: 'string', enum: [...MATCH_TYPES] },
              value: { type: 'string', maxLength: 1000 },
            },
          },
        ],
      },
    },
    startsAt: { type: 'string', format: 'date-time', description: 'default: now' },
    endsAt: { type: 'string', format: 'date-time', description: 'or `duration`' },
    duration: {
      type: 'string',
      maxLength: 50,
      description: 'from startsAt, as Prometheus writes durations (`2h`, `1h30m`, `7d`); or `endsAt`',
    },
    comment: { type: 'string', maxLength: 2000, description: 'why (required)' },
  },
}

const ID = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
}

export const silenceRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/audit/silences',
    summary: 'The silences of the audit alerts, soonest start first',
    tag: 'audit',
    access: 'viewer',
    schema: {
      querystring: query({
        state: {
          type: 'string',
          enum: [...SILENCE_STATES, 'all'],
          description: 'active, pending (starts later), expired, all; default: active and pending',
        },
      }),
      response: { 200: { type: 'array', items: SILENCE } },
    },
    handler: async (ctx, req) => {
      const state = (req.query as { state?: SilenceState | 'all' }).state
      const now = Date.now()
      const notEnded = state === 'active' || state === 'pending' || state === undefined
      const silences = await listSilences(
        ctx.store,
        notEnded ? { notEndedAt: new Date(now).toISOString() } : {},
      )
      return silences
        .map((s) => silenceView(s, now))
        .filter((s) => state === undefined || state === 'all' || s.state === state)
    },
  },
  {
    method: 'POST',
    url: '/api/audit/silences',
    summary: 'Add a silence (admin): matchers, a time range (endsAt or duration), a comment',
    tag: 'audit',
    access: 'admin',
    schema: { body: INPUT, response: { 201: SILENCE } },
    handler: async (ctx, req, reply) => {
      const body = req.body as SilenceRequest
      const now = Date.now()
      const bad = (error: string) => reply.code(400).send({ error })
      if ((body.endsAt === undefined) === (body.duration === undefined))
        return bad('give the end of the silence as endsAt or as duration (one of them)')
      let endsAt = body.endsAt
      if (body.duration !== undefined) {
        const ms = parseDuration(body.duration)
        if (ms === undefined || ms <= 0)
          return bad(`invalid duration ${JSON.stringify(body.duration)}: expected e.g. 30m, 2h, 1h30m, 7d`)
        const start = body.startsAt !== undefined ? Date.parse(body.startsAt) : now
        endsAt = new Date(start + ms).toISOString()
      }
      try {
        const silence = await addSilence(
          ctx.store,
          {
            matchers: body.matchers,
            ...(body.startsAt !== undefined ? { startsAt: body.startsAt } : {}),
            endsAt: endsAt!,
            createdBy: callerName(req),
            comment: body.comment,
          },
          now,
        )
        const stored = await getSilence(ctx.store, silence.id)
        return reply.code(201).send(silenceView(stored!, now))
      } catch (err) {
        if (err instanceof SilenceError) return bad(err.message)
        throw err
      }
    },
  },
  {
    method: 'DELETE',
    url: '/api/audit/silences/:id',
    summary: 'Expire a silence now (admin); its alerts are sent at their next flush if still firing',
    tag: 'audit',
    access: 'admin',
    schema: { params: ID, response: { 200: SILENCE } },
    handler: async (ctx, req, reply) => {
      const id = (req.params as { id: string }).id
      const now = Date.now()
      if (!(await expire(ctx.store, id, now))) {
        const known = await getSilence(ctx.store, id)
        return known
          ? reply.code(404).send({ error: `silence ${id} has already ended (${known.endsAt})` })
          : notFound(reply, `silence ${id}`)
      }
      return silenceView((await getSilence(ctx.store, id))!, now)
    },
  },
]
