/**
 * Compiles collected rules (rules-file.ts) to closures, once: lists are substituted into condition
 * text and exceptions appended to it exactly as Falco's rule compiler does, the text is parsed
 * (parser.ts), macros are expanded (a macro sees the macros defined before its last change; a rule sees
 * them all), fields are resolved (fields.ts) and every check becomes a predicate reading its field
 * through a per-event cache slot, so a field read by many rules is extracted once per event.
 */
import type { Priority } from '../types.js'
import type { Expr } from './ast.js'
import { type EvalCtx, type FieldValue, resolveField, UNSET } from './fields.js'
import { ConditionSyntaxError, lineCol } from './lexer.js'
import { listTest, stringTest } from './operators.js'
import { type CompiledOutput, compileOutput } from './output.js'
import { parseCondition } from './parser.js'
import {
  type Collected,
  type ExceptionInfo,
  KNOWN_SOURCES,
  type ListInfo,
  type LoadMessage,
  type MacroInfo,
  type Origin,
  type RuleInfo,
} from './rules-file.js'

export type Predicate = (ctx: EvalCtx) => boolean

export interface CompiledRule {
  readonly name: string
  readonly desc: string
  readonly priority: Priority
  readonly source: string
  readonly enabled: boolean
  readonly tags: readonly string[]
  /** the condition as compiled: lists substituted, exceptions appended */
  readonly condition: string
  readonly output: string
  readonly origin: Origin
  readonly matches: Predicate
  readonly render: CompiledOutput['render']
}

export interface CompiledRuleSet {
  /** every k8s_audit rule that compiled, enabled or not, in evaluation order */
  readonly rules: readonly CompiledRule[]
  /** how many per-event cache slots an evaluation needs */
  readonly slots: number
  readonly errors: LoadMessage[]
  readonly warnings: LoadMessage[]
}

class CompileError extends Error {}

function quoteItem(s: string): string {
  return s.includes(' ') && !s.startsWith('"') && !s.startsWith("'") ? `"${s}"` : s
}

function parenItem(s: string): string {
  return s.startsWith('(') ? s : `(${s})`
}

/** Falco's resolve_list: replaces whole-word occurrences of a list's name by its items, in the text. */
export function substituteList(cond: string, name: string, items: readonly string[]): string {
  const blanks = ' \t\n\r'
  const delims = `${blanks}(),=`
  let start = cond.indexOf(name)
  while (start !== -1) {
    let end = start + name.length
    if (
      (start === 0 || delims.includes(cond.charAt(start - 1))) &&
      (end >= cond.length || delims.includes(cond.charAt(end)))
    ) {
      while (start > 0 && blanks.includes(cond.charAt(start - 1))) start--
      while (end < cond.length && blanks.includes(cond.charAt(end))) end++
      const sub = items.map(quoteItem).join(', ')
      if (sub.length === 0) {
        if (start > 0 && cond.charAt(start - 1) === ',') start--
        else if (end < cond.length && cond.charAt(end) === ',') end++
      }
      let next = ''
      if (start > 0) next += `${cond.slice(0, start)} `
      next += `${sub} `
      next += cond.slice(end)
      cond = next
      start += sub.length + 1
    }
    start = cond.indexOf(name, start + 1)
  }
  return cond
}

const LIST_OPS = new Set(['in', 'intersects', 'pmatch'])

/** Falco's build_rule_exception_infos: `(cond) and not (...)` per exception, as text. */
export function exceptionCondition(cond: string, exceptions: readonly ExceptionInfo[]): string {
  let out = `(${cond})`
  for (const ex of exceptions) {
    let icond = ''
    if (!Array.isArray(ex.fields)) {
      for (const val of ex.values) {
        if (typeof val !== 'string')
          throw new CompileError('Expected values array to contain a list of strings')
        icond += icond === '' ? `(${ex.fields} ${ex.comps as string} (` : ', '
        icond += quoteItem(val)
      }
      icond += icond === '' ? '' : '))'
    } else {
      const comps = ex.comps as string[]
      icond = '('
      for (const tuple of ex.values) {
        if (!Array.isArray(tuple) || tuple.length !== ex.fields.length) {
          throw new CompileError('Fields and values lists must have equal length')
        }
        icond += icond === '(' ? '' : ' or '
        icond += '('
        ex.fields.forEach((field, k) => {
          const v = tuple[k]!
          let istr: string
          if (Array.isArray(v)) istr = `(${v.map(quoteItem).join(', ')})`
          else istr = LIST_OPS.has(comps[k]!) ? parenItem(v) : quoteItem(v)
          icond += `${k === 0 ? '' : ' and '} ${field} ${comps[k]} ${istr}`
        })
        icond += ')'
      }
      icond += ')'
      if (icond === '()') icond = ''
    }
    out += icond === '' ? '' : ` and not ${icond}`
  }
  return out
}

/** Lists with their items expanded (an item naming a list defined before it is replaced by its items). */
function compileLists(lists: Map<string, ListInfo>): { name: string; items: string[] }[] {
  const out: { name: string; items: string[] }[] = []
  const ordered = [...lists.values()].sort((a, b) => a.index - b.index)
  for (const l of ordered) {
    const items: string[] = []
    for (const item of l.items) {
      const ref = lists.get(item)
      if (ref !== undefined && ref.index < l.visibility) items.push(...ref.items)
      else items.push(item)
    }
    out.push({ name: l.name, items })
  }
  return out
}

interface MacroEntry {
  readonly info: MacroInfo
  readonly ast?: Expr
  readonly error?: string
}

function syntaxMessage(e: ConditionSyntaxError, text: string): string {
  const { line, col } = lineCol(text, e.offset)
  const where = text.includes('\n') ? `line ${line}, column ${col}` : `column ${col}`
  return `${e.message} (condition ${where}: ${JSON.stringify(text.length > 160 ? `${text.slice(0, 160)}...` : text)})`
}

export function compileRules(col: Collected): CompiledRuleSet {
  const errors: LoadMessage[] = [...col.errors]
  const warnings: LoadMessage[] = [...col.warnings]
  const lists = compileLists(col.lists)
  const usedLists = new Set<string>()
  const withLists = (cond: string): string => {
    let c = cond
    for (const l of lists) {
      const next = substituteList(c, l.name, l.items)
      if (next !== c) usedLists.add(l.name)
      c = next
    }
    return c
  }

  const macros = new Map<string, MacroEntry>()
  for (const m of col.macros.values()) {
    try {
      macros.set(m.name, { info: m, ast: parseCondition(withLists(m.cond)) })
    } catch (e) {
      if (!(e instanceof ConditionSyntaxError)) throw e
      const message = syntaxMessage(e, withLists(m.cond))
      macros.set(m.name, { info: m, error: message })
      errors.push({ ...m.origin, item: `macro '${m.name}'`, message })
    }
  }
  const usedMacros = new Set<string>()

  const expand = (e: Expr, visibility: number, stack: readonly string[]): Expr => {
    switch (e.kind) {
      case 'and':
      case 'or':
        return { kind: e.kind, children: e.children.map((c) => expand(c, visibility, stack)) }
      case 'not':
        return { kind: 'not', child: expand(e.child, visibility, stack) }
      case 'macro': {
        const m = macros.get(e.name)
        if (m === undefined || m.info.index >= visibility) {
          throw new CompileError(`Undefined macro '${e.name}' used in filter.`)
        }
        if (m.error !== undefined)
          throw new CompileError(`macro '${e.name}' has errors (${m.info.origin.file}:${m.info.origin.line})`)
        if (stack.includes(e.name))
          throw new CompileError(`macro '${e.name}' refers to itself (${[...stack, e.name].join(' -> ')})`)
        usedMacros.add(e.name)
        return expand(m.ast!, m.info.visibility, [...stack, e.name])
      }
      default:
        return e
    }
  }

  // per-event cache slots, one per distinct field[arg]
  const slotOf = new Map<string, number>()
  const cachedField = (
    name: string,
    arg: string | undefined,
  ): { read: (ctx: EvalCtx) => FieldValue; list: boolean } | string => {
    const f = resolveField(name, arg)
    if (typeof f === 'string') return f
    let slot = slotOf.get(f.key)
    if (slot === undefined) {
      slot = slotOf.size
      slotOf.set(f.key, slot)
    }
    const s = slot
    const read = f.read
    return {
      list: f.list,
      read: (ctx) => {
        const cached = ctx.cache[s]
        if (cached !== UNSET) return cached as FieldValue
        const v = read(ctx)
        ctx.cache[s] = v
        return v
      },
    }
  }
  const cachedRead = (name: string, arg: string | undefined): ((ctx: EvalCtx) => FieldValue) | string => {
    const f = cachedField(name, arg)
    return typeof f === 'string' ? f : f.read
  }

  const compileExpr = (e: Expr): Predicate => {
    switch (e.kind) {
      case 'and': {
        const cs = e.children.map(compileExpr)
        if (cs.length === 2) {
          const [a, b] = cs as [Predicate, Predicate]
          return (ctx) => a(ctx) && b(ctx)
        }
        return (ctx) => {
          for (const c of cs) if (!c(ctx)) return false
          return true
        }
      }
      case 'or': {
        const cs = e.children.map(compileExpr)
        if (cs.length === 2) {
          const [a, b] = cs as [Predicate, Predicate]
          return (ctx) => a(ctx) || b(ctx)
        }
        return (ctx) => {
          for (const c of cs) if (c(ctx)) return true
          return false
        }
      }
      case 'not': {
        const c = compileExpr(e.child)
        return (ctx) => !c(ctx)
      }
      case 'macro':
        throw new CompileError(`Undefined macro '${e.name}' used in filter.`)
      case 'exists': {
        const read = cachedRead(e.field.name, e.field.arg)
        if (typeof read === 'string') throw new CompileError(read)
        return (ctx) => read(ctx) !== undefined
      }
      case 'compare': {
        const field = cachedField(e.field.name, e.field.arg)
        if (typeof field === 'string') throw new CompileError(field)
        const read = field.read
        const values = e.listName !== undefined ? [e.listName] : e.values
        if (field.list) {
          const test = listTest(e.op, values, e.field.name)
          if (typeof test === 'string') throw new CompileError(test)
          return (ctx) => {
            const v = read(ctx)
            return v !== undefined && test(v as readonly string[])
          }
        }
        const test = stringTest(e.op, values)
        if (typeof test === 'string') throw new CompileError(test)
        return (ctx) => {
          const v = read(ctx)
          return v !== undefined && test(v as string)
        }
      }
    }
  }

  const rules: CompiledRule[] = []
  const ordered = [...col.rules.values()].sort((a: RuleInfo, b: RuleInfo) => a.index - b.index)
  for (const r of ordered) {
    if (!KNOWN_SOURCES.has(r.source)) continue
    const item = `rule '${r.name}'`
    let condition = r.cond
    try {
      if (r.exceptions.length > 0) condition = exceptionCondition(condition, r.exceptions)
      condition = withLists(condition)
      let ast: Expr
      try {
        ast = parseCondition(condition)
      } catch (e) {
        if (e instanceof ConditionSyntaxError) throw new CompileError(syntaxMessage(e, condition))
        throw e
      }
      const matches = compileExpr(expand(ast, Number.POSITIVE_INFINITY, []))
      const out = compileOutput(r.output, cachedRead)
      if (typeof out === 'string') throw new CompileError(`output: ${out}`)
      rules.push({
        name: r.name,
        desc: r.desc,
        priority: r.priority,
        source: r.source,
        enabled: r.enabled,
        tags: [...r.tags].sort(),
        condition,
        output: r.output,
        origin: r.origin,
        matches,
        render: out.render,
      })
    } catch (e) {
      if (!(e instanceof CompileError)) throw e
      errors.push({ ...r.origin, item, message: e.message })
    }
  }
  for (const m of col.macros.values()) {
    if (!usedMacros.has(m.name) && macros.get(m.name)?.error === undefined) {
      warnings.push({
        ...m.origin,
        item: `macro '${m.name}'`,
        message: 'Macro not referred to by any other rule/macro',
      })
    }
  }
  for (const l of col.lists.values()) {
    if (!usedLists.has(l.name) && ![...col.lists.values()].some((o) => o !== l && o.items.includes(l.name))) {
      warnings.push({
        ...l.origin,
        item: `list '${l.name}'`,
        message: 'List not referred to by any other rule/macro',
      })
    }
  }
  return { rules, slots: slotOf.size, errors, warnings }
}
