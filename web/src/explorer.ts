/**
 * The findings explorer's state, all of it in the URL's query string so a link shows the same view:
 * `q`, `state`, `severity`, `check`, `namespace`, `kind`, `target`, `group`, `sort`, `order`, `page`.
 * Lists are comma-separated, defaults are left out, and what cannot be read is ignored.
 */
import {
  FINDING_SORTS,
  FINDING_STATES,
  type FindingQuery,
  type FindingSort,
  type FindingState,
  type Order,
  SEVERITIES,
  type Severity,
} from './api'

export const GROUPS = ['none', 'check', 'resource', 'namespace'] as const
export type Group = (typeof GROUPS)[number]

export const PAGE_SIZE = 50

export interface ExplorerState {
  q: string
  state: FindingState[]
  severity: Severity[]
  check: string[]
  namespace: string[]
  kind: string[]
  target: string
  group: Group
  sort: FindingSort
  order: Order
  page: number
}

export const DEFAULT_STATE: ExplorerState = {
  q: '',
  state: ['open'],
  severity: [],
  check: [],
  namespace: [],
  kind: [],
  target: '',
  group: 'none',
  sort: 'severity',
  order: 'desc',
  page: 1,
}

function listOf(search: URLSearchParams, key: string): string[] {
  return (search.get(key) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

function oneOf<T extends string>(allowed: readonly T[], value: string | null, fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback
}

const subset = <T extends string>(allowed: readonly T[], values: string[]): T[] =>
  allowed.filter((a) => values.includes(a))

export function parseExplorer(search: URLSearchParams): ExplorerState {
  const states = subset(FINDING_STATES, listOf(search, 'state'))
  const page = Number.parseInt(search.get('page') ?? '1', 10)
  return {
    q: search.get('q') ?? '',
    state: states.length ? states : DEFAULT_STATE.state,
    severity: subset(SEVERITIES, listOf(search, 'severity')),
    check: listOf(search, 'check'),
    namespace: listOf(search, 'namespace'),
    kind: listOf(search, 'kind'),
    target: search.get('target') ?? '',
    group: oneOf(GROUPS, search.get('group'), 'none'),
    sort: oneOf(FINDING_SORTS, search.get('sort'), 'severity'),
    order: oneOf(['asc', 'desc'] as const, search.get('order'), 'desc'),
    page: Number.isFinite(page) && page >= 1 ? page : 1,
  }
}

/** The explorer's URL for a state. */
export function explorerHref(s: Partial<ExplorerState>): string {
  const full = { ...DEFAULT_STATE, ...s }
  const params = new URLSearchParams()
  if (full.q.trim()) params.set('q', full.q)
  if (full.state.join(',') !== DEFAULT_STATE.state.join(',')) params.set('state', full.state.join(','))
  for (const key of ['severity', 'check', 'namespace', 'kind'] as const)
    if (full[key].length) params.set(key, full[key].join(','))
  if (full.target) params.set('target', full.target)
  if (full.group !== 'none') params.set('group', full.group)
  if (full.sort !== 'severity') params.set('sort', full.sort)
  if (full.order !== 'desc') params.set('order', full.order)
  if (full.page > 1) params.set('page', String(full.page))
  const qs = params.toString()
  return qs ? `/findings?${qs}` : '/findings'
}

/** Grouping sorts by the group's key, so that a group is one run of rows across pages. */
export function effectiveSort(s: ExplorerState): FindingSort {
  if (s.group === 'check') return 'check'
  if (s.group === 'resource' || s.group === 'namespace') return 'resource'
  return s.sort
}

/** The order a column sorts in when first chosen: worst and newest first, names A to Z. */
export function naturalOrder(sort: FindingSort): Order {
  return sort === 'check' || sort === 'resource' ? 'asc' : 'desc'
}

export function apiQuery(s: ExplorerState): FindingQuery {
  return {
    ...(s.target ? { target: s.target } : {}),
    state: s.state,
    severity: s.severity,
    check: s.check,
    namespace: s.namespace,
    kind: s.kind,
    q: s.q,
    sort: effectiveSort(s),
    // Groups read A to Z; a column sort goes the way its header says.
    order: s.group === 'none' ? s.order : 'asc',
    limit: PAGE_SIZE,
    offset: (s.page - 1) * PAGE_SIZE,
  }
}

/** Kinds offered in the kind filter (the API has no list of the kinds it holds). */
export const COMMON_KINDS = [
  'ClusterRole',
  'ClusterRoleBinding',
  'ConfigMap',
  'CronJob',
  'DaemonSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'Ingress',
  'Job',
  'Namespace',
  'NetworkPolicy',
  'Pod',
  'PodDisruptionBudget',
  'ReplicaSet',
  'Role',
  'RoleBinding',
  'Secret',
  'Service',
  'ServiceAccount',
  'StatefulSet',
]
