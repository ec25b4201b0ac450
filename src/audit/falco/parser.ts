/**
 * Falco's condition grammar (libsinsp's filter parser), to an Expr tree:
 *
 *   Or      ::= And ('or' And)*
 *   And     ::= Not ('and' Not)*
 *   Not     ::= ('not' blank)* Check | 'not(' Or ')'
 *   Check   ::= '(' Or ')' | Field Condition | Identifier          (an identifier is a macro)
 *   Field   ::= name('.'name)+ ('[' (quoted | bare) ']')?
 *   Condition ::= 'exists' | NumOp Number | StrOp Value | ListOp (List | Identifier)
 *   List    ::= '(' (Value (',' Value)*)? ')'
 *
 * `not` binds tighter than `and`, `and` than `or`. Named lists are substituted before parsing (see
 * compile.ts, as Falco does); a bare identifier after a list operator is kept as a list name.
 * Field transformers (tolower(...), val(...)) and operator modifiers (oneof/anyof/allof) of newer
 * libsinsp are not supported: they are reported as syntax errors.
 */
import type { Expr, FieldRef, Operator } from './ast.js'
import { ConditionSyntaxError, Cursor } from './lexer.js'

const NUM_OPS: readonly Operator[] = ['<=', '<', '>=', '>']
const SYMBOL_STR_OPS: readonly Operator[] = ['==', '=', '!=']
const WORD_STR_OPS: readonly Operator[] = [
  'glob',
  'iglob',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'regex',
]
const LIST_OPS: readonly Operator[] = ['intersects', 'in', 'pmatch']
const TRANSFORMERS = [
  'val(',
  'tolower(',
  'toupper(',
  'b64(',
  'basename(',
  'len(',
  'join(',
  'concat(',
  'getopt(',
]
const MAX_DEPTH = 1000

export { ConditionSyntaxError }

export function parseCondition(text: string): Expr {
  if (text.length === 0) throw new ConditionSyntaxError('filter input string is empty', 0)
  const p = new Parser(text)
  const e = p.or()
  if (!p.c.done) {
    p.c.fail(`unexpected token after '${p.c.last}', expecting 'or', 'and'`)
  }
  return e
}

/**
 * A field token of an output format at `offset` (just after '%'): the longest dotted name, with its
 * [argument] if any, and where it ends. undefined when no field name starts there.
 */
export function parseFieldToken(
  text: string,
  offset: number,
): { name: string; arg?: string; end: number } | undefined {
  const c = new Cursor(text)
  c.pos = offset
  if (!c.fieldName()) return undefined
  const name = c.last
  const save = c.pos
  if (c.lit('[')) {
    if (c.quoted() || c.fieldArgBare()) {
      const arg = c.last
      if (c.lit(']')) return { name, arg, end: c.pos }
    }
    c.pos = save
  }
  return { name, end: save }
}

class Parser {
  readonly c: Cursor
  private depth = 0

  constructor(text: string) {
    this.c = new Cursor(text)
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.c.fail('exceeded max depth limit')
  }

  or(): Expr {
    this.enter()
    const c = this.c
    c.blank()
    const children = [this.and()]
    c.blank()
    while (c.lit('or')) {
      if (!c.blank()) {
        if (c.lit('(')) children.push(this.embedded())
        else c.fail("expected blank or '(' after 'or'")
      } else children.push(this.and())
      c.blank()
    }
    this.depth--
    return children.length > 1 ? { kind: 'or', children } : children[0]!
  }

  and(): Expr {
    this.enter()
    const c = this.c
    c.blank()
    const children = [this.not()]
    c.blank()
    while (c.lit('and')) {
      if (!c.blank()) {
        if (c.lit('(')) children.push(this.embedded())
        else c.fail("expected blank or '(' after 'and'")
      } else children.push(this.not())
      c.blank()
    }
    this.depth--
    return children.length > 1 ? { kind: 'and', children } : children[0]!
  }

  not(): Expr {
    this.enter()
    const c = this.c
    c.blank()
    let negate = false
    while (c.notBlank()) negate = !negate
    let child: Expr
    if (c.lit('not(')) {
      negate = !negate
      child = this.embedded()
    } else child = this.check()
    this.depth--
    return negate ? { kind: 'not', child } : child
  }

  /** the rest of a parenthesised expression, after its '(' */
  private embedded(): Expr {
    const c = this.c
    c.blank()
    const e = this.or()
    c.blank()
    if (!c.lit(')')) c.fail("expected a ')' token")
    return e
  }

  private check(): Expr {
    const c = this.c
    c.blank()
    if (c.lit('(')) return this.embedded()
    const at = c.pos
    for (const t of TRANSFORMERS) {
      if (c.input.startsWith(t, c.pos)) c.fail(`field transformer '${t.slice(0, -1)}' is not supported`)
    }
    if (c.fieldName()) {
      const field = this.fieldRest(c.last, at)
      return this.condition(field)
    }
    if (c.identifier()) return { kind: 'macro', name: c.last, at }
    return c.fail("expected a '(' token, a field check, or an identifier")
  }

  private fieldRest(name: string, at: number): FieldRef {
    const c = this.c
    if (!c.lit('[')) return { name, at }
    if (!c.quoted() && !c.fieldArgBare()) {
      c.fail('expected a valid field argument: a quoted string or a bare string')
    }
    const arg = c.last
    if (!c.lit(']')) c.fail("expected a ']' token")
    return { name, arg, at }
  }

  private condition(field: FieldRef): Expr {
    const c = this.c
    c.blank()
    if (c.lit('exists')) return { kind: 'exists', field }
    c.blank()
    for (const op of NUM_OPS) {
      if (c.lit(op)) {
        c.blank()
        if (!c.number()) c.fail('expected a number value')
        return { kind: 'compare', field, op, values: [c.last] }
      }
    }
    for (const op of SYMBOL_STR_OPS) {
      if (c.lit(op)) {
        c.blank()
        return { kind: 'compare', field, op, values: [this.strValue()] }
      }
    }
    for (const op of WORD_STR_OPS) {
      if (c.word(op)) {
        const save = c.pos
        for (const mod of ['oneof', 'anyof', 'allof']) {
          if (c.word(mod) && (c.peek() === '(' || /[a-zA-Z]/.test(c.peek())) && !c.boolKeywordFollows()) {
            c.fail(`operator modifier '${mod}' is not supported`)
          }
          c.pos = save
        }
        return { kind: 'compare', field, op, values: [this.strValue()] }
      }
    }
    for (const op of LIST_OPS) {
      if (c.lit(op)) {
        c.blank()
        if (c.lit('(')) return { kind: 'compare', field, op, values: this.listRest() }
        if (c.identifier()) return { kind: 'compare', field, op, values: [], listName: c.last }
        c.fail('expected a list or an identifier')
      }
    }
    return c.fail(
      "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', " +
        "'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', " +
        "'intersects', 'in', 'pmatch'",
    )
  }

  private strValue(): string {
    const c = this.c
    c.blank()
    for (const t of TRANSFORMERS) {
      if (c.input.startsWith(t, c.pos)) c.fail(`field transformer '${t.slice(0, -1)}' is not supported`)
    }
    if (c.quoted() || c.bareString()) return c.last
    return c.fail('expected a string value')
  }

  /** the items of a list, after its '(' */
  private listRest(): string[] {
    const c = this.c
    const values: string[] = []
    c.blank()
    if (c.peek() !== ')') {
      values.push(this.strValue())
      c.blank()
      while (c.lit(',')) {
        values.push(this.strValue())
        c.blank()
      }
    }
    if (!c.lit(')')) c.fail("expected a ')' token")
    return values
  }
}
