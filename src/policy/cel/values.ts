/**
 * JSON numbers are doubles in JavaScript; the API server's CEL sees integers as `int`. Converting once
 * per resource keeps `replicas * 2` and `runAsUser == 0` exact and typed as Kubernetes types them.
 */
export function toCelValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value
  if (Array.isArray(value)) return value.map(toCelValue)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key in value) out[key] = toCelValue((value as Record<string, unknown>)[key])
    return out
  }
  return value
}
