/**
 * Writes JSON-like data (what JSON.parse gives) as a block-style YAML document and, in the same pass,
 * notes where every node lands, so that a finding about a field can be pointed at a line without
 * parsing the text again. The layout is js-yaml's `dump(value, { lineWidth: -1, noRefs: true })`: two
 * spaces of indentation, `- key: value` for mappings in sequences, `- - x` for sequences in sequences, a
 * sequence under a key indented below it, `{}` and `[]` for empty collections. Scalars differ only in
 * their quotes: a string is plain when it plainly reads back as the same string under YAML 1.1 and 1.2
 * (and the API server's go-yaml), a JSON string in double quotes otherwise, or a `|` literal block when
 * it is lines of ordinary text (no carriage returns or control characters).
 *
 * `locate(path)` answers what DocumentLocator.locate answers on the same text: the key of a mapping
 * entry, the item of a sequence (a block scalar item at the start of its first content line, as js-yaml
 * reports it), the root at 1:1, and for a path that goes missing the deepest node that exists.
 */
import type { PathSegment, Position } from './types.js'

const SCALAR = 0
const MAPPING = 1
const SEQUENCE = 2

/** Positions are kept as line * COLUMNS + column: columns are indentation, never this large. */
const COLUMNS = 2 ** 21

/** The longest key written as an implicit key (`key: value`); YAML allows 1024 characters. */
const MAX_IMPLICIT_KEY = 1024

const BREAKS: string[] = []
/** A line break and `n` spaces of indentation. */
function breakTo(n: number): string {
  let s = BREAKS[n]
  if (s === undefined) {
    s = `\n${' '.repeat(n)}`
    BREAKS[n] = s
  }
  return s
}

/** c-indicator: a plain scalar may not start with one (but `-` followed by a non-space). */
const INDICATOR = new Uint8Array(128)
for (const c of '-?:,[]{}#&*!|>\'"%@`') INDICATOR[c.charCodeAt(0)] = 1

/** Printable characters a plain scalar may hold beyond ASCII: no C1 controls, NBSP, line or paragraph
 * separators, BOM or non-characters, no lone surrogates. */
const PLAIN_TEXT = /^[\x20-\x7E\xA1-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD\u{10000}-\u{10FFFF}]*$/u

/** What a literal block scalar may hold: the same, tabs and line feeds (no carriage returns). */
const BLOCK_TEXT = /^[\t\n\x20-\x7E\xA1-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD\u{10000}-\u{10FFFF}]*$/u

/** Null and booleans in YAML 1.1 (any case, to be safe), the 1.1 value and merge keys. */
const RESERVED = /^(?:~|null|true|false|yes|no|on|off|y|n|=|<<)$/i

/**
 * What might be read as a number or a timestamp by some YAML schema (1.1 with its sexagesimals, octals,
 * binaries and dates; 1.2; go-yaml with its underscores): a sign, dots or underscores, then a digit and
 * nothing but what numbers and timestamps are made of. `500m`, `1Gi` and `1.21-alpine` stay plain.
 */
const NUMERIC = /^[-+]?[._]*(?:[0-9][0-9a-fA-FxXoObBtTzZpPiInN._+\-: ]*)?$/
const INF_NAN = /^[-+]?\.(?:inf|nan)/i

/** Characters a JSON string leaves as they are but a YAML reader refuses or reads as a line break. */
const JSON_ONLY = /[\x7F-\x9F\u2028\u2029\uFEFF\uFFFE\uFFFF]/
const JSON_ONLY_ALL = /[\x7F-\x9F\u2028\u2029\uFEFF\uFFFE\uFFFF]/g

function escapeCode(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** A string in double quotes, escaped as JSON escapes it (every JSON escape is a YAML escape). */
function quoted(s: string): string {
  const q = JSON.stringify(s)
  return JSON_ONLY.test(q) ? q.replace(JSON_ONLY_ALL, escapeCode) : q
}

/** Whether `s` can be written without quotes, as a key or a value in block context, and read back. */
function isPlain(s: string): boolean {
  const n = s.length
  if (n === 0) return false
  const first = s.charCodeAt(0)
  if (first === 32) return false
  if (first < 128 && INDICATOR[first] === 1) {
    // `-x` is plain, `- x`, `-` and `---` are not.
    if (first !== 45 || n === 1 || s.charCodeAt(1) === 32 || s.startsWith('---')) return false
  }
  if (first === 46 && s.startsWith('...')) return false
  const last = s.charCodeAt(n - 1)
  if (last === 32 || last === 58) return false
  let ascii = true
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 32 || c === 127) return false
    if (c > 127) ascii = false
    else if (c === 58) {
      if (s.charCodeAt(i + 1) === 32) return false
    } else if (c === 35) {
      if (s.charCodeAt(i - 1) === 32) return false
    }
  }
  if (!ascii && !PLAIN_TEXT.test(s)) return false
  if (n <= 5 && RESERVED.test(s)) return false
  if (NUMERIC.test(s) || INF_NAN.test(s)) return false
  return true
}

/** A block whose first line that is not empty starts with a space needs an indentation indicator. */
const LEADING_BLANK = /^\n* /

/** Whether a string of several lines is written as a `|` block: ordinary text, not only line breaks. */
function isBlock(s: string): boolean {
  return s.indexOf('\n') >= 0 && BLOCK_TEXT.test(s) && /[^\n]/.test(s)
}

function scalarText(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return isPlain(v) ? v : quoted(v)
    case 'number':
      if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : String(v)
      return Number.isNaN(v) ? '.nan' : v > 0 ? '.inf' : '-.inf'
    case 'boolean':
      return v ? 'true' : 'false'
    case 'bigint':
      throw new TypeError('cannot write a BigInt as YAML')
    default:
      // null, and what JSON.stringify writes as null in an array: undefined, functions, symbols
      return 'null'
  }
}

function isSkipped(v: unknown): boolean {
  const t = typeof v
  return t === 'undefined' || t === 'function' || t === 'symbol'
}

/** The keys written of an object: as JSON.stringify, without those whose values it leaves out. */
function keysOf(o: Record<string, unknown>): string[] {
  const keys = Object.keys(o)
  for (const k of keys) if (isSkipped(o[k])) return keys.filter((key) => !isSkipped(o[key]))
  return keys
}

/** A YAML text with where each of its nodes is. */
export interface WrittenYaml {
  readonly text: string
  /** Position (1-based) of the deepest existing node along `path`: a field at its key, an item at itself. */
  locate(path: readonly PathSegment[]): Position
}

/**
 * The nodes in document order (a node, then its children's subtrees), in parallel arrays: where a
 * finding about the node points, its key when it is a mapping entry, and the index after its subtree
 * with its kind (end * 4 + kind).
 */
class Writer {
  text = ''
  line = 1
  readonly at: number[] = []
  readonly keys: (string | null)[] = []
  readonly spans: number[] = []

  private open(at: number, key: string | null): number {
    const i = this.at.length
    this.at.push(at)
    this.keys.push(key)
    this.spans.push(0)
    return i
  }

  private close(i: number, kind: number): void {
    this.spans[i] = this.at.length * 4 + kind
  }

  root(v: unknown): void {
    if (v !== null && typeof v === 'object') {
      const i = this.open(COLUMNS + 1, null)
      if (Array.isArray(v)) {
        if (v.length === 0) this.text = '[]'
        else this.sequence(v, 0)
        this.close(i, SEQUENCE)
      } else {
        const o = v as Record<string, unknown>
        const keys = keysOf(o)
        if (keys.length === 0) this.text = '{}'
        else this.mapping(o, keys, 0)
        this.close(i, MAPPING)
      }
    } else {
      // A document-level string is never a block: its position would be its second line.
      const i = this.open(COLUMNS + 1, null)
      this.text = scalarText(v)
      this.close(i, SCALAR)
    }
    this.text += '\n'
  }

  /** A non-empty mapping, its first key at the current column (`indent`), the rest below it. */
  private mapping(o: Record<string, unknown>, keys: readonly string[], indent: number): void {
    for (let k = 0; k < keys.length; k++) {
      if (k > 0) {
        this.text += breakTo(indent)
        this.line++
      }
      const key = keys[k]!
      const v = o[key]
      const keyText = isPlain(key) ? key : quoted(key)
      if (keyText.length > MAX_IMPLICIT_KEY) {
        // An explicit key: `? key` and, on the next line, `: value` laid out as a sequence item.
        this.text += `? ${keyText}${breakTo(indent)}: `
        const at = this.line * COLUMNS + indent + 3
        this.line++
        this.item(v, indent, key, at)
        continue
      }
      const at = this.line * COLUMNS + indent + 1
      this.text += keyText
      if (v !== null && typeof v === 'object') {
        const i = this.open(at, key)
        if (Array.isArray(v)) {
          if (v.length === 0) this.text += ': []'
          else {
            this.text += `:${breakTo(indent + 2)}`
            this.line++
            this.sequence(v, indent + 2)
          }
          this.close(i, SEQUENCE)
        } else {
          const child = v as Record<string, unknown>
          const childKeys = keysOf(child)
          if (childKeys.length === 0) this.text += ': {}'
          else {
            this.text += `:${breakTo(indent + 2)}`
            this.line++
            this.mapping(child, childKeys, indent + 2)
          }
          this.close(i, MAPPING)
        }
      } else {
        const i = this.open(at, key)
        if (typeof v === 'string' && isBlock(v)) {
          this.text += ': '
          this.block(v, indent + 2)
        } else this.text += `: ${scalarText(v)}`
        this.close(i, SCALAR)
      }
    }
  }

  /** A non-empty sequence, its first dash at the current column (`indent`), the rest below it. */
  private sequence(items: readonly unknown[], indent: number): void {
    for (let n = 0; n < items.length; n++) {
      if (n > 0) {
        this.text += breakTo(indent)
        this.line++
      }
      this.text += '- '
      this.item(items[n], indent, null, 0)
    }
  }

  /**
   * What follows `- ` (or the `: ` of an explicit key) at `indent`. An item points at itself; the value
   * of an explicit key at `keyAt`, its key.
   */
  private item(v: unknown, indent: number, key: string | null, keyAt: number): void {
    if (v !== null && typeof v === 'object') {
      const i = this.open(key === null ? this.line * COLUMNS + indent + 3 : keyAt, key)
      if (Array.isArray(v)) {
        if (v.length === 0) this.text += '[]'
        else this.sequence(v, indent + 2)
        this.close(i, SEQUENCE)
      } else {
        const o = v as Record<string, unknown>
        const keys = keysOf(o)
        if (keys.length === 0) this.text += '{}'
        else this.mapping(o, keys, indent + 2)
        this.close(i, MAPPING)
      }
    } else if (typeof v === 'string' && isBlock(v)) {
      // js-yaml places a block scalar at the start of the line after its header.
      const i = this.open(key === null ? (this.line + 1) * COLUMNS + 1 : keyAt, key)
      this.block(v, indent + 2)
      this.close(i, SCALAR)
    } else {
      const i = this.open(key === null ? this.line * COLUMNS + indent + 3 : keyAt, key)
      this.text += scalarText(v)
      this.close(i, SCALAR)
    }
  }

  /**
   * A `|` block: clipped when the text ends with one line break, stripped with none, kept with more. Its
   * lines are two spaces in from the node that holds it; when its first line that is not empty starts with
   * a space, the header says so (`|2`), for a reader could not tell the indentation from that line.
   */
  private block(s: string, indent: number): void {
    const lines = s.split('\n')
    let chomp = '-'
    if (s.endsWith('\n')) {
      lines.pop()
      chomp = s.endsWith('\n\n') ? '+' : ''
    }
    let out = LEADING_BLANK.test(s) ? `|2${chomp}` : `|${chomp}`
    const nl = breakTo(indent)
    for (const l of lines) out += l === '' ? '\n' : nl + l
    this.text += out
    this.line += lines.length
  }
}

class YamlText implements WrittenYaml {
  constructor(
    readonly text: string,
    private readonly at: readonly number[],
    private readonly keys: readonly (string | null)[],
    private readonly spans: readonly number[],
  ) {}

  locate(path: readonly PathSegment[]): Position {
    const { keys, spans } = this
    let node = 0
    for (const seg of path) {
      const span = spans[node]!
      const kind = span & 3
      const end = span >>> 2
      let child = node + 1
      if (kind === MAPPING && typeof seg === 'string') {
        while (child < end && keys[child] !== seg) child = spans[child]! >>> 2
      } else if (kind === SEQUENCE && typeof seg === 'number' && Number.isInteger(seg) && seg >= 0) {
        for (let n = 0; n < seg && child < end; n++) child = spans[child]! >>> 2
      } else break
      if (child >= end) break
      node = child
    }
    const at = this.at[node]!
    return { line: Math.floor(at / COLUMNS), column: at % COLUMNS }
  }
}

/** `value` as a YAML document, and where its nodes are. */
export function writeYaml(value: unknown): WrittenYaml {
  const w = new Writer()
  w.root(value)
  return new YamlText(w.text, w.at, w.keys, w.spans)
}
