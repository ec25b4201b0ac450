/**
 * Anchors are pattern keys wrapped in parentheses that change how the key is checked: `(k)` conditional,
 * `<(k)` global condition, `=(k)` equality (only if present), `^(k)` existence (some list item matches),
 * `X(k)` negation (must be absent) and `+(k)`, which belongs to mutate overlays only.
 */
export type AnchorKind = 'conditional' | 'global' | 'equality' | 'existence' | 'negation' | 'addIfNotPresent'

export interface Anchor {
  readonly kind: AnchorKind
  /** The resource field the anchor names. */
  readonly key: string
}

const MODIFIERS: Record<string, AnchorKind> = {
  '<': 'global',
  '=': 'equality',
  '^': 'existence',
  X: 'negation',
  '+': 'addIfNotPresent',
}

/** The anchor a pattern key spells, or `undefined` for a plain key. */
export function parseAnchor(patternKey: string): Anchor | undefined {
  if (patternKey.length < 3 || !patternKey.endsWith(')')) return undefined
  if (patternKey.startsWith('(')) return { kind: 'conditional', key: patternKey.slice(1, -1) }
  const kind = MODIFIERS[patternKey[0]!]
  if (!kind || patternKey[1] !== '(' || patternKey.length < 4) return undefined
  return { kind, key: patternKey.slice(2, -1) }
}

/** The resource field a pattern key refers to, anchored or not. */
export function fieldName(patternKey: string): string {
  return parseAnchor(patternKey)?.key ?? patternKey
}

/** Anchors Kyverno evaluates before the plain keys of a map (global anchors go with the plain keys). */
export function isLeadingAnchor(anchor: Anchor | undefined): boolean {
  return anchor !== undefined && anchor.kind !== 'global' && anchor.kind !== 'addIfNotPresent'
}

/** Whether a pattern holds any anchor Kyverno treats as a condition or check, at any depth. */
export function hasNestedAnchors(pattern: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.some(hasNestedAnchors)
  if (pattern === null || typeof pattern !== 'object') return false
  return Object.entries(pattern).some(([key, value]) => {
    const anchor = parseAnchor(key)
    return (anchor !== undefined && anchor.kind !== 'addIfNotPresent') || hasNestedAnchors(value)
  })
}
