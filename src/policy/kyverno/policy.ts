/** Kyverno ClusterPolicy / Policy as Plimsoll compiles them: match blocks parsed, validations typed. */
import type { CompiledCelPolicy } from '../admission/cel-policy.js'
import type { MatchBlock } from './match.js'

export type FailureAction = 'Audit' | 'Enforce'

/** A rule `context` entry Plimsoll can evaluate offline, or one it cannot (named for the report). */
export type ContextEntry =
  | { name: string; type: 'variable'; value?: unknown; jmesPath?: string; default?: unknown }
  | { name: string; type: 'external'; source: 'apiCall' | 'configMap' | 'imageRegistry' | 'globalReference' }

export interface ForEach {
  list: string
  elementScope?: boolean
  context: ContextEntry[]
  preconditions?: unknown
  check: ElementCheck
}

/** What one foreach element (or a whole rule) is validated with. */
export type ElementCheck =
  | { type: 'pattern'; pattern: unknown }
  | { type: 'anyPattern'; patterns: unknown[] }
  | { type: 'deny'; conditions: unknown }
  | { type: 'foreach'; foreach: ForEach[] }

export interface PodSecurityExclusion {
  controlName: string
  images?: string[]
  restrictedField?: string
  values?: string[]
}

export type Validation =
  | ElementCheck
  | {
      type: 'podSecurity'
      level: 'privileged' | 'baseline' | 'restricted'
      version: string
      exclude: PodSecurityExclusion[]
    }
  | { type: 'cel'; policy: CompiledCelPolicy }

/** Why a rule cannot run here: reported as unsupported (never as a pass). */
export interface Unsupported {
  feature: string
  reason: string
}

export interface KyvernoRule {
  name: string
  /** what the rule does: only validate rules are evaluated here */
  type: 'validate' | 'mutate' | 'generate' | 'verifyImages'
  /** 1-based line of the rule in its file (for autogen rules: of the rule they were made from) */
  line: number
  match: MatchBlock
  exclude?: MatchBlock
  context: ContextEntry[]
  preconditions?: unknown
  celPreconditions?: CompiledCelPolicy
  message?: string
  failureAction: FailureAction
  /** the validation, or why this rule cannot be evaluated offline */
  validation: Validation | { type: 'unsupported'; unsupported: Unsupported }
  /** the rule this one was generated from by autogen */
  autogenFrom?: string
}

export interface KyvernoPolicy {
  kind: 'ClusterPolicy' | 'Policy'
  name: string
  /** a namespaced Policy applies only to resources in its namespace */
  namespace?: string
  annotations: Record<string, string>
  applyRules: 'All' | 'One'
  /** `policies.kyverno.io/scored: "false"`: failures are reported as warnings */
  scored: boolean
  rules: KyvernoRule[]
  file: string
  line: number
}
