/**
 * Groups the expected results of Kyverno CLI tests for the conformance report: by what they are about
 * (validate, mutate, generate: the runner's own classification), by corpus category (top-level folder)
 * and by feature.
 */
import { relative, sep } from 'node:path'
import type { TestReport } from '../../src/kyverno-test/run.js'
import type { ExpectedEntry } from '../../src/kyverno-test/test-file.js'

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
