/**
 * Kyverno's PolicyException for its CEL policy kinds (policies.kyverno.io v1alpha1, v1beta1, v1), as
 * pkg/cel/policies/mpol and gpol apply it: an exception names policies by `policyRefs` (name and kind);
 * for a request the policy selects, the exception's match conditions are evaluated first, before the
 * policy's own, without the policy's variables. When all hold for an exception that lists no `images`
 * and no `allowedValues` (a full exemption), the policy does nothing: its result is `skip`, or `pass`
 * when the exception's `reportResult` is `pass`. An exception whose conditions err makes the result an
 * error, unless a full exemption was found before it.
 */
import {
  type AdmissionInput,
  type CelPolicyDialect,
  CelPolicyError,
  type CompiledCelPolicy,
  compileCelPolicy,
} from '../admission/cel-policy.js'
import type { Json } from '../admission/shape.js'
import { isJsonMap } from '../json-map.js'
import { VALIDATING_POLICY_GROUP, VALIDATING_POLICY_VERSIONS } from './validating-policy.js'

export const CEL_EXCEPTION_KIND = 'PolicyException'

export function isCelExceptionDocument(doc: { apiVersion?: unknown; kind?: unknown }): boolean {
  const [group, version] = String(doc.apiVersion).split('/')
  return (
    group === VALIDATING_POLICY_GROUP &&
    (VALIDATING_POLICY_VERSIONS as readonly string[]).includes(version ?? '') &&
    doc.kind === CEL_EXCEPTION_KIND
  )
}

export interface CelException {
  /** `<namespace>/<name>`, or the name of a cluster-wide one, as Kyverno names it in its message */
  key: string
  refs: { name: string; kind: string }[]
  matchConditions: { name: string; expression: string }[]
  reportResult: string
  /** lists images or allowed values: it narrows what a policy checks rather than exempting from it */
  partial: boolean
  file: string
}

const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

export function readCelException(doc: Json, file: string): CelException {
  const meta = isJsonMap(doc.metadata) ? doc.metadata : {}
  const spec = isJsonMap(doc.spec) ? doc.spec : {}
  const name = typeof meta.name === 'string' ? meta.name : ''
  const key = typeof meta.namespace === 'string' && meta.namespace !== '' ? `${meta.namespace}/${name}` : name
  const list = (v: unknown) => (Array.isArray(v) ? v.filter(isJsonMap) : [])
  return {
    key,
    refs: list(spec.policyRefs).map((r) => ({ name: String(r.name ?? ''), kind: String(r.kind ?? '') })),
    matchConditions: list(spec.matchConditions).map((c) => ({
      name: String(c.name ?? ''),
      expression: String(c.expression ?? ''),
    })),
    reportResult: typeof spec.reportResult === 'string' ? spec.reportResult : '',
    partial: strings(spec.images).length > 0 || strings(spec.allowedValues).length > 0,
    file,
  }
}

export type ExceptionVerdict =
  | { status: 'skip' | 'pass'; message: string }
  | { status: 'error'; message: string }
  | undefined

const compiled = new WeakMap<CelException, Map<CelPolicyDialect, CompiledCelPolicy | Error>>()

function conditionsOf(exception: CelException, dialect: CelPolicyDialect): CompiledCelPolicy | Error {
  const byDialect = compiled.get(exception) ?? new Map<CelPolicyDialect, CompiledCelPolicy | Error>()
  compiled.set(exception, byDialect)
  let cel = byDialect.get(dialect)
  if (!cel) {
    try {
      cel = compileCelPolicy(
        { matchConditions: exception.matchConditions, variables: [], validations: [] },
        { file: exception.file, policy: exception.key, kind: CEL_EXCEPTION_KIND },
        dialect,
      )
    } catch (err) {
      if (!(err instanceof CelPolicyError)) throw err
      cel = err
    }
    byDialect.set(dialect, cel)
  }
  return cel
}

/** What the exceptions of a policy make of a request it selects; undefined when none exempts it. */
export function applyExceptions(
  exceptions: readonly CelException[],
  policy: { kind: string; name: string },
  dialect: CelPolicyDialect,
  input: AdmissionInput,
): ExceptionVerdict {
  const mine = exceptions.filter((e) => e.refs.some((r) => r.name === policy.name && r.kind === policy.kind))
  const exempting: CelException[] = []
  for (const exception of mine) {
    const cel = conditionsOf(exception, dialect)
    if (cel instanceof Error) {
      if (exempting.length > 0) continue
      return { status: 'error', message: cel.message }
    }
    const unmatched = cel.begin(input).unmatched
    if (unmatched?.status === 'error') {
      if (exempting.length > 0) continue
      return { status: 'error', message: unmatched.message }
    }
    if (unmatched === undefined && !exception.partial) exempting.push(exception)
  }
  if (exempting.length === 0) return undefined
  const keys = exempting.map((e) => e.key).join(', ')
  // Kyverno reports the result the first exception asks for (the highest-priority one, by label).
  const passed = exempting[0]?.reportResult === 'pass'
  return {
    status: passed ? 'pass' : 'skip',
    message: `rule is ${passed ? 'passed' : 'skipped'} due to policy exception: ${keys}`,
  }
}
