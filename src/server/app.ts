/**
 * The HTTP server: the REST API under /api (bearer tokens; viewers read, admins change), its OpenAPI
 * document, health and readiness, and Prometheus metrics. A thin layer: every answer comes from the
 * store's queries, every request is validated against its route's schema first.
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify'
import type { Problem } from '../api-types.js'
import type { CheckMetadata } from '../policy/check.js'
import type { Framework } from '../policy/frameworks.js'
import { type Store, StoreBusyError } from '../store/connect.js'
import { TokenUse, verifyToken } from '../store/tokens.js'
import { defaultEnforcement, type EnforcementConfig } from '../webhook/enforcement.js'
import { AgentHub } from './agent-hub.js'
import { admissionRoutes } from './api/admissions.js'
import { agentRoutes } from './api/agents.js'
import { assessmentRoutes } from './api/assessments.js'
import { auditRoutes } from './api/audit.js'
import { clusterRoutes } from './api/clusters.js'
import { enforcementRoutes } from './api/enforcement.js'
import { exceptionRoutes } from './api/exceptions.js'
import { findingRoutes } from './api/findings.js'
import { meRoutes } from './api/me.js'
import { postureRoutes } from './api/posture.js'
import { runRoutes } from './api/runs.js'
import { upgradeCheckRoutes } from './api/upgrade-checks.js'
import { usageRoutes } from './api/usage.js'
import { vulnerabilityRoutes } from './api/vulnerabilities.js'
import type { LiveClusterSource } from './live-clusters.js'
import { StoreMetrics } from './metrics.js'
import { openapiDocument } from './openapi.js'
import type { Access, ApiContext, Caller, Route } from './route.js'
import { registerDashboard } from './static.js'

export const ROUTES: readonly Route[] = [
  ...postureRoutes,
  ...findingRoutes,
  ...runRoutes,
  ...exceptionRoutes,
  ...clusterRoutes,
  ...meRoutes,
  ...agentRoutes,
  ...admissionRoutes,
  ...enforcementRoutes,
  ...auditRoutes,
  ...usageRoutes,
  ...assessmentRoutes,
  ...vulnerabilityRoutes,
  ...upgradeCheckRoutes,
]

export interface ServerOptions {
  store: Store
  checks: readonly CheckMetadata[]
  frameworks: readonly Framework[]
  /** let requests without a token read (never change) */
  anonymousRead?: boolean
  /**
   * pino: every 5xx (error, or warn for a 503), and what fails in the background (warn); each request too
   * at level info. Off by default.
   */
  logger?: FastifyServerOptions['logger']
  https?: { key: Buffer; cert: Buffer }
  /** the built dashboard (default: dist/web next to the server) */
  webDir?: string
  /** clusters this server watches itself (serve --cluster) */
  clusters?: readonly LiveClusterSource[]
  /** an agent that has not reported for this long is no longer shown live, ms (default 60 s) */
  agentStaleMs?: number
  /** the webhook's EnforcementConfig, for the enforcement plan's current modes (default: the webhook's defaults) */
  enforcement?: EnforcementConfig
}

type WithCaller = FastifyRequest & { caller?: Caller }

/** Sent on every answer: no sniffing, no referrer, no framing. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

/** What a client whose store write waited `lockWaitMs` in vain is told to wait before trying again. */
const RETRY_AFTER_SECONDS = 5

/** The JSON pointer of what is wrong, including the name of a missing or unexpected property. */
function pathOf(v: { instancePath: string; params: Record<string, unknown> }): string {
  const name = v.params.missingProperty ?? v.params.additionalProperty
  return typeof name === 'string' ? `${v.instancePath}/${name}` : v.instancePath
}

// RFC 6750: without credentials, the bare challenge; with a bad token, error="invalid_token" (401); with
// a token that may not do this, error="insufficient_scope" (403).
const CHALLENGE = 'Bearer realm="plimsoll"'

interface Denial {
  status: 401 | 403
  challenge: string
  error: string
}

function deny(reply: FastifyReply, denial: Denial) {
  return reply.code(denial.status).header('www-authenticate', denial.challenge).send({ error: denial.error })
}

/**
 * A raw HTTP answer to a request Node's parser refused (it never reaches Fastify, nor its hooks), with the
 * headers every answer carries.
 */
function answerClientError(headers: Readonly<Record<string, string>>) {
  return (err: NodeJS.ErrnoException, socket: Socket) => {
    // A reset connection has gone: there is no one to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const status =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
    const body = JSON.stringify({ error: STATUS_CODES[status] })
    const lines = Object.entries({
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
    }).map(([name, value]) => `${name}: ${value}\r\n`)
    if (socket.writable)
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('')}\r\n${body}`)
    socket.destroy(err)
  }
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const headers = {
    ...SECURITY_HEADERS,
    // Once a browser has reached us over HTTPS, it never tries plain HTTP here again (a year).
    ...(options.https ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  }
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 64 * 1024,
    ...(options.https ? { https: options.https } : {}),
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: true } },
    // Fastify's answers to what it cannot route (a malformed URL) skip the hooks: in our error shape.
    frameworkErrors: (error, request, reply) => {
      ;(reply as FastifyReply)
        .code(error.statusCode ?? 400)
        .header('x-request-id', request.id)
        .send({ error: error.message })
    },
    clientErrorHandler: answerClientError(headers),
  })
  // On the raw response, before Fastify sees the request: every answer carries them, including those that
  // skip Fastify's hooks (a malformed URL, the 503s while the server closes).
  app.server.prependListener('request', (_request, response) => {
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value)
  })
  const clusters = new Map((options.clusters ?? []).map((c) => [c.name, c]))
  const ctx: ApiContext = {
    store: options.store,
    checks: new Map(options.checks.map((c) => [c.id, c])),
    frameworks: new Map(options.frameworks.map((f) => [f.id, f])),
    clusters,
    agents: new AgentHub(clusters, options.agentStaleMs, {
      store: options.store,
      onError: (err) => app.log.warn({ err }, "cannot read the agents' status from the store"),
    }),
    streams: new Set(),
    enforcement: options.enforcement ?? defaultEnforcement(),
  }
  app.addHook('onClose', async () => ctx.agents.close())
  // Streams (a cluster's live events) end as the server starts closing: it waits for its connections,
  // and a stream never ends by itself.
  app.addHook('preClose', async () => {
    for (const end of [...ctx.streams]) end()
  })

  // The id a 5xx is logged under, for whoever got it to quote.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  // What went wrong behind a 5xx, for its log line.
  const faults = new WeakMap<FastifyRequest, unknown>()
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode < 500) return
    const entry = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      err: faults.get(request),
    }
    if (reply.statusCode === 503) request.log.warn(entry, 'answered 503')
    else request.log.error(entry, `answered ${reply.statusCode}`)
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const details: Problem[] = error.validation.map((v) => ({
        in: error.validationContext ?? 'request',
        path: pathOf(v),
        message: v.message ?? 'invalid',
      }))
      return reply.code(400).send({ error: 'invalid request', details })
    }
    if (error instanceof StoreBusyError) {
      faults.set(request, error)
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ error: `${error.message}; try again shortly` })
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message })
    faults.set(request, error)
    return reply.code(500).send({ error: 'internal error' })
  })
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route for ${request.method} ${request.url.split('?')[0]}` }),
  )

  const uses = new TokenUse(options.store, (err) =>
    app.log.warn({ err }, "could not record a token's last use (its next use notes it again)"),
  )
  app.addHook('onClose', () => uses.flush())
  const anonymousRead = options.anonymousRead === true
  /**
   * Who is calling, or why not. A caller without a token may only read, and only if allowed; an agent's
   * token pushes its cluster's findings and may do nothing else (not even read what it pushed).
   */
  async function authorize(
    request: WithCaller,
    access: Exclude<Access, 'public'>,
  ): Promise<Denial | undefined> {
    const header = request.headers.authorization
    if (!header && anonymousRead && access === 'viewer') {
      request.caller = { role: 'viewer' }
      return undefined
    }
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null
    if (!m)
      return {
        status: 401,
        challenge: CHALLENGE,
        error: `${access === 'admin' ? 'this needs an admin token' : access === 'agent' ? 'this needs an agent token' : 'authentication required'}: send Authorization: Bearer <token>`,
      }
    const token = await verifyToken(options.store, m[1]!)
    if (!token)
      return { status: 401, challenge: `${CHALLENGE}, error="invalid_token"`, error: 'invalid token' }
    uses.note(token)
    const insufficient = (error: string): Denial => ({
      status: 403,
      challenge: `${CHALLENGE}, error="insufficient_scope"`,
      error,
    })
    if (token.role === 'agent') {
      if (access !== 'agent') return insufficient("an agent token only pushes its cluster's findings")
      request.caller = { token, role: 'agent' }
      return undefined
    }
    if (access === 'agent')
      return insufficient('this needs an agent token (plimsoll token create --role agent)')
    request.caller = { token, role: token.role }
    if (access === 'admin' && token.role !== 'admin') return insufficient('this needs an admin token')
    return undefined
  }

  for (const route of ROUTES) {
    const access = route.access
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      ...(route.bodyLimit ? { bodyLimit: route.bodyLimit } : {}),
      // onRequest: who may call comes before what they sent (a viewer's POST is 403, not 400).
      onRequest: async (request: WithCaller, reply) => {
        if (access === 'public') return
        const denial = await authorize(request, access)
        if (denial) return deny(reply, denial)
      },
      handler: (request, reply) => route.handler(ctx, request as WithCaller, reply),
    })
  }

  const document = openapiDocument(ROUTES)
  app.get('/api/openapi.json', async () => document)
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (request, reply) => {
    try {
      await options.store.db.selectFrom('runs').select('id').limit(1).execute()
      return { status: 'ready' }
    } catch (err) {
      faults.set(request, err)
      return reply.code(503).send({ status: 'store unavailable' })
    }
  })
  const metrics = new StoreMetrics(options.store, ctx.clusters)
  app.get('/metrics', async (request: WithCaller, reply) => {
    const denial = await authorize(request, 'viewer')
    if (denial) return deny(reply, denial)
    return reply.type(metrics.registry.contentType).send(await metrics.render())
  })
  registerDashboard(app, options.webDir)
  return app
}
