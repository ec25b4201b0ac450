/**
 * Reads the fields of a policy document with their expected shapes, recording every problem with the
 * file, line, policy and field, so a user learns all that is wrong with a document at once.
 */
import type { PathSegment, Position } from '../../resources/types.js'
import { isJsonMap } from '../json-map.js'

export interface LoadProblem {
  file: string
  line: number
  /** kind of the document, e.g. ValidatingAdmissionPolicy */
  kind: string
  /** metadata.name, or '' when it has none */
  name: string
  field: string
  path: PathSegment[]
  message: string
}

export function formatProblem(p: LoadProblem): string {
  const what = p.name ? `${p.kind} '${p.name}'` : p.kind
  return `${p.file}:${p.line}: ${what}: ${p.field ? `${p.field}: ` : ''}${p.message}`
}

export interface ShapeDocument {
  file: string
  kind: string
  name: string
  locate(path: readonly PathSegment[]): Position
}

export type Json = Record<string, unknown>

function fieldName(path: readonly PathSegment[]): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('')
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return `a ${typeof value}`
}

export class Shape {
  readonly problems: LoadProblem[] = []

  constructor(readonly doc: ShapeDocument) {}

  fail(path: readonly PathSegment[], message: string): void {
    this.problems.push({
      file: this.doc.file,
      line: this.doc.locate(path).line,
      kind: this.doc.kind,
      name: this.doc.name,
      field: fieldName(path),
      path: [...path],
      message,
    })
  }

  /** A mapping at `path` (absent: undefined, or an error when required). */
  object(parent: Json, path: readonly PathSegment[], required = false): Json | undefined {
    const value = parent[path[path.length - 1] as string]
    if (value === undefined || value === null) {
      if (required) this.fail(path, 'required: expected a mapping')
      return undefined
    }
    if (!isJsonMap(value)) {
      this.fail(path, `expected a mapping, got ${describe(value)}`)
      return undefined
    }
    return value
  }

  string(
    parent: Json,
    path: readonly PathSegment[],
    options: { required?: boolean; oneOf?: readonly string[] } = {},
  ): string | undefined {
    const value = parent[path[path.length - 1] as string]
    if (value === undefined || value === null || value === '') {
      if (options.required) this.fail(path, 'required: expected a non-empty string')
      return undefined
    }
    if (typeof value !== 'string') {
      this.fail(path, `expected a string, got ${describe(value)}`)
      return undefined
    }
    if (options.oneOf && !options.oneOf.includes(value)) {
      this.fail(path, `expected one of ${options.oneOf.join(', ')}, got '${value}'`)
      return undefined
    }
    return value
  }

  /** A list of mappings; items that are not mappings are reported and left out. */
  objects(
    parent: Json,
    path: readonly PathSegment[],
    required = false,
  ): { item: Json; path: PathSegment[] }[] {
    const list = this.list(parent, path, required)
    const out: { item: Json; path: PathSegment[] }[] = []
    list.forEach((item, i) => {
      if (isJsonMap(item)) out.push({ item, path: [...path, i] })
      else this.fail([...path, i], `expected a mapping, got ${describe(item)}`)
    })
    return out
  }

  strings(
    parent: Json,
    path: readonly PathSegment[],
    options: { required?: boolean; oneOf?: readonly string[] } = {},
  ): string[] {
    const out: string[] = []
    this.list(parent, path, options.required ?? false).forEach((item, i) => {
      if (typeof item !== 'string') this.fail([...path, i], `expected a string, got ${describe(item)}`)
      else if (options.oneOf && !options.oneOf.includes(item))
        this.fail([...path, i], `expected one of ${options.oneOf.join(', ')}, got '${item}'`)
      else out.push(item)
    })
    return out
  }

  private list(parent: Json, path: readonly PathSegment[], required: boolean): unknown[] {
    const value = parent[path[path.length - 1] as string]
    if (value === undefined || value === null) {
      if (required) this.fail(path, 'required: expected a non-empty list')
      return []
    }
    if (!Array.isArray(value)) {
      this.fail(path, `expected a list, got ${describe(value)}`)
      return []
    }
    if (required && value.length === 0) this.fail(path, 'required: expected a non-empty list')
    return value
  }
}
