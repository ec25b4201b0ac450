/**
 * Prepares a resource for CEL as the API server would see it after decoding:
 * - JSON numbers are doubles in JavaScript; the API server's CEL sees integers as `int`. Converting once
 *   per resource keeps `replicas * 2` and `runAsUser == 0` exact and typed as Kubernetes types them.
 * - A field written as `null` is unset to Kubernetes (`hostPath: null` is no hostPath), so it is dropped:
 *   checks can then rely on `has()` and `.?field` instead of guarding against null everywhere.
 */
export function toCelValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value
  if (Array.isArray(value)) return value.map(toCelValue)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key in value) {
      const v = (value as Record<string, unknown>)[key]
      if (v !== null) out[key] = toCelValue(v)
    }
    return out
  }
  return value
}
