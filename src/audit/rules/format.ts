/**
 * Plimsoll's own audit rules (apiVersion plimsoll.dev/v1, kind AuditRule): what a rule file says, once
 * read. A rule is a cheap pre-filter on the event's stage, verb, resource and identity, a CEL
 * `condition` over the whole audit event, and an `output` template. See docs/audit-rules-plimsoll.md.
 */
import type { Priority } from '../types.js'

export const AUDIT_RULE_KIND = 'AuditRule'

/** The stages of an audit event (audit.k8s.io Stage). */
export const STAGES = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const
export type Stage = (typeof STAGES)[number]

/** What an example expects of its rule. */
export const EXAMPLE_EXPECTATIONS = ['detect', 'ignore'] as const
export type AuditExampleExpectation = (typeof EXAMPLE_EXPECTATIONS)[number]

export interface AuditRuleMetadata {
  id: string
  title: string
  priority: Priority
  tags: string[]
  description?: string
  rationale?: string
  remediation?: string
  docs?: string
}

/**
 * The pre-filter: every list that is given must match (an empty or absent list matches everything,
 * except `stages`, whose default is ResponseComplete). Evaluated without CEL, on every event.
 */
export interface AuditRuleMatch {
  stages: Stage[]
  verbs: string[]
  /** `pods` (the resource, no subresource), `pods/exec`, `pods/*` (any subresource), `*` / `*\/status` */
  resources: string[]
  /** '' is the core group */
  apiGroups: string[]
  /** '' is a cluster-scoped object or a non-resource request */
  namespaces: string[]
  /** only these users (exact, or a prefix ending in `*`): the authenticated or the impersonated one */
  users: string[]
  /** only users in one of these groups (same patterns) */
  groups: string[]
  /** only these response status codes (`responseStatus.code`) */
  responseCodes: number[]
  /** exact names, or a prefix ending in `*`; an event is ignored when every identity in it is */
  ignoreUsers: string[]
  ignoreGroups: string[]
}

export interface NamedExpression {
  name: string
  expression: string
  line: number
}

export interface AuditRuleExample {
  name: string
  expect: AuditExampleExpectation
  /** the output the detection must have, when given */
  output?: string
  event: Record<string, unknown>
  line: number
}

export interface AuditRuleDefinition {
  metadata: AuditRuleMetadata
  match: AuditRuleMatch
  variables: NamedExpression[]
  condition: NamedExpression
  output: { template: string; line: number }
  examples: AuditRuleExample[]
  origin: { file: string; line: number }
}
