/**
 * Where cel-go, which the API server and Kyverno run, is more lenient than cel-js, and policies in the
 * wild rely on it: cel-go's `x.orValue(d)` and `x.or(o)` return `x` unchanged when `x` is not an
 * optional (its planner short-circuits on any non-optional receiver), where cel-js raises an error.
 * Kyverno's pod security policies write `container.securityContext.capabilities.add.orValue([])`.
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
