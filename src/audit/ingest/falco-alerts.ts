/**
 * Falco's runtime detections as Falco sends them (`json_output: true` with `http_output`, and
 * falcosidekick's webhook output, which forwards the same object): each becomes a Detection from source
 * `falco-runtime`, so that a shell in a container and an exec through the API server are grouped,
 * silenced and sent by the same alerts. A body holds one alert, an array of them, or one a line.
 */
import { type Detection, PRIORITIES, type Priority } from '../types.js'

export interface FalcoAlerts {
  detections: Detection[]
  /** what could not be read, each with where (`line 3`, `item 2`) */
  errors: string[]
}

/** Falco's output fields that become labels, by the label's name. */
const LABEL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  namespace: ['k8s.ns.name', 'ka.target.namespace'],
  name: ['k8s.pod.name', 'ka.target.name'],
  container: ['container.name'],
  image: ['container.image.repository'],
  user: ['user.name', 'ka.user.name'],
  process: ['proc.name'],
}

/** `Warning` -> warning; Falco also writes `Info` for informational. */
function priorityOf(value: unknown): Priority | undefined {
  if (typeof value !== 'string') return undefined
  const p = value.toLowerCase()
  if (p === 'info') return 'informational'
  return (PRIORITIES as readonly string[]).includes(p) ? (p as Priority) : undefined
}

/** Falco's times have nanoseconds; JavaScript's have milliseconds. */
function isoOf(value: unknown, now: () => number): string {
  if (typeof value === 'string') {
    const trimmed = value.replace(/(\.\d{3})\d+/, '$1')
    const ms = Date.parse(trimmed)
    if (!Number.isNaN(ms)) return new Date(ms).toISOString()
  }
  return new Date(now()).toISOString()
}

function detectionOf(
  alert: Record<string, unknown>,
  where: string,
  options: { cluster?: string; now: () => number },
): Detection | string {
  const rule = alert.rule
  const priority = priorityOf(alert.priority)
  if (typeof rule !== 'string' || rule === '') return `${where}: expected a Falco alert with a 'rule'`
  if (!priority)
    return `${where}: 'priority' ${JSON.stringify(alert.priority)}: expected one of Falco's priorities (${PRIORITIES.join(', ')})`
  const fields =
    typeof alert.output_fields === 'object' && alert.output_fields !== null
      ? (alert.output_fields as Record<string, unknown>)
      : {}
  const labels: Record<string, string> = { rule, priority, source: 'falco-runtime' }
  for (const [label, names] of Object.entries(LABEL_FIELDS))
    for (const name of names) {
      const v = fields[name]
      if ((typeof v === 'string' && v !== '' && v !== '<NA>') || typeof v === 'number') {
        labels[label] = String(v)
        break
      }
    }
  if (typeof alert.hostname === 'string' && alert.hostname) labels.hostname = alert.hostname
  if (typeof alert.source === 'string' && alert.source) labels.falco_source = alert.source
  if (options.cluster) labels.cluster = options.cluster
  return {
    rule,
    source: 'falco-runtime',
    priority,
    output: typeof alert.output === 'string' ? alert.output : rule,
    time: isoOf(alert.time, options.now),
    labels,
    tags: Array.isArray(alert.tags) ? alert.tags.filter((t): t is string => typeof t === 'string') : [],
  }
}

export function parseFalcoAlerts(
  text: string,
  options: { cluster?: string; now?: () => number } = {},
): FalcoAlerts {
  const opts = { now: options.now ?? Date.now, ...(options.cluster ? { cluster: options.cluster } : {}) }
  const out: FalcoAlerts = { detections: [], errors: [] }
  const take = (value: unknown, where: string) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      out.errors.push(`${where}: expected a Falco alert (a JSON object)`)
      return
    }
    const d = detectionOf(value as Record<string, unknown>, where, opts)
    if (typeof d === 'string') out.errors.push(d)
    else out.detections.push(d)
  }
  const trimmed = text.trim()
  try {
    const whole = JSON.parse(trimmed) as unknown
    if (Array.isArray(whole)) for (const [i, item] of whole.entries()) take(item, `item ${i + 1}`)
    else take(whole, 'the body')
    return out
  } catch {
    // not one JSON document: one alert a line
  }
  trimmed.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    try {
      take(JSON.parse(line), `line ${i + 1}`)
    } catch (err) {
      out.errors.push(`line ${i + 1}: not JSON (${(err as Error).message})`)
    }
  })
  return out
}
