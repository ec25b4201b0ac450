/**
 * One row per container, with the table's columns as numbers a spreadsheet can sum (RFC 4180: CRLF
 * line ends, a field with a comma, a quote or a line break in quotes, quotes doubled). CPU in cores,
 * memory in bytes, money rounded to the cent per month; an empty field is a figure that does not exist
 * (no request, no limit, no usage series, no recommendation).
 */
import { roundMoney } from '../cost/money.js'
import { type ContainerRow, containerRows, type UsageAnalysis } from './analysis.js'

export const CSV_COLUMNS = [
  'cluster',
  'namespace',
  'kind',
  'workload',
  'container',
  'team',
  'pods',
  'cpu_request_cores',
  'cpu_request_recommended_cores',
  'cpu_limit_cores',
  'cpu_limit_recommended_cores',
  'memory_request_bytes',
  'memory_request_recommended_bytes',
  'memory_limit_bytes',
  'memory_limit_recommended_bytes',
  'cpu_p50_cores',
  'cpu_p95_cores',
  'cpu_p99_cores',
  'cpu_max_cores',
  'memory_p50_bytes',
  'memory_p95_bytes',
  'memory_p99_bytes',
  'memory_max_bytes',
  'restarts',
  'oom_kills',
  'strategy',
  'confidence',
  'skipped',
  'cost_monthly',
  'waste_monthly',
  'savings_monthly',
  'currency',
] as const

/** A field as RFC 4180 writes it. */
export function csvField(value: string | number | undefined): string {
  if (value === undefined) return ''
  const s = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

function cells(row: ContainerRow, currency: string): Array<string | number | undefined> {
  const u = row.usage
  const r = row.recommendation
  const skipped = r.skipped !== undefined
  return [
    u.workload.cluster,
    u.workload.namespace,
    u.workload.kind,
    u.workload.name,
    u.container,
    u.team,
    u.pods,
    u.cpu.request,
    skipped ? undefined : r.cpu.request,
    u.cpu.limit,
    skipped ? undefined : r.cpu.limit,
    u.memory.request,
    skipped ? undefined : r.memory.request,
    u.memory.limit,
    skipped ? undefined : r.memory.limit,
    u.cpu.usage?.p50,
    u.cpu.usage?.p95,
    u.cpu.usage?.p99,
    u.cpu.usage?.max,
    u.memory.usage?.p50,
    u.memory.usage?.p95,
    u.memory.usage?.p99,
    u.memory.usage?.max,
    u.restarts,
    u.oomKills.length,
    r.strategy,
    skipped ? undefined : r.confidence,
    r.skipped,
    roundMoney(row.monthly.cost),
    row.waste ? roundMoney(row.monthly.waste) : undefined,
    row.waste ? roundMoney(row.monthly.savings) : undefined,
    currency,
  ]
}

export function renderCsv(a: UsageAnalysis): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const row of containerRows(a)) lines.push(cells(row, a.cost.currency).map(csvField).join(','))
  return `${lines.join('\r\n')}\r\n`
}
