/**
 * Runs one Kyverno CLI test: every resource through every policy, then each expected result compared with
 * the verdict Plimsoll reached. An expected result is `matched`, `mismatched` (Plimsoll says otherwise),
 * `missing` (no verdict: the policy did not apply, or the rule does not exist), `unsupported` (the
 * policy or rule needs something Plimsoll does not do offline, with the reason) or `error` (the policy
 * could not be loaded). Only `matched` counts as reproduced.
 */
import { readFileSync } from 'node:fs'
import {
  addPolicies,
  completePolicySet,
  emptyPolicySet,
  evaluatePolicySet,
  namespaceOf,
  type PolicyResponse,
  type PolicySet,
} from '../policy/adapters/policy-set.js'
import { resourceKindOf } from '../policy/kyverno/kinds.js'
import { formatProblem } from '../policy/kyverno/load.js'
import { parseSource } from '../resources/parse.js'
import type { Resource } from '../resources/types.js'
import {
  type ExpectedEntry,
  type KyvernoTest,
  readKyvernoTest,
  readUserInfo,
  readValues,
  TestFileError,
  type TestValues,
} from './test-file.js'

type Json = Record<string, unknown>

export type EntryOutcome = 'matched' | 'mismatched' | 'missing' | 'unsupported' | 'error'

export interface EntryReport {
  expected: ExpectedEntry
  outcome: EntryOutcome
  /** what Plimsoll found (mismatched), or why it could not tell (unsupported, error, missing) */
  detail: string
}

export interface TestReport {
  file: string
  name: string
  entries: EntryReport[]
  /** problems with the test's files or policies (a policy with a broken rule, an unreadable resource) */
  problems: string[]
  policies: PolicySet
}

function readDocuments(file: string, problems: string[]): Resource[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    problems.push(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    return []
  }
  const result = parseSource(file, text)
  for (const e of result.errors)
    problems.push(`${e.file}${e.position ? `:${e.position.line}` : ''}: ${e.message}`)
  return result.resources
}

const metaOf = (o: Json): Json => (o.metadata && typeof o.metadata === 'object' ? (o.metadata as Json) : {})

function valuesFor(values: TestValues, resource: string) {
  return (policy: string, rule: string): Json | undefined => {
    const merged = {
      ...values.global,
      ...(values.rules.get(policy)?.get(rule) ?? {}),
      ...(values.resources.get(policy)?.get(resource) ?? {}),
    }
    return Object.keys(merged).length > 0 ? merged : undefined
  }
}

interface Verdict {
  response: PolicyResponse
  resource: Resource
}

function entryMatches(e: ExpectedEntry, v: Verdict): boolean {
  const r = v.response
  const policyNames = r.policyNamespace ? [r.policy, `${r.policyNamespace}/${r.policy}`] : [r.policy]
  if (!policyNames.includes(e.policy)) return false
  // Like `kyverno test`, an expected result for rule X also covers the rules autogen made from X.
  if (
    e.rule !== undefined &&
    r.rule !== e.rule &&
    r.rule !== `autogen-${e.rule}` &&
    r.rule !== `autogen-cronjob-${e.rule}`
  )
    return false
  if (e.kind !== undefined && v.resource.kind !== e.kind) return false
  const ns = v.resource.namespace ?? ''
  if (e.namespace !== undefined && e.namespace !== ns) return false
  return e.resource === v.resource.name || e.resource === `${ns}/${v.resource.name}`
}

function judge(
  e: ExpectedEntry,
  verdicts: readonly Verdict[],
  set: PolicySet,
  loadProblems: string[],
): EntryReport {
  const report = (outcome: EntryOutcome, detail: string): EntryReport => ({ expected: e, outcome, detail })
  if (e.needsMutation)
    return report(
      'unsupported',
      'the expected result checks a patched or generated resource: mutate and generate are not implemented',
    )
  if (e.policyType === 'MutatingPolicy' || e.policyType === 'other')
    return report(
      'unsupported',
      `${e.policyType === 'other' ? 'this policy kind' : 'MutatingPolicy'} is not implemented: Plimsoll only validates`,
    )
  const unsupportedPolicy = set.unsupported.find((u) => u.name === e.policy)
  if (unsupportedPolicy)
    return report('unsupported', `${unsupportedPolicy.kind}: ${unsupportedPolicy.reason}`)
  const found = verdicts.filter((v) => entryMatches(e, v))
  if (found.length === 0) {
    const problem = set.problems.find(
      (p) => p.policy === e.policy && (e.rule === undefined || p.rule === undefined || p.rule === e.rule),
    )
    if (problem) return report('error', formatProblem(problem))
    if (loadProblems.length > 0) return report('error', loadProblems.join('; '))
    // `kyverno test` counts a resource the policy does not apply to as skipped ("Excluded").
    if (e.result === 'skip') return report('matched', 'the policy does not apply to this resource')
    return report('missing', 'no verdict: the policy did not apply to this resource')
  }
  const unsupported = found.find((v) => v.response.status === 'unsupported')
  if (unsupported) return report('unsupported', unsupported.response.message)
  const wrong = found.find((v) => v.response.status !== e.result)
  if (wrong)
    return report(
      'mismatched',
      `got ${wrong.response.status}${wrong.response.message ? `: ${wrong.response.message}` : ''}`,
    )
  return report('matched', '')
}

export function runKyvernoTest(test: KyvernoTest): TestReport {
  const problems: string[] = []
  const set = emptyPolicySet()
  for (const file of test.policies) addPolicies(set, readDocuments(file, problems), true)
  completePolicySet(set)
  const resources = test.resources.flatMap((file) => readDocuments(file, problems))
  let values: TestValues
  let user: ReturnType<typeof readUserInfo>
  try {
    values = readValues(test.variables)
    user = readUserInfo(test.userinfo)
  } catch (err) {
    if (!(err instanceof TestFileError)) throw err
    problems.push(err.message)
    values = readValues(undefined)
    user = readUserInfo(undefined)
  }
  // Namespaces in the input give their labels to namespaceSelectors, like a cluster would.
  const namespaceLabels = new Map(values.namespaceLabels)
  const namespaces = new Map(values.namespaces)
  for (const r of resources) {
    if (r.kind !== 'Namespace' || r.apiVersion !== 'v1') continue
    if (!namespaces.has(r.name)) namespaces.set(r.name, r.object)
    if (!namespaceLabels.has(r.name)) {
      const labels = metaOf(r.object).labels
      namespaceLabels.set(
        r.name,
        labels && typeof labels === 'object' ? (labels as Record<string, string>) : {},
      )
    }
  }
  const verdicts: Verdict[] = []
  for (const resource of resources) {
    const ns = namespaceOf(resource, namespaces)
    const request = {
      object: resource.object,
      oldObject: null,
      operation: 'CREATE',
      user,
      kind: resourceKindOf(resource.apiVersion, resource.kind),
      namespaceObject: ns.object,
      values: valuesFor(values, resource.name),
      ...(namespaceLabels.has(ns.name) ? { namespaceLabels: namespaceLabels.get(ns.name) } : {}),
    }
    for (const response of evaluatePolicySet(set, request)) verdicts.push({ response, resource })
  }
  return {
    file: test.file,
    name: test.name,
    entries: test.results.map((e) => judge(e, verdicts, set, problems)),
    problems: [...problems, ...set.problems.map(formatProblem)],
    policies: set,
  }
}

export { readKyvernoTest }
