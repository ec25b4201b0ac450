/**
 * Kyverno lets a pattern name labels and annotations with wildcards (`X(*-snippet): "?*"`,
 * `=(app.kubernetes.io/*): "?*"`). Before matching, each wildcard key under metadata.labels or
 * metadata.annotations is replaced by the first key of the resource it matches, anchor kept; a key that
 * matches nothing stays as written (and so names no field).
 */

import { isJsonMap } from '../json-map.js'
import { hasWildcard, wildcardMatch } from './wildcard.js'

type Json = Record<string, unknown>

/** `X(key)`, `=(key)`, `^(key)`, `(key)`, `<(key)`: the key inside and a function to put it back. */
function splitAnchor(key: string): { inner: string; wrap: (k: string) => string } {
  const m = /^([X=^<+]?)\((.*)\)$/.exec(key)
  if (!m) return { inner: key, wrap: (k) => k }
  const prefix = m[1] ?? ''
  return { inner: m[2] ?? '', wrap: (k) => `${prefix}(${k})` }
}

function entryOf(map: Json, name: string): [string, unknown] | undefined {
  return Object.entries(map).find(([k]) => splitAnchor(k).inner === name)
}

function expandTag(patternMeta: Json, resourceMeta: Json, tag: string): void {
  const entry = entryOf(patternMeta, tag)
  const have = resourceMeta[tag]
  if (!entry || !isJsonMap(entry[1]) || !isJsonMap(have)) return
  const [patternKey, pattern] = entry
  // Kyverno only expands a string-to-string map.
  if (!Object.values(pattern).every((v) => typeof v === 'string')) return
  const out: Json = {}
  for (const [key, value] of Object.entries(pattern)) {
    const { inner, wrap } = splitAnchor(key)
    const match = hasWildcard(inner) ? Object.keys(have).find((k) => wildcardMatch(inner, k)) : undefined
    out[match === undefined ? key : wrap(match)] = value
  }
  patternMeta[patternKey] = out
}

/**
 * A copy of `pattern` with the wildcard label and annotation keys expanded against `resource`, at every
 * level where both have a `metadata` map (so an autogen pattern's spec.template.metadata is expanded too).
 */
export function expandMetadataWildcards(pattern: unknown, resource: unknown): unknown {
  if (!isJsonMap(pattern) || !isJsonMap(resource)) return pattern
  const out: Json = {}
  for (const [key, value] of Object.entries(pattern)) {
    const field = splitAnchor(key).inner
    const have = resource[field]
    if (field === 'metadata' && isJsonMap(value) && isJsonMap(have)) {
      const meta = { ...value }
      expandTag(meta, have, 'labels')
      expandTag(meta, have, 'annotations')
      out[key] = meta
    } else out[key] = isJsonMap(value) ? expandMetadataWildcards(value, have) : value
  }
  return out
}
