import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Ajv from 'ajv'
import { load } from 'js-yaml'
import { afterAll, describe, expect, it } from 'vitest'
import {
  ASPECTS,
  BUILTIN_CRITERIA_DIR,
  type Criterion,
  factActivation,
  loadCatalogue,
} from '../../src/maturity/catalogue.js'
import type { FactValue } from '../../src/maturity/facts.js'
import { flattenMarkdown, quoteProblem } from '../helpers/cnmm.js'

const catalogue = loadCatalogue()
const byId = new Map(catalogue.criteria.map((c) => [c.id, c]))

describe('the built-in criteria catalogue', () => {
  it('loads every file without errors', () => {
    expect(catalogue.errors.map((e) => e.message)).toEqual([])
    const files = readdirSync(BUILTIN_CRITERIA_DIR).filter((f) => f.endsWith('.yaml'))
    expect(catalogue.criteria.length).toBe(files.length)
  })

  it('quotes every criterion exactly from its page of the model', () => {
    const problems = catalogue.criteria.map(quoteProblem).filter((p) => p !== undefined)
    expect(problems).toEqual([])
  })

  it('has Level 3 criteria in every aspect, and Level 2 and Level 4 criteria', () => {
    for (const aspect of ASPECTS) {
      expect(
        catalogue.criteria.filter((c) => c.level === 3 && c.aspect === aspect).length,
        aspect,
      ).toBeGreaterThanOrEqual(3)
    }
    const level3 = catalogue.criteria.filter((c) => c.level === 3)
    expect(level3.length).toBeGreaterThanOrEqual(30)
    expect(level3.filter((c) => c.judged !== 'self-reported').length).toBeGreaterThanOrEqual(
      level3.length / 2,
    )
    expect(catalogue.criteria.filter((c) => c.level === 2).length).toBeGreaterThanOrEqual(8)
    const level4 = catalogue.criteria.filter((c) => c.level === 4)
    expect(level4.length).toBeGreaterThanOrEqual(10)
    for (const c of level4) if (c.level === 4) expect(['low', 'medium', 'high']).toContain(c.next.effort)
  })

  it('validates against maturity/criterion.schema.json', () => {
    const schema = JSON.parse(readFileSync(join(BUILTIN_CRITERIA_DIR, '..', 'criterion.schema.json'), 'utf8'))
    const validate = new Ajv.default({ allErrors: true }).compile(schema)
    for (const c of catalogue.criteria) {
      const ok = validate(load(readFileSync(c.origin.file, 'utf8')))
      expect(ok ? [] : validate.errors, c.id).toEqual([])
    }
  })

  it('evaluates a condition over the facts (counts as ints, shares as doubles, lists of names)', () => {
    const fact = (value: number | string[]): FactValue => ({ value, sources: ['test'] })
    const judge = (c: Criterion, facts: Record<string, FactValue>) => {
      if (c.judged === 'self-reported') throw new Error(`${c.id} has no conditions`)
      return c.meets.program(factActivation(new Map(Object.entries(facts)), c.facts))
    }
    const audit = byId.get('l3-process-audit-alerts')!
    expect(judge(audit, { 'store.auditEvents': fact(120), 'repo.alertRules': fact(3) })).toBe(true)
    expect(judge(audit, { 'store.auditEvents': fact(120), 'repo.alertRules': fact(0) })).toBe(false)
    const monitoring = byId.get('l3-technology-monitoring-usage')!
    const cluster = { 'cluster.monitoring': fact(['prometheus', 'kube-state-metrics']) }
    expect(judge(monitoring, { ...cluster, 'store.usageSnapshots': fact(4) })).toBe(true)
    expect(judge(monitoring, { ...cluster, 'store.usageSnapshots': fact(0) })).toBe(false)
    const enforcement = byId.get('l3-technology-enforcement-strategy')!
    expect(
      judge(enforcement, { 'cluster.psaEnforcedShare': fact(1), 'store.enforcedNamespaces': fact(2) }),
    ).toBe(true)
    expect(
      judge(enforcement, { 'cluster.psaEnforcedShare': fact(0.5), 'store.enforcedNamespaces': fact(2) }),
    ).toBe(false)
  })
})

describe('docs/assess.md', () => {
  it('shows l3-process-audit-alerts as the catalogue has it', () => {
    const docs = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'assess.md'), 'utf8')
    const example = /```yaml\n(# yaml-language-server[\s\S]*?)```/.exec(docs)?.[1]
    expect(example).toBe(readFileSync(join(BUILTIN_CRITERIA_DIR, 'l3-process-audit-alerts.yaml'), 'utf8'))
  })
})

describe('flattenMarkdown', () => {
  it('drops emphasis and backslash escapes and collapses whitespace, but keeps quotation marks', () => {
    expect(
      flattenMarkdown('the **“Messy Middle.”** Your organization \\- both\n\nbusiness __and__ level 3\\.'),
    ).toBe('the “Messy Middle.” Your organization - both business and level 3.')
  })
})

/** A valid criterion file, as lines, to break one at a time. */
const VALID = [
  'id: l3-process-valid', // 1
  'level: 3', // 2
  'aspect: process', // 3
  'title: A valid criterion', // 4
  'quote:', // 5
  '  page: level-3.md', // 6
  '  text: "Reduce noise by filtering irrelevant data and ensuring logs are structured for easy retrieval and analysis."', // 7
  'judged: partly', // 8
  'facts: [store.auditEvents, repo.alertRules]', // 9
  'meets: store.auditEvents > 0 && repo.alertRules > 0', // 10
  'partly: store.auditEvents > 0 || repo.alertRules > 0', // 11
  'question:', // 12
  '  id: valid-question', // 13
  '  text: Is it valid?', // 14
  'advice: Keep it valid.', // 15
]

/** VALID with its id (and question id) changed and `edit` applied to its lines. */
function criterionFile(id: string, edit: (lines: string[]) => string[] = (l) => l): string {
  const lines = VALID.map((l) =>
    l.replace('l3-process-valid', id).replace('valid-question', `${id.replace(/^l3-process-/, '')}-question`),
  )
  return `${edit(lines).join('\n')}\n`
}

const set = (n: number, line: string) => (lines: string[]) => lines.map((l, i) => (i === n - 1 ? line : l))
const drop =
  (...ns: number[]) =>
  (lines: string[]) =>
    lines.filter((_, i) => !ns.includes(i + 1))

interface Broken {
  id: string
  text: string
  line: number
  problem: string
}

const BROKEN: Broken[] = [
  {
    id: 'l3-process-bad-yaml',
    text: criterionFile('l3-process-bad-yaml', set(9, 'facts: [store.auditEvents, repo.alertRules')),
    line: 10,
    problem: 'invalid YAML',
  },
  {
    id: 'l3-process-unknown-fact',
    text: criterionFile('l3-process-unknown-fact', set(9, 'facts: [store.auditEvents, repo.alertRulez]')),
    line: 9,
    problem: "facts[1]: unknown fact 'repo.alertRulez'",
  },
  {
    id: 'l3-process-cel-syntax',
    text: criterionFile(
      'l3-process-cel-syntax',
      set(10, 'meets: store.auditEvents > 0 && (repo.alertRules > 0'),
    ),
    line: 10,
    problem: 'meets: CEL syntax error',
  },
  {
    id: 'l3-process-cel-type',
    text: criterionFile('l3-process-cel-type', set(11, "partly: store.auditEvents > 'many'")),
    line: 11,
    problem: 'partly: CEL type error',
  },
  {
    id: 'l3-process-fact-not-listed',
    text: criterionFile(
      'l3-process-fact-not-listed',
      set(10, 'meets: store.auditEvents > 0 && repo.alertRules > 0 && repo.dashboards > 0'),
    ),
    line: 10,
    problem: "meets: names fact 'repo.dashboards', which is not in facts",
  },
  {
    id: 'l3-process-unknown-fact-in-cel',
    text: criterionFile(
      'l3-process-unknown-fact-in-cel',
      set(11, 'partly: store.auditEvents > 0 || store.alerts > 0'),
    ),
    line: 11,
    problem: "partly: unknown fact 'store.alerts'",
  },
  {
    id: 'l3-process-self-reported-meets',
    text: criterionFile('l3-process-self-reported-meets', (l) =>
      drop(9, 11)(set(8, 'judged: self-reported')(l)),
    ),
    line: 9,
    problem: 'meets: a self-reported criterion has no facts or conditions',
  },
  {
    id: 'l3-process-missing-question',
    text: criterionFile('l3-process-missing-question', drop(12, 13, 14)),
    line: 1,
    problem: 'question: is required',
  },
  {
    id: 'l3-process-wrong-name',
    text: criterionFile('l3-process-other-name'),
    line: 1,
    problem: 'id: expected the file to be named l3-process-other-name.yaml',
  },
  {
    id: 'l4-process-no-next',
    text: criterionFile('l3-process-no-next', (l) =>
      set(2, 'level: 4')(l).map((x) => x.replace('l3-process-no-next', 'l4-process-no-next')),
    ),
    line: 1,
    problem: 'next: is required at level 4',
  },
  {
    id: 'l3-process-same-question',
    text: criterionFile('l3-process-same-question', set(13, '  id: fine-question')),
    line: 13,
    problem: "question.id: duplicate question id 'fine-question', first asked by l3-process-fine",
  },
]

describe('a criteria folder with broken files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-criteria-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const good = ['l3-process-fine', 'l3-process-misquoted']
  writeFileSync(join(dir, 'l3-process-fine.yaml'), criterionFile('l3-process-fine'))
  writeFileSync(
    join(dir, 'l3-process-misquoted.yaml'),
    criterionFile('l3-process-misquoted', set(7, '  text: "Reduce noise by filtering all data."')),
  )
  for (const b of BROKEN) writeFileSync(join(dir, `${b.id}.yaml`), b.text)
  const loaded = loadCatalogue(dir)

  it('still loads the other files', () => {
    expect(loaded.criteria.map((c) => c.id).sort()).toEqual(good)
  })

  it.each(BROKEN)('reports $id with its file and line', (b) => {
    const file = join(dir, `${b.id}.yaml`)
    const errors = loaded.errors.filter((e) => e.file === file)
    expect(errors.map((e) => e.message)).toHaveLength(1)
    const [error] = errors
    expect(error!.line).toBe(b.line)
    expect(error!.message).toContain(`${file}:${b.line}: `)
    expect(error!.message).toContain(b.problem)
  })

  it('reports no error for a file that is not broken', () => {
    expect(loaded.errors.length).toBe(BROKEN.length)
  })

  it('finds a quote that is not in its page (a test check: the corpus is not shipped)', () => {
    const fine = loaded.criteria.find((c) => c.id === 'l3-process-fine')!
    const misquoted = loaded.criteria.find((c) => c.id === 'l3-process-misquoted')!
    expect(quoteProblem(fine)).toBeUndefined()
    expect(quoteProblem(misquoted)).toContain(`${join(dir, 'l3-process-misquoted.yaml')}:7: `)
    expect(quoteProblem(misquoted)).toContain('not found in level-3.md')
  })
})
