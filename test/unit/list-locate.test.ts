/**
 * A `kind: List` must cost about what its items cost as separate documents (issue 10, defect 5). Time is
 * not measured here (bench/list.mjs does); the work is: js-yaml is wrapped so that the test counts the
 * parser events the locator reads, and the text parsed again to locate findings of the cross-resource
 * pass, for N and 2N items.
 */
import { describe, expect, it, vi } from 'vitest'
import { attach, parseSource } from '../../src/resources/parse.js'

const work = vi.hoisted(() => ({ eventReads: 0, charsParsed: 0 }))

vi.mock('js-yaml', async (importOriginal) => {
  const yaml = await importOriginal<typeof import('js-yaml')>()
  return {
    ...yaml,
    parseEvents: (...args: Parameters<typeof yaml.parseEvents>) => {
      work.charsParsed += args[0].length
      return new Proxy(yaml.parseEvents(...args), {
        get(target, key, receiver) {
          if (typeof key === 'string' && key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57) work.eventReads++
          return Reflect.get(target, key, receiver)
        },
      })
    },
  }
})

// The events come from fastEvents where it reads the text (js-yaml's parseEvents where it gives up):
// count the reads of those too.
vi.mock('../../src/resources/fast-events.js', async (importOriginal) => {
  const fast = await importOriginal<typeof import('../../src/resources/fast-events.js')>()
  return {
    ...fast,
    fastEvents: (...args: Parameters<typeof fast.fastEvents>) => {
      const events = fast.fastEvents(...args)
      if (events === undefined) return undefined
      work.charsParsed += args[0].length
      return new Proxy(events, {
        get(target, key, receiver) {
          if (typeof key === 'string' && key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57) work.eventReads++
          return Reflect.get(target, key, receiver)
        },
      })
    },
  }
})

/** One Pod, 9 lines; as a List item every line is indented by 2 (its first by `- `). */
const pod = (i: number) =>
  `apiVersion: v1
kind: Pod
metadata:
  name: p${i}
spec:
  containers:
  - name: c
    image: nginx
    securityContext: {privileged: true}
`
const LINES = 9
const asItem = (text: string) =>
  text
    .split('\n')
    .map((line, n) => (line === '' ? line : n === 0 ? `- ${line}` : `  ${line}`))
    .join('\n')

const list = (n: number) =>
  `apiVersion: v1\nkind: List\nitems:\n${Array.from({ length: n }, (_, i) => asItem(pod(i))).join('')}`
const documents = (n: number) => Array.from({ length: n }, (_, i) => pod(i)).join('---\n')

const PRIVILEGED = ['spec', 'containers', 0, 'securityContext', 'privileged']

describe('kind: List', () => {
  it('locates the items near the end of a long List as it locates the same resources as documents', () => {
    for (const n of [400, 800]) {
      const items = parseSource('l.yaml', list(n)).resources
      const docs = parseSource('d.yaml', documents(n)).resources
      expect(items).toHaveLength(n)
      for (const i of [0, 1, n / 2, n - 2, n - 1]) {
        const item = items[i]!
        const doc = docs[i]!
        expect(item.name).toBe(`p${i}`)
        expect(item.source.itemIndex).toBe(i)
        // items start at line 4; documents at line 1, each after its `---` line
        expect(item.source.position.line).toBe(4 + LINES * i)
        expect(doc.source.position.line).toBe(1 + (LINES + 1) * i)
        for (const path of [[], ['metadata', 'name'], PRIVILEGED, ['spec', 'containers', 0, 'missing']]) {
          const inList = item.locate(path)
          const inDoc = doc.locate(path)
          expect(inList.line - item.source.position.line).toBe(inDoc.line - doc.source.position.line)
          expect(inList.column).toBe(inDoc.column + 2)
        }
        expect(item.locate(PRIVILEGED)).toEqual({ line: 4 + LINES * i + 8, column: 25 })
      }
    }
  })

  /**
   * Parser events read to read a List and locate a field of every item; or the text parsed again to
   * locate a field of every item once the items are detached and attached (the cross-resource pass).
   */
  function cost(n: number, what: 'locate' | 'attach'): number {
    work.eventReads = 0
    const { resources } = parseSource('l.yaml', list(n))
    if (what === 'locate') {
      for (const r of resources) r.locate(PRIVILEGED)
      return work.eventReads
    }
    const detached = resources.map((r) => r.detach())
    work.charsParsed = 0
    for (const r of detached) attach(r).locate(PRIVILEGED)
    return work.charsParsed
  }

  it('locates every item of a List in time linear in its length', () => {
    const ratio = cost(600, 'locate') / cost(300, 'locate')
    expect(ratio).toBeLessThan(2.5)
  })

  it('parses a List again once for all its detached items, not once per item', () => {
    expect(cost(400, 'attach') / cost(200, 'attach')).toBeLessThan(2.5)
    // and what it reads again is what the first read saw
    const { resources } = parseSource('l.yaml', list(50))
    for (const r of resources) {
      const again = attach(r.detach())
      expect(again.object).toEqual(r.object)
      expect(again.source).toEqual(r.source)
      expect(again.locate(PRIVILEGED)).toEqual(r.locate(PRIVILEGED))
    }
  })
})
