/**
 * Plimsoll's own audit rules: YAML files of kind AuditRule (docs/audit-rules-plimsoll.md), loaded with
 * file:line errors, compiled once, and evaluated on audit events:
 *
 *   const set = loadAuditRules({ paths: ['team-rules/'] })   // the built-in rules, and the team's
 *   const detections = set.evaluate(event)
 *
 * Every rule whose pre-filter and condition hold gives a detection (source `plimsoll`). Most events are
 * decided by the pre-filter alone: rules are indexed by stage, and the event is made into a CEL value
 * only when some rule's pre-filter lets it through.
 */
import { readFileSync } from 'node:fs'
import { toCelValue } from '../../policy/cel/values.js'
import { BUILTIN_AUDIT_RULES_DIR } from '../../policy/library.js'
import { claimDefinitionId, yamlFiles } from '../../policy/yaml-fields.js'
import { timeToNs } from '../falco/fields.js'
import { addEventLabels } from '../labels.js'
import { type AuditEvent, type Detection, PRIORITIES, type Priority } from '../types.js'
import {
  type CompiledAuditRule,
  compileAuditRule,
  preFilter,
  renderOutput,
  ruleActivation,
} from './compile.js'
import type { AuditRuleDefinition, AuditRuleExample, Stage } from './format.js'
import { AuditRuleLoadError, parseAuditRuleFile } from './loader.js'

export { type CompiledAuditRule, compileAuditRule } from './compile.js'
export type { AuditRuleDefinition, AuditRuleExample } from './format.js'
export { AUDIT_RULE_API_VERSION, AuditRuleLoadError, parseAuditRuleFile } from './loader.js'
export { BUILTIN_AUDIT_RULES_DIR }

export interface AuditRulesOptions {
  /** include the built-in rules of policies/audit-rules (default true) */
  readonly builtin?: boolean
  /** rule files, or directories of them (every .yaml/.yml below, in name order) */
  readonly paths?: readonly string[]
  /** rules less severe than this are not evaluated; default debug (all) */
  readonly minPriority?: Priority
  /** added as the `cluster` label when the event does not name its cluster */
  readonly cluster?: string
  /** the clock, for events without a timestamp (tests) */
  readonly now?: () => number
  /**
   * Called when a rule's condition fails to evaluate on an event (the rule then does not detect): a
   * condition that reads a field without `has()` or `.?` on an event that lacks it, say.
   */
  readonly onError?: (rule: CompiledAuditRule, event: AuditEvent, error: Error) => void
}

export interface AuditRuleSet {
  readonly rules: readonly CompiledAuditRule[]
  evaluate(event: AuditEvent): Detection[]
}

/** The rule files a path names: the file itself, or every .yaml/.yml below a directory. */
export function auditRuleFiles(path: string): string[] {
  return yamlFiles(path, AuditRuleLoadError)
}

/** Reads rule definitions; a duplicate id is an error (detections and silences name rules by id). */
export function loadAuditRuleDefinitions(paths: readonly string[]): AuditRuleDefinition[] {
  const seen = new Map<string, AuditRuleDefinition>()
  const out: AuditRuleDefinition[] = []
  for (const path of paths) {
    for (const file of auditRuleFiles(path)) {
      for (const def of parseAuditRuleFile(file, readFileSync(file, 'utf8'))) {
        claimDefinitionId(seen, def, AuditRuleLoadError)
        out.push(def)
      }
    }
  }
  return out
}

function eventTime(event: AuditEvent, now: () => number): string {
  const ns = timeToNs(event.stageTimestamp) ?? timeToNs(event.requestReceivedTimestamp)
  return new Date(ns === undefined ? now() : Number(BigInt(ns) / 1_000_000n)).toISOString()
}

/** A rule set over compiled rules (what loadAuditRules and the examples use). */
export function auditRuleSet(
  rules: readonly CompiledAuditRule[],
  options: AuditRulesOptions = {},
): AuditRuleSet {
  const minRank = PRIORITIES.indexOf(options.minPriority ?? 'debug')
  const byStage = new Map<string, CompiledAuditRule[]>()
  for (const rule of rules) {
    if (PRIORITIES.indexOf(rule.metadata.priority) > minRank) continue
    for (const stage of rule.match.stages) {
      const list = byStage.get(stage) ?? []
      list.push(rule)
      byStage.set(stage, list)
    }
  }
  const now = options.now ?? Date.now

  const detection = (rule: CompiledAuditRule, event: AuditEvent, activation: Record<string, unknown>) => {
    const { id, priority, tags } = rule.metadata
    const labels = addEventLabels({ rule: id, priority, source: 'plimsoll' }, event, options.cluster)
    const d: Detection = {
      rule: id,
      source: 'plimsoll',
      priority,
      output: renderOutput(rule, activation),
      time: eventTime(event, now),
      labels,
      tags,
      ...(typeof event.auditID === 'string' ? { auditID: event.auditID } : {}),
    }
    return d
  }

  const evaluate = (event: AuditEvent): Detection[] => {
    const candidates = byStage.get(typeof event.stage === 'string' ? event.stage : '')
    if (candidates === undefined) return []
    let base: { event: unknown } | undefined
    const out: Detection[] = []
    for (const rule of candidates) {
      if (!preFilter(rule.match, event)) continue
      base ??= { event: toCelValue(event) }
      const activation = ruleActivation(rule, base)
      let holds: unknown
      try {
        holds = rule.condition(activation)
      } catch (err) {
        options.onError?.(rule, event, err instanceof Error ? err : new Error(String(err)))
        continue
      }
      if (holds === true) out.push(detection(rule, event, activation))
    }
    return out
  }

  return { rules, evaluate }
}

/** Loads, compiles and indexes rules: the built-in ones (unless `builtin: false`) and `paths`. */
export function loadAuditRules(options: AuditRulesOptions = {}): AuditRuleSet {
  const paths = [...(options.builtin === false ? [] : [BUILTIN_AUDIT_RULES_DIR]), ...(options.paths ?? [])]
  return auditRuleSet(loadAuditRuleDefinitions(paths).map(compileAuditRule), options)
}

/** The stages the rules of a set listen to (for an audit policy that must not omit them). */
export function stagesOf(rules: readonly CompiledAuditRule[]): Stage[] {
  return [...new Set(rules.flatMap((r) => [...r.match.stages]))]
}

export interface AuditExampleOutcome {
  ruleId: string
  example: string
  file: string
  line: number
  expected: AuditRuleExample['expect']
  got: AuditRuleExample['expect'] | 'error'
  /** the detection's output, or the evaluation error */
  messages: string[]
  ok: boolean
}

/**
 * Runs the examples a rule ships with: each event must be detected or ignored as the example says (and
 * give the example's output, when it names one); a condition that fails to evaluate fails the example.
 */
export function runAuditRuleExamples(rule: CompiledAuditRule): AuditExampleOutcome[] {
  return rule.definition.examples.map((example) => {
    const errors: string[] = []
    const set = auditRuleSet([rule], { onError: (_r, _e, err) => errors.push(err.message.split('\n')[0]!) })
    const detections = set.evaluate(example.event as AuditEvent)
    const got = errors.length > 0 ? ('error' as const) : detections.length > 0 ? 'detect' : 'ignore'
    const outputs = detections.map((d) => d.output)
    const outputOk = example.output === undefined || outputs.includes(example.output)
    return {
      ruleId: rule.metadata.id,
      example: example.name,
      file: rule.definition.origin.file,
      line: example.line,
      expected: example.expect,
      got,
      messages:
        errors.length > 0
          ? errors
          : outputOk
            ? outputs
            : [...outputs.map((o) => `output: ${o}`), `expected output: ${example.output}`],
      ok: got === example.expect && outputOk,
    }
  })
}
