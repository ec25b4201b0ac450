/**
 * The anomaly detector's per-identity baselines over HTTP: anyone may read what each identity has been
 * seen doing, admins reset one (after a role change, say: what it does now is then learned, not
 * reported). A running `audit serve` takes a reset up before its next page of events.
 */
import { DIMENSIONS } from '../../audit/anomaly/baselines.js'
import { loadBaselines, pendingBaselineResets, resetBaseline } from '../../store/audit-baselines.js'
import { callerName, notFound, query, type Route } from '../route.js'

const CLUSTER = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  description: "the audit serve's --cluster-name",
}

export const baselineRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/audit/baselines',
    summary: 'What each identity has been seen doing (the anomaly baselines), most recently active first',
    tag: 'audit',
    access: 'viewer',
    schema: {
      querystring: {
        ...query({ cluster: CLUSTER, identity: { type: 'string', maxLength: 500 } }),
        required: ['cluster'],
      },
      response: { 200: { type: 'object', additionalProperties: true } },
    },
    handler: async (ctx, req) => {
      const q = req.query as { cluster: string; identity?: string }
      const baselines = (await loadBaselines(ctx.store, q.cluster))
        .filter((b) => q.identity === undefined || b.identity === q.identity)
        .sort((a, b) => b.lastSeen.localeCompare(a.lastSeen) || a.identity.localeCompare(b.identity))
      return {
        cluster: q.cluster,
        pendingResets: await pendingBaselineResets(ctx.store.db, q.cluster),
        baselines: baselines.map((b) => ({
          identity: b.identity,
          firstSeen: b.firstSeen,
          lastSeen: b.lastSeen,
          seen: Object.fromEntries(DIMENSIONS.map((d) => [d, b.seen[d] ?? []])),
        })),
      }
    },
  },
  {
    method: 'DELETE',
    url: '/api/audit/baselines/:cluster/:identity',
    summary: "Reset an identity's baseline (admin): it is learned again from its next event",
    tag: 'audit',
    access: 'admin',
    schema: {
      params: {
        type: 'object',
        required: ['cluster', 'identity'],
        additionalProperties: false,
        properties: { cluster: CLUSTER, identity: { type: 'string', minLength: 1, maxLength: 500 } },
      },
      response: { 200: { type: 'object', additionalProperties: true } },
    },
    handler: async (ctx, req, reply) => {
      const { cluster, identity } = req.params as { cluster: string; identity: string }
      const known = (await loadBaselines(ctx.store, cluster)).some((b) => b.identity === identity)
      if (!known) return notFound(reply, `a baseline for ${JSON.stringify(identity)} in cluster ${cluster}`)
      await resetBaseline(ctx.store, cluster, identity, callerName(req))
      return { cluster, identity, reset: true }
    },
  },
]
