/**
 * What the API server's audit webhook backend POSTs: an audit.k8s.io EventList (v1, or v1beta1 from an
 * older server), read strictly at the top and leniently inside. The list must be an EventList of a known
 * version with `items` a list of objects; an event that lacks fields is still an event (the rules decide
 * what it means), so nothing inside an item is checked.
 */
import type { AuditEvent } from '../types.js'

export const AUDIT_API_VERSIONS = ['audit.k8s.io/v1', 'audit.k8s.io/v1beta1'] as const
export type AuditApiVersion = (typeof AUDIT_API_VERSIONS)[number]

export type ParsedEventList =
  | {
      readonly ok: true
      readonly apiVersion: AuditApiVersion
      readonly events: AuditEvent[]
      /** each event's JSON text exactly as sent, when it could be cut out of the body (it nearly always can) */
      readonly texts: string[] | undefined
    }
  | { readonly ok: false; readonly message: string }

const expected = `expected an EventList of ${AUDIT_API_VERSIONS.join(' or ')}`

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Reads an EventList's JSON text; on failure, a message that says what was expected and what came. */
export function parseEventList(text: string): ParsedEventList {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    return { ok: false, message: `the body is not JSON (${(err as Error).message}): ${expected}` }
  }
  if (!isPlainObject(body)) return { ok: false, message: `the body is ${describe(body)}: ${expected}` }
  if (body.kind !== 'EventList') return { ok: false, message: `kind is ${describe(body.kind)}: ${expected}` }
  const apiVersion = body.apiVersion
  if (!AUDIT_API_VERSIONS.includes(apiVersion as AuditApiVersion))
    return { ok: false, message: `apiVersion is ${describe(apiVersion)}: ${expected}` }
  // Go writes an empty list's nil slice as null.
  const items = body.items ?? []
  if (!Array.isArray(items))
    return { ok: false, message: `items is ${describe(items)}: expected a list of audit Events` }
  for (let i = 0; i < items.length; i++)
    if (!isPlainObject(items[i]))
      return {
        ok: false,
        message: `items[${i}] is ${describe(items[i])}: expected an audit Event (an object)`,
      }
  const texts = itemTexts(text)
  return {
    ok: true,
    apiVersion: apiVersion as AuditApiVersion,
    events: items as AuditEvent[],
    texts: texts?.length === items.length ? texts : undefined,
  }
}

// --- the items' text, cut out of the body -----------------------------------------------------------
// The body has been read by JSON.parse already, so it is valid JSON: finding where each item starts and
// ends needs only strings, brackets and commas. Cheaper than JSON.stringify of every event again, and
// what is stored is what the API server sent.

const QUOTE = 0x22
const BACKSLASH = 0x5c

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i
    i++
  }
}

/** From an opening quote to just after its closing quote: the next quote not escaped (indexOf is fast). */
function skipString(text: string, i: number): number {
  for (let from = i + 1; ; ) {
    const quote = text.indexOf('"', from)
    if (quote < 0) return text.length
    let backslashes = 0
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote + 1
    from = quote + 1
  }
}

/** From the start of a value to just after it. */
function skipValue(text: string, i: number): number {
  const first = text.charCodeAt(i)
  if (first === QUOTE) return skipString(text, i)
  if (first === 0x7b || first === 0x5b) {
    let depth = 0
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === QUOTE) i = skipString(text, i) - 1
      else if (c === 0x7b || c === 0x5b) depth++
      else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) return i + 1
      }
    }
    return text.length
  }
  // a number, true, false, null
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x2c || c === 0x7d || c === 0x5d || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)
      return i
  }
  return i
}

/**
 * The text of each element of the top-level object's `items`, in a body JSON.parse accepted; undefined
 * when it is not that simple (no `items` list, a key spelled with escapes, `items` twice).
 */
export function itemTexts(text: string): string[] | undefined {
  let i = skipSpace(text, 0)
  if (text.charCodeAt(i) !== 0x7b) return undefined
  i = skipSpace(text, i + 1)
  let found: string[] | undefined
  while (text.charCodeAt(i) === QUOTE) {
    const keyEnd = skipString(text, i)
    const key = text.slice(i + 1, keyEnd - 1)
    if (key.includes('\\')) return undefined
    i = skipSpace(text, skipSpace(text, keyEnd) + 1) // past the colon
    if (key === 'items') {
      if (found) return undefined
      if (text.charCodeAt(i) !== 0x5b) return undefined
      found = []
      i = skipSpace(text, i + 1)
      while (i < text.length && text.charCodeAt(i) !== 0x5d) {
        const end = skipValue(text, i)
        found.push(text.slice(i, end))
        i = skipSpace(text, end)
        if (text.charCodeAt(i) === 0x2c) i = skipSpace(text, i + 1)
      }
      i++
    } else i = skipValue(text, i)
    i = skipSpace(text, i)
    if (text.charCodeAt(i) === 0x2c) i = skipSpace(text, i + 1)
  }
  return found
}

/**
 * One line of an audit log file (`--audit-log-path`, JSON format): an audit Event. It must be a JSON
 * object; `kind` and `apiVersion`, when present, must be an audit Event's (the API server's log has
 * them; Falco's 2018 trace files often do not).
 */
export function parseEventLine(
  line: string,
): { ok: true; event: AuditEvent } | { ok: false; message: string } {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (err) {
    return { ok: false, message: `not JSON (${(err as Error).message})` }
  }
  if (!isPlainObject(value)) return { ok: false, message: `${describe(value)}, not an audit Event` }
  if (value.kind !== undefined && value.kind !== 'Event')
    return { ok: false, message: `kind is ${describe(value.kind)}: expected an audit Event` }
  if (value.apiVersion !== undefined && !AUDIT_API_VERSIONS.includes(value.apiVersion as AuditApiVersion))
    return {
      ok: false,
      message: `apiVersion is ${describe(value.apiVersion)}: expected ${AUDIT_API_VERSIONS.join(' or ')}`,
    }
  return { ok: true, event: value as AuditEvent }
}
