/**
 * The HTTP server: the REST API under /api (bearer tokens; viewers read, admins change), its OpenAPI
 * document, health and readiness, and Prometheus metrics. A thin layer: every answer comes from the
 * store's queries, every request is validated against its route's schema first.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify'
import type { Problem } from '../api-types.js'
import type { CheckMetadata } from '../policy/check.js'
import type { Framework } from '../policy/frameworks.js'
import type { Store } from '../store/connect.js'
import { verifyToken } from '../store/tokens.js'
import { exceptionRoutes } from './api/exceptions.js'
import { findingRoutes } from './api/findings.js'
import { meRoutes } from './api/me.js'
import { postureRoutes } from './api/posture.js'
import { runRoutes } from './api/runs.js'
import { StoreMetrics } from './metrics.js'
import { openapiDocument } from './openapi.js'
import type { ApiContext, Caller, Route } from './route.js'
import { registerDashboard } from './static.js'

export const ROUTES: readonly Route[] = [
  ...postureRoutes,
  ...findingRoutes,
  ...runRoutes,
  ...exceptionRoutes,
  ...meRoutes,
]

export interface ServerOptions {
  store: Store
  checks: readonly CheckMetadata[]
  frameworks: readonly Framework[]
  /** let requests without a token read (never change) */
  anonymousRead?: boolean
  /** log requests (pino, to stdout) */
  logger?: boolean
  https?: { key: Buffer; cert: Buffer }
  /** the built dashboard (default: dist/web next to the server) */
  webDir?: string
}

type WithCaller = FastifyRequest & { caller?: Caller }

/** The JSON pointer of what is wrong, including the name of a missing or unexpected property. */
function pathOf(v: { instancePath: string; params: Record<string, unknown> }): string {
  const name = v.params.missingProperty ?? v.params.additionalProperty
  return typeof name === 'string' ? `${v.instancePath}/${name}` : v.instancePath
}

async function authenticate(
  request: WithCaller,
  store: Store,
  anonymousRead: boolean,
): Promise<{ status: 401 | 403; error: string } | undefined> {
  const header = request.headers.authorization
  if (!header) {
    if (anonymousRead) {
      request.caller = { role: 'viewer' }
      return undefined
    }
    return { status: 401, error: 'authentication required: send Authorization: Bearer <token>' }
  }
  const m = /^Bearer\s+(\S+)$/i.exec(header)
  const token = m ? await verifyToken(store, m[1]!) : undefined
  if (!token) return { status: 401, error: 'invalid token' }
  request.caller = { token, role: token.role }
  return undefined
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 64 * 1024,
    ...(options.https ? { https: options.https } : {}),
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: true } },
  })
  const ctx: ApiContext = {
    store: options.store,
    checks: new Map(options.checks.map((c) => [c.id, c])),
    frameworks: new Map(options.frameworks.map((f) => [f.id, f])),
  }

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const details: Problem[] = error.validation.map((v) => ({
        in: error.validationContext ?? 'request',
        path: pathOf(v),
        message: v.message ?? 'invalid',
      }))
      return reply.code(400).send({ error: 'invalid request', details })
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message })
    request.log.error(error)
    return reply.code(500).send({ error: 'internal error' })
  })
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route for ${request.method} ${request.url.split('?')[0]}` }),
  )

  const anonymousRead = options.anonymousRead === true
  for (const route of ROUTES) {
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      // onRequest: who may call comes before what they sent (a viewer's POST is 403, not 400).
      onRequest: async (request: WithCaller, reply) => {
        if (route.access === 'public') return
        const problem = await authenticate(request, options.store, anonymousRead)
        if (problem) {
          if (problem.status === 401) reply.header('www-authenticate', 'Bearer')
          return reply.code(problem.status).send({ error: problem.error })
        }
        if (route.access === 'admin' && request.caller?.role !== 'admin')
          return reply.code(403).send({ error: 'this needs an admin token' })
      },
      handler: (request, reply) => route.handler(ctx, request as WithCaller, reply),
    })
  }

  const document = openapiDocument(ROUTES)
  app.get('/api/openapi.json', async () => document)
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    try {
      await options.store.db.selectFrom('runs').select('id').limit(1).execute()
      return { status: 'ready' }
    } catch {
      return reply.code(503).send({ status: 'store unavailable' })
    }
  })
  const metrics = new StoreMetrics(options.store)
  app.get('/metrics', async (request: WithCaller, reply) => {
    const problem = await authenticate(request, options.store, anonymousRead)
    if (problem)
      return reply.code(problem.status).header('www-authenticate', 'Bearer').send({ error: problem.error })
    return reply.type(metrics.registry.contentType).send(await metrics.render())
  })
  registerDashboard(app, options.webDir)
  return app
}
