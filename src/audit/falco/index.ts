/**
 * Falco k8saudit rules, evaluated on Kubernetes audit events: load rules files unchanged (Falco's own
 * k8s_audit_rules.yaml and a team's overrides), then `evaluate(event)` gives the detections.
 *
 *   const set = loadFalcoRules([{ name: 'k8s_audit_rules.yaml', text }, { name: 'ours.yaml', text: ours }])
 *   for (const e of set.errors) console.error(formatMessage(e))
 *   const detections = set.evaluate(event)
 *
 * As Falco does by default (`rule_matching: first`), an event gives at most one detection: that of the
 * first enabled rule, in load order, whose condition holds. `ruleMatching: 'all'` gives one per
 * matching rule. See docs/audit-rules.md.
 */
import { addEventLabels } from '../labels.js'
import { type AuditEvent, type Detection, PRIORITIES, type Priority } from '../types.js'
import { type CompiledRule, compileRules } from './compile.js'
import { EvalCtx } from './fields.js'
import { collectRules, type LoadMessage, type RulesFileInput } from './rules-file.js'

export { parseAuditLines, parseAuditPayload } from './events.js'
export { fieldNames } from './fields.js'
export { formatMessage, type LoadMessage, type RulesFileInput } from './rules-file.js'
export type { CompiledRule }

export interface FalcoRulesOptions {
  /** 'first' (Falco's default): one detection per event at most; 'all': one per matching rule */
  readonly ruleMatching?: 'first' | 'all'
  /** rules less severe than this are not evaluated (Falco's `priority` setting); default debug */
  readonly minPriority?: Priority
  /** added as the `cluster` label when the event does not name its cluster */
  readonly cluster?: string
  /** the clock, for events without a stageTimestamp (tests) */
  readonly now?: () => number
}

export interface FalcoRuleSet {
  /** every k8s_audit rule that compiled, in evaluation order (disabled ones too) */
  readonly rules: readonly CompiledRule[]
  readonly errors: readonly LoadMessage[]
  readonly warnings: readonly LoadMessage[]
  readonly requiredEngineVersion?: string
  readonly requiredPluginVersions: readonly (readonly { name: string; version: string }[])[]
  evaluate(event: AuditEvent): Detection[]
}

export function loadFalcoRules(
  files: readonly RulesFileInput[],
  options: FalcoRulesOptions = {},
): FalcoRuleSet {
  const collected = collectRules(files)
  const compiled = compileRules(collected)
  const minRank = PRIORITIES.indexOf(options.minPriority ?? 'debug')
  const active = compiled.rules.filter((r) => r.enabled && PRIORITIES.indexOf(r.priority) <= minRank)
  const first = (options.ruleMatching ?? 'first') === 'first'
  const slots = compiled.slots
  const now = options.now ?? Date.now

  const detection = (rule: CompiledRule, ctx: EvalCtx, ev: AuditEvent): Detection => {
    const labels = addEventLabels(
      { rule: rule.name, priority: rule.priority, source: 'falco-rules' },
      ev,
      options.cluster,
    )
    const d: Detection = {
      rule: rule.name,
      source: 'falco-rules',
      priority: rule.priority,
      output: rule.render(ctx),
      time: ctx.iso,
      labels,
      tags: rule.tags,
      ...(typeof ev.auditID === 'string' ? { auditID: ev.auditID } : {}),
    }
    return d
  }

  const evaluate = (event: AuditEvent): Detection[] => {
    const ev = event as Readonly<Record<string, unknown>>
    const ctx = new EvalCtx(ev, slots, now)
    const out: Detection[] = []
    for (const rule of active) {
      if (rule.matches(ctx)) {
        out.push(detection(rule, ctx, event))
        if (first) break
      }
    }
    return out
  }

  return {
    rules: compiled.rules,
    errors: compiled.errors,
    warnings: compiled.warnings,
    ...(collected.requiredEngineVersion === undefined
      ? {}
      : { requiredEngineVersion: collected.requiredEngineVersion }),
    requiredPluginVersions: collected.requiredPluginVersions,
    evaluate,
  }
}
