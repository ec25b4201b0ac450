/**
 * Compiles audit rules once: the pre-filter into sets, every CEL expression (variables, condition, the
 * output's placeholders) parsed and type-checked at load time in the audit rules' CEL environment,
 * which is built from the same parts as the checks' and admission policies' environments (cel-js, the
 * Kubernetes libraries, the strings extension, lazy `variables`, the fast path). A broken expression
 * fails with the file, line, rule and field.
 */
import { Environment, Optional } from '@marcbachmann/cel-js'
import { compileCelExpression, type Program } from '../../policy/cel/compile-expression.js'
import { CEL_OPTIONS } from '../../policy/cel/environment.js'
import { addKubernetesLibraries } from '../../policy/cel/kubernetes-libraries.js'
import { LazyVariables, type VariablePrograms } from '../../policy/cel/lazy-variables.js'
import { addStringsExtension } from '../../policy/cel/strings-ext.js'
import type { AuditEvent } from '../types.js'
import type { AuditRuleDefinition, AuditRuleMatch, AuditRuleMetadata, Stage } from './format.js'
import { AuditRuleLoadError } from './loader.js'

export type { Program }

/** The variables an audit rule's CEL sees: the event, and the rule's own `variables`. */
export const AUDIT_RULE_VARIABLES = ['event', 'variables'] as const

let shared: Environment | undefined

/** The CEL environment of audit rules (made once). */
export function auditRuleEnvironment(): Environment {
  if (!shared) {
    const env = new Environment(CEL_OPTIONS)
    env.registerType('Variables', LazyVariables)
    for (const name of AUDIT_RULE_VARIABLES) env.registerVariable(name, 'dyn')
    shared = addStringsExtension(addKubernetesLibraries(env))
  }
  return shared
}

function compileExpression(
  def: AuditRuleDefinition,
  field: string,
  expression: string,
  line: number,
  expect: 'bool' | 'any',
): Program {
  return compileCelExpression(auditRuleEnvironment(), expression, expect, (problem) => {
    throw new AuditRuleLoadError(def.origin.file, line, def.metadata.id, field, problem)
  })
}

/** One piece of an output template: literal text, or a CEL placeholder. */
export type OutputPart = string | Program

const PLACEHOLDER = /\{\{(.*?)\}\}/gs

function compileOutput(def: AuditRuleDefinition): OutputPart[] {
  const { template, line } = def.output
  const parts: OutputPart[] = []
  let last = 0
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push(template.slice(last, m.index))
    const expression = m[1]!.trim()
    if (expression === '')
      throw new AuditRuleLoadError(
        def.origin.file,
        line,
        def.metadata.id,
        'spec.output',
        'empty {{ }} placeholder',
      )
    parts.push(compileExpression(def, `spec.output {{ ${expression} }}`, expression, line, 'any'))
    last = m.index + m[0].length
  }
  if (last < template.length) parts.push(template.slice(last))
  return parts
}

/** The pre-filter, as sets. */
export interface CompiledMatch {
  stages: ReadonlySet<Stage>
  verbs?: ReadonlySet<string>
  /** resource patterns: exact `r`, `r/s`, `r/*`, `*`, `*\/s` */
  resources?: readonly { resource: string; subresource: string | undefined }[]
  apiGroups?: ReadonlySet<string>
  namespaces?: ReadonlySet<string>
  users?: NamePatterns
  groups?: NamePatterns
  responseCodes?: ReadonlySet<number>
  ignoreUsers?: NamePatterns
  ignoreGroups?: NamePatterns
}

/** Exact names and prefixes (a pattern ending in `*`). */
export class NamePatterns {
  private readonly exact: Set<string>
  private readonly prefixes: string[]
  constructor(patterns: readonly string[]) {
    this.exact = new Set(patterns.filter((p) => !p.endsWith('*')))
    this.prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1))
  }
  test(name: string): boolean {
    return this.exact.has(name) || this.prefixes.some((p) => name.startsWith(p))
  }
}

function compileMatch(m: AuditRuleMatch): CompiledMatch {
  const set = (l: readonly string[]) => (l.length > 0 ? new Set(l) : undefined)
  const out: CompiledMatch = { stages: new Set(m.stages) }
  const verbs = set(m.verbs)
  if (verbs) out.verbs = verbs
  if (m.resources.length > 0)
    out.resources = m.resources.map((r) => {
      const [resource, subresource] = r.split('/')
      return { resource: resource!, subresource }
    })
  const apiGroups = set(m.apiGroups)
  if (apiGroups) out.apiGroups = apiGroups
  const namespaces = set(m.namespaces)
  if (namespaces) out.namespaces = namespaces
  if (m.users.length > 0) out.users = new NamePatterns(m.users)
  if (m.groups.length > 0) out.groups = new NamePatterns(m.groups)
  if (m.responseCodes.length > 0) out.responseCodes = new Set(m.responseCodes)
  if (m.ignoreUsers.length > 0) out.ignoreUsers = new NamePatterns(m.ignoreUsers)
  if (m.ignoreGroups.length > 0) out.ignoreGroups = new NamePatterns(m.ignoreGroups)
  return out
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function resourceMatches(
  patterns: readonly { resource: string; subresource: string | undefined }[],
  resource: string,
  subresource: string | undefined,
): boolean {
  for (const p of patterns) {
    if (p.resource !== '*' && p.resource !== resource) continue
    if (p.subresource === undefined) {
      if (p.resource === '*' || subresource === undefined) return true
    } else if (p.subresource === '*' ? subresource !== undefined : p.subresource === subresource) return true
  }
  return false
}

type Identity = { readonly username?: unknown; readonly groups?: unknown } | undefined

function inGroup(patterns: NamePatterns, who: Identity): boolean {
  const groups = who?.groups
  return Array.isArray(groups) && groups.some((g) => typeof g === 'string' && patterns.test(g))
}

function identityIgnored(m: CompiledMatch, who: Identity): boolean {
  return !!m.ignoreUsers?.test(str(who?.username) ?? '') || (!!m.ignoreGroups && inGroup(m.ignoreGroups, who))
}

/** `users` and `groups`: the authenticated user, or the one it impersonated, is one of them. */
function identitySelected(m: CompiledMatch, who: Identity): boolean {
  return (!m.users || m.users.test(str(who?.username) ?? '')) && (!m.groups || inGroup(m.groups, who))
}

/**
 * Whether an event passes a rule's pre-filter (its stage is checked by the caller's index). An event is
 * ignored by identity only when every identity in it is: the authenticated user, and the user it
 * impersonated, if any (a person impersonating a controller is not a controller).
 */
export function preFilter(m: CompiledMatch, event: AuditEvent): boolean {
  if (m.verbs && !m.verbs.has(str(event.verb) ?? '')) return false
  const ref = event.objectRef
  if (m.resources) {
    const resource = str(ref?.resource)
    if (resource === undefined || !resourceMatches(m.resources, resource, str(ref?.subresource) || undefined))
      return false
  }
  if (m.apiGroups && !m.apiGroups.has(str(ref?.apiGroup) ?? '')) return false
  if (m.namespaces && !m.namespaces.has(str(ref?.namespace) ?? '')) return false
  if (m.responseCodes) {
    const code = event.responseStatus?.code
    if (typeof code !== 'number' || !m.responseCodes.has(code)) return false
  }
  if (
    (m.users || m.groups) &&
    !identitySelected(m, event.user) &&
    !(event.impersonatedUser !== undefined && identitySelected(m, event.impersonatedUser))
  )
    return false
  if (m.ignoreUsers || m.ignoreGroups) {
    const impersonated = event.impersonatedUser
    if (identityIgnored(m, event.user) && (impersonated === undefined || identityIgnored(m, impersonated)))
      return false
  }
  return true
}

export interface CompiledAuditRule {
  readonly metadata: AuditRuleMetadata
  readonly match: CompiledMatch
  readonly definition: AuditRuleDefinition
  /** the rule's variables by name (evaluated lazily, at most once per event) */
  readonly variables: VariablePrograms
  readonly condition: Program
  readonly output: readonly OutputPart[]
}

export function compileAuditRule(def: AuditRuleDefinition): CompiledAuditRule {
  const variables = new Map<string, Program>()
  for (const v of def.variables)
    variables.set(v.name, compileExpression(def, `spec.variables '${v.name}'`, v.expression, v.line, 'any'))
  return {
    metadata: def.metadata,
    match: compileMatch(def.match),
    definition: def,
    variables,
    condition: compileExpression(def, 'spec.condition', def.condition.expression, def.condition.line, 'bool'),
    output: compileOutput(def),
  }
}

/** The activation of one rule on one event (`variables` made only when the rule declares some). */
export function ruleActivation(rule: CompiledAuditRule, base: { event: unknown }): Record<string, unknown> {
  if (rule.variables.size === 0) return base
  const activation: Record<string, unknown> = { event: base.event }
  activation.variables = new LazyVariables(rule.variables, activation)
  return activation
}

export const NOT_AVAILABLE = '<NA>'

function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (value instanceof Optional) return value.hasValue() ? plain(value.value()) : null
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]))
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  return value
}

/**
 * A placeholder's value as text: strings as they are, lists joined by commas (an empty list is `<NA>`,
 * as an absent list field is to Falco), maps as JSON.
 */
export function renderValue(value: unknown): string {
  if (value instanceof Optional) return value.hasValue() ? renderValue(value.value()) : NOT_AVAILABLE
  if (value === null || value === undefined) return NOT_AVAILABLE
  if (typeof value === 'string') return value
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean')
    return String(value)
  if (Array.isArray(value))
    return value.length === 0
      ? NOT_AVAILABLE
      : value
          .map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(plain(v)) : renderValue(v)))
          .join(',')
  return JSON.stringify(plain(value))
}

/**
 * The output, its placeholders filled in (one that cannot be evaluated, a field absent, is `<NA>`),
 * without leading or trailing blanks.
 */
export function renderOutput(rule: CompiledAuditRule, activation: Record<string, unknown>): string {
  let out = ''
  for (const part of rule.output) {
    if (typeof part === 'string') out += part
    else {
      try {
        out += renderValue(part(activation))
      } catch {
        out += NOT_AVAILABLE
      }
    }
  }
  return out.trim()
}
