/**
 * Imported vulnerabilities (Trivy, Grype) by image, by advisory, fixable or not, and by age
 * (src/store/vulnerabilities.ts; docs/api.md).
 */
import {
  FINDING_STATES,
  FIX_STATES,
  type FindingState,
  type Severity,
  VULNERABILITY_GROUPINGS,
  type VulnerabilityGrouping,
} from '../../api-types.js'
import { SEVERITIES } from '../../policy/check.js'
import {
  groupVulnerabilities,
  listVulnerabilities,
  type VulnerabilityFilter,
  vulnerabilitySummary,
} from '../../store/vulnerabilities.js'
import { type JsonSchema, listParam, pageOf, query, type Route, splitList, TARGET_PARAM } from '../route.js'
import { BOUNDED_PAGE_QUERY } from './paging.js'

const FILTER_QUERY = {
  target: TARGET_PARAM,
  image: { type: 'string', maxLength: 1000, description: 'only this image or artifact' },
  advisory: {
    type: 'string',
    maxLength: 200,
    // no `%` or `_`: the id is matched inside the aliases' JSON with LIKE
    pattern: '^[A-Za-z0-9][A-Za-z0-9.:/-]*$',
    description: 'only this advisory (CVE-..., GHSA-...), also where it is an alias of the one reported',
  },
  fixable: { type: 'boolean', description: 'true: a fixed version is known; false: none is' },
  severity: listParam(SEVERITIES, 'severities'),
  state: listParam(FINDING_STATES, "the findings' lifecycle states (default: open)"),
} as const

interface FilterQuery {
  target?: string
  image?: string
  advisory?: string
  fixable?: boolean
  severity?: string
  state?: string
}

function filterOf(q: FilterQuery): VulnerabilityFilter {
  const severity = splitList(q.severity) as Severity[] | undefined
  const state = splitList(q.state) as FindingState[] | undefined
  return {
    ...(q.target !== undefined ? { target: q.target } : {}),
    ...(q.image !== undefined ? { image: q.image } : {}),
    ...(q.advisory !== undefined ? { advisory: q.advisory } : {}),
    ...(q.fixable !== undefined ? { fixable: q.fixable } : {}),
    ...(severity ? { severity } : {}),
    ...(state ? { state } : {}),
  }
}

const SEVERITY_COUNTS: JsonSchema = {
  type: 'object',
  properties: Object.fromEntries(SEVERITIES.map((s) => [s, { type: 'integer' }])),
}

const ITEM: JsonSchema = {
  type: 'object',
  properties: {
    findingId: { type: 'integer', description: "the finding's id (GET /api/findings/{id})" },
    target: { type: 'string' },
    advisory: { type: 'string' },
    aliases: { type: 'array', items: { type: 'string' } },
    tool: { type: 'string' },
    package: { type: 'string' },
    packageType: { type: 'string', description: "the tool's word (apk, deb, gem...); '' when not stated" },
    installedVersion: { type: 'string' },
    fixedVersion: { type: ['string', 'null'] },
    fixState: { type: 'string', enum: [...FIX_STATES] },
    fixable: { type: 'boolean' },
    image: { type: 'string' },
    severity: { type: 'string', enum: [...SEVERITIES] },
    state: { type: 'string', enum: [...FINDING_STATES] },
    resource: {
      type: 'object',
      properties: { kind: { type: 'string' }, namespace: { type: 'string' }, name: { type: 'string' } },
    },
    container: { type: ['string', 'null'] },
    firstSeen: { type: 'string' },
    lastSeen: { type: 'string' },
    ageDays: { type: 'integer', description: 'whole days since first seen' },
  },
}

const GROUP: JsonSchema = {
  type: 'object',
  properties: {
    key: { type: 'string', description: 'the image, or the advisory' },
    count: { type: 'integer' },
    fixable: { type: 'integer' },
    severity: { type: 'string', enum: [...SEVERITIES], description: 'the worst among them' },
    bySeverity: SEVERITY_COUNTS,
    images: { type: 'integer' },
    packages: { type: 'integer' },
    targets: { type: 'integer' },
    oldestDays: { type: 'integer', description: 'days since the oldest of them was first seen' },
  },
}

const SUMMARY: JsonSchema = {
  type: 'object',
  properties: {
    count: { type: 'integer' },
    fixable: { type: 'integer' },
    notFixable: { type: 'integer' },
    byFixState: {
      type: 'object',
      properties: Object.fromEntries(FIX_STATES.map((s) => [s, { type: 'integer' }])),
    },
    bySeverity: SEVERITY_COUNTS,
    age: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          label: { type: 'string' },
          from: { type: 'integer' },
          to: { type: ['integer', 'null'] },
          count: { type: 'integer' },
          fixable: { type: 'integer' },
        },
      },
    },
    images: pageOf(GROUP),
    advisories: pageOf(GROUP),
  },
}

export const vulnerabilityRoutes: Route[] = [
  {
    method: 'GET',
    url: '/api/vulnerabilities/summary',
    summary:
      'Imported vulnerabilities: how many, fixable or not, by severity and age; the worst images and advisories',
    tag: 'vulnerabilities',
    access: 'viewer',
    schema: {
      querystring: query({
        ...FILTER_QUERY,
        top: { type: 'integer', minimum: 1, maximum: 100, default: 10, description: 'images and advisories' },
      }),
      response: { 200: SUMMARY },
    },
    handler: async (ctx, req) => {
      const q = req.query as FilterQuery & { top: number }
      return vulnerabilitySummary(ctx.store, filterOf(q), q.top)
    },
  },
  {
    method: 'GET',
    url: '/api/vulnerabilities',
    summary: 'Imported vulnerabilities, worst first, then oldest first',
    tag: 'vulnerabilities',
    access: 'viewer',
    schema: {
      querystring: query({ ...FILTER_QUERY, ...BOUNDED_PAGE_QUERY }),
      response: { 200: pageOf(ITEM) },
    },
    handler: async (ctx, req) => {
      const q = req.query as FilterQuery & { limit: number; offset: number }
      return listVulnerabilities(ctx.store, filterOf(q), { limit: q.limit, offset: q.offset })
    },
  },
  {
    method: 'GET',
    url: '/api/vulnerabilities/by/:grouping',
    summary: 'Imported vulnerabilities by image or by advisory, the worst first, then the most',
    tag: 'vulnerabilities',
    access: 'viewer',
    schema: {
      params: {
        type: 'object',
        required: ['grouping'],
        additionalProperties: false,
        properties: { grouping: { type: 'string', enum: [...VULNERABILITY_GROUPINGS] } },
      },
      querystring: query({ ...FILTER_QUERY, ...BOUNDED_PAGE_QUERY }),
      response: { 200: pageOf(GROUP) },
    },
    handler: async (ctx, req) => {
      const q = req.query as FilterQuery & { limit: number; offset: number }
      const { grouping } = req.params as { grouping: VulnerabilityGrouping }
      return groupVulnerabilities(ctx.store, filterOf(q), grouping, { limit: q.limit, offset: q.offset })
    },
  },
]
