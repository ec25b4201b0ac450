/**
 * Recommendations (src/usage/recommend): the `simple` strategy (KRR's) from window statistics, the
 * `vpa` strategy (the VPA recommender's) from samples through decaying exponential histograms, and the
 * guards both share: OOM floor, HPA hold, never below what was used, rounding, confidence, skipping.
 * Inputs are synthetic containers whose percentiles are known.
 */
import { describe, expect, it } from 'vitest'
import { confidenceOf, MIB, roundCpuUp, roundMemoryUp, usedFloor } from '../../src/usage/recommend/guards.js'
import {
  CPU_BUCKETS,
  DecayingHistogram,
  ExponentialBuckets,
  MEMORY_BUCKETS,
} from '../../src/usage/recommend/histogram.js'
import { recommend, recommendAll } from '../../src/usage/recommend/index.js'
import { recommendSimple } from '../../src/usage/recommend/simple.js'
import { estimateVpa, recommendVpa } from '../../src/usage/recommend/vpa.js'
import { type ContainerUsage, type Sample, sampleSeries } from '../../src/usage/types.js'

const HOUR = 3600
const DAY = 24 * HOUR
const NOW = new Date('2026-11-15T00:00:00Z')
const NOW_S = NOW.getTime() / 1000
const iso = (seconds: number) => new Date(seconds * 1000).toISOString()

/** A container of shop/web with known statistics: CPU p95 250m, memory max 400Mi, 14 days of 5-minute points. */
function container(over: Partial<ContainerUsage> = {}): ContainerUsage {
  return {
    workload: { cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'web' },
    container: 'app',
    pods: 3,
    maxReplicas: 3,
    cpu: { usage: { p50: 0.1, p95: 0.25, p99: 0.4, max: 0.9 }, request: 0.5, limit: 1 },
    memory: {
      usage: { p50: 300 * MIB, p95: 380 * MIB, p99: 395 * MIB, max: 400 * MIB },
      request: 512 * MIB,
      limit: 512 * MIB,
    },
    restarts: 0,
    oomKills: [],
    runningSeconds: 3 * 14 * DAY,
    history: { from: iso(NOW_S - 14 * DAY), to: iso(NOW_S), samples: 4032 },
    ...over,
  }
}

/** Samples every `step` seconds, the last at `end`, `count` of them, values from `value(i)` (i = 0 oldest). */
function series(count: number, step: number, value: (i: number) => number, end = NOW_S): Sample[] {
  return Array.from({ length: count }, (_, i) => ({ t: end - (count - 1 - i) * step, v: value(i) }))
}

/** A container with samples only (no statistics): the vpa strategy's input. */
function sampled(cpu: Sample[], memory: Sample[], over: Partial<ContainerUsage> = {}): ContainerUsage {
  const times = [...cpu, ...memory].map((s) => s.t)
  const base = container()
  return container({
    cpu: { usage: undefined, request: base.cpu.request, limit: base.cpu.limit, samples: sampleSeries(cpu) },
    memory: {
      usage: undefined,
      request: base.memory.request,
      limit: base.memory.limit,
      samples: sampleSeries(memory),
    },
    history: { from: iso(Math.min(...times)), to: iso(Math.max(...times)), samples: cpu.length },
    ...over,
  })
}

/** Where the VPA's histogram answers for a value: the start of the bucket after the value's. */
const bucketAbove = (buckets: ExponentialBuckets, value: number) => buckets.start(buckets.find(value) + 1)
const cpuBuckets = new ExponentialBuckets(CPU_BUCKETS)
const memoryBuckets = new ExponentialBuckets(MEMORY_BUCKETS)

describe('rounding', () => {
  it('rounds CPU up to whole millicores and memory up to whole MiB, without floating-point creep', () => {
    expect(roundCpuUp(0.1)).toBe(0.1)
    expect(roundCpuUp(0.1001)).toBe(0.101)
    expect(roundCpuUp(0.0125)).toBe(0.013)
    // 0.1 + 0.2 = 0.30000000000000004 and 1.1 x 100Mi = 110.00000000000001Mi: noise, not a millicore or a MiB more
    expect(roundCpuUp(0.1 + 0.2)).toBe(0.3)
    expect(roundMemoryUp(1.1 * 100 * MIB)).toBe(110 * MIB)
    expect(roundMemoryUp(400 * MIB * 1.15)).toBe(460 * MIB)
    expect(roundMemoryUp(460 * MIB + 1)).toBe(461 * MIB)
  })
})

describe('confidence', () => {
  const history = (seconds: number, samples: number) => ({
    from: iso(NOW_S - seconds),
    to: iso(NOW_S),
    samples,
  })
  it('is low under a day or 100 samples, medium under 7 days, high from 7 days', () => {
    expect(confidenceOf(history(2 * HOUR, 120))).toBe('low')
    expect(confidenceOf(history(14 * DAY, 99))).toBe('low')
    expect(confidenceOf(history(3 * DAY, 864))).toBe('medium')
    expect(confidenceOf(history(7 * DAY, 2016))).toBe('high')
    expect(confidenceOf({ from: 'not a time', to: iso(NOW_S), samples: 500 })).toBe('low')
  })
})

describe('simple strategy (KRR)', () => {
  it('CPU request at p95 with no limit; memory request = limit = max + 15%', () => {
    const r = recommendSimple(container())
    expect(r.strategy).toBe('simple')
    expect(r.skipped).toBeUndefined()
    expect(r.cpu.request).toBe(0.25)
    expect(r.cpu.limit).toBeUndefined()
    expect(r.memory.request).toBe(460 * MIB)
    expect(r.memory.limit).toBe(460 * MIB)
    expect(r.confidence).toBe('high')
    expect(r.cpu.reasons.join(' ')).toMatch(/p95 CPU usage, 250m/)
    expect(r.memory.reasons.join(' ')).toMatch(/400Mi \+ 15% = 460Mi/)
  })

  it('takes the p99 and another buffer when asked', () => {
    const r = recommendSimple(container(), { cpuPercentile: 99, memoryBufferPct: 30 })
    expect(r.cpu.request).toBe(0.4)
    expect(r.memory.request).toBe(520 * MIB)
    expect(r.memory.limit).toBe(520 * MIB)
  })

  it('rounds up: CPU to millicores, memory to MiB', () => {
    const base = container()
    const r = recommendSimple(
      container({
        cpu: { ...base.cpu, usage: { p50: 0.1, p95: 0.1234, p99: 0.2, max: 0.3 } },
        memory: {
          ...base.memory,
          usage: { p50: 50 * MIB, p95: 90 * MIB, p99: 99 * MIB, max: 200 * MIB + 1 },
        },
      }),
    )
    expect(r.cpu.request).toBe(0.124)
    // (200Mi + 1 byte) x 1.15 = 230Mi + 1.15 bytes: up to 231Mi
    expect(r.memory.request).toBe(231 * MIB)
  })

  it("never goes under KRR's minimums (10m, 100Mi)", () => {
    const base = container()
    const r = recommendSimple(
      container({
        cpu: { ...base.cpu, usage: { p50: 0.001, p95: 0.002, p99: 0.003, max: 0.004 } },
        memory: { ...base.memory, usage: { p50: 10 * MIB, p95: 15 * MIB, p99: 18 * MIB, max: 20 * MIB } },
      }),
    )
    expect(r.cpu.request).toBe(0.01)
    expect(r.memory.request).toBe(100 * MIB)
    expect(r.memory.limit).toBe(100 * MIB)
  })

  it('holds both resources with fewer than 100 samples (points_required)', () => {
    const r = recommendSimple(container({ history: { from: iso(NOW_S - DAY), to: iso(NOW_S), samples: 50 } }))
    expect(r.cpu).toMatchObject({ request: 0.5, limit: 1 })
    expect(r.memory).toMatchObject({ request: 512 * MIB, limit: 512 * MIB })
    expect(r.cpu.reasons.join(' ')).toMatch(/only 50 usage samples, fewer than 100/)
    expect(r.confidence).toBe('low')
  })

  it('holds a resource without a usage series and recommends the other', () => {
    const base = container()
    const r = recommendSimple(container({ cpu: { ...base.cpu, usage: undefined } }))
    expect(r.skipped).toBeUndefined()
    expect(r.cpu).toMatchObject({ request: 0.5, limit: 1 })
    expect(r.cpu.reasons.join(' ')).toMatch(/no CPU usage series/)
    expect(r.memory.request).toBe(460 * MIB)
  })
})

describe('vpa strategy: the decaying exponential histogram', () => {
  it("has the VPA's buckets: 0.01 core / 10 MB first, 5% growth, up to 1000 cores / 1 TB", () => {
    expect(cpuBuckets.count).toBe(176)
    expect(memoryBuckets.count).toBe(176)
    expect(cpuBuckets.start(1)).toBeCloseTo(0.01, 12)
    expect(cpuBuckets.start(2)).toBeCloseTo(0.0205, 12)
    expect(memoryBuckets.start(1)).toBeCloseTo(1e7, 3)
    expect(cpuBuckets.start(cpuBuckets.count - 1)).toBeGreaterThanOrEqual(1000)
    expect(cpuBuckets.start(cpuBuckets.count - 2)).toBeLessThan(1000)
    expect(cpuBuckets.find(0.005)).toBe(0)
    expect(cpuBuckets.find(5000)).toBe(cpuBuckets.count - 1)
  })

  it('gives percentiles of a known multiset within one bucket above the true ones', () => {
    const cpu = new DecayingHistogram(CPU_BUCKETS)
    const memory = new DecayingHistogram(MEMORY_BUCKETS)
    expect(cpu.isEmpty()).toBe(true)
    expect(cpu.percentile(0.9)).toBe(0)
    for (let i = 1; i <= 1000; i++) {
      cpu.add(i / 1000, 1, NOW_S) // 1m .. 1000m
      memory.add(i * MIB, 1, NOW_S) // 1Mi .. 1000Mi
    }
    expect(cpu.isEmpty()).toBe(false)
    for (const p of [0.5, 0.9, 0.95, 0.99]) {
      const trueCpu = Math.ceil(p * 1000) / 1000
      const gotCpu = cpu.percentile(p)
      expect(gotCpu).toBeGreaterThanOrEqual(trueCpu)
      expect(gotCpu).toBeLessThanOrEqual(trueCpu * 1.05 + CPU_BUCKETS.firstBucketSize)
      expect(gotCpu).toBe(bucketAbove(cpuBuckets, trueCpu))
      const trueMemory = Math.ceil(p * 1000) * MIB
      const gotMemory = memory.percentile(p)
      expect(gotMemory).toBeGreaterThanOrEqual(trueMemory)
      expect(gotMemory).toBeLessThanOrEqual(trueMemory * 1.05 + MEMORY_BUCKETS.firstBucketSize)
    }
  })

  it('halves a sample’s weight per 24 h of age', () => {
    const h = new DecayingHistogram(CPU_BUCKETS)
    h.add(1.0, 1, NOW_S - DAY) // weighs 1/3 of the total
    h.add(2.0, 1, NOW_S) // weighs 2/3
    expect(h.percentile(0.33)).toBe(bucketAbove(cpuBuckets, 1.0))
    expect(h.percentile(0.34)).toBe(bucketAbove(cpuBuckets, 2.0))
    // without decay both weigh 1/2
    const flat = new DecayingHistogram(CPU_BUCKETS, 1e15)
    flat.add(1.0, 1, NOW_S - DAY)
    flat.add(2.0, 1, NOW_S)
    expect(flat.percentile(0.34)).toBe(bucketAbove(cpuBuckets, 1.0))
  })

  it('lets recent low usage outweigh older high usage', () => {
    const decaying = new DecayingHistogram(CPU_BUCKETS)
    const flat = new DecayingHistogram(CPU_BUCKETS, 1e15)
    for (const h of [decaying, flat]) {
      for (let i = 0; i < 300; i++) h.add(2.0, 0.1, NOW_S - 3 * DAY) // 3 days old: weight / 8
      for (let i = 0; i < 100; i++) h.add(0.2, 0.1, NOW_S)
    }
    expect(flat.percentile(0.5)).toBe(bucketAbove(cpuBuckets, 2.0))
    expect(decaying.percentile(0.5)).toBe(bucketAbove(cpuBuckets, 0.2))
  })

  it('renormalises past 100 half-lives: weights stay finite, the ancient sample drops out', () => {
    const h = new DecayingHistogram(CPU_BUCKETS, HOUR)
    h.add(5.0, 1, NOW_S - 150 * HOUR)
    for (let i = 0; i < 10; i++) h.add(1.0, 1, NOW_S - i)
    expect(Number.isFinite(h.totalWeight)).toBe(true)
    expect(h.totalWeight).toBeCloseTo(10, 1) // the ten new samples, the old one scaled by 2^-150
    expect(h.percentile(0.999)).toBe(bucketAbove(cpuBuckets, 1.0))
    expect(h.percentile(0)).toBe(bucketAbove(cpuBuckets, 1.0))
  })
})

describe('vpa strategy: estimates and recommendations', () => {
  // 8 days of hourly points (the VPA's history length): CPU 500m, memory 300Mi
  const cpu8d = series(192, HOUR, () => 0.5)
  const memory8d = series(192, HOUR, () => 300 * MIB)

  it('targets p90 + 15%, bounds p50 / p95 + 15% widened by (1 + 0.001/c)^-2 and (1 + 1/c)', () => {
    const e = estimateVpa(sampled(cpu8d, memory8d), { now: NOW })
    // span 191 h = 7.958 days, count x step = 192 h = 8 days: the smaller
    expect(e.confidenceDays).toBeCloseTo(191 / 24, 9)
    const c = 191 / 24
    const cpuAt = bucketAbove(cpuBuckets, 0.5)
    expect(e.cpu?.target).toBeCloseTo(cpuAt * 1.15, 12)
    expect(e.cpu?.lowerBound).toBeCloseTo(cpuAt * 1.15 * (1 + 0.001 / c) ** -2, 12)
    expect(e.cpu?.upperBound).toBeCloseTo(cpuAt * 1.15 * (1 + 1 / c), 12)
    expect(e.cpu?.points).toBe(192)
    // memory: one peak per 24 h interval, 8 of them
    const memoryAt = bucketAbove(memoryBuckets, 300 * MIB)
    expect(e.memory?.points).toBe(8)
    expect(e.memory?.target).toBeCloseTo(memoryAt * 1.15, 3)
    expect(e.memory?.upperBound).toBeCloseTo(memoryAt * 1.15 * (1 + 1 / c), 3)
  })

  it('recommends request = target rounded up, limits in the proportion they have now', () => {
    const c = sampled(cpu8d, memory8d, {
      cpu: { usage: undefined, request: 0.25, limit: 1, samples: sampleSeries(cpu8d) },
      memory: { usage: undefined, request: 256 * MIB, limit: 512 * MIB, samples: sampleSeries(memory8d) },
    })
    const e = estimateVpa(c, { now: NOW })
    const r = recommendVpa(c, { now: NOW })
    expect(r.strategy).toBe('vpa')
    const cpu = r.cpu.request ?? Number.NaN
    expect(cpu).toBeGreaterThanOrEqual(e.cpu?.target ?? Number.POSITIVE_INFINITY)
    expect(cpu - (e.cpu?.target ?? 0)).toBeLessThan(0.001)
    expect(Math.abs(cpu * 1000 - Math.round(cpu * 1000))).toBeLessThan(1e-9)
    expect(r.cpu.limit).toBeCloseTo(roundCpuUp(cpu * 4), 9)
    const memory = r.memory.request ?? Number.NaN
    expect(memory % MIB).toBe(0)
    expect(memory).toBeGreaterThanOrEqual(e.memory?.target ?? Number.POSITIVE_INFINITY)
    expect(memory - (e.memory?.target ?? 0)).toBeLessThan(MIB)
    expect(r.memory.limit).toBe(memory * 2)
    expect(r.cpu.reasons.join(' ')).toMatch(/p90 of 192 CPU samples/)
  })

  it('sets no limit where there is none now, and limit = request where they are equal', () => {
    const c = sampled(cpu8d, memory8d, {
      cpu: { usage: undefined, request: 0.5, limit: undefined, samples: sampleSeries(cpu8d) },
      memory: { usage: undefined, request: 400 * MIB, limit: 400 * MIB, samples: sampleSeries(memory8d) },
    })
    const r = recommendVpa(c, { now: NOW })
    expect(r.cpu.limit).toBeUndefined()
    expect(r.memory.limit).toBe(r.memory.request)
  })

  it('widens the bounds with short history: 2 hours far apart, 14 days close', () => {
    const short = estimateVpa(
      sampled(
        series(120, 60, () => 0.5),
        series(120, 60, () => 300 * MIB),
      ),
      { now: NOW },
    )
    expect(short.confidenceDays).toBeCloseTo(119 / 1440, 9)
    expect((short.cpu?.upperBound ?? 0) / (short.cpu?.target ?? 1)).toBeGreaterThan(10)
    expect((short.memory?.upperBound ?? 0) / (short.memory?.target ?? 1)).toBeGreaterThan(10)
    const long = estimateVpa(
      sampled(
        series(336, HOUR, () => 0.5),
        series(336, HOUR, () => 300 * MIB),
      ),
      {
        now: NOW,
        historySeconds: 14 * DAY,
      },
    )
    expect(long.confidenceDays).toBeCloseTo(335 / 24, 9)
    expect((long.cpu?.upperBound ?? 0) / (long.cpu?.target ?? 1)).toBeLessThan(1.08)
    expect((long.cpu?.lowerBound ?? 0) / (long.cpu?.target ?? 1)).toBeGreaterThan(0.99)
    // the recommendation's confidence label follows the history
    const r2h = recommendVpa(
      sampled(
        series(120, 60, () => 0.5),
        series(120, 60, () => 300 * MIB),
      ),
      { now: NOW },
    )
    expect(r2h.confidence).toBe('low')
  })

  it('takes the smaller of the history span and the sample count x step as the confidence', () => {
    // 10 hourly samples a week ago and 10 now: a 7-day span, but 20 hours of samples
    const cpu = [...series(10, HOUR, () => 0.5, NOW_S - 7 * DAY), ...series(10, HOUR, () => 0.5)]
    const e = estimateVpa(sampled(cpu, memory8d), { now: NOW })
    expect(e.confidenceDays).toBeCloseTo(20 / 24, 9)
    // a declared step overrides the median gap between the samples
    expect(
      estimateVpa(sampled(cpu, memory8d), { now: NOW, sampleIntervalSeconds: 60 }).confidenceDays,
    ).toBeCloseTo(20 / 1440, 9)
  })

  it('uses only the last 8 days by default, and nothing after now', () => {
    const old = series(48, HOUR, () => 4.0, NOW_S - 10 * DAY) // 10 days ago, 4 cores
    const future = series(10, HOUR, () => 8.0, NOW_S + 10 * HOUR)
    const e = estimateVpa(sampled([...old, ...cpu8d, ...future], memory8d), { now: NOW })
    expect(e.cpu?.points).toBe(192)
    expect(e.cpu?.percentiles.upperBound).toBe(bucketAbove(cpuBuckets, 0.5))
  })

  it('weighs recent low CPU above older high CPU', () => {
    // 4 days at 2 cores, then 4 days at 200m: equal-weight p90 would be 2 cores; decayed, the older
    // half weighs about 1/16 of the newer, under 10% of the whole but over 5%
    const cpu = series(192, HOUR, (i) => (i < 96 ? 2.0 : 0.2))
    const e = estimateVpa(sampled(cpu, memory8d), { now: NOW })
    expect(e.cpu?.percentiles.target).toBe(bucketAbove(cpuBuckets, 0.2))
    expect(e.cpu?.percentiles.upperBound).toBe(bucketAbove(cpuBuckets, 2.0))
  })

  it('takes one memory peak per 24 h interval, however brief', () => {
    // 300Mi all day but for one hour at 600Mi, early in each interval
    const memory = series(192, HOUR, (i) => (i % 24 === 2 ? 600 * MIB : 300 * MIB))
    const e = estimateVpa(sampled(cpu8d, memory), { now: NOW })
    expect(e.memory?.points).toBe(8)
    expect(e.memory?.percentiles.lowerBound).toBe(bucketAbove(memoryBuckets, 600 * MIB))
    expect(e.memory?.target).toBeCloseTo(bucketAbove(memoryBuckets, 600 * MIB) * 1.15, 3)
  })

  it('puts an OOM kill into the memory peaks as max(memory x 1.2, memory + 100Mi)', () => {
    const c = sampled(cpu8d, memory8d, { oomKills: [{ at: iso(NOW_S - 2 * DAY), memory: 512 * MIB }] })
    const e = estimateVpa(c, { now: NOW })
    expect(e.memory?.percentiles.target).toBe(bucketAbove(memoryBuckets, 512 * MIB * 1.2))
    expect(e.oomKills).toBe(1)
    expect(recommendVpa(c, { now: NOW }).memory.reasons.join(' ')).toMatch(/the peaks include an OOM kill/)
  })

  it('keeps the per-pod minimums (25m, 250Mi), shared among the containers of the pod', () => {
    const tiny = (name: string) =>
      sampled(
        series(192, HOUR, () => 0.001),
        series(192, HOUR, () => 5 * MIB),
        { container: name },
      )
    const one = recommendVpa(tiny('app'), { now: NOW })
    expect(one.cpu.request).toBe(0.025)
    expect(one.memory.request).toBe(250 * MIB)
    expect(one.cpu.reasons.join(' ')).toMatch(/per-pod minimum, 25m/)
    const [app, sidecar] = recommendAll([tiny('app'), tiny('sidecar')], 'vpa', { now: NOW })
    expect(app?.cpu.request).toBe(0.013) // 12.5m rounded up
    expect(app?.memory.request).toBe(125 * MIB)
    expect(sidecar?.memory.request).toBe(125 * MIB)
    const forced = recommend(tiny('app'), 'vpa', { now: NOW, containersPerPod: 5 })
    expect(forced.memory.request).toBe(50 * MIB)
  })
})

describe('guards shared by both strategies', () => {
  it('gives an OOM-killed container at least its OOM memory x 1.2 (512Mi: >= 614.4Mi), both strategies', () => {
    const oomKills = [{ at: iso(NOW_S - 2 * DAY), memory: 512 * MIB }]
    const simple = recommendSimple(container({ oomKills }))
    expect(simple.memory.request).toBeGreaterThanOrEqual(614.4 * MIB)
    expect(simple.memory.request).toBe(640 * MIB) // KRR: x 1.25
    expect(simple.memory.limit).toBe(640 * MIB)
    expect(simple.memory.reasons.join(' ')).toMatch(/OOM-killed once/)
    const memory = series(192, HOUR, () => 300 * MIB)
    const vpa = recommendVpa(
      sampled(
        series(192, HOUR, () => 0.5),
        memory,
        { oomKills },
      ),
      { now: NOW },
    )
    expect(vpa.memory.request).toBeGreaterThanOrEqual(614.4 * MIB)
    expect(vpa.memory.request).toBe(roundMemoryUp(bucketAbove(memoryBuckets, 614.4 * MIB) * 1.15))
    // a small container's bump is at least 100Mi with the VPA's OOMMinBumpUp
    const small = recommendVpa(
      sampled(
        series(192, HOUR, () => 0.5),
        series(192, HOUR, () => 50 * MIB),
        {
          oomKills: [{ at: iso(NOW_S - DAY), memory: 64 * MIB }],
          memory: {
            usage: undefined,
            request: 64 * MIB,
            limit: 64 * MIB,
            samples: sampleSeries(series(192, HOUR, () => 50 * MIB)),
          },
        },
      ),
      { now: NOW, containersPerPod: 10 },
    )
    expect(small.memory.request).toBeGreaterThanOrEqual(164 * MIB)
  })

  it('applies the OOM floor even to a held memory', () => {
    const r = recommendSimple(
      container({
        oomKills: [{ at: iso(NOW_S - DAY), memory: 512 * MIB }],
        history: { from: iso(NOW_S - HOUR), to: iso(NOW_S), samples: 12 },
      }),
    )
    expect(r.cpu).toMatchObject({ request: 0.5, limit: 1 })
    expect(r.memory.request).toBe(640 * MIB)
    expect(r.memory.limit).toBe(640 * MIB)
  })

  it('keeps the CPU request under a CPU HPA, and still recommends memory', () => {
    const hpa = { resources: ['cpu' as const], minReplicas: 2, maxReplicas: 10 }
    for (const strategy of ['simple', 'vpa'] as const) {
      const c = sampled(
        series(192, HOUR, () => 0.1),
        series(192, HOUR, () => 300 * MIB),
        {
          hpa,
          cpu: {
            usage: { p50: 0.1, p95: 0.1, p99: 0.1, max: 0.1 },
            request: 0.5,
            limit: 1,
            samples: sampleSeries(series(192, HOUR, () => 0.1)),
          },
          memory: {
            usage: { p50: 300 * MIB, p95: 300 * MIB, p99: 300 * MIB, max: 300 * MIB },
            request: 512 * MIB,
            limit: 512 * MIB,
            samples: sampleSeries(series(192, HOUR, () => 300 * MIB)),
          },
        },
      )
      const r = recommend(c, strategy, { now: NOW })
      expect(r.cpu).toMatchObject({ request: 0.5, limit: 1 })
      expect(r.cpu.reasons.join(' ')).toMatch(/HorizontalPodAutoscaler scales this workload on CPU/)
      expect(r.memory.request).toBeLessThan(512 * MIB)
      const withoutHpa = recommend({ ...c, hpa: undefined }, strategy, { now: NOW })
      expect(withoutHpa.cpu.request).toBeLessThan(0.5)
    }
  })

  it('never recommends below what was used: memory max, CPU p95', () => {
    // CPU: 1 point in 12 at 1 core (8%), the rest at 100m: p90 100m, p95 1 core
    const cpu = series(192, HOUR, (i) => (i % 12 === 0 ? 1.0 : 0.1))
    const memory = series(192, HOUR, () => 300 * MIB)
    const c = sampled(cpu, memory)
    expect(estimateVpa(c, { now: NOW }).cpu?.target).toBeLessThan(0.2)
    const r = recommendVpa(c, { now: NOW })
    expect(r.cpu.request).toBe(1)
    expect(r.cpu.reasons.join(' ')).toMatch(/never below what it used/)
    // the window's statistics (from Prometheus) count too: a 900Mi peak the samples missed
    const withStats = sampled(cpu, memory, {
      memory: {
        usage: { p50: 300 * MIB, p95: 310 * MIB, p99: 320 * MIB, max: 900 * MIB },
        request: 512 * MIB,
        limit: 512 * MIB,
        samples: sampleSeries(memory),
      },
    })
    const m = recommendVpa(withStats, { now: NOW })
    expect(m.memory.request).toBe(900 * MIB)
    expect(m.memory.limit).toBe(900 * MIB)
    expect(usedFloor(withStats, 'memory')?.value).toBe(900 * MIB)
    expect(usedFloor(c, 'cpu')?.value).toBe(1)
  })

  it('skips a container with no usage at all, changing nothing', () => {
    const base = container()
    const empty = container({
      cpu: { ...base.cpu, usage: undefined },
      memory: { ...base.memory, usage: undefined },
    })
    for (const strategy of ['simple', 'vpa'] as const) {
      const r = recommend(empty, strategy, { now: NOW })
      expect(r.skipped).toMatch(/no CPU or memory usage/)
      expect(r.cpu).toMatchObject({ request: 0.5, limit: 1 })
      expect(r.memory).toMatchObject({ request: 512 * MIB, limit: 512 * MIB })
      expect(r.confidence).toBe('low')
    }
    expect(recommend(container(), 'simple', { now: NOW }).skipped).toBeUndefined()
  })

  it('rejects an unknown strategy', () => {
    expect(() => recommend(container(), 'krr' as 'simple', { now: NOW })).toThrow(
      /unknown recommendation strategy/,
    )
  })
})
