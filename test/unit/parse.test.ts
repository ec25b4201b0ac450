import { describe, expect, it } from 'vitest'
import { parseSource } from '../../src/resources/parse.js'

const pod = (name: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers: []\n`

describe('parseSource', () => {
  it('reads every document of a stream, with its document index and first line', () => {
    const { resources, errors } = parseSource('m.yaml', `${pod('a')}---\n# c\n${pod('b')}`)
    expect(errors).toEqual([])
    expect(resources.map((r) => [r.name, r.source.documentIndex, r.source.position.line])).toEqual([
      ['a', 0, 1],
      ['b', 1, 9],
    ])
    expect(resources[0]).toMatchObject({ apiVersion: 'v1', kind: 'Pod', group: '' })
  })

  it('reports a broken document with file and line, and still reads the others', () => {
    const text = `${pod('a')}---\napiVersion: v1\nkind: Pod\nmetadata: {name: [x}\n---\n${pod('c')}`
    const { resources, errors } = parseSource('m.yaml', text)
    expect(resources.map((r) => r.name)).toEqual(['a', 'c'])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ file: 'm.yaml', documentIndex: 1, position: { line: 10 } })
    expect(errors[0]!.message).toMatch(/^invalid YAML/)
  })

  it.each([
    ['a list', '- a\n- b\n', /expected a mapping with apiVersion and kind, got a list/],
    ['a scalar', 'hello\n', /got a string/],
    ['no kind', 'apiVersion: v1\nmetadata: {}\n', /missing or empty kind/],
    ['no apiVersion or kind', 'metadata: {}\n', /apiVersion and kind/],
    ['a duplicate key', 'apiVersion: v1\nkind: Pod\nkind: Service\n', /invalid YAML: duplicated mapping key/],
  ])('rejects %s with a plain explanation', (_what, text, message) => {
    const { resources, errors } = parseSource('x.yaml', text)
    expect(resources).toEqual([])
    expect(errors).toHaveLength(1)
    expect(errors[0]!.message).toMatch(message)
    expect(errors[0]!.position?.line).toBeGreaterThanOrEqual(1)
  })

  it('points a duplicate key at the second occurrence', () => {
    const { errors } = parseSource('x.yaml', `${pod('a')}---\napiVersion: v1\nkind: Pod\nkind: Service\n`)
    expect(errors[0]!.position).toEqual({ line: 10, column: 1 })
  })

  it('marks text with no Kubernetes objects, but never a file with syntax errors or one real object', () => {
    expect(parseSource('values.yaml', 'replicaCount: 2\n---\n- a\n').notKubernetes).toBe(true)
    expect(parseSource('values.yaml', 'a: [\n').notKubernetes).toBeUndefined()
    expect(parseSource('m.yaml', `x: 1\n---\n${pod('a')}`).notKubernetes).toBeUndefined()
    expect(parseSource('m.yaml', 'kind: Pod\n').notKubernetes).toBeUndefined()
  })

  it('rejects binary files', () => {
    const { errors } = parseSource('img.yaml', 'GIF89a\u0000\u0001\u0002')
    expect(errors).toEqual([{ file: 'img.yaml', message: 'binary file: expected YAML or JSON text' }])
  })

  it('rejects documents over the size limit', () => {
    const big = `apiVersion: v1\nkind: ConfigMap\ndata:\n  x: "${'a'.repeat(2000)}"\n`
    const { resources, errors } = parseSource('big.yaml', `${big}---\n${pod('ok')}`, {
      maxDocumentBytes: 1000,
      maxAliases: 100,
      maxExpandedNodes: 1000,
    })
    expect(resources.map((r) => r.name)).toEqual(['ok'])
    expect(errors[0]!.message).toMatch(/over the 1000-byte limit/)
  })

  it('rejects an alias bomb without expanding it', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i)
      const cur = String.fromCharCode(97 + i)
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`)
    }
    const { errors } = parseSource('bomb.yaml', `apiVersion: v1\nkind: ConfigMap\n${levels.join('\n')}\n`)
    expect(errors).toHaveLength(1)
    expect(errors[0]!.message).toMatch(/alias bomb/)
  })

  it('flattens kind: List and typed lists, inferring the kind of typed items', () => {
    const list =
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n- 42\n'
    const typed = '---\napiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: b}\n'
    const { resources, errors } = parseSource('l.yaml', list + typed)
    expect(resources.map((r) => [r.kind, r.name, r.source.itemIndex, r.source.position.line])).toEqual([
      ['Pod', 'a', 0, 4],
      ['Pod', 'b', 0, 12],
    ])
    expect(errors.map((e) => e.message)).toEqual(['list item 1: expected a mapping, got a number'])
  })

  it('reads JSON, and locates fields in it', () => {
    const json = JSON.stringify(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'j' }, spec: { hostNetwork: true } },
      null,
      2,
    )
    const { resources } = parseSource('p.json', json)
    expect(resources[0]!.name).toBe('j')
    expect(resources[0]!.locate(['spec', 'hostNetwork'])).toEqual({ line: 8, column: 5 })
  })

  it('locates fields: keys, list items, quoted keys, and the nearest existing parent', () => {
    const text = `${pod('a')}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  "quoted key": 1\nspec:\n  containers:\n  - name: c0\n  - name: c1\n    securityContext: {privileged: true}\n`
    const b = parseSource('m.yaml', text).resources[1]!
    expect(b.locate(['spec', 'containers', 1, 'securityContext', 'privileged'])).toEqual({
      line: 17,
      column: 23,
    })
    expect(b.locate(['spec', 'containers', 1])).toEqual({ line: 16, column: 5 })
    expect(b.locate(['metadata', 'quoted key'])).toEqual({ line: 12, column: 3 })
    expect(b.locate(['spec', 'containers', 0, 'securityContext', 'runAsNonRoot'])).toEqual({
      line: 15,
      column: 5,
    })
    expect(b.locate([])).toEqual({ line: 8, column: 1 })
  })
})
