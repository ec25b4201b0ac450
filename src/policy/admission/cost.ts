/**
 * CEL cost limits as the API server enforces them on admission policies (k8s.io/apiserver/pkg/apis/cel):
 * - PerCallLimit, 1,000,000: one expression that costs more stops with an error (the API server's
 *   "operation cancelled: actual cost limit exceeded"); that validation is an evaluation error.
 * - RuntimeCELCostBudget, 10,000,000: what all validations of one (policy, binding, param) evaluation may
 *   cost together; messageExpressions draw on what the validations left; match conditions and audit
 *   annotations each get a budget of their own. Running out is an error for the whole evaluation.
 *
 * cel-go meters the cost as it evaluates; cel-js has no such hook, so every node of a compiled expression
 * is wrapped here to charge a meter as it is evaluated. What is counted:
 * - 1 per evaluated identifier, field selection, index, operator and function call, as cel-go does;
 *   literals and the short-circuit operators (`&&`, `||`, `?:`) cost nothing of their own, as in cel-go;
 * - 10 per list literal and 30 per map literal (cel-go's creation costs);
 * - the nodes of a macro body (`all`, `exists`, `filter`, `map`...) once per iteration, plus 3 per
 *   iteration for the loop's own condition and accumulator as cel-go counts them: a comprehension over n
 *   elements costs about n times its body, which is what dominates real costs;
 * - a variable (`variables.x`) is charged to the expression that first reads it, once, as the API server does;
 * - a string or list a call or operator returns costs a further 0.1 per character or element (cel-go's
 *   traversal factor for concatenation, split, join...).
 * What is not counted: the size of a function's inputs (cel-go charges `contains`, `matches`, `==` on
 * strings by their length; here they cost 1), the messageExpressions of validations that pass (the API
 * server evaluates and discards them; here they are not evaluated), and the static estimate the API server
 * also computes when a policy is written. Costs here are therefore a lower bound, close to the API server's for
 * comprehension-heavy expressions, below it for expressions that scan long strings.
 */
import type { ASTNode } from '@marcbachmann/cel-js'

export const PER_CALL_LIMIT = 1_000_000
export const RUNTIME_COST_BUDGET = 10_000_000

const TRAVERSAL_FACTOR = 0.1

export class CostLimitExceeded extends Error {
  constructor(readonly limit: number) {
    super(`operation cancelled: actual cost limit exceeded (${limit})`)
  }
}

/** Counts the cost of one expression evaluation; throws once over its limit. */
export class CostMeter {
  spent = 0

  constructor(readonly limit: number) {}

  charge(units: number): void {
    this.spent += units
    if (this.spent > this.limit) throw new CostLimitExceeded(this.limit)
  }

  get exceeded(): boolean {
    return this.spent > this.limit
  }
}

/** The meter of the evaluation under way: evaluation is synchronous, so one at a time. */
let active: CostMeter | undefined

/**
 * Runs `evaluate` with `meter` charged for every node evaluated. A nested call (a variable first read
 * inside another expression) charges the meter already running, so the variable's cost lands once, on
 * the expression that read it.
 */
export function metered<T>(meter: CostMeter, evaluate: () => T): T {
  if (active) return evaluate()
  active = meter
  try {
    const result = evaluate()
    // CEL absorbs some errors (`true || error` is true); a cost error must not be absorbed.
    if (meter.exceeded) throw new CostLimitExceeded(meter.limit)
    return result
  } finally {
    active = undefined
  }
}

export type NodeEvaluate = (ev: unknown, ast: unknown, ctx: unknown) => unknown

/** Replaces the handler of a node, given its operator and arguments (see cel-go-compat.ts). */
export type HandlerOverride = (op: string, args: unknown) => NodeEvaluate | undefined

interface NodeMeta {
  evaluate: NodeEvaluate
  alternate?: unknown
  macro?: { evaluate: NodeEvaluate } & Record<string, unknown>
}

const FREE_OPS = new Set(['value', '||', '&&', '?:', 'comprehension', 'accuValue', 'accuInc', 'accuPush'])
const SIZED_OPS = new Set(['call', 'rcall', '+'])
/** cel-go's per-iteration cost of a comprehension's loop condition and accumulator reads */
const ITERATION_COST = 3

function baseCost(op: string): number {
  if (FREE_OPS.has(op)) return 0
  if (op === 'list') return 10
  if (op === 'map') return 30
  return 1
}

function traversalCost(value: unknown): number {
  if (typeof value === 'string' || Array.isArray(value)) return Math.ceil(value.length * TRAVERSAL_FACTOR)
  return 0
}

/** The parts of a cel-js AST node this module relies on (`meta` is public but not in its typings). */
interface CelNode {
  op: string
  args: unknown
  meta: NodeMeta
}

function isNode(value: unknown): value is CelNode {
  return typeof value === 'object' && value !== null && 'op' in value && 'meta' in value
}

/** Every AST node reachable from `value`: arguments, comprehension parts, macro expansions. */
function childNodes(value: unknown, out: CelNode[], seen: Set<unknown>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return
  seen.add(value)
  if (isNode(value)) {
    out.push(value)
    childNodes(value.args, out, seen)
    childNodes(value.meta.alternate, out, seen)
    childNodes(value.meta.macro, out, seen)
    return
  }
  if (Array.isArray(value)) {
    for (const item of value) childNodes(item, out, seen)
    return
  }
  for (const item of Object.values(value)) childNodes(item, out, seen)
}

/**
 * Makes every node of a parsed and type-checked expression charge the active meter. cel-js evaluates a
 * node through its `evaluate` property and replaces that property with the node's handler on first use,
 * so the wrapper is installed as an accessor: it keeps the handler cel-js stores and charges before each
 * call. `override` may supply a node's handler instead of cel-js's.
 */
export function instrumentCost(root: ASTNode, override?: HandlerOverride): void {
  const nodes: CelNode[] = []
  childNodes(root, nodes, new Set())
  const loopSteps = new Set<unknown>()
  for (const node of nodes)
    if (node.op === 'comprehension') loopSteps.add((node.args as { step?: unknown }).step)
  for (const node of nodes) {
    const meta = node.meta
    const cost = baseCost(node.op) + (loopSteps.has(node) ? ITERATION_COST : 0)
    const sized = SIZED_OPS.has(node.op)
    let handler: NodeEvaluate | undefined = override?.(node.op, node.args)
    const target = (): NodeEvaluate => {
      if (handler) return handler
      if (meta.alternate) {
        const alternate = meta.alternate as { evaluate: NodeEvaluate }
        handler = (ev, _ast, ctx) => alternate.evaluate(ev, alternate, ctx)
      } else if (meta.macro) {
        const macro = meta.macro
        handler = (ev, _ast, ctx) => macro.evaluate(ev, macro, ctx)
      } else {
        handler = meta.evaluate
      }
      return handler
    }
    const wrapper: NodeEvaluate = function (this: unknown, ev, ast, ctx) {
      const meter = active
      if (meter && cost > 0) meter.charge(cost)
      const result = target().call(this, ev, ast, ctx)
      if (meter && sized) {
        const extra = traversalCost(result)
        if (extra > 0) meter.charge(extra)
      }
      return result
    }
    Object.defineProperty(node, 'evaluate', {
      configurable: true,
      get: () => wrapper,
      set: (fn: NodeEvaluate) => {
        handler ??= fn
      },
    })
  }
}
