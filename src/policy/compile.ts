/**
 * Compiles CheckDefinitions: every CEL expression is parsed and type-checked once, here, so that
 * evaluation never parses. A broken expression fails with the file, line, check and expression.
 */

import type { PathSegment } from '../resources/types.js'
import { compileCelExpression, type Program } from './cel/compile-expression.js'
import { CHECK_VARIABLES, checkEnvironment } from './cel/environment.js'
import type { CheckDefinition, CheckMetadata, NamedExpression, Scope, ValidationDefinition } from './check.js'
import { CheckLoadError } from './check-loader.js'
import { type PathRoot, splitPathRoot } from './path-root.js'

export type { Program }

export interface CompiledNamed {
  name: string
  program: Program
}

export interface CompiledValidation {
  program: Program
  message?: string
  messageProgram?: Program
  /** Static path, relative to `root`. */
  path: PathSegment[]
  root: PathRoot
  pathProgram?: Program
  scope: Scope
  line: number
}

export interface CompiledRuleSet {
  since: number
  /**
   * A match condition is `usage != null`: without observed usage the rule set never applies, so an
   * engine without usage leaves it out altogether (docs/check-format.md#observed-usage).
   */
  requiresUsage: boolean
  matchConditions: CompiledNamed[]
  variables: CompiledNamed[]
  validations: CompiledValidation[]
}

export interface CompiledCheck {
  metadata: CheckMetadata
  kinds: string[]
  scope: Scope
  ruleSets: CompiledRuleSet[]
  definition: CheckDefinition
  /**
   * The check reads `inventory` (the other resources of the input), so it runs once the whole input has
   * been read instead of file by file.
   */
  crossResource: boolean
}

/** The expression without the text of its string literals, to look for the names it uses. */
function withoutStrings(expression: string): string {
  return expression.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, '""')
}

/** Whether any expression of the check names the `inventory` variable (outside string literals). */
function readsInventory(def: CheckDefinition): boolean {
  const expressions = def.ruleSets.flatMap((rs) => [
    ...rs.matchConditions.map((c) => c.expression),
    ...rs.variables.map((v) => v.expression),
    ...rs.validations.flatMap((v) => [v.expression, v.messageExpression ?? '', v.pathExpression ?? '']),
  ])
  return expressions.some((e) => /\binventory\b/.test(withoutStrings(e)))
}

/** The match condition of a check over observed usage: it does not apply where `usage` is null. */
const USAGE_GUARD = /^\s*\(?\s*(?:usage\s*!=\s*null|null\s*!=\s*usage)\s*\)?\s*$/

const ACTIVATION_NAME = new RegExp(`\\b(?:${CHECK_VARIABLES.join('|')})\\b`)

/**
 * A program whose expression names no variable of the activation (a table of removed APIs, a list of
 * allowed capabilities) has one value: computed here, once, instead of for every resource. CEL has no
 * side effects, so the value is the same; one that fails to evaluate keeps its program, to fail where
 * it is used.
 */
function folded(expression: string, program: Program): Program {
  if (ACTIVATION_NAME.test(withoutStrings(expression))) return program
  let value: unknown
  try {
    value = program({})
  } catch {
    return program
  }
  return () => value
}

function compileExpression(
  def: CheckDefinition,
  field: string,
  expression: string,
  line: number,
  expect: 'bool' | 'string' | 'any',
  fastPath: boolean,
): Program {
  return compileCelExpression(
    checkEnvironment(),
    expression,
    expect,
    (problem) => {
      throw new CheckLoadError(def.origin.file, line, def.metadata.id, field, problem)
    },
    fastPath,
  )
}

function compileNamed(
  def: CheckDefinition,
  items: readonly NamedExpression[],
  field: string,
  expect: 'bool' | 'any',
  fastPath: boolean,
): CompiledNamed[] {
  return items.map((n) => ({
    name: n.name,
    program: folded(
      n.expression,
      compileExpression(def, `${field} '${n.name}'`, n.expression, n.line, expect, fastPath),
    ),
  }))
}

function compileValidation(
  def: CheckDefinition,
  v: ValidationDefinition,
  index: number,
  fastPath: boolean,
): CompiledValidation {
  const field = `validations[${index}]`
  const { root, path } = v.path ? splitPathRoot(v.path) : { root: 'scope' as const, path: [] }
  const out: CompiledValidation = {
    program: compileExpression(def, `${field}.expression`, v.expression, v.line, 'bool', fastPath),
    path,
    root,
    scope: v.scope ?? def.scope,
    line: v.line,
  }
  if (v.message) out.message = v.message
  if (v.messageExpression)
    out.messageProgram = compileExpression(
      def,
      `${field}.messageExpression`,
      v.messageExpression,
      v.line,
      'string',
      fastPath,
    )
  if (v.pathExpression)
    out.pathProgram = compileExpression(
      def,
      `${field}.pathExpression`,
      v.pathExpression,
      v.line,
      'string',
      fastPath,
    )
  return out
}

export function compileCheck(def: CheckDefinition): CompiledCheck {
  return compileCheckWith(def, true)
}

/** The check evaluated by cel-js alone (see cel/fast-path.ts): what the fast path is tested against. */
export function compileCheckWithoutFastPath(def: CheckDefinition): CompiledCheck {
  return compileCheckWith(def, false)
}

function compileCheckWith(def: CheckDefinition, fastPath: boolean): CompiledCheck {
  return {
    metadata: def.metadata,
    kinds: def.kinds,
    scope: def.scope,
    definition: def,
    crossResource: readsInventory(def),
    ruleSets: def.ruleSets.map((rs) => ({
      since: rs.since,
      requiresUsage: rs.matchConditions.some((c) => USAGE_GUARD.test(c.expression)),
      matchConditions: compileNamed(def, rs.matchConditions, 'matchConditions', 'bool', fastPath),
      variables: compileNamed(def, rs.variables, 'variables', 'any', fastPath),
      validations: rs.validations.map((v, i) => compileValidation(def, v, i, fastPath)),
    })),
  }
}
