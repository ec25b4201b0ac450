/**
 * Kyverno's anchors in a patchStrategicMerge overlay, resolved against the resource before the merge
 * (pkg/engine/mutate/patch/strategicPreprocessing.go):
 * - `+(key)`: added only when the resource has no such field (the field is dropped from the patch
 *   otherwise);
 * - `(key): pattern`: a condition on the resource's field, checked as a validate pattern (so `X()`, `=()`,
 *   `^()`, wildcards and operators work inside it); a map whose condition fails is not patched. In a list
 *   of maps, the item is applied to each resource item its conditions hold for, named after it (`name`),
 *   which is how `- (name): "*"` patches every container;
 * - `<(key): pattern`: a global condition: when it fails the whole patch is dropped; in a list, it holds
 *   when it holds for any item.
 * The anchors are then removed, and with them the fields left with nothing but anchors. A failed
 * condition leaves an empty patch (the rule then changes nothing). The steps, their order and their quirks
 * (the same item copy reused across resource items, list items deleted by their original index) follow
 * Kyverno's, since policies are written against them.
 */
import { isJsonMap, type JsonMap } from '../../json-map.js'
import { type Anchor, parseAnchor } from '../anchors.js'
import { matchPattern } from '../pattern.js'

type Condition = 'condition' | 'global'

/**
 * A conditional or global anchor that did not hold (the rule patches nothing). Not an Error: it is thrown
 * for every resource item a condition rejects and always caught, and an Error's stack trace made it most of
 * a scan's mutation time.
 */
export class ConditionFailed {
  constructor(
    readonly kind: Condition,
    readonly message: string,
  ) {}
}

export class OverlayError extends Error {
  override name = 'OverlayError'
}

const anchorOf = (key: string): Anchor | undefined => parseAnchor(key.trim())
const isCondition = (a: Anchor | undefined) => a?.kind === 'conditional' || a?.kind === 'global'
/** The anchors the overlay steps act on (the others are left in the patch as they are). */
const isOverlayAnchor = (a: Anchor | undefined) => isCondition(a) || a?.kind === 'addIfNotPresent'

/** A map's keys in place, renaming one without moving it (kyaml renames the key node). */
function renameKey(map: JsonMap, from: string, to: string): void {
  const entries = Object.entries(map).map(([k, v]): [string, unknown] => [k === from ? to : k, v])
  for (const k of Object.keys(map)) delete map[k]
  for (const [k, v] of entries) map[k] = v
}

function fieldOf(resource: unknown, key: string): { present: boolean; value: unknown } {
  if (!isJsonMap(resource) || !Object.hasOwn(resource, key)) return { present: false, value: undefined }
  return { present: true, value: resource[key] }
}

/** `+(key)`: kept (unanchored) when the resource lacks the field, dropped when it has it. */
function addIfNotPresent(pattern: unknown, resource: unknown): number {
  if (!isJsonMap(pattern)) return 0
  let count = 0
  for (const key of Object.keys(pattern)) {
    const anchor = anchorOf(key)
    if (anchor?.kind !== 'addIfNotPresent') continue
    count++
    if (fieldOf(resource, anchor.key).present) delete pattern[key]
    else renameKey(pattern, key, anchor.key)
  }
  return count
}

/** Kyverno compares a scalar condition by its YAML text: `(replicas): 3` matches `3`. */
function asConditionValue(v: unknown): unknown {
  if (v === null || v === undefined) return 'null'
  return typeof v === 'object' ? v : String(v)
}

function checkConditions(pattern: JsonMap, resource: unknown, kind: Condition): void {
  for (const key of Object.keys(pattern)) {
    const anchor = anchorOf(key)
    if (!anchor || (kind === 'global' ? anchor.kind !== 'global' : anchor.kind !== 'conditional')) continue
    const field = fieldOf(resource, anchor.key)
    if (!field.present) throw new ConditionFailed(kind, `could not found "${anchor.key}" key in the resource`)
    const value = pattern[key]
    if (addIfNotPresent(value, field.value) > 0) continue
    const r = matchPattern(asConditionValue(field.value), asConditionValue(value))
    if (r.status !== 'pass') throw new ConditionFailed(kind, `${key}: ${r.reason}`)
  }
}

function walk(pattern: unknown, resource: unknown): void {
  if (isJsonMap(pattern)) walkMap(pattern, resource)
  else if (Array.isArray(pattern) && isJsonMap(pattern[0])) walkListOfMaps(pattern, resource)
}

function walkMap(pattern: JsonMap, resource: unknown): void {
  addIfNotPresent(pattern, resource)
  checkConditions(pattern, resource, 'global')
  checkConditions(pattern, resource, 'condition')
  for (const key of Object.keys(pattern)) {
    if (isOverlayAnchor(anchorOf(key))) continue
    walk(pattern[key], fieldOf(resource, key).value)
  }
}

/** Whether a pattern holds an anchor `test` accepts at any depth (a scalar value spelling one counts). */
function hasAnchors(pattern: unknown, test: (a: Anchor | undefined) => boolean): boolean {
  if (typeof pattern === 'string') return isCondition(anchorOf(pattern))
  if (Array.isArray(pattern)) return pattern.some((x) => hasAnchors(x, test))
  if (!isJsonMap(pattern)) return false
  return Object.entries(pattern).some(
    ([k, v]) => test(anchorOf(k)) || (v !== null && v !== undefined && hasAnchors(v, test)),
  )
}

function walkListOfMaps(pattern: unknown[], resource: unknown): void {
  if (resource !== undefined && resource !== null && !Array.isArray(resource))
    throw new OverlayError(`expected a list in the resource, found ${JSON.stringify(resource)}`)
  const items = (resource ?? []) as unknown[]
  for (const element of [...pattern]) {
    if (!hasAnchors(element, isOverlayAnchor)) continue
    const global = hasAnchors(element, (a) => a?.kind === 'global')
    let globalPassed = false
    let lastGlobalFailure: ConditionFailed | undefined
    const copy = structuredClone(element)
    for (const item of items) {
      try {
        walk(copy, item)
      } catch (err) {
        if (!(err instanceof ConditionFailed)) throw err
        if (err.kind === 'global') lastGlobalFailure = err
        continue
      }
      if (global) globalPassed = true
      else appendNamedItem(pattern, copy, item)
    }
    if (resource === undefined) {
      try {
        walk(copy, undefined)
        if (global) globalPassed = true
      } catch (err) {
        if (!(err instanceof ConditionFailed) || err.kind === 'global') throw err
      }
    }
    if (!globalPassed && lastGlobalFailure) throw lastGlobalFailure
  }
}

/** The item for one resource item: anchors removed, named after it; left out if nothing else is set. */
function appendNamedItem(pattern: unknown[], element: unknown, item: unknown): void {
  const name = fieldOf(item, 'name').value
  if (name === undefined || name === null || name === '') return
  const named = structuredClone(element)
  if (removeAnchors(named, true)) return
  if (isJsonMap(named)) named.name = name
  pattern.push(named)
}

/**
 * Removes conditional and global anchors; returns whether the node is left with nothing to patch (a
 * scalar under a condition, a map of such things, a list emptied of its anchored items).
 */
function removeAnchors(node: unknown, scalarGoes: boolean): boolean {
  if (isJsonMap(node)) return removeAnchorsInMap(node)
  if (Array.isArray(node)) return removeAnchorsInList(node)
  return scalarGoes
}

function removeAnchorsInMap(map: JsonMap): boolean {
  let anchorsLeft = false
  for (const key of Object.keys(map)) {
    if (!isCondition(anchorOf(key))) continue
    if (removeAnchors(map[key], true)) delete map[key]
    else anchorsLeft = true
  }
  if (anchorsLeft)
    for (const key of Object.keys(map)) {
      const anchor = anchorOf(key)
      if (isCondition(anchor)) renameKey(map, key, anchor!.key)
    }
  let empty = true
  for (const key of Object.keys(map)) {
    if (removeAnchors(map[key], false)) delete map[key]
    else empty = false
  }
  return empty
}

function removeAnchorsInList(list: unknown[]): boolean {
  const wasEmpty = list.length === 0
  // Kyverno deletes by each item's original index from the list it is shrinking: replicated as is.
  for (const [i, element] of [...list].entries()) {
    const goes = hasAnchors(element, isOverlayAnchor) || removeAnchors(element, false)
    if (goes && i < list.length) list.splice(i, 1)
  }
  return list.length === 0 && !wasEmpty
}

/**
 * The patch Kyverno merges for an overlay: anchors resolved against the resource. A condition that does
 * not hold gives `{}`, which patches nothing.
 */
export function resolveOverlay(overlay: unknown, resource: unknown): unknown {
  const pattern = structuredClone(overlay)
  try {
    walk(pattern, resource)
  } catch (err) {
    if (err instanceof ConditionFailed) return {}
    throw err
  }
  if (!isJsonMap(pattern)) throw new OverlayError('patchStrategicMerge must be a map')
  for (const key of Object.keys(pattern)) {
    if (removeAnchors(pattern[key], isCondition(anchorOf(key)))) delete pattern[key]
  }
  return pattern
}
