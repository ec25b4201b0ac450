/**
 * writeYaml writes what reads back as the same value, and points at the same places DocumentLocator
 * finds by parsing the text: on every document of the corpus's real manifests, and on random JSON values
 * full of strings that YAML would rather read as something else.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { load } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import { DocumentLocator } from '../../src/resources/locate.js'
import { splitDocuments } from '../../src/resources/split.js'
import type { PathSegment } from '../../src/resources/types.js'
import { KUBERNETES_YAML_SCHEMA } from '../../src/resources/yaml-schema.js'
import { writeYaml } from '../../src/resources/yaml-writer.js'
import { corpusPath } from '../helpers/corpus.js'

function readBack(text: string): unknown {
  return load(text, { schema: KUBERNETES_YAML_SCHEMA })
}

/** Every path to every node of `value`, and paths that leave it: absent keys and items, wrong kinds. */
function pathsOf(value: unknown): PathSegment[][] {
  const out: PathSegment[][] = []
  const walk = (v: unknown, path: PathSegment[]) => {
    out.push(path)
    if (v === null || typeof v !== 'object') {
      out.push([...path, 'missing'], [...path, 0])
      return
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], [...path, i])
      out.push([...path, v.length], [...path, '0'], [...path, -1], [...path, 0.5], [...path, v.length + 20])
      out.push([...path, 20, 'deeper'])
    } else {
      for (const key of Object.keys(v)) walk((v as Record<string, unknown>)[key], [...path, key])
      out.push([...path, 'no such key'], [...path, 0], [...path, 'no such key', 'deeper'])
    }
  }
  walk(value, [])
  return out
}

/** The first path where writeYaml's position and DocumentLocator's differ, with both; or undefined. */
function firstDisagreement(value: unknown) {
  const written = writeYaml(value)
  const locator = new DocumentLocator(written.text, 0)
  for (const path of pathsOf(value)) {
    const mine = written.locate(path)
    const theirs = locator.locate(path)
    if (mine.line !== theirs.line || mine.column !== theirs.column) return { path, mine, theirs }
  }
  return undefined
}

function manifestFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...manifestFiles(path))
    else if (/\.ya?ml$/i.test(name)) out.push(path)
  }
  return out
}

/** The values of every document of the real manifests that js-yaml reads. */
function corpusValues(): { name: string; value: unknown }[] {
  const out: { name: string; value: unknown }[] = []
  for (const file of manifestFiles(corpusPath('real-manifests'))) {
    splitDocuments(readFileSync(file, 'utf8')).forEach((chunk, i) => {
      let value: unknown
      try {
        value = readBack(chunk.text)
      } catch {
        return
      }
      if (value !== undefined) out.push({ name: `${file}#${i}`, value })
    })
  }
  return out
}

describe('writeYaml on the real manifests', () => {
  const values = corpusValues()

  it('reads them all', () => {
    expect(values.length).toBeGreaterThan(200)
  })

  it('writes what reads back as the same value', () => {
    for (const { name, value } of values) expect(readBack(writeYaml(value).text), name).toEqual(value)
  })

  it('points every path where DocumentLocator does', () => {
    let paths = 0
    for (const { name, value } of values) {
      expect(firstDisagreement(value), name).toBeUndefined()
      paths += pathsOf(value).length
    }
    expect(paths).toBeGreaterThan(100_000)
  })
})

describe('writeYaml layout', () => {
  it('is js-yaml block style', () => {
    const value = {
      apiVersion: 'v1',
      metadata: { name: 'web', labels: {}, finalizers: [] },
      spec: {
        containers: [{ name: 'app', args: ['--port=80', '-v'], ports: [{ containerPort: 80 }] }],
        matrix: [[1, 2], [], {}],
      },
    }
    expect(writeYaml(value).text).toBe(
      [
        'apiVersion: v1',
        'metadata:',
        '  name: web',
        '  labels: {}',
        '  finalizers: []',
        'spec:',
        '  containers:',
        '    - name: app',
        '      args:',
        '        - --port=80',
        '        - -v',
        '      ports:',
        '        - containerPort: 80',
        '  matrix:',
        '    - - 1',
        '      - 2',
        '    - []',
        '    - {}',
        '',
      ].join('\n'),
    )
  })

  it('quotes what would read as something else, in JSON double quotes', () => {
    const strings = {
      empty: '',
      bool: 'Yes',
      off1: 'OFF',
      one: 'y',
      nul: 'Null',
      tilde: '~',
      merge: '<<',
      int: '123',
      octal: '0755',
      hex: '0x1F',
      exp: '1e3',
      inf: '-.Inf',
      sexagesimal: '1:20',
      date: '2024-01-02',
      underscored: '+_1',
      spaced: ' x ',
      indicator: '*ref',
      dash: '- x',
      colon: 'a: b',
      comment: 'a #b',
      tab: 'a\tb',
      cr: 'a\rb',
    }
    const text = writeYaml(strings).text
    for (const [key, s] of Object.entries(strings)) expect(text).toContain(`${key}: ${JSON.stringify(s)}`)
    // what JSON leaves as it is but YAML reads as a line break, or refuses, is escaped
    expect(writeYaml(['a\u0085b\u2028c\ufeff\u007f']).text).toBe('- "a\\u0085b\\u2028c\\ufeff\\u007f"\n')
    const plain = { cpu: '500m', mem: '1Gi', tag: '1.21-alpine', url: 'http://x:80/a#b', flag: '-v', e: 'é' }
    expect(writeYaml(plain).text).toBe(
      'cpu: 500m\nmem: 1Gi\ntag: 1.21-alpine\nurl: http://x:80/a#b\nflag: -v\ne: é\n',
    )
  })

  it('writes text of several lines as a literal block, chomped as it ends', () => {
    const value = {
      strip: 'a\nb',
      clip: 'a\n\nb\n',
      keep: 'a\n\n',
      items: ['x\ny'],
      lead: ' a\nb',
      blank: '\nb\n',
      cr: 'a\r\nb',
      breaks: '\n\n',
    }
    const text = writeYaml(value).text
    expect(text).toBe(
      [
        'strip: |-',
        '  a',
        '  b',
        'clip: |',
        '  a',
        '',
        '  b',
        'keep: |+',
        '  a',
        '',
        'items:',
        '  - |-',
        '    x',
        '    y',
        'lead: |2-',
        '   a',
        '  b',
        'blank: |',
        '',
        '  b',
        'cr: "a\\r\\nb"',
        'breaks: "\\n\\n"',
        '',
      ].join('\n'),
    )
    expect(readBack(text)).toEqual(value)
    expect(writeYaml(value).locate(['items', 0])).toEqual({ line: 13, column: 1 })
  })

  it('writes numbers as JSON does, and -0 as -0', () => {
    const value = [0, -0, 1.5, 1e21, 5e-324, -12, 2 ** 53 + 2]
    const text = writeYaml(value).text
    expect(text).toBe('- 0\n- -0\n- 1.5\n- 1e+21\n- 5e-324\n- -12\n- 9007199254740994\n')
    const back = readBack(text) as number[]
    expect(back).toEqual(value)
    expect(Object.is(back[1], -0)).toBe(true)
  })

  it('writes a key too long to be implicit as an explicit one', () => {
    const long = 'k'.repeat(1100)
    const value = { a: 1, [long]: { x: [1] }, b: [{ [long]: 'v', c: 2 }] }
    const written = writeYaml(value)
    expect(written.text).toContain(`? ${long}\n: x:\n`)
    expect(readBack(written.text)).toEqual(value)
    expect(firstDisagreement(value)).toBeUndefined()
  })

  it('points at the deepest node that exists', () => {
    const written = writeYaml({ spec: { containers: [{ name: 'a', image: 'x' }] } })
    expect(written.locate([])).toEqual({ line: 1, column: 1 })
    expect(written.locate(['spec', 'containers', 0, 'image'])).toEqual({ line: 4, column: 7 })
    expect(written.locate(['spec', 'containers', 0, 'securityContext', 'privileged'])).toEqual({
      line: 3,
      column: 7,
    })
    expect(written.locate(['spec', 'containers', 3])).toEqual({ line: 2, column: 3 })
    expect(written.locate(['spec', 0])).toEqual({ line: 1, column: 1 })
  })
})

// Strings YAML might read as something else, and the pieces of trouble.
const WORDS = ['true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', 'null', '~', '=', '<<']
const NUMBERS = [
  '0',
  '-0',
  '00',
  '08',
  '0755',
  '0o17',
  '0x1F',
  '0b101',
  '1_000',
  '+_1',
  '._',
  '.',
  '-',
  '+',
  '1.',
  '.5',
  '-.5',
  '1e3',
  '1E+3',
  '.inf',
  '-.Inf',
  '+.INF',
  '.NaN',
  '1:20',
  '190:20:30.15',
  '2001-12-14',
  '2001-12-14t21:59:43.10-05:00',
  '2001-12-14 21:59:43.10 -5',
  '2001-12-15T02:59:43.1Z',
]
const PIECES = [
  ' ',
  '  ',
  '\t',
  '\n',
  '\n\n',
  '\r\n',
  '\r',
  '#',
  ' #',
  ': ',
  ':',
  '-',
  '- ',
  '? ',
  '---',
  '...',
  '"',
  "'",
  '\\',
  '|',
  '>',
  '&a',
  '*a',
  '!',
  '!!str ',
  '%',
  '@',
  '`',
  ',',
  '[',
  ']',
  '{',
  '}',
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffe',
  '\uffff',
  'é',
  '日本',
  '😀',
  '\ud800',
  '\udc00',
  'a',
  'key',
  'x y',
  'http://a/b',
  '500m',
]

const anyCase = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((up) => [...word].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''))
const word = fc.constantFrom(...WORDS).chain(anyCase)
const numeric = fc.oneof(
  fc.constantFrom(...NUMBERS),
  fc.double().map(String),
  fc.integer().map(String),
  fc.bigInt().map(String),
)
/** Text of several lines, for literal blocks: blank lines, lines of spaces, indented lines, any ending. */
const lines = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.constantFrom(
          '',
          ' ',
          '  ',
          '  x',
          '\tx',
          'x\t',
          'a',
          'a ',
          '#c',
          '- x',
          'k: v',
          '---',
          '...',
          '|',
        ),
        fc.string({ maxLength: 6 }),
        word,
      ),
      { minLength: 1, maxLength: 5 },
    ),
    fc.constantFrom('', '\n', '\n\n', '\n\n\n', '\n ', '\n \n', ' \n'),
  )
  .map(([ls, end]) => ls.join('\n') + end)
const nasty: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: word },
  { weight: 3, arbitrary: numeric },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  {
    weight: 6,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...PIECES), word, numeric), { minLength: 1, maxLength: 6 })
      .map((parts) => parts.join('')),
  },
  { weight: 4, arbitrary: lines },
  { weight: 1, arbitrary: fc.constantFrom('k'.repeat(1025), `${'é'.repeat(1030)}: x`) },
)
const leaf = fc.oneof(
  { weight: 6, arbitrary: nasty },
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.boolean(),
  fc.constant(null),
)
const { value: jsonValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nasty, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
}))

describe('writeYaml on random values', () => {
  it('writes what reads back as the same value', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const { text } = writeYaml(value)
        expect(readBack(text), text).toEqual(value)
      }),
      { numRuns: 2000 },
    )
  })

  it('writes every nasty string, as a key, a value and an item, so that it reads back in place', () => {
    fc.assert(
      fc.property(nasty, (s) => {
        const value = { [s]: s, list: [s, { [s]: [s] }], ['k'.repeat(1025)]: s }
        const { text } = writeYaml(value)
        expect(readBack(text), text).toEqual(value)
        expect(firstDisagreement(value), text).toBeUndefined()
        expect(readBack(writeYaml(s).text)).toBe(s)
      }),
      { numRuns: 5000 },
    )
  })

  it('points every path where DocumentLocator does', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(firstDisagreement(value)).toBeUndefined()
      }),
      { numRuns: 2000 },
    )
  })
})
