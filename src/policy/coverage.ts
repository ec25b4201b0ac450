/**
 * Coverage tables: for every check of another scanner (Polaris, kube-linter), the Plimsoll checks that
 * cover it, or why none does. They are data under policies/coverage/, one file per tool, rendered into
 * docs/checks.md. A mistake is reported with the file and the line of the offending entry.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { load, YAMLException } from 'js-yaml'
import { DocumentLocator } from '../resources/locate.js'
import type { PathSegment } from '../resources/types.js'
import { KUBERNETES_YAML_SCHEMA } from '../resources/yaml-schema.js'
import { BUILTIN_COVERAGE_DIR } from './library.js'

export interface CoverageEntry {
  /** the other tool's check id */
  id: string
  /** Plimsoll check ids; empty when no check covers it */
  coveredBy: string[]
  /** the Plimsoll checks catch only part of what the tool's check catches (`note` says which part) */
  partial: boolean
  note?: string
  /** why Plimsoll has no equivalent; present exactly when `coveredBy` is empty */
  whyNot?: string
  line: number
}

export interface CoverageTable {
  tool: string
  /** the tool's documentation of its checks */
  url: string
  /** where the list of checks was taken from */
  source?: string
  checks: CoverageEntry[]
  file: string
}

export class CoverageLoadError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`)
    this.name = 'CoverageLoadError'
  }
}

const CHECK_ID = /^[a-z0-9][a-z0-9-]*$/
type Raw = Record<string, unknown>

function fieldName(path: readonly PathSegment[]): string {
  return path
    .map(String)
    .join('.')
    .replace(/\.(\d+)/g, '[$1]')
}

/** Parses and validates one coverage file. Throws CoverageLoadError at the first problem. */
export function parseCoverageFile(file: string, text: string): CoverageTable {
  let doc: unknown
  try {
    doc = load(text, { schema: KUBERNETES_YAML_SCHEMA, filename: file })
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err
    throw new CoverageLoadError(file, (err.mark?.line ?? 0) + 1, `invalid YAML: ${err.reason || err.message}`)
  }
  const locator = new DocumentLocator(text, 0)
  /** the id of the entry being read, named in its errors */
  let entry: string | undefined
  const fail = (path: readonly PathSegment[], problem: string): never => {
    const where = [entry === undefined ? '' : `check '${entry}'`, fieldName(path)].filter(Boolean).join(': ')
    throw new CoverageLoadError(file, locator.locate(path).line, where ? `${where}: ${problem}` : problem)
  }
  const map = (value: unknown, path: readonly PathSegment[]): Raw => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'expected a mapping')
    return value as Raw
  }
  const noUnknown = (obj: Raw, allowed: readonly string[], path: readonly PathSegment[]) => {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) fail([...path, k], `unknown field (expected one of: ${allowed.join(', ')})`)
    }
  }
  const str = (obj: Raw, key: string, path: readonly PathSegment[], required: boolean) => {
    const v = obj[key]
    if (v === undefined || v === null) {
      if (required) fail([...path, key], 'is required (a non-empty string)')
      return undefined
    }
    if (typeof v !== 'string' || v.trim() === '') fail([...path, key], 'expected a non-empty string')
    return v as string
  }

  const root = map(doc, [])
  noUnknown(root, ['tool', 'url', 'source', 'checks'], [])
  const tool = str(root, 'tool', [], true)!
  const url = str(root, 'url', [], true)!
  const source = str(root, 'source', [], false)
  if (!Array.isArray(root.checks) || root.checks.length === 0) fail(['checks'], 'expected a non-empty list')
  const seen = new Map<string, number>()
  const checks = (root.checks as unknown[]).map((raw, i): CoverageEntry => {
    const p = ['checks', i]
    entry = undefined
    const obj = map(raw, p)
    const id = str(obj, 'id', p, true)!
    entry = id
    noUnknown(obj, ['id', 'covered-by', 'partial', 'note', 'why-not'], p)
    const line = locator.locate(p).line
    const first = seen.get(id)
    if (first !== undefined) fail([...p, 'id'], `listed twice, first at line ${first}`)
    seen.set(id, line)
    if (!Array.isArray(obj['covered-by'])) fail([...p, 'covered-by'], 'expected a list of Plimsoll check ids')
    const coveredBy = (obj['covered-by'] as unknown[]).map((c, j) => {
      if (typeof c !== 'string' || !CHECK_ID.test(c))
        fail([...p, 'covered-by', j], 'expected a Plimsoll check id')
      return c as string
    })
    if (new Set(coveredBy).size !== coveredBy.length) fail([...p, 'covered-by'], 'lists a check twice')
    if (obj.partial !== undefined && typeof obj.partial !== 'boolean')
      fail([...p, 'partial'], 'expected true or false')
    const partial = obj.partial === true
    const note = str(obj, 'note', p, false)
    const whyNot = str(obj, 'why-not', p, false)
    if (coveredBy.length === 0) {
      if (!whyNot) fail(p, "'covered-by' is empty, so 'why-not' is required")
      if (partial) fail([...p, 'partial'], "needs a covering check in 'covered-by'")
    } else {
      if (whyNot !== undefined) fail([...p, 'why-not'], "only for entries whose 'covered-by' is empty")
      if (partial && !note) fail(p, "a partial entry needs a 'note' saying what differs")
    }
    return {
      id,
      coveredBy,
      partial,
      line,
      ...(note !== undefined ? { note } : {}),
      ...(whyNot !== undefined ? { whyNot } : {}),
    }
  })
  return { tool, url, ...(source !== undefined ? { source } : {}), checks, file }
}

/** Every coverage file in `dir` (default: the built-in policies/coverage/), ordered by tool name. */
export function loadCoverage(dir: string = BUILTIN_COVERAGE_DIR): CoverageTable[] {
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => {
      const file = join(dir, name)
      return parseCoverageFile(file, readFileSync(file, 'utf8'))
    })
    .sort((a, b) => (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : 0))
}
