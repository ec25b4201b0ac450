/**
 * Kyverno's match and exclude blocks: `any` (one filter suffices), `all` (every filter), or the legacy
 * form (one filter written directly under match/exclude). A filter is a resource description (kinds,
 * names, namespaces, annotations, selectors, operations) plus who makes the request (subjects, roles,
 * cluster roles). Semantics follow Kyverno's engine: every field given in a filter must hold.
 */
import { selectorMatches } from '../cel/selectors.js'
import { type KindSelector, kindMatches, type ResourceKind } from './kinds.js'
import { hasWildcard, wildcardMatch } from './wildcard.js'

export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: string; values?: string[] }[]
}

export interface ResourceDescription {
  kinds: KindSelector[]
  /** the kinds as written, for autogen and messages */
  kindTexts: string[]
  name?: string
  names?: string[]
  namespaces?: string[]
  annotations?: Record<string, string>
  selector?: LabelSelector
  namespaceSelector?: LabelSelector
  operations?: string[]
}

export interface Subject {
  kind: string
  name: string
  namespace?: string
}

export interface ResourceFilter {
  resources: ResourceDescription
  subjects: Subject[]
  roles: string[]
  clusterRoles: string[]
}

export type MatchBlock = { mode: 'any' | 'all'; filters: ResourceFilter[] }

/** Who asks: the user info of a Kyverno test's userinfo file, or of an admission request. */
export interface RequestUser {
  username: string
  groups: string[]
  roles: string[]
  clusterRoles: string[]
}

export interface MatchTarget {
  object: Record<string, unknown>
  kind: ResourceKind
  operation: string
  /** labels of the resource's namespace, when known (a values file, or the Namespace in the input) */
  namespaceLabels?: Record<string, string>
  user: RequestUser
}

function metadata(object: Record<string, unknown>): Record<string, unknown> {
  const m = object.metadata
  return m && typeof m === 'object' && !Array.isArray(m) ? (m as Record<string, unknown>) : {}
}

function stringMap(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {}
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v
  return out
}

/** A label selector whose matchLabels may hold wildcards in keys and values (Kyverno extends it so). */
export function wildcardSelectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (hasWildcard(key) || hasWildcard(value)) {
      if (!Object.entries(labels).some(([k, v]) => wildcardMatch(key, k) && wildcardMatch(value, v)))
        return false
    } else if (labels[key] !== value) return false
  }
  return selectorMatches({ matchExpressions: selector.matchExpressions ?? [] }, labels)
}

function subjectMatches(subject: Subject, user: RequestUser): boolean {
  switch (subject.kind) {
    case 'ServiceAccount':
      return user.username === `system:serviceaccount:${subject.namespace ?? ''}:${subject.name}`
    case 'Group':
      return user.groups.some((g) => wildcardMatch(subject.name, g))
    default:
      return wildcardMatch(subject.name, user.username)
  }
}

function descriptionMatches(d: ResourceDescription, t: MatchTarget): boolean {
  const meta = metadata(t.object)
  if (d.kinds.length > 0 && !d.kinds.some((k) => kindMatches(k, t.kind))) return false
  const name =
    typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName : ''
  if (d.name !== undefined && !wildcardMatch(d.name, name)) return false
  if (d.names && !d.names.some((n) => wildcardMatch(n, name))) return false
  if (d.namespaces) {
    // A Namespace is matched by its own name.
    const ns = t.kind.kind === 'Namespace' ? name : typeof meta.namespace === 'string' ? meta.namespace : ''
    if (!d.namespaces.some((n) => wildcardMatch(n, ns))) return false
  }
  if (d.annotations) {
    const have = stringMap(meta.annotations)
    for (const [key, value] of Object.entries(d.annotations)) {
      if (!Object.entries(have).some(([k, v]) => wildcardMatch(key, k) && wildcardMatch(value, v)))
        return false
    }
  }
  if (d.selector && !wildcardSelectorMatches(d.selector, stringMap(meta.labels))) return false
  if (d.namespaceSelector) {
    if (t.kind.kind === 'Namespace') return false
    if (!wildcardSelectorMatches(d.namespaceSelector, t.namespaceLabels ?? {})) return false
  }
  if (d.operations && !d.operations.includes(t.operation)) return false
  return true
}

function filterMatches(f: ResourceFilter, t: MatchTarget): boolean {
  if (!descriptionMatches(f.resources, t)) return false
  if (f.roles.length > 0 && !f.roles.some((r) => t.user.roles.includes(r))) return false
  if (f.clusterRoles.length > 0 && !f.clusterRoles.some((r) => t.user.clusterRoles.includes(r))) return false
  if (f.subjects.length > 0 && !f.subjects.some((s) => subjectMatches(s, t.user))) return false
  return true
}

export function blockMatches(block: MatchBlock, t: MatchTarget): boolean {
  return block.mode === 'any'
    ? block.filters.some((f) => filterMatches(f, t))
    : block.filters.every((f) => filterMatches(f, t))
}

/** Whether a rule applies: its match block holds and its exclude block (if any) does not. */
export function ruleApplies(match: MatchBlock, exclude: MatchBlock | undefined, t: MatchTarget): boolean {
  if (!blockMatches(match, t)) return false
  return !(exclude && exclude.filters.length > 0 && blockMatches(exclude, t))
}
