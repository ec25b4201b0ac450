/**
 * A range query's answer read as it arrives: each series of `data.result` is parsed on its own and handed
 * on, and only the envelope around them (status, resultType, warnings: a few hundred bytes) is kept. A
 * batch's CPU rates over 14 days at a 5-minute step are ~100 MB of JSON per 1,000 containers; parsed
 * whole, that would be several times as much heap, per batch in flight.
 *
 * It scans bytes for JSON structure only (strings, nesting, the keys on the way to data.result); the
 * series themselves go to JSON.parse, so a malformed series is an error naming it, not a wrong number.
 */
import { type CompactSeries, compactOf, parseMatrixSeries, parseValue } from './results.js'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d

interface Level {
  readonly object: boolean
  /** the key this container is the value of (in its parent object) */
  readonly key: string | undefined
  /** in an object: the next string is a key */
  expectKey: boolean
  /** in an object: the last key read */
  lastKey: string | undefined
}

export class MatrixSplitter {
  private readonly stack: Level[] = []
  private readonly envelope: Buffer[] = []
  private inString = false
  private escaped = false
  /** the bytes of a key being read (keys are only read outside the series) */
  private keyBytes: Buffer[] | undefined
  /** inside data.result: the depth of the result array, and the current series' bytes */
  private resultDepth = -1
  private series: Buffer[] | undefined
  private seriesDepth = 0
  private count = 0

  constructor(private readonly onSeries: (series: CompactSeries) => void) {}

  /** series handed on so far */
  get seriesCount(): number {
    return this.count
  }

  write(chunk: Buffer): void {
    let start = 0
    let i = 0
    const n = chunk.length
    while (i < n) {
      if (this.series) {
        // inside one series: nesting and strings only, fast
        const end = this.scanSeries(chunk, i)
        if (end < 0) {
          this.series.push(chunk.subarray(i))
          return
        }
        this.series.push(chunk.subarray(i, end + 1))
        this.emit()
        i = end + 1
        start = i
        continue
      }
      const b = chunk[i]!
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (b === BACKSLASH) this.escaped = true
        else if (b === QUOTE) {
          this.inString = false
          if (this.keyBytes) {
            this.keyBytes.push(chunk.subarray(start, i))
            const top = this.stack[this.stack.length - 1]!
            top.lastKey = JSON.parse(`"${Buffer.concat(this.keyBytes).toString('utf8')}"`) as string
            top.expectKey = false
            this.keyBytes = undefined
          }
        }
        i++
        continue
      }
      const top = this.stack[this.stack.length - 1]
      if (b === QUOTE) {
        this.inString = true
        if (top?.object && top.expectKey) {
          this.keyBytes = []
          // the key's bytes start after the quote; flushed into the envelope as they go
          this.envelope.push(chunk.subarray(start, i + 1))
          start = i + 1
        }
        i++
        continue
      }
      if (this.resultDepth >= 0 && this.stack.length === this.resultDepth) {
        // between the series of data.result
        if (b === OPEN_OBJECT) {
          this.envelope.push(chunk.subarray(start, i))
          this.series = []
          this.seriesDepth = 0
          start = i
          continue
        }
        if (b === COMMA) {
          this.envelope.push(chunk.subarray(start, i))
          start = i + 1
          i++
          continue
        }
      }
      if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        const key = top?.object ? top.lastKey : undefined
        this.stack.push({ object: b === OPEN_OBJECT, key, expectKey: b === OPEN_OBJECT, lastKey: undefined })
        if (b === OPEN_ARRAY && key === 'result' && this.stack.length === 3 && this.stack[1]!.key === 'data')
          this.resultDepth = this.stack.length
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        if (this.stack.length === this.resultDepth) this.resultDepth = -2
        this.stack.pop()
      } else if (b === COMMA && top?.object) top.expectKey = true
      else if (b === COLON && top?.object) top.expectKey = false
      i++
    }
    // a key cut by the chunk's end goes on in the next one
    if (this.keyBytes && this.inString) this.keyBytes.push(chunk.subarray(start))
    this.envelope.push(chunk.subarray(start))
  }

  /** The answer without its series (`"result":[]`), for the usual checks of status and shape. */
  end(): string {
    if (this.series) throw new Error('the answer ended inside a series')
    return Buffer.concat(this.envelope).toString('utf8')
  }

  /** The index of the byte that closes the current series in chunk from i, or -1. */
  private scanSeries(chunk: Buffer, from: number): number {
    let depth = this.seriesDepth
    let inString = this.inString
    let escaped = this.escaped
    for (let i = from; i < chunk.length; i++) {
      const b = chunk[i]!
      if (inString) {
        if (escaped) escaped = false
        else if (b === BACKSLASH) escaped = true
        else if (b === QUOTE) inString = false
        continue
      }
      if (b === QUOTE) inString = true
      else if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++
      else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        depth--
        if (depth === 0) {
          this.seriesDepth = 0
          this.inString = false
          this.escaped = false
          return i
        }
      }
    }
    this.seriesDepth = depth
    this.inString = inString
    this.escaped = escaped
    return -1
  }

  private emit(): void {
    const text = Buffer.concat(this.series!).toString('utf8')
    this.series = undefined
    const index = this.count++
    let series: CompactSeries
    try {
      series = fastSeries(text) ?? compactOf(parseMatrixSeries(JSON.parse(text)))
    } catch (err) {
      const what = err instanceof SyntaxError ? 'is not JSON' : 'is not a series'
      throw new Error(`series ${index + 1} of the result ${what}: ${(err as Error).message}`)
    }
    this.onSeries(series)
  }
}

const VALUES_KEY = '"values":['

/**
 * A series element read without JSON.parse of its points: the `values` array, `[[t,"v"],...]` as
 * Prometheus writes it, scanned into two typed arrays; the rest (the labels) parsed as JSON. Undefined
 * when the text is not in that shape (then the caller parses it all as JSON, and says what is wrong).
 * `"values":[` cannot occur inside a label: quotes in a JSON string are escaped.
 */
function fastSeries(text: string): CompactSeries | undefined {
  const at = text.indexOf(VALUES_KEY)
  if (at < 0) return undefined
  let times = new Float64Array(4096)
  let values = new Float64Array(4096)
  let n = 0
  let i = at + VALUES_KEY.length
  const space = () => {
    while (i < text.length && text.charCodeAt(i) <= 32) i++
  }
  space()
  if (text.charCodeAt(i) === 0x5d) i++
  else
    for (;;) {
      space()
      if (text.charCodeAt(i) !== 0x5b) return undefined
      const first = text.charCodeAt(i + 1)
      if (!((first >= 0x30 && first <= 0x39) || first === 0x2d)) return undefined
      const comma = text.indexOf(',', i + 1)
      if (comma < 0) return undefined
      const t = Number(text.slice(i + 1, comma))
      i = comma + 1
      space()
      if (text.charCodeAt(i) !== 0x22) return undefined
      const close = text.indexOf('"', i + 1)
      if (close < 0) return undefined
      const raw = text.slice(i + 1, close)
      // a backslash would be an escape: leave that to JSON.parse
      if (!Number.isFinite(t) || raw.includes('\\')) return undefined
      const v = parseValue(raw)
      i = close + 1
      space()
      if (text.charCodeAt(i) !== 0x5d) return undefined
      i++
      if (n === times.length) {
        const grow = (a: Float64Array) => {
          const b = new Float64Array(a.length * 2)
          b.set(a)
          return b
        }
        times = grow(times)
        values = grow(values)
      }
      times[n] = Math.round(t * 1000)
      values[n++] = v
      space()
      const next = text.charCodeAt(i)
      i++
      if (next === 0x5d) break
      if (next !== 0x2c) return undefined
    }
  const rest = JSON.parse(`${text.slice(0, at)}"values":[]${text.slice(i)}`) as unknown
  const { labels } = parseMatrixSeries(rest)
  return { labels, times: times.slice(0, n), values: values.slice(0, n) }
}
