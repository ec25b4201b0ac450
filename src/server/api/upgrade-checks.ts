/**
 * Upgrade readiness: the latest `plimsoll upgrade-check --store` of each target to each release, and
 * one check with its findings by impact and area (src/store/upgrade-checks.ts; docs/api.md).
 */
import { UPGRADE_AREAS, UPGRADE_IMPACTS, type UpgradeArea, type UpgradeImpact } from '../../api-types.js'
import { getUpgradeCheck, listUpgradeChecks } from '../../store/upgrade-checks.js'
import {
  ID_PARAMS,
  type JsonSchema,
  listParam,
  notFound,
  pageOf,
  query,
  type Route,
  splitList,
  TARGET_PARAM,
} from '../route.js'

const COUNTS: JsonSchema = {
  type: 'object',
  properties: Object.fromEntries(UPGRADE_IMPACTS.map((i) => [i, { type: 'integer' }])),
}

const RELEASE: JsonSchema = { type: 'string', description: 'v1.N' }

const SUMMARY_PROPERTIES = {
  id: { type: 'integer' },
  target: { type: 'string' },
  checkedAt: { type: 'string' },
  from: RELEASE,
  to: RELEASE,
  fromSource: {
    type: 'string',
    enum: ['flag', 'cluster', 'default'],
    description: "where `from` came from: --from, the cluster's /version, or one release before `to`",
  },
  newestKnown: { ...RELEASE, description: 'the newest release the data knew' },
  clusterVersion: { type: ['string', 'null'], description: "the cluster's gitVersion, when one was read" },
  objects: { type: 'integer' },
  files: { type: 'integer' },
  errors: { type: 'integer', description: 'inputs that could not be read or parsed' },
  counts: COUNTS,
  byArea: {
    type: 'object',
    properties: Object.fromEntries(UPGRADE_AREAS.map((a) => [a, COUNTS])),
  },
  checks: { type: 'integer', description: 'checks of this target to this release kept, this one included' },
  plimsollVersion: { type: 'string' },
} as const

const SUMMARY: JsonSchema = { type: 'object', properties: SUMMARY_PROPERTIES }

const FINDING: JsonSchema = {
  type: 'object',
  properties: {
    area: { type: 'string', enum: [...UPGRADE_AREAS] },
    impact: { type: 'string', enum: [...UPGRADE_IMPACTS] },
    id: {
      type: 'string',
      description: "an API version and kind, a feature's id, or a Pod Security check's id",
    },
    title: { type: 'string' },
    object: {
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        name: { type: 'string' },
        namespace: { type: 'string' },
      },
    },
    file: { type: 'string' },
    line: { type: 'integer' },
    column: { type: 'integer' },
    path: { type: 'string' },
    version: { ...RELEASE, description: 'the release it happens in' },
    message: { type: 'string' },
    replacement: { type: 'string', description: 'what to use or do instead' },
    notes: { type: 'string', description: 'the field changes the move needs' },
  },
}

const strings = (properties: string[]): JsonSchema => ({
  type: 'object',
  properties: Object.fromEntries(properties.map((p) => [p, { type: 'string' }])),
})

const CHECK: JsonSchema = {
  type: 'object',
  properties: {
    ...SUMMARY_PROPERTIES,
    notes: { type: 'array', items: { type: 'string' } },
    notVisibleInManifests: {
      type: 'array',
      items: strings(['id', 'title', 'version', 'instead', 'cannotSee']),
    },
    podSecurityStandardChanges: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          title: { type: 'string' },
          level: { type: 'string', enum: ['baseline', 'restricted'] },
          versions: { type: 'array', items: RELEASE },
        },
      },
    },
    servedAtRisk: {
      type: 'array',
      items: strings(['apiVersion', 'kind', 'deprecatedIn', 'removedIn', 'replacement']),
    },
    notRead: { type: 'array', items: strings(['what', 'message']) },
    errorList: {
      type: 'array',
      items: {
        type: 'object',
        properties: { file: { type: 'string' }, line: { type: 'integer' }, message: { type: 'string' } },
      },
    },
    findings: pageOf(FINDING),
  },
}

export const upgradeCheckRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/upgrade-checks',
    summary: 'The latest upgrade check of each target to each release, with its counts by impact and area',
    tag: 'upgrades',
    access: 'viewer',
    schema: {
      querystring: query({ target: TARGET_PARAM }),
      response: { 200: { type: 'array', items: SUMMARY } },
    },
    handler: async (ctx, req) => {
      const { target } = req.query as { target?: string }
      return listUpgradeChecks(ctx.store, target !== undefined ? { target } : {})
    },
  },
  {
    method: 'GET',
    url: '/api/upgrade-checks/:id',
    summary:
      'One upgrade check: what breaks, what is deprecated and which Pod Security verdicts change, object by object, with what to use instead',
    tag: 'upgrades',
    access: 'viewer',
    schema: {
      params: ID_PARAMS,
      querystring: query({
        impact: listParam(UPGRADE_IMPACTS, 'only findings of these impacts'),
        area: listParam(UPGRADE_AREAS, 'only findings of these areas'),
        limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000, description: 'findings' },
        offset: { type: 'integer', minimum: 0, default: 0, description: 'findings to skip' },
      }),
      response: { 200: CHECK },
    },
    handler: async (ctx, req, reply) => {
      const { id } = req.params as { id: number }
      const q = req.query as { impact?: string; area?: string; limit: number; offset: number }
      const impact = splitList(q.impact) as UpgradeImpact[] | undefined
      const area = splitList(q.area) as UpgradeArea[] | undefined
      const check = await getUpgradeCheck(ctx.store, id, {
        ...(impact ? { impact } : {}),
        ...(area ? { area } : {}),
        limit: q.limit,
        offset: q.offset,
      })
      return check ?? notFound(reply, `upgrade check ${id}`)
    },
  },
]
