/**
 * Runs one Kyverno CLI test: every resource through every policy, then each expected result compared with
 * the verdict Plimsoll reached (judge.ts). An expected result is `matched`, `mismatched` (Plimsoll says
 * otherwise), `missing` (no verdict), `unsupported` (the policy or rule needs something Plimsoll does not
 * do offline, with the reason) or `error` (the policy could not be loaded). Only `matched` counts as
 * reproduced. A test without expected results is not run, as `kyverno test` skips it.
 */
import { readFileSync } from 'node:fs'
import {
  addPolicies,
  completePolicySet,
  emptyPolicySet,
  namespaceOf,
  type PolicySet,
} from '../policy/adapters/policy-set.js'
import type { ExternalData } from '../policy/kyverno/cel/external-data.js'
import { resourceKindOf } from '../policy/kyverno/kinds.js'
import { formatProblem } from '../policy/kyverno/load.js'
import type { KyvernoPolicy, KyvernoRule } from '../policy/kyverno/policy.js'
import { builtinPodSecurity } from '../policy/library.js'
import { parseSource } from '../resources/parse.js'
import type { Resource } from '../resources/types.js'
import { admit } from './admission.js'
import { readContextFile } from './context-file.js'
import { type EntryReport, judge, type Verdict } from './judge.js'
import { asKyvernoLoadsIt } from './resources.js'
import { type ResultKind, resultKindOf } from './result-kind.js'
import {
  type KyvernoTest,
  readKyvernoTest,
  readUserInfo,
  readValues,
  TestFileError,
  type TestValues,
} from './test-file.js'

export type { EntryOutcome, EntryReport } from './judge.js'

type Json = Record<string, unknown>

export interface KindedEntryReport extends EntryReport {
  /** validate, mutate, generate...: what the expected result is about */
  kind: ResultKind
}

export interface TestReport {
  file: string
  name: string
  entries: KindedEntryReport[]
  /** problems with the test's files or policies (a policy with a broken rule, an unreadable resource) */
  problems: string[]
  policies: PolicySet
  /** the test has no expected results: `kyverno test` does not run it, nor counts it */
  skipped: boolean
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

/**
 * The operation of every request: `request.operation` among the global values (the one value CEL
 * policies take it from; Kyverno policies also read it per policy, rule and resource), CREATE otherwise.
 */
function globalOperation(values: TestValues): string {
  const op = values.global['request.operation']
  return op === 'UPDATE' || op === 'DELETE' ? op : 'CREATE'
}

interface Inputs {
  values: TestValues
  user: ReturnType<typeof readUserInfo>
  data?: ExternalData
}

function readInputs(test: KyvernoTest, problems: string[]): Inputs {
  try {
    const inputs: Inputs = { values: readValues(test.variables), user: readUserInfo(test.userinfo) }
    if (test.context) inputs.data = readContextFile(test.context)
    return inputs
  } catch (err) {
    if (!(err instanceof TestFileError)) throw err
    problems.push(err.message)
    return { values: readValues(undefined), user: readUserInfo(undefined) }
  }
}

function evaluate(
  set: PolicySet,
  resources: readonly Resource[],
  inputs: Inputs,
  cloneSources: ReturnType<typeof cloneSourcesOf>,
): Verdict[] {
  const { values, user, data } = inputs
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
  const operation = globalOperation(values)
  const verdicts: Verdict[] = []
  for (const resource of resources) {
    const ns = namespaceOf(resource, namespaces)
    const request = {
      object: resource.object,
      // As the CLI simulates them: an UPDATE of the resource to itself (processor/operation.go).
      oldObject: operation === 'CREATE' ? null : resource.object,
      operation,
      user,
      kind: resourceKindOf(resource.apiVersion, resource.kind),
      namespaceObject: ns.object,
      values: valuesFor(values, resource.name),
      ...(namespaceLabels.has(ns.name) ? { namespaceLabels: namespaceLabels.get(ns.name) } : {}),
      ...(data ? { data } : {}),
    }
    for (const verdict of admit(set, request, cloneSources)) verdicts.push({ ...verdict, resource })
  }
  return verdicts
}

/** The clone sources each result names (`cloneSourceResource`), read once, by policy and rule. */
function cloneSourcesOf(test: KyvernoTest, problems: string[]) {
  const byRule = new Map<string, Json[]>()
  for (const e of test.results) {
    if (!e.cloneSourceFile || e.rule === undefined) continue
    const key = `${e.policy}\u0000${e.rule}`
    if (!byRule.has(key))
      byRule.set(
        key,
        readDocuments(e.cloneSourceFile, problems).map((r) => asKyvernoLoadsIt(r).object),
      )
  }
  return (policy: KyvernoPolicy, rule: KyvernoRule): readonly Json[] =>
    byRule.get(`${policy.name}\u0000${rule.autogenFrom ?? rule.name}`) ??
    byRule.get(`${policy.namespace ?? ''}/${policy.name}\u0000${rule.autogenFrom ?? rule.name}`) ??
    []
}

export function runKyvernoTest(test: KyvernoTest): TestReport {
  const problems: string[] = []
  const set = emptyPolicySet(builtinPodSecurity)
  const report = { file: test.file, name: test.name, policies: set }
  if (test.results.length === 0) return { ...report, entries: [], problems, skipped: true }
  for (const file of test.policies) addPolicies(set, readDocuments(file, problems), true)
  for (const file of test.exceptions ?? []) addPolicies(set, readDocuments(file, problems))
  completePolicySet(set)
  const resources = test.resources.flatMap((file) => readDocuments(file, problems)).map(asKyvernoLoadsIt)
  const verdicts = evaluate(set, resources, readInputs(test, problems), cloneSourcesOf(test, problems))
  return {
    ...report,
    entries: test.results.map((e) => ({
      ...judge(e, verdicts, resources, set, problems),
      kind: resultKindOf(e, set),
    })),
    problems: [...problems, ...set.problems.map(formatProblem)],
    skipped: false,
  }
}

export { readKyvernoTest }
