/**
 * The value of one document from fastEvents' events, as js-yaml's constructFromEvents makes it with
 * KUBERNETES_YAML_SCHEMA, at a third of its cost. Those events carry no tag, anchor or alias (fastEvents
 * gives up on them), so a node is a plain scalar resolved by the schema, a string, a mapping or a
 * sequence, and none of js-yaml's per-node bookkeeping (positions, frames, anchors, tag lookups,
 * a result object per scalar) is needed. Where js-yaml has more to do or something to say (a merge
 * key, a key that is a collection, a key given twice, an incomplete pair, more than one document), this
 * gives up and the caller asks js-yaml, which words the error.
 *
 * test/unit/construct.test.ts compares the two on the corpus and on generated documents.
 */
import { EVENT_ID, type Event, getScalarValue, SCALAR_STYLE } from 'js-yaml'
import { KUBERNETES_YAML_SCHEMA } from './yaml-schema.js'

const MERGE_TAG = 'tag:yaml.org,2002:merge'

/** A mapping's pending key: none yet. Not a string, so that no key can be mistaken for it. */
const NO_KEY = Symbol('no key')

/** The document's value (undefined for an empty document), or GIVE_UP. */
export const GIVE_UP = Symbol('give up')

/**
 * ASCII characters that no implicit tag of the schema lists as a first character: a plain scalar that
 * starts with one is its text, with no resolver to try (most keys and names). Read from js-yaml's own
 * index of the schema; should that index not be there, every scalar is resolved as before.
 */
const TEXT_FIRST = (() => {
  const out = new Uint8Array(128)
  const schema = KUBERNETES_YAML_SCHEMA as unknown as {
    implicitScalarByFirstChar?: unknown
    implicitScalarAnyFirstChar?: unknown
  }
  const byFirst = schema.implicitScalarByFirstChar
  const any = schema.implicitScalarAnyFirstChar
  if (!(byFirst instanceof Map) || !Array.isArray(any) || any.length > 0) return out
  for (let c = 0; c < 128; c++) if (!byFirst.has(String.fromCharCode(c))) out[c] = 1
  return out
})()

export function constructPlain(text: string, events: readonly Event[]): unknown {
  const containers: (Record<string, unknown> | unknown[])[] = []
  const keys: (string | typeof NO_KEY)[] = []
  let root: unknown
  let documents = 0
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!
    let value: unknown
    let isKeyable = true
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        if (++documents > 1) return GIVE_UP
        continue
      case EVENT_ID.MAPPING:
        containers.push({})
        keys.push(NO_KEY)
        continue
      case EVENT_ID.SEQUENCE:
        containers.push([])
        keys.push(NO_KEY)
        continue
      case EVENT_ID.SCALAR: {
        const source = getScalarValue(text, event)
        if (event.style !== SCALAR_STYLE.PLAIN || TEXT_FIRST[source.charCodeAt(0)] === 1) value = source
        else {
          const resolved = KUBERNETES_YAML_SCHEMA.resolveImplicitScalarTag(source)
          value = resolved.value
          // `<<` as a key merges a mapping into its parent.
          if (resolved.tag.tagName === MERGE_TAG) isKeyable = false
        }
        break
      }
      case EVENT_ID.POP:
        // The document's end.
        if (containers.length === 0) continue
        if (keys.pop() !== NO_KEY) return GIVE_UP
        value = containers.pop()
        isKeyable = false
        break
      default:
        return GIVE_UP
    }
    const depth = containers.length
    if (depth === 0) {
      root = value
      continue
    }
    const parent = containers[depth - 1]!
    if (Array.isArray(parent)) {
      parent.push(value)
      continue
    }
    const key = keys[depth - 1]!
    if (key === NO_KEY) {
      if (!isKeyable) return GIVE_UP
      keys[depth - 1] = String(value)
      continue
    }
    if (Object.hasOwn(parent, key)) return GIVE_UP
    // js-yaml's object map keeps `__proto__` as an own key, not as the object's prototype.
    if (key === '__proto__')
      Object.defineProperty(parent, key, { value, enumerable: true, configurable: true, writable: true })
    else parent[key] = value
    keys[depth - 1] = NO_KEY
  }
  return documents === 1 ? root : GIVE_UP
}
