/**
 * Turns the text of one file into Kubernetes resources. Every document is parsed on its own; a
 * document that cannot be a resource becomes a LoadError with its position, and the rest go on.
 */
import { constructFromEvents, type Event, parseEvents, YAMLException } from 'js-yaml'
import { constructPlain, GIVE_UP } from './construct.js'
import { fastEvents } from './fast-events.js'
import { DocumentLocator } from './locate.js'
import { ownCopy } from './own-copy.js'
import { splitDocuments } from './split.js'
import {
  type DetachedResource,
  type DocumentText,
  groupOf,
  type KubeObject,
  type LoadError,
  type LoadResult,
  type PathSegment,
  type Position,
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
  /**
   * How deeply a document's nodes may nest, counted as js-yaml counts them: each mapping, sequence and
   * scalar on the deepest path is a level, and a document whose root is in flow style (any JSON) has one
   * more. Real manifests stay far below (the deepest document of our real-manifests corpus, a CRD's
   * OpenAPI schema, has 36 levels); deeper input only attacks whatever walks values recursively (js-yaml,
   * the policy engine, structuredClone), and the main thread's stack ends at a few thousand levels.
   * Optional, so that limits written before it still compile; absent means DEFAULT_MAX_DEPTH.
   */
  maxDepth?: number
}

/** js-yaml's own default: every YAML document was held to it before it was a setting. */
export const DEFAULT_MAX_DEPTH = 100

export const DEFAULT_LIMITS: ParseLimits = {
  maxDocumentBytes: 3 * 1024 * 1024,
  maxAliases: 1000,
  maxExpandedNodes: 1_000_000,
  maxDepth: DEFAULT_MAX_DEPTH,
}

/**
 * A NUL in the first 8 KiB makes the whole file binary, as git and grep decide (a NUL is never text, and
 * a YAML stream may not hold one). Invalid UTF-8 does not: it is reported document by document, below.
 */
export function isBinary(text: string): boolean {
  const head = text.length > 8192 ? text.slice(0, 8192) : text
  return head.includes('\u0000')
}

/** String.prototype.isWellFormed (Node 20+), native and nearly free; the ES2023 lib does not declare it. */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed()
}

/** A code unit that no UTF-8 decodes to: a lone surrogate. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Lone surrogates U+DC80..U+DCFF are the invalid bytes 0x80..0xFF, as inputs.ts decodeText keeps them. */
function isEscapedByte(code: number): boolean {
  return code >= 0xdc80 && code <= 0xdcff
}

/**
 * Where `text` (the text of a document, from line `startLine`) holds what was not UTF-8, and the
 * message saying so; undefined when it is all text. Columns count UTF-16 code units, as js-yaml's do.
 */
function invalidText(text: string, startLine: number): { position: Position; message: string } | undefined {
  const m = LONE_SURROGATE.exec(text)
  if (!m) return undefined
  let line = startLine + 1
  let lineStart = 0
  for (let i = text.indexOf('\n'); i >= 0 && i < m.index; i = text.indexOf('\n', i + 1)) {
    line++
    lineStart = i + 1
  }
  const position = { line, column: m.index - lineStart + 1 }
  const at = `at line ${position.line}, column ${position.column}`
  const first = text.charCodeAt(m.index)
  if (!isEscapedByte(first)) {
    const hex = first.toString(16).toUpperCase()
    return { position, message: `invalid text (unpaired surrogate U+${hex}) ${at}: expected UTF-8 text` }
  }
  const bytes: string[] = []
  for (let i = m.index; bytes.length < 4 && isEscapedByte(text.charCodeAt(i)); i++)
    bytes.push(`0x${(text.charCodeAt(i) - 0xdc00).toString(16).toUpperCase()}`)
  const what = bytes.length === 1 ? `byte ${bytes[0]}` : `bytes ${bytes.join(' ')}`
  return { position, message: `invalid UTF-8 (${what}) ${at}: expected UTF-8 text` }
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
  const result = parseDocuments(file, text, limits, undefined)
  if (isNotKubernetes(result)) return { resources: [], errors: result.errors, notKubernetes: true }
  return { resources: result.resources, errors: result.errors }
}

/**
 * parseSource, handing each document's resources to `each` as soon as the document is read, instead of
 * returning them all: a scan evaluates a document and lets it go before reading the next, so that a file
 * of large documents (CRDs of megabytes) is never held whole, parser events and all. Says how many
 * resources it handed over.
 */
export function parseSourceEach(
  file: string,
  text: string,
  limits: ParseLimits,
  each: (resources: Resource[]) => void,
): Omit<LoadResult, 'resources'> & { resources: number } {
  const result = parseDocuments(file, text, limits, each)
  if (isNotKubernetes(result)) return { resources: 0, errors: result.errors, notKubernetes: true }
  return { resources: result.count, errors: result.errors }
}

function isNotKubernetes(result: ParseState): boolean {
  return result.count === 0 && result.errors.length > 0 && !result.sawKubernetes && !result.sawSyntaxError
}

interface ParseState extends LoadResult {
  sawKubernetes: boolean
  sawSyntaxError: boolean
  /** resources read */
  count: number
  /** where each document's resources go, when they are not kept in `resources` */
  each: ((resources: Resource[]) => void) | undefined
}

/** The resources a document added from `first` on: counted, and handed over when they are not kept. */
function added(result: ParseState, first: number, template?: string): void {
  const { resources } = result
  if (template) for (let i = first; i < resources.length; i++) resources[i]!.source.template = template
  result.count += resources.length - first
  if (result.each && resources.length > first) result.each(resources.splice(first))
}

function parseDocuments(
  file: string,
  text: string,
  limits: ParseLimits,
  each: ((resources: Resource[]) => void) | undefined,
): ParseState {
  const result: ParseState = {
    resources: [],
    errors: [],
    sawKubernetes: false,
    sawSyntaxError: false,
    count: 0,
    each,
  }
  if (isBinary(text)) {
    result.sawSyntaxError = true
    result.errors.push({ file, message: 'binary file: expected YAML or JSON text' })
    return result
  }
  if (text.charCodeAt(0) === 0xfeff) text = ` ${text.slice(1)}`
  const wellFormed = isWellFormed(text)
  // What the text is, for the YAML reader's messages: JSON that JSON.parse read but that is refused.
  let syntax = 'YAML'
  if (wellFormed && text.trimStart().startsWith('{')) {
    const json = parseJsonDocument(file, text, limits, result)
    if (json === 'read') return result
    if (json === 'refused') syntax = 'JSON'
  }
  const chunks = splitDocuments(text)
  let invalidDocuments = 0
  chunks.forEach((chunk, documentIndex) => {
    const docPosition = { line: chunk.startLine + 1, column: 1 }
    const fail = (message: string, position = docPosition) =>
      result.errors.push({ file, documentIndex, position, message })
    const invalid = wellFormed ? undefined : invalidText(chunk.text, chunk.startLine)
    if (invalid) {
      // Decided per document, as a broken document is: the file's other documents are still read.
      invalidDocuments++
      result.sawSyntaxError = true
      fail(invalid.message, invalid.position)
      return
    }
    if (chunk.text.length > limits.maxDocumentBytes) {
      result.sawSyntaxError = true
      fail(`document is ${chunk.text.length} bytes, over the ${limits.maxDocumentBytes}-byte limit`)
      return
    }
    let value: unknown
    let events: Event[]
    let fast: boolean
    try {
      ;({ value, events, fast } = loadWithEvents(chunk.text, file, limits))
    } catch (err) {
      if (!(err instanceof YAMLException)) throw err
      result.sawSyntaxError = true
      const mark = err.mark
      const position = mark ? { line: chunk.startLine + mark.line + 1, column: mark.column + 1 } : docPosition
      fail(`invalid ${syntax}: ${yamlErrorMessage(err)}`, position)
      return
    }
    if (value === null || value === undefined) return // an empty document, as kubectl skips it
    if (looksLikeKubernetes(value)) result.sawKubernetes = true
    // fastEvents gives up on aliases, so only js-yaml's values can hold one.
    if (
      !fast &&
      ALIAS.test(chunk.text) &&
      expandedSize(value, limits.maxExpandedNodes) > limits.maxExpandedNodes
    ) {
      result.sawSyntaxError = true
      fail(`aliases expand this document past ${limits.maxExpandedNodes} nodes (an alias bomb?)`)
      return
    }
    const locator = new DocumentLocator(chunk.text, chunk.startLine, events)
    const first = result.resources.length
    addObject(file, documentIndex, value, locator, firstContentLine(chunk.text) + chunk.startLine, result)
    added(result, first, helmSource(chunk.text))
  })
  const outside = wellFormed || invalidDocuments > 0 ? undefined : invalidText(text, 0)
  if (outside) {
    // Only in comments or blank lines between documents; still not text, so said, against the file.
    result.sawSyntaxError = true
    result.errors.push({ file, position: outside.position, message: outside.message })
  }
  return result
}

/**
 * `load`, in its two steps, keeping the parser's events: findings are located on them, so a document
 * with findings is not parsed a second time. Throws YAMLException as `load` does. The events come from
 * fastEvents, the same as js-yaml's for the block YAML manifests are made of, and several times faster;
 * from js-yaml's parser for anything it gives up on (which includes every invalid document).
 */
export function loadWithEvents(
  text: string,
  file: string,
  limits: ParseLimits,
): { value: unknown; events: Event[]; fast: boolean } {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH
  const fast = fastEvents(text, maxDepth)
  if (fast) {
    const value = constructPlain(text, fast)
    if (value !== GIVE_UP) return { value, events: fast, fast: true }
  }
  const events = fast ?? parseEvents(text, { filename: file, maxDepth })
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
  return { value: documents[0], events, fast: false }
}

/**
 * A file that is one JSON value is read with JSON.parse (faster than YAML, same value): 'read'. When it
 * is not valid JSON, 'not JSON', so the YAML reader (a superset) gets to report the problem. JSON.parse
 * takes what the YAML reader refuses, a key given twice (the last wins) and nesting of any depth: such a
 * text is 'refused' and left to the YAML reader too, which says where the problem is. Refused rather
 * than read with the last key winning, because the API server's strict field validation (kubectl's
 * default) refuses a duplicate field as well, because a YAML file with the same mapping is refused, and
 * because a JSON file must not reach the engine nested deeper than a YAML file may be.
 */
function parseJsonDocument(
  file: string,
  text: string,
  limits: ParseLimits,
  result: ParseState,
): 'read' | 'not JSON' | 'refused' {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return 'not JSON'
  }
  if (text.length > limits.maxDocumentBytes) {
    result.errors.push({
      file,
      documentIndex: 0,
      position: { line: 1, column: 1 },
      message: `document is ${text.length} bytes, over the ${limits.maxDocumentBytes}-byte limit`,
    })
    return 'read'
  }
  if (!readsAsYaml(value, text, limits.maxDepth ?? DEFAULT_MAX_DEPTH)) return 'refused'
  if (looksLikeKubernetes(value)) result.sawKubernetes = true
  addObject(file, 0, value, new DocumentLocator(text, 0), firstContentLine(text), result)
  added(result, 0)
  return 'read'
}

/**
 * Whether the YAML reader takes this JSON text, which JSON.parse read as `value`, as JSON.parse did: no
 * key twice (the text has as many members as the value has) and no deeper than `maxDepth` as js-yaml
 * counts (see ParseLimits.maxDepth). For js-yaml, a mapping or sequence d levels down is at d + 1 (the
 * flow-style root adds one) and its keys and items, if it has any, at d + 2.
 */
function readsAsYaml(value: unknown, text: string, maxDepth: number): boolean {
  let members = 0
  const containers: unknown[] = [value]
  const depths: number[] = [1]
  const push = (child: unknown, depth: number) => {
    if (child !== null && typeof child === 'object') {
      containers.push(child)
      depths.push(depth)
    }
  }
  while (containers.length > 0) {
    const container = containers.pop()!
    const depth = depths.pop()!
    let children = 0
    if (Array.isArray(container)) {
      children = container.length
      for (let i = 0; i < children; i++) push(container[i], depth + 1)
    } else {
      // for-in, not Object.values: no array per object, and twice as fast on a large value
      for (const key in container as Record<string, unknown>) {
        children++
        push((container as Record<string, unknown>)[key], depth + 1)
      }
      members += children
    }
    if (depth + (children > 0 ? 2 : 1) > maxDepth) return false
  }
  return members === jsonMembers(text)
}

/**
 * The `"key": value` members of a JSON text, duplicates included: its colons outside strings. Native
 * searches only (a loop over every character costs as much as JSON.parse); each search starts past the
 * last, so the count is linear in the text.
 */
function jsonMembers(text: string): number {
  let count = 0
  let colon = text.indexOf(':')
  let i = 0
  for (;;) {
    const open = text.indexOf('"', i)
    const end = open < 0 ? text.length : open
    while (colon >= 0 && colon < end) {
      count++
      colon = text.indexOf(':', colon + 1)
    }
    if (open < 0) return count
    let close = text.indexOf('"', open + 1)
    while (close > 0 && isEscaped(text, close)) close = text.indexOf('"', close + 1)
    if (close < 0) return count
    i = close + 1
    // a colon inside the string is none
    if (colon >= 0 && colon < i) colon = text.indexOf(':', i)
  }
}

/** Whether the character at `at` follows an odd run of backslashes. */
function isEscaped(text: string, at: number): boolean {
  let n = 0
  while (text.charCodeAt(at - 1 - n) === 92 /* backslash */) n++
  return n % 2 === 1
}

/**
 * `helm template` heads each document with `# Source: <chart>/templates/<file>`; the comment sits in the
 * document's preamble, before its first key.
 */
function helmSource(text: string): string | undefined {
  const head = text.slice(0, 4096)
  // The expression costs a tenth of the parse when run on every document; the word is rare.
  if (!head.includes('Source:')) return undefined
  const m =
    /^(?:[ \t]*(?:-{3}[ \t]*)?(?:#(?![ \t]*Source:)[^\n]*)?\r?\n)*[ \t]*#[ \t]*Source:[ \t]*(\S[^\r\n]*?)[ \t]*\r?$/m.exec(
      head,
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
  // Field by field: a spread with properties beside it costs V8 a microsecond, on every resource.
  const resource: Resource = {
    apiVersion: data.apiVersion,
    kind: data.kind,
    group: data.group,
    name: data.name,
    object: data.object,
    source: data.source,
    locate:
      prefix.length === 0 ? (path) => locator.locate(path) : (path) => locator.locate([...prefix, ...path]),
    // A copy: the parser's strings are slices of the whole file's text, and keeping one would keep every
    // file of the run alive. The object is kept, not read again from the text: a re-read costs as much as
    // the first, and could only disagree with it.
    detach: (paths = []) => ({
      ...ownCopy(data),
      document: locator.detach(prefix.length === 0 ? paths : paths.map((p) => [...prefix, ...p])),
      prefix,
    }),
  }
  if (data.namespace !== undefined) resource.namespace = data.namespace
  return resource
}

/**
 * The locator of the document attached last: the items of a List come one after another and share their
 * document (one DocumentText per document, see DocumentLocator.detach), so its events are parsed once,
 * not once per item.
 * One, not one per document, so that memory does not grow with the input.
 */
let lastAttached: { document: DocumentText; locator: DocumentLocator } | undefined

/** The resource again, positions and all (its document's events are parsed only if a position is asked). */
export function attach(data: DetachedResource): Resource {
  if (!data.document) return { ...data, locate: () => data.source.position, detach: () => data }
  const { document, prefix, ...identity } = data
  if (lastAttached?.document !== document) {
    const locator = new DocumentLocator(document.text, document.lineOffset, undefined, document.positions)
    lastAttached = { document, locator }
  }
  return withLocator(identity, lastAttached.locator, prefix)
}
