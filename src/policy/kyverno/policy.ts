/** Kyverno ClusterPolicy / Policy as Plimsoll compiles them: match blocks parsed, validations typed. */
import type { CompiledCelPolicy } from '../admission/cel-policy.js'
import type { LabelSelector, MatchBlock } from './match.js'

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

/** One `mutate.foreach` entry: a list, and what each element patches (or a nested foreach). */
export interface MutateForEach {
  list: string
  /** Kyverno walks a patchStrategicMerge foreach last element first unless told `Ascending` */
  order?: 'Ascending' | 'Descending'
  context: ContextEntry[]
  preconditions?: unknown
  patchStrategicMerge?: unknown
  patchesJson6902?: string
  foreach?: MutateForEach[]
}

/** A mutate rule's patch: a strategic merge overlay, RFC 6902 operations, or a foreach of either. */
export interface Mutation {
  patchStrategicMerge?: unknown
  patchesJson6902?: string
  foreach?: MutateForEach[]
}

/** What a generate rule (or one of its foreach entries) makes: `data`, or a copy (`clone`, `cloneList`). */
export interface GeneratePattern {
  apiVersion: string
  kind: string
  name: string
  namespace: string
  data?: unknown
  clone?: { namespace: string; name: string }
  cloneList?: { namespace: string; kinds: string[]; selector?: LabelSelector }
}

/** One `generate.foreach` entry: a pattern made for each element of a list. */
export interface GenerateForEach {
  list: string
  context: ContextEntry[]
  preconditions?: unknown
  pattern: GeneratePattern
}

export interface Generation extends GeneratePattern {
  foreach?: GenerateForEach[]
}

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
  /** what the rule does: validate (and verifyImages) rules give verdicts; mutate and generate rules run in kyverno test */
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
  /** what a mutate rule patches (kyverno test applies it; a scan checks resources as written) */
  mutation?: Mutation
  /** what a generate rule makes */
  generation?: Generation
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
