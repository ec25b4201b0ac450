/**
 * What a mutation changed, as RFC 6902 operations that turn `before` into `after` when applied in order:
 * maps key by key; lists of named items (containers, volumes, env...) item by item by name, so that a
 * container added in front is one `add` and not a rewrite of every container after it; other lists by
 * their common head and tail, and replaced whole when they changed in several places at once.
 */
import { isJsonMap } from './json-map.js'
import { escapeJsonPointer, type JsonPatchOperation, jsonEqual } from './json-patch.js'

export function diffJson(before: unknown, after: unknown, path = ''): JsonPatchOperation[] {
  const out: JsonPatchOperation[] = []
  diff(before, after, path, out)
  return out
}

function diff(before: unknown, after: unknown, path: string, out: JsonPatchOperation[]): void {
  if (jsonEqual(before, after)) return
  if (isJsonMap(before) && isJsonMap(after)) {
    for (const key of Object.keys(before))
      if (!(key in after)) out.push({ op: 'remove', path: `${path}/${escapeJsonPointer(key)}` })
    for (const [key, value] of Object.entries(after)) {
      const at = `${path}/${escapeJsonPointer(key)}`
      if (key in before) diff(before[key], value, at, out)
      else out.push({ op: 'add', path: at, value })
    }
    return
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    if (diffNamed(before, after, path, out) || diffEnds(before, after, path, out)) return
  }
  out.push({ op: 'replace', path, value: after })
}

/** The items' names, when every item is a map with a distinct string `name`. */
function names(list: readonly unknown[]): string[] | undefined {
  const out: string[] = []
  for (const item of list) {
    if (!isJsonMap(item) || typeof item.name !== 'string') return undefined
    out.push(item.name)
  }
  return new Set(out).size === out.length ? out : undefined
}

/**
 * Named items: those that went removed (last first), then, position by position in `after`, new items
 * added and kept ones diffed. Kept items must keep their order, else the caller replaces the list.
 */
function diffNamed(before: unknown[], after: unknown[], path: string, out: JsonPatchOperation[]): boolean {
  const was = names(before)
  const now = names(after)
  if (!was || !now || (before.length === 0 && after.length === 0)) return false
  const nowSet = new Set(now)
  const kept = was.filter((n) => nowSet.has(n))
  const keptSet = new Set(kept)
  if (kept.join('\u0000') !== now.filter((n) => keptSet.has(n)).join('\u0000')) return false
  for (let i = was.length - 1; i >= 0; i--)
    if (!nowSet.has(was[i]!)) out.push({ op: 'remove', path: `${path}/${i}` })
  const index = new Map(was.map((n, i) => [n, i]))
  now.forEach((name, i) => {
    const from = index.get(name)
    if (from === undefined) out.push({ op: 'add', path: `${path}/${i}`, value: after[i] })
    else diff(before[from], after[i], `${path}/${i}`, out)
  })
  return true
}

/** Other lists: what lies between their common head and tail, when one side of it is empty or both are as long. */
function diffEnds(before: unknown[], after: unknown[], path: string, out: JsonPatchOperation[]): boolean {
  let head = 0
  while (head < before.length && head < after.length && jsonEqual(before[head], after[head])) head++
  let tail = 0
  while (
    tail < before.length - head &&
    tail < after.length - head &&
    jsonEqual(before[before.length - 1 - tail], after[after.length - 1 - tail])
  )
    tail++
  const removed = before.length - head - tail
  const added = after.length - head - tail
  if (added === 0)
    for (let i = head + removed - 1; i >= head; i--) out.push({ op: 'remove', path: `${path}/${i}` })
  else if (removed === 0)
    for (let i = head; i < head + added; i++) out.push({ op: 'add', path: `${path}/${i}`, value: after[i] })
  else if (removed === added)
    for (let i = head; i < head + added; i++) diff(before[i], after[i], `${path}/${i}`, out)
  else return false
  return true
}
