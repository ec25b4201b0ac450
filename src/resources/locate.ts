/**
 * Finds where a field path sits in a document's source text. Positions are computed on demand: a scan
 * of thousands of resources needs them only for the few fields that findings point at, so we re-read the
 * document's events then instead of keeping a position for every node of every resource.
 */
import { EVENT_ID, type Event, getScalarValue, parseEvents, SCALAR_STYLE } from 'js-yaml'
import type { DocumentText, PathSegment, Position } from './types.js'

interface NodeSpan {
  /** index of the node's first event */
  first: number
  /** index after the node's last event */
  end: number
  /** for a mapping value: the offset of its key, where a finding about the field should point */
  keyOffset: number
}

function offsetOf(ev: Event): number {
  switch (ev.type) {
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return ev.tagStart >= 0 ? ev.tagStart : ev.anchorStart >= 0 ? ev.anchorStart : ev.start
    case EVENT_ID.SCALAR:
      if (ev.tagStart >= 0) return ev.tagStart
      if (ev.anchorStart >= 0) return ev.anchorStart
      // A quoted scalar's value starts after its opening quote; point at the quote.
      return ev.style === SCALAR_STYLE.SINGLE_QUOTED || ev.style === SCALAR_STYLE.DOUBLE_QUOTED
        ? ev.valueStart - 1
        : ev.valueStart
    case EVENT_ID.ALIAS:
      return ev.anchorStart - 1
    default:
      return -1
  }
}

/** Index after the node that starts at `i`. */
function skipNode(events: readonly Event[], i: number): number {
  const ev = events[i]!
  if (ev.type !== EVENT_ID.MAPPING && ev.type !== EVENT_ID.SEQUENCE) return i + 1
  let depth = 0
  for (let j = i; j < events.length; j++) {
    const t = events[j]!.type
    if (t === EVENT_ID.MAPPING || t === EVENT_ID.SEQUENCE) depth++
    else if (t === EVENT_ID.POP && --depth === 0) return j + 1
  }
  return events.length
}

function child(
  events: readonly Event[],
  source: string,
  node: NodeSpan,
  seg: PathSegment,
): NodeSpan | undefined {
  const head = events[node.first]!
  if (head.type === EVENT_ID.MAPPING && typeof seg === 'string') {
    let i = node.first + 1
    while (i < node.end - 1) {
      const keyEnd = skipNode(events, i)
      const key = events[i]!
      const valueEnd = skipNode(events, keyEnd)
      if (key.type === EVENT_ID.SCALAR && getScalarValue(source, key) === seg)
        return { first: keyEnd, end: valueEnd, keyOffset: offsetOf(key) }
      i = valueEnd
    }
  } else if (head.type === EVENT_ID.SEQUENCE && typeof seg === 'number') {
    let i = node.first + 1
    for (let n = 0; i < node.end - 1; n++) {
      const itemEnd = skipNode(events, i)
      if (n === seg) return { first: i, end: itemEnd, keyOffset: -1 }
      i = itemEnd
    }
  }
  return undefined
}

function lineStarts(text: string): number[] {
  const starts = [0]
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1)
  return starts
}

function toPosition(starts: readonly number[], offset: number): Position {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid]! <= offset) lo = mid
    else hi = mid - 1
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 }
}

function pathKey(path: readonly PathSegment[]): string {
  return JSON.stringify(path)
}

/** A document's text, parsed into events the first time a position is asked for. */
export class DocumentLocator {
  private starts: number[] | undefined

  constructor(
    readonly text: string,
    /** 0-based line of the text's first line within its file */
    readonly lineOffset: number,
    /** the text's events, when the caller parsed them already */
    private events?: Event[],
    /** positions located before the text was detached, by pathKey */
    private readonly known?: Record<string, Position>,
  ) {}

  private detached: DocumentText | undefined

  /**
   * The document as plain data, made once: the text re-encoded, because the parser's text is a slice of
   * the whole file's, and keeping a slice keeps the file alive. `paths` are located now, while the
   * events are at hand, so that a later finding at one of them needs no second parse of the text.
   */
  detach(paths: readonly (readonly PathSegment[])[] = []): DocumentText {
    this.detached ??= { text: Buffer.from(this.text).toString(), lineOffset: this.lineOffset }
    if (paths.length > 0) {
      this.detached.positions ??= {}
      const known = this.detached.positions
      for (const path of paths) known[pathKey(path)] ??= this.locate(path)
    }
    return this.detached
  }

  /** Position (1-based, within the file) of the deepest existing node along `path`. */
  locate(path: readonly PathSegment[]): Position {
    const known = this.known?.[pathKey(path)]
    if (known) return known
    if (!this.events) {
      try {
        this.events = parseEvents(this.text, {})
      } catch {
        this.events = []
      }
    }
    this.starts ??= lineStarts(this.text)
    const events = this.events
    const starts = this.starts!
    // events[0] is the DOCUMENT event; the root node follows.
    const rootIndex = events.findIndex((e) => e.type !== EVENT_ID.DOCUMENT)
    if (rootIndex < 0) return { line: this.lineOffset + 1, column: 1 }
    let node: NodeSpan = { first: rootIndex, end: skipNode(events, rootIndex), keyOffset: -1 }
    for (const seg of path) {
      const next = child(events, this.text, node, seg)
      if (!next) break
      node = next
    }
    // A field is found at its key (`privileged: true` points at `privileged`), an item at the item.
    const offset = node.keyOffset >= 0 ? node.keyOffset : offsetOf(events[node.first]!)
    const pos = toPosition(starts, Math.max(0, offset))
    return { line: pos.line + this.lineOffset, column: pos.column }
  }
}
