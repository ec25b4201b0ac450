/** The enforcement plan of a cluster, as `plimsoll enforce plan` makes it (docs/admission.md). */
import {
  DEFAULT_PLAN_DAYS,
  DEFAULT_TEAM_LABEL,
  plannableClusters,
  readPlan,
} from '../../enforce/read-plan.js'
import { query, type Route } from '../route.js'

export const enforcementRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/enforcement/clusters',
    summary:
      'The clusters a plan can be made for: those the cluster scan recorded, and those the webhook recorded decisions of',
    tag: 'admissions',
    access: 'viewer',
    schema: {
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              scanned: { type: 'boolean' },
              admissions: { type: 'number' },
            },
          },
        },
      },
    },
    handler: async (ctx) => plannableClusters(ctx.store),
  },
  {
    method: 'GET',
    url: '/api/enforcement/plan',
    summary:
      'For each check and namespace: objects failing now, admissions it would have denied, owners, and the next step (audit, warn, enforce)',
    tag: 'admissions',
    access: 'viewer',
    schema: {
      querystring: query({
        cluster: {
          type: 'string',
          maxLength: 253,
          description: "the watcher's and the webhook's cluster name (default: the store's only cluster)",
        },
        days: {
          type: 'integer',
          minimum: 1,
          maximum: 90,
          default: DEFAULT_PLAN_DAYS,
          description: 'admissions of the last days read',
        },
        teamLabel: {
          type: 'string',
          maxLength: 317,
          default: DEFAULT_TEAM_LABEL,
          description: "the label naming a namespace's or an object's team",
        },
      }),
      response: { 200: { type: 'object', additionalProperties: true } },
    },
    handler: async (ctx, req, reply) => {
      const q = req.query as { cluster?: string; days: number; teamLabel: string }
      let cluster = q.cluster
      if (cluster === undefined) {
        const clusters = (await plannableClusters(ctx.store)).map((c) => c.name)
        if (clusters.length !== 1)
          return reply.code(400).send({
            error:
              clusters.length === 0
                ? 'no cluster scan and no admission recorded yet'
                : `the store holds ${clusters.length} clusters (${clusters.join(', ')}): say which with ?cluster=`,
          })
        cluster = clusters[0]!
      }
      return readPlan(ctx.store, {
        cluster,
        days: q.days,
        teamLabel: q.teamLabel,
        config: ctx.enforcement,
        checks: ctx.checks,
      })
    },
  },
]
