/**
 * Where cel-go, which the API server and Kyverno run, is more lenient than cel-js, and policies in the
 * wild rely on it:
 * - cel-go's `x.orValue(d)` and `x.or(o)` return `x` unchanged when `x` is not an optional (its planner
 *   short-circuits on any non-optional receiver), where cel-js raises an error. Kyverno's pod security
 *   policies write `container.securityContext.capabilities.add.orValue([])`.
 * - cel-go's `has()` takes any field selection, whatever its operand (`has(x[0].f)`, `has(f(x).g)`): the
 *   operand is evaluated as usual and only the last field is tested (cel-go parser/macro.go, MakeHas).
 *   cel-js accepts only a chain of fields from an identifier; the others are widened here.
 */
import { Optional } from '@marcbachmann/cel-js'
import type { NodeEvaluate } from './cost.js'

interface Evaluator {
  run(node: unknown, ctx: unknown): unknown
}

/** cel-go's handler for a node, when it differs from cel-js's. */
export function celGoHandler(op: string, args: unknown): NodeEvaluate | undefined {
  if (op !== 'rcall' || !Array.isArray(args)) return undefined
  const [name, receiver, [fallback] = []] = args as [string, unknown, unknown[]]
  if (name !== 'orValue' && name !== 'or') return undefined
  return (ev, _ast, ctx) => {
    const run = (node: unknown) => (ev as Evaluator).run(node, ctx)
    const value = run(receiver)
    if (!(value instanceof Optional)) return value
    if (value.hasValue()) return name === 'or' ? value : value.value()
    return run(fallback)
  }
}

/** The parts of cel-js's `has()` macro this module relies on (see cel-js lib/macros.js). */
interface HasMacro {
  args: { op: string; args: unknown[] }[]
  macroHasProps?: unknown[]
  typeCheck(checker: Checker, macro: HasMacro, ctx: unknown): unknown
}

interface Checker {
  check(node: unknown, ctx: unknown): unknown
  getType(name: string): unknown
}

interface MacroNode {
  op: string
  args: unknown
  meta?: { macro?: HasMacro }
}

function isHasCall(value: unknown): value is MacroNode & { meta: { macro: HasMacro } } {
  const node = value as MacroNode
  return node.op === 'call' && Array.isArray(node.args) && node.args[0] === 'has' && !!node.meta?.macro
}

/**
 * cel-js's `has()` evaluates `macroHasProps` from the last entry (the operand) to the first (the field):
 * giving it just the selection and its operand tests the one field, as cel-go does.
 */
function widen(macro: HasMacro): void {
  const typeCheck = macro.typeCheck
  macro.typeCheck = (checker, m, ctx) => {
    try {
      return typeCheck.call(macro, checker, m, ctx)
    } catch (err) {
      const selection = m.args[0]
      if (!selection || (selection.op !== '.' && selection.op !== '.?')) throw err
      checker.check(selection.args[0], ctx)
      m.macroHasProps = [selection, selection.args[0]]
      return checker.getType('bool')
    }
  }
}

/** Lets every `has()` of a parsed (not yet checked) expression take any field selection. */
export function widenHas(root: unknown, seen = new Set<unknown>()): void {
  if (typeof root !== 'object' || root === null || seen.has(root)) return
  seen.add(root)
  if (isHasCall(root)) widen(root.meta.macro)
  for (const value of Object.values(root)) widenHas(value, seen)
}
