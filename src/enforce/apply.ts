/**
 * `enforce plan --apply-to`: the plan's suggested modes written into an EnforcementConfig. The plan's
 * rules are named `plan/...` and rewritten on every apply; everything else in the file (the default
 * mode, exemptions, the team's own rules) is kept, and the team's rules stay first, so they still win.
 * Afterwards the file is read back as the webhook reads it, and every check and namespace whose mode
 * is not the suggested one (a team rule decides it first) is reported.
 */
import { dump } from 'js-yaml'
import type { EnforcementPlan, EnforcementStep } from '../api-types.js'
import { parseSource } from '../resources/parse.js'
import {
  defaultEnforcement,
  ENFORCEMENT_API_VERSION,
  ENFORCEMENT_KIND,
  loadEnforcement,
  modeFor,
} from '../webhook/enforcement.js'

export const PLAN_RULE_PREFIX = 'plan/'

interface RawRule {
  name: string
  checks: string[]
  namespaces?: string[]
  mode: EnforcementStep
}

/** A suggestion that the written file does not give, because a rule before the plan's decides. */
export interface Overridden {
  check: string
  namespace: string
  suggested: EnforcementStep
  mode: string
}

export type Applied =
  | { ok: true; text: string; rules: number; kept: number; overridden: Overridden[] }
  | { ok: false; problems: readonly string[] }

/**
 * The plan's rules: a check ready everywhere is enforced with no namespace list (new namespaces start
 * clean); otherwise one rule per step with that step's namespaces. Checks with the same mode over the
 * same namespaces share a rule.
 */
export function planRules(plan: EnforcementPlan): RawRule[] {
  const groups = new Map<string, { mode: EnforcementStep; namespaces?: string[]; checks: string[] }>()
  const add = (check: string, mode: EnforcementStep, namespaces?: string[]) => {
    const key = `${mode}\0${namespaces?.join('\0') ?? '*'}`
    const group = groups.get(key) ?? { mode, ...(namespaces ? { namespaces } : {}), checks: [] }
    group.checks.push(check)
    groups.set(key, group)
  }
  for (const check of plan.checks) {
    const { ladder } = check
    if (ladder.audit.length === 0 && ladder.warn.length === 0) {
      if (ladder.enforce.length > 0) add(check.id, 'enforce')
      continue
    }
    for (const step of ['enforce', 'warn', 'audit'] as const)
      if (ladder[step].length > 0) add(check.id, step, [...ladder[step]].sort())
  }
  const counts: Record<EnforcementStep, number> = { enforce: 0, warn: 0, audit: 0 }
  return [...groups.values()]
    .sort((a, b) => stepOrder(a.mode) - stepOrder(b.mode) || (a.namespaces ? 1 : 0) - (b.namespaces ? 1 : 0))
    .map((g) => ({
      name: `${PLAN_RULE_PREFIX}${g.mode}-${++counts[g.mode]}`,
      checks: g.checks.sort(),
      ...(g.namespaces ? { namespaces: g.namespaces } : {}),
      mode: g.mode,
    }))
}

const stepOrder = (step: EnforcementStep) => ['enforce', 'warn', 'audit'].indexOf(step)

/** The file's text with the plan applied; `existing` is the file as it is now, if there is one. */
export function applyPlan(
  plan: EnforcementPlan,
  existing: { file: string; text: string } | undefined,
  ownNamespace = 'plimsoll',
): Applied {
  let metadata: Record<string, unknown> = { name: 'plimsoll' }
  let spec: Record<string, unknown> = {
    defaultMode: defaultEnforcement(ownNamespace).defaultMode,
    exemptions: { namespaces: [...defaultEnforcement(ownNamespace).exemptions.namespaces] },
  }
  let kept: Record<string, unknown>[] = []
  if (existing) {
    const loaded = loadEnforcement(existing.file, existing.text, ownNamespace)
    if (!loaded.ok) return loaded
    const doc = parseSource(existing.file, existing.text).resources.find((r) => r.kind === ENFORCEMENT_KIND)!
    const object = doc.object as Record<string, unknown>
    metadata = (object.metadata as Record<string, unknown> | undefined) ?? metadata
    spec = { ...((object.spec as Record<string, unknown> | undefined) ?? {}) }
    const rules = Array.isArray(spec.rules) ? (spec.rules as Record<string, unknown>[]) : []
    kept = rules.filter((r) => !(typeof r.name === 'string' && r.name.startsWith(PLAN_RULE_PREFIX)))
  }
  const generated = planRules(plan)
  spec.rules = [...kept, ...generated]
  const header = [
    `# Enforcement for cluster ${plan.cluster}, written by \`plimsoll enforce plan --apply-to\` on ${plan.generatedAt.slice(0, 10)}`,
    `# from the cluster scan and ${plan.admissions.toLocaleString('en-US')} admissions of the last ${plan.window.days} days.`,
    `# Rules named ${PLAN_RULE_PREFIX}... are rewritten by the next apply; your own rules stay first, and win.`,
  ].join('\n')
  const text = `${header}\n${dump(
    { apiVersion: ENFORCEMENT_API_VERSION, kind: ENFORCEMENT_KIND, metadata, spec },
    { lineWidth: 120, noRefs: true },
  )}`
  const reread = loadEnforcement(existing?.file ?? 'enforcement.yaml', text, ownNamespace)
  if (!reread.ok) return reread
  const overridden: Overridden[] = []
  for (const check of plan.checks)
    for (const step of ['enforce', 'warn', 'audit'] as const)
      for (const namespace of check.ladder[step]) {
        const mode = modeFor(reread.config, check.id, { username: '', namespace })
        if (mode !== step) overridden.push({ check: check.id, namespace, suggested: step, mode })
      }
  return { ok: true, text, rules: generated.length, kept: kept.length, overridden }
}
