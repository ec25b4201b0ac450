/**
 * What the engine asks of policies written for other engines (Kyverno, ValidatingPolicy,
 * ValidatingAdmissionPolicy), which it runs beside its own checks. The engine defines it; the adapter
 * that loads those policies (adapters/foreign-checks.ts) implements it.
 */

import type { Resource } from '../resources/types.js'
import type { LiveAdmission } from './admission/request.js'
import type { CheckMetadata } from './check.js'
import type { CheckResult } from './result.js'

/** Namespace objects by name: what namespaceSelector policies read a resource's namespace labels from. */
export type NamespaceObjects = ReadonlyMap<string, Record<string, unknown>>

/** A kind as the API serves it: what a watcher asks policies about before it lists the kind. */
export interface ServedKind {
  group: string
  version: string
  kind: string
  /** the plural resource name, which admission policies' rules name */
  resource: string
}

export interface ForeignPolicies {
  /** one entry per rule (or CEL policy, or admission binding), as a check */
  readonly checks: CheckMetadata[]
  /** whether a policy looks at this kind by name */
  wantsKind(served: ServedKind): boolean
  /** whether a policy selects resources by their namespace's labels */
  readonly readsNamespaceLabels: boolean
  /**
   * The operations the policies ask to see beyond CREATE and UPDATE (DELETE, CONNECT): what an
   * admission webhook must be sent.
   */
  readonly moreOperations: ReadonlySet<'DELETE' | 'CONNECT'>
  /** with `admission`, as an API server asked (see EvaluationContext.admission) */
  evaluate(resource: Resource, namespaces?: NamespaceObjects, admission?: LiveAdmission): CheckResult[]
}
