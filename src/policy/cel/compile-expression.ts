/**
 * Parses and type-checks one CEL expression at load time, for the checks (policy/compile.ts) and the
 * audit rules (audit/rules/compile.ts): a broken expression is reported through the caller's `fail`,
 * which knows the file, line and field.
 */
import type { Environment } from '@marcbachmann/cel-js'
import { withFastPath } from './fast-path.js'

export type Program = (activation: Record<string, unknown>) => unknown

/**
 * cel-js messages end with the expression and a caret under the offending column; keep that picture
 * (it is the position the user needs), but not the blank lines around it.
 */
export function celMessage(err: Error): string {
  const [first, ...rest] = err.message.split('\n')
  const picture = rest.filter((l) => l.trim() !== '').map((l) => `    ${l}`)
  return [first, ...picture].join('\n')
}

/**
 * The expression's program; `expect` is the type it must have ('any': any type; `dyn` always passes).
 * `fail` gets the problem, with the expression appended where cel-js did not draw it with a caret.
 */
export function compileCelExpression(
  env: Environment,
  expression: string,
  expect: 'bool' | 'string' | 'any',
  fail: (problem: string) => never,
  fastPath = true,
): Program {
  const problem = (text: string): never => fail(text.includes('^') ? text : `${text}\n    in: ${expression}`)
  let program: ReturnType<typeof env.parse> | undefined
  try {
    program = env.parse(expression)
  } catch (err) {
    problem(`CEL syntax error: ${celMessage(err as Error)}`)
  }
  const checked = program!.check()
  if (!checked.valid) problem(`CEL type error: ${checked.error ? celMessage(checked.error) : 'invalid'}`)
  if (expect !== 'any' && checked.type !== expect && checked.type !== 'dyn')
    problem(`expected an expression of type ${expect}, got ${checked.type}`)
  const slow = program as unknown as Program
  return fastPath ? withFastPath(program!.ast, slow) : slow
}
