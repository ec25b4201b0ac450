/**
 * The pod-template table: where each workload kind keeps its pod spec. It is data
 * (policies/pod-templates.yaml), extended by users with their own kinds.
 */
import { readFileSync } from 'node:fs'
import { load } from 'js-yaml'
import { type KubeObject, type PathSegment, parsePath } from './types.js'
import { KUBERNETES_YAML_SCHEMA } from './yaml-schema.js'

export interface PodTemplateLocation {
  apiGroup: string
  kind: string
  podSpec: PathSegment[]
  podMetadata: PathSegment[]
}

export class PodTemplateTable {
  /** By group, then kind: a lookup (several per resource) makes no key string. */
  private readonly byGroup = new Map<string, Map<string, PodTemplateLocation>>()

  constructor(entries: readonly PodTemplateLocation[] = []) {
    for (const e of entries) this.add(e)
  }

  add(entry: PodTemplateLocation): void {
    let kinds = this.byGroup.get(entry.apiGroup)
    if (!kinds) {
      kinds = new Map()
      this.byGroup.set(entry.apiGroup, kinds)
    }
    kinds.set(entry.kind, entry)
  }

  lookup(group: string, kind: string): PodTemplateLocation | undefined {
    return this.byGroup.get(group)?.get(kind)
  }

  /** Reads a table file; throws an Error naming the file and entry for a malformed one. */
  static parse(file: string, text: string): PodTemplateLocation[] {
    const data = load(text, { schema: KUBERNETES_YAML_SCHEMA, filename: file })
    if (!Array.isArray(data))
      throw new Error(`${file}: expected a list of {apiGroup, kind, podSpec, podMetadata}`)
    return data.map((raw: unknown, i: number) => {
      const e = (raw ?? {}) as KubeObject
      const where = `${file}: entry ${i + 1}`
      for (const field of ['kind', 'podSpec', 'podMetadata'] as const) {
        if (typeof e[field] !== 'string' || e[field] === '')
          throw new Error(`${where}: '${field}' must be a non-empty string`)
      }
      if (e.apiGroup !== undefined && typeof e.apiGroup !== 'string')
        throw new Error(`${where}: 'apiGroup' must be a string`)
      try {
        return {
          apiGroup: (e.apiGroup as string | undefined) ?? '',
          kind: e.kind as string,
          podSpec: parsePath(e.podSpec as string),
          podMetadata: parsePath(e.podMetadata as string),
        }
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`)
      }
    })
  }

  static fromFiles(files: readonly string[]): PodTemplateTable {
    const table = new PodTemplateTable()
    for (const f of files) for (const e of PodTemplateTable.parse(f, readFileSync(f, 'utf8'))) table.add(e)
    return table
  }
}

export function getPath(obj: unknown, path: readonly PathSegment[]): unknown {
  let cur = obj
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string | number, unknown>)[seg]
  }
  return cur
}
