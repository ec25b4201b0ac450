/**
 * RFC 6902 JSON Patch applied to plain JSON, with the behaviour of the Go library Kubernetes and Kyverno
 * apply patches with (gopkg.in/evanphx/json-patch): `replace` needs its target to exist, `remove` of a
 * missing path is an error unless allowed, negative array indices count from the end, and a failed
 * `test` is told apart from other errors (a MutatingAdmissionPolicy then leaves the object as it was).
 * Kyverno's `patchesJson6902` applies with the library's lenient options (missing paths created on
 * `add`, ignored on `remove`), hence the options.
 */
import { isJsonMap } from './json-map.js'

export interface JsonPatchOperation {
  op: string
  path: string
  value?: unknown
  from?: string
}

export interface JsonPatchOptions {
  /** `-1` is the last element (default true, as the library's default) */
  supportNegativeIndices?: boolean
  /** `remove` of a path that does not exist does nothing (default false) */
  allowMissingPathOnRemove?: boolean
  /** `add` creates the missing objects (and arrays, before an index) on its path (default false) */
  ensurePathExistsOnAdd?: boolean
}

export class JsonPatchError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'JsonPatchError'
  }
}

/** A `test` operation that did not hold. */
export class JsonPatchTestFailed extends JsonPatchError {
  constructor(message: string) {
    super(message)
    this.name = 'JsonPatchTestFailed'
  }
}

/** A key as a JSON pointer segment: `~` as `~0`, `/` as `~1` (Kubernetes' `jsonpatch.escapeKey`). */
export function escapeJsonPointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1')
}

export function parseJsonPointer(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/'))
    throw new JsonPatchError(`invalid JSON pointer '${pointer}': must start with /`)
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

type Container = Record<string, unknown> | unknown[]

function clone<T>(value: T): T {
  return value === undefined ? value : (structuredClone(value) as T)
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]))
  if (isJsonMap(a) && isJsonMap(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k], b[k]))
  }
  return false
}

class Patcher {
  constructor(
    private root: unknown,
    private readonly options: Required<JsonPatchOptions>,
  ) {}

  result(): unknown {
    return this.root
  }

  private index(container: unknown[], key: string, path: string, forAdd: boolean): number {
    if (forAdd && key === '-') return container.length
    if (!/^-?\d+$/.test(key)) throw new JsonPatchError(`invalid array index '${key}' in path ${path}`)
    let i = Number(key)
    if (i < 0) {
      if (!this.options.supportNegativeIndices)
        throw new JsonPatchError(`negative array index in path ${path}`)
      i += container.length
    }
    const max = forAdd ? container.length : container.length - 1
    if (i < 0 || i > max) throw new JsonPatchError(`array index ${key} out of bounds in path ${path}`)
    return i
  }

  /** The container holding the last segment of `path`, or undefined when a parent is missing. */
  private parent(segments: string[], path: string, create: boolean): Container | undefined {
    let node = this.root
    for (let i = 0; i < segments.length - 1; i++) {
      const key = segments[i]!
      let next: unknown
      if (Array.isArray(node)) next = node[this.index(node, key, path, false)]
      else if (isJsonMap(node)) next = node[key]
      else return undefined
      if ((next === undefined || next === null) && create && isJsonMap(node)) {
        next = /^(\d+|-)$/.test(segments[i + 1]!) ? [] : {}
        node[key] = next
      }
      if (next === undefined) return undefined
      node = next
    }
    return Array.isArray(node) || isJsonMap(node) ? node : undefined
  }

  get(path: string): unknown {
    const segments = parseJsonPointer(path)
    if (segments.length === 0) return this.root
    const parent = this.parent(segments, path, false)
    const key = segments.at(-1)!
    if (Array.isArray(parent)) return parent[this.index(parent, key, path, false)]
    if (parent && Object.hasOwn(parent, key)) return parent[key]
    throw new JsonPatchError(`path ${path} does not exist`)
  }

  add(path: string, value: unknown): void {
    const segments = parseJsonPointer(path)
    if (segments.length === 0) {
      this.root = value
      return
    }
    const parent = this.parent(segments, path, this.options.ensurePathExistsOnAdd)
    if (!parent) throw new JsonPatchError(`add operation does not apply: doc is missing path: ${path}`)
    const key = segments.at(-1)!
    if (Array.isArray(parent)) parent.splice(this.index(parent, key, path, true), 0, value)
    else parent[key] = value
  }

  remove(path: string): unknown {
    const segments = parseJsonPointer(path)
    const parent = segments.length === 0 ? undefined : this.parent(segments, path, false)
    const key = segments.at(-1) ?? ''
    const missing = () => {
      if (this.options.allowMissingPathOnRemove) return undefined
      throw new JsonPatchError(`remove operation does not apply: doc is missing path: ${path}`)
    }
    if (Array.isArray(parent)) {
      if (this.options.allowMissingPathOnRemove && !/^-?\d+$/.test(key)) return undefined
      let i: number
      try {
        i = this.index(parent, key, path, false)
      } catch (err) {
        if (this.options.allowMissingPathOnRemove) return undefined
        throw err
      }
      return parent.splice(i, 1)[0]
    }
    if (!parent || !Object.hasOwn(parent, key)) return missing()
    const old = parent[key]
    delete parent[key]
    return old
  }

  replace(path: string, value: unknown): void {
    const segments = parseJsonPointer(path)
    if (segments.length === 0) {
      this.root = value
      return
    }
    const parent = this.parent(segments, path, false)
    const key = segments.at(-1)!
    if (Array.isArray(parent)) parent[this.index(parent, key, path, false)] = value
    else if (parent && Object.hasOwn(parent, key)) parent[key] = value
    else throw new JsonPatchError(`replace operation does not apply: doc is missing key: ${path}`)
  }

  apply(op: JsonPatchOperation): void {
    const from = () => {
      if (typeof op.from !== 'string') throw new JsonPatchError(`${op.op} operation needs 'from'`)
      return op.from
    }
    const value = () => {
      if (!('value' in op)) throw new JsonPatchError(`${op.op} operation needs a value`)
      return clone(op.value)
    }
    switch (op.op) {
      case 'add':
        this.add(op.path, value())
        return
      case 'remove':
        this.remove(op.path)
        return
      case 'replace':
        this.replace(op.path, value())
        return
      case 'move': {
        const source = from()
        if (op.path.startsWith(`${source}/`))
          throw new JsonPatchError(`move operation cannot move ${source} into its own child ${op.path}`)
        const moved = this.get(source)
        this.remove(source)
        this.add(op.path, moved)
        return
      }
      case 'copy':
        this.add(op.path, clone(this.get(from())))
        return
      case 'test': {
        let actual: unknown
        try {
          actual = this.get(op.path)
        } catch {
          actual = undefined
        }
        if (!jsonEqual(actual, op.value ?? null))
          throw new JsonPatchTestFailed(`testing value ${op.path} failed: test failed`)
        return
      }
      default:
        throw new JsonPatchError(`unexpected operation '${op.op}'`)
    }
  }
}

/** The document with the operations applied in order; `doc` is left untouched. Throws JsonPatchError. */
export function applyJsonPatch(
  doc: unknown,
  operations: readonly JsonPatchOperation[],
  options: JsonPatchOptions = {},
): unknown {
  const patcher = new Patcher(clone(doc), {
    supportNegativeIndices: options.supportNegativeIndices ?? true,
    allowMissingPathOnRemove: options.allowMissingPathOnRemove ?? false,
    ensurePathExistsOnAdd: options.ensurePathExistsOnAdd ?? false,
  })
  for (const op of operations) patcher.apply(op)
  return patcher.result()
}
