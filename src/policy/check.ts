/** The check format (docs/check-format.md) as types. A CheckDefinition is validated data, not yet compiled. */
import type { CheckMetadata, Severity } from '../api-types.js'

// The metadata is part of the API's JSON: one definition, in src/api-types.ts.
export type { CheckMetadata, Control, Severity } from '../api-types.js'

/** Least to most severe. */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const satisfies readonly Severity[]

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s)
}

export function isSeverity(s: unknown): s is Severity {
  return typeof s === 'string' && (SEVERITIES as readonly string[]).includes(s)
}

export const SCOPES = ['resource', 'pod', 'container'] as const
export type Scope = (typeof SCOPES)[number]

export interface NamedExpression {
  name: string
  expression: string
  /** line of the expression in its file */
  line: number
}

export interface ValidationDefinition {
  expression: string
  /** line of the validation in its file */
  line: number
  message?: string
  messageExpression?: string
  path?: string
  pathExpression?: string
  scope?: Scope
}

/** One version of a check's logic: the entry with the greatest `since` <= the requested version applies. */
export interface RuleSet {
  /** Minor version (v1.N -> N) from which this entry applies; 0 when the check is not versioned. */
  since: number
  matchConditions: NamedExpression[]
  variables: NamedExpression[]
  validations: ValidationDefinition[]
}

/** Where a check was defined, so that errors can point at it. */
export interface CheckOrigin {
  file: string
  line: number
}

export const EXAMPLE_EXPECTATIONS = ['pass', 'fail', 'skip'] as const
export type ExampleExpectation = (typeof EXAMPLE_EXPECTATIONS)[number]

/** A resource shipped with a check, with the verdict the check must reach on it (docs/check-format.md). */
export interface CheckExample {
  name: string
  expect: ExampleExpectation
  /** Minor policy version to evaluate at; latest when absent. */
  version?: number
  resource: Record<string, unknown>
  /** For cross-resource checks: the other resources of the input, besides `resource`. */
  inventory?: Record<string, unknown>[]
  /**
   * For checks over observed usage: the containers of the resource's workload as a usage report has
   * them (policy/usage.ts: exampleUsageValue); without it the example's `usage` is null.
   */
  usage?: unknown
  line: number
}

export interface CheckDefinition {
  metadata: CheckMetadata
  kinds: string[]
  scope: Scope
  ruleSets: RuleSet[]
  examples: CheckExample[]
  origin: CheckOrigin
}
