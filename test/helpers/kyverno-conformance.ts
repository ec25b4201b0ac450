/**
 * Groups the expected results of Kyverno CLI tests for the conformance report: by the kind of policy the
 * test exercises (the targets), by corpus category (top-level folder) and by feature.
 */
import { relative, sep } from 'node:path'
import type { TestReport } from '../../src/kyverno-test/run.js'
import type { ExpectedEntry } from '../../src/kyverno-test/test-file.js'

/**
 * - validate: ClusterPolicy/Policy tests whose rules are all validate (pattern, anyPattern, deny, foreach,
 *   podSecurity) and need no API call, config map or registry lookup;
 * - cel: ValidatingPolicy tests and ClusterPolicy `validate.cel` tests without external data;
 * - out-of-scope: everything else (mutate, generate, MutatingPolicy, external data), with the reason.
 */
export type Group = 'validate' | 'cel' | 'out-of-scope'

export function groupOf(report: TestReport): { group: Group; reason?: string } {
  const set = report.policies
  if (set.unsupported.length > 0) {
    const u = set.unsupported[0]!
    return { group: 'out-of-scope', reason: `${u.kind}: ${u.reason}` }
  }
  const rules = set.kyverno.flatMap((p) => p.rules)
  const unsupported = rules.find((r) => r.validation.type === 'unsupported')
  if (unsupported && unsupported.validation.type === 'unsupported') {
    const u = unsupported.validation.unsupported
    return { group: 'out-of-scope', reason: `${u.feature}: ${u.reason}` }
  }
  const external = rules.flatMap((r) => r.context).find((c) => c.type === 'external')
  if (external && external.type === 'external')
    return {
      group: 'out-of-scope',
      reason: `context entry '${external.name}' uses ${external.source}, which needs a cluster`,
    }
  if (set.problems.some((p) => /not supported|needs a cluster|needs the/.test(p.message)))
    return {
      group: 'out-of-scope',
      reason: set.problems.find((p) => /not supported|needs a cluster|needs the/.test(p.message))!.message,
    }
  const cel = set.validating.length > 0 || rules.some((r) => r.validation.type === 'cel')
  return { group: cel ? 'cel' : 'validate' }
}

export function featuresOf(report: TestReport, expected: ExpectedEntry): string[] {
  const features = new Set<string>()
  const rule = expected.rule
  if (rule === undefined) features.add('ValidatingPolicy')
  for (const policy of report.policies.kyverno) {
    for (const r of policy.rules) {
      if (rule === undefined || (r.name !== rule && r.autogenFrom !== rule)) continue
      features.add(r.validation.type === 'cel' ? 'validate.cel' : r.validation.type)
      if (r.preconditions !== undefined) features.add('preconditions')
      if (r.exclude) features.add('exclude')
      if (r.context.length > 0) features.add('context')
    }
  }
  // A result for a pod controller of a rule written for Pods is reproduced through autogen.
  const autogen = report.policies.kyverno.some((p) =>
    p.rules.some((r) => r.autogenFrom !== undefined && r.autogenFrom === rule),
  )
  if (
    (autogen || rule === undefined) &&
    expected.kind !== undefined &&
    expected.kind !== 'Pod' &&
    POD_CONTROLLERS.has(expected.kind)
  )
    features.add('autogen')
  return [...features]
}

const POD_CONTROLLERS = new Set([
  'Deployment',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'CronJob',
  'ReplicaSet',
  'ReplicationController',
])

export interface Tally {
  matched: number
  total: number
}

export function add(map: Map<string, Tally>, key: string, matched: boolean): void {
  const t = map.get(key) ?? { matched: 0, total: 0 }
  t.total++
  if (matched) t.matched++
  map.set(key, t)
}

export function rate(t: Tally | undefined): number {
  return t && t.total > 0 ? t.matched / t.total : 0
}

export function categoryOf(root: string, report: TestReport): string {
  return relative(root, report.file).split(sep)[0] ?? '?'
}

export function formatTable(title: string, map: Map<string, Tally>): string {
  const rows = [...map].sort(([a], [b]) => a.localeCompare(b))
  const lines = rows.map(
    ([k, t]) =>
      `  ${k.padEnd(28)} ${String(t.matched).padStart(5)} / ${String(t.total).padEnd(5)} ${(100 * rate(t)).toFixed(1).padStart(5)}%`,
  )
  return [title, ...lines].join('\n')
}
