/**
 * An audit policy (audit.k8s.io/v1 Policy) as kube-apiserver applies it (k8s.io/apiserver
 * pkg/audit/policy/checker.go): the first rule that matches a request decides its level (None,
 * Metadata, Request, RequestResponse) and which stages are left out; no matching rule means None.
 *
 * A rule matches when every field it sets matches: `users` (the user name), `userGroups` (any of the
 * user's groups), `verbs`, and then either the resource fields (`namespaces`, `resources` with `group`,
 * `resources` — `pods`, `pods/status`, `*`, `*\/status`, `pods/*` — and `resourceNames`), which only
 * match resource requests, or `nonResourceURLs` (an exact path or a prefix ending in `*`), which only
 * match non-resource requests. `omitStages` of the policy and of the rule add up; a rule's
 * `omitManagedFields` overrides the policy's.
 */
import { load } from 'js-yaml'
import { isObj, type Obj, type UserInfo } from './types.js'

export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse'
export type AuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic'

const LEVELS: readonly AuditLevel[] = ['None', 'Metadata', 'Request', 'RequestResponse']
const STAGES: readonly AuditStage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic']

/** `a` is at least `b` (None < Metadata < Request < RequestResponse). */
export function levelAtLeast(a: AuditLevel, b: AuditLevel): boolean {
  return LEVELS.indexOf(a) >= LEVELS.indexOf(b)
}

export interface GroupResources {
  readonly group?: string
  readonly resources?: readonly string[]
  readonly resourceNames?: readonly string[]
}

export interface PolicyRule {
  readonly level: AuditLevel
  readonly users?: readonly string[]
  readonly userGroups?: readonly string[]
  readonly verbs?: readonly string[]
  readonly resources?: readonly GroupResources[]
  readonly namespaces?: readonly string[]
  readonly nonResourceURLs?: readonly string[]
  readonly omitStages?: readonly AuditStage[]
  readonly omitManagedFields?: boolean
}

export interface AuditPolicy {
  readonly rules: readonly PolicyRule[]
  readonly omitStages?: readonly AuditStage[]
  readonly omitManagedFields?: boolean
}

/** What the policy checker is asked about a request. */
export type AuditAttributes = {
  /** Undefined when the request did not authenticate (the 401 event has `"user": {}`). */
  readonly user?: UserInfo
  readonly verb: string
} & (
  | {
      readonly kind: 'resource'
      readonly group: string
      readonly resource: string
      readonly subresource: string
      readonly namespace: string
      readonly name: string
    }
  | { readonly kind: 'nonResource'; readonly path: string }
)

export interface RequestAuditConfig {
  readonly level: AuditLevel
  readonly omitStages: readonly AuditStage[]
  readonly omitManagedFields: boolean
}

function strings(value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new Error(`audit policy: ${what} must be a list of strings`)
  return value as string[]
}

function stages(value: unknown, what: string): AuditStage[] | undefined {
  const list = strings(value, what)
  for (const s of list ?? [])
    if (!STAGES.includes(s as AuditStage)) throw new Error(`audit policy: ${what}: unknown stage ${s}`)
  return list as AuditStage[] | undefined
}

/**
 * Reads a Policy from YAML or JSON text or a decoded object, checking it as the API server does at
 * startup (apiVersion audit.k8s.io/v1, kind Policy, known levels and stages, no rule with both
 * resource and non-resource fields).
 */
export function parseAuditPolicy(source: string | Obj | AuditPolicy): AuditPolicy {
  const doc = typeof source === 'string' ? load(source) : source
  if (!isObj(doc)) throw new Error('audit policy: not an object')
  if (doc.apiVersion !== undefined && doc.apiVersion !== 'audit.k8s.io/v1')
    throw new Error(`audit policy: unsupported apiVersion ${String(doc.apiVersion)}`)
  if (doc.kind !== undefined && doc.kind !== 'Policy')
    throw new Error(`audit policy: kind must be Policy, not ${String(doc.kind)}`)
  const rawRules = doc.rules
  if (!Array.isArray(rawRules)) throw new Error('audit policy: rules must be a list')
  const rules = rawRules.map((r, i): PolicyRule => {
    if (!isObj(r)) throw new Error(`audit policy: rules[${i}] is not an object`)
    const level = r.level
    if (!LEVELS.includes(level as AuditLevel))
      throw new Error(`audit policy: rules[${i}].level: unknown level ${String(level)}`)
    const resources = r.resources
    if (resources !== undefined && !Array.isArray(resources))
      throw new Error(`audit policy: rules[${i}].resources must be a list`)
    const groups = (resources ?? []).map((g: unknown, j: number): GroupResources => {
      if (!isObj(g)) throw new Error(`audit policy: rules[${i}].resources[${j}] is not an object`)
      const out: { group?: string; resources?: string[]; resourceNames?: string[] } = {}
      if (typeof g.group === 'string') out.group = g.group
      const res = strings(g.resources, `rules[${i}].resources[${j}].resources`)
      if (res) out.resources = res
      const names = strings(g.resourceNames, `rules[${i}].resources[${j}].resourceNames`)
      if (names) out.resourceNames = names
      return out
    })
    const rule: {
      -readonly [K in keyof PolicyRule]: PolicyRule[K]
    } = { level: level as AuditLevel }
    const users = strings(r.users, `rules[${i}].users`)
    if (users) rule.users = users
    const userGroups = strings(r.userGroups, `rules[${i}].userGroups`)
    if (userGroups) rule.userGroups = userGroups
    const verbs = strings(r.verbs, `rules[${i}].verbs`)
    if (verbs) rule.verbs = verbs
    if (groups.length > 0) rule.resources = groups
    const namespaces = strings(r.namespaces, `rules[${i}].namespaces`)
    if (namespaces) rule.namespaces = namespaces
    const urls = strings(r.nonResourceURLs, `rules[${i}].nonResourceURLs`)
    if (urls) rule.nonResourceURLs = urls
    if ((rule.resources || rule.namespaces) && rule.nonResourceURLs)
      throw new Error(`audit policy: rules[${i}] has both resource and non-resource fields`)
    const omit = stages(r.omitStages, `rules[${i}].omitStages`)
    if (omit) rule.omitStages = omit
    if (typeof r.omitManagedFields === 'boolean') rule.omitManagedFields = r.omitManagedFields
    return rule
  })
  const policy: { -readonly [K in keyof AuditPolicy]: AuditPolicy[K] } = { rules }
  const omit = stages(doc.omitStages, 'omitStages')
  if (omit) policy.omitStages = omit
  if (typeof doc.omitManagedFields === 'boolean') policy.omitManagedFields = doc.omitManagedFields
  return policy
}

function ruleMatchesResource(r: PolicyRule, a: AuditAttributes): boolean {
  if (a.kind !== 'resource') return false
  if (r.namespaces && r.namespaces.length > 0 && !r.namespaces.includes(a.namespace)) return false
  if (!r.resources || r.resources.length === 0) return true
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource
  for (const gr of r.resources) {
    if ((gr.group ?? '') !== a.group) continue
    if (!gr.resources || gr.resources.length === 0) return true
    for (const res of gr.resources) {
      if (gr.resourceNames && gr.resourceNames.length > 0 && !gr.resourceNames.includes(a.name)) continue
      if (res === combined || res === '*') return true
      if (a.subresource && res.startsWith('*/') && a.subresource === res.slice(2)) return true
      if (res.endsWith('/*') && a.resource === res.slice(0, -2)) return true
    }
  }
  return false
}

function ruleMatchesNonResource(r: PolicyRule, a: AuditAttributes): boolean {
  if (a.kind !== 'nonResource') return false
  for (const spec of r.nonResourceURLs ?? []) {
    if (spec === '*' || spec === a.path) return true
    if (spec.endsWith('*') && a.path.startsWith(spec.slice(0, -1))) return true
  }
  return false
}

export function ruleMatches(r: PolicyRule, a: AuditAttributes): boolean {
  if (r.users && r.users.length > 0) {
    if (!a.user || !r.users.includes(a.user.username)) return false
  }
  if (r.userGroups && r.userGroups.length > 0) {
    if (!a.user?.groups.some((g) => r.userGroups?.includes(g))) return false
  }
  if (r.verbs && r.verbs.length > 0 && !r.verbs.includes(a.verb)) return false
  if ((r.namespaces && r.namespaces.length > 0) || (r.resources && r.resources.length > 0))
    return ruleMatchesResource(r, a)
  if (r.nonResourceURLs && r.nonResourceURLs.length > 0) return ruleMatchesNonResource(r, a)
  return true
}

/** The level, omitted stages and managed-fields choice for a request (None when no rule matches). */
export function evaluatePolicy(policy: AuditPolicy, a: AuditAttributes): RequestAuditConfig {
  const base = policy.omitStages ?? []
  for (const r of policy.rules) {
    if (!ruleMatches(r, a)) continue
    return {
      level: r.level,
      omitStages: [...new Set([...base, ...(r.omitStages ?? [])])],
      omitManagedFields: r.omitManagedFields ?? policy.omitManagedFields ?? false,
    }
  }
  return { level: 'None', omitStages: base, omitManagedFields: policy.omitManagedFields ?? false }
}
