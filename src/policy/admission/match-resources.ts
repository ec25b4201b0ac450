/**
 * `matchConstraints` (of a policy) and `matchResources` (of a binding): which requests they select, read
 * from the document and matched as the API server's matcher does (k8s.io/apiserver/pkg/admission/plugin/
 * policy/matching): namespace selector, object selector, excluded rules, then rules.
 */
import type { PathSegment } from '../../resources/types.js'
import { selectorMatches } from '../cel/selectors.js'
import { isJsonMap } from '../json-map.js'
import type { AdmissionRequestInfo } from './request.js'
import { anyRuleMatches, type MatchPolicy, OPERATIONS, type ResourceRule, type Scope } from './resources.js'
import type { Json, Shape } from './shape.js'

export interface MatchResources {
  /** undefined selects every namespace, as the API server's default `{}` does */
  namespaceSelector?: Json
  objectSelector?: Json
  /** empty: every resource (a binding that does not narrow its policy) */
  resourceRules: ResourceRule[]
  excludeResourceRules: ResourceRule[]
  matchPolicy: MatchPolicy
}

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const

/** A metav1.LabelSelector at `path`, every mistake in it said with its field. */
export function readSelector(shape: Shape, parent: Json, path: PathSegment[]): Json | undefined {
  const selector = shape.object(parent, path)
  if (!selector) return undefined
  const labels = shape.object(selector, [...path, 'matchLabels'])
  for (const [key, value] of Object.entries(labels ?? {}))
    if (typeof value !== 'string') shape.fail([...path, 'matchLabels', key], 'expected a string label value')
  for (const { item, path: at } of shape.objects(selector, [...path, 'matchExpressions'])) {
    shape.string(item, [...at, 'key'], { required: true })
    const operator = shape.string(item, [...at, 'operator'], { required: true, oneOf: SELECTOR_OPERATORS })
    const values = shape.strings(item, [...at, 'values'])
    if ((operator === 'In' || operator === 'NotIn') && values.length === 0)
      shape.fail([...at, 'values'], `required: operator ${operator} needs values`)
    if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0)
      shape.fail([...at, 'values'], `must be empty for operator ${operator}`)
  }
  return selector
}

function readRules(shape: Shape, parent: Json, path: PathSegment[], required: boolean): ResourceRule[] {
  return shape.objects(parent, path, required).map(({ item, path: at }) => ({
    apiGroups: shape.strings(item, [...at, 'apiGroups'], { required: true }),
    apiVersions: shape.strings(item, [...at, 'apiVersions'], { required: true }),
    resources: shape.strings(item, [...at, 'resources'], { required: true }),
    operations: shape.strings(item, [...at, 'operations'], { required: true, oneOf: [...OPERATIONS, '*'] }),
    resourceNames: shape.strings(item, [...at, 'resourceNames']),
    scope:
      (shape.string(item, [...at, 'scope'], {
        oneOf: ['Cluster', 'Namespaced', '*'],
      }) as ResourceRule['scope']) ?? '*',
  }))
}

export function readMatchResources(
  shape: Shape,
  parent: Json,
  path: PathSegment[],
  options: { required: boolean },
): MatchResources | undefined {
  const m = shape.object(parent, path, options.required)
  if (!m) return undefined
  const out: MatchResources = {
    resourceRules: readRules(shape, m, [...path, 'resourceRules'], options.required),
    excludeResourceRules: readRules(shape, m, [...path, 'excludeResourceRules'], false),
    matchPolicy:
      (shape.string(m, [...path, 'matchPolicy'], { oneOf: ['Equivalent', 'Exact'] }) as MatchPolicy) ??
      'Equivalent',
  }
  const namespaceSelector = readSelector(shape, m, [...path, 'namespaceSelector'])
  if (namespaceSelector) out.namespaceSelector = namespaceSelector
  const objectSelector = readSelector(shape, m, [...path, 'objectSelector'])
  if (objectSelector) out.objectSelector = objectSelector
  return out
}

export interface MatchSubject {
  request: AdmissionRequestInfo
  object: Json | null
  oldObject: Json | null
  /** The request's namespace; when unknown, a namespace without labels. */
  namespaceObject?: Json | null
}

function labelsOf(object: Json | null | undefined): Json {
  const meta = object?.metadata
  return isJsonMap(meta) && isJsonMap(meta.labels) ? meta.labels : {}
}

/**
 * A Namespace is matched on its own labels; any other cluster-scoped resource always matches (the API
 * server never skips a policy for it on account of the namespace selector).
 */
function namespaceMatches(selector: Json | undefined, s: MatchSubject): boolean {
  if (!selector) return true
  const { group, kind } = s.request.kind
  if (group === '' && kind === 'Namespace')
    return selectorMatches(selector, labelsOf(s.object ?? s.oldObject))
  if (s.request.scope === 'Cluster' || s.request.namespace === '') return true
  return selectorMatches(selector, labelsOf(s.namespaceObject))
}

function objectMatches(selector: Json | undefined, s: MatchSubject): boolean {
  if (!selector) return true
  const test = (o: Json | null) => o !== null && selectorMatches(selector, labelsOf(o))
  return test(s.object) || test(s.oldObject)
}

export function matchesResources(m: MatchResources, s: MatchSubject): boolean {
  if (!namespaceMatches(m.namespaceSelector, s) || !objectMatches(m.objectSelector, s)) return false
  const subject = {
    resource: s.request.resource,
    subResource: s.request.subResource,
    operation: s.request.operation,
    name: s.request.name,
    scope: s.request.scope as Scope,
  }
  if (anyRuleMatches(m.excludeResourceRules, subject, m.matchPolicy)) return false
  return m.resourceRules.length === 0 || anyRuleMatches(m.resourceRules, subject, m.matchPolicy)
}
