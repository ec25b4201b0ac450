/**
 * The human report of `plimsoll usage`: per container what it asks for now and what is recommended,
 * what it used, how sure the recommendation is, and what it costs and would save a month; then the
 * totals per namespace and team (cost, share of the idle cost, waste, savings); then the bin-packing
 * view of the nodes (allocatable vs requested vs used, and the idle capacity). Colour only when asked
 * (the CLI asks on a terminal).
 */
import { createColors } from 'picocolors'
import { UNALLOCATED } from '../cost/allocate.js'
import { formatMoney, monthly } from '../cost/money.js'
import type { NodeUsage } from '../types.js'
import { type ContainerRow, changeOf, containerRows, same, type UsageAnalysis } from './analysis.js'
import { humanCpu, humanMemory, percent } from './units.js'

export interface TableOptions {
  readonly color: boolean
}

type Colors = ReturnType<typeof createColors>

/** Columns padded to their widest cell (measured without colour codes); the last one is not padded. */
function columns(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  c: Colors,
  right: ReadonlySet<number> = new Set(),
): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes are measured out
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ''))))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - visible(cell)))
        if (right.has(i)) return pad + cell
        return i === cells.length - 1 ? cell : cell + pad
      })
      .join('  ')
      .trimEnd()
  return [c.bold(line(header)), ...rows.map(line)]
}

/** `now -> recommended`, or `now` alone when it does not change. */
function transition(
  now: number | undefined,
  next: number | undefined,
  fmt: (v: number | undefined) => string,
  c: Colors,
): string {
  if (same(now, next)) return fmt(now)
  const up = (next ?? 0) > (now ?? 0)
  const target = next === undefined ? 'none' : fmt(next)
  return `${now === undefined ? 'none' : fmt(now)} -> ${up ? c.yellow(target) : c.green(target)}`
}

function confidence(row: ContainerRow, c: Colors): string {
  if (row.recommendation.skipped !== undefined) return c.dim('skipped')
  const v = row.recommendation.confidence
  return v === 'high' ? c.green(v) : v === 'medium' ? v : c.yellow(v)
}

function workloadName(row: ContainerRow): string {
  return `${row.usage.workload.kind}/${row.usage.workload.name}`
}

function money(amount: number, c: Colors, signed = false): string {
  const text = formatMoney(amount)
  if (!signed || Math.abs(amount) < 0.005) return text
  return amount > 0 ? c.green(text) : c.red(text)
}

function containerTable(rows: readonly ContainerRow[], c: Colors): string[] {
  const body = rows.map((row) => {
    const u = row.usage
    const r = row.recommendation
    const cpuLimit = changeOf(row, 'cpu').removeLimit
      ? `${humanCpu(u.cpu.limit)} -> ${c.green('none')}`
      : null
    return [
      u.workload.namespace,
      workloadName(row),
      u.container,
      transition(u.cpu.request, r.cpu.request, humanCpu, c),
      cpuLimit ?? transition(u.cpu.limit, r.cpu.limit, humanCpu, c),
      transition(u.memory.request, r.memory.request, humanMemory, c),
      transition(u.memory.limit, r.memory.limit, humanMemory, c),
      `${humanCpu(u.cpu.usage?.p95)}/${humanCpu(u.cpu.usage?.max)}`,
      `${humanMemory(u.memory.usage?.p95)}/${humanMemory(u.memory.usage?.max)}`,
      u.oomKills.length > 0 ? c.red(String(u.oomKills.length)) : '0',
      confidence(row, c),
      money(row.monthly.cost, c),
      row.waste ? money(row.monthly.savings, c, true) : '-',
    ]
  })
  return columns(
    [
      'NAMESPACE',
      'WORKLOAD',
      'CONTAINER',
      'CPU REQUEST',
      'CPU LIMIT',
      'MEMORY REQUEST',
      'MEMORY LIMIT',
      'CPU P95/MAX',
      'MEMORY P95/MAX',
      'OOM',
      'CONFIDENCE',
      'COST/MONTH',
      'SAVINGS/MONTH',
    ],
    body,
    c,
    new Set([11, 12]),
  )
}

function groupTables(a: UsageAnalysis, c: Colors): string[] {
  const h = a.windowHours
  const m = (x: number) => monthly(x, h)
  const row = (
    name: string,
    g: { containers: number; cost: { total: number }; sharedIdle?: { total: number } | undefined },
    w: { wasteMonthly: { total: number }; savingsMonthly: { total: number } } | undefined,
  ) => [
    name,
    String(g.containers),
    formatMoney(m(g.cost.total)),
    formatMoney(m(g.sharedIdle?.total ?? 0)),
    formatMoney(w?.wasteMonthly.total ?? 0),
    money(w?.savingsMonthly.total ?? 0, c, true),
  ]
  const table = (first: string, rows: string[][]) =>
    columns(
      [first, 'CONTAINERS', 'COST/MONTH', 'IDLE SHARE', 'WASTE/MONTH', 'SAVINGS/MONTH'],
      rows,
      c,
      new Set([1, 2, 3, 4, 5]),
    )
  const out: string[] = []
  const wasteNs = new Map(a.waste.namespaces.map((w) => [w.key, w]))
  out.push(
    ...table(
      'NAMESPACE',
      a.cost.namespaces.map((n) => row(n.namespace, n, wasteNs.get(n.key))),
    ),
  )
  out.push('')
  const wasteTeams = new Map(a.waste.teams.map((w) => [w.team, w]))
  out.push(
    ...table(
      'TEAM',
      a.cost.teams.map((t) =>
        row(t.team === UNALLOCATED ? `${t.team} (no team label)` : t.team, t, wasteTeams.get(t.team)),
      ),
    ),
  )
  return out
}

function sumNodes(nodes: readonly NodeUsage[]) {
  const z = () => ({ cpu: 0, memory: 0 })
  const t = { allocatable: z(), requested: z(), used: z() }
  for (const n of nodes)
    for (const k of ['allocatable', 'requested', 'used'] as const) {
      t[k].cpu += n[k].cpu
      t[k].memory += n[k].memory
    }
  return t
}

function nodeTable(a: UsageAnalysis, c: Colors): string[] {
  const nodes = [...a.report.nodes].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
  if (nodes.length === 0) return ['No nodes were read: no bin-packing view and no idle cost.']
  const cell = (used: number, alloc: number, fmt: (v: number) => string) =>
    `${fmt(used)} (${percent(used, alloc)})`
  const row = (name: string, type: string, n: ReturnType<typeof sumNodes>) => [
    name,
    type,
    humanCpu(n.allocatable.cpu),
    cell(n.requested.cpu, n.allocatable.cpu, humanCpu),
    cell(n.used.cpu, n.allocatable.cpu, humanCpu),
    humanMemory(n.allocatable.memory),
    cell(n.requested.memory, n.allocatable.memory, humanMemory),
    cell(n.used.memory, n.allocatable.memory, humanMemory),
  ]
  const total = sumNodes(nodes)
  const rows = nodes.map((n) =>
    row(n.name, [n.instanceType, n.capacityType].filter(Boolean).join(' ') || '-', sumNodes([n])),
  )
  rows.push(row(c.bold('TOTAL'), `${nodes.length} node${nodes.length === 1 ? '' : 's'}`, total))
  const out = columns(
    [
      'NODE',
      'TYPE',
      'CPU ALLOCATABLE',
      'CPU REQUESTED',
      'CPU USED',
      'MEMORY ALLOCATABLE',
      'MEMORY REQUESTED',
      'MEMORY USED',
    ],
    rows,
    c,
  )
  const free = (k: 'cpu' | 'memory') => Math.max(0, total.allocatable[k] - total.requested[k])
  const unused = (k: 'cpu' | 'memory') => Math.max(0, total.requested[k] - total.used[k])
  out.push(
    `Idle capacity: CPU ${humanCpu(free('cpu'))} not requested (${percent(free('cpu'), total.allocatable.cpu)}) and ${humanCpu(unused('cpu'))} requested but not used (${percent(unused('cpu'), total.allocatable.cpu)}); memory ${humanMemory(free('memory'))} not requested (${percent(free('memory'), total.allocatable.memory)}) and ${humanMemory(unused('memory'))} requested but not used (${percent(unused('memory'), total.allocatable.memory)}).`,
  )
  return out
}

function costLine(a: UsageAnalysis): string {
  const h = a.windowHours
  const t = a.cost.total
  const nodeCost = monthly(t.nodeCost.total, h)
  const parts = [`workloads ${formatMoney(monthly(t.workloadCost.total, h))}`]
  if (a.report.nodes.length > 0) {
    parts.unshift(`nodes ${formatMoney(nodeCost)}`)
    parts.push(`idle ${formatMoney(monthly(t.idle.total, h))} (${percent(t.idle.total, t.nodeCost.total)})`)
  }
  parts.push(
    `waste ${formatMoney(a.waste.total.wasteMonthly.total)}`,
    `savings if applied ${formatMoney(a.waste.total.savingsMonthly.total)}`,
  )
  return `Cost per month (${a.cost.currency}, OpenCost's model, 730 hours): ${parts.join(', ')}.`
}

function days(hours: number): string {
  const d = hours / 24
  return d >= 2 ? `${Number(d.toFixed(1))} days` : `${Number(hours.toFixed(1))} hours`
}

export function renderTable(a: UsageAnalysis, options: TableOptions): string {
  const c = createColors(options.color)
  const rows = containerRows(a)
  const out: string[] = []
  out.push(
    c.bold(
      `Cluster ${a.report.cluster}: ${rows.length} container${rows.length === 1 ? '' : 's'}, ${a.report.nodes.length} node${a.report.nodes.length === 1 ? '' : 's'}, ${days(a.windowHours)} from ${a.report.from} to ${a.report.to}; strategy ${a.strategy}`,
    ),
  )
  out.push('')
  if (rows.length > 0) out.push(...containerTable(rows, c))
  else out.push('No containers.')
  out.push('')
  out.push(...groupTables(a, c))
  out.push('')
  out.push(...nodeTable(a, c))
  out.push('')
  out.push(costLine(a))
  const skipped = rows.filter((r) => r.recommendation.skipped !== undefined).length
  if (skipped > 0)
    out.push(
      `${skipped} container${skipped === 1 ? '' : 's'} skipped: no CPU or memory usage series in the window.`,
    )
  if (a.report.gaps.length > 0) {
    out.push('')
    out.push(
      c.yellow(
        c.bold(
          `PARTIAL: ${a.report.gaps.length} gap${a.report.gaps.length === 1 ? '' : 's'} in what was read:`,
        ),
      ),
    )
    for (const g of a.report.gaps) out.push(c.yellow(`  ${g.what}: ${g.message}`))
  }
  return `${out.join('\n')}\n`
}
