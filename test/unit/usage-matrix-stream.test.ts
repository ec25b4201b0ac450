/**
 * A range query's answer read as it arrives (src/usage/prometheus/matrix-stream.ts): the series of
 * data.result handed on one by one are those parseQueryData reads from the whole answer, wherever the
 * chunks are cut (every byte, inside a key, inside a multi-byte character, inside an escape), and only
 * data.result is split (not a label named "result", not another key "result"). A truncated answer and
 * a series that is not JSON are errors. Then PrometheusClient.queryRangeEach against a real Prometheus
 * (the same series as queryRange, gzip-compressed by Prometheus; Prometheus's error for a bad query)
 * and against servers of the test's own: gzip, an answer that stalls part-way (a timeout), one broken
 * off, and one with a series that is not JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:http'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { PrometheusClient } from '../../src/usage/prometheus/client.js'
import { MatrixSplitter } from '../../src/usage/prometheus/matrix-stream.js'
import { parseQueryData, pointsOf, type RangeSeries } from '../../src/usage/prometheus/results.js'
import { listenLocal } from '../helpers/delaying-proxy.js'
import {
  type Cleanups,
  failure,
  type RunningPrometheus,
  startBackfilledPrometheus,
} from '../helpers/prometheus.js'
import type { SeriesDef } from '../helpers/prometheus-backfill.js'
import { DAY, HOUR, MINUTE } from '../helpers/usage-cluster.js'

const T0 = 1_764_000_000
/** Series as Prometheus writes them: label values with quotes, backslashes, control characters, non-ASCII. */
const SERIES = [
  {
    metric: {
      __name__: 'container_cpu_usage_seconds_total',
      namespace: 'shop',
      pod: 'api-"quoted"-0',
      container: 'back\\slash\\',
      note: 'ünïcødé ✓ 日本 🚀',
      // a label named "result" whose value looks like a result: only data.result is split
      result: '{"result":[{"metric":{},"values":[]}]}',
    },
    values: [
      [T0, '0.5'],
      [T0 + 300, 'NaN'],
      [T0 + 600, '+Inf'],
      [T0 + 900, '-Inf'],
      [T0 + 1200.5, '1e-9'],
    ],
  },
  { metric: {}, values: [[T0, '1']] },
  {
    metric: { data: ']},{"metric":', control: 'a\nb\t\u0001\\"', '{weird key}': '[' },
    values: [
      [T0, '2'],
      [T0 + 300, '3.25'],
    ],
  },
  { metric: { empty: '' }, values: [] },
]
const WARNINGS = ['PromQL warning: "quoted" {braces} [brackets] \\ ✓ "result":[']

/** data after warnings; warnings and infos before data, pretty-printed; decoy "result" keys around. */
const DOCUMENTS: Record<string, string> = {
  compact: JSON.stringify({
    status: 'success',
    data: { resultType: 'matrix', result: SERIES },
    warnings: WARNINGS,
  }),
  'warnings and infos first, indented': JSON.stringify(
    {
      status: 'success',
      warnings: WARNINGS,
      infos: ['PromQL info: metric might not be a counter, name does not end in _total: "x"'],
      data: { result: SERIES, resultType: 'matrix' },
    },
    null,
    2,
  ),
  'other keys named result': JSON.stringify({
    status: 'success',
    result: [{ metric: {}, values: [[T0, '9']] }],
    meta: { result: [{ metric: { not: 'data' }, values: [[T0, '8']] }] },
    'ключ "data" \\ ✓': { data: { result: [{ metric: {}, values: [] }] } },
    data: {
      stats: { result: [{ metric: { x: 'y' }, values: [] }] },
      resultType: 'matrix',
      result: SERIES,
    },
  }),
  'no series': JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }),
}

/** What the whole answer gives: its series (parseQueryData) and its envelope with result []. */
function expected(doc: string): { series: readonly RangeSeries[]; envelope: unknown } {
  const json = JSON.parse(doc) as { data: Record<string, unknown> }
  const data = parseQueryData(json.data)
  if (data.resultType !== 'matrix') throw new Error('not a matrix')
  return { series: data.result, envelope: { ...json, data: { ...json.data, result: [] } } }
}

/** The answer fed to a splitter in the chunks that `cuts` (byte offsets) make. */
function feed(doc: Buffer, cuts: readonly number[]): { series: RangeSeries[]; envelope: unknown } {
  const series: RangeSeries[] = []
  const splitter = new MatrixSplitter((s) => series.push(pointsOf(s)))
  let from = 0
  for (const cut of [...cuts, doc.length]) {
    splitter.write(doc.subarray(from, cut))
    from = cut
  }
  expect(splitter.seriesCount).toBe(series.length)
  return { series, envelope: JSON.parse(splitter.end()) }
}

/** A seeded PRNG (mulberry32): the same "random" chunks on every run. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('MatrixSplitter', () => {
  test('the documents hold what the test means them to (escapes, NaN and infinities, non-ASCII)', () => {
    const { series } = expected(DOCUMENTS.compact!)
    expect(series).toHaveLength(4)
    expect(series[0]!.labels.pod).toBe('api-"quoted"-0')
    expect(series[0]!.labels.container).toBe('back\\slash\\')
    expect(series[0]!.points.map(([, v]) => v)).toEqual([
      0.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1e-9,
    ])
    expect(DOCUMENTS.compact).toContain('\\"quoted\\"')
    expect(DOCUMENTS.compact).toContain('\\u0001')
    // multi-byte characters, so that some cuts fall inside one
    expect(Buffer.byteLength(DOCUMENTS.compact!)).toBeGreaterThan(DOCUMENTS.compact!.length)
  })

  for (const [name, doc] of Object.entries(DOCUMENTS)) {
    test(`${name}: the same series and envelope, cut in two at every byte, one byte at a time, and in random chunks`, () => {
      const bytes = Buffer.from(doc)
      const want = expected(doc)
      expect(feed(bytes, [])).toEqual(want)
      for (let cut = 0; cut <= bytes.length; cut++) expect(feed(bytes, [cut]), `cut at ${cut}`).toEqual(want)
      const everyByte = Array.from({ length: bytes.length }, (_, i) => i + 1)
      expect(feed(bytes, everyByte)).toEqual(want)
      const next = random(0x5eed)
      for (let run = 0; run < 200; run++) {
        const cuts: number[] = []
        for (let at = 1 + Math.floor(next() * 64); at < bytes.length; at += 1 + Math.floor(next() * 64))
          cuts.push(at)
        expect(feed(bytes, cuts), `chunks ending at ${cuts.join(', ')}`).toEqual(want)
      }
    })
  }

  test('a key cut across chunks ("res" + "ult", "da" + "ta") is still data.result', () => {
    const doc = DOCUMENTS.compact!
    const want = expected(doc)
    for (const part of ['"res', '"da', '"resultT']) {
      const cut = Buffer.from(doc).indexOf(part) + part.length
      const got = feed(Buffer.from(doc), [cut])
      expect(got.series).toHaveLength(4)
      expect(got).toEqual(want)
    }
    // three chunks within one key
    const at = Buffer.from(doc).indexOf('"result"')
    expect(feed(Buffer.from(doc), [at + 2, at + 4, at + 6])).toEqual(want)
  })

  test('an answer that ends inside a series: end() throws, after the series before it were handed on', () => {
    const doc = Buffer.from(DOCUMENTS.compact!)
    const second = doc.indexOf('{"metric":{}')
    expect(second).toBeGreaterThan(0)
    for (const length of [second + 1, second + 10, doc.indexOf('"1"', second)]) {
      const series: RangeSeries[] = []
      const splitter = new MatrixSplitter((s) => series.push(pointsOf(s)))
      splitter.write(doc.subarray(0, length))
      expect(() => splitter.end()).toThrow('the answer ended inside a series')
      expect(series).toEqual(expected(DOCUMENTS.compact!).series.slice(0, 1))
    }
    // ended after a series, before the answer's end: the envelope is not JSON (the client says so)
    const splitter = new MatrixSplitter(() => {})
    splitter.write(doc.subarray(0, second))
    expect(() => JSON.parse(splitter.end())).toThrow()
  })

  test('a series that is not JSON: write throws, naming it', () => {
    const doc =
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]},{"metric":{"a":tru},"values":[]}]}}'
    const series: RangeSeries[] = []
    const splitter = new MatrixSplitter((s) => series.push(pointsOf(s)))
    expect(() => splitter.write(Buffer.from(doc))).toThrow(/^series 2 of the result is not JSON: /)
    expect(series).toEqual([{ labels: {}, points: [[1000, 1]] }])
    // cut before the bad series ends: the chunk that ends it throws
    const cut = doc.indexOf('tru}') + 2
    const again = new MatrixSplitter(() => {})
    again.write(Buffer.from(doc.slice(0, cut)))
    expect(() => again.write(Buffer.from(doc.slice(cut)))).toThrow(/^series 2 of the result is not JSON: /)
  })

  test('a series of the wrong shape: write throws, naming it and what it lacks', () => {
    const doc =
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"value":[1,"1"]}]}}'
    const splitter = new MatrixSplitter(() => {})
    expect(() => splitter.write(Buffer.from(doc))).toThrow(
      /^series 1 of the result is not a series: a series of a matrix has no "values"$/,
    )
  })
})

const cleanups: Cleanups = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const client = (url: string, options: { timeoutMs?: number } = {}) => {
  const c = new PrometheusClient({ url, ...options })
  cleanups.push(() => c.close())
  return c
}

/** A queryRangeEach's series, and what it resolved to. */
async function each(
  c: PrometheusClient,
  expr: string,
  range: Parameters<PrometheusClient['queryRange']>[1],
  options: { compress?: boolean } = {},
) {
  const series: RangeSeries[] = []
  const answer = await c.queryRangeEach(expr, range, (s) => series.push(pointsOf(s)), options)
  return { series, answer }
}

describe('queryRangeEach against a real Prometheus', () => {
  /** 2 hours of 30 gauges a minute, at the end of a past day; one with labels that need escaping. */
  const END = Math.floor(Date.now() / DAY) * DAY - DAY
  const START = END - 2 * HOUR
  let prometheus: RunningPrometheus

  beforeAll(async () => {
    const series: SeriesDef[] = Array.from({ length: 30 }, (_, i) => ({
      name: 'plimsoll_stream_test',
      type: 'gauge',
      labels: (i === 0
        ? { pod: 'api-"quoted"', path: 'C:\\dir\\', note: 'ünïcødé ✓ 日本', result: '{"result":[]}' }
        : { pod: `pod-${i}` }) as Record<string, string>,
      samples: { from: START, to: END, step: MINUTE, value: (t) => ((t / MINUTE) * (i + 1)) % 7 },
    }))
    ;({ prometheus } = await startBackfilledPrometheus(series, cleanups, { prefix: 'plimsoll-stream-tsdb-' }))
  }, 300_000)

  test('the same series as queryRange, NaN and +Inf included, plain (the default) and gzip-compressed', async () => {
    const c = client(prometheus.url)
    const range = { start: START, end: END, stepMs: MINUTE }
    for (const expr of ['plimsoll_stream_test', 'plimsoll_stream_test / 0']) {
      const whole = await c.queryRange(expr, range)
      const plain = client(prometheus.url)
      expect((await each(plain, expr, range)).series).toEqual(whole.data)
      // not compressed unless asked: as many bytes came as were read
      expect(plain.stats.bytesReceived).toBe(plain.stats.bytesDecoded)
      const streamed = await each(c, expr, range, { compress: true })
      expect(whole.data).toHaveLength(30)
      expect(streamed.series).toEqual(whole.data)
      expect(streamed.answer).toEqual({ series: 30, warnings: [] })
    }
    const escaped = (await each(c, 'plimsoll_stream_test{pod="api-\\"quoted\\""}', range)).series
    expect(escaped.map((s) => s.labels)).toEqual([
      {
        __name__: 'plimsoll_stream_test',
        pod: 'api-"quoted"',
        path: 'C:\\dir\\',
        note: 'ünïcødé ✓ 日本',
        result: '{"result":[]}',
      },
    ])
    expect(escaped[0]!.points).toHaveLength(121)
    const values = (await each(c, 'plimsoll_stream_test / 0', range)).series.flatMap((s) =>
      s.points.map(([, v]) => v),
    )
    expect(values.some(Number.isNaN)).toBe(true)
    expect(values).toContain(Number.POSITIVE_INFINITY)
    // Prometheus compressed them (gzip): fewer bytes came than were read
    expect(c.stats.bytesReceived).toBeLessThan(c.stats.bytesDecoded)
  })

  test("a bad query: Prometheus's error, kind query, no series handed on", async () => {
    const c = client(prometheus.url)
    const bad = 'sum(rate(plimsoll_stream_test[5m])'
    const handed: RangeSeries[] = []
    const err = await failure(
      c.queryRangeEach(bad, { start: START, end: END, stepMs: MINUTE }, (s) => handed.push(pointsOf(s))),
    )
    expect(err.kind).toBe('query')
    expect(err.details).toMatchObject({ status: 400, errorType: 'bad_data', query: bad })
    expect(err.message).toMatch(
      /could not run `sum\(rate\(plimsoll_stream_test\[5m\]\)`: bad_data: .*parse error/,
    )
    expect(handed).toEqual([])
  })
})

describe("queryRangeEach against servers of the test's own", () => {
  const range = { start: T0 * 1000, end: (T0 + 1200) * 1000, stepMs: 300_000 }
  const doc = DOCUMENTS['warnings and infos first, indented']!
  /** the answer up to the end of its first series (fed byte by byte until one is handed on) */
  const head = () => {
    const bytes = Buffer.from(doc)
    let count = 0
    const counting = new MatrixSplitter(() => count++)
    for (let i = 0; i < bytes.length; i++) {
      counting.write(bytes.subarray(i, i + 1))
      if (count === 1) return bytes.subarray(0, i + 1)
    }
    throw new Error('no series')
  }

  async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    const server = await listenLocal(
      createServer((req, res) => {
        req.resume()
        req.on('end', () => handler(req, res))
      }),
    )
    cleanups.push(() => server.close())
    return `http://127.0.0.1:${server.port}`
  }

  test('a gzip-compressed answer (Content-Encoding: gzip): the same series, the warnings', async () => {
    // many series, so that the decompressed answer comes in several chunks
    const many = Array.from({ length: 400 }, (_, i) => ({
      ...SERIES[i % SERIES.length]!,
      metric: { i: String(i) },
    }))
    const big = JSON.stringify({
      status: 'success',
      warnings: WARNINGS,
      data: { resultType: 'matrix', result: many },
    })
    let acceptEncoding: string | undefined
    const url = await serve((req, res) => {
      acceptEncoding = req.headers['accept-encoding']
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      res.end(gzipSync(big))
    })
    await each(client(url), 'anything', range)
    expect(acceptEncoding).toBe('identity')
    const c = client(url)
    const got = await each(c, 'anything', range, { compress: true })
    expect(acceptEncoding).toMatch(/gzip/)
    expect(got.series).toEqual(expected(big).series)
    expect(got.answer).toEqual({ series: 400, warnings: WARNINGS })
    expect(c.stats.bytesDecoded).toBe(Buffer.byteLength(big))
    expect(c.stats.bytesReceived).toBeLessThan(c.stats.bytesDecoded)
  })

  test('an answer that stalls part-way: a timeout, after the series that came were handed on', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write(head()) // ...and nothing more
    })
    const handed: RangeSeries[] = []
    const err = await failure(
      client(url, { timeoutMs: 1000 }).queryRangeEach('up', range, (s) => handed.push(pointsOf(s))),
    )
    expect(err.kind).toBe('timeout')
    expect(err.message).toBe(`Prometheus at ${url} did not answer \`up\` within 1s`)
    expect(handed).toEqual(expected(doc).series.slice(0, 1))
  })

  test('an answer broken off part-way: cannot be read, kind unreachable', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write(head(), () => res.destroy())
    })
    const err = await failure(client(url).queryRangeEach('up', range, () => {}))
    expect(err.kind).toBe('unreachable')
    expect(err.message).toMatch(new RegExp(`^Prometheus at ${url} broke off its answer to \`up\`: `))
  })

  test("a series that is not JSON: kind http, the data is not Prometheus's, naming the series", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[]},{"metric":{"a":tru},"values":[]}]}}',
      )
    })
    const err = await failure(client(url).queryRangeEach('up', range, () => {}))
    expect(err.kind).toBe('http')
    expect(err.message).toMatch(
      new RegExp(
        `^Prometheus at ${url} answered \`up\` with data that is not Prometheus's: series 2 of the result is not JSON`,
      ),
    )
  })
})
