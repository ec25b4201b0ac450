/**
 * What a CRD's structural schema rejects in a custom resource, after pruning (validation.ts prunes):
 * a value of the wrong type, one outside an `enum`, a `required` field missing. The API server answers
 * a 422 listing every cause, worded as apiextensions-apiserver words them through kube-openapi:
 *
 *   results[0].severity: Unsupported value: "urgent": supported values: "critical", "high", ...
 *   summary.fail: Invalid value: summary.fail in body must be of type integer: "string"
 *   results[0].policy: Required value
 *
 * Without it a client that writes what a real cluster refuses (a severity the CRD does not list) would
 * pass every test here. Formats, patterns, bounds and CEL rules are not checked.
 */
import type { Cause } from './status.js'
import { isObj } from './types.js'

/** The JSON type of a value as kube-openapi names it. */
function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function typeMatches(expected: string, value: unknown): boolean {
  const actual = typeOf(value)
  return actual === expected || (expected === 'number' && actual === 'integer')
}

/** Go's %q of a value in a message: strings quoted, the rest as JSON. */
function shown(value: unknown): string {
  return JSON.stringify(value)
}

/** The causes of a custom resource's schema violations, in document order (metadata aside). */
export function customSchemaCauses(obj: unknown, schema: unknown): Cause[] {
  const causes: Cause[] = []
  const walk = (value: unknown, s: unknown, path: string) => {
    if (!isObj(s)) return
    // A null in a nullable field is allowed; elsewhere the type check below says what it should be.
    if (value === null && s.nullable === true) return
    const type = typeof s.type === 'string' ? s.type : undefined
    if (type && !typeMatches(type, value)) {
      causes.push({
        reason: 'FieldValueTypeInvalid',
        message: `Invalid value: ${path} in body must be of type ${type}: ${shown(typeOf(value))}`,
        field: path,
      })
      return
    }
    if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
      causes.push({
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${shown(value)}: supported values: ${s.enum.map(shown).join(', ')}`,
        field: path,
      })
      return
    }
    if (isObj(value)) {
      const props = isObj(s.properties) ? s.properties : {}
      for (const k of Object.keys(value)) {
        // metadata is ObjectMeta, validated as every kind's is; apiVersion and kind are the type's.
        if (!path && (k === 'metadata' || k === 'apiVersion' || k === 'kind')) continue
        const p = path ? `${path}.${k}` : k
        if (isObj(props[k])) walk(value[k], props[k], p)
        else if (isObj(s.additionalProperties)) walk(value[k], s.additionalProperties, p)
      }
      if (Array.isArray(s.required))
        for (const r of s.required)
          if (typeof r === 'string' && !(r in value))
            causes.push({
              reason: 'FieldValueRequired',
              message: 'Required value',
              field: path ? `${path}.${r}` : r,
            })
    } else if (Array.isArray(value) && isObj(s.items)) {
      value.forEach((v, i) => {
        walk(v, s.items, `${path}[${i}]`)
      })
    }
  }
  walk(obj, schema, '')
  return causes
}
