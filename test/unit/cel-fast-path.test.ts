/**
 * The CEL fast path (src/policy/cel/fast-path.ts) answers as cel-js alone does: the whole library on
 * every resource of the corpus (and its cross-resource checks against the corpus's inventory), each
 * check's own examples, and expressions written for the edges where the two could part (values of
 * another type, missing keys, ints against doubles, errors inside `&&` and the macros).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Optional } from '@marcbachmann/cel-js'
import { describe, expect, it } from 'vitest'
import { checkEnvironment } from '../../src/policy/cel/environment.js'
import { withFastPath } from '../../src/policy/cel/fast-path.js'
import { LazyVariables } from '../../src/policy/cel/lazy-variables.js'
import { toCelValue } from '../../src/policy/cel/values.js'
import { compileCheckWithoutFastPath, type Program } from '../../src/policy/compile.js'
import { Engine, LATEST_VERSION } from '../../src/policy/engine.js'
import { Inventory, inventoryRecord } from '../../src/policy/inventory.js'
import { loadLibrary } from '../../src/policy/library.js'
import type { CheckResult } from '../../src/policy/result.js'
import { parseSource } from '../../src/resources/parse.js'
import type { Resource } from '../../src/resources/types.js'
import { CORPUS, corpusPath } from '../helpers/corpus.js'

function manifestsUnder(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...manifestsUnder(path))
    else if (/\.(ya?ml|json)$/i.test(name)) out.push(path)
  }
  return out
}

/** What a report makes of a result. */
function plain(results: CheckResult[]) {
  return results.map((r) => ({
    check: r.check.id,
    status: r.status,
    message: r.message,
    path: r.path,
    position: r.position,
    container: r.container,
  }))
}

describe('the fast path on the library', () => {
  const library = loadLibrary()
  const engines = [library.checks, library.checks.map((c) => compileCheckWithoutFastPath(c.definition))].map(
    (checks) => new Engine(checks, library.podTemplates, { version: LATEST_VERSION }),
  )
  const [fast, reference] = engines as [Engine, Engine]

  it('finds what cel-js alone finds on every resource of the corpus, cross-resource checks included', () => {
    corpusPath('real-manifests')
    const resources: Resource[] = []
    for (const file of manifestsUnder(CORPUS)) {
      try {
        resources.push(...parseSource(file, readFileSync(file, 'utf8')).resources)
      } catch {
        // not text the scan reads: nothing to compare
      }
    }
    expect(resources.length).toBeGreaterThan(1000)
    const inventory = new Inventory(resources.map((r) => inventoryRecord(r, library.podTemplates)))
    let findings = 0
    for (const r of resources) {
      const got = plain(fast.evaluate(r, { inventory }))
      expect(got, `${r.source.file} ${r.kind}/${r.name}`).toStrictEqual(
        plain(reference.evaluate(r, { inventory })),
      )
      findings += got.filter((x) => x.status !== 'pass').length
    }
    expect(findings).toBeGreaterThan(1000)
  })

  it("reaches each check's verdict on its own examples", () => {
    for (const check of library.checks)
      for (const example of check.definition.examples) {
        const [resource] = parseSource('example.yaml', JSON.stringify(example.resource)).resources
        if (!resource) continue
        const version = { version: example.version ?? LATEST_VERSION }
        const inventory = new Inventory(
          [example.resource, ...(example.inventory ?? [])].flatMap(
            (o) =>
              parseSource('inventory.yaml', JSON.stringify(o)).resources.map((r) =>
                inventoryRecord(r, library.podTemplates),
              ) ?? [],
          ),
        )
        const [a, b] = [check, compileCheckWithoutFastPath(check.definition)].map((c) =>
          plain(new Engine([c], library.podTemplates, version).evaluate(resource, { inventory })),
        )
        expect(a, `${check.metadata.id}: ${example.name}`).toStrictEqual(b)
      }
  })
})

/** A value or the error, with an optional's content made visible to the comparison. */
function outcome(program: Program, activation: Record<string, unknown>) {
  const show = (v: unknown): unknown =>
    v instanceof Optional ? { optional: v.hasValue() ? show(v.value()) : 'none' } : v
  try {
    return { value: show(program(activation)) }
  } catch (err) {
    return { error: (err as Error).message }
  }
}

describe('the fast path at the edges', () => {
  const object = toCelValue({
    metadata: { name: 'web', labels: { app: 'web' }, annotations: {} },
    spec: {
      replicas: 3,
      ratio: 1.5,
      whole: 2.0,
      nan: Number.NaN,
      ports: [80, 443],
      mixed: [1, 'a', null, { k: 'v' }, [1]],
      names: ['a', 'b', 'a'],
      empty: {},
      list: [],
      text: 'héllo😀/x:1',
      weird: { constructor: 'x', toString: 'y' },
      quantity: '512Mi',
      bad: 'not a quantity',
    },
  }) as Record<string, unknown>
  const variables = new LazyVariables(
    new Map<string, Program>([
      ['ok', () => 'fine'],
      ['broken', () => object.missing],
      [
        'fails',
        () => {
          throw new Error('variable failed')
        },
      ],
    ]),
    {},
  )
  const activation = { object, variables, version: 34n }
  it.each([
    'object.spec.replicas == 3',
    'object.spec.replicas == 3.0',
    'object.spec.whole == 2',
    'object.spec.ratio > 1',
    'object.spec.replicas > 1.0',
    'object.spec.nan == object.spec.nan',
    "object.spec.replicas == '3'",
    'object.spec == null',
    'object.spec.ports == null',
    'null != object.spec.list',
    'object.spec.weird == null',
    'null == object.spec.missing',
    "object.spec.missing == 'x'",
    'object.spec.?missing.orValue(1)',
    'object.spec.?missing',
    'object.spec.?replicas',
    "object.spec.?weird.?constructor.orValue('')",
    'object.spec.weird.constructor',
    'has(object.spec.weird.toString)',
    'size(object.spec.weird)',
    'size(object.spec.text)',
    "object.spec.text.split('/')",
    "object.spec.text.split('')",
    'object.spec.text.upperAscii()',
    "object.spec.text.matches('l+o')",
    "object.spec.text.matches('(')",
    '1 in object.spec.mixed',
    "'a' in object.spec.mixed",
    '1.0 in object.spec.ports',
    '80 in object.spec.ports',
    "'replicas' in object.spec",
    'object.spec.ports[1]',
    'object.spec.ports[2]',
    'object.spec.ports[-1]',
    "object.spec[?'replicas'].orValue(0)",
    "object.spec.names.indexOf('a')",
    "object.spec.mixed.indexOf('a')",
    "object.spec.names.join(',')",
    'object.spec.mixed.join()',
    'object.spec.names.exists(n, n == 1)',
    "object.spec.names.all(n, n == 'a')",
    "object.spec.mixed.exists(n, n == 'a')",
    'object.spec.mixed.all(n, n.size() > 0)',
    "object.spec.names.filter(n, n != 'a').map(n, n + '!')",
    'object.spec.names.map(n, object.spec.names.filter(m, m == n).size())',
    'object.spec.empty.map(k, k)',
    '[object.spec.ports, [1]].flatten()',
    'object.spec.replicas + 9223372036854775807',
    'object.spec.replicas * 2',
    'object.spec.ratio * 2.0',
    "object.spec.text + '!'",
    'object.spec.ports + [1]',
    "false && object.spec.missing == 'x'",
    "object.spec.missing == 'x' && false",
    "object.spec.missing == 'x' || true",
    "true || object.spec.missing == 'x'",
    "object.spec.replicas > 1 ? 'many' : 'one'",
    "object.spec.ports ? 'a' : 'b'",
    '!object.spec.replicas',
    'string(object.spec.replicas)',
    'string(object.spec.ratio)',
    "{'a': object.spec.replicas, 'b': 2}",
    "{'constructor': 1}",
    "quantity(object.spec.quantity).isGreaterThan(quantity('1Gi'))",
    'quantity(object.spec.quantity).add(quantity(object.spec.quantity)).sign()',
    'quantity(object.spec.bad).sign()',
    'isQuantity(object.spec.bad)',
    'object.spec.?quantity.value()',
    'object.spec.?missing.value()',
    "selectorMatches({'matchLabels': {'app': 'web'}}, object.metadata.labels)",
    "labelsMatch({'app': 'web'}, object.metadata.labels)",
    'variables.ok',
    'variables.broken',
    "variables.fails == 'x'",
    "variables.fails == 'x' || true",
    'variables.nothing',
    'version >= 25',
    'type(object.spec.text) == string',
    'type(object.spec.replicas) != int',
    'object.spec.mixed.map(x, type(x) == map || type(x) == list || type(x) == null_type)',
    'type(object.spec.weird) == map',
    'object.spec.text.substring(1)',
    'object.spec.text.substring(5, 7)',
    'object.spec.text.substring(3, 2)',
    'object.spec.text.substring(0, 99)',
  ])('%s', (expression) => {
    const env = checkEnvironment()
    const program = env.parse(expression)
    expect(program.check().valid).toBe(true)
    const slow = program as unknown as Program
    expect(outcome(withFastPath(program.ast, slow), activation)).toStrictEqual(outcome(slow, activation))
  })
})
