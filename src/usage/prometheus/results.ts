/**
 * Prometheus's query results (`data` of /api/v1/query and /api/v1/query_range), parsed into numbers and
 * milliseconds. Values come as strings ("1.5", "NaN", "+Inf"); timestamps as seconds with decimals.
 */

export type Labels = Readonly<Record<string, string>>

/** One series' value at one time (a vector element). */
export interface Sample {
  readonly labels: Labels
  /** ms since the epoch */
  readonly time: number
  readonly value: number
}

/** One series over time (a matrix element): points sorted by time. */
export interface RangeSeries {
  readonly labels: Labels
  /** [ms since the epoch, value] */
  readonly points: ReadonlyArray<readonly [number, number]>
}

export type QueryData =
  | { readonly resultType: 'vector'; readonly result: readonly Sample[] }
  | { readonly resultType: 'matrix'; readonly result: readonly RangeSeries[] }
  | { readonly resultType: 'scalar'; readonly result: { readonly time: number; readonly value: number } }
  | { readonly resultType: 'string'; readonly result: { readonly time: number; readonly value: string } }

/** A number as Prometheus writes it in JSON. */
export function parseValue(text: unknown): number {
  if (typeof text === 'number') return text
  if (typeof text !== 'string') throw new Error(`a sample value is ${JSON.stringify(text)}, not a string`)
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY
    case '-Inf':
      return Number.NEGATIVE_INFINITY
    case 'NaN':
      return Number.NaN
  }
  const n = Number(text)
  if (text.trim() === '' || Number.isNaN(n)) throw new Error(`a sample value is "${text}", not a number`)
  return n
}

function parsePair(pair: unknown): [number, string] {
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'number')
    throw new Error(`a sample is ${JSON.stringify(pair)?.slice(0, 100)}, not [time, "value"]`)
  return [Math.round(pair[0] * 1000), pair[1] as string]
}

function labelsOf(metric: unknown): Labels {
  if (metric === undefined) return {}
  if (metric === null || typeof metric !== 'object' || Array.isArray(metric))
    throw new Error('a series has no label set ("metric")')
  return metric as Labels
}

/**
 * One series over time as two arrays (what a streamed range query hands on): a 14-day series at a
 * 5-minute step is 4,033 points, which as [time, value] pairs would be as many small arrays.
 */
export interface CompactSeries {
  readonly labels: Labels
  /** ms since the epoch, in time order */
  readonly times: Float64Array
  readonly values: Float64Array
}

/** A compact series as a RangeSeries. */
export function pointsOf(series: CompactSeries): RangeSeries {
  return {
    labels: series.labels,
    points: Array.from(series.times, (t, i) => [t, series.values[i]!] as const),
  }
}

/** A RangeSeries as a compact one. */
export function compactOf(series: RangeSeries): CompactSeries {
  return {
    labels: series.labels,
    times: Float64Array.from(series.points, ([t]) => t),
    values: Float64Array.from(series.points, ([, v]) => v),
  }
}

/** One element of a matrix result. */
export function parseMatrixSeries(raw: unknown): RangeSeries {
  const r = (raw ?? {}) as { metric?: unknown; values?: unknown; histograms?: unknown }
  if (r.values === undefined && r.histograms !== undefined)
    throw new Error('native histogram samples: not supported')
  if (!Array.isArray(r.values)) throw new Error('a series of a matrix has no "values"')
  return {
    labels: labelsOf(r.metric),
    points: r.values.map((p: unknown) => {
      const [time, value] = parsePair(p)
      return [time, parseValue(value)] as const
    }),
  }
}

/** Parses `data` of a successful answer. Throws on a shape that is not Prometheus's. */
export function parseQueryData(data: unknown): QueryData {
  if (data === null || typeof data !== 'object') throw new Error('the answer has no "data"')
  const { resultType, result } = data as { resultType?: unknown; result?: unknown }
  switch (resultType) {
    case 'vector': {
      if (!Array.isArray(result)) throw new Error('a vector result is not a list')
      return {
        resultType,
        result: result.map((r: { metric?: unknown; value?: unknown; histogram?: unknown }) => {
          if (r.value === undefined && r.histogram !== undefined)
            throw new Error('a native histogram sample: not supported')
          const [time, value] = parsePair(r.value)
          return { labels: labelsOf(r.metric), time, value: parseValue(value) }
        }),
      }
    }
    case 'matrix': {
      if (!Array.isArray(result)) throw new Error('a matrix result is not a list')
      return {
        resultType,
        result: result.map(parseMatrixSeries),
      }
    }
    case 'scalar': {
      const [time, value] = parsePair(result)
      return { resultType, result: { time, value: parseValue(value) } }
    }
    case 'string': {
      const [time, value] = parsePair(result)
      return { resultType, result: { time, value: String(value) } }
    }
    default:
      throw new Error(`unknown resultType ${JSON.stringify(resultType)}`)
  }
}
