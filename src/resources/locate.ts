/**
 * Finds where a field path sits in a document's source text. Positions are computed on demand: a scan
 * of thousands of resources needs them only for the few fields that findings point at, so we re-read the
 * document's events then instead of keeping a position for every node of every resource.
 */
import { EVENT_ID, type Event, getScalarValue, parseEvents, SCALAR_STYLE } from 'js-yaml'
import { fastEvents } from './fast-events.js'
import { ownCopy } from './own-copy.js'
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

/**
 * For every event, the index after the node it starts (for a mapping or a sequence, after its POP), in
 * one pass: stepping over a child then costs nothing, however large the child.
 */
function nodeEnds(events: readonly Event[]): Int32Array {
  const ends = new Int32Array(events.length)
  const open: number[] = []
  for (let i = 0; i < events.length; i++) {
    const t = events[i]!.type
    if (t === EVENT_ID.MAPPING || t === EVENT_ID.SEQUENCE) open.push(i)
    else {
      ends[i] = i + 1
      if (t === EVENT_ID.POP) {
        const start = open.pop()
        if (start !== undefined) ends[start] = i + 1
      }
    }
  }
  for (const start of open) ends[start] = events.length
  return ends
}

/**
 * Children a lookup steps over before the container gets an index: short walks cost less than an index,
 * but the items of a `kind: List` are each looked up by position, and walking to each is quadratic.
 */
const WALK_LIMIT = 16

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
  private ends: Int32Array | undefined
  /** Children of the long containers looked up so far, by the container's first event. */
  private indexes: Map<number, Map<string, number> | number[]> | undefined

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
   * The document as plain data, made once: the text copied (see own-copy.ts), because the parser's text is a slice of
   * the whole file's, and keeping a slice keeps the file alive. `paths` are located now, while the
   * events are at hand, so that a later finding at one of them needs no second parse of the text.
   */
  detach(paths: readonly (readonly PathSegment[])[] = []): DocumentText {
    this.detached ??= { text: ownCopy(this.text), lineOffset: this.lineOffset }
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
        // The text was read once within the limits (depth among them); should it be too deep for this
        // thread's stack, that is caught like any parse error.
        this.events =
          fastEvents(this.text, Number.POSITIVE_INFINITY) ??
          parseEvents(this.text, { maxDepth: Number.POSITIVE_INFINITY })
      } catch {
        this.events = []
      }
    }
    this.starts ??= lineStarts(this.text)
    this.ends ??= nodeEnds(this.events)
    const events = this.events
    const starts = this.starts!
    // events[0] is the DOCUMENT event; the root node follows.
    const rootIndex = events.findIndex((e) => e.type !== EVENT_ID.DOCUMENT)
    if (rootIndex < 0) return { line: this.lineOffset + 1, column: 1 }
    let node: NodeSpan = { first: rootIndex, end: this.ends[rootIndex]!, keyOffset: -1 }
    for (const seg of path) {
      const next = this.child(node, seg)
      if (!next) break
      node = next
    }
    // A field is found at its key (`privileged: true` points at `privileged`), an item at the item.
    const offset = node.keyOffset >= 0 ? node.keyOffset : offsetOf(events[node.first]!)
    const pos = toPosition(starts, Math.max(0, offset))
    return { line: pos.line + this.lineOffset, column: pos.column }
  }

  private child(node: NodeSpan, seg: PathSegment): NodeSpan | undefined {
    const events = this.events!
    const ends = this.ends!
    const head = events[node.first]!
    if (head.type === EVENT_ID.MAPPING && typeof seg === 'string') {
      const key = this.keyEvent(node, seg)
      if (key < 0) return undefined
      const value = ends[key]!
      return { first: value, end: ends[value]!, keyOffset: offsetOf(events[key]!) }
    }
    if (head.type === EVENT_ID.SEQUENCE && typeof seg === 'number') {
      const item = this.itemEvent(node, seg)
      return item < 0 ? undefined : { first: item, end: ends[item]!, keyOffset: -1 }
    }
    return undefined
  }

  /** Event index of the key `seg` of a mapping (its first, were it there twice), or -1. */
  private keyEvent(node: NodeSpan, seg: string): number {
    const index = this.indexes?.get(node.first)
    if (index instanceof Map) return index.get(seg) ?? -1
    const events = this.events!
    const ends = this.ends!
    let walked = 0
    for (let i = node.first + 1; i < node.end - 1; i = ends[ends[i]!]!) {
      if (++walked > WALK_LIMIT) {
        const keys = this.index(node)
        return keys instanceof Map ? (keys.get(seg) ?? -1) : -1
      }
      const key = events[i]!
      if (key.type === EVENT_ID.SCALAR && getScalarValue(this.text, key) === seg) return i
    }
    return -1
  }

  /** Event index of item `seg` of a sequence, or -1. */
  private itemEvent(node: NodeSpan, seg: number): number {
    if (seg >= WALK_LIMIT) {
      const items = this.index(node)
      return Array.isArray(items) ? (items[seg] ?? -1) : -1
    }
    const ends = this.ends!
    let n = 0
    for (let i = node.first + 1; i < node.end - 1; i = ends[i]!, n++) if (n === seg) return i
    return -1
  }

  /** The children of a container, by key or by position, indexed once. */
  private index(node: NodeSpan): Map<string, number> | number[] {
    this.indexes ??= new Map()
    let index = this.indexes.get(node.first)
    if (index) return index
    const events = this.events!
    const ends = this.ends!
    if (events[node.first]!.type === EVENT_ID.MAPPING) {
      const keys = new Map<string, number>()
      for (let i = node.first + 1; i < node.end - 1; i = ends[ends[i]!]!) {
        const key = events[i]!
        if (key.type !== EVENT_ID.SCALAR) continue
        const name = getScalarValue(this.text, key)
        if (!keys.has(name)) keys.set(name, i)
      }
      index = keys
    } else {
      const items: number[] = []
      for (let i = node.first + 1; i < node.end - 1; i = ends[i]!) items.push(i)
      index = items
    }
    this.indexes.set(node.first, index)
    return index
  }
}
