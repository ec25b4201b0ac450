/** The coverage tables of Polaris and kube-linter (policies/coverage/) and their section of docs/checks.md. */
import { describe, expect, it } from 'vitest'
import { CoverageLoadError, loadCoverage, parseCoverageFile } from '../../src/policy/coverage.js'
import {
  BUILTIN_COVERAGE_DIR,
  BUILTIN_POLICY_DIR,
  checkFiles,
  loadLibrary,
} from '../../src/policy/library.js'
import { renderChecksMarkdown } from '../../src/report/checks-markdown.js'

const library = loadLibrary()
const ids = new Set(library.checks.map((c) => c.metadata.id))
const tables = loadCoverage()
const entries = tables.flatMap((t) => t.checks.map((c) => ({ tool: t.tool, ...c })))

function loadError(yaml: string): CoverageLoadError {
  try {
    parseCoverageFile('cov.yaml', yaml)
  } catch (err) {
    if (err instanceof CoverageLoadError) return err
    throw err
  }
  throw new Error('expected the coverage file to be rejected')
}

const head = 'tool: Demo\nurl: https://example.com/checks\nchecks:\n'

describe('built-in coverage tables', () => {
  it('cover Polaris and kube-linter', () => {
    expect(tables.map((t) => t.tool)).toEqual(['Polaris', 'kube-linter'])
    for (const t of tables) expect(t.checks.length).toBeGreaterThan(40)
  })

  it.each(entries.filter((e) => e.coveredBy.length > 0))(
    '$tool $id: every covering check is in the built-in library',
    ({ coveredBy }) => {
      expect(coveredBy.filter((id) => !ids.has(id))).toEqual([])
    },
  )

  it.each(entries)('$tool $id: names a covering check or says why none does', (e) => {
    expect(e.coveredBy.length > 0 || (e.whyNot ?? '').trim() !== '').toBe(true)
    if (e.partial) expect(e.note, 'a partial entry says what differs').toBeTruthy()
  })

  it('lists each check of a tool once', () => {
    for (const t of tables) {
      const seen = t.checks.map((c) => c.id)
      expect(
        seen.filter((id, i) => seen.indexOf(id) !== i),
        t.tool,
      ).toEqual([])
    }
  })

  it('renders a row per entry, linking covering checks to their rows', () => {
    const md = renderChecksMarkdown(library.checks, tables)
    expect(md).toContain('## Coverage of Polaris and kube-linter')
    for (const t of tables) {
      expect(md).toContain(`| ${t.tool} check | Plimsoll | notes |`)
      for (const c of t.checks) {
        const rows = md.split('\n').filter((l) => l.startsWith(`| \`${c.id}\` |`))
        expect(rows, `${t.tool} ${c.id}`).toHaveLength(1)
      }
    }
    expect(md).toContain('| <a id="pss-host-namespaces"></a>`pss-host-namespaces` |')
    expect(md).toContain('| `hostIPCSet` | [`pss-host-namespaces`](#pss-host-namespaces) |  |')
  })

  it('is not loaded as checks by the library', () => {
    expect(checkFiles(BUILTIN_POLICY_DIR).filter((f) => f.startsWith(BUILTIN_COVERAGE_DIR))).toEqual([])
  })
})

describe('coverage file validation', () => {
  it('reads entries with their lines', () => {
    const t = parseCoverageFile(
      'cov.yaml',
      `${head}  - id: a\n    covered-by: [pss-privileged]\n  - id: b\n    covered-by: []\n    why-not: needs a cluster\n`,
    )
    expect(t).toMatchObject({ tool: 'Demo', url: 'https://example.com/checks', file: 'cov.yaml' })
    expect(t.checks).toEqual([
      { id: 'a', coveredBy: ['pss-privileged'], partial: false, line: 4 },
      { id: 'b', coveredBy: [], partial: false, whyNot: 'needs a cluster', line: 6 },
    ])
  })

  it('requires a why-not when nothing covers a check', () => {
    expect(loadError(`${head}  - id: a\n    covered-by: []\n`).message).toBe(
      "cov.yaml:4: check 'a': checks[0]: 'covered-by' is empty, so 'why-not' is required",
    )
  })

  it('rejects a why-not next to covering checks, and a partial entry without a note', () => {
    expect(loadError(`${head}  - id: a\n    covered-by: [x]\n    why-not: cannot\n`).message).toBe(
      "cov.yaml:6: check 'a': checks[0].why-not: only for entries whose 'covered-by' is empty",
    )
    expect(loadError(`${head}  - id: a\n    covered-by: [x]\n    partial: true\n`).message).toMatch(
      /^cov.yaml:4: check 'a': checks\[0\]: a partial entry needs a 'note'/,
    )
  })

  it('names the first line of a duplicate id', () => {
    const yaml = `${head}  - id: a\n    covered-by: [x]\n  - id: a\n    covered-by: [y]\n`
    expect(loadError(yaml).message).toBe("cov.yaml:6: check 'a': checks[1].id: listed twice, first at line 4")
  })

  it('rejects unknown fields, bad ids and invalid YAML with their lines', () => {
    expect(loadError(`${head}  - id: a\n    covered_by: [x]\n`).message).toMatch(
      /^cov.yaml:5: check 'a': checks\[0\].covered_by: unknown field \(expected one of: id, covered-by,/,
    )
    expect(loadError(`${head}  - id: a\n    covered-by: [Not An Id]\n`).message).toBe(
      "cov.yaml:5: check 'a': checks[0].covered-by[0]: expected a Plimsoll check id",
    )
    expect(loadError('tool: Demo\nurl: https://example.com\nchecks: []\n').message).toBe(
      'cov.yaml:3: checks: expected a non-empty list',
    )
    expect(loadError(`${head}  - id: [unclosed\n`).line).toBe(5)
  })
})
