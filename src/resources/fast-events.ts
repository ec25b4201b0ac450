/**
 * A fast reader of the block-style YAML that Kubernetes manifests nearly always are, producing exactly
 * the events js-yaml's `parseEvents` produces (same objects, same fields, same values), or undefined
 * when the text holds anything it does not handle with certainty: then the caller asks js-yaml, which
 * also words the errors of invalid input.
 *
 * It follows js-yaml 5's parser (dist/js-yaml.mjs: `parseEvents` and the functions it calls, which keep
 * their names here) step by step, on the subset of YAML it keeps, so that positions, node boundaries,
 * `fast` flags and nesting depth come out the same by construction. Every place where js-yaml would throw,
 * read a property (`!tag`, `&anchor`), an alias, a directive, an explicit key (`? `), a pair inside a flow
 * sequence, or meet a tab in indentation, gives up instead (throws BAIL); so does a text holding NUL, a
 * carriage return, a byte-order mark or a lone surrogate. It is several times faster because it does not
 * allocate what js-yaml allocates per node (state snapshots, property records, a slice and a regular
 * expression per scalar for non-printable characters, a splice per mapping), looks at each character
 * once with a table, and skips comments and block scalar lines with native searches.
 *
 * If js-yaml is upgraded, test/unit/fast-events.test.ts compares the two on the corpus and on generated
 * documents: a difference in the parser shows there.
 */
import type { Event, ScalarEvent } from 'js-yaml'

/** Thrown inside the reader to give up; never seen outside. Preallocated: throwing it costs no stack. */
const BAIL = new Error('fastEvents: not handled here')

const CONTEXT_FLOW_IN = 1
const CONTEXT_FLOW_OUT = 2
const CONTEXT_BLOCK_IN = 3
const CONTEXT_BLOCK_OUT = 4

// js-yaml's constants (EVENT_ID, SCALAR_STYLE, CHOMPING_MODE, COLLECTION_STYLE), as literals
const STYLE_PLAIN = 1
const STYLE_SINGLE_QUOTED = 2
const STYLE_DOUBLE_QUOTED = 3
const STYLE_LITERAL = 4
const STYLE_FOLDED = 5
const CHOMP_CLIP = 1
const CHOMP_STRIP = 2
const CHOMP_KEEP = 3

/**
 * js-yaml's PATTERN_NON_PRINTABLE without the lone surrogates (text that holds one is refused up front):
 * what it refuses in plain and block scalars (checkPrintable). A plain scalar's loop looks at each of its
 * characters; a block scalar's lines are skipped, so its text is searched.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what it looks for
const NON_PRINTABLE = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]/

/** Characters that cannot start a plain scalar (js-yaml's canStartPlainScalar), below 128. */
const NOT_PLAIN_START = new Uint8Array(128)
for (const c of '\0 \t\n\r#&*!|>\'"%@`,[]{}') NOT_PLAIN_START[c.charCodeAt(0)] = 1

/**
 * What a plain scalar's loop does with a character below 128: 0 content, 1 look at it (NUL, blanks,
 * breaks, `#`, `:`, flow indicators), 2 give up (a control character, which js-yaml refuses in a scalar).
 */
const PLAIN_CHAR = new Uint8Array(128)
for (let c = 0; c < 32; c++) PLAIN_CHAR[c] = 2
PLAIN_CHAR[127] = 2
for (const c of '\0 \t\n#:,[]{}') PLAIN_CHAR[c.charCodeAt(0)] = 1

function isWsOrEol(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13
}

function isWsOrEolOrEnd(c: number): boolean {
  return c === 32 || c === 10 || c === 0 || c === 9 || c === 13
}

function isFlowIndicator(c: number): boolean {
  return c === 44 || c === 91 || c === 93 || c === 123 || c === 125
}

function isSimpleEscape(c: number): boolean {
  return (
    c === 48 ||
    c === 97 ||
    c === 98 ||
    c === 116 ||
    c === 9 ||
    c === 110 ||
    c === 118 ||
    c === 102 ||
    c === 114 ||
    c === 101 ||
    c === 32 ||
    c === 34 ||
    c === 47 ||
    c === 92 ||
    c === 78 ||
    c === 95 ||
    c === 76 ||
    c === 80
  )
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102)
}

function scalarEvent(
  valueStart: number,
  valueEnd: number,
  style: number,
  chomping: number,
  indent: number,
  fast: boolean,
): ScalarEvent {
  // The fields in js-yaml's order (addScalarEvent), so that every scalar has one hidden class.
  return {
    type: 4,
    valueStart,
    valueEnd,
    anchorStart: -1,
    anchorEnd: -1,
    tagStart: -1,
    tagEnd: -1,
    style: style as ScalarEvent['style'],
    chomping: chomping as ScalarEvent['chomping'],
    indent,
    fast,
  }
}

function emptyScalarEvent(): ScalarEvent {
  return scalarEvent(-1, -1, STYLE_PLAIN, CHOMP_CLIP, -1, false)
}

function collectionEvent(type: 2 | 3, start: number, style: 1 | 2): Event {
  return { type, start, anchorStart: -1, anchorEnd: -1, tagStart: -1, tagEnd: -1, style }
}

const POP: () => Event = () => ({ type: 6 })

/** isWellFormed (Node 20+); the ES2023 lib does not declare it. */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed()
}

/**
 * The events js-yaml's `parseEvents(text, { maxDepth })` returns, or undefined when this reader does not
 * handle the text (anchors, aliases, tags, directives, explicit keys, tabs, invalid YAML, nesting past
 * `maxDepth`, ...): then call `parseEvents`, which reads it or throws the error to report.
 */
export function fastEvents(text: string, maxDepth: number): Event[] | undefined {
  // Left to js-yaml: NUL (refused), carriage returns (line breaks), byte-order marks (skipped at a line
  // start) and lone surrogates (refused in plain and block scalars). Each is a native search; the other
  // characters js-yaml refuses, and tabs, are looked for where they matter, as the text is read.
  if (
    text.indexOf('\0') >= 0 ||
    text.indexOf('\r') >= 0 ||
    text.indexOf('\uFEFF') >= 0 ||
    !isWellFormed(text)
  )
    return undefined
  const reader = new Reader(text, maxDepth)
  try {
    reader.readStream()
  } catch (err) {
    if (err === BAIL) return undefined
    throw err
  }
  return reader.events
}

class Reader {
  /** The text with a NUL after it, as js-yaml reads it: the NUL ends every loop. */
  readonly s: string
  readonly length: number
  readonly maxDepth: number
  readonly events: Event[] = []
  position = 0
  line = 0
  lineStart = 0
  /** Spaces before the current line's content, counted only after a line break (as js-yaml does). */
  lineIndent = 0
  depth = 0

  constructor(text: string, maxDepth: number) {
    // joined, not concatenated: a flat string (a concatenation is a cons string, slower to index)
    this.s = [text, '\0'].join('')
    this.length = text.length
    this.maxDepth = maxDepth
  }

  /** js-yaml's testDocumentSeparator: `---` or `...` followed by a space, a break or the end. */
  isDocumentSeparator(at: number): boolean {
    const s = this.s
    const ch = s.charCodeAt(at)
    return (
      (ch === 45 || ch === 46) &&
      s.charCodeAt(at + 1) === ch &&
      s.charCodeAt(at + 2) === ch &&
      isWsOrEolOrEnd(s.charCodeAt(at + 3))
    )
  }

  /** js-yaml's testDocumentBoundary, without byte-order marks (refused). */
  atDocumentBoundary(): boolean {
    return this.position === this.lineStart && this.isDocumentSeparator(this.position)
  }

  /** js-yaml's skipSeparationSpace: spaces, comments (if allowed) and line breaks; returns the breaks. */
  skipSeparationSpace(allowComments: boolean): number {
    const s = this.s
    let pos = this.position
    let breaks = 0
    let ch = s.charCodeAt(pos)
    let hasSeparation = pos === this.lineStart || isWsOrEol(s.charCodeAt(pos - 1))
    while (ch !== 0) {
      while (ch === 32) {
        hasSeparation = true
        ch = s.charCodeAt(++pos)
      }
      if (ch === 9) throw BAIL // a tab: js-yaml's rules for tabs in indentation are left to it
      if (allowComments && hasSeparation && ch === 35) {
        const nl = s.indexOf('\n', pos)
        pos = nl < 0 ? this.length : nl
        ch = s.charCodeAt(pos)
      }
      if (ch !== 10) break
      pos++
      breaks++
      this.line++
      this.lineStart = pos
      hasSeparation = true
      let indent = 0
      ch = s.charCodeAt(pos)
      while (ch === 32) {
        indent++
        ch = s.charCodeAt(++pos)
      }
      this.lineIndent = indent
    }
    this.position = pos
    return breaks
  }

  readStream(): void {
    while (this.position < this.length) {
      this.skipSeparationSpace(true)
      if (this.position >= this.length) break
      const documentStart = this.position
      this.readDocument()
      if (this.position === documentStart) throw BAIL
    }
  }

  readDocument(): void {
    const s = this.s
    this.skipSeparationSpace(true)
    // a directive (%YAML, %TAG)
    if (this.lineIndent <= 0 && s.charCodeAt(this.position) === 37) throw BAIL
    let explicitStart = false
    let allowCompact = true
    if (
      this.lineIndent === 0 &&
      s.charCodeAt(this.position) === 45 &&
      s.charCodeAt(this.position + 1) === 45 &&
      s.charCodeAt(this.position + 2) === 45 &&
      isWsOrEolOrEnd(s.charCodeAt(this.position + 3))
    ) {
      explicitStart = true
      const markerLine = this.line
      this.position += 3
      this.skipSeparationSpace(true)
      allowCompact = this.line > markerLine
    }
    if (!explicitStart && s.charCodeAt(this.position) === 46 && this.atDocumentBoundary()) {
      this.position += 3
      this.skipSeparationSpace(true)
      return
    }
    const document: Event = { type: 1, explicitStart, explicitEnd: false, directives: [] }
    this.events.push(document)
    if (!this.parseNode(this.lineIndent - 1, CONTEXT_BLOCK_OUT, false, allowCompact))
      this.events.push(emptyScalarEvent())
    this.skipSeparationSpace(true)
    let explicitEnd = false
    if (this.atDocumentBoundary()) {
      explicitEnd = s.charCodeAt(this.position) === 46
      if (explicitEnd) {
        const markerLine = this.line
        this.position += 3
        this.skipSeparationSpace(true)
        if (this.line === markerLine && this.position < this.length) throw BAIL
      }
    }
    document.explicitEnd = explicitEnd
    this.events.push(POP())
    if (!explicitEnd && this.position < this.length && !this.atDocumentBoundary()) throw BAIL
  }

  /** js-yaml's parseNode, without node properties (a tag or an anchor gives up). */
  parseNode(parentIndent: number, context: number, allowToSeek: boolean, allowCompact: boolean): boolean {
    if (this.depth >= this.maxDepth) throw BAIL // js-yaml reports it
    this.depth++
    let indentStatus = 1
    let atNewLine = false
    let hasContent = false
    const allowBlockStyles = context === CONTEXT_BLOCK_OUT || context === CONTEXT_BLOCK_IN
    let allowBlockCollections = allowBlockStyles
    if (allowToSeek && this.skipSeparationSpace(true) > 0) {
      atNewLine = true
      indentStatus = this.lineIndent > parentIndent ? 1 : this.lineIndent === parentIndent ? 0 : -1
    }
    if (indentStatus === 1) {
      const ch = this.s.charCodeAt(this.position)
      if (ch === 33 || ch === 38) throw BAIL // a tag or an anchor
    }
    if (allowBlockCollections) allowBlockCollections = atNewLine || allowCompact
    if (indentStatus === 1 || context === CONTEXT_BLOCK_OUT) {
      const flowIndent =
        context === CONTEXT_FLOW_IN || context === CONTEXT_FLOW_OUT ? parentIndent : parentIndent + 1
      const blockIndent = this.position - this.lineStart
      if (indentStatus === 1) {
        if (
          (allowBlockCollections &&
            (this.readBlockSequence(blockIndent) || this.readBlockMapping(blockIndent, flowIndent))) ||
          this.readFlowCollection(flowIndent)
        ) {
          hasContent = true
        } else {
          const ch = this.s.charCodeAt(this.position)
          if (ch === 42) throw BAIL // an alias
          if (
            (allowBlockStyles && (ch === 124 || ch === 62) && this.readBlockScalar(flowIndent)) ||
            (ch === 39 && this.readSingleQuotedScalar(flowIndent)) ||
            (ch === 34 && this.readDoubleQuotedScalar(flowIndent)) ||
            this.readPlainScalar(flowIndent, context === CONTEXT_FLOW_IN)
          )
            hasContent = true
        }
      } else if (indentStatus === 0) {
        hasContent = allowBlockCollections && this.readBlockSequence(blockIndent)
      }
    }
    if (!hasContent && allowBlockStyles) {
      this.events.push(emptyScalarEvent())
      hasContent = true
    }
    this.depth--
    return hasContent
  }

  readBlockSequence(nodeIndent: number): boolean {
    const s = this.s
    if (s.charCodeAt(this.position) !== 45 || !isWsOrEolOrEnd(s.charCodeAt(this.position + 1))) return false
    this.events.push(collectionEvent(2, this.position, 1))
    while (s.charCodeAt(this.position) === 45 && isWsOrEolOrEnd(s.charCodeAt(this.position + 1))) {
      const entryLine = this.line
      this.position++
      const hadBreak = this.skipSeparationSpace(true) > 0
      if (hadBreak && this.lineIndent <= nodeIndent) this.events.push(emptyScalarEvent())
      else this.parseNode(nodeIndent, CONTEXT_BLOCK_IN, false, true)
      this.skipSeparationSpace(true)
      if (this.lineIndent < nodeIndent || this.position >= this.length) break
      if (this.lineIndent > nodeIndent) throw BAIL // bad indentation of a sequence entry
      if (
        this.line === entryLine &&
        s.charCodeAt(this.position) === 45 &&
        isWsOrEolOrEnd(s.charCodeAt(this.position + 1))
      )
        throw BAIL
    }
    this.events.push(POP())
    return true
  }

  /**
   * js-yaml's readBlockMapping with implicit keys only. As there, a first "key" that no `:` follows is
   * the node itself (a scalar or a flow collection, read in the flow-out context).
   */
  readBlockMapping(nodeIndent: number, flowIndent: number): boolean {
    const s = this.s
    const events = this.events
    let detected = false
    let ch = s.charCodeAt(this.position)
    while (ch !== 0) {
      const entryLine = this.line
      // an explicit key (`? `) or an empty one (`: `)
      if ((ch === 63 || ch === 58) && isWsOrEolOrEnd(s.charCodeAt(this.position + 1))) throw BAIL
      const keyPosition = this.position
      const keyEvents = events.length
      // parseNode(flowIndent, CONTEXT_FLOW_OUT, false, true), straight to the plain scalar most keys are
      // (what parseNode does with a character that starts no property, alias, quote or flow collection)
      if (
        this.depth < this.maxDepth && (ch >= 128 || NOT_PLAIN_START[ch] === 0)
          ? !this.readPlainScalar(flowIndent, false)
          : !this.parseNode(flowIndent, CONTEXT_FLOW_OUT, false, true)
      )
        break
      if (this.line !== entryLine) {
        if (detected) throw BAIL // a multiline key
        return true
      }
      ch = s.charCodeAt(this.position)
      while (ch === 32 || ch === 9) ch = s.charCodeAt(++this.position)
      if (ch !== 58) {
        if (detected) throw BAIL // expected ':' after a mapping key
        return true
      }
      ch = s.charCodeAt(++this.position)
      if (!isWsOrEolOrEnd(ch)) throw BAIL
      if (!detected) {
        // js-yaml splices the mapping's event in before its first key's
        const mapping = collectionEvent(3, keyPosition, 1)
        if (events.length === keyEvents + 1) {
          events.push(events[keyEvents]!)
          events[keyEvents] = mapping
        } else {
          events.splice(keyEvents, 0, mapping)
        }
        detected = true
      }
      this.parseNode(nodeIndent, CONTEXT_BLOCK_OUT, true, false)
      this.skipSeparationSpace(true)
      ch = s.charCodeAt(this.position)
      if ((this.line === entryLine || this.lineIndent > nodeIndent) && ch !== 0) throw BAIL
      if (this.lineIndent < nodeIndent) break
    }
    if (!detected) return false
    events.push(POP())
    return true
  }

  /** js-yaml's skipFlowSeparationSpace. */
  skipFlowSeparationSpace(nodeIndent: number): void {
    const startLine = this.line
    this.skipSeparationSpace(true)
    if (this.line > startLine && this.lineIndent < nodeIndent) throw BAIL // deficient indentation
  }

  /** js-yaml's readFlowCollection, without explicit pairs (`? `) and single pairs in a flow sequence. */
  readFlowCollection(nodeIndent: number): boolean {
    const s = this.s
    const events = this.events
    const first = s.charCodeAt(this.position)
    if (first !== 91 && first !== 123) return false
    const isMapping = first === 123
    const terminator = isMapping ? 125 : 93
    events.push(collectionEvent(isMapping ? 3 : 2, this.position, 2))
    this.position++
    let readNext = true
    while (s.charCodeAt(this.position) !== 0) {
      this.skipFlowSeparationSpace(nodeIndent)
      let ch = s.charCodeAt(this.position)
      if (ch === terminator) {
        this.position++
        events.push(POP())
        return true
      }
      if (!readNext || ch === 44) throw BAIL
      if (ch === 63 && isWsOrEol(s.charCodeAt(this.position + 1))) throw BAIL // an explicit pair
      const entryLine = this.line
      const keyWasRead = this.parseNode(nodeIndent, CONTEXT_FLOW_IN, false, true)
      this.skipFlowSeparationSpace(nodeIndent)
      ch = s.charCodeAt(this.position)
      if ((isMapping || this.line === entryLine) && ch === 58) {
        if (!isMapping) throw BAIL // a single pair in a flow sequence
        this.position++
        this.skipFlowSeparationSpace(nodeIndent)
        if (!keyWasRead) events.push(emptyScalarEvent())
        if (!this.parseNode(nodeIndent, CONTEXT_FLOW_IN, false, true)) events.push(emptyScalarEvent())
        this.skipFlowSeparationSpace(nodeIndent)
      } else if (isMapping) {
        events.push(emptyScalarEvent())
      }
      if (s.charCodeAt(this.position) === 44) {
        readNext = true
        this.position++
      } else {
        readNext = false
      }
    }
    throw BAIL // the end of the stream within a flow collection
  }

  /** js-yaml's readFlowScalarBreak. */
  readFlowScalarBreak(nodeIndent: number): void {
    this.skipSeparationSpace(false)
    if (this.lineIndent < nodeIndent) throw BAIL // deficient indentation
  }

  readSingleQuotedScalar(nodeIndent: number): boolean {
    const s = this.s
    const start = ++this.position
    let simple = true
    let ch = s.charCodeAt(this.position)
    while (ch !== 0) {
      if (ch === 39) {
        if (s.charCodeAt(this.position + 1) === 39) {
          simple = false
          this.position += 2
        } else {
          const end = this.position++
          this.events.push(scalarEvent(start, end, STYLE_SINGLE_QUOTED, CHOMP_CLIP, -1, simple))
          return true
        }
      } else if (ch === 10) {
        simple = false
        this.readFlowScalarBreak(nodeIndent)
      } else if (this.position === this.lineStart && this.isDocumentSeparator(this.position)) {
        throw BAIL
      } else if (ch < 32 && ch !== 9) {
        throw BAIL // js-yaml: expected valid JSON character
      } else {
        this.position++
      }
      ch = s.charCodeAt(this.position)
    }
    throw BAIL
  }

  readDoubleQuotedScalar(nodeIndent: number): boolean {
    const s = this.s
    const start = ++this.position
    let simple = true
    let ch = s.charCodeAt(this.position)
    while (ch !== 0) {
      if (ch === 34) {
        const end = this.position++
        this.events.push(scalarEvent(start, end, STYLE_DOUBLE_QUOTED, CHOMP_CLIP, -1, simple))
        return true
      }
      if (ch === 92) {
        simple = false
        const escaped = s.charCodeAt(++this.position)
        if (escaped === 10) {
          this.readFlowScalarBreak(nodeIndent)
        } else if (isSimpleEscape(escaped)) {
          this.position++
        } else {
          let hexLength = escaped === 120 ? 2 : escaped === 117 ? 4 : escaped === 85 ? 8 : 0
          if (hexLength === 0) throw BAIL // an unknown escape sequence
          while (hexLength-- > 0) if (!isHexDigit(s.charCodeAt(++this.position))) throw BAIL
          this.position++
        }
      } else if (ch === 10) {
        simple = false
        this.readFlowScalarBreak(nodeIndent)
      } else if (this.position === this.lineStart && this.isDocumentSeparator(this.position)) {
        throw BAIL
      } else if (ch < 32 && ch !== 9) {
        throw BAIL // js-yaml: expected valid JSON character
      } else {
        this.position++
      }
      ch = s.charCodeAt(this.position)
    }
    throw BAIL
  }

  /** js-yaml's readBlockScalar: `|` or `>`, a chomping indicator and an indentation indicator. */
  readBlockScalar(parentIndent: number): boolean {
    const s = this.s
    const style = s.charCodeAt(this.position) === 124 ? STYLE_LITERAL : STYLE_FOLDED
    let chomping = CHOMP_CLIP
    let indent = -1
    let detectedIndent = false
    let pos = this.position + 1
    for (;;) {
      const c = s.charCodeAt(pos)
      if (c === 43 || c === 45) {
        if (chomping !== CHOMP_CLIP) throw BAIL
        chomping = c === 43 ? CHOMP_KEEP : CHOMP_STRIP
        pos++
      } else if (c >= 48 && c <= 57) {
        if (c === 48 || detectedIndent) throw BAIL
        indent = parentIndent + (c - 48) - 1
        detectedIndent = true
        pos++
      } else {
        break
      }
    }
    let hadWhitespace = false
    while (s.charCodeAt(pos) === 32) {
      hadWhitespace = true
      pos++
    }
    if (hadWhitespace && s.charCodeAt(pos) === 35) {
      const nl = s.indexOf('\n', pos)
      pos = nl < 0 ? this.length : nl
    }
    if (s.charCodeAt(pos) === 10) {
      pos++
      this.line++
      this.lineStart = pos
      this.lineIndent = 0
    } else if (pos < this.length) {
      throw BAIL // a line break is expected
    }
    let contentIndent = detectedIndent ? indent : -1
    let maxLeadingIndent = 0
    const valueStart = pos
    let valueEnd = pos
    while (pos < this.length) {
      const linePosition = pos
      let column = 0
      while (s.charCodeAt(linePosition + column) === 32) column++
      const first = s.charCodeAt(linePosition + column)
      if (first === 9) throw BAIL // a tab where the indentation ends
      if (first === 0) {
        if (contentIndent >= 0) {
          if (column > contentIndent) valueEnd = linePosition + column
        } else if (column > 0) valueEnd = linePosition + column
        break
      }
      // the line starts (pos === lineStart here): a document marker ends the scalar
      if (this.isDocumentSeparator(pos)) break
      if (first === 10) {
        // a blank line before the first content line: the content may not be less indented
        if (contentIndent === -1 && column > maxLeadingIndent) maxLeadingIndent = column
      } else if (contentIndent === -1) {
        // the first content line (no indentation indicator): it sets the content's indentation
        if (column >= parentIndent && column < maxLeadingIndent) throw BAIL // bad indentation
        if (column < parentIndent) {
          this.lineIndent = column
          pos = linePosition + column
          break
        }
        contentIndent = column
      } else if (column < contentIndent) {
        this.lineIndent = column
        pos = linePosition + column
        break
      }
      const nl = s.indexOf('\n', linePosition + column)
      pos = nl < 0 ? this.length : nl
      valueEnd = pos
      if (nl >= 0) {
        pos++
        this.line++
        this.lineStart = pos
        this.lineIndent = 0
        valueEnd = pos
      }
    }
    this.position = pos
    if (valueEnd > valueStart && NON_PRINTABLE.test(s.slice(valueStart, valueEnd))) throw BAIL
    this.events.push(scalarEvent(valueStart, valueEnd, style, chomping, contentIndent, false))
    return true
  }

  /** js-yaml's readPlainScalar; `inFlow` for the flow-in context. */
  readPlainScalar(nodeIndent: number, inFlow: boolean): boolean {
    const s = this.s
    let pos = this.position
    let ch = s.charCodeAt(pos)
    if (ch < 128 && NOT_PLAIN_START[ch] === 1) return false
    if (ch === 63 || ch === 45) {
      const following = s.charCodeAt(pos + 1)
      if (isWsOrEolOrEnd(following) || (inFlow && isFlowIndicator(following))) return false
    }
    const start = pos
    let end = pos
    let multiline = false
    let lineStart = this.lineStart
    if (pos === lineStart && this.isDocumentSeparator(pos)) return false
    while (ch !== 0) {
      if (ch >= 128) {
        // js-yaml's checkPrintable refuses these (a lone surrogate is refused before)
        if (ch <= 0x9f ? ch !== 0x85 : ch >= 0xfffe) throw BAIL
        end = pos + 1
      } else if (PLAIN_CHAR[ch] !== 0) {
        if (PLAIN_CHAR[ch] === 2) throw BAIL
        if (ch === 58) {
          const following = s.charCodeAt(pos + 1)
          if (isWsOrEolOrEnd(following) || (inFlow && isFlowIndicator(following))) break
        } else if (ch === 35) {
          if (isWsOrEol(s.charCodeAt(pos - 1))) break
        } else if (ch === 10) {
          const savedLine = this.line
          const savedLineIndent = this.lineIndent
          this.position = pos
          this.skipSeparationSpace(false)
          if (this.lineIndent >= nodeIndent) {
            multiline = true
            pos = this.position
            lineStart = this.lineStart
            ch = s.charCodeAt(pos)
            if (pos === lineStart && this.isDocumentSeparator(pos)) break
            continue
          }
          this.position = pos
          this.line = savedLine
          this.lineStart = lineStart
          this.lineIndent = savedLineIndent
          break
        } else if (inFlow && isFlowIndicator(ch)) {
          break
        }
        if (ch !== 32 && ch !== 9) end = pos + 1
      } else {
        end = pos + 1
      }
      ch = s.charCodeAt(++pos)
    }
    this.position = pos
    if (end === start) return false
    this.events.push(scalarEvent(start, end, STYLE_PLAIN, CHOMP_CLIP, -1, !multiline))
    return true
  }
}
