/** A JSON object as parsed from YAML or JSON: string keys, any values. */
export type JsonMap = Record<string, unknown>

/** Whether a parsed value is a JSON object (not null, not a list). */
export function isJsonMap(value: unknown): value is JsonMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
