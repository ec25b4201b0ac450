/**
 * The two ways the rule evaluator resolves `{{ }}`: strictly (patterns, messages, context entries: an
 * unknown key is an error) and in conditions (preconditions and deny: an unknown key reads as null, so
 * `{{ request.object.metadata.labels.app || '' }}`-less policies still decide).
 */
import { compileJmesPath } from './jmespath.js'
import { substituteVariables } from './variables.js'

export type SubstituteMode = 'strict' | 'conditions'

export function substitute(value: unknown, context: Record<string, unknown>, mode: SubstituteMode): unknown {
  return substituteVariables(value, context, { missingKey: mode === 'strict' ? 'fail' : 'null' })
}

/** A JMESPath query (a foreach list, a context variable's jmesPath) over the context. */
export function queryContext(expression: string, data: unknown): unknown {
  return compileJmesPath(expression)(data)
}
