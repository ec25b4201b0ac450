/**
 * A deep copy of parsed YAML data that shares no string with the text it was parsed from. The parser's
 * strings of 13 characters or more are V8 slices of the text they were read from, and one kept slice
 * keeps a whole file alive; a slice of a concatenation is made after V8 copies the concatenation into a
 * string of its own, so it holds only its own characters. Several times faster than structuredClone,
 * which did this before (and which copies the same values: the YAML schema makes only plain objects,
 * arrays and primitives; anything else is still given to it).
 */
export function ownCopy<T>(value: T): T {
  return copy(value) as T
}

function copy(value: unknown): unknown {
  if (typeof value === 'string') return value.length < 13 ? value : ` ${value}`.slice(1)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    const out = new Array(value.length)
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i])
    return out
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return structuredClone(value)
  const out: Record<string, unknown> = {}
  for (const key in value) {
    const v = copy((value as Record<string, unknown>)[key])
    // A `__proto__` key is data here (js-yaml keeps it so); assigning it would set the prototype.
    if (key === '__proto__')
      Object.defineProperty(out, key, { value: v, enumerable: true, configurable: true, writable: true })
    else out[key] = v
  }
  return out
}
