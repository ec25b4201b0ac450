/**
 * Prepares a resource for CEL as the API server would see it after decoding:
 * - JSON numbers are doubles in JavaScript; the API server's CEL sees integers as `int`. Converting once
 *   per resource keeps `replicas * 2` and `runAsUser == 0` exact and typed as Kubernetes types them.
 * - A field written as `null` is unset to Kubernetes (`hostPath: null` is no hostPath), so it is dropped:
 *   checks can then rely on `has()` and `.?field` instead of guarding against null everywhere.
 */
export function toCelValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value
  if (Array.isArray(value)) {
    // A list or map with nothing to convert is the same one (CEL never changes a value): most of a
    // resource (metadata, env, images) is strings, and copying it all was a fifth of an evaluation.
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const v = value[i]
      const c = toCelValue(v)
      if (out) out.push(c)
      else if (c !== v) {
        out = value.slice(0, i)
        out.push(c)
      }
    }
    return out ?? value
  }
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>
    let out: Record<string, unknown> | undefined
    for (const key in object) {
      const v = object[key]
      const c = v === null ? DROPPED : toCelValue(v)
      if (!out) {
        // A `__proto__` key is copied as it always was (assigned, so it sets the copy's prototype).
        if (c === v && key !== '__proto__') continue
        out = {}
        for (const earlier in object) {
          if (earlier === key) break
          out[earlier] = object[earlier]
        }
      }
      if (c !== DROPPED) out[key] = c
    }
    return out ?? value
  }
  return value
}

const DROPPED = Symbol('dropped')
