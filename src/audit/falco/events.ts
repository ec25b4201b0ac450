/**
 * Audit payloads to events, as the k8saudit plugin reads them: a JSON value that is an `Event`, an
 * `EventList` (its items), or an array of those; a file holds one such value per line (JSONL). What is
 * none of these is "data not recognized as a k8s audit event" (the plugin's words), and an event
 * without a parseable stageTimestamp is refused, as the plugin does.
 */
import type { AuditEvent } from '../types.js'
import { timeToNs } from './fields.js'

export interface PayloadError {
  /** 1-based line of a JSONL text; 0 for a single payload */
  readonly line: number
  readonly message: string
}

export interface ParsedPayload {
  readonly events: AuditEvent[]
  readonly errors: PayloadError[]
}

function collect(value: unknown, events: AuditEvent[]): string | undefined {
  if (Array.isArray(value)) {
    for (const v of value) {
      const err = collect(v, events)
      if (err !== undefined) return err
    }
    return undefined
  }
  if (value !== null && typeof value === 'object') {
    const kind = (value as Record<string, unknown>).kind
    if (kind === 'EventList') {
      const items = (value as Record<string, unknown>).items
      if (Array.isArray(items)) {
        for (const item of items) {
          const err = single(item, events)
          if (err !== undefined) return err
        }
        return undefined
      }
    } else if (kind === 'Event') return single(value, events)
  }
  return 'data not recognized as a k8s audit event'
}

function single(value: unknown, events: AuditEvent[]): string | undefined {
  const ts = (value as Record<string, unknown> | null)?.stageTimestamp
  if (ts === undefined) return "can't read stageTimestamp"
  if (timeToNs(ts) === undefined) return `can't parse stageTimestamp ${JSON.stringify(ts)}`
  events.push(value as AuditEvent)
  return undefined
}

/** One payload (a webhook body). */
export function parseAuditPayload(text: string): ParsedPayload {
  const events: AuditEvent[] = []
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return { events, errors: [{ line: 0, message: (e as Error).message }] }
  }
  const err = collect(value, events)
  return { events, errors: err === undefined ? [] : [{ line: 0, message: err }] }
}

/** A JSONL text (an audit log file, Falco's trace files): one payload per non-empty line. */
export function parseAuditLines(text: string): ParsedPayload {
  const events: AuditEvent[] = []
  const errors: PayloadError[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '') return
    const r = parseAuditPayload(line)
    events.push(...r.events)
    for (const e of r.errors) errors.push({ line: i + 1, message: e.message })
  })
  return { events, errors }
}
