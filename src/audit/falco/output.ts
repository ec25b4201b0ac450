/**
 * Falco output templates: text with `%field` or `%field[arg]` tokens (optionally `%NNfield`, padded to
 * NN characters), compiled once to a function of the event. As libsinsp's formatter does, a token is
 * the longest dotted name at the '%' that is a known field; a missing value prints `<NA>`; a list
 * field prints `(a,b,c)`. A leading `*` is dropped. A '%' not followed by a field is an error.
 */
import { type EvalCtx, type FieldValue, isField } from './fields.js'
import { parseFieldToken } from './parser.js'

export const NOT_AVAILABLE = '<NA>'

type Part = string | ((ctx: EvalCtx) => string)

export interface CompiledOutput {
  readonly render: (ctx: EvalCtx) => string
  /** the fields it reads, as written */
  readonly fields: readonly string[]
}

export function formatValue(v: FieldValue): string {
  if (v === undefined) return NOT_AVAILABLE
  if (typeof v === 'string') return v
  return `(${v.join(',')})`
}

/** Compiles a template, or gives why it cannot be (as Falco words it). */
export function compileOutput(
  template: string,
  read: (key: string, arg: string | undefined) => ((ctx: EvalCtx) => FieldValue) | string,
): CompiledOutput | string {
  let fmt = template
  if (fmt.length === 0) return 'empty formatting token'
  if (fmt.startsWith('*')) fmt = fmt.slice(1)
  const parts: Part[] = []
  const fields: string[] = []
  let lit = ''
  let i = 0
  while (i < fmt.length) {
    const c = fmt.charAt(i)
    if (c !== '%') {
      lit += c
      i++
      continue
    }
    if (i === fmt.length - 1) return 'invalid formatting syntax: formatting cannot end with a %'
    let j = i + 1
    let width = 0
    while (j < fmt.length && fmt.charCodeAt(j) >= 48 && fmt.charCodeAt(j) <= 57) {
      width = width * 10 + (fmt.charCodeAt(j) - 48)
      j++
    }
    const tok = parseFieldToken(fmt, j)
    if (tok === undefined) return `unknown filter: invalid formatting token at '${fmt.slice(i, i + 20)}'`
    let { name, arg, end } = tok
    if (!isField(name)) {
      // the longest known field the token starts with, as libsinsp does by shrinking the token
      let shorter: string | undefined
      for (let k = name.length - 1; k > 0; k--) {
        const cand = name.slice(0, k)
        if (/^[a-zA-Z]+[a-zA-Z0-9_]*(\.[a-zA-Z]+[a-zA-Z0-9_]*)+$/.test(cand) && isField(cand)) {
          shorter = cand
          break
        }
      }
      if (shorter === undefined) return `unknown filter: filter_check called with nonexistent field ${name}`
      name = shorter
      arg = undefined
      end = j + shorter.length
    }
    const r = read(name, arg)
    if (typeof r === 'string') return r
    if (lit.length > 0) parts.push(lit)
    lit = ''
    fields.push(arg === undefined ? name : `${name}[${arg}]`)
    parts.push(width > 0 ? (ctx) => formatValue(r(ctx)).padStart(width) : (ctx) => formatValue(r(ctx)))
    i = end
  }
  if (lit.length > 0) parts.push(lit)
  const render = (ctx: EvalCtx): string => {
    let out = ''
    for (const p of parts) out += typeof p === 'string' ? p : p(ctx)
    return out
  }
  return { render, fields }
}
