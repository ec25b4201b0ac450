/**
 * Runs the examples a check ships with: each resource must get the verdict the example expects. The
 * test suite runs them for the whole built-in library, so a check's documentation cannot lie.
 */

import { parseSource } from '../resources/parse.js'
import type { PodTemplateTable } from '../resources/pod-templates.js'
import type { ExampleExpectation } from './check.js'
import type { CompiledCheck } from './compile.js'
import { Engine, LATEST_VERSION } from './engine.js'
import { Inventory, inventoryRecord } from './inventory.js'
import type { CheckResult } from './result.js'
import { exampleUsageValue, FixedUsage } from './usage.js'

export interface ExampleOutcome {
  checkId: string
  example: string
  file: string
  line: number
  expected: ExampleExpectation
  got: ExampleExpectation | 'invalid'
  /** failure and error messages, for the report */
  messages: string[]
  ok: boolean
}

export function runExamples(check: CompiledCheck, podTemplates: PodTemplateTable): ExampleOutcome[] {
  const { origin } = check.definition
  return check.definition.examples.map((example) => {
    const base = {
      checkId: check.metadata.id,
      example: example.name,
      file: origin.file,
      line: example.line,
      expected: example.expect,
    }
    const parse = (object: Record<string, unknown>) =>
      parseSource(`${origin.file}:${example.line}`, JSON.stringify(object))
    const { resources, errors } = parse(example.resource)
    const others = (example.inventory ?? []).map(parse)
    const invalid = [...errors, ...others.flatMap((o) => o.errors)]
    if (invalid.length > 0 || resources.length === 0) {
      const messages = invalid.map((e) => e.message)
      return {
        ...base,
        got: 'invalid' as const,
        messages: messages.length ? messages : ['no resource'],
        ok: false,
      }
    }
    const usage =
      example.usage === undefined
        ? undefined
        : new FixedUsage(exampleUsageValue(example.usage, resources[0]!))
    const engine = new Engine([check], podTemplates, {
      version: example.version ?? LATEST_VERSION,
      ...(usage ? { usage } : {}),
    })
    let results: CheckResult[]
    if (check.crossResource) {
      const all = [...resources, ...others.flatMap((o) => o.resources)]
      const inventory = new Inventory(all.map((r) => inventoryRecord(r, podTemplates)))
      results = resources.flatMap((r) => engine.evaluateCross(r, inventory))
    } else {
      results = resources.flatMap((r) => engine.evaluate(r))
    }
    const bad = results.filter((r) => r.status !== 'pass')
    const got: ExampleExpectation = results.length === 0 ? 'skip' : bad.length > 0 ? 'fail' : 'pass'
    return { ...base, got, messages: bad.map((r) => `${r.status}: ${r.message}`), ok: got === example.expect }
  })
}
