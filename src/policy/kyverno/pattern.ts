/**
 * Kyverno's validate `pattern` and `anyPattern`: an overlay of the resource in which every scalar is a value
 * pattern (see value-operators.ts) and keys may carry anchors (see anchors.ts).
 *
 * Outcomes follow Kyverno's engine. A plain mismatch fails the rule at the path Kyverno prints
 * (`/spec/containers/0/image/`). A conditional anchor that does not hold makes the map holding it
 * inapplicable; a list whose items are all inapplicable is inapplicable; an inapplicable child only makes its
 * parent inapplicable when no sibling applied and none failed. A global anchor that does not hold skips the
 * whole rule, whatever its siblings say.
 */

import { isJsonMap, type JsonMap } from '../json-map.js'
import { type Anchor, fieldName, hasNestedAnchors, isLeadingAnchor, parseAnchor } from './anchors.js'
import { matchValue, valuePatternProblem } from './value-operators.js'
import { hasWildcard, wildcardMatch } from './wildcard.js'

export type PatternResult =
  | { status: 'pass' }
  | { status: 'fail'; path: string; reason: string }
  | { status: 'skip'; path: string; reason: string }

/** A malformed pattern: found when the policy is loaded, before any resource is checked. */
export class PatternError extends Error {
  override name = 'PatternError'
}

type Skip = { status: 'skip'; path: string; reason: string; global: boolean }
type Outcome = { status: 'pass' } | { status: 'fail'; path: string; reason: string } | Skip

const PASS: Outcome = { status: 'pass' }

function describe(value: unknown): string {
  if (value === undefined || value === null) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'object' ? 'a map' : `${typeof value} ${JSON.stringify(value)}`
}

function fail(path: string, reason: string): Outcome {
  return { status: 'fail', path, reason }
}

function skip(path: string, reason: string, global: boolean): Skip {
  return { status: 'skip', path, reason, global }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Kyverno lets label and annotation keys under `metadata` be wildcards: each such key stands for the
 * first resource key it matches, and stays literal (and so usually absent) when none does.
 */
function expandMetadataWildcards(pattern: JsonMap, resource: JsonMap): JsonMap {
  const metadataKey = Object.keys(pattern).find((k) => fieldName(k) === 'metadata')
  const patternMetadata = metadataKey === undefined ? undefined : pattern[metadataKey]
  const resourceMetadata = resource.metadata
  if (!isJsonMap(patternMetadata) || !isJsonMap(resourceMetadata)) return pattern
  let expanded: JsonMap | undefined
  for (const tag of ['labels', 'annotations']) {
    const tagKey = Object.keys(patternMetadata).find((k) => fieldName(k) === tag)
    const patternTags = tagKey === undefined ? undefined : patternMetadata[tagKey]
    const resourceTags = resourceMetadata[tag]
    if (!isJsonMap(patternTags) || !isJsonMap(resourceTags)) continue
    if (!Object.values(patternTags).every((v) => typeof v === 'string')) continue
    const names = Object.keys(resourceTags).sort(compareKeys)
    const tags = Object.fromEntries(
      Object.entries(patternTags).map(([k, v]) => [
        hasWildcard(k) ? (names.find((name) => wildcardMatch(k, name)) ?? k) : k,
        v,
      ]),
    )
    expanded = { ...(expanded ?? patternMetadata), [tagKey!]: tags }
  }
  return expanded ? { ...pattern, [metadataKey!]: expanded } : pattern
}

/** Kyverno's order: anchors first (sorted); then global anchors and keys hiding anchors; then the rest. */
function evaluationOrder(pattern: JsonMap): string[] {
  const keys = Object.keys(pattern).sort(compareKeys)
  const leading = keys.filter((k) => isLeadingAnchor(parseAnchor(k)))
  const rest = keys.filter((k) => !isLeadingAnchor(parseAnchor(k)))
  const early = rest.filter((k) => parseAnchor(k)?.kind === 'global' || hasNestedAnchors(pattern[k]))
  const late = rest.filter((k) => !early.includes(k))
  // Kyverno pushes each early key to the front of its list, so they run in reverse order.
  return [...leading, ...early.reverse(), ...late]
}

function matchMap(resource: JsonMap, rawPattern: JsonMap, path: string): Outcome {
  const pattern = expandMetadataWildcards(rawPattern, resource)
  let deferred: Skip | undefined
  let applied = 0
  for (const key of evaluationOrder(pattern)) {
    const anchor = parseAnchor(key)
    const outcome = anchor
      ? matchAnchor(anchor, resource, pattern[key], path)
      : matchField(key, resource, pattern[key], path)
    if (outcome.status === 'fail') return outcome
    if (outcome.status === 'pass') applied++
    else if (outcome.global || anchor?.kind === 'conditional') return outcome
    else deferred ??= outcome
  }
  return deferred && applied === 0 ? deferred : PASS
}

function matchField(key: string, resource: JsonMap, pattern: unknown, path: string): Outcome {
  const value = resource[key]
  if (pattern === '*') {
    return value === undefined || value === null ? fail(path, `field '${key}' is required`) : PASS
  }
  return matchElement(value, pattern, `${path}${key}/`)
}

function matchAnchor(anchor: Anchor, resource: JsonMap, pattern: unknown, path: string): Outcome {
  const present = Object.hasOwn(resource, anchor.key)
  const value = resource[anchor.key]
  const fieldPath = `${path}${anchor.key}/`
  switch (anchor.kind) {
    case 'negation':
      return present ? fail(fieldPath, `field '${anchor.key}' is not allowed`) : PASS
    case 'equality':
      return present ? matchElement(value, pattern, fieldPath) : PASS
    case 'existence':
      return present ? matchExistence(value, pattern, fieldPath, anchor.key) : PASS
    case 'conditional': {
      if (!present) return skip(fieldPath, `conditional anchor (${anchor.key}) names an absent field`, false)
      const inner = matchElement(value, pattern, fieldPath)
      if (inner.status === 'pass') return PASS
      return skip(inner.path, `conditional anchor (${anchor.key}) does not hold: ${inner.reason}`, false)
    }
    case 'global': {
      const inner = present ? matchElement(value, pattern, fieldPath) : PASS
      if (inner.status === 'pass') return PASS
      return skip(inner.path, `global anchor <(${anchor.key}) does not hold: ${inner.reason}`, true)
    }
    case 'addIfNotPresent':
      return matchField(`+(${anchor.key})`, resource, pattern, path)
  }
}

/** `^(key)`: every map in the pattern list must match at least one item of the resource list. */
function matchExistence(value: unknown, pattern: unknown, path: string, key: string): Outcome {
  if (!Array.isArray(value))
    return fail(path, `existence anchor ^(${key}) needs a list, found ${describe(value)}`)
  if (!Array.isArray(pattern)) return fail(path, `existence anchor ^(${key}) needs a list pattern`)
  for (const wanted of pattern) {
    const found = value.some((item, i) => matchElement(item, wanted, `${path}${i}/`).status === 'pass')
    if (!found) return fail(path, `no item of '${key}' matches the existence anchor ^(${key})`)
  }
  return PASS
}

/** Items that are inapplicable are left out; the list is inapplicable only if all of them are. */
function combineItems(outcomes: Iterable<Outcome>, path: string): Outcome {
  let skipped = 0
  let applied = 0
  let global = false
  for (const outcome of outcomes) {
    if (outcome.status === 'fail') return outcome
    if (outcome.status === 'pass') applied++
    else {
      skipped++
      global ||= outcome.global
    }
  }
  if (applied > 0 || skipped === 0) return PASS
  return skip(path, 'no item of the list satisfies the anchors of its pattern', global)
}

function* eachItem(resource: readonly unknown[], pattern: unknown, path: string): Generator<Outcome> {
  for (const [i, item] of resource.entries()) yield matchElement(item, pattern, `${path}${i}/`)
}

function* eachPosition(resource: readonly unknown[], patterns: readonly unknown[], path: string) {
  for (const [i, item] of patterns.entries()) yield matchElement(resource[i], item, `${path}${i}/`)
}

function matchList(resource: readonly unknown[], pattern: readonly unknown[], path: string): Outcome {
  if (pattern.length === 0) return fail(path, 'the pattern list is empty')
  const [first] = pattern
  // A map or a scalar describes every item; Kyverno ignores any further pattern items.
  if (isJsonMap(first)) return combineItems(eachItem(resource, first, path), path)
  if (!Array.isArray(first)) return matchElement(resource, first, path)
  if (resource.length < pattern.length)
    return fail(path, `the list has ${resource.length} items, the pattern ${pattern.length}`)
  return combineItems(eachPosition(resource, pattern, path), path)
}

function matchElement(resource: unknown, pattern: unknown, path: string): Outcome {
  if (isJsonMap(pattern)) {
    return isJsonMap(resource)
      ? matchMap(resource, pattern, path)
      : fail(path, `expected a map, found ${describe(resource)}`)
  }
  if (Array.isArray(pattern)) {
    return Array.isArray(resource)
      ? matchList(resource, pattern, path)
      : fail(path, `expected a list, found ${describe(resource)}`)
  }
  // A scalar pattern applies to each item of a list value.
  const values = Array.isArray(resource) ? resource : [resource]
  const index = values.findIndex((value) => !matchValue(value, pattern))
  if (index === -1) return PASS
  return fail(path, `${describe(values[index])} does not match ${JSON.stringify(pattern)}`)
}

function result(outcome: Outcome): PatternResult {
  if (outcome.status !== 'skip') return outcome
  return { status: 'skip', path: outcome.path, reason: outcome.reason }
}

/** Checks a resource against a validate `pattern` whose variables have been substituted. */
export function matchPattern(resource: unknown, pattern: unknown): PatternResult {
  return result(matchElement(resource, pattern, '/'))
}

/**
 * Checks a resource against `anyPattern`: it passes as soon as one pattern passes; otherwise any failure
 * fails the rule, and only when every pattern was inapplicable is the rule skipped.
 */
export function matchAnyPattern(resource: unknown, patterns: readonly unknown[]): PatternResult {
  const failures: Array<{ index: number; path: string; reason: string }> = []
  const skips: Array<{ index: number; path: string; reason: string }> = []
  for (const [index, pattern] of patterns.entries()) {
    const outcome = matchPattern(resource, pattern)
    if (outcome.status === 'pass') return outcome
    ;(outcome.status === 'fail' ? failures : skips).push({
      index,
      path: outcome.path,
      reason: outcome.reason,
    })
  }
  const [firstFailure] = failures
  if (firstFailure) {
    const reason = failures
      .map((f) => `anyPattern[${f.index}] failed at path ${f.path}: ${f.reason}`)
      .join('; ')
    return { status: 'fail', path: firstFailure.path, reason }
  }
  const [firstSkip] = skips
  if (firstSkip) {
    const reason = skips.map((s) => `anyPattern[${s.index}] skipped: ${s.reason}`).join('; ')
    return { status: 'skip', path: firstSkip.path, reason }
  }
  return { status: 'pass' }
}

function checkMapKeys(pattern: JsonMap, path: string): void {
  for (const [key, value] of Object.entries(pattern)) {
    const anchor = parseAnchor(key)
    const here = `${path}${key}/`
    if (anchor?.kind === 'addIfNotPresent')
      throw new PatternError(
        `${here}: the anchor +(${anchor.key}) adds fields in mutate overlays; validate cannot use it`,
      )
    if (anchor?.kind === 'existence') {
      if (!Array.isArray(value) || value.length === 0 || !value.every(isJsonMap))
        throw new PatternError(
          `${here}: the existence anchor ^(${anchor.key}) needs a non-empty list of maps`,
        )
    }
    checkNode(value, here)
  }
}

function checkNode(pattern: unknown, path: string): void {
  if (pattern === null || typeof pattern === 'boolean') return
  if (typeof pattern === 'string') {
    const problem = valuePatternProblem(pattern)
    if (problem) throw new PatternError(`${path}: ${problem}`)
    return
  }
  if (typeof pattern === 'number') {
    if (!Number.isFinite(pattern)) throw new PatternError(`${path}: ${pattern} is not a JSON number`)
    return
  }
  if (Array.isArray(pattern)) {
    for (const [i, item] of pattern.entries()) checkNode(item, `${path}${i}/`)
    return
  }
  if (!isJsonMap(pattern))
    throw new PatternError(`${path}: a pattern holds JSON values only, not ${typeof pattern}`)
  checkMapKeys(pattern, path)
}

/** Validates a pattern's syntax once, at load time, so a broken policy is reported before any resource. */
export function checkPattern(pattern: unknown): void {
  checkNode(pattern, '/')
}
