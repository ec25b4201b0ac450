/**
 * The character-level scanner under Falco's condition grammar. Falco's filter parser (libsinsp) is
 * scannerless: the grammar asks "is a field name here? an operator? a quoted string?" at the cursor,
 * and what counts as a token depends on where the parser is. This cursor offers those questions; the
 * grammar lives in parser.ts. Token shapes follow libsinsp's (identifier, dotted field name, bare
 * string, number, quoted string with C-style escapes).
 */

export const RX_IDENTIFIER = /[a-zA-Z]+[a-zA-Z0-9_]*/y
export const RX_FIELD_NAME = /[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+/y
const RX_FIELD_ARG_BARE = /[^\][\s"']+/y
const RX_HEX_NUM = /0[xX][0-9a-fA-F]+/y
const RX_NUMBER = /[+-]?[0-9]+\.?[0-9]*(?:[eE][+-][0-9]+)?/y
const RX_BARE_STR = /[^()"'\s=,]+/y
const RX_NOT_BLANK = /not\s+/y

/** A syntax error in a condition or output, with where it happened (0-based offset). */
export class ConditionSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message)
    this.name = 'ConditionSyntaxError'
  }
}

export class Cursor {
  pos = 0
  last = ''

  constructor(readonly input: string) {}

  get done(): boolean {
    return this.pos >= this.input.length
  }

  peek(): string {
    return this.input.charAt(this.pos)
  }

  fail(message: string): never {
    throw new ConditionSyntaxError(message, this.pos)
  }

  /** Skips blanks (space, tab, backspace, CR, LF); true when there were any. */
  blank(): boolean {
    const start = this.pos
    for (;;) {
      const c = this.input.charCodeAt(this.pos)
      if (c === 32 || c === 9 || c === 8 || c === 13 || c === 10) this.pos++
      else break
    }
    return this.pos > start
  }

  /** Consumes `s` when the input continues with it. */
  lit(s: string): boolean {
    if (this.input.startsWith(s, this.pos)) {
      this.pos += s.length
      this.last = s
      return true
    }
    return false
  }

  /** Consumes a word operator (`contains`, `in`...) that must be followed by a blank, and the blank. */
  word(s: string): boolean {
    const save = this.pos
    if (this.lit(s) && this.blank()) return true
    this.pos = save
    return false
  }

  rx(re: RegExp): boolean {
    re.lastIndex = this.pos
    const m = re.exec(this.input)
    if (m === null) return false
    this.pos += m[0].length
    this.last = m[0]
    return true
  }

  identifier(): boolean {
    return this.rx(RX_IDENTIFIER)
  }
  fieldName(): boolean {
    return this.rx(RX_FIELD_NAME)
  }
  fieldArgBare(): boolean {
    return this.rx(RX_FIELD_ARG_BARE)
  }
  number(): boolean {
    return this.rx(RX_HEX_NUM) || this.rx(RX_NUMBER)
  }
  bareString(): boolean {
    return this.rx(RX_BARE_STR)
  }
  notBlank(): boolean {
    return this.rx(RX_NOT_BLANK)
  }

  /** A '...' or "..." string; `last` is its unescaped value. */
  quoted(): boolean {
    const q = this.peek()
    if (q !== '"' && q !== "'") return false
    let i = this.pos + 1
    let prev = ''
    while (i < this.input.length) {
      const c = this.input.charAt(i)
      if (c === q && prev !== '\\') {
        this.last = unescapeFalco(this.input.slice(this.pos + 1, i))
        this.pos = i + 1
        return true
      }
      prev = c === '\\' && prev === '\\' ? '' : c
      i++
    }
    return false
  }

  /** True when one of the boolean keywords starts at the cursor (as a whole word). */
  boolKeywordFollows(): boolean {
    for (const kw of ['and', 'or', 'not']) {
      if (this.input.startsWith(kw, this.pos)) {
        const next = this.input.charAt(this.pos + kw.length)
        if (next === '' || !/[a-zA-Z0-9]/.test(next)) return true
      }
    }
    return false
  }
}

/** C-style escapes of Falco's quoted strings. */
export function unescapeFalco(s: string): string {
  if (!s.includes('\\')) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i)
    if (c !== '\\' || i === s.length - 1) {
      out += c
      continue
    }
    const e = s.charAt(++i)
    switch (e) {
      case 'b':
        out += '\b'
        break
      case 'f':
        out += '\f'
        break
      case 'n':
        out += '\n'
        break
      case 'r':
        out += '\r'
        break
      case 't':
        out += '\t'
        break
      default:
        out += e
    }
  }
  return out
}

/** 1-based line and column of an offset in a text. */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1
  let col = 1
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      col = 1
    } else col++
  }
  return { line, col }
}
