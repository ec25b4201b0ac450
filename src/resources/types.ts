/** Where a resource, or a problem with one, came from. Lines and columns are 1-based. */
export interface Position {
  line: number
  column: number
}

export interface SourceRef {
  /** The path as the user gave it (or `<stdin>`). */
  file: string
  /** 0-based index of the YAML document within the file. */
  documentIndex: number
  /** Index within a `kind: List` (or any `*List`), when the resource was one of its items. */
  itemIndex?: number
  /** Position of the resource's first line. */
  position: Position
  /** The chart template a document came from, when `helm template` says so (`# Source: chart/templates/x.yaml`). */
  template?: string
}

/** One segment of a field path: a mapping key or a sequence index. */
export type PathSegment = string | number

export type KubeObject = Record<string, unknown>

/** What is known of a resource, as plain data. */
export interface ResourceData {
  apiVersion: string
  kind: string
  /** API group: '' for the core group. */
  group: string
  name: string
  namespace?: string
  object: KubeObject
  source: SourceRef
}

export interface Resource extends ResourceData {
  /** Position of the deepest existing node along `path` (relative to the resource); computed on demand. */
  locate(path: readonly PathSegment[]): Position
  /**
   * Makes the resource plain data (to keep past its file, or to send to another thread); see parse.ts.
   * `paths` (relative to the resource) are located first, so that they need no parse later.
   */
  detach(paths?: readonly (readonly PathSegment[])[]): DetachedResource
}

/**
 * The YAML document a resource came from: enough to read the resource again, with positions. One object
 * per document, shared by the items of a List (so a thread message carries its text once).
 */
export interface DocumentText {
  text: string
  /** 0-based line of the text's first line within its file */
  lineOffset: number
  /** Positions located while the document was first read, keyed by the path's JSON. */
  positions?: Record<string, Position>
}

/**
 * A resource as plain data, to keep past its file or to send to another thread: a copy of its object and,
 * from a file, the text of its document (to give positions again).
 */
export type DetachedResource =
  | (ResourceData & {
      document: DocumentText
      /** where the resource sits in the document: [] or, for an item of a List, ['items', i] */
      prefix: PathSegment[]
    })
  | (ResourceData & { document?: undefined })

/** A document or file that could not be read as a Kubernetes resource. Other documents still scan. */
export interface LoadError {
  file: string
  documentIndex?: number
  position?: Position
  message: string
}

export interface LoadResult {
  resources: Resource[]
  errors: LoadError[]
  /**
   * True when the text parsed but no document in it looks like a Kubernetes object (none has an
   * apiVersion or a kind): a values.yaml, a package.json. Callers may skip such files when the user did
   * not name them explicitly.
   */
  notKubernetes?: boolean
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? '' : apiVersion.slice(0, slash)
}

/** `spec.containers[0].image` style rendering of a path. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`
    else out += `[${JSON.stringify(seg)}]`
  }
  return out
}

/** Inverse of formatPath; throws on malformed input. */
export function parsePath(text: string): PathSegment[] {
  const out: PathSegment[] = []
  const re = /\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y
  let i = 0
  while (i < text.length) {
    re.lastIndex = i
    const m = re.exec(text)
    if (!m || (m[0].startsWith('.') && i === 0))
      throw new Error(`malformed field path '${text}' at offset ${i}`)
    if (m[1] !== undefined) out.push(m[1])
    else if (m[2] !== undefined) out.push(Number(m[2]))
    else out.push(JSON.parse(m[3]!) as string)
    i = re.lastIndex
  }
  return out
}
