/** Posture: the summary the overview shows, compliance per framework, and trends over time. */
import type { Summary } from '../../api-types.js'
import { compliance, frameworkChain } from '../../policy/frameworks.js'
import { countOpen, currentEvaluations, listTargets, type Stat, trends } from '../../store/queries.js'
import { vulnerabilityPosture } from '../../store/vulnerabilities.js'
import { type ApiContext, notFound, query, type Route, TARGET_PARAM } from '../route.js'

/** Share of check × resource evaluations that pass, in percent, to a tenth. */
function score(s: Stat): number {
  return s.applied === 0 ? 100 : Math.round((1 - s.failed / s.applied) * 1000) / 10
}

function sum(stats: Iterable<Stat>): Stat {
  const out = { applied: 0, failed: 0 }
  for (const s of stats) {
    out.applied += s.applied
    out.failed += s.failed
  }
  return out
}

const TARGET_QUERY = query({ target: TARGET_PARAM })

const SCORED = {
  type: 'object',
  properties: { score: { type: 'number' }, applied: { type: 'integer' }, failed: { type: 'integer' } },
}

async function summary(ctx: ApiContext, target: string | undefined): Promise<Summary> {
  const { byCheck, byNamespace } = await currentEvaluations(ctx.store, target)
  const filter = target ? { target } : {}
  const severities = await countOpen(ctx.store, 'severity', filter)
  const topChecks = await countOpen(ctx.store, 'check_id', filter, 10)
  const topNamespaces = await countOpen(ctx.store, 'namespace', filter, 10)
  const vulnerabilities = await vulnerabilityPosture(ctx.store, target)
  const byCategory = new Map<string, Stat[]>()
  for (const [id, s] of byCheck) {
    const category = ctx.checks.get(id)?.category ?? 'other'
    byCategory.set(category, [...(byCategory.get(category) ?? []), s])
  }
  // Imported image scans weigh in as one evaluation per image (see vulnerabilityPosture).
  const images = { applied: vulnerabilities.images, failed: vulnerabilities.failingImages }
  if (images.applied > 0) byCategory.set('vulnerabilities', [images])
  const stats = Object.fromEntries(byCheck)
  const metas = [...ctx.checks.values()]
  const total = sum([...byCheck.values(), images])
  return {
    score: score(total),
    ...total,
    open: Object.fromEntries(severities.map((s) => [s.key, s.count])),
    byCategory: [...byCategory]
      .map(([category, list]) => ({ category, ...sum(list), score: score(sum(list)) }))
      .sort((a, b) => a.score - b.score || a.category.localeCompare(b.category)),
    byFramework: [...ctx.frameworks.values()].map((f) => {
      const report = compliance(frameworkChain(ctx.frameworks, f.id), metas, stats)
      return { id: f.id, title: report.title, score: report.score }
    }),
    byNamespace: [...byNamespace]
      .map(([namespace, s]) => ({ namespace, ...s, score: score(s) }))
      .sort((a, b) => a.score - b.score || a.namespace.localeCompare(b.namespace)),
    topChecks: topChecks.map((c) => {
      const check = ctx.checks.get(c.key)
      // Another tool's id (an import's) has no metadata here: its severity is its findings'.
      return {
        checkId: c.key,
        title: check?.title ?? c.key,
        severity: check?.severity ?? c.worst,
        open: c.count,
      }
    }),
    topNamespaces: topNamespaces.map((n) => ({ namespace: n.key, open: n.count })),
    targets: await listTargets(ctx.store),
    vulnerabilities,
  }
}

export const postureRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/summary',
    summary:
      'Posture now: score overall and by category, framework and namespace; open findings by severity; top checks and namespaces',
    tag: 'posture',
    access: 'viewer',
    schema: {
      querystring: TARGET_QUERY,
      response: {
        200: {
          type: 'object',
          properties: {
            score: { type: 'number' },
            applied: { type: 'integer' },
            failed: { type: 'integer' },
            open: { type: 'object', additionalProperties: { type: 'integer' } },
            byCategory: {
              type: 'array',
              items: { ...SCORED, properties: { ...SCORED.properties, category: { type: 'string' } } },
            },
            byFramework: {
              type: 'array',
              items: {
                type: 'object',
                properties: { id: { type: 'string' }, title: { type: 'string' }, score: { type: 'number' } },
              },
            },
            byNamespace: {
              type: 'array',
              items: { ...SCORED, properties: { ...SCORED.properties, namespace: { type: 'string' } } },
            },
            topChecks: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  checkId: { type: 'string' },
                  title: { type: 'string' },
                  severity: { type: 'string' },
                  open: { type: 'integer' },
                },
              },
            },
            topNamespaces: {
              type: 'array',
              items: {
                type: 'object',
                properties: { namespace: { type: 'string' }, open: { type: 'integer' } },
              },
            },
            targets: { type: 'array', items: { type: 'string' } },
            vulnerabilities: {
              type: 'object',
              properties: Object.fromEntries(
                ['images', 'failingImages', 'open', 'fixable', 'overdue', 'overdueDays'].map((k) => [
                  k,
                  { type: 'integer' },
                ]),
              ),
            },
          },
        },
      },
    },
    handler: (ctx, req) => summary(ctx, (req.query as { target?: string }).target),
  },
  {
    method: 'GET',
    url: '/api/compliance/:framework',
    summary: "A framework's controls, each passing, failing or not applicable, with the checks behind it",
    tag: 'posture',
    access: 'viewer',
    schema: {
      params: {
        type: 'object',
        required: ['framework'],
        additionalProperties: false,
        properties: { framework: { type: 'string', pattern: '^[a-z0-9-]+$' } },
      },
      querystring: TARGET_QUERY,
      response: { 200: { type: 'object', additionalProperties: true } },
    },
    handler: async (ctx, req, reply) => {
      const { framework } = req.params as { framework: string }
      if (!ctx.frameworks.has(framework)) return notFound(reply, `framework '${framework}'`)
      const { byCheck } = await currentEvaluations(ctx.store, (req.query as { target?: string }).target)
      return compliance(
        frameworkChain(ctx.frameworks, framework),
        [...ctx.checks.values()],
        Object.fromEntries(byCheck),
      )
    },
  },
  {
    method: 'GET',
    url: '/api/trends',
    summary:
      'Open findings per day, by severity, over the last days (each target at its last run of the day)',
    tag: 'posture',
    access: 'viewer',
    schema: {
      querystring: query({
        target: TARGET_PARAM,
        days: { type: 'integer', minimum: 1, maximum: 366, default: 30 },
      }),
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              day: { type: 'string' },
              open: { type: 'integer' },
              excepted: { type: 'integer' },
              bySeverity: { type: 'object', additionalProperties: { type: 'integer' } },
            },
          },
        },
      },
    },
    handler: (ctx, req) => {
      const q = req.query as { target?: string; days: number }
      return trends(ctx.store, q.days, q.target)
    },
  },
]
