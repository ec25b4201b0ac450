/**
 * What a mutating policy changed, as lines for people: `+ /path: value` for what it added, `~ /path:
 * value` for what it replaced, `- /path` for what it removed (JSON pointers, values as JSON, long ones
 * cut short). Shared by the scan's text report and `plimsoll mutate`'s summary.
 */
import type { MutationStep } from '../policy/adapters/mutator.js'
import type { JsonPatchOperation } from '../policy/json-patch.js'

const MAX_VALUE = 80

const SIGN: Record<string, string> = { add: '+', replace: '~', remove: '-' }

function valueText(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null'
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text
}

export function changeLine(op: JsonPatchOperation): string {
  const sign = SIGN[op.op] ?? op.op
  return op.op === 'remove' ? `${sign} ${op.path}` : `${sign} ${op.path}: ${valueText(op.value)}`
}

/** `ClusterPolicy add-labels, rule add-team`, `MutatingAdmissionPolicy p, binding b`. */
export function stepName(step: MutationStep): string {
  const ns = step.policyNamespace ? `${step.policyNamespace}/` : ''
  const what = step.policyKind === 'MutatingAdmissionPolicy' ? 'binding' : 'rule'
  return `${step.policyKind} ${ns}${step.policy}${step.rule ? `, ${what} ${step.rule}` : ''}`
}

/** The step's heading and its changes, indented by `indent`. */
export function stepLines(step: MutationStep, indent: string): string[] {
  const head =
    step.status === 'pass'
      ? `${indent}mutated by ${stepName(step)}:`
      : `${indent}mutation ${step.status === 'error' ? 'failed' : 'not run'}: ${stepName(step)}: ${step.message ?? ''}`
  return [head, ...step.patch.map((op) => `${indent}  ${changeLine(op)}`)]
}
