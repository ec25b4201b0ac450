/**
 * Mutating policies in a scan: each resource is mutated as admission would mutate it (adapters/mutator.ts)
 * and the checks judge the result, as the API server would store it. What each policy changed is kept for
 * the reports, per resource.
 *
 * A finding on the mutated resource still points into the file as written: its path is followed through
 * the mutated object and the one in the file together (a list item by its `name` when items have one, so
 * that a container a mutation put in front is not taken for the one written first), and located at the
 * deepest field of it the file holds. A field only a mutation added is located at its nearest ancestor
 * the file holds (the container, the pod spec, at worst the resource's first line), as a missing field
 * always is.
 */
import type { MutationOutcome, MutationStep, Mutator } from '../policy/adapters/mutator.js'
import { isJsonMap, type JsonMap } from '../policy/json-map.js'
import { jsonEqual } from '../policy/json-patch.js'
import { ownCopy } from '../resources/own-copy.js'
import { loadWithEvents, type ParseLimits, parseSourceEach } from '../resources/parse.js'
import { splitDocuments } from '../resources/split.js'
import type { DetachedResource, LoadError, PathSegment, Position, Resource } from '../resources/types.js'
import { writeYaml } from '../resources/yaml-writer.js'

/** What the mutating policies changed in one resource, for the reports. */
/** Which resource a report's entry (its mutations, or what --as-server changed) is about, and where it starts. */
export interface ReportedResource {
  resource: { apiVersion: string; kind: string; name: string; namespace?: string }
  location: { file: string; line: number; documentIndex: number; template?: string }
}

export function reportedResource(resource: Resource): ReportedResource {
  const out: ReportedResource = {
    resource: { apiVersion: resource.apiVersion, kind: resource.kind, name: resource.name },
    location: {
      file: resource.source.file,
      line: resource.source.position.line,
      documentIndex: resource.source.documentIndex,
    },
  }
  if (resource.namespace !== undefined) out.resource.namespace = resource.namespace
  if (resource.source.template) out.location.template = resource.source.template
  return out
}

export interface ResourceMutations extends ReportedResource {
  /** each policy (and rule, or binding) that changed the resource or failed on it, in the order they ran */
  mutations: MutationStep[]
}

/** The path in the object as written that `path` in the mutated object stands for, as far as both have it. */
export function writtenPath(path: readonly PathSegment[], mutated: unknown, written: unknown): PathSegment[] {
  const out: PathSegment[] = []
  let m = mutated
  let w = written
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (!Array.isArray(m) || !Array.isArray(w)) return [...out, seg]
      const at = writtenIndex(m, w, seg)
      if (at === undefined) return out
      out.push(at)
      m = m[seg]
      w = w[at]
      continue
    }
    out.push(seg)
    if (!isJsonMap(m) || !isJsonMap(w) || !(seg in w)) return out
    m = m[seg]
    w = w[seg]
  }
  return out
}

/** Where the item at `index` of a mutated list was written: by name, else where it sits if the list kept its length. */
function writtenIndex(mutated: unknown[], written: unknown[], index: number): number | undefined {
  const item = mutated[index]
  if (isJsonMap(item) && typeof item.name === 'string') {
    const at = written.findIndex((x) => isJsonMap(x) && x.name === item.name)
    return at < 0 ? undefined : at
  }
  if (index < written.length && (mutated.length === written.length || jsonEqual(item, written[index])))
    return index
  return undefined
}

/** The resource with its mutated object, its positions those of the file as written. */
export function mutatedResource(resource: Resource, object: JsonMap): Resource {
  const locate = (path: readonly PathSegment[]): Position =>
    resource.locate(writtenPath(path, object, resource.object))
  const detach = (paths: readonly (readonly PathSegment[])[] = []): DetachedResource => {
    const detached = resource.detach(paths.map((p) => writtenPath(p, object, resource.object)))
    if (!detached.document) return { ...detached, object: ownCopy(object) }
    // Its own positions, keyed by the mutated paths: the written text is read again on attach.
    const positions: Record<string, Position> = {}
    for (const p of paths) positions[JSON.stringify([...detached.prefix, ...p])] = locate(p)
    const { text, lineOffset } = detached.document
    return { ...detached, object: ownCopy(object), document: { text, lineOffset, positions } }
  }
  const out: Resource = {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    group: resource.group,
    name: resource.name,
    object,
    source: resource.source,
    locate,
    detach,
  }
  if (resource.namespace !== undefined) out.namespace = resource.namespace
  return out
}

/** What the outcome changed in the resource, for the reports. */
function described(resource: Resource, outcome: MutationOutcome): ResourceMutations {
  // Copies: the parser's strings are slices of the file's text, which they would keep alive.
  return { ...reportedResource(resource), mutations: ownCopy(outcome.steps) }
}

/** Whether a policy changed the resource (rather than only failing on it). */
function changedBy(outcome: MutationOutcome): boolean {
  return outcome.steps.some((s) => s.patch.length > 0)
}

/** The resource to check (mutated when a policy changed it), and what was changed, when anything was. */
export function mutateForScan(
  mutator: Mutator,
  resource: Resource,
): { resource: Resource; mutations?: ResourceMutations } {
  const outcome = mutator.mutate(resource)
  if (!outcome) return { resource }
  return {
    resource: changedBy(outcome) ? mutatedResource(resource, outcome.object) : resource,
    mutations: described(resource, outcome),
  }
}

/** One document of a file, as `plimsoll mutate` writes it. */
export interface MutatedDocument {
  /** the YAML text, ending in a line break, without a `---` before it */
  text: string
  changed: boolean
  /** what was changed (or failed), per resource of the document */
  mutations: ResourceMutations[]
}

export interface MutatedSource {
  /** the documents that hold resources, in file order (broken and empty ones are left out) */
  documents: MutatedDocument[]
  errors: LoadError[]
  resources: number
  notKubernetes?: boolean
}

/** Lines of comments and blank lines before a document's first content line (Helm's `# Source:`). */
function leadingComments(text: string): string {
  const lines = text.split('\n')
  let n = 0
  while (n < lines.length && /^\s*(#.*)?$/.test(lines[n]!)) n++
  return lines
    .slice(0, n)
    .filter((l) => l.trim() !== '')
    .map((l) => `${l.trim()}\n`)
    .join('')
}

/** A document left as it was written: its text, less the `---` before it and trailing blank lines. */
function asWritten(raw: string): string {
  let text = raw
  if (text.startsWith('---')) {
    const end = text.indexOf('\n')
    const rest = end < 0 ? text.slice(3) : text.slice(3, end)
    // `--- # comment` keeps its line; a bare marker is written again by the caller.
    text = rest.trim() === '' ? (end < 0 ? '' : text.slice(end + 1)) : text
  }
  return `${text.trimEnd()}\n`
}

/**
 * The documents of a file with their resources mutated: a document no policy changed is kept as written
 * (comments and all), one a policy changed is written anew as YAML (its leading comments kept, the others
 * lost); a List with one changed item is written anew whole.
 */
export function mutateSource(
  mutator: Mutator,
  file: string,
  text: string,
  limits: ParseLimits,
): MutatedSource {
  const byDocument = new Map<number, Resource[]>()
  const loaded = parseSourceEach(file, text, limits, (resources) => {
    for (const r of resources) {
      const list = byDocument.get(r.source.documentIndex)
      if (list) list.push(r)
      else byDocument.set(r.source.documentIndex, [r])
    }
  })
  const out: MutatedSource = { documents: [], errors: loaded.errors, resources: loaded.resources }
  if (loaded.notKubernetes) out.notKubernetes = true
  const broken = new Set(loaded.errors.map((e) => e.documentIndex))
  // The parser's split, of the text as written (the parser blanks a byte-order mark and each `---`).
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  const lines = source.split('\n')
  splitDocuments(source).forEach((chunk, index) => {
    const resources = byDocument.get(index)
    if (!resources || broken.has(index)) return
    const mutations: ResourceMutations[] = []
    let changed = false
    const objects = resources.map((r) => {
      const outcome = mutator.mutate(r)
      if (!outcome) return r.object
      mutations.push(described(r, outcome))
      changed ||= changedBy(outcome)
      return outcome.object
    })
    if (!changed) {
      const marked = lines[chunk.startLine]?.startsWith('---') === true
      const written = marked ? `---${chunk.text.slice(3)}` : chunk.text
      out.documents.push({ text: asWritten(written), changed, mutations })
      return
    }
    let value: unknown = objects[0]
    if (resources[0]!.source.itemIndex !== undefined) {
      const list = loadWithEvents(chunk.text, file, limits).value as { items: unknown[] }
      resources.forEach((r, i) => {
        list.items[r.source.itemIndex!] = objects[i]
      })
      value = list
    }
    out.documents.push({ text: leadingComments(chunk.text) + writeYaml(value).text, changed, mutations })
  })
  return out
}
