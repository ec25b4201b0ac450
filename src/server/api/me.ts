/** Who is asking: what the dashboard shows or hides (admin actions) depends on it. */
import type { Route } from '../route.js'

export const meRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/me',
    summary: "The caller's role (viewer or admin), token name, and whether it came without a token",
    tag: 'access',
    access: 'viewer',
    schema: {
      response: {
        200: {
          type: 'object',
          properties: {
            role: { type: 'string', enum: ['viewer', 'admin'] },
            name: { type: ['string', 'null'] },
            anonymous: { type: 'boolean' },
          },
        },
      },
    },
    handler: async (_ctx, req) => ({
      role: req.caller?.role ?? 'viewer',
      name: req.caller?.token?.name ?? null,
      anonymous: req.caller?.token === undefined,
    }),
  },
]
