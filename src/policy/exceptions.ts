/**
 * Exceptions: accepted findings, with the reason they are accepted.
 * - On the resource itself: `plimsoll.dev/except.<check-id>: "<why>"`, one annotation per check, with
 *   optional `plimsoll.dev/except.<check-id>.owner` and `plimsoll.dev/except.<check-id>.expires`
 *   annotations beside it.
 * - In an exceptions file (`--exceptions`): matched by check, kind, namespace and name globs and labels,
 *   each with an owner, a reason and an expiry date. An expired exception stops hiding its finding and
 *   says so; one that matches nothing is stale.
 */
import { readFileSync } from 'node:fs'
import { load, YAMLException } from 'js-yaml'
import type { Exception } from '../api-types.js'
import { KUBERNETES_YAML_SCHEMA } from '../resources/yaml-schema.js'

// What a finding carries (and the API shows) about its exception: one definition, in src/api-types.ts.
export type { Exception } from '../api-types.js'
export { isUnaccounted } from '../api-types.js'

export const EXCEPTION_ANNOTATION_PREFIX = 'plimsoll.dev/except.'

export interface ExceptionRule {
  file: string
  /** position in its file, for stale reports */
  index: number
  checks: string[]
  kinds: string[]
  namespaces: string[]
  names: string[]
  labels: Record<string, string>
  owner: string
  reason: string
  /** YYYY-MM-DD; the exception holds through that day */
  expires: string
}

/** What a finding is matched on. */
export interface ExceptionSubject {
  checkId: string
  kind: string
  namespace: string
  name: string
  labels: Record<string, unknown>
}

// Rules stay plain data (they are sent to worker threads); their globs are compiled once per thread.
const compiled = new Map<string, RegExp>()

function globToRegExp(glob: string): RegExp {
  let re = compiled.get(glob)
  if (!re) {
    re = new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    )
    compiled.set(glob, re)
  }
  return re
}

function matchesAny(globs: readonly string[], value: string): boolean {
  return globs.length === 0 || globs.some((g) => globToRegExp(g).test(value))
}

export function ruleMatches(rule: ExceptionRule, s: ExceptionSubject): boolean {
  return (
    matchesAny(rule.checks, s.checkId) &&
    matchesAny(rule.kinds, s.kind) &&
    matchesAny(rule.namespaces, s.namespace) &&
    matchesAny(rule.names, s.name) &&
    Object.entries(rule.labels).every(([k, v]) => String(s.labels[k] ?? '') === v && k in s.labels)
  )
}

const DATE = /^\d{4}-\d{2}-\d{2}$/

/** Today as exceptions are judged: YYYY-MM-DD, in UTC. */
export function utcToday(): string {
  return new Date().toISOString().slice(0, 10)
}

/**
 * Whether an exception no longer holds on `today`. An expiry that is not a date (an annotation's free
 * text) counts as expired: a typo must not turn an exception into one that never ends.
 */
export function isExpired(exception: { expires?: string }, today: string): boolean {
  const { expires } = exception
  return expires !== undefined && !(isExpiryDate(expires) && expires >= today)
}

/** Whether an expiry is one that `isExpired` can judge, rather than a malformed one. */
export function isExpiryDate(expires: string): boolean {
  return DATE.test(expires)
}

function annotationText(annotations: Record<string, unknown>, key: string): string | undefined {
  const value = annotations[key]
  if (value === undefined || value === null) return undefined
  const text = String(value).trim()
  return text === '' ? undefined : text
}

/** The annotation that excepts a check on a resource; its owner and expiry annotations are named after it. */
export function exceptionAnnotation(checkId: string): string {
  return `${EXCEPTION_ANNOTATION_PREFIX}${checkId}`
}

export function annotationException(object: Record<string, unknown>, checkId: string): Exception | undefined {
  const metadata = object.metadata
  if (metadata === null || typeof metadata !== 'object') return undefined
  const annotations = (metadata as Record<string, unknown>).annotations
  if (annotations === null || typeof annotations !== 'object') return undefined
  const all = annotations as Record<string, unknown>
  const key = exceptionAnnotation(checkId)
  const value = all[key]
  if (value === undefined || value === null) return undefined
  // The old form, a reason alone, keeps exactly the shape it always had.
  const exception: Exception = { source: 'annotation', reason: String(value).trim() || '(no reason given)' }
  const owner = annotationText(all, `${key}.owner`)
  if (owner !== undefined) exception.owner = owner
  const expires = annotationText(all, `${key}.expires`)
  if (expires !== undefined) exception.expires = expires
  return exception
}

/** Reads an exceptions file; throws an Error naming the file, the entry and what is expected. */
export function readExceptionsFile(file: string): ExceptionRule[] {
  let data: unknown
  try {
    data = load(readFileSync(file, 'utf8'), { schema: KUBERNETES_YAML_SCHEMA, filename: file })
  } catch (err) {
    if (err instanceof YAMLException) throw new Error(`${file}: invalid YAML: ${err.reason}`)
    throw new Error(`${file}: ${(err as Error).message}`)
  }
  const root = (data ?? {}) as Record<string, unknown>
  if (root.kind !== 'ExceptionList' || !Array.isArray(root.exceptions)) {
    throw new Error(`${file}: expected kind: ExceptionList with an 'exceptions' list`)
  }
  return root.exceptions.map((raw: unknown, index: number) => {
    const where = `${file}: exceptions[${index}]`
    const e = (raw ?? {}) as Record<string, unknown>
    const list = (key: string): string[] => {
      const v = e[key]
      if (v === undefined) return []
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
        throw new Error(`${where}.${key}: expected a list of strings (globs)`)
      return v as string[]
    }
    for (const key of ['owner', 'reason']) {
      if (typeof e[key] !== 'string' || (e[key] as string).trim() === '')
        throw new Error(`${where}.${key}: required (a non-empty string)`)
    }
    const expires = String(e.expires ?? '')
    if (!isExpiryDate(expires)) throw new Error(`${where}.expires: required, a date like 2027-03-31`)
    const checks = list('checks')
    if (checks.length === 0) throw new Error(`${where}.checks: required, the check ids (or globs) excepted`)
    const labels = e.labels ?? {}
    if (typeof labels !== 'object' || Array.isArray(labels))
      throw new Error(`${where}.labels: expected a mapping of label to value`)
    return {
      file,
      index,
      checks,
      kinds: list('kinds'),
      namespaces: list('namespaces'),
      names: list('names'),
      labels: Object.fromEntries(
        Object.entries(labels as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
      ),
      owner: e.owner as string,
      reason: e.reason as string,
      expires,
    }
  })
}
