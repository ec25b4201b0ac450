/**
 * Turns the text of one file into Kubernetes resources. Every document is parsed on its own; a
 * document that cannot be a resource becomes a LoadError with its position, and the rest go on.
 */
import { constructFromEvents, type Event, parseEvents, YAMLException } from 'js-yaml'
import { DocumentLocator } from './locate.js'
import { splitDocuments } from './split.js'
import {
  type DetachedResource,
  groupOf,
  type KubeObject,
  type LoadError,
  type LoadResult,
  type PathSegment,
  type Resource,
  type ResourceData,
} from './types.js'
import { KUBERNETES_YAML_SCHEMA } from './yaml-schema.js'

export interface ParseLimits {
  /** Largest document accepted, in bytes of text. The API server refuses requests over 3 MiB. */
  maxDocumentBytes: number
  /** Alias nodes a document may use before it is treated as an alias bomb. */
  maxAliases: number
  /** Nodes a document may expand to through aliases. */
  maxExpandedNodes: number
}

export const DEFAULT_LIMITS: ParseLimits = {
  maxDocumentBytes: 3 * 1024 * 1024,
  maxAliases: 1000,
  maxExpandedNodes: 1_000_000,
}

export function isBinary(text: string): boolean {
  // NUL or U+FFFD (what a UTF-8 decode makes of invalid bytes) in the first 8 KiB: not a manifest.
  const head = text.length > 8192 ? text.slice(0, 8192) : text
  return head.includes('\u0000') || head.includes('\uFFFD')
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return `a ${typeof value}`
}

/** An alias (`*name`) outside quotes; `verbs: ["*"]` is not one. */
const ALIAS = /(?:^|[\s[{,:])\*[^\s,\]}]/m

/** Counts nodes as a consumer walking the value would see them, stopping once over `budget`. */
function expandedSize(value: unknown, budget: number): number {
  let count = 0
  const stack: unknown[] = [value]
  while (stack.length > 0 && count <= budget) {
    const v = stack.pop()
    count++
    if (Array.isArray(v)) for (const x of v) stack.push(x)
    else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) stack.push(x)
  }
  return count
}

function yamlErrorMessage(err: YAMLException): string {
  return err.reason || err.message.split('\n')[0] || 'invalid YAML'
}

function looksLikeKubernetes(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    ('apiVersion' in value || 'kind' in value)
  )
}

export function parseSource(file: string, text: string, limits: ParseLimits = DEFAULT_LIMITS): LoadResult {
  const result = parseDocuments(file, text, limits)
  if (
    result.resources.length === 0 &&
    result.errors.length > 0 &&
    !result.sawKubernetes &&
    !result.sawSyntaxError
  ) {
    return { resources: [], errors: result.errors, notKubernetes: true }
  }
  return { resources: result.resources, errors: result.errors }
}

interface ParseState extends LoadResult {
  sawKubernetes: boolean
  sawSyntaxError: boolean
}

function parseDocuments(file: string, text: string, limits: ParseLimits): ParseState {
  const result: ParseState = { resources: [], errors: [], sawKubernetes: false, sawSyntaxError: false }
  if (isBinary(text)) {
    result.sawSyntaxError = true
    result.errors.push({ file, message: 'binary file: expected YAML or JSON text' })
    return result
  }
  if (text.charCodeAt(0) === 0xfeff) text = ` ${text.slice(1)}`
  const trimmedStart = text.trimStart()
  if (trimmedStart.startsWith('{') && parseJsonDocument(file, text, limits, result)) return result
  const chunks = splitDocuments(text)
  chunks.forEach((chunk, documentIndex) => {
    const docPosition = { line: chunk.startLine + 1, column: 1 }
    const fail = (message: string, position = docPosition) =>
      result.errors.push({ file, documentIndex, position, message })
    if (chunk.text.length > limits.maxDocumentBytes) {
      result.sawSyntaxError = true
      fail(`document is ${chunk.text.length} bytes, over the ${limits.maxDocumentBytes}-byte limit`)
      return
    }
    let value: unknown
    let events: Event[]
    try {
      ;({ value, events } = loadWithEvents(chunk.text, file, limits))
    } catch (err) {
      if (!(err instanceof YAMLException)) throw err
      result.sawSyntaxError = true
      const mark = err.mark
      const position = mark ? { line: chunk.startLine + mark.line + 1, column: mark.column + 1 } : docPosition
      fail(`invalid YAML: ${yamlErrorMessage(err)}`, position)
      return
    }
    if (value === null || value === undefined) return // an empty document, as kubectl skips it
    if (looksLikeKubernetes(value)) result.sawKubernetes = true
    if (ALIAS.test(chunk.text) && expandedSize(value, limits.maxExpandedNodes) > limits.maxExpandedNodes) {
      result.sawSyntaxError = true
      fail(`aliases expand this document past ${limits.maxExpandedNodes} nodes (an alias bomb?)`)
      return
    }
    const locator = new DocumentLocator(chunk.text, chunk.startLine, events)
    const first = result.resources.length
    addObject(file, documentIndex, value, locator, firstContentLine(chunk.text) + chunk.startLine, result)
    const template = helmSource(chunk.text)
    if (template) for (const r of result.resources.slice(first)) r.source.template = template
  })
  return result
}

/**
 * `load`, in its two steps, keeping the parser's events: findings are located on them, so a document
 * with findings is not parsed a second time.
 */
function loadWithEvents(
  text: string,
  file: string,
  limits: ParseLimits,
): { value: unknown; events: Event[] } {
  const events = parseEvents(text, { filename: file })
  const documents = constructFromEvents(events, {
    schema: KUBERNETES_YAML_SCHEMA,
    filename: file,
    maxAliases: limits.maxAliases,
    source: text,
  })
  // What `load` says of a chunk that is not exactly one document.
  if (documents.length === 0) throw new YAMLException('expected a document, but the input is empty')
  if (documents.length > 1)
    throw new YAMLException('expected a single document in the stream, but found more')
  return { value: documents[0], events }
}

/**
 * A file that is one JSON value is read with JSON.parse (faster than YAML, same value). Returns false
 * when it is not valid JSON, so the YAML reader (a superset) gets to report the problem.
 */
function parseJsonDocument(file: string, text: string, limits: ParseLimits, result: ParseState): boolean {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return false
  }
  if (text.length > limits.maxDocumentBytes) {
    result.errors.push({
      file,
      documentIndex: 0,
      position: { line: 1, column: 1 },
      message: `document is ${text.length} bytes, over the ${limits.maxDocumentBytes}-byte limit`,
    })
    return true
  }
  if (looksLikeKubernetes(value)) result.sawKubernetes = true
  addObject(file, 0, value, new DocumentLocator(text, 0), firstContentLine(text), result)
  return true
}

/**
 * `helm template` heads each document with `# Source: <chart>/templates/<file>`; the comment sits in the
 * document's preamble, before its first key.
 */
function helmSource(text: string): string | undefined {
  const m =
    /^(?:[ \t]*(?:-{3}[ \t]*)?(?:#(?![ \t]*Source:)[^\n]*)?\r?\n)*[ \t]*#[ \t]*Source:[ \t]*(\S[^\r\n]*?)[ \t]*\r?$/m.exec(
      text.slice(0, 4096),
    )
  return m?.[1]
}

/** 1-based line of the first line that is not blank, a comment or a document marker. */
function firstContentLine(text: string): number {
  const m = /^(?:(?:[ \t\r]*(?:#[^\n]*)?|[ \t]*-{0,3}[ \t]*(?:#[^\n]*)?)\n)*/.exec(text)
  let line = 1
  for (let i = 0; i < (m?.[0].length ?? 0); i++) if (text.charCodeAt(i) === 10) line++
  return line
}

function addObject(
  file: string,
  documentIndex: number,
  value: unknown,
  locator: DocumentLocator,
  line: number,
  out: LoadResult,
) {
  const error = (message: string, path: PathSegment[] = []): LoadError => ({
    file,
    documentIndex,
    position: locator.locate(path),
    message,
  })
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    out.errors.push(error(`expected a mapping with apiVersion and kind, got ${describe(value)}`))
    return
  }
  const obj = value as KubeObject
  const missing = checkTypeMeta(obj)
  if (missing) {
    out.errors.push(error(missing))
    return
  }
  const kind = obj.kind as string
  if (kind.endsWith('List') && Array.isArray(obj.items)) {
    // `kind: List` and typed lists (PodList...): items of a typed list may omit apiVersion/kind.
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -4)
    obj.items.forEach((item: unknown, itemIndex: number) => {
      const path = ['items', itemIndex]
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        out.errors.push(error(`list item ${itemIndex}: expected a mapping, got ${describe(item)}`, path))
        return
      }
      const it = item as KubeObject
      if (itemKind && it.kind === undefined) it.kind = itemKind
      if (itemKind && it.apiVersion === undefined) it.apiVersion = obj.apiVersion
      const itemMissing = checkTypeMeta(it)
      if (itemMissing) {
        out.errors.push(error(`list item ${itemIndex}: ${itemMissing}`, path))
        return
      }
      out.resources.push(
        makeResource(file, documentIndex, it, locator, path, locator.locate(path).line, itemIndex),
      )
    })
    return
  }
  out.resources.push(makeResource(file, documentIndex, obj, locator, [], line, undefined))
}

function checkTypeMeta(obj: KubeObject): string | undefined {
  const problems: string[] = []
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') problems.push('apiVersion')
  if (typeof obj.kind !== 'string' || obj.kind === '') problems.push('kind')
  if (problems.length === 0) return undefined
  return `not a Kubernetes resource: missing or empty ${problems.join(' and ')} (a string)`
}

function makeResource(
  file: string,
  documentIndex: number,
  obj: KubeObject,
  locator: DocumentLocator,
  prefix: PathSegment[],
  line: number,
  itemIndex: number | undefined,
): Resource {
  const meta = (obj.metadata ?? {}) as KubeObject
  const apiVersion = obj.apiVersion as string
  const data: ResourceData = {
    apiVersion,
    kind: obj.kind as string,
    group: groupOf(apiVersion),
    name:
      typeof meta.name === 'string'
        ? meta.name
        : typeof meta.generateName === 'string'
          ? `${meta.generateName}*`
          : '',
    object: obj,
    source: { file, documentIndex, position: { line, column: 1 } },
  }
  if (typeof meta.namespace === 'string') data.namespace = meta.namespace
  if (itemIndex !== undefined) data.source.itemIndex = itemIndex
  return withLocator(data, locator, prefix)
}

function withLocator(data: ResourceData, locator: DocumentLocator, prefix: PathSegment[]): Resource {
  return {
    ...data,
    locate:
      prefix.length === 0 ? (path) => locator.locate(path) : (path) => locator.locate([...prefix, ...path]),
    // A copy: the parser's strings are slices of the whole file's text, and keeping one would keep every
    // file of the run alive. The object is kept, not read again from the text: a re-read costs as much as
    // the first, and could only disagree with it.
    detach: (paths = []) => ({
      ...structuredClone(data),
      document: locator.detach(prefix.length === 0 ? paths : paths.map((p) => [...prefix, ...p])),
      prefix,
    }),
  }
}

/** The resource again, positions and all (its document's events are parsed only if a position is asked). */
export function attach(data: DetachedResource): Resource {
  if (!data.document) return { ...data, locate: () => data.source.position, detach: () => data }
  const { document, prefix, ...identity } = data
  return withLocator(
    identity,
    new DocumentLocator(document.text, document.lineOffset, undefined, document.positions),
    prefix,
  )
}
