/**
 * Reading definition files written in YAML (checks, audit rules) with errors that name the file, the
 * line of the offending field, the definition's id and what was expected: one YAML parse gives the
 * values and the line of every field.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { type Event, YAMLException } from 'js-yaml'
import { DocumentLocator } from '../resources/locate.js'
import { DEFAULT_LIMITS, loadWithEvents } from '../resources/parse.js'
import { splitDocuments } from '../resources/split.js'
import type { PathSegment } from '../resources/types.js'

export type Raw = Record<string, unknown>

/** The error a kind of definition file throws: `file:line: <kind> 'id': field: problem`. */
export type FieldErrorClass = new (
  file: string,
  line: number,
  id: string | undefined,
  field: string,
  problem: string,
) => Error

/** Validates one raw document; `at(path)` gives the line of a field for error messages. */
export class FieldReader {
  /** the id of the definition being read, once known: it goes into every error after */
  id: string | undefined
  constructor(
    private readonly file: string,
    readonly at: (path: readonly PathSegment[]) => number,
    private readonly error: FieldErrorClass,
  ) {}

  fail(path: readonly PathSegment[], problem: string): never {
    const field = path
      .map(String)
      .join('.')
      .replace(/\.(\d+)/g, '[$1]')
    throw new this.error(this.file, this.at(path), this.id, field, problem)
  }

  map(value: unknown, path: readonly PathSegment[]): Raw {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(path, 'expected a mapping')
    return value as Raw
  }

  /** A list; absent is empty unless `required`. */
  list(value: unknown, path: readonly PathSegment[], required = false): unknown[] {
    if (value === undefined && !required) return []
    if (!Array.isArray(value)) this.fail(path, 'expected a list')
    return value
  }

  /** An optional list of (non-empty, unless `allowEmpty`) strings. */
  strings(obj: Raw, key: string, path: readonly PathSegment[], allowEmpty = false): string[] {
    return this.list(obj[key], [...path, key]).map((v, i) => {
      if (typeof v !== 'string' || (!allowEmpty && v === ''))
        this.fail([...path, key, i], allowEmpty ? 'expected a string' : 'expected a non-empty string')
      return v
    })
  }

  string(obj: Raw, key: string, path: readonly PathSegment[], required: true): string
  string(obj: Raw, key: string, path: readonly PathSegment[], required?: false): string | undefined
  string(obj: Raw, key: string, path: readonly PathSegment[], required = false): string | undefined {
    const v = obj[key]
    if (v === undefined || v === null) {
      if (required) this.fail([...path, key], 'is required (a string)')
      return undefined
    }
    if (typeof v !== 'string' || (required && v.trim() === ''))
      this.fail([...path, key], 'expected a non-empty string')
    return v
  }

  noUnknown(obj: Raw, allowed: readonly string[], path: readonly PathSegment[]) {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k))
        this.fail([...path, k], `unknown field (expected one of: ${allowed.join(', ')})`)
    }
  }
}

/**
 * Reads every document of a file (separated by `---`; empty ones skipped) with `read`, which gets a
 * FieldReader for the document. Invalid YAML throws `error` with its line.
 */
export function readYamlDocuments<T>(
  file: string,
  text: string,
  error: FieldErrorClass,
  read: (r: FieldReader, doc: unknown) => T,
): T[] {
  const out: T[] = []
  for (const chunk of splitDocuments(text)) {
    let doc: unknown
    let events: Event[]
    try {
      // One parse gives both the value and the positions of its fields (every expression's line).
      ;({ value: doc, events } = loadWithEvents(chunk.text, file, DEFAULT_LIMITS))
    } catch (err) {
      if (!(err instanceof YAMLException)) throw err
      const line = err.mark ? chunk.startLine + err.mark.line + 1 : chunk.startLine + 1
      throw new error(file, line, undefined, '', `invalid YAML: ${err.reason || err.message}`)
    }
    if (doc === null || doc === undefined) continue
    const locator = new DocumentLocator(chunk.text, chunk.startLine, events)
    out.push(read(new FieldReader(file, (path) => locator.locate(path).line, error), doc))
  }
  return out
}

/**
 * The definition files a path names: the file itself, or every .yaml/.yml below a directory, in name
 * order, but for what `skip` rules out below it. A path that does not exist throws `error`.
 */
export function yamlFiles(path: string, error: FieldErrorClass, skip?: (path: string) => boolean): string[] {
  if (!existsSync(path)) throw new error(path, 0, undefined, '', 'no such file or directory')
  if (!statSync(path).isDirectory()) return [path]
  const out: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name)
      if (skip?.(p)) continue
      if (statSync(p).isDirectory()) walk(p)
      else if (/\.ya?ml$/.test(name)) out.push(p)
    }
  }
  walk(path)
  return out
}

/** What claimDefinitionId needs of a definition. */
export interface Identified {
  readonly metadata: { readonly id: string }
  readonly origin: { readonly file: string; readonly line: number }
}

/** Records a definition's id, throwing `error` if an earlier definition took it. */
export function claimDefinitionId<T extends Identified>(
  seen: Map<string, T>,
  def: T,
  error: FieldErrorClass,
): void {
  const prior = seen.get(def.metadata.id)
  if (prior)
    throw new error(
      def.origin.file,
      def.origin.line,
      def.metadata.id,
      'metadata.id',
      `duplicate id, first defined at ${prior.origin.file}:${prior.origin.line}`,
    )
  seen.set(def.metadata.id, def)
}

/** The error of a config file of one YAML document (alert routing, prices): `file:line: field: problem`. */
export class YamlConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${where ? `${where}: ` : ''}${problem}`)
    this.name = new.target.name
  }
}

/** The error a kind of config file throws (a YamlConfigError). */
export type ConfigErrorClass = new (file: string, line: number, where: string, problem: string) => Error

/** A field's path as a config's errors name it: `receivers[0].name`. */
export function configFieldPath(path: readonly PathSegment[]): string {
  let s = ''
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p
  return s
}

/**
 * Parses a config file of one YAML document: its value, and `at(path)`, the line of a field. Invalid
 * YAML throws `error` at its line.
 */
export function loadYamlConfig(
  file: string,
  text: string,
  error: ConfigErrorClass,
): { doc: unknown; at: (path: readonly PathSegment[]) => number } {
  try {
    const { value, events } = loadWithEvents(text, file, DEFAULT_LIMITS)
    const locator = new DocumentLocator(text, 0, events)
    return { doc: value, at: (path) => locator.locate(path).line }
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err
    throw new error(file, err.mark ? err.mark.line + 1 : 1, '', `invalid YAML: ${err.reason || err.message}`)
  }
}

/**
 * Validates a config file's document (loadYamlConfig): the line of a field, errors at it (`error`),
 * mappings of known keys. A kind of config adds its own kinds of value.
 */
export class ConfigReader {
  constructor(
    readonly file: string,
    private readonly at: (path: readonly PathSegment[]) => number,
    private readonly error: ConfigErrorClass,
  ) {}

  line(path: readonly PathSegment[]): number {
    return this.at(path)
  }

  fail(path: readonly PathSegment[], problem: string): never {
    throw new this.error(this.file, this.at(path), configFieldPath(path), problem)
  }

  /** A mapping whose keys are all among `keys`. */
  object(v: unknown, path: readonly PathSegment[], keys: readonly string[]): Raw {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'expected a mapping')
    for (const k of Object.keys(v as Raw))
      if (!keys.includes(k))
        this.fail([...path, k], `unknown field '${k}' (expected one of: ${keys.join(', ')})`)
    return v as Raw
  }
}
