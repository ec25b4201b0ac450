/**
 * The enforcement plan: for each check and namespace, the evidence (objects that fail it now in the
 * cluster scan, admissions it would have denied in the window) and the next step on the ladder audit ->
 * warn -> enforce. The rules, said once here and in docs/admission.md:
 *
 * - Nothing fails it and no admission would have been denied: ready, enforce now.
 * - Enforced already: stays enforced (a plan never steps back; what still fails was admitted before,
 *   or is exempt).
 * - Something fails it: one step up from today, at most to warn. Warn shows the owners the message on
 *   every apply and breaks nothing; enforce waits until they have fixed it.
 * - Turned off by a rule: left alone, listed apart.
 *
 * Pure: the evidence comes in (src/store/enforcement-evidence.ts reads it), the plan goes out.
 */
import type {
  CheckMetadata,
  EnforcementMode,
  EnforcementPlan,
  EnforcementStep,
  PlanCheck,
  PlanNamespace,
  Severity,
} from '../api-types.js'
import { wildcardMatch } from '../policy/kyverno/wildcard.js'
import { plural } from '../report/plural.js'
import type { AdmittedFailure, FailingObject, ScanEvidence } from '../store/enforcement-evidence.js'
import { type EnforcementConfig, ruleFor, type Subject } from '../webhook/enforcement.js'

export interface PlanEvidence {
  cluster: string
  now: Date
  days: number
  teamLabel: string
  scan?: ScanEvidence
  failing: readonly FailingObject[]
  /** every failing check of every recorded admission in the window */
  admitted: readonly AdmittedFailure[]
  admissions: number
  /** namespaces any admission in the window named */
  admittedNamespaces: Iterable<string>
  /** namespace -> its labels, where the store knows them */
  namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>
}

/** Examples kept per check and namespace. */
const EXAMPLES = 3
const DAY_MS = 24 * 60 * 60 * 1000

interface Pair {
  failing: number
  examples: string[]
  teams: Set<string>
  wouldDeny: number
  denied: number
}

const RANK: Record<EnforcementMode, number> = { off: 0, audit: 1, warn: 2, enforce: 3 }

export function windowStart(now: Date, days: number): string {
  return new Date(now.getTime() - days * DAY_MS).toISOString()
}

export function buildPlan(
  evidence: PlanEvidence,
  config: EnforcementConfig,
  checks: ReadonlyMap<string, CheckMetadata>,
): EnforcementPlan {
  const exemptNs = (ns: string) => ns !== '' && config.exemptions.namespaces.some((p) => wildcardMatch(p, ns))
  const pairs = new Map<string, Map<string, Pair>>()
  const pairOf = (check: string, ns: string): Pair => {
    let byNs = pairs.get(check)
    if (!byNs) {
      byNs = new Map()
      pairs.set(check, byNs)
    }
    let pair = byNs.get(ns)
    if (!pair) {
      pair = { failing: 0, examples: [], teams: new Set(), wouldDeny: 0, denied: 0 }
      byNs.set(ns, pair)
    }
    return pair
  }
  for (const f of evidence.failing) {
    if (exemptNs(f.namespace)) continue
    const pair = pairOf(f.check, f.namespace)
    pair.failing++
    if (pair.examples.length < EXAMPLES) pair.examples.push(`${f.kind}/${f.name}`)
    if (f.team !== undefined) pair.teams.add(f.team)
  }
  for (const a of evidence.admitted) {
    if (exemptNs(a.namespace) || a.mode === 'excepted') continue
    const pair = pairOf(a.check, a.namespace)
    if (a.mode === 'enforce') pair.denied += a.weight
    else pair.wouldDeny += a.weight
  }

  const all = new Set<string>(evidence.scan?.namespaces ?? [])
  for (const ns of evidence.admittedNamespaces) all.add(ns)
  for (const byNs of pairs.values()) for (const ns of byNs.keys()) all.add(ns)
  const namespaces = [...all].filter((ns) => !exemptNs(ns)).sort()
  const exempt = [...all].filter(exemptNs).sort()

  const ids = new Set<string>([...checks.keys(), ...pairs.keys()])
  const planned = [...ids].map((id) =>
    planCheck(id, checks.get(id), namespaces, pairs.get(id), config, evidence),
  )
  planned.sort(
    (a, b) =>
      b.wouldDeny - a.wouldDeny || b.failing - a.failing || b.denied - a.denied || a.id.localeCompare(b.id),
  )
  const pairsBy: Record<EnforcementStep, number> = { audit: 0, warn: 0, enforce: 0 }
  for (const c of planned)
    for (const step of ['audit', 'warn', 'enforce'] as const) pairsBy[step] += c.ladder[step].length
  return {
    cluster: evidence.cluster,
    generatedAt: evidence.now.toISOString(),
    window: { days: evidence.days, since: windowStart(evidence.now, evidence.days) },
    ...(evidence.scan
      ? {
          scan: {
            runId: evidence.scan.runId,
            startedAt: evidence.scan.startedAt,
            complete: evidence.scan.complete,
            resources: evidence.scan.resources,
          },
        }
      : {}),
    admissions: evidence.admissions,
    namespaces,
    exempt,
    teamLabel: evidence.teamLabel,
    checks: planned,
    totals: {
      checks: planned.length,
      readyEverywhere: planned.filter(
        (c) => c.ladder.audit.length === 0 && c.ladder.warn.length === 0 && c.ladder.enforce.length > 0,
      ).length,
      pairs: pairsBy,
    },
  }
}

function planCheck(
  id: string,
  meta: CheckMetadata | undefined,
  namespaces: readonly string[],
  byNs: ReadonlyMap<string, Pair> | undefined,
  config: EnforcementConfig,
  evidence: PlanEvidence,
): PlanCheck {
  const ladder: Record<EnforcementStep, string[]> = { audit: [], warn: [], enforce: [] }
  const off: string[] = []
  const rows: PlanNamespace[] = []
  const totals = { failing: 0, wouldDeny: 0, denied: 0 }
  for (const ns of namespaces) {
    const pair = byNs?.get(ns)
    const labels = evidence.namespaceLabels.get(ns)
    const subject: Subject = { username: '', namespace: ns, ...(labels ? { namespaceLabels: labels } : {}) }
    // The rule that decides here, looked up once: an `off` one is a decision to leave alone; without
    // one, the default mode holds (the plan has no policy's own declared action to go by).
    const rule = ruleFor(config, id, subject)
    if (rule?.mode === 'off') {
      // Off by a rule: someone decided it does not apply here.
      off.push(ns)
      continue
    }
    const current = rule?.mode ?? config.defaultMode
    const { suggested, reason } = suggest(current, pair, evidence.days)
    ladder[suggested].push(ns)
    if (!pair) continue
    totals.failing += pair.failing
    totals.wouldDeny += pair.wouldDeny
    totals.denied += pair.denied
    const teams = new Set(pair.teams)
    const nsTeam = evidence.namespaceLabels.get(ns)?.[evidence.teamLabel]
    if (nsTeam) teams.add(nsTeam)
    rows.push({
      namespace: ns,
      teams: [...teams].sort(),
      failing: pair.failing,
      examples: pair.examples,
      wouldDeny: pair.wouldDeny,
      denied: pair.denied,
      current,
      suggested,
      reason,
    })
  }
  rows.sort(
    (a, b) => b.wouldDeny - a.wouldDeny || b.failing - a.failing || a.namespace.localeCompare(b.namespace),
  )
  return {
    id,
    title: meta?.title ?? id,
    severity: (meta?.severity as Severity | undefined) ?? 'unknown',
    ...totals,
    ladder,
    off,
    namespaces: rows,
  }
}

function suggest(
  current: EnforcementMode,
  pair: Pair | undefined,
  days: number,
): { suggested: EnforcementStep; reason: string } {
  const failing = pair?.failing ?? 0
  const wouldDeny = pair?.wouldDeny ?? 0
  if (current === 'enforce')
    return {
      suggested: 'enforce',
      reason:
        failing > 0
          ? `enforced; ${plural(failing, 'object')} still ${failing === 1 ? 'fails' : 'fail'} it (admitted before it was enforced, or exempt)`
          : 'enforced, and nothing here fails it',
    }
  if (failing === 0 && wouldDeny === 0)
    return {
      suggested: 'enforce',
      reason: `ready now: nothing here fails it, and no admission in the last ${plural(days, 'day')} would have been denied`,
    }
  const evidence = [
    failing > 0 ? `${plural(failing, 'object')} ${failing === 1 ? 'fails' : 'fail'} it now` : '',
    wouldDeny > 0
      ? `${plural(wouldDeny, 'admission')} in the last ${plural(days, 'day')} would have been denied`
      : '',
  ]
    .filter(Boolean)
    .join('; ')
  // One rung at a time, and never past warn while something fails: warn breaks nothing.
  const next: EnforcementStep = RANK[current] < RANK.audit ? 'audit' : 'warn'
  return {
    suggested: next,
    reason:
      next === 'audit'
        ? `${evidence}: audit first, to see how often it would deny`
        : `${evidence}: warn, so their owners see it on every apply; enforce once they are fixed`,
  }
}
