/**
 * Which webhooks a request reaches, decided as the API server decides it (admission/plugin/webhook/
 * predicates and generic/webhook.go in Kubernetes): the namespaceSelector first (cluster-scoped
 * objects always pass; a Namespace is judged by its own labels, the new ones on create and update),
 * then the objectSelector (old or new labels), then the rules (operation, group, version, resource
 * with subresource wildcards, scope), and for matchPolicy Equivalent the same rules against the other
 * versions that share the resource's storage.
 */
import type { ResourceType } from './catalog.js'
import type { ResourceRegistry } from './registry.js'
import { type LabelRequirement, matchesLabels } from './selectors.js'
import { isObj, type Obj, stringMap } from './types.js'

export interface MatchRequest {
  readonly operation: string
  readonly type: ResourceType
  readonly subresource: string
  /** For a Namespace, its own name, as the API server sets it. */
  readonly namespace: string
  readonly object: Obj | null
  readonly oldObject: Obj | null
}

/** A labelSelector (matchLabels, matchExpressions) as requirements; undefined when it is empty. */
export function selectorRequirements(sel: unknown): LabelRequirement[] | undefined {
  if (!isObj(sel)) return undefined
  const reqs: LabelRequirement[] = []
  for (const [key, value] of Object.entries(stringMap(sel.matchLabels))) reqs.push({ op: 'eq', key, value })
  const exprs = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []
  for (const e of exprs) {
    if (!isObj(e)) continue
    const key = String(e.key ?? '')
    const values = Array.isArray(e.values) ? e.values.map((v) => String(v)) : []
    if (e.operator === 'In') reqs.push({ op: 'in', key, values })
    else if (e.operator === 'NotIn') reqs.push({ op: 'notin', key, values })
    else if (e.operator === 'Exists') reqs.push({ op: 'exists', key })
    else if (e.operator === 'DoesNotExist') reqs.push({ op: 'notexists', key })
  }
  return reqs.length > 0 ? reqs : undefined
}

function labelsOf(obj: Obj | null): Record<string, string> | undefined {
  if (!obj || !isObj(obj.metadata)) return undefined
  return stringMap(obj.metadata.labels)
}

export function isNamespaceResource(type: ResourceType): boolean {
  return type.group === '' && type.resource === 'namespaces'
}

/**
 * The namespaceSelector's verdict; `labelsOfNamespace` answers undefined for a namespace that does
 * not exist, which the caller turns into the API server's 404.
 */
export function matchesNamespaceSelector(
  hook: Obj,
  r: MatchRequest,
  labelsOfNamespace: (name: string) => Record<string, string> | undefined,
): boolean | 'namespace-not-found' {
  const isNamespace = isNamespaceResource(r.type)
  if (!r.namespace && !isNamespace) return true
  const reqs = selectorRequirements(hook.namespaceSelector)
  if (!reqs) return true
  let labels: Record<string, string> | undefined
  if (isNamespace && !r.subresource && (r.operation === 'CREATE' || r.operation === 'UPDATE'))
    labels = labelsOf(r.object) ?? {}
  else labels = labelsOfNamespace(r.namespace)
  if (!labels) return 'namespace-not-found'
  return matchesLabels(reqs, labels)
}

export function matchesObjectSelector(hook: Obj, r: MatchRequest): boolean {
  const reqs = selectorRequirements(hook.objectSelector)
  if (!reqs) return true
  const check = (o: Obj | null) => {
    const labels = labelsOf(o)
    return labels !== undefined && matchesLabels(reqs, labels)
  }
  return check(r.object) || check(r.oldObject)
}

function listHas(items: unknown, value: string): boolean {
  return Array.isArray(items) && items.some((i) => i === '*' || i === value)
}

function ruleMatches(rule: Obj, r: MatchRequest, type: ResourceType): boolean {
  const scope = typeof rule.scope === 'string' ? rule.scope : '*'
  const isNamespace = isNamespaceResource(type)
  if (scope === 'Namespaced' && (isNamespace || !r.namespace)) return false
  if (scope === 'Cluster' && !(isNamespace || !r.namespace)) return false
  if (scope !== '*' && scope !== 'Namespaced' && scope !== 'Cluster') return false
  if (!listHas(rule.operations, r.operation)) return false
  if (!listHas(rule.apiGroups, type.group)) return false
  if (!listHas(rule.apiVersions, type.version)) return false
  const resources = Array.isArray(rule.resources) ? rule.resources : []
  return resources.some((entry) => {
    const s = String(entry)
    const slash = s.indexOf('/')
    const res = slash >= 0 ? s.slice(0, slash) : s
    const sub = slash >= 0 ? s.slice(slash + 1) : ''
    return (res === '*' || res === type.resource) && (sub === '*' || sub === r.subresource)
  })
}

/** What a webhook is called as: the requested resource, or an equivalent one (matchPolicy Equivalent). */
export interface Invocation {
  readonly type: ResourceType
}

/** The served versions of the same resource, sharing its storage, in discovery order. */
export function equivalentTypes(registry: ResourceRegistry, type: ResourceType): ResourceType[] {
  return registry.all().filter((t) => t.storageKey === type.storageKey && t.resource === type.resource)
}

export function matchRules(hook: Obj, r: MatchRequest, registry: ResourceRegistry): Invocation | undefined {
  const rules = (Array.isArray(hook.rules) ? hook.rules : []).filter(isObj)
  if (rules.some((rule) => ruleMatches(rule, r, r.type))) return { type: r.type }
  if (hook.matchPolicy !== 'Equivalent') return undefined
  const others = equivalentTypes(registry, r.type).filter((t) => t !== r.type && t.version !== r.type.version)
  for (const rule of rules) for (const t of others) if (ruleMatches(rule, r, t)) return { type: t }
  return undefined
}
