/**
 * A resource as Kyverno's CEL sees it: the unstructured object decoded from the manifest, explicit nulls
 * included (`rules: null` makes `object.rules == null` true, and a field selected on it through `.?` is
 * none), integers as CEL ints. Plimsoll's own checks drop nulls instead (cel/values.ts); Kyverno's
 * policies were written against the unstructured objects of its CLI and the API server, which keep them.
 */
export function toUnstructuredValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value
  if (Array.isArray(value)) return value.map(toUnstructuredValue)
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {}
    for (const key in value) out[key] = toUnstructuredValue((value as Record<string, unknown>)[key])
    return out
  }
  return value
}

/** A CEL value back as JSON: what a library function hands to code that reads plain data. */
export function fromCelValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (Array.isArray(value)) return value.map(fromCelValue)
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {}
    for (const key in value) out[key] = fromCelValue((value as Record<string, unknown>)[key])
    return out
  }
  return value
}
