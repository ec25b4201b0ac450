/**
 * Label selectors in CEL, for checks that relate resources to each other:
 * - `labelsMatch(selector, labels)`: a Service's (or ReplicationController's) equality selector, a plain
 *   map: every pair must be in `labels`. An empty map matches everything.
 * - `selectorMatches(selector, labels)`: a metav1.LabelSelector (`matchLabels` and `matchExpressions`
 *   with In, NotIn, Exists, DoesNotExist). `{}` matches everything; null matches nothing, as in
 *   Kubernetes. An unknown operator is an evaluation error, not a silent false.
 */
import type { Environment } from '@marcbachmann/cel-js'

type Labels = Record<string, unknown>

/** A map as a plain object (CEL map literals arrive as Map), or undefined for anything else. */
export function asLabels(value: unknown): Labels | undefined {
  if (value instanceof Map) return Object.fromEntries(value)
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Labels) : undefined
}

export function labelsMatch(selector: unknown, labels: unknown): boolean {
  const sel = asLabels(selector)
  if (!sel) return false
  const have = asLabels(labels) ?? {}
  return Object.entries(sel).every(([k, v]) => have[k] === v)
}

function expressionMatches(expr: Labels, have: Labels): boolean {
  const key = expr.key
  const values = Array.isArray(expr.values) ? expr.values : []
  if (typeof key !== 'string') throw new Error('matchExpressions entry without a key')
  const present = Object.hasOwn(have, key)
  switch (expr.operator) {
    case 'In':
      return present && values.includes(have[key])
    case 'NotIn':
      return !present || !values.includes(have[key])
    case 'Exists':
      return present
    case 'DoesNotExist':
      return !present
    default:
      throw new Error(`unknown label selector operator '${String(expr.operator)}'`)
  }
}

export function selectorMatches(selector: unknown, labels: unknown): boolean {
  const sel = asLabels(selector)
  if (!sel) return false
  const have = asLabels(labels) ?? {}
  const matchLabels = asLabels(sel.matchLabels) ?? {}
  if (!Object.entries(matchLabels).every(([k, v]) => have[k] === v)) return false
  const exprs = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []
  return exprs.every((e) => expressionMatches(asLabels(e) ?? {}, have))
}

export function addSelectorLibrary(env: Environment): Environment {
  return env
    .registerFunction('labelsMatch(dyn, dyn): bool', labelsMatch)
    .registerFunction('selectorMatches(dyn, dyn): bool', selectorMatches)
}
