/**
 * The `simple` strategy: KRR's, from the window's statistics that Prometheus computed (UsageStats).
 *
 * Facts used (robusta-dev/krr at commit d6baa7453eff):
 * - robusta_krr/strategies/simple.py, SimpleStrategySettings: cpu_percentile 95 (the CPU request is
 *   that percentile of the usage rate, computed per pod by `quantile_over_time` in Prometheus, the
 *   largest over the pods; limit unset), memory_buffer_percentage 15 (memory request = limit = the peak
 *   working set + 15%), points_required 100 (fewer samples: no recommendation, "Not enough data"),
 *   allow_hpa false (a resource an HPA scales on gets none, "HPA detected"), use_oomkill_data (off by
 *   default, "experimental") with oom_memory_buffer_percentage 25: memory = max(peak x 1.15, the
 *   largest memory limit an OOM kill hit x 1.25).
 * - robusta_krr/core/runner.py, _round_value: CPU rounded up to whole millicores, memory up to whole
 *   MiB, then at least cpu_min_value 10 (millicores) and memory_min_value 100 (MiB, 1024^2 bytes)
 *   (robusta_krr/core/models/config.py).
 * Where Plimsoll differs: the OOM bump is always on (issue 15: both strategies OOM-aware); a held
 * resource keeps its current request and limit instead of showing "?"; the guards (guards.ts) apply.
 */
import type { ContainerUsage, Recommendation, UsageStats } from '../types.js'
import {
  confidenceOf,
  finish,
  formatCpu,
  formatMemory,
  type LimitRule,
  MIB,
  noUsageReason,
  type OomRule,
  type Proposal,
  skipped,
} from './guards.js'

export interface SimpleOptions {
  /** the CPU request is this percentile of the usage rate (KRR's cpu_percentile, 95) */
  readonly cpuPercentile: 95 | 99
  /** memory request = limit = peak + this % (KRR's memory_buffer_percentage, 15) */
  readonly memoryBufferPct: number
  /** fewer usage samples than this: no recommendation (KRR's points_required, 100) */
  readonly minSamples: number
  /** an OOM-killed container gets at least its OOM memory + this % (KRR's oom_memory_buffer_percentage, 25) */
  readonly oomBufferPct: number
  /** the smallest CPU request recommended, cores (KRR's cpu_min_value, 10m) */
  readonly minCpuCores: number
  /** the smallest memory recommended, bytes (KRR's memory_min_value, 100 MiB) */
  readonly minMemoryBytes: number
}

export const SIMPLE_DEFAULTS: SimpleOptions = {
  cpuPercentile: 95,
  memoryBufferPct: 15,
  minSamples: 100,
  oomBufferPct: 25,
  minCpuCores: 0.01,
  minMemoryBytes: 100 * MIB,
}

const noCpuLimit: LimitRule = () => ({
  limit: undefined,
  reason: 'no CPU limit (KRR simple: a limit only throttles; the request already reserves the share)',
})
const memoryLimitIsRequest: LimitRule = (request) => ({
  limit: request,
  reason: 'memory limit = request (KRR simple): the container never counts on memory it was not given',
})

/** KRR simple's recommendation for one container, from its window statistics. */
export function recommendSimple(c: ContainerUsage, options: Partial<SimpleOptions> = {}): Recommendation {
  const o: SimpleOptions = { ...SIMPLE_DEFAULTS, ...options }
  const none = noUsageReason(c)
  if (none !== undefined) return skipped(c, 'simple', none)
  const oom: OomRule = {
    ratio: 1 + o.oomBufferPct / 100,
    minBumpBytes: 0,
    source: `KRR simple's oom_memory_buffer_percentage, ${o.oomBufferPct}%`,
  }
  const tooFew =
    c.history.samples < o.minSamples
      ? `only ${c.history.samples} usage samples, fewer than ${o.minSamples} (KRR's points_required)`
      : undefined

  const cpu = cpuProposal(c.cpu.usage, tooFew, o)
  const memory = memoryProposal(c.memory.usage, tooFew, o)
  return {
    workload: c.workload,
    container: c.container,
    strategy: 'simple',
    cpu: finish(c, 'cpu', cpu, noCpuLimit, oom),
    memory: finish(c, 'memory', memory, memoryLimitIsRequest, oom),
    confidence: confidenceOf(c.history),
  }
}

function cpuProposal(usage: UsageStats | undefined, tooFew: string | undefined, o: SimpleOptions): Proposal {
  if (usage === undefined) return { hold: 'no CPU usage series in the window' }
  if (tooFew !== undefined) return { hold: tooFew }
  const p = o.cpuPercentile === 99 ? usage.p99 : usage.p95
  if (!Number.isFinite(p)) return { hold: `the p${o.cpuPercentile} CPU usage is not a number` }
  const reasons = [`request at the p${o.cpuPercentile} CPU usage, ${formatCpu(p)} (KRR simple)`]
  if (p < o.minCpuCores)
    reasons.push(`raised to the smallest CPU request, ${formatCpu(o.minCpuCores)} (KRR's cpu_min_value)`)
  return { request: Math.max(p, o.minCpuCores), reasons }
}

function memoryProposal(
  usage: UsageStats | undefined,
  tooFew: string | undefined,
  o: SimpleOptions,
): Proposal {
  if (usage === undefined) return { hold: 'no memory usage series in the window' }
  if (tooFew !== undefined) return { hold: tooFew }
  if (!Number.isFinite(usage.max)) return { hold: 'the peak memory usage is not a number' }
  const buffered = usage.max * (1 + o.memoryBufferPct / 100)
  const reasons = [
    `request at the peak working set ${formatMemory(usage.max)} + ${o.memoryBufferPct}% = ${formatMemory(buffered)} (KRR simple)`,
  ]
  if (buffered < o.minMemoryBytes) {
    reasons.push(
      `raised to the smallest memory request, ${formatMemory(o.minMemoryBytes)} (KRR's memory_min_value)`,
    )
  }
  return { request: Math.max(buffered, o.minMemoryBytes), reasons }
}
