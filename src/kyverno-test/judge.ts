/**
 * Compares one expected result of a Kyverno CLI test with the verdicts reached, the way `kyverno test`
 * does (cmd/cli/kubectl-kyverno/commands/test/output.go, printTestResult, and command.go in
 * kyverno/kyverno):
 * - a result names its resource as `<name>` or `<namespace>/<name>`;
 * - for rule X it also takes the rules autogen made from X; for a policy kind without rules
 *   (ValidatingPolicy, ValidatingAdmissionPolicy) it takes the policy's result whatever rule it names;
 * - when the policy responded for the resource but no rule of that name did (the rule did not apply,
 *   or its name is misspelled), the CLI counts the result as passed ("excluded"), whatever it expects. A
 *   ClusterPolicy/Policy always responds; a ValidatingPolicy responds for a resource it does not match
 *   only when its matchConstraints narrow it (selectors, exclusions, names, several rules);
 * - a resource the policy gave nothing for is "not found", a failure, except that an expected `skip`
 *   is reproduced by it.
 */
import type { PolicyResponse, PolicySet } from '../policy/adapters/policy-set.js'
import type { MatchResources } from '../policy/admission/match-resources.js'
import type { JsonMap } from '../policy/json-map.js'
import { formatProblem } from '../policy/kyverno/load.js'
import type { Resource } from '../resources/types.js'
import { comparePatched, expectedResource, patchDifference } from './compare-resources.js'
import type { ExpectedEntry } from './test-file.js'

export type EntryOutcome = 'matched' | 'mismatched' | 'missing' | 'unsupported' | 'error'

export interface EntryReport {
  expected: ExpectedEntry
  outcome: EntryOutcome
  /** what Plimsoll found (mismatched), or why it could not tell (unsupported, error, missing) */
  detail: string
}

export interface Verdict {
  response: PolicyResponse
  resource: Resource
  /** the resource as the policy's mutate rules left it, or as validation saw it (admission.ts) */
  patched?: JsonMap
  /** what a generate rule made */
  generated?: JsonMap[]
  /** why a generate rule that passed made nothing */
  note?: string
}

const RULELESS_KINDS = new Set<PolicyResponse['policyKind']>([
  'ValidatingPolicy',
  'ValidatingAdmissionPolicy',
  'MutatingPolicy',
  'MutatingAdmissionPolicy',
  'GeneratingPolicy',
])

const UNSUPPORTED_TYPES: Partial<Record<ExpectedEntry['policyType'], string>> = {
  ImageValidatingPolicy: 'ImageValidatingPolicy needs the image registry',
  DeletingPolicy: 'DeletingPolicy acts on a cluster',
}

/**
 * The patched or generated resources of a verdict against the test's files, as printTestResult and
 * checkResult compare them (cmd/cli/kubectl-kyverno/commands/test/output.go and command.go): a patched
 * resource missing from its file is not counted by the CLI (unless failOnMissingResources); a generated one
 * is a failure; with several `generatedResources` files, any may hold an equal resource.
 */
function compareProduced(
  e: ExpectedEntry,
  v: Verdict,
): { ok: true } | { ok: false; skipped: boolean; detail: string } {
  if (e.patchedFile && v.patched) {
    const found = expectedResource(e.patchedFile, v.patched)
    if (!found.found)
      return { ok: false, skipped: found.notInManifest && !e.failOnMissingResources, detail: found.message }
    if (!comparePatched(found.resource, v.patched))
      return {
        ok: false,
        skipped: false,
        detail: `the patched resource differs from ${e.patchedFile}: ${patchDifference(found.resource, v.patched)}`,
      }
  }
  for (const generated of e.generatedFiles ? (v.generated ?? []) : []) {
    let detail = ''
    const equal = (e.generatedFiles ?? []).some((file) => {
      const found = expectedResource(file, generated)
      if (!found.found) detail ||= found.message
      else if (comparePatched(found.resource, generated)) return true
      else
        detail = `the generated resource differs from ${file}: ${patchDifference(found.resource, generated)}`
      return false
    })
    if (!equal) return { ok: false, skipped: false, detail }
  }
  return { ok: true }
}

export function namesResource(e: ExpectedEntry, resource: Resource): boolean {
  if (e.kind !== undefined && resource.kind !== e.kind) return false
  const ns = resource.namespace ?? ''
  if (e.namespace !== undefined && e.namespace !== ns) return false
  return e.resource === resource.name || e.resource === `${ns}/${resource.name}`
}

function namesPolicy(e: ExpectedEntry, r: PolicyResponse): boolean {
  return (
    e.policy === r.policy ||
    (r.policyNamespace !== undefined && e.policy === `${r.policyNamespace}/${r.policy}`)
  )
}

function namesRule(e: ExpectedEntry, r: PolicyResponse): boolean {
  if (e.rule === undefined || RULELESS_KINDS.has(r.policyKind)) return true
  return r.rule === e.rule || r.rule === `autogen-${e.rule}` || r.rule === `autogen-cronjob-${e.rule}`
}

const emptySelector = (s: Record<string, unknown> | undefined) =>
  !s ||
  Object.values(s).every(
    (v) => v === undefined || (Array.isArray(v) ? v.length === 0 : Object.keys(v as object).length === 0),
  )

/** Kyverno's CLI drops an unmatched ValidatingPolicy's response only for this shape (hasSelector). */
function plainMatch(m: MatchResources | undefined): boolean {
  const [rule, ...more] = m?.resourceRules ?? []
  return (
    m !== undefined &&
    emptySelector(m.namespaceSelector) &&
    emptySelector(m.objectSelector) &&
    m.excludeResourceRules.length === 0 &&
    rule !== undefined &&
    more.length === 0 &&
    rule.resourceNames.length === 0
  )
}

/** Whether `kyverno test` has a response of the policy for a resource it gave no result on. */
function respondsUnapplied(e: ExpectedEntry, set: PolicySet): boolean {
  if (set.kyverno.some((p) => p.name === e.policy || `${p.namespace}/${p.name}` === e.policy)) return true
  // A MutatingPolicy responds as a ValidatingPolicy does, through each of its autogen variants, which the
  // CLI's provider holds as policies of the same name; GeneratingPolicies and MAPs never do unapplied.
  const mp = set.mutating.find((m) => m.name === e.policy)
  if (mp) return mp.matches.some((m) => !plainMatch(m))
  const vp = set.validating.find((v) => v.policy.name === e.policy)
  return vp !== undefined && !plainMatch(vp.policy.matches[0])
}

export function judge(
  e: ExpectedEntry,
  verdicts: readonly Verdict[],
  resources: readonly Resource[],
  set: PolicySet,
  loadProblems: readonly string[],
): EntryReport {
  const report = (outcome: EntryOutcome, detail: string): EntryReport => ({ expected: e, outcome, detail })
  const unsupportedType = UNSUPPORTED_TYPES[e.policyType]
  if (unsupportedType) return report('unsupported', unsupportedType)
  const unsupportedPolicy = set.unsupported.find((u) => u.name === e.policy)
  if (unsupportedPolicy)
    return report('unsupported', `${unsupportedPolicy.kind}: ${unsupportedPolicy.reason}`)
  const found = verdicts.filter(
    (v) => namesPolicy(e, v.response) && namesRule(e, v.response) && namesResource(e, v.resource),
  )
  if (found.length === 0) {
    const problem = set.problems.find(
      (p) => p.policy === e.policy && (e.rule === undefined || p.rule === undefined || p.rule === e.rule),
    )
    if (problem) return report('error', formatProblem(problem))
    if (loadProblems.length > 0) return report('error', loadProblems.join('; '))
    if (!resources.some((r) => namesResource(e, r)))
      return report(
        'missing',
        `no resource ${e.kind ? `${e.kind} ` : ''}${e.resource} in the test's resources`,
      )
    if (respondsUnapplied(e, set))
      return report(
        'matched',
        `excluded: no rule${e.rule ? ` named ${e.rule}` : ''} gave a result, which kyverno test counts as passed`,
      )
    // `kyverno test` counts a resource the policy does not apply to as skipped ("Excluded").
    if (e.result === 'skip') return report('matched', 'the policy does not apply to this resource')
    return report('missing', 'no verdict: the policy did not apply to this resource')
  }
  const unsupported = found.find((v) => v.response.status === 'unsupported')
  if (unsupported) return report('unsupported', unsupported.response.message)
  const compared = found.map((v) => ({ v, produced: compareProduced(e, v) }))
  const differs = compared.find((c) => !c.produced.ok && !c.produced.skipped)
  if (differs && !differs.produced.ok) return report('mismatched', differs.produced.detail)
  const counted = compared.filter((c) => c.produced.ok).map((c) => c.v)
  if (counted.length === 0) {
    const [first] = compared
    const why = first && !first.produced.ok ? first.produced.detail : ''
    return report('matched', `kyverno test does not count this result: ${why}`)
  }
  const nothingMade = counted.find((v) => e.generatedFiles && v.note && (v.generated ?? []).length === 0)
  const wrong = counted.find((v) => v.response.status !== e.result)
  if (wrong)
    return report(
      'mismatched',
      `got ${wrong.response.status}${wrong.response.message ? `: ${wrong.response.message}` : ''}`,
    )
  return report(
    'matched',
    nothingMade?.note
      ? `nothing generated (${nothingMade.note}); the verdict alone is compared, as kyverno test does`
      : '',
  )
}
