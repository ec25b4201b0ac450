/**
 * The criteria catalogue of `plimsoll assess`: one YAML file per criterion of the CNCF Cloud Native
 * Maturity Model (maturity/criteria/<id>.yaml, format in docs/assess.md and
 * maturity/criterion.schema.json). Loading reads and validates every file of a folder: a broken file
 * is reported (file, line, what was expected) and the others still load.
 *
 * What is checked here: the fields and their values, the id against the file name, level and aspect,
 * unique ids and question ids, the facts against FACT_NAMES (facts.ts), and every CEL condition:
 * it compiles, type-checks to a bool with counts as int, shares and numbers as double and lists as
 * list<string>, and names only facts its criterion lists in `facts`. The quotes are checked against
 * the model's pages by the tests (the corpus is not shipped).
 */
import { readFileSync } from 'node:fs'
import { basename, dirname, extname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ASTNode, Environment } from '@marcbachmann/cel-js'
import { compileCelExpression, type Program } from '../policy/cel/compile-expression.js'
import { CEL_OPTIONS } from '../policy/cel/environment.js'
import { type FieldReader, readYamlDocuments, yamlFiles } from '../policy/yaml-fields.js'
import type { PathSegment } from '../resources/types.js'
import { FACT_NAMES, FACTS, type FactSource, type Facts, type FactType, type FactValue } from './facts.js'

/** The package's maturity/criteria folder (next to dist/ and src/). */
export const BUILTIN_CRITERIA_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'maturity',
  'criteria',
)

/** 2: what Level 3 builds on; 3: Level 3 itself; 4: what is next. */
export const LEVELS = [2, 3, 4] as const
export type Level = (typeof LEVELS)[number]

/** The model's five aspects, in the order the report shows them. */
export const ASPECTS = ['business-outcomes', 'people', 'process', 'policy', 'technology'] as const
export type Aspect = (typeof ASPECTS)[number]

/** How a criterion is judged: from facts alone, from facts and an answer, or from an answer alone. */
export const JUDGEMENTS = ['automatic', 'partly', 'self-reported'] as const
export type Judged = (typeof JUDGEMENTS)[number]

export const GRADES = ['low', 'medium', 'high'] as const
export type Grade = (typeof GRADES)[number]

/** A page of the model (the cnmm corpus): level-N.md or aspect-<name>.md. */
const PAGE = /^(level-[1-5]|aspect-[a-z_]+)\.md$/
const ID = /^l([234])-(business-outcomes|people|process|policy|technology)-[a-z0-9]+(-[a-z0-9]+)*$/
const QUESTION_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/
const SOURCES: readonly FactSource[] = ['repo', 'cluster', 'store']

/** The sentence of the model a criterion comes from. */
export interface Quote {
  /** a file of the cnmm corpus, e.g. level-3.md */
  readonly page: string
  /** copied exactly from the page (after its markdown is flattened: see docs/assess.md) */
  readonly text: string
  /** the line of the quote's text in its file */
  readonly line: number
}

/** What the questionnaire asks for what no tool sees; answers are self-reported and dated. */
export interface Question {
  /** unique in the catalogue: the questionnaire's answers refer to it */
  readonly id: string
  readonly text: string
  /** the line of the question in its file */
  readonly line: number
}

/** A CEL condition over the facts, compiled. */
export interface Condition {
  readonly expression: string
  /** the line of the condition in its file */
  readonly line: number
  /** the bool the condition gives; the activation comes from factActivation() */
  readonly program: Program
}

/** Where a Level 4 criterion stands in "what is next". */
export interface Next {
  readonly effort: Grade
  readonly value: Grade
}

interface Common {
  /** l<level>-<aspect>-<slug>, the file's name */
  readonly id: string
  readonly aspect: Aspect
  readonly title: string
  readonly quote: Quote
  readonly advice: string
  readonly origin: { readonly file: string; readonly line: number }
}

/** The evidence a collector can give: the facts a criterion reads, and what they must show. */
interface Evidence {
  /** `<source>.<name>` of every fact the conditions use (all of them known, or the criterion is unknown) */
  readonly facts: readonly string[]
  /** the facts show the criterion is met (for `partly`: as far as the facts can tell) */
  readonly meets: Condition
  /** the facts show it is partly met */
  readonly partly?: Condition
}

/** Judged from the facts alone: no question is asked. */
export interface AutomaticJudgement extends Evidence {
  readonly judged: 'automatic'
}

/** The facts show part of it; the question asks for the rest. Met only when both agree. */
export interface PartlyJudgement extends Evidence {
  readonly judged: 'partly'
  readonly question: Question
}

/** No tool sees it: the answer is all there is. */
export interface SelfReportedJudgement {
  readonly judged: 'self-reported'
  readonly question: Question
}

export type Judgement = AutomaticJudgement | PartlyJudgement | SelfReportedJudgement

/** Level 2 and 3 criteria are judged; Level 4 ones are also ranked as "what is next". */
export type LevelPart = { readonly level: 2 | 3 } | { readonly level: 4; readonly next: Next }

export type Criterion = Common & Judgement & LevelPart

/** `file:line: criterion 'id': field: problem`. */
export class CriterionLoadError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly criterionId: string | undefined,
    readonly field: string,
    readonly problem: string,
  ) {
    super(
      `${file}:${line}: ${criterionId ? `criterion '${criterionId}': ` : ''}${field ? `${field}: ` : ''}${problem}`,
    )
    this.name = 'CriterionLoadError'
  }
}

export interface Catalogue {
  /** every criterion that loaded, in file name order */
  readonly criteria: readonly Criterion[]
  /** one per broken file (the first problem found in it), or per duplicate */
  readonly errors: readonly CriterionLoadError[]
}

const CEL_TYPES: Record<FactType, string> = {
  count: 'int',
  share: 'double',
  number: 'double',
  list: 'list<string>',
}

let shared: Environment | undefined

/** The CEL environment of criteria: `repo`, `cluster` and `store`, typed by the facts of each. */
export function criteriaEnvironment(): Environment {
  if (!shared) {
    const env = new Environment(CEL_OPTIONS)
    for (const source of SOURCES) {
      const schema: Record<string, string> = {}
      for (const f of FACTS) if (f.source === source) schema[f.name] = CEL_TYPES[f.type]
      env.registerVariable({ name: source, schema })
    }
    shared = env
  }
  return shared
}

/**
 * The activation of a criterion's program, from the facts it lists (all known): counts become CEL
 * ints (bigint), the rest stay as they are.
 */
export function factActivation(
  facts: Facts,
  names: readonly string[],
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = { repo: {}, cluster: {}, store: {} }
  const types = new Map(FACTS.map((f) => [`${f.source}.${f.name}`, f.type]))
  for (const full of names) {
    const found: FactValue | undefined = facts.get(full)
    if (!found) continue
    const [source, name] = full.split('.') as [string, string]
    const value = found.value
    out[source]![name] = types.get(full) === 'count' && typeof value === 'number' ? BigInt(value) : value
  }
  return out
}

/** Every `<source>.<name>` an expression names, with what else it does with `repo`/`cluster`/`store`. */
function factReferences(ast: ASTNode): { names: Set<string>; bare: string[] } {
  const names = new Set<string>()
  const bare: string[] = []
  const visit = (node: unknown, parentIsAccess: boolean): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n, false)
      return
    }
    if (typeof node !== 'object' || node === null || !('op' in node)) return
    const n = node as ASTNode
    if ((n.op === '.' || n.op === '.?') && typeof n.args[1] === 'string') {
      const target = n.args[0]
      if (target.op === 'id' && (SOURCES as readonly string[]).includes(target.args)) {
        names.add(`${target.args}.${n.args[1]}`)
        return
      }
      visit(target, false)
      return
    }
    if (n.op === 'id') {
      if (!parentIsAccess && (SOURCES as readonly string[]).includes(n.args)) bare.push(n.args)
      return
    }
    if (n.op === 'value') return
    if (n.op === 'call' || n.op === 'rcall') {
      for (const a of n.args) if (typeof a !== 'string') visit(a, false)
      return
    }
    visit(n.args, false)
  }
  visit(ast, false)
  return { names, bare }
}

function oneOf<T extends string | number>(
  r: FieldReader,
  value: unknown,
  allowed: readonly T[],
  path: PathSegment[],
): T {
  if (!(allowed as readonly unknown[]).includes(value))
    r.fail(path, `expected one of: ${allowed.join(', ')}${value === undefined ? ' (it is required)' : ''}`)
  return value as T
}

function readCondition(
  r: FieldReader,
  expression: string,
  field: string,
  facts: readonly string[],
): Condition {
  const line = r.at([field])
  const env = criteriaEnvironment()
  let ast: ASTNode | undefined
  try {
    ast = env.parse(expression).ast
  } catch {
    // compileCelExpression reports the syntax error with its caret
  }
  if (ast) {
    const { names, bare } = factReferences(ast)
    if (bare.length > 0)
      r.fail([field], `name a fact as ${bare[0]}.<name>, not '${bare[0]}' on its own\n    in: ${expression}`)
    for (const name of names) {
      if (!FACT_NAMES.has(name)) r.fail([field], `unknown fact '${name}'\n    in: ${expression}`)
      if (!facts.includes(name))
        r.fail([field], `names fact '${name}', which is not in facts\n    in: ${expression}`)
    }
  }
  const program = compileCelExpression(env, expression, 'bool', (problem) => r.fail([field], problem), false)
  return { expression, line, program }
}

function readQuestion(r: FieldReader, raw: unknown): Question {
  const q = r.map(raw, ['question'])
  r.noUnknown(q, ['id', 'text'], ['question'])
  const id = r.string(q, 'id', ['question'], true)
  if (!QUESTION_ID.test(id)) r.fail(['question', 'id'], 'expected lowercase words joined by dashes')
  return { id, text: r.string(q, 'text', ['question'], true), line: r.at(['question', 'id']) }
}

function readEvidence(r: FieldReader, root: Record<string, unknown>): Evidence {
  const facts = r.strings(root, 'facts', [])
  if (facts.length === 0)
    r.fail(['facts'], 'expected the list of facts the conditions use (see src/maturity/facts.ts)')
  facts.forEach((name, i) => {
    if (!FACT_NAMES.has(name)) r.fail(['facts', i], `unknown fact '${name}' (see src/maturity/facts.ts)`)
    if (facts.indexOf(name) !== i) r.fail(['facts', i], `'${name}' is listed twice`)
  })
  const meets = readCondition(r, r.string(root, 'meets', [], true), 'meets', facts)
  const partlyText = r.string(root, 'partly', [])
  const partly = partlyText === undefined ? undefined : readCondition(r, partlyText, 'partly', facts)
  const used = new Set<string>()
  for (const c of [meets, partly]) {
    if (!c) continue
    const ast = criteriaEnvironment().parse(c.expression).ast
    for (const n of factReferences(ast).names) used.add(n)
  }
  facts.forEach((name, i) => {
    if (!used.has(name)) r.fail(['facts', i], `'${name}' is not used by meets or partly`)
  })
  return partly ? { facts, meets, partly } : { facts, meets }
}

const FIELDS = [
  'id',
  'level',
  'aspect',
  'title',
  'quote',
  'judged',
  'facts',
  'meets',
  'partly',
  'question',
  'next',
  'advice',
] as const

function readCriterion(r: FieldReader, doc: unknown, file: string): Criterion {
  const root = r.map(doc, [])
  r.noUnknown(root, FIELDS, [])
  const id = r.string(root, 'id', [], true)
  const m = ID.exec(id)
  if (!m) r.fail(['id'], 'expected l<level>-<aspect>-<slug>, e.g. l3-process-audit-alerts')
  r.id = id
  const stem = basename(file, extname(file))
  if (stem !== id)
    r.fail(['id'], `expected the file to be named ${id}${extname(file)} (it is ${basename(file)})`)
  const level = oneOf(r, root.level, LEVELS, ['level'])
  if (String(level) !== m[1]) r.fail(['level'], `expected ${m[1]}, as the id says`)
  const aspect = oneOf(r, root.aspect, ASPECTS, ['aspect'])
  if (aspect !== m[2]) r.fail(['aspect'], `expected ${m[2]}, as the id says`)

  const qp = ['quote']
  const q = r.map(root.quote, qp)
  r.noUnknown(q, ['page', 'text'], qp)
  const page = r.string(q, 'page', qp, true)
  if (!PAGE.test(page))
    r.fail([...qp, 'page'], 'expected a page of the model: level-<n>.md or aspect-<name>.md')
  const quote: Quote = { page, text: r.string(q, 'text', qp, true).trim(), line: r.at([...qp, 'text']) }

  const common: Common = {
    id,
    aspect,
    title: r.string(root, 'title', [], true),
    quote,
    advice: r.string(root, 'advice', [], true),
    origin: { file, line: r.at([]) },
  }

  const judged = oneOf(r, root.judged, JUDGEMENTS, ['judged'])
  let judgement: Judgement
  if (judged === 'self-reported') {
    for (const k of ['facts', 'meets', 'partly'] as const)
      if (root[k] !== undefined) r.fail([k], 'a self-reported criterion has no facts or conditions')
    if (root.question === undefined)
      r.fail(['question'], 'is required: a self-reported criterion asks a question')
    judgement = { judged, question: readQuestion(r, root.question) }
  } else if (judged === 'partly') {
    if (root.question === undefined)
      r.fail(['question'], 'is required: a criterion judged partly asks for what the facts do not show')
    judgement = { judged, ...readEvidence(r, root), question: readQuestion(r, root.question) }
  } else {
    if (root.question !== undefined)
      r.fail(['question'], 'an automatic criterion asks nothing (use judged: partly to ask a question)')
    judgement = { judged, ...readEvidence(r, root) }
  }

  if (level === 4) {
    const np = ['next']
    if (root.next === undefined)
      r.fail(np, 'is required at level 4: {effort, value}, each low, medium or high')
    const n = r.map(root.next, np)
    r.noUnknown(n, ['effort', 'value'], np)
    const next: Next = {
      effort: oneOf(r, n.effort, GRADES, [...np, 'effort']),
      value: oneOf(r, n.value, GRADES, [...np, 'value']),
    }
    return { ...common, ...judgement, level, next }
  }
  if (root.next !== undefined) r.fail(['next'], 'only a level 4 criterion (what is next) has next')
  return { ...common, ...judgement, level }
}

/** Reads one criterion file. Throws CriterionLoadError at its first problem. */
export function parseCriterionFile(file: string, text: string): Criterion {
  const docs = readYamlDocuments(file, text, CriterionLoadError, (r, doc) => readCriterion(r, doc, file))
  if (docs.length !== 1)
    throw new CriterionLoadError(
      file,
      1,
      undefined,
      '',
      `expected one criterion in the file, found ${docs.length}`,
    )
  return docs[0]!
}

/**
 * Loads every criterion file (.yaml/.yml) below `dir` (default: the built-in catalogue). A broken file
 * or a duplicate id or question id is an error; every other file still loads.
 */
export function loadCatalogue(dir: string = BUILTIN_CRITERIA_DIR): Catalogue {
  const criteria: Criterion[] = []
  const errors: CriterionLoadError[] = []
  let files: string[]
  try {
    files = yamlFiles(dir, CriterionLoadError)
  } catch (err) {
    if (err instanceof CriterionLoadError) return { criteria, errors: [err] }
    throw err
  }
  const ids = new Map<string, Criterion>()
  const questions = new Map<string, Criterion>()
  for (const file of files) {
    let c: Criterion
    try {
      c = parseCriterionFile(file, readFileSync(file, 'utf8'))
    } catch (err) {
      if (!(err instanceof CriterionLoadError)) throw err
      errors.push(err)
      continue
    }
    const prior = ids.get(c.id)
    if (prior) {
      errors.push(
        new CriterionLoadError(
          file,
          c.origin.line,
          c.id,
          'id',
          `duplicate id, first defined in ${prior.origin.file}`,
        ),
      )
      continue
    }
    if (c.judged !== 'automatic') {
      const asked = questions.get(c.question.id)
      if (asked) {
        errors.push(
          new CriterionLoadError(
            file,
            c.question.line,
            c.id,
            'question.id',
            `duplicate question id '${c.question.id}', first asked by ${asked.id} (${asked.origin.file})`,
          ),
        )
        continue
      }
      questions.set(c.question.id, c)
    }
    ids.set(c.id, c)
    criteria.push(c)
  }
  return { criteria, errors }
}
