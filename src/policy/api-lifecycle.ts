/**
 * The life of Kubernetes' built-in API versions (policies/data/api-lifecycle.yaml): when each
 * group-version-kind was deprecated and stopped being served, and what replaces it. One table, read by
 * the `deprecated-api-version` check through CEL's `apiLifecycle(apiVersion, kind)` and by
 * `plimsoll upgrade-check`. It lives beside the engine, not in upgrade/, because the check's CEL
 * environment needs it and policy/ depends on nothing outside it.
 */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigReader, loadYamlConfig, type Raw, YamlConfigError } from './yaml-fields.js'

/** policies/data: tables the checks and commands read, not checks themselves. */
export const BUILTIN_DATA_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'policies',
  'data',
)
export const BUILTIN_API_LIFECYCLE = join(BUILTIN_DATA_DIR, 'api-lifecycle.yaml')

export class ApiLifecycleError extends YamlConfigError {}

export interface ApiLifecycleEntry {
  apiVersion: string
  kind: string
  /** minor versions (v1.N -> N) */
  deprecatedIn?: number
  removedIn?: number
  /** the apiVersion to move to; absent when nothing replaces it (PodSecurityPolicy) */
  replacement?: string
  /** when the replacement is another kind (Endpoints -> EndpointSlice) */
  replacementKind?: string
  /** the first release serving the replacement */
  replacementSince?: number
  /** the field changes the move needs */
  notes?: string
  /** where the entry is in the data file */
  line: number
}

export interface ApiLifecycle {
  file: string
  /** the newest release the table knows (v1.N -> N) */
  newest: number
  entries: ApiLifecycleEntry[]
  /** The entry of an apiVersion and kind, if the table has one. */
  lookup(apiVersion: string, kind: string): ApiLifecycleEntry | undefined
}

const ENTRY_FIELDS = [
  'apiVersion',
  'kinds',
  'deprecatedIn',
  'removedIn',
  'replacement',
  'replacementKind',
  'replacementSince',
  'notes',
]

/** `v1.N` -> N (the check format's version syntax), or undefined. */
export function minorVersion(text: string): number | undefined {
  const m = /^v1\.(\d+)$/.exec(text)
  return m ? Number(m[1]) : undefined
}

/** `v1.N` -> N, or an error at the field. */
export function versionField(r: ConfigReader, obj: Raw, key: string, path: (string | number)[]) {
  const v = obj[key]
  if (v === undefined) return undefined
  const minor = typeof v === 'string' ? minorVersion(v) : undefined
  if (minor === undefined) r.fail([...path, key], "expected a version like 'v1.25'")
  return minor
}

function text(r: ConfigReader, obj: Raw, key: string, path: (string | number)[]): string | undefined {
  const v = obj[key]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v.trim() === '') r.fail([...path, key], 'expected a non-empty string')
  return v.trim()
}

/** Parses a lifecycle table; an ApiLifecycleError names the file, line and field of any mistake. */
export function parseApiLifecycle(file: string, source: string): ApiLifecycle {
  const { doc, at } = loadYamlConfig(file, source, ApiLifecycleError)
  const r: ConfigReader = new ConfigReader(file, at, ApiLifecycleError)
  const root = r.object(doc, [], ['apiVersion', 'kind', 'newest', 'apis'])
  if (root.kind !== 'ApiLifecycle') r.fail(['kind'], "expected 'ApiLifecycle'")
  const newest = versionField(r, root, 'newest', [])
  if (newest === undefined) r.fail(['newest'], "is required (the newest release known, like 'v1.35')")
  if (!Array.isArray(root.apis)) r.fail(['apis'], 'expected a list')
  const entries: ApiLifecycleEntry[] = []
  const byKey = new Map<string, ApiLifecycleEntry>()
  root.apis.forEach((raw, i) => {
    const p = ['apis', i]
    const e = r.object(raw, p, ENTRY_FIELDS)
    const apiVersion = text(r, e, 'apiVersion', p)
    if (apiVersion === undefined) r.fail([...p, 'apiVersion'], 'is required')
    if (!Array.isArray(e.kinds) || e.kinds.length === 0) r.fail([...p, 'kinds'], 'expected a list of kinds')
    const deprecatedIn = versionField(r, e, 'deprecatedIn', p)
    const removedIn = versionField(r, e, 'removedIn', p)
    if (deprecatedIn === undefined && removedIn === undefined)
      r.fail(p, "needs 'deprecatedIn' or 'removedIn'")
    if (deprecatedIn !== undefined && removedIn !== undefined && removedIn < deprecatedIn)
      r.fail([...p, 'removedIn'], 'is before deprecatedIn')
    if (removedIn !== undefined && removedIn > newest)
      r.fail([...p, 'removedIn'], `is after the newest release known (v1.${newest})`)
    const facts = {
      deprecatedIn,
      removedIn,
      replacement: text(r, e, 'replacement', p),
      replacementKind: text(r, e, 'replacementKind', p),
      replacementSince: versionField(r, e, 'replacementSince', p),
      notes: text(r, e, 'notes', p),
    }
    e.kinds.forEach((kind, k) => {
      if (typeof kind !== 'string' || kind === '') r.fail([...p, 'kinds', k], 'expected a kind')
      const key = `${apiVersion}/${kind}`
      if (byKey.has(key)) r.fail([...p, 'kinds', k], `${key} is listed twice`)
      const entry: ApiLifecycleEntry = { apiVersion, kind, line: at(p) }
      for (const [name, value] of Object.entries(facts)) {
        if (value !== undefined) (entry as unknown as Record<string, unknown>)[name] = value
      }
      byKey.set(key, entry)
      entries.push(entry)
    })
  })
  return { file, newest, entries, lookup: (apiVersion, kind) => byKey.get(`${apiVersion}/${kind}`) }
}

export function loadApiLifecycle(file: string = BUILTIN_API_LIFECYCLE): ApiLifecycle {
  return parseApiLifecycle(file, readFileSync(file, 'utf8'))
}

let builtin: ApiLifecycle | undefined

/** The built-in table, read on first use. */
export function builtinApiLifecycle(): ApiLifecycle {
  builtin ??= loadApiLifecycle()
  return builtin
}

/**
 * An entry as CEL sees it: a map with the versions as ints (what `version` is compared with) and the
 * absent facts left out, so that `has(api.removedIn)` says whether it was removed.
 */
export function celLifecycle(entry: ApiLifecycleEntry | undefined): Record<string, unknown> | null {
  if (!entry) return null
  const out: Record<string, unknown> = { apiVersion: entry.apiVersion, kind: entry.kind }
  for (const key of ['deprecatedIn', 'removedIn', 'replacementSince'] as const) {
    if (entry[key] !== undefined) out[key] = BigInt(entry[key])
  }
  for (const key of ['replacement', 'replacementKind', 'notes'] as const) {
    if (entry[key] !== undefined) out[key] = entry[key]
  }
  return out
}
