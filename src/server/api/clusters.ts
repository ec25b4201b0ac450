/**
 * Clusters: the targets cluster watchers record (here with `serve --cluster`, or elsewhere), their
 * findings by namespace with Pod Security Admission's view, the watch's health, and a live stream of
 * what changes.
 */
import type { ClusterDetail, ClusterEvent, ClusterNamespace, ClusterSummary } from '../../api-types.js'
import { currentSession } from '../../store/agent-sessions.js'
import { clusterNames, clusterSummary, openByNamespace, zeros } from '../../store/clusters.js'
import type { ApiContext, JsonSchema, Route } from '../route.js'
import { notFound } from '../route.js'

const NAME_PARAMS: JsonSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 253 } },
}

/** How often a live stream says the watch's health, and keeps idle proxies from closing it. */
const HEALTH_EVERY_MS = 5000

async function summaryOf(ctx: ApiContext, name: string): Promise<ClusterSummary> {
  // A replica standing by (--leader-elect) shows the cluster as the store knows it, like one watched elsewhere.
  const health = ctx.clusters.get(name)?.health()
  const watching = health !== undefined && health.standby === undefined
  const summary: ClusterSummary = { ...(await clusterSummary(ctx.store, name)), live: watching }
  if (watching) summary.health = health
  if (health?.standby) summary.standby = health.standby
  const agent = await currentSession(ctx.store, name)
  if (agent)
    summary.agent = {
      startedAt: agent.startedAt,
      lastPushAt: agent.lastPushAt,
      messages: agent.lastSeq,
      version: agent.agentVersion,
    }
  return summary
}

export const clusterRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/clusters',
    summary: 'Clusters: watched here, or recorded by a watcher or an agent; open findings and the last run',
    tag: 'clusters',
    access: 'viewer',
    schema: { response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } } },
    handler: async (ctx) => {
      const names = new Set([...(await clusterNames(ctx.store)), ...ctx.clusters.keys()])
      return Promise.all([...names].sort().map((name) => summaryOf(ctx, name)))
    },
  },
  {
    method: 'GET',
    url: '/api/clusters/:name',
    summary:
      "One cluster: its namespaces' open findings and Pod Security (what breaks if tightened), its watch's health",
    tag: 'clusters',
    access: 'viewer',
    schema: { params: NAME_PARAMS, response: { 200: { type: 'object', additionalProperties: true } } },
    handler: async (ctx, req, reply) => {
      const { name } = req.params as { name: string }
      const live = ctx.clusters.get(name)
      if (!live && !(await clusterNames(ctx.store)).includes(name)) return notFound(reply, 'cluster')
      const open = await openByNamespace(ctx.store, name)
      const psa = new Map((live?.podSecurity() ?? []).map((p) => [p.namespace, p]))
      const names = new Set([...open.keys(), ...psa.keys()])
      const namespaces: ClusterNamespace[] = [...names].sort().map((namespace) => {
        const entry: ClusterNamespace = {
          namespace,
          open: open.get(namespace) ?? zeros(),
        }
        const podSecurity = psa.get(namespace)
        if (podSecurity) entry.podSecurity = podSecurity
        return entry
      })
      const detail: ClusterDetail = { ...(await summaryOf(ctx, name)), namespaces }
      return detail
    },
  },
  {
    method: 'GET',
    url: '/api/clusters/:name/events',
    summary:
      'Live events of a cluster watched here, as newline-delimited JSON: changes (findings opened and resolved) as they are committed, and the health every 5 s',
    tag: 'clusters',
    access: 'viewer',
    schema: { params: NAME_PARAMS, response: { 200: { type: 'string' } } },
    handler: async (ctx, req, reply) => {
      const { name } = req.params as { name: string }
      const live = ctx.clusters.get(name)
      if (!live) return notFound(reply, 'live cluster')
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'cache-control': 'no-cache, no-store',
        'x-request-id': String(req.id),
      })
      const send = (event: ClusterEvent) => {
        if (!res.writableEnded) res.write(`${JSON.stringify(event)}\n`)
      }
      const health = () => send({ type: 'health', at: new Date().toISOString(), health: live.health() })
      health()
      const timer = setInterval(health, HEALTH_EVERY_MS)
      const unsubscribe = live.subscribe(send)
      const end = () => {
        clearInterval(timer)
        unsubscribe()
        ctx.streams.delete(end)
        if (!res.writableEnded) res.end()
      }
      ctx.streams.add(end)
      req.raw.on('close', end)
    },
  },
]
