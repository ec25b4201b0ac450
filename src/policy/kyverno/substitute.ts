/**
 * The two ways the rule evaluator resolves `{{ }}`: strictly (patterns, messages, context entries: an
 * unknown key is an error) and in conditions (preconditions and deny: an unknown key reads as null, so
 * `{{ request.object.metadata.labels.app || '' }}`-less policies still decide).
 */
import { compileJmesPath, JmesPathError } from './jmespath.js'
import { substituteVariables } from './variables.js'

export type SubstituteMode = 'strict' | 'conditions'

/** `path`: where `value` sits in the rule (`['mutate', 'patchStrategicMerge']`), for `{{@}}`. */
export function substitute(
  value: unknown,
  context: Record<string, unknown>,
  mode: SubstituteMode,
  path?: readonly (string | number)[],
): unknown {
  return substituteVariables(value, context, {
    missingKey: mode === 'strict' ? 'fail' : 'null',
    ...(path ? { path } : {}),
  })
}

/** A JMESPath query (a foreach list, a context variable's jmesPath) over the context. */
export function queryContext(expression: string, data: unknown): unknown {
  return compileJmesPath(expression)(data)
}

/**
 * A mutate or generate foreach list as Kyverno's EvaluateList gives it (pkg/engine/utils/foreach.go): a
 * list as it is, any other value as a list of one, and a key the data lacks as nothing, since Kyverno's
 * context query returns null for it.
 */
export function foreachElements(list: string, ctx: Record<string, unknown>): unknown[] {
  let value: unknown
  try {
    value = queryContext(substitute(list, ctx, 'strict') as string, ctx)
  } catch (err) {
    if (err instanceof JmesPathError && err.kind === 'unknown-key') value = null
    else throw err
  }
  return Array.isArray(value) ? value : [value]
}
